//! Searching the scrollback: smart-case substring matching, and a search kept up to date incrementally.

use std::collections::VecDeque;
use std::ops::Range;

use crate::logs::buffer::{LogStore, LogView};

/// Byte ranges of the non-overlapping matches of `needle` in `haystack`.
///
/// Smart case: a needle without upper-case letters matches any case (ASCII folding, so
/// byte offsets stay those of `haystack`); one with upper case matches exactly.
pub fn find(haystack: &str, needle: &str) -> Vec<Range<usize>> {
    if needle.is_empty() {
        return Vec::new();
    }
    let ranges = |hay: &str, needle: &str| -> Vec<Range<usize>> {
        hay.match_indices(needle)
            .map(|(at, m)| at..at + m.len())
            .collect()
    };
    if needle.chars().any(char::is_uppercase) {
        ranges(haystack, needle)
    } else {
        ranges(&haystack.to_ascii_lowercase(), &needle.to_ascii_lowercase())
    }
}

/// A search of one view, kept current by scanning only the lines that arrived since.
///
/// Matches are kept by line number, which does not shift as old lines are evicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSearch {
    pub view: LogView,
    pub needle: String,
    matches: VecDeque<u64>,
    /// Lines with a number below this were scanned.
    scanned: u64,
}

impl LogSearch {
    /// A search not yet run; call [`LogSearch::refresh`].
    pub fn new(view: LogView, needle: impl Into<String>) -> LogSearch {
        LogSearch {
            view,
            needle: needle.into(),
            matches: VecDeque::new(),
            scanned: 0,
        }
    }

    /// Forget evicted matches and scan the lines that arrived since the last call.
    pub fn refresh(&mut self, store: &LogStore) {
        let first = store.first_number(self.view);
        while self.matches.front().is_some_and(|&n| n < first) {
            self.matches.pop_front();
        }
        let end = store.end_number(self.view);
        let start = self.scanned.max(first);
        for number in start..end {
            let index = (number - first) as usize;
            if let Some(line) = store.get(self.view, index)
                && !find(line.display(), &self.needle).is_empty()
            {
                self.matches.push_back(number);
            }
        }
        self.scanned = end;
    }

    /// Matching lines at the last refresh.
    pub fn count(&self) -> usize {
        self.matches.len()
    }

    /// Line numbers of the matches, oldest first (see [`LogStore::first_number`]).
    pub fn numbers(&self) -> impl DoubleEndedIterator<Item = u64> + '_ {
        self.matches.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{LogLine, Stream};
    use crate::plan::EntryId;

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // One match, as a byte range.
    fn smart_case_and_non_overlapping() {
        assert_eq!(find("Error error ERROR", "error"), [0..5, 6..11, 12..17]);
        assert_eq!(find("Error error ERROR", "Error"), [0..5]);
        assert_eq!(find("aaaa", "aa"), [0..2, 2..4]);
        assert_eq!(find("naïve NAÏVE", "ïve"), [2..6]);
        assert!(find("abc", "").is_empty());
        assert!(find("abc", "x").is_empty());
    }

    fn push(store: &mut LogStore, texts: &[&str]) {
        let lines = texts
            .iter()
            .map(|t| LogLine {
                stream: Stream::Stdout,
                text: t.to_string(),
                truncated: false,
            })
            .collect();
        store.push(EntryId(0), lines, 0);
    }

    #[test]
    fn incremental_search_follows_the_ring() {
        let mut store = LogStore::new(1, 4);
        let mut search = LogSearch::new(LogView::Entry(EntryId(0)), "hit");
        push(&mut store, &["hit 0", "miss", "hit 2"]);
        search.refresh(&store);
        assert_eq!(search.numbers().collect::<Vec<_>>(), [0, 2]);
        push(&mut store, &["miss", "hit 4"]);
        search.refresh(&store);
        // "hit 0" was evicted; "hit 4" was found without rescanning the rest.
        assert_eq!(search.numbers().collect::<Vec<_>>(), [2, 4]);
        assert_eq!(search.count(), 2);
        assert_eq!(
            store.search(LogView::Entry(EntryId(0)), "hit"),
            [1, 3],
            "indices agree with the numbers"
        );
        push(&mut store, &["a", "b", "c", "d", "e", "hit"]);
        search.refresh(&store);
        assert_eq!(search.numbers().collect::<Vec<_>>(), [10]);
    }
}
