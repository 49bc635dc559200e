//! The status bar: counts, probe timing, the dashboard's own CPU and memory, key hints or the filter prompt.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::health::ProbeState;
use crate::state::{Mode, State};
use crate::view::format;
use crate::view::theme::Theme;

/// Input of the status bar.
pub struct StatusBar<'a> {
    pub state: &'a State,
    pub theme: Theme,
}

impl Widget for &StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let t = self.theme;
        let (up, down) = s.counts();
        let slowest = s
            .targets
            .iter()
            .filter_map(|x| x.last.as_ref().map(|r| r.latency))
            .max()
            .unwrap_or_default();
        let mut spans = vec![
            Span::styled(format!("✓ {up} up "), t.state(ProbeState::Up)),
            Span::styled(
                format!("✗ {down} down "),
                t.state(if down > 0 {
                    ProbeState::Down
                } else {
                    ProbeState::Pending
                }),
            ),
            Span::styled("│ ", t.dim()),
            Span::raw(format!(
                "probe every {} slowest {} ",
                humantime::format_duration(s.probe_interval),
                format::latency(slowest)
            )),
        ];
        if let Some((cpu, rss)) = s.self_usage {
            spans.push(Span::styled("│ ", t.dim()));
            spans.push(Span::raw(format!("self {cpu:.1}% {} ", format::bytes(rss))));
        }
        spans.push(Span::styled("│ ", t.dim()));
        match s.ui.mode {
            Mode::Filter => {
                spans.push(Span::styled(format!("/{}█", s.ui.filter), t.accent()));
                spans.push(Span::styled("  enter keep · esc clear", t.dim()));
            }
            Mode::ConfirmStopAll => {
                spans.push(Span::styled(
                    "Stop every service? y/n",
                    t.severity(crate::state::Severity::Warning),
                ));
            }
            _ => spans.push(Span::styled(
                format!(
                    "layout {} · ? help · / filter · tab panel · q quit",
                    s.layout().name
                ),
                t.dim(),
            )),
        }
        Line::from(spans).render(area, buf);
    }
}
