//! Colours and symbols; with NO_COLOR every style is plain and the symbols carry the meaning.

use ratatui::style::{Color, Modifier, Style};

use crate::health::ProbeState;
use crate::state::Severity;

/// Styles for one run of the dashboard.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless the NO_COLOR convention asks otherwise.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn state(self, s: ProbeState) -> Style {
        self.fg(match s {
            ProbeState::Up => Color::Green,
            ProbeState::NoHealthService => Color::Cyan,
            ProbeState::Unhealthy => Color::Yellow,
            ProbeState::Down => Color::Red,
            ProbeState::Pending => Color::DarkGray,
        })
    }

    pub fn severity(self, s: Severity) -> Style {
        self.fg(match s {
            Severity::Info => Color::Gray,
            Severity::Warning => Color::Yellow,
            Severity::Error => Color::Red,
        })
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn accent(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn header(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    /// The selected row: reversed, which reads without colour too.
    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }
}

/// The symbol that tells a state without colour.
pub fn symbol(s: ProbeState) -> &'static str {
    match s {
        ProbeState::Up => "✓",
        ProbeState::NoHealthService => "○",
        ProbeState::Unhealthy => "!",
        ProbeState::Down => "✗",
        ProbeState::Pending => "…",
    }
}
