//! The bounded queue of a stream's lines that wait for room in the update channel.
//!
//! Lines are kept as raw bytes and turned into `LogLine`s only when a batch is sent: while the
//! UI is behind, most lines are dropped again before that, and must cost next to nothing.

use std::collections::VecDeque;

use crate::message::{LogLine, Stream};

/// Lines kept per stream while the UI is behind; older ones are dropped and counted.
pub const MAX_PENDING_LINES: usize = 2_000;
/// Bytes of line text kept per stream while the UI is behind.
pub const MAX_PENDING_BYTES: usize = 1024 * 1024;
/// Dropped bytes at the front of the buffer are reclaimed once there are this many (and at
/// least as many as are kept, so each byte is moved at most once on average).
const COMPACT_AFTER_BYTES: usize = 256 * 1024;

/// The newest lines of one stream (at most [`MAX_PENDING_LINES`] and [`MAX_PENDING_BYTES`]),
/// and how many older ones were dropped since the last batch.
#[derive(Debug, Default)]
pub(super) struct Backlog {
    /// Kept lines back to back, after `start` bytes that belonged to dropped lines.
    bytes: Vec<u8>,
    start: usize,
    /// Where each kept line ends in `bytes`, and whether it was cut.
    ends: VecDeque<(usize, bool)>,
    dropped: u64,
}

impl Backlog {
    /// Lines waiting.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no lines wait.
    pub(super) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Whether there is anything to send (lines, or news of dropped ones).
    pub(super) fn has_news(&self) -> bool {
        !self.ends.is_empty() || self.dropped > 0
    }

    /// Queue a line, dropping the oldest ones over the limits.
    pub(super) fn push(&mut self, line: &[u8], truncated: bool) {
        self.bytes.extend_from_slice(line);
        self.ends.push_back((self.bytes.len(), truncated));
        while self.ends.len() > MAX_PENDING_LINES
            || self.bytes.len() - self.start > MAX_PENDING_BYTES
        {
            let Some((end, _)) = self.ends.pop_front() else {
                break;
            };
            self.start = end;
            self.dropped += 1;
        }
        let kept = self.bytes.len() - self.start;
        if self.start >= COMPACT_AFTER_BYTES && self.start >= kept {
            self.compact();
        }
    }

    fn compact(&mut self) {
        self.bytes.drain(..self.start);
        for (end, _) in &mut self.ends {
            *end -= self.start;
        }
        self.start = 0;
    }

    /// Forget the queued lines without counting them (nobody is listening any more).
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.start = 0;
        self.ends.clear();
    }

    /// Everything queued as `LogLine`s of `stream`, and the dropped count; the backlog is empty after.
    pub(super) fn take(&mut self, stream: Stream) -> (Vec<LogLine>, u64) {
        let mut begin = self.start;
        let lines = self
            .ends
            .drain(..)
            .map(|(end, truncated)| {
                let text = to_text(&self.bytes[begin..end]);
                begin = end;
                LogLine {
                    stream,
                    text,
                    truncated,
                }
            })
            .collect();
        self.bytes.clear();
        self.start = 0;
        (lines, std::mem::take(&mut self.dropped))
    }
}

/// The line as text; invalid UTF-8 is replaced (the common valid case takes std's fast path).
fn to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[LogLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn keeps_the_newest_lines_and_counts_the_rest() {
        let mut backlog = Backlog::default();
        for i in 0..MAX_PENDING_LINES + 5 {
            backlog.push(format!("line {i}").as_bytes(), i == 7);
        }
        let (lines, dropped) = backlog.take(Stream::Stderr);
        assert_eq!(dropped, 5);
        assert_eq!(lines.len(), MAX_PENDING_LINES);
        assert_eq!(lines[0].text, "line 5");
        assert!(lines[2].truncated && !lines[1].truncated && lines[0].stream == Stream::Stderr);
        assert_eq!(
            lines[MAX_PENDING_LINES - 1].text,
            format!("line {}", MAX_PENDING_LINES + 4)
        );
        assert!(!backlog.has_news());
        backlog.push(b"again", false);
        assert_eq!(backlog.take(Stream::Stdout), (vec![line("again")], 0));
    }

    fn line(text: &str) -> LogLine {
        LogLine {
            stream: Stream::Stdout,
            text: text.to_string(),
            truncated: false,
        }
    }

    #[test]
    fn bytes_are_bounded_and_reclaimed() {
        let mut backlog = Backlog::default();
        let big = vec![b'b'; 64 * 1024];
        for _ in 0..1000 {
            backlog.push(&big, false);
            let bound = 2 * MAX_PENDING_BYTES + COMPACT_AFTER_BYTES + big.len();
            assert!(
                backlog.bytes.len() <= bound,
                "{} bytes held",
                backlog.bytes.len()
            );
        }
        backlog.push(b"last", false);
        let (lines, dropped) = backlog.take(Stream::Stdout);
        assert_eq!(lines.len() as u64 + dropped, 1001);
        assert_eq!(lines.last().map(|l| l.text.as_str()), Some("last"));
        assert!(lines.iter().map(|l| l.text.len()).sum::<usize>() <= MAX_PENDING_BYTES);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut backlog = Backlog::default();
        backlog.push(b"ok \xff\xfe end", false);
        backlog.push(b"", false);
        let (lines, _) = backlog.take(Stream::Stdout);
        assert_eq!(texts(&lines), ["ok \u{fffd}\u{fffd} end", ""]);
    }
}
