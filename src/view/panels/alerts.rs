//! The alerts strip: the newest notable events, newest first.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::state::State;
use crate::view::theme::Theme;
use crate::view::{fit, format};

/// Input of the alerts strip.
pub struct AlertsPanel<'a> {
    pub state: &'a State,
    pub theme: Theme,
}

impl Widget for &AlertsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let bordered = area.height >= 3;
        let rows = usize::from(if bordered {
            area.height - 2
        } else {
            area.height
        });
        let width = usize::from(if bordered {
            area.width.saturating_sub(2)
        } else {
            area.width
        });
        let mut lines: Vec<Line> = s
            .alerts
            .iter()
            .rev()
            .take(rows)
            .map(|a| {
                let age = format!(
                    "{:>4} ago ",
                    format::age(s.now.saturating_duration_since(a.at))
                );
                // Whole words only: a port or PID at the edge is shown whole or as `…`.
                let text = fit::words(
                    &a.text,
                    self.theme.severity(a.severity),
                    width.saturating_sub(age.chars().count()),
                );
                let mut spans = vec![Span::styled(age, self.theme.dim())];
                spans.extend(text.spans);
                Line::from(spans)
            })
            .collect();
        if lines.is_empty() {
            lines.push(Line::from(Span::styled("no alerts", self.theme.dim())));
        }
        let mut p = Paragraph::new(lines);
        if bordered {
            p = p.block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(self.theme.border(false))
                    .title(format!(" Alerts ({}) ", s.alerts.len())),
            );
        }
        p.render(area, buf);
    }
}
