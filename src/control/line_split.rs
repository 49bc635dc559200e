//! Splitting a child's output bytes into lines of at most [`MAX_LINE_BYTES`], in bounded memory.

use crate::message::MAX_LINE_BYTES;

/// Cuts a byte stream at `\n` (dropping a trailing `\r`); a line longer than [`MAX_LINE_BYTES`]
/// is cut at a character boundary and the rest of it discarded, so at most one
/// `MAX_LINE_BYTES + 1` partial line is ever held.
#[derive(Debug, Default)]
pub(super) struct LineSplitter {
    partial: Vec<u8>,
    /// Bytes of the partial line were discarded.
    cut: bool,
}

impl LineSplitter {
    /// Feed the next chunk; `emit(bytes, truncated)` is called for every line it completes.
    pub(super) fn push(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(&[u8], bool)) {
        while let Some(end) = find_newline(chunk) {
            let line = &chunk[..end];
            if self.partial.is_empty() && !self.cut {
                emit_line(line, false, emit);
            } else {
                self.append(line);
                emit_line(&self.partial, self.cut, emit);
                self.partial.clear();
                self.cut = false;
            }
            chunk = &chunk[end + 1..];
        }
        self.append(chunk);
    }

    /// End of stream: emit the unterminated last line, if any.
    pub(super) fn finish(&mut self, emit: &mut impl FnMut(&[u8], bool)) {
        if !self.partial.is_empty() || self.cut {
            emit_line(&self.partial, self.cut, emit);
        }
        self.partial.clear();
        self.cut = false;
    }

    fn append(&mut self, bytes: &[u8]) {
        // One byte over the limit: enough to tell "exactly MAX then \r" from "too long".
        let room = (MAX_LINE_BYTES + 1).saturating_sub(self.partial.len());
        if bytes.len() > room {
            self.partial.extend_from_slice(&bytes[..room]);
            self.cut = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }
}

/// Position of the first `\n`. libc's memchr, because std's is private and the memchr crate
/// is unoptimised in debug builds (it was most of the reader's time in the flood test).
fn find_newline(haystack: &[u8]) -> Option<usize> {
    // SAFETY: memchr reads at most `haystack.len()` bytes of a valid slice and returns null or
    // a pointer into it.
    let found = unsafe { libc::memchr(haystack.as_ptr().cast(), b'\n'.into(), haystack.len()) };
    (!found.is_null()).then(|| found as usize - haystack.as_ptr() as usize)
}

fn emit_line(line: &[u8], cut: bool, emit: &mut impl FnMut(&[u8], bool)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE_BYTES {
        emit(&line[..char_boundary(line, MAX_LINE_BYTES)], true);
    } else {
        emit(line, cut);
    }
}

/// The largest cut point `<= max` that does not split a UTF-8 sequence (`line.len() > max`).
fn char_boundary(line: &[u8], max: usize) -> usize {
    let mut cut = max;
    while cut > 0 && max - cut < 3 && line[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    if line[cut] & 0xC0 == 0x80 { max } else { cut }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        let mut emit = |line: &[u8], truncated| lines.push((line.to_vec(), truncated));
        for chunk in chunks {
            splitter.push(chunk, &mut emit);
        }
        splitter.finish(&mut emit);
        lines
    }

    fn text(lines: &[(Vec<u8>, bool)]) -> Vec<&str> {
        lines
            .iter()
            .map(|(l, _)| std::str::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn splits_across_chunks_and_strips_carriage_returns() {
        let lines = split(&[b"one\r\ntw", b"o\n\nthr", b"ee"]);
        assert_eq!(text(&lines), ["one", "two", "", "three"]);
        assert!(lines.iter().all(|(_, truncated)| !truncated));
    }

    #[test]
    fn a_long_line_is_cut_and_the_next_is_intact() {
        let long = vec![b'x'; MAX_LINE_BYTES * 3];
        let lines = split(&[&long[..1000], &long[1000..], b"\nnext\n"]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0.len(), MAX_LINE_BYTES);
        assert!(lines[0].1);
        assert_eq!(lines[1], (b"next".to_vec(), false));
    }

    #[test]
    fn exactly_max_bytes_with_crlf_is_not_truncated() {
        let mut line = vec![b'y'; MAX_LINE_BYTES];
        line.extend_from_slice(b"\r\n");
        let lines = split(&[&line[..10], &line[10..]]);
        assert_eq!(lines, [(vec![b'y'; MAX_LINE_BYTES], false)]);
    }

    #[test]
    fn cuts_do_not_split_a_multibyte_character() {
        let mut line = vec![b'a'; MAX_LINE_BYTES - 1];
        line.extend_from_slice("é and more".as_bytes());
        line.push(b'\n');
        let lines = split(&[&line]);
        assert_eq!(lines[0].0.len(), MAX_LINE_BYTES - 1);
        assert!(lines[0].1);
        assert!(std::str::from_utf8(&lines[0].0).is_ok());
    }

    #[test]
    fn an_unterminated_long_tail_is_emitted_cut() {
        let tail = vec![b'z'; MAX_LINE_BYTES + 5];
        let lines = split(&[&tail]);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].0.len(), MAX_LINE_BYTES);
        assert!(lines[0].1);
    }
}
