//! A stored line as the logs panel shows it, rendered once (when it is first drawn or
//! searched) and kept: the time of a structured line, drawn in the zone the user chose, and its
//! text with escapes neutralised, as style runs over one string.

use std::ops::Range;

use jiff::Timestamp;

use crate::logs::ansi::{self, Segment, SgrStyle};
use crate::logs::zap;

/// How a line shows (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// When a structured line says it was written.
    pub time: Option<Timestamp>,
    /// The text after the time; `None`: the raw line as it is (printable ASCII, nothing to do).
    text: Option<String>,
    /// Style runs over the text, as (end byte, style); empty: unstyled.
    runs: Vec<(usize, SgrStyle)>,
}

impl Shown {
    /// Render `raw` (the only expensive step: JSON parsing, escape neutralising).
    pub fn of(raw: &str) -> Shown {
        if let Some(structured) = zap::parse_structured(raw) {
            return Shown::from_segments(structured.time, &structured.segments);
        }
        if raw.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Shown {
                time: None,
                text: None,
                runs: Vec::new(),
            };
        }
        Shown::from_segments(None, &ansi::segments(raw))
    }

    fn from_segments(time: Option<Timestamp>, segments: &[Segment]) -> Shown {
        let mut text = String::new();
        let mut runs = Vec::with_capacity(segments.len());
        for seg in segments {
            text.push_str(&seg.text);
            runs.push((text.len(), seg.style));
        }
        Shown {
            time,
            text: Some(text),
            runs,
        }
    }

    /// The text shown after the time (`raw` is the stored line this was rendered from).
    pub fn text<'a>(&'a self, raw: &'a str) -> &'a str {
        self.text.as_deref().unwrap_or(raw)
    }

    /// The text in styled pieces: (byte range in [`Shown::text`], style).
    pub fn runs(&self, raw: &str) -> Vec<(Range<usize>, SgrStyle)> {
        let len = self.text(raw).len();
        if self.runs.is_empty() {
            return if len == 0 {
                Vec::new()
            } else {
                vec![(0..len, SgrStyle::default())]
            };
        }
        let mut start = 0;
        self.runs
            .iter()
            .map(|&(end, style)| {
                let run = (start..end, style);
                start = end;
                run
            })
            .collect()
    }

    /// Bytes held besides the raw line (for memory accounting).
    pub fn extra_bytes(&self) -> usize {
        self.text.as_ref().map_or(0, String::capacity)
            + self.runs.capacity() * size_of::<(usize, SgrStyle)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    #[test]
    fn plain_lines_borrow_their_raw_text() {
        let raw = "GET /health 200";
        let shown = Shown::of(raw);
        assert_eq!(shown.text(raw), raw);
        assert_eq!(shown.extra_bytes(), 0);
        assert_eq!(shown.runs(raw), [(0..raw.len(), SgrStyle::default())]);
    }

    #[test]
    fn escapes_are_gone_and_colours_kept_as_runs() {
        let raw = "\x1b[31mred\x1b[0m then \x1b]0;title\x07plain";
        let shown = Shown::of(raw);
        assert_eq!(shown.text(raw), "red then plain");
        let runs = shown.runs(raw);
        assert_eq!(runs[0].0, 0..3);
        assert!(runs[0].1.fg.is_some());
        assert_eq!(runs.last().unwrap().0.end, "red then plain".len());
    }

    #[test]
    fn structured_lines_keep_their_time_apart() {
        let raw = r#"{"level":"warn","ts":"2026-12-01T22:00:31.123+0800","msg":"slow","ms":12}"#;
        let shown = Shown::of(raw);
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(zap::clock(shown.time.unwrap(), &shanghai), "22:00:31.123");
        assert_eq!(shown.text(raw), "WARN  slow  ms=12");
    }
}
