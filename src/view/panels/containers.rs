//! The Docker panel: the engine connection (with the fix when it cannot be used) and one
//! row per container entry: state, engine health, uptime, CPU, memory, ports, then its flags
//! or hint on the line below.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::collect::docker::EngineHealth;
use crate::health::ProbeState;
use crate::plan::EntryId;
use crate::state::Severity;
use crate::state::docker::{Connection, ContainerRow, DockerState, PortVerdict};
use crate::view::format;
use crate::view::theme::Theme;

/// Input of the Docker panel.
pub struct ContainersPanel<'a> {
    pub docker: &'a DockerState,
    /// The container entries in display order: id, entry name, our probes' verdict.
    pub entries: Vec<(EntryId, &'a str, PortVerdict)>,
    pub now: Instant,
    pub focused: bool,
    pub theme: Theme,
}

/// Column titles and widths (0 = the rest); fits 80 columns up to MEM.
const HEADER: [(&str, usize); 8] = [
    ("ENTRY", 10),
    ("CONTAINER", 18),
    ("STATE", 10),
    ("HEALTH", 9),
    ("UP", 4),
    ("CPU", 6),
    ("MEM", 9),
    ("PORTS", 0),
];

impl Widget for &ContainersPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let (words, fix) = self.docker.connection_words(self.now);
        let title_style = match self.docker.connection {
            Connection::Unavailable { .. } => t.severity(Severity::Error),
            _ => t.header(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(self.focused))
            .title(Span::styled(format!(" {words} "), title_style));
        let width = usize::from(area.width.saturating_sub(2));
        let mut lines = Vec::new();
        if let Some(fix) = fix {
            lines.extend(wrapped(&format!("fix: {fix}"), "", width, t.accent()));
        }
        lines.push(Line::from(cells(
            HEADER.map(|(h, w)| (h.to_string(), w, t.header())),
        )));
        for &(entry, name, verdict) in &self.entries {
            let Some(row) = self.docker.row(entry, verdict, self.now) else {
                continue;
            };
            lines.push(Line::from(cells(row_cells(name, &row, t))));
            for flag in &row.flags {
                let text = format!("  ! {}", flag.words());
                lines.push(Line::from(Span::styled(
                    text,
                    t.severity(Severity::Warning),
                )));
            }
            if let Some(hint) = &row.hint {
                lines.extend(wrapped(hint, "  ", width, t.dim()));
            }
        }
        Paragraph::new(lines).block(block).render(area, buf);
    }
}

fn row_cells(name: &str, row: &ContainerRow, t: Theme) -> [(String, usize, Style); 8] {
    let dash = || "-".to_string();
    let state_style = match row.state.as_str() {
        "running" => t.state(ProbeState::Up),
        "missing" | "dead" => t.state(ProbeState::Down),
        s if s.starts_with("exited") => t.state(ProbeState::Down),
        "unknown" | "looking" => t.state(ProbeState::Pending),
        _ => t.state(ProbeState::Unhealthy),
    };
    let (health, health_style) = match row.health {
        None | Some(EngineHealth::None) => (dash(), t.dim()),
        Some(h @ EngineHealth::Healthy) => (h.as_str().to_string(), t.state(ProbeState::Up)),
        Some(h @ EngineHealth::Starting) => (h.as_str().to_string(), t.state(ProbeState::Pending)),
        Some(h @ EngineHealth::Unhealthy) => (h.as_str().to_string(), t.state(ProbeState::Down)),
    };
    let ports = row
        .ports
        .iter()
        .map(|p| format!("{}:{}→{}", p.host_ip, p.host_port, p.container_port))
        .collect::<Vec<_>>()
        .join(" ");
    let plain = Style::default();
    let texts = [
        name.to_string(),
        row.name.clone(),
        row.state.clone(),
        health,
        row.uptime.map_or_else(dash, format::age),
        row.cpu_percent.map_or_else(dash, |c| format!("{c:.1}%")),
        row.memory_bytes.map_or_else(dash, format::bytes),
        if ports.is_empty() { dash() } else { ports },
    ];
    let styles = [
        plain,
        plain,
        state_style,
        health_style,
        plain,
        plain,
        plain,
        plain,
    ];
    let mut i = 0;
    texts.map(|text| {
        let cell = (text, HEADER[i].1, styles[i]);
        i += 1;
        cell
    })
}

/// `text` wrapped at spaces into lines of at most `width` characters (a longer word is cut),
/// each indented by `indent`.
fn wrapped(text: &str, indent: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    let room = width.saturating_sub(indent.chars().count()).max(10);
    let mut rows: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = rows.last().map_or(0, |r| r.chars().count());
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= room {
                let row = rows.last_mut().expect("never empty");
                if gap == 1 {
                    row.push(' ');
                }
                row.extend(word.iter());
                break;
            }
            if used > 0 {
                rows.push(String::new());
                continue;
            }
            let rest = word.split_off(room);
            rows.last_mut().expect("never empty").extend(word.iter());
            rows.push(String::new());
            word = rest;
        }
    }
    rows.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| Line::from(Span::styled(format!("{indent}{r}"), style)))
        .collect()
}

/// Cells padded (or cut) to their widths, one space apart; width 0 = the rest of the line.
fn cells(cells: [(String, usize, Style); 8]) -> Vec<Span<'static>> {
    cells
        .into_iter()
        .map(|(text, width, style)| {
            let text = if width == 0 {
                text
            } else {
                let cut: String = text.chars().take(width).collect();
                format!("{cut:<width$} ")
            };
            Span::styled(text, style)
        })
        .collect()
}

#[cfg(test)]
#[path = "containers_tests.rs"]
mod tests;
