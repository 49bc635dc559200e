//! The logs panel: output of the selected supervised service, or of all services merged.
//!
//! Only the visible lines are rendered (escapes neutralised, zap lines formatted) per frame.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::logs::ansi::{SgrColor, SgrStyle};
use crate::logs::search::find;
use crate::logs::{LogScroll, LogSearch, LogStore, LogView, StoredLine, zap};
use crate::message::MAX_LINE_BYTES;
use crate::plan::{EntryId, Plan};
use crate::state::Severity;
use crate::view::theme::Theme;
use jiff::tz::TimeZone;

/// Widest service-name column in the merged view.
const MAX_NAME_WIDTH: usize = 16;
/// Colours that tell services apart in the merged view (no red: that means errors).
const SERVICE_COLORS: [Color; 6] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::LightCyan,
];

/// Input of the logs panel.
pub struct LogsPanel<'a> {
    pub store: &'a LogStore,
    pub plan: &'a Plan,
    pub view: LogView,
    pub scroll: LogScroll,
    /// The search in force, already refreshed against `store`.
    pub search: Option<&'a LogSearch>,
    pub focused: bool,
    pub theme: Theme,
    /// The zone times are drawn in, and its name for the title.
    pub zone: &'a TimeZone,
    pub zone_label: &'a str,
}

impl LogsPanel<'_> {
    fn name(&self, id: EntryId) -> &str {
        self.plan.entries.get(id.0).map_or("?", |e| e.name.as_str())
    }

    fn title(&self, height: usize) -> Line<'static> {
        let t = self.theme;
        let name = match self.view {
            LogView::Entry(id) => self.name(id).to_string(),
            LogView::Merged => "all services".to_string(),
        };
        let mut spans = vec![Span::raw(format!(" Logs: {name} · {} · ", self.zone_label))];
        spans.push(match self.scroll {
            LogScroll::Follow => Span::styled("follow", t.accent()),
            LogScroll::At { .. } => {
                let below = self.scroll.below(self.store, self.view, height);
                Span::styled(format!("scrolled, {below} below"), t.header())
            }
        });
        if let Some(s) = self.search.filter(|s| !s.needle.is_empty()) {
            let n = s.count();
            let word = if n == 1 { "match" } else { "matches" };
            spans.push(Span::raw(format!(" · /{} {n} {word}", s.needle)));
        }
        let dropped = self.store.counts(self.view).dropped();
        if dropped > 0 {
            spans.push(Span::raw(" · "));
            spans.push(Span::styled(
                format!("{dropped} dropped"),
                t.severity(Severity::Warning),
            ));
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }

    /// One stored line as spans, cut to `width` columns (the buffer clips wide chars).
    fn line(&self, line: &StoredLine, width: usize, name_width: usize) -> Line<'static> {
        let t = self.theme;
        let mut spans = Vec::new();
        if self.view == LogView::Merged {
            let name: String = self.name(line.entry).chars().take(name_width).collect();
            spans.push(Span::styled(
                format!("{name:<name_width$} "),
                service_style(&name, t),
            ));
        }
        let shown = line.shown();
        if let Some(time) = shown.time {
            spans.push(Span::styled(zap::clock(time, self.zone), t.dim()));
            spans.push(Span::raw(" "));
        }
        let text = shown.text(&line.text);
        // Enough characters to fill the row, whatever their width.
        let budget = 2 * width + 16;
        let end = text
            .char_indices()
            .nth(budget)
            .map_or(text.len(), |(i, _)| i);
        let needle = self.search.map_or("", |s| s.needle.as_str());
        let matches = find(text, needle);
        for (run, style) in shown.runs(&line.text) {
            if run.start >= end {
                break;
            }
            let run = run.start..run.end.min(end);
            let base = sgr_style(style, t);
            for (piece, hit) in split_at_matches(text, run, &matches) {
                let style = if hit {
                    base.add_modifier(Modifier::REVERSED)
                } else {
                    base
                };
                spans.push(Span::styled(piece.to_string(), style));
            }
        }
        Line::from(spans)
    }
}

/// The bytes `run` of `text` in pieces, each inside or outside a match.
fn split_at_matches<'t>(
    text: &'t str,
    run: std::ops::Range<usize>,
    matches: &[std::ops::Range<usize>],
) -> Vec<(&'t str, bool)> {
    let (at, end) = (run.start, run.end);
    let mut pieces = Vec::new();
    let mut pos = at;
    for m in matches.iter().filter(|m| m.start < end && m.end > at) {
        let (s, e) = (m.start.max(at), m.end.min(end));
        if s > pos {
            pieces.push((&text[pos..s], false));
        }
        pieces.push((&text[s..e], true));
        pos = e;
    }
    if pos < end {
        pieces.push((&text[pos..end], false));
    }
    pieces
}

