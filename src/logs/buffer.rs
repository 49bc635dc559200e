//! Bounded scrollback of the supervised services' output: a ring per service and a merged ring.
//!
//! Each ring is bounded in lines and in bytes, so memory stays bounded whatever a child
//! writes. The merged ring shares the lines (`Arc`) with the per-service rings; each ring
//! accounts for the raw lines it holds, so the total is at most `(entries + 1) × max_bytes`.
//! Lines are stored raw; a line is rendered (escapes neutralised, zap JSON laid out) the first
//! time it is drawn or searched, and the rendering is kept with it (at most about as much again).

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use crate::logs::search::find;
use crate::logs::shown::Shown;
use crate::message::{LogLine, Stream};
use crate::plan::EntryId;

/// Lines kept per service (and in the merged view) unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Bytes of text kept per ring unless told otherwise.
pub const DEFAULT_MAX_BYTES: usize = 8 * 1024 * 1024;
/// What a stored line costs besides its text: the struct, the `Arc` counts, the ring slot.
const LINE_OVERHEAD_BYTES: usize =
    size_of::<StoredLine>() + 2 * size_of::<usize>() + size_of::<Arc<StoredLine>>();

/// Which lines a view shows: one entry's, or every entry's interleaved in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogView {
    Entry(EntryId),
    Merged,
}

/// One line as received (escapes not neutralised), with the entry that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLine {
    pub entry: EntryId,
    pub stream: Stream,
    pub text: String,
    /// The child wrote more than `MAX_LINE_BYTES` and the rest was discarded.
    pub truncated: bool,
    /// The line as shown, rendered on first use.
    shown: OnceLock<Shown>,
}

impl StoredLine {
    /// A line as received.
    pub fn new(entry: EntryId, stream: Stream, text: String, truncated: bool) -> StoredLine {
        StoredLine {
            entry,
            stream,
            text,
            truncated,
            shown: OnceLock::new(),
        }
    }

    /// The line as shown: rendered now if it never was, kept for next time.
    pub fn shown(&self) -> &Shown {
        self.shown.get_or_init(|| Shown::of(&self.text))
    }

    /// The rendering, if the line was already rendered.
    pub fn rendered(&self) -> Option<&Shown> {
        self.shown.get()
    }

    /// The text shown (after the time of a structured line), without styles.
    pub fn display(&self) -> &str {
        self.shown().text(&self.text)
    }
}

/// How many lines a view received and lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogCounts {
    /// Lines that arrived (including those since evicted).
    pub received: u64,
    /// Lines lost before they arrived because the UI was behind.
    pub upstream_dropped: u64,
    /// Lines pushed out of the ring by newer ones.
    pub evicted: u64,
}

impl LogCounts {
    /// Lines no longer viewable: lost upstream or evicted.
    pub fn dropped(&self) -> u64 {
        self.upstream_dropped + self.evicted
    }
}

/// A ring bounded in lines and bytes; line numbers count every line ever pushed.
#[derive(Debug)]
struct Ring {
    lines: VecDeque<Arc<StoredLine>>,
    /// Number of `lines[0]`: the lines evicted so far.
    first: u64,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    counts: LogCounts,
}

fn cost(line: &StoredLine) -> usize {
    line.text.capacity() + LINE_OVERHEAD_BYTES
}

impl Ring {
    fn new(max_lines: usize, max_bytes: usize) -> Ring {
        Ring {
            lines: VecDeque::new(),
            first: 0,
            bytes: 0,
            max_lines: max_lines.max(1),
            max_bytes,
            counts: LogCounts::default(),
        }
    }

    /// Count `n` arriving lines as evicted without storing them: the rest of the batch
    /// (`max_lines` lines) will push out every line held now, so those go too.
    fn skip(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let gone = (self.lines.len() + n) as u64;
        self.lines.clear();
        self.bytes = 0;
        self.counts.received += n as u64;
        self.counts.evicted += gone;
        self.first += gone;
    }

