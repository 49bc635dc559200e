//! Fitting a value into a table cell, decided here for every table: a number (port, PID,
//! latency, count) or a name is shown whole or not at all. A cell is made of pieces; when the
//! cell is too narrow the optional pieces give way first (labels before ports), then the last
//! pieces are replaced by one `…`. No output is ever a strict prefix of what it stands for.

use std::borrow::Cow;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// The mark that stands for what did not fit.
pub const ELLIPSIS: &str = "…";

/// One indivisible piece of a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece<'a> {
    pub text: Cow<'a, str>,
    pub style: Style,
    /// 0: essential (kept until the cell is replaced by `…` from here on); higher: dropped
    /// earlier when the cell is too narrow (labels 2, secondary figures 1).
    pub drop_rank: u8,
    /// Written before the piece when it follows another ("" glues it to the previous one).
    pub gap: &'static str,
}

impl<'a> Piece<'a> {
    /// An essential piece after a one-space gap.
    pub fn new(text: impl Into<Cow<'a, str>>, style: Style) -> Piece<'a> {
        Piece {
            text: text.into(),
            style,
            drop_rank: 0,
            gap: " ",
        }
    }

    /// The same piece, dropped before those of lower rank.
    pub fn optional(mut self, rank: u8) -> Piece<'a> {
        self.drop_rank = rank;
        self
    }

    /// The same piece, written after `gap` instead of one space.
    pub fn after(mut self, gap: &'static str) -> Piece<'a> {
        self.gap = gap;
        self
    }
}

/// Display width of the pieces laid out one after another.
fn width_of(pieces: &[&Piece]) -> usize {
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| p.text.width() + if i == 0 { 0 } else { p.gap.width() })
        .sum()
}

/// The pieces that fit in `width` columns, as a line: optional pieces dropped (every piece of
/// the highest rank at once, so a cell never shows some labels and not others), then trailing
/// pieces replaced by `…`.
pub fn fit<'a>(pieces: &[Piece<'a>], width: usize) -> Line<'a> {
    let mut kept: Vec<&Piece<'a>> = pieces.iter().collect();
    while width_of(&kept) > width {
        let Some(rank) = kept.iter().map(|p| p.drop_rank).filter(|&r| r > 0).max() else {
            break;
        };
        kept.retain(|p| p.drop_rank != rank);
    }
    let mut elided = false;
    if width_of(&kept) > width {
        elided = true;
        // Keep a whole prefix of pieces that leaves room for " …".
        while !kept.is_empty() && width_of(&kept) + 1 + ELLIPSIS.width() > width {
            kept.pop();
        }
    }
    let mut spans = Vec::with_capacity(kept.len() * 2 + 1);
    for (i, p) in kept.iter().enumerate() {
        if i > 0 && !p.gap.is_empty() {
            spans.push(Span::raw(p.gap));
        }
        spans.push(Span::styled(p.text.clone(), p.style));
    }
    if elided && width >= ELLIPSIS.width() {
        if !kept.is_empty() {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::raw(ELLIPSIS));
    }
    Line::from(spans)
}

/// One whole value (a name, a number) in `width` columns, or `…`.
pub fn whole<'a>(text: impl Into<Cow<'a, str>>, style: Style, width: usize) -> Line<'a> {
    fit(&[Piece::new(text, style)], width)
}

/// Free text (a phrase like "crash signal 9 (SIGKILL)") in `width` columns: whole words only,
/// the rest replaced by `…`.
pub fn words(text: &str, style: Style, width: usize) -> Line<'static> {
    let pieces: Vec<Piece<'static>> = text
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| Piece::new(w.to_string(), style))
        .collect();
    fit(&pieces, width)
}

/// The text of a line (for tests and widths).
pub fn text_of(line: &Line) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port cell: the state symbol goes with its port, the label may give way.
    fn port(state: &'static str, port: u16, label: &'static str) -> Vec<Piece<'static>> {
        vec![
            Piece::new(format!("{state} {port}"), Style::default()),
            Piece::new(label, Style::default()).optional(2),
        ]
    }

    #[test]
    fn numbers_names_and_labels_are_never_cut_at_any_width() {
        let cells: Vec<(Vec<Piece>, String)> = vec![
            (port("✓", 11222, "monitor"), "✓ 11222 monitor".into()),
            (port("✓", 7222, "client"), "✓ 7222 client".into()),
            (port("!", 12091, "console"), "! 12091 console".into()),
            (vec![Piece::new("0.4ms", Style::default())], "0.4ms".into()),
            (
                vec![Piece::new("1234ms", Style::default())],
                "1234ms".into(),
            ),
            (
                vec![
                    Piece::new("run", Style::default()),
                    Piece::new("4194304", Style::default()),
                ],
                "run 4194304".into(),
            ),
            (
                vec![
                    Piece::new("✓", Style::default()),
                    Piece::new("message-service", Style::default()),
                ],
                "✓ message-service".into(),
            ),
        ];
        for (pieces, value) in &cells {
            // The values a cell stands for: each port, number, name and label.
            let values: Vec<&str> = value.split(' ').collect();
            for width in 1..=20 {
                let shown = text_of(&fit(pieces, width));
                assert!(shown.width() <= width, "{shown:?} wider than {width}");
                // Every token shown is one of the values, whole: never a strict prefix of one.
                for token in shown.split(' ').filter(|t| !t.is_empty() && *t != ELLIPSIS) {
                    assert!(
                        values.contains(&token),
                        "{token:?} is not a whole value of {value:?} (width {width})"
                    );
                }
            }
        }
    }

    #[test]
    fn labels_give_way_before_ports_then_the_ellipsis_stands_for_the_rest() {
        let pieces = port("✓", 11222, "monitor");
        assert_eq!(text_of(&fit(&pieces, 20)), "✓ 11222 monitor");
        assert_eq!(text_of(&fit(&pieces, 15)), "✓ 11222 monitor");
        assert_eq!(text_of(&fit(&pieces, 14)), "✓ 11222");
        assert_eq!(text_of(&fit(&pieces, 7)), "✓ 11222");
        assert_eq!(text_of(&fit(&pieces, 6)), "…");
        assert_eq!(text_of(&fit(&pieces, 2)), "…");
        assert_eq!(text_of(&fit(&pieces, 1)), "…");
        assert_eq!(text_of(&fit(&pieces, 0)), "");
    }

    #[test]
    fn several_ports_keep_whole_ports_and_say_there_is_more() {
        let mut pieces = port("✓", 4222, "client");
        pieces.extend(
            port("✓", 8222, "monitor")
                .into_iter()
                .enumerate()
                .map(|(i, p)| if i == 0 { p.after("  ") } else { p }),
        );
        assert_eq!(text_of(&fit(&pieces, 40)), "✓ 4222 client  ✓ 8222 monitor");
        assert_eq!(
            text_of(&fit(&pieces, 22)),
            "✓ 4222  ✓ 8222",
            "labels go together"
        );
        assert_eq!(text_of(&fit(&pieces, 15)), "✓ 4222  ✓ 8222");
        assert_eq!(text_of(&fit(&pieces, 12)), "✓ 4222 …");
    }

    #[test]
    fn free_text_keeps_whole_words() {
        let w = |width| text_of(&words("crash signal 9 (SIGKILL)", Style::default(), width));
        assert_eq!(w(30), "crash signal 9 (SIGKILL)");
        assert_eq!(w(13), "crash …");
        assert_eq!(w(16), "crash signal 9 …");
        assert_eq!(w(3), "…");
    }
}