/// The terminal style of a child's SGR style; colours only when the theme has them.
fn sgr_style(s: SgrStyle, theme: Theme) -> Style {
    let mut style = Style::default();
    if theme.color {
        if let Some(c) = s.fg {
            style = style.fg(color(c));
        }
        if let Some(c) = s.bg {
            style = style.bg(color(c));
        }
    }
    let flags = [
        (s.bold, Modifier::BOLD),
        (s.dim, Modifier::DIM),
        (s.italic, Modifier::ITALIC),
        (s.underline, Modifier::UNDERLINED),
        (s.reverse, Modifier::REVERSED),
        (s.crossed, Modifier::CROSSED_OUT),
    ];
    for (on, m) in flags {
        if on {
            style = style.add_modifier(m);
        }
    }
    style
}

fn color(c: SgrColor) -> Color {
    const NAMED: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match c {
        SgrColor::Indexed(n) => NAMED
            .get(usize::from(n))
            .copied()
            .unwrap_or(Color::Indexed(n)),
        SgrColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// A colour per service that stays the same from run to run (FNV-1a of the name).
fn service_style(name: &str, theme: Theme) -> Style {
    if !theme.color {
        return Style::default();
    }
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Style::default().fg(SERVICE_COLORS[(hash % SERVICE_COLORS.len() as u64) as usize])
}

impl Widget for &LogsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(self.focused));
        if self.store.is_empty(self.view) && self.store.counts(self.view).dropped() == 0 {
            let name = match self.view {
                LogView::Entry(id) => self.name(id),
                LogView::Merged => "all services",
            };
            Paragraph::new(Line::from(Span::styled(
                "no output captured: anychat-top shows the logs of the services it starts",
                t.dim(),
            )))
            .block(block.title(format!(" Logs: {name} ")))
            .render(area, buf);
            return;
        }
        let inner = block.inner(area);
        let height = usize::from(inner.height);
        block.title(self.title(height)).render(area, buf);
        let name_width = self
            .plan
            .entries
            .iter()
            .map(|e| e.name.chars().count())
            .max()
            .unwrap_or(0)
            .min(MAX_NAME_WIDTH);
        let marker = format!("…[cut at {} KiB]", MAX_LINE_BYTES / 1024);
        let marker_width = marker.chars().count() as u16;
        let window = self.scroll.window(self.store, self.view, height);
        for (row, index) in window.enumerate() {
            let Some(line) = self.store.get(self.view, index) else {
                break;
            };
            let y = inner.y + row as u16;
            let mut text_area = Rect::new(inner.x, y, inner.width, 1);
            if line.truncated && inner.width > marker_width {
                // The marker stays visible at the right edge: a cut line is always wider than the panel.
                text_area.width -= marker_width;
                let mark = Rect::new(text_area.right(), y, marker_width, 1);
                Span::styled(marker.as_str(), t.severity(Severity::Warning)).render(mark, buf);
            }
            self.line(line, usize::from(text_area.width), name_width)
                .render(text_area, buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::message::{LogLine, Stream};
    use crate::plan::{Entry, EntryKind, RestartPolicy};

    const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
    const AUTH: EntryId = EntryId(0);
    const GATEWAY: EntryId = EntryId(1);

    fn plan() -> Plan {
        let entry = |name: &str| Entry {
            name: name.to_string(),
            kind: EntryKind::Service,
            group: "core".into(),
            description: String::new(),
            command: vec![format!("./bin/{name}")],
            cwd: None,
            env: BTreeMap::new(),
            depends_on: Vec::new(),
            required: true,
            restart: RestartPolicy::Never,
            stop_grace: Duration::from_secs(5),
            ready_timeout: Duration::from_secs(30),
            container: None,
            runs: crate::plan::Runs::Process,
            targets: Vec::new(),
            source: PathBuf::from("services/demo.toml"),
            host: "127.0.0.1".to_string(),
            not_startable: None,
        };
        Plan {
            entries: vec![entry("auth-service"), entry("gateway-service")],
            targets: Vec::new(),
        }
    }

    fn lines(texts: impl IntoIterator<Item = String>) -> Vec<LogLine> {
        texts
            .into_iter()
            .map(|text| LogLine {
                stream: Stream::Stderr,
                text,
                truncated: false,
            })
            .collect()
    }

    /// A zap line `i` quarter-seconds after 12:00:00 UTC.
    fn zap_line(i: usize) -> String {
        let (level, msg, extra) = match i % 7 {
            0 => (
                "warn",
                "slow query",
                r#","table":"users","elapsed":"212ms""#,
            ),
            3 => (
                "error",
                "token verify failed",
                r#","error":"token expired""#,
            ),
            5 => ("debug", "cache hit", r#","key":"session:42""#),
            _ => (
                "info",
                "request handled",
                r#","method":"GET","path":"/health""#,
            ),
        };
        format!(
            r#"{{"level":"{level}","ts":{}.{:03},"caller":"server/http.go:{}","msg":"{msg}"{extra}}}"#,
            1_732_536_000 + i / 4,
            (i % 4) * 250,
            50 + i % 9
        )
    }

    fn panel<'a>(store: &'a LogStore, plan: &'a Plan, view: LogView) -> LogsPanel<'a> {
        LogsPanel {
            store,
            plan,
            view,
            scroll: LogScroll::Follow,
            search: None,
            focused: true,
            theme: Theme { color: true },
            zone: &UTC,
            zone_label: "UTC",
        }
    }

    static UTC: TimeZone = TimeZone::UTC;

    fn draw(p: &LogsPanel, (w, h): (u16, u16)) -> (Buffer, String) {
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        p.render(buf.area, &mut buf);
        let mut text = String::new();
        for y in 0..h {
            let row: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
            text.push_str(row.trim_end());
            text.push('\n');
        }
        (buf, text)
    }

    #[test]
    fn follow_mode_shows_the_newest_zap_lines() {
        let plan = plan();
        let mut store = LogStore::new(2, 1000);
        store.push(AUTH, lines((0..60).map(zap_line)), 0);
        for size in SIZES {
            let (_, text) = draw(&panel(&store, &plan, LogView::Entry(AUTH)), size);
            assert!(
                text.contains(" Logs: auth-service · UTC · follow "),
                "{text}"
            );
            // The newest line (59: 12:00:14.750) is on the last row inside the border.
            let rows: Vec<&str> = text.lines().collect();
            assert!(
                rows[rows.len() - 2].contains("12:00:14.750 ERROR token verify failed"),
                "{text}"
            );
            insta::assert_snapshot!(format!("follow_zap_{}x{}", size.0, size.1), text);
        }
    }

    #[test]
    fn times_are_drawn_in_the_zone_given_with_its_name() {
        let plan = plan();
        let mut store = LogStore::new(2, 1000);
        let line = r#"{"level":"info","ts":"2026-12-01T22:00:31.123+0800","msg":"hello"}"#;
        store.push(AUTH, lines([line.to_string()]), 0);
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        let mut p = panel(&store, &plan, LogView::Entry(AUTH));
        p.zone = &shanghai;
        p.zone_label = "CST";
        let (_, text) = draw(&p, (80, 6));
        assert!(
            text.contains(" Logs: auth-service · CST · follow "),
            "{text}"
        );
        assert!(
            text.contains("│22:00:31.123 INFO  hello"),
            "as written: {text}"
        );
        let (_, text) = draw(&panel(&store, &plan, LogView::Entry(AUTH)), (80, 6));
        assert!(text.contains("│14:00:31.123 INFO  hello"), "in UTC: {text}");
    }

    #[test]
    fn merged_view_names_each_service() {
        let plan = plan();
        let mut store = LogStore::new(2, 1000);
        for i in 0..30 {
            store.push(AUTH, lines([zap_line(i)]), 0);
            if i % 3 == 0 {
                store.push(
                    GATEWAY,
                    lines([format!("GET /api/v1/users/{i} 200 {}µs", 300 + i)]),
                    0,
                );
            }
        }
        for size in SIZES {
            let (buf, text) = draw(&panel(&store, &plan, LogView::Merged), size);
            assert!(
                text.contains(" Logs: all services · UTC · follow "),
                "{text}"
            );
            assert!(
                text.contains("│gateway-service GET /api/v1/users/27 200 327µs"),
                "{text}"
            );
            assert!(
                text.contains("│auth-service    12:00:07.250 INFO  request handled"),
                "{text}"
            );
            // Each service's name keeps one colour.
            let name_color = |row: &str| {
                let y = text.lines().position(|l| l.contains(row)).unwrap() as u16;
                buf[(1, y)].fg
            };
            assert_ne!(
                name_color("gateway-service GET"),
                name_color("auth-service    12")
            );
            insta::assert_snapshot!(format!("merged_{}x{}", size.0, size.1), text);
        }
    }

    #[test]
    fn search_highlights_matches_reversed() {
        let plan = plan();
        let mut store = LogStore::new(2, 1000);
        store.push(AUTH, lines((0..30).map(zap_line)), 0);
        let mut search = LogSearch::new(LogView::Entry(AUTH), "expired");
        search.refresh(&store);
        assert_eq!(search.count(), 4);
        for size in SIZES {
            let mut p = panel(&store, &plan, LogView::Entry(AUTH));
            p.search = Some(&search);
            p.theme = Theme { color: false };
            let (buf, text) = draw(&p, size);
            assert!(text.contains("· /expired 4 matches"), "{text}");
            let rows: Vec<&str> = text.lines().collect();
            let y = rows.iter().rposition(|l| l.contains("expired")).unwrap();
            let row = rows[y];
            let y = y as u16;
            let x = row[..row.find("expired").unwrap()].chars().count() as u16;
            for dx in 0..7 {
                assert!(buf[(x + dx, y)].modifier.contains(Modifier::REVERSED));
            }
            assert!(!buf[(x - 2, y)].modifier.contains(Modifier::REVERSED));
            assert!(!buf[(x + 7, y)].modifier.contains(Modifier::REVERSED));
            insta::assert_snapshot!(format!("search_{}x{}", size.0, size.1), text);
        }
    }

    #[test]
    fn escapes_never_reach_the_screen() {
        let plan = plan();
        let mut store = LogStore::new(2, 1000);
        let hostile = [
            "\x1b[2J\x1b[Hcleared the screen?",
            "\x1b]0;pwned\x07title set?\x1b]52;c;ZXZpbA==\x07 clipboard set?",
            "\x1b[31mred\x1b[0m \x1b[1;38;5;208mbold orange\x1b[0m \x1b[38;2;0;255;0mgreen\x1b[m",
            "progress 10%\rprogress 20%\x08\x08\x1b[10;20H\x1b[A\x1b[K done",
            "\x1b]8;;https://example.com\x1b\\a link\x1b]8;;\x1b\\ \u{9b}31m c1\ttab\x07",
        ];
        store.push(AUTH, lines(hostile.iter().map(|s| s.to_string())), 0);
        for size in SIZES {
            let (buf, text) = draw(&panel(&store, &plan, LogView::Entry(AUTH)), size);
            for cell in buf.content() {
                assert!(
                    cell.symbol().chars().all(crate::logs::ansi::is_safe_char),
                    "{:?}",
                    cell.symbol()
                );
            }
            assert!(!text.contains('\x1b'));
            assert!(text.contains("red bold orange green"), "{text}");
            let red = text.lines().position(|l| l.contains("red bold")).unwrap() as u16;
            assert_eq!(buf[(1, red)].fg, Color::Red);
            insta::assert_snapshot!(format!("escapes_{}x{}", size.0, size.1), text);
        }
    }

    #[test]
    fn dropped_lines_and_cut_lines_are_told() {
        let plan = plan();
        let mut store = LogStore::new(2, 20);
        store.push(AUTH, lines((0..25).map(|i| format!("line {i}"))), 1000);
        store.push(
            AUTH,
            vec![LogLine {
                stream: Stream::Stdout,
                text: "x".repeat(MAX_LINE_BYTES),
                truncated: true,
            }],
            0,
        );
        // 1000 lost upstream + 6 pushed out of the 20-line ring.
        assert_eq!(store.dropped(AUTH), 1006);
        for size in SIZES {
            let (_, text) = draw(&panel(&store, &plan, LogView::Entry(AUTH)), size);
            assert!(text.contains(" · 1006 dropped "), "{text}");
            assert!(text.contains("xxx…[cut at 64 KiB]│"), "{text}");
            insta::assert_snapshot!(format!("dropped_{}x{}", size.0, size.1), text);
        }
    }

    #[test]
    fn scrolled_mode_holds_a_window() {
        let plan = plan();
        let mut store = LogStore::new(2, 1000);
        store.push(AUTH, lines((0..100).map(|i| format!("line {i}"))), 0);
        let mut p = panel(&store, &plan, LogView::Entry(AUTH));
        p.scroll = LogScroll::At { top: 10 };
        let (_, text) = draw(&p, (80, 24));
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].contains("scrolled, 68 below"), "{text}");
        assert!(rows[1].starts_with("│line 10 "), "{text}");
        assert!(rows[22].starts_with("│line 31 "), "{text}");
    }

    #[test]
    fn empty_view_keeps_the_placeholder_and_no_color_drops_colours() {
        let plan = plan();
        let store = LogStore::new(2, 1000);
        let (_, text) = draw(&panel(&store, &plan, LogView::Entry(GATEWAY)), (80, 5));
        assert!(text.contains(" Logs: gateway-service "), "{text}");
        assert!(text.contains("no output captured"), "{text}");
        let red_bold = SgrStyle {
            fg: Some(SgrColor::Indexed(1)),
            bold: true,
            ..SgrStyle::default()
        };
        assert_eq!(
            sgr_style(red_bold, Theme { color: true }).fg,
            Some(Color::Red)
        );
        let plain = sgr_style(red_bold, Theme { color: false });
        assert_eq!(plain.fg, None);
        assert!(plain.add_modifier.contains(Modifier::BOLD));
        assert_eq!(color(SgrColor::Indexed(200)), Color::Indexed(200));
    }
}