    fn push(&mut self, line: Arc<StoredLine>) {
        self.counts.received += 1;
        self.bytes += cost(&line);
        self.lines.push_back(line);
        // The newest line is kept even if it alone is over the byte budget.
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= cost(&old);
                self.first += 1;
                self.counts.evicted += 1;
            }
        }
    }
}

/// Scrollback of every entry's output; see the module docs for the bounds.
#[derive(Debug)]
pub struct LogStore {
    entries: Vec<Ring>,
    merged: Ring,
    max_lines: usize,
    max_bytes: usize,
}

impl LogStore {
    /// A store for `entries` entries keeping `capacity` lines each (and merged).
    pub fn new(entries: usize, capacity: usize) -> LogStore {
        LogStore::with_limits(entries, capacity, DEFAULT_MAX_BYTES)
    }

    /// Like [`LogStore::new`], also keeping at most about `max_bytes` per ring.
    pub fn with_limits(entries: usize, capacity: usize, max_bytes: usize) -> LogStore {
        LogStore {
            entries: (0..entries)
                .map(|_| Ring::new(capacity, max_bytes))
                .collect(),
            merged: Ring::new(capacity, max_bytes),
            max_lines: capacity.max(1),
            max_bytes,
        }
    }

    /// Store a batch from `entry`; `dropped` lines were lost before it.
    pub fn push(&mut self, entry: EntryId, lines: Vec<LogLine>, dropped: u64) {
        if entry.0 >= self.entries.len() {
            let (cap, bytes) = (self.max_lines, self.max_bytes);
            self.entries
                .resize_with(entry.0 + 1, || Ring::new(cap, bytes));
        }
        let ring = &mut self.entries[entry.0];
        ring.counts.upstream_dropped += dropped;
        self.merged.counts.upstream_dropped += dropped;
        // Lines a ring would evict within this very batch are counted, not stored
        // (every ring holds `max_lines` lines, so the batch's tail replaces them all).
        let skip = lines.len().saturating_sub(self.max_lines);
        ring.skip(skip);
        self.merged.skip(skip);
        for line in lines.into_iter().skip(skip) {
            let stored = Arc::new(StoredLine::new(
                entry,
                line.stream,
                line.text,
                line.truncated,
            ));
            ring.push(Arc::clone(&stored));
            self.merged.push(stored);
        }
    }

    fn ring(&self, view: LogView) -> Option<&Ring> {
        match view {
            LogView::Entry(id) => self.entries.get(id.0),
            LogView::Merged => Some(&self.merged),
        }
    }

    /// The lines of a view, oldest first.
    pub fn view(
        &self,
        view: LogView,
    ) -> impl DoubleEndedIterator<Item = &StoredLine> + ExactSizeIterator {
        self.ring(view)
            .map(|r| r.lines.range(..))
            .unwrap_or_default()
            .map(|l| &**l)
    }

    /// One entry's lines, oldest first.
    pub fn lines(&self, entry: EntryId) -> impl DoubleEndedIterator<Item = &StoredLine> {
        self.view(LogView::Entry(entry))
    }

    /// Every entry's lines in arrival order, oldest first.
    pub fn merged(&self) -> impl DoubleEndedIterator<Item = (EntryId, &StoredLine)> {
        self.view(LogView::Merged).map(|l| (l.entry, l))
    }

    /// Lines a view holds now.
    pub fn len(&self, view: LogView) -> usize {
        self.ring(view).map_or(0, |r| r.lines.len())
    }

    /// Whether a view holds no line.
    pub fn is_empty(&self, view: LogView) -> bool {
        self.len(view) == 0
    }

    /// The line at `index` (0 = oldest held) of a view.
    pub fn get(&self, view: LogView, index: usize) -> Option<&StoredLine> {
        self.ring(view)?.lines.get(index).map(|l| &**l)
    }

