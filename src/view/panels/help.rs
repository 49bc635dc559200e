//! The help overlay, generated from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use crate::view::fit;
use crate::view::theme::Theme;

/// Input of the help overlay: (keys, description) pairs.
pub struct HelpOverlay<'a> {
    pub lines: &'a [(String, &'static str)],
    pub theme: Theme,
}

impl Widget for &HelpOverlay<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // Borders and the footer line take 3 rows; when the keys do not fit one column and the
        // terminal is wide enough, they go in two (at 80×24 every key stays on screen).
        let room = usize::from(area.height.saturating_sub(3));
        let two = self.lines.len() > room && area.width >= 76;
        let width = if two {
            area.width.min(128)
        } else {
            area.width.min(64)
        };
        let rows = if two {
            self.lines.len().div_ceil(2)
        } else {
            self.lines.len()
        };
        let height = (rows as u16 + 3).min(area.height);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + (area.height - height) / 2,
            width,
            height,
        );
        Clear.render(popup, buf);
        let (key_width, column) = if two {
            (9, usize::from(width.saturating_sub(2)) / 2)
        } else {
            (16, usize::from(width.saturating_sub(2)))
        };
        let cell = |(keys, what): &(String, &'static str)| -> Vec<Span<'static>> {
            let mut spans = vec![Span::styled(
                format!(" {keys:<key_width$} "),
                self.theme.accent(),
            )];
            let used = key_width + 2;
            let line = fit::words(what, Style::default(), column.saturating_sub(used + 1));
            let shown = fit::text_of(&line).chars().count();
            spans.extend(line.spans);
            spans.push(Span::raw(" ".repeat(column.saturating_sub(used + shown))));
            spans
        };
        let mut lines: Vec<Line> = (0..rows)
            .map(|i| {
                let mut spans = cell(&self.lines[i]);
                if two && let Some(right) = self.lines.get(i + rows) {
                    spans.extend(cell(right));
                }
                Line::from(spans)
            })
            .collect();
        lines.push(Line::from(Span::styled(
            " mouse: click selects, wheel scrolls · esc or ? closes",
            self.theme.dim(),
        )));
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(self.theme.border(true))
                    .title(" Help "),
            )
            .render(popup, buf);
    }
}
