//! Drawing: turns the state into a frame. Computes nothing the state has not derived.

pub mod fit;
pub mod format;
pub mod live_panels;
pub mod panels;
pub mod theme;

#[cfg(test)]
mod not_startable_tests;
#[cfg(test)]
mod tests;

use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::widgets::Widget;

use crate::layout::PanelKind;
use crate::state::{Mode, State};
use panels::alerts::AlertsPanel;
use panels::detail::DetailPanel;
use panels::help::HelpOverlay;
use panels::logs::LogsPanel;
use panels::status::StatusBar;
use panels::table::TablePanel;
use theme::Theme;

/// What the view needs besides the state.
pub struct ViewContext {
    pub theme: Theme,
    /// Help overlay lines from the keymap.
    pub help: Vec<(String, &'static str)>,
    /// The local time zone (from `TZ` or the system's) and its name for titles.
    pub local_zone: TimeZone,
    pub local_zone_label: String,
}

impl ViewContext {
    /// A context drawing times in `zone` (tests pass UTC; the dashboard the system's zone).
    pub fn new(theme: Theme, help: Vec<(String, &'static str)>, zone: TimeZone) -> ViewContext {
        let label = zone_label(&zone);
        ViewContext {
            theme,
            help,
            local_zone: zone,
            local_zone_label: label,
        }
    }
}

/// The local time zone: `TZ` when set (a zone name, `:` prefix allowed), else the system's
/// `/etc/localtime` read directly (asking the tz database for the system zone walks the whole
/// zoneinfo directory first: milliseconds at every start-up), else UTC.
pub fn local_zone() -> TimeZone {
    local_zone_from(
        std::env::var("TZ").ok().as_deref(),
        std::path::Path::new("/etc/localtime"),
    )
}

/// [`local_zone`] with its inputs given.
pub fn local_zone_from(tz: Option<&str>, localtime: &std::path::Path) -> TimeZone {
    if let Some(name) = tz
        .map(|t| t.trim_start_matches(':'))
        .filter(|t| !t.is_empty())
    {
        return TimeZone::get(name)
            .or_else(|_| TimeZone::try_system())
            .unwrap_or(TimeZone::UTC);
    }
    std::fs::read(localtime)
        .ok()
        .and_then(|bytes| TimeZone::tzif("Local", &bytes).ok())
        .or_else(|| TimeZone::try_system().ok())
        .unwrap_or(TimeZone::UTC)
}

/// A short name for a zone: its abbreviation now (`CST`, `CET`), or its offset (`UTC+08`).
pub fn zone_label(zone: &TimeZone) -> String {
    let now = jiff::Timestamp::now();
    let info = zone.to_offset_info(now);
    let abbreviation = info.abbreviation();
    if abbreviation.is_empty() || abbreviation.starts_with(['+', '-']) {
        let seconds = info.offset().seconds();
        let (sign, abs) = if seconds < 0 {
            ('-', -seconds)
        } else {
            ('+', seconds)
        };
        if abs % 3600 == 0 {
            format!("UTC{sign}{:02}", abs / 3600)
        } else {
            format!("UTC{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
        }
    } else {
        abbreviation.to_string()
    }
}

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, state: &State, ctx: &ViewContext) {
    let theme = ctx.theme;
    if let Some((w, h)) = state.too_small() {
        let area = frame.area();
        let text = format!(
            "terminal too small (need {w}×{h}, have {}×{})",
            area.width, area.height
        );
        let line = ratatui::text::Line::from(ratatui::text::Span::styled(
            text,
            theme.severity(crate::state::Severity::Warning),
        ));
        let y = area.y + area.height / 2;
        ratatui::widgets::Paragraph::new(line)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true })
            .render(
                ratatui::layout::Rect::new(
                    area.x,
                    y.saturating_sub(1),
                    area.width,
                    3.min(area.height),
                ),
                frame.buffer_mut(),
            );
        return;
    }
    let utc = TimeZone::UTC;
    let buf = frame.buffer_mut();
    for (kind, area) in state.areas() {
        match kind {
            PanelKind::Services | PanelKind::Infra => {
                (&TablePanel { state, kind, theme }).render_to(area, buf)
            }
            PanelKind::Detail => (&DetailPanel { state, theme }).render_to(area, buf),
            PanelKind::Containers => {
                panels::container_rows::containers_panel(state, theme).render_to(area, buf)
            }
            PanelKind::Alerts => (&AlertsPanel { state, theme }).render_to(area, buf),
            PanelKind::Status => (&StatusBar { state, theme }).render_to(area, buf),
            PanelKind::Ports => (&panels::ports::PortsPanel {
                ports: &state.ports,
                selected: (state.ui.focus == PanelKind::Ports)
                    .then(|| state.ui.panel(PanelKind::Ports).selected),
                focused: state.ui.focus == PanelKind::Ports,
                theme,
            })
                .render_to(area, buf),
            PanelKind::Logs => (&LogsPanel {
                store: &state.logs,
                plan: &state.plan,
                view: state.log_view(),
                scroll: state.ui.log_scroll,
                search: state.ui.log_search.as_ref(),
                focused: state.ui.focus == PanelKind::Logs,
                theme,
                zone: if state.ui.utc { &utc } else { &ctx.local_zone },
                zone_label: if state.ui.utc {
                    "UTC"
                } else {
                    &ctx.local_zone_label
                },
            })
                .render_to(area, buf),
            PanelKind::Metrics | PanelKind::Explorer | PanelKind::Nats => {
                live_panels::render_live(kind, state, theme, area, buf)
            }
        }
    }
    if state.ui.mode == Mode::Help {
        let area = frame.area();
        (&HelpOverlay {
            lines: &ctx.help,
            theme,
        })
            .render_to(area, frame.buffer_mut());
    }
}

/// `Widget::render` with the arguments in drawing order.
trait RenderTo {
    fn render_to(self, area: ratatui::layout::Rect, buf: &mut ratatui::buffer::Buffer);
}

impl<W: ratatui::widgets::Widget> RenderTo for W {
    fn render_to(self, area: ratatui::layout::Rect, buf: &mut ratatui::buffer::Buffer) {
        self.render(area, buf);
    }
}