    /// Number of the oldest line a view holds; numbers never shift as lines are evicted.
    pub fn first_number(&self, view: LogView) -> u64 {
        self.ring(view).map_or(0, |r| r.first)
    }

    /// One past the number of the newest line of a view.
    pub fn end_number(&self, view: LogView) -> u64 {
        self.first_number(view) + self.len(view) as u64
    }

    /// Received, lost and evicted lines of a view.
    pub fn counts(&self, view: LogView) -> LogCounts {
        self.ring(view)
            .map_or_else(LogCounts::default, |r| r.counts)
    }

    /// Lines of `entry` lost upstream or evicted by the ring.
    pub fn dropped(&self, entry: EntryId) -> u64 {
        self.counts(LogView::Entry(entry)).dropped()
    }

    /// Indices (0 = oldest held) of the lines of `view` whose displayed text contains `needle`.
    ///
    /// Scans the whole view; the state keeps a [`crate::logs::search::LogSearch`] to scan only new lines.
    pub fn search(&self, view: LogView, needle: &str) -> Vec<usize> {
        if needle.is_empty() {
            return Vec::new();
        }
        self.view(view)
            .enumerate()
            .filter(|(_, line)| !find(line.display(), needle).is_empty())
            .map(|(i, _)| i)
            .collect()
    }

