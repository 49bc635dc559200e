//! The logs panel's part of the UI state: which service, merged or not, scroll, search.

use crate::layout::PanelKind;
use crate::logs::{LogScroll, LogSearch, LogView};

use super::State;

impl State {
    /// The lines the logs panel shows: the selected service's, or every service's merged.
    pub fn log_view(&self) -> LogView {
        match (self.ui.logs_merged, self.ui.selected) {
            (false, Some(id)) => LogView::Entry(id),
            _ => LogView::Merged,
        }
    }

    /// Rows of text the logs panel can show.
    fn log_height(&self) -> usize {
        self.areas()
            .iter()
            .find(|(k, _)| *k == PanelKind::Logs)
            .map_or(10, |(_, a)| usize::from(a.height.saturating_sub(2)).max(1))
    }

    /// Scroll the logs by `delta` lines (negative = older); back at the bottom it follows again.
    pub(super) fn scroll_logs(&mut self, delta: i64) {
        let view = self.log_view();
        let height = self.log_height();
        self.ui.log_scroll = self.ui.log_scroll.scrolled(&self.logs, view, height, delta);
    }

    pub(super) fn log_page(&self) -> i64 {
        self.log_height() as i64
    }

    /// Oldest line held, and follow mode for the newest.
    pub(super) fn logs_to_top(&mut self) {
        let view = self.log_view();
        self.ui.log_scroll = LogScroll::At {
            top: self.logs.first_number(view),
        };
    }

    pub(super) fn logs_follow(&mut self) {
        self.ui.log_scroll = LogScroll::Follow;
    }

    /// Switch between the selected service's lines and every service's.
    pub(super) fn toggle_merged(&mut self) {
        self.ui.logs_merged = !self.ui.logs_merged;
        self.ui.log_scroll = LogScroll::Follow;
        self.research();
    }

    /// The search needle changed, or the view did: search again from scratch.
    pub(super) fn research(&mut self) {
        let needle = self.ui.log_needle.clone();
        self.ui.log_search = (!needle.is_empty()).then(|| {
            let mut search = LogSearch::new(self.log_view(), needle);
            search.refresh(&self.logs);
            search
        });
    }

    /// Bring derived log data up to date before a frame is drawn: new lines scanned once by
    /// the search, and the lines the panel will show rendered (once each; kept with the line).
    pub fn before_draw(&mut self) {
        let view = self.log_view();
        if self.layout().panels().contains(&PanelKind::Logs) {
            let window = self
                .ui
                .log_scroll
                .window(&self.logs, view, self.log_height());
            for index in window {
                if let Some(line) = self.logs.get(view, index) {
                    line.shown();
                }
            }
        }
        match &mut self.ui.log_search {
            Some(search) if search.view == view => search.refresh(&self.logs),
            Some(_) => self.research(),
            None => {}
        }
    }
}
