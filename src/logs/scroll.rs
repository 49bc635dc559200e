//! Where the logs view is: following the newest lines, or held at a line that new output does not move.

use std::ops::Range;

use crate::logs::buffer::{LogStore, LogView};

/// Follow the newest lines, or keep the line numbered `top` at the top of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogScroll {
    #[default]
    Follow,
    At {
        top: u64,
    },
}

impl LogScroll {
    /// Indices (0 = oldest held) of the lines a window of `height` rows shows.
    pub fn window(self, store: &LogStore, view: LogView, height: usize) -> Range<usize> {
        let len = store.len(view);
        let bottom = len.saturating_sub(height);
        let start = match self {
            LogScroll::Follow => bottom,
            LogScroll::At { top } => {
                let from_first = top.saturating_sub(store.first_number(view));
                usize::try_from(from_first).map_or(bottom, |i| i.min(bottom))
            }
        };
        start..(start + height).min(len)
    }

    /// Lines newer than the window.
    pub fn below(self, store: &LogStore, view: LogView, height: usize) -> usize {
        store.len(view) - self.window(store, view, height).end
    }

    /// Move by `delta` lines (negative = older); reaching the bottom going down follows again.
    pub fn scrolled(self, store: &LogStore, view: LogView, height: usize, delta: i64) -> LogScroll {
        let first = store.first_number(view);
        let window = self.window(store, view, height);
        let bottom = store.len(view).saturating_sub(height) as i64;
        let start = (window.start as i64 + delta).clamp(0, bottom);
        if (delta > 0 && start == bottom) || (delta >= 0 && self == LogScroll::Follow) {
            LogScroll::Follow
        } else {
            LogScroll::At {
                top: first + start as u64,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{LogLine, Stream};
    use crate::plan::EntryId;

    fn store(n: usize, capacity: usize) -> LogStore {
        let mut s = LogStore::new(1, capacity);
        let lines = (0..n)
            .map(|i| LogLine {
                stream: Stream::Stdout,
                text: i.to_string(),
                truncated: false,
            })
            .collect();
        s.push(EntryId(0), lines, 0);
        s
    }

    const V: LogView = LogView::Entry(EntryId(0));

    #[test]
    fn follow_shows_the_newest() {
        let s = store(100, 1000);
        assert_eq!(LogScroll::Follow.window(&s, V, 10), 90..100);
        assert_eq!(LogScroll::Follow.window(&s, V, 500), 0..100);
        assert_eq!(LogScroll::Follow.below(&s, V, 10), 0);
    }

    #[test]
    fn scrolling_holds_a_line_until_back_at_the_bottom() {
        let mut s = store(100, 1000);
        let up = LogScroll::Follow.scrolled(&s, V, 10, -5);
        assert_eq!(up, LogScroll::At { top: 85 });
        assert_eq!(up.window(&s, V, 10), 85..95);
        assert_eq!(up.below(&s, V, 10), 5);
        // New output does not move a held window.
        s.push(
            EntryId(0),
            vec![LogLine {
                stream: Stream::Stdout,
                text: "new".into(),
                truncated: false,
            }],
            0,
        );
        assert_eq!(up.window(&s, V, 10), 85..95);
        assert_eq!(up.scrolled(&s, V, 10, -1000), LogScroll::At { top: 0 });
        assert_eq!(up.scrolled(&s, V, 10, 3), LogScroll::At { top: 88 });
        assert_eq!(up.scrolled(&s, V, 10, 1000), LogScroll::Follow);
        assert_eq!(LogScroll::Follow.scrolled(&s, V, 10, 5), LogScroll::Follow);
    }

    #[test]
    fn a_held_line_that_was_evicted_clamps_to_the_oldest() {
        let s = store(100, 50);
        let held = LogScroll::At { top: 10 };
        assert_eq!(held.window(&s, V, 10), 0..10);
        assert_eq!(s.get(V, 0).unwrap().text, "50");
    }
}