    /// The newest `n` lines of `entry` as displayed, without styles (for the exit reason).
    pub fn last_lines(&self, entry: EntryId, n: usize) -> Vec<String> {
        let mut out: Vec<String> = self
            .lines(entry)
            .rev()
            .take(n)
            .map(|l| l.display().to_string())
            .collect();
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<LogLine> {
        texts
            .iter()
            .map(|t| LogLine {
                stream: Stream::Stdout,
                text: t.to_string(),
                truncated: false,
            })
            .collect()
    }

    fn texts(it: impl Iterator<Item = String>) -> Vec<String> {
        it.collect()
    }

    #[test]
    fn ring_keeps_the_newest_lines() {
        let mut s = LogStore::new(1, 3);
        let a = EntryId(0);
        s.push(a, lines(&["1", "2"]), 0);
        s.push(a, lines(&["3", "4", "5"]), 0);
        assert_eq!(texts(s.lines(a).map(|l| l.text.clone())), ["3", "4", "5"]);
        assert_eq!(s.first_number(LogView::Entry(a)), 2);
        assert_eq!(s.end_number(LogView::Entry(a)), 5);
        // A batch bigger than the ring: only its tail is stored, the rest counted.
        s.push(a, lines(&["6", "7", "8", "9", "10"]), 0);
        assert_eq!(texts(s.lines(a).map(|l| l.text.clone())), ["8", "9", "10"]);
        assert_eq!(s.get(LogView::Entry(a), 0).unwrap().text, "8");
        assert_eq!(s.end_number(LogView::Entry(a)), 10);
    }

    #[test]
    fn dropped_counts_the_ring_and_upstream() {
        let mut s = LogStore::new(2, 3);
        let (a, b) = (EntryId(0), EntryId(1));
        s.push(a, lines(&["1", "2", "3", "4"]), 0);
        assert_eq!(s.dropped(a), 1);
        s.push(a, lines(&["5"]), 40);
        let c = s.counts(LogView::Entry(a));
        assert_eq!(
            c,
            LogCounts {
                received: 5,
                upstream_dropped: 40,
                evicted: 2
            }
        );
        assert_eq!(s.dropped(a), 42);
        assert_eq!(s.dropped(b), 0);
        s.push(b, lines(&["x"]), 7);
        assert_eq!(s.dropped(b), 7);
        let m = s.counts(LogView::Merged);
        assert_eq!((m.received, m.upstream_dropped, m.evicted), (6, 47, 3));
    }

    #[test]
    fn merged_view_interleaves_in_arrival_order() {
        let mut s = LogStore::new(2, 100);
        let (a, b) = (EntryId(0), EntryId(1));
        s.push(a, lines(&["a1", "a2"]), 0);
        s.push(b, lines(&["b1"]), 0);
        s.push(a, lines(&["a3"]), 0);
        s.push(b, lines(&["b2"]), 0);
        let got: Vec<(usize, &str)> = s.merged().map(|(e, l)| (e.0, l.text.as_str())).collect();
        assert_eq!(got, [(0, "a1"), (0, "a2"), (1, "b1"), (0, "a3"), (1, "b2")]);
        assert_eq!(s.merged().next_back().unwrap().1.text, "b2");
        // A quiet service keeps its lines when a chatty one fills the merged ring.
        let mut s = LogStore::new(2, 3);
        s.push(b, lines(&["quiet"]), 0);
        s.push(a, lines(&["1", "2", "3", "4"]), 0);
        assert_eq!(texts(s.lines(b).map(|l| l.text.clone())), ["quiet"]);
        assert_eq!(
            texts(s.merged().map(|(_, l)| l.text.clone())),
            ["2", "3", "4"]
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let mut s = LogStore::new(1, 1000);
        let a = EntryId(0);
        for batch in 0..1000 {
            let batch: Vec<LogLine> = (0..1000)
                .map(|i| LogLine {
                    stream: Stream::Stderr,
                    text: format!("line {batch} {i}"),
                    truncated: false,
                })
                .collect();
            s.push(a, batch, 0);
        }
        assert_eq!(s.len(LogView::Entry(a)), 1000);
        assert_eq!(s.len(LogView::Merged), 1000);
        assert_eq!(s.counts(LogView::Entry(a)).received, 1_000_000);
        assert_eq!(s.dropped(a), 999_000);
        assert_eq!(s.lines(a).next_back().unwrap().text, "line 999 999");
        // Huge lines are bounded by bytes as well as by count.
        let mut s = LogStore::with_limits(1, 1000, 1 << 20);
        for _ in 0..100 {
            let big = vec![LogLine {
                stream: Stream::Stdout,
                text: "x".repeat(64 * 1024),
                truncated: true,
            }];
            s.push(a, big, 0);
        }
        assert!(
            s.len(LogView::Entry(a)) <= 16,
            "{}",
            s.len(LogView::Entry(a))
        );
        assert!(s.entries[0].bytes <= 1 << 20);
        assert!(s.merged.bytes <= 1 << 20);
    }

    #[test]
    fn search_finds_indices_in_the_view() {
        let mut s = LogStore::new(2, 100);
        let (a, b) = (EntryId(0), EntryId(1));
        s.push(
            a,
            lines(&["GET /health", "POST /login", "\x1b[31mGET\x1b[0m /x"]),
            0,
        );
        s.push(b, lines(&["get /y"]), 0);
        assert_eq!(s.search(LogView::Entry(a), "GET"), [0, 2]);
        // Lower-case needles match any case.
        assert_eq!(s.search(LogView::Merged, "get"), [0, 2, 3]);
        assert_eq!(s.search(LogView::Merged, "nothing"), Vec::<usize>::new());
        assert_eq!(s.search(LogView::Merged, ""), Vec::<usize>::new());
        // Zap lines are searched as displayed.
        s.push(
            b,
            lines(&[r#"{"level":"error","msg":"db down","ts":0}"#]),
            0,
        );
        assert_eq!(s.search(LogView::Entry(b), "ERROR db"), [1]);
    }

    #[test]
    fn last_lines_are_plain() {
        let mut s = LogStore::new(1, 100);
        let a = EntryId(0);
        s.push(a, lines(&["one", "\x1b[1mtwo\x1b[0m\x07", "three"]), 0);
        assert_eq!(s.last_lines(a, 2), ["two", "three"]);
        assert_eq!(s.last_lines(a, 10).len(), 3);
        assert!(s.last_lines(EntryId(9), 3).is_empty());
    }
}
