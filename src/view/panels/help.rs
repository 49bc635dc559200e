//! The help overlay, generated from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use crate::view::theme::Theme;

/// Input of the help overlay: (keys, description) pairs.
pub struct HelpOverlay<'a> {
    pub lines: &'a [(String, &'static str)],
    pub theme: Theme,
}

impl Widget for &HelpOverlay<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let width = area.width.min(64);
        let height = (self.lines.len() as u16 + 4).min(area.height);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + (area.height - height) / 2,
            width,
            height,
        );
        Clear.render(popup, buf);
        let mut lines: Vec<Line> = self
            .lines
            .iter()
            .map(|(keys, what)| {
                Line::from(vec![
                    Span::styled(format!(" {keys:<16} "), self.theme.accent()),
                    Span::raw(*what),
                ])
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
