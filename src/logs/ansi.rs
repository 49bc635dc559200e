//! Neutralises terminal escapes in a child's output: SGR styles become data, every other control is dropped.
//!
//! A child can write anything, including sequences that would move our cursor, clear our
//! screen, retitle the window or set the clipboard. The raw text goes through `vte` (the
//! parser alacritty uses); only printable characters and the style of `CSI ... m` survive.

use vte::{Params, Parser, Perform};

/// A TAB advances to the next multiple of this many columns.
pub const TAB_WIDTH: usize = 4;

/// A colour as the child asked for it: 0–15 are the named colours, 16–255 the xterm palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SgrColor {
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// The style an SGR sequence set; plain data, mapped to the terminal's style by the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SgrStyle {
    pub fg: Option<SgrColor>,
    pub bg: Option<SgrColor>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub reverse: bool,
    pub crossed: bool,
}

/// A run of safe text in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub style: SgrStyle,
}

/// Whether `c` may be drawn: no C0/C1 control, no DEL, no bidi override or line separator.
pub fn is_safe_char(c: char) -> bool {
    !matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        // Bidi embeddings, overrides and isolates reorder what follows them on screen.
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}')
}

/// The line as styled segments; never contains an unsafe char (see [`is_safe_char`]).
pub fn segments(raw: &str) -> Vec<Segment> {
    segments_limited(raw, usize::MAX)
}

/// Like [`segments`], but stops after about `max_chars` visible characters (for drawing).
pub fn segments_limited(raw: &str, max_chars: usize) -> Vec<Segment> {
    if is_printable_ascii(raw) {
        return if raw.is_empty() {
            Vec::new()
        } else {
            let end = raw.len().min(max_chars);
            vec![Segment {
                text: raw[..end].to_string(),
                style: SgrStyle::default(),
            }]
        };
    }
    let mut sink = Sanitizer {
        out: Vec::new(),
        style: SgrStyle::default(),
        column: 0,
        max_chars,
    };
    let _ = Parser::new().advance_until_terminated(&mut sink, raw.as_bytes());
    sink.out
}

/// The visible text of the line without styles (for search and the exit reason).
pub fn plain(raw: &str) -> String {
    if is_printable_ascii(raw) {
        return raw.to_string();
    }
    text_of(&segments(raw))
}

/// The text of segments joined.
pub fn text_of(segments: &[Segment]) -> String {
    segments.iter().map(|s| s.text.as_str()).collect()
}

