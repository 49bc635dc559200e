//! The logs panel: output of the selected supervised service, or of all services merged.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::state::State;
use crate::view::theme::Theme;

/// Input of the logs panel.
pub struct LogsPanel<'a> {
    pub state: &'a State,
    pub theme: Theme,
}

impl Widget for &LogsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let name = self
            .state
            .ui
            .selected
            .map_or("", |id| self.state.plan.entries[id.0].name.as_str());
        Paragraph::new(Line::from(Span::styled(
            "no output captured: anychat-top shows the logs of the services it starts",
            self.theme.dim(),
        )))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(self.theme.border(false))
                .title(format!(" Logs: {name} ")),
        )
        .render(area, buf);
    }
}