/// Nothing to neutralise: the common case, handled without the parser.
fn is_printable_ascii(raw: &str) -> bool {
    raw.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Collects printable text and SGR state; drops everything else the parser reports.
struct Sanitizer {
    out: Vec<Segment>,
    style: SgrStyle,
    /// Characters so far, for tab stops (wide characters count as one).
    column: usize,
    max_chars: usize,
}

impl Sanitizer {
    fn push(&mut self, c: char) {
        // The parser hands over a whole run of plain text before checking `terminated`.
        if self.column >= self.max_chars {
            return;
        }
        match self.out.last_mut() {
            Some(last) if last.style == self.style => last.text.push(c),
            _ => self.out.push(Segment {
                text: c.to_string(),
                style: self.style,
            }),
        }
        self.column += 1;
    }
}

impl Perform for Sanitizer {
    fn print(&mut self, c: char) {
        if is_safe_char(c) {
            self.push(c);
        }
    }

    fn execute(&mut self, byte: u8) {
        // Every C0/C1 control is dropped, except TAB which becomes spaces.
        if byte == b'\t' {
            let spaces = TAB_WIDTH - self.column % TAB_WIDTH;
            for _ in 0..spaces {
                self.push(' ');
            }
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, action: char) {
        // Private (`CSI ? ... m`) and intermediate forms are not SGR.
        if action == 'm' && intermediates.is_empty() {
            apply_sgr(&mut self.style, params);
        }
    }

    fn terminated(&self) -> bool {
        self.column >= self.max_chars
    }
}

/// Apply one `CSI ... m`, in both the `38;5;n` and the `38:5:n` forms.
fn apply_sgr(style: &mut SgrStyle, params: &Params) {
    let mut it = params.iter();
    if params.is_empty() {
        *style = SgrStyle::default();
    }
    while let Some(p) = it.next() {
        match p[0] {
            0 => *style = SgrStyle::default(),
            1 => style.bold = true,
            2 => style.dim = true,
            3 => style.italic = true,
            4 => style.underline = p.get(1).is_none_or(|&kind| kind != 0),
            7 => style.reverse = true,
            9 => style.crossed = true,
            21 => style.underline = true,
            22 => (style.bold, style.dim) = (false, false),
            23 => style.italic = false,
            24 => style.underline = false,
            27 => style.reverse = false,
            29 => style.crossed = false,
            n @ 30..=37 => style.fg = Some(SgrColor::Indexed((n - 30) as u8)),
            38 => style.fg = extended_color(p, &mut it).or(style.fg),
            39 => style.fg = None,
            n @ 40..=47 => style.bg = Some(SgrColor::Indexed((n - 40) as u8)),
            48 => style.bg = extended_color(p, &mut it).or(style.bg),
            49 => style.bg = None,
            // Underline colour: not shown, but its arguments must be consumed.
            58 => {
                extended_color(p, &mut it);
            }
            n @ 90..=97 => style.fg = Some(SgrColor::Indexed((n - 90 + 8) as u8)),
            n @ 100..=107 => style.bg = Some(SgrColor::Indexed((n - 100 + 8) as u8)),
            // Blink, hidden (never hide log text), fonts, frames: ignored.
            _ => {}
        }
    }
}

/// `38;5;n`, `38;2;r;g;b`, `38:5:n`, `38:2:r:g:b` or `38:2:cs:r:g:b`.
fn extended_color<'a>(p: &[u16], rest: &mut impl Iterator<Item = &'a [u16]>) -> Option<SgrColor> {
    let byte = |v: Option<u16>| v.and_then(|v| u8::try_from(v).ok());
    if p.len() > 1 {
        return match p[1] {
            5 => byte(p.get(2).copied()).map(SgrColor::Indexed),
            2 => {
                let rgb = if p.len() >= 6 { &p[3..6] } else { &p[2..] };
                match rgb {
                    [r, g, b, ..] => Some(SgrColor::Rgb(
                        byte(Some(*r))?,
                        byte(Some(*g))?,
                        byte(Some(*b))?,
                    )),
                    _ => None,
                }
            }
            _ => None,
        };
    }
    let mut next = || rest.next().map(|s| s[0]);
    match next()? {
        5 => byte(next()).map(SgrColor::Indexed),
        2 => {
            let (r, g, b) = (byte(next()), byte(next()), byte(next()));
            Some(SgrColor::Rgb(r?, g?, b?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str, style: SgrStyle) -> Segment {
        Segment {
            text: text.to_string(),
            style,
        }
    }

    fn fg(c: SgrColor) -> SgrStyle {
        SgrStyle {
            fg: Some(c),
            ..SgrStyle::default()
        }
    }

    #[test]
    fn sgr_colours_and_attributes_become_styles() {
        let red = fg(SgrColor::Indexed(1));
        assert_eq!(
            segments("a\x1b[31mred\x1b[0mb"),
            vec![
                seg("a", SgrStyle::default()),
                seg("red", red),
                seg("b", SgrStyle::default())
            ]
        );
        let bold = SgrStyle {
            bold: true,
            ..SgrStyle::default()
        };
        assert_eq!(
            segments("\x1b[1mB\x1b[22mn"),
            vec![seg("B", bold), seg("n", SgrStyle::default())]
        );
        assert_eq!(
            segments("\x1b[38;5;208mo"),
            vec![seg("o", fg(SgrColor::Indexed(208)))]
        );
        assert_eq!(
            segments("\x1b[38:5:208mo"),
            vec![seg("o", fg(SgrColor::Indexed(208)))]
        );
        let rgb = fg(SgrColor::Rgb(10, 20, 30));
        assert_eq!(segments("\x1b[38;2;10;20;30mt"), vec![seg("t", rgb)]);
        assert_eq!(segments("\x1b[38:2::10:20:30mt"), vec![seg("t", rgb)]);
        assert_eq!(
            segments("\x1b[92mg"),
            vec![seg("g", fg(SgrColor::Indexed(10)))]
        );
        // Combined, then a bare reset.
        let combo = SgrStyle {
            fg: Some(SgrColor::Indexed(3)),
            bg: Some(SgrColor::Indexed(4)),
            bold: true,
            dim: true,
            italic: true,
            underline: true,
            reverse: true,
            crossed: false,
        };
        assert_eq!(
            segments("\x1b[1;2;3;4;7;33;44mx\x1b[my"),
            vec![seg("x", combo), seg("y", SgrStyle::default())]
        );
        // 256-colour background followed by a plain attribute in the same sequence.
        let bg = SgrStyle {
            bg: Some(SgrColor::Indexed(17)),
            italic: true,
            ..SgrStyle::default()
        };
        assert_eq!(segments("\x1b[48;5;17;3mz"), vec![seg("z", bg)]);
    }

    #[test]
    fn every_other_escape_is_removed_and_text_survives() {
        let cases = [
            ("\x1b[2Jcleared", "cleared"),
            ("a\x1b[10;20Hb", "ab"),
            ("up\x1b[Adown\x1b[3B\x1b[5C\x1b[D", "updown"),
            ("erase\x1b[K\x1b[2K", "erase"),
            ("\x1b]0;pwned\x07title", "title"),
            ("\x1b]2;pwned\x1b\\title", "title"),
            ("clip\x1b]52;c;ZXZpbA==\x07board", "clipboard"),
            ("clip\x1b]52;c;ZXZpbA==\x1b\\board", "clipboard"),
            (
                "\x1b]8;;https://evil.example\x1b\\link text\x1b]8;;\x1b\\",
                "link text",
            ),
            ("\x1bPq#0;2;0;0;0#1~~\x1b\\sixel", "sixel"),
            ("\x1b_Gf=100;AAAA\x1b\\apc\x1b^pm\x1b\\", "apc"),
            // A bare ESC takes the next byte with it, as it would in a terminal.
            ("bare\x1b\x1bZ escape\x1b", "bare escape"),
            ("bell\x07", "bell"),
            ("back\x08\x08space", "backspace"),
            ("10%\r20%", "10%20%"),
            ("nul\0byte\x7f", "nulbyte"),
            ("c1\u{9b}31mcsi\u{9d}", "c131mcsi"),
            ("\x1b[?1049h\x1b[?25lalt", "alt"),
            ("bidi\u{202e}txt.exe", "biditxt.exe"),
        ];
        for (raw, want) in cases {
            assert_eq!(plain(raw), want, "{raw:?}");
            assert!(!plain(raw).contains('\x1b'));
        }
    }

    #[test]
    fn tabs_expand_to_the_next_stop() {
        assert_eq!(plain("\tat main.go:12"), "    at main.go:12");
        assert_eq!(plain("ab\tc"), "ab  c");
        assert_eq!(plain("abcd\tc\x1b[1m\tX"), "abcd    c   X");
    }

    #[test]
    fn limited_output_stops_early() {
        let long = format!("\x1b[31m{}", "x".repeat(10_000));
        let segs = segments_limited(&long, 100);
        assert_eq!(text_of(&segs).chars().count(), 100);
        assert_eq!(segments_limited("plain ascii", 5)[0].text, "plain");
    }

    #[test]
    fn random_bytes_never_yield_controls() {
        // xorshift64*: deterministic, no crate needed.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        // Bytes biased towards the interesting ones: ESC, [, ], digits, ;, controls, C1.
        const ALPHABET: &[u8] = b"\x1b\x1b\x1b[[]];;0123456789mHJK\x07\x08\t\r\n\x00\x7fP\\^_X ab\xc2\x9b\x9d\xe2\x80\xae";
        let mut produced = 0;
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        (r >> 8) as u8
                    } else {
                        ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                    }
                })
                .collect();
            let raw = String::from_utf8_lossy(&bytes);
            for s in segments(&raw) {
                assert!(!s.text.is_empty());
                assert!(
                    s.text.chars().all(is_safe_char),
                    "{raw:?} gave {:?}",
                    s.text
                );
                produced += s.text.len();
            }
        }
        // The generator is not degenerate: text did come out.
        assert!(produced > 10_000);
    }
}
