//! Structured log lines (zap, logrus, slog JSON) rendered readably; anything else goes through the ANSI path.
//!
//! `{"level":"info","ts":1732536000.123,"caller":"server/http.go:57","msg":"request handled","method":"GET"}`
//! becomes `12:00:00.123 INFO  request handled  method=GET (server/http.go:57)`.

use std::borrow::Cow;
use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::logs::ansi::{self, Segment, SgrColor, SgrStyle, is_safe_char};

const LEVEL_KEYS: [&str; 3] = ["level", "severity", "lvl"];
const TIME_KEYS: [&str; 4] = ["ts", "time", "timestamp", "@timestamp"];
const MESSAGE_KEYS: [&str; 2] = ["msg", "message"];
const CALLER_KEYS: [&str; 1] = ["caller"];

/// How a line is shown (times in UTC): rendered if it is a structured log line, else with
/// escapes neutralised.
pub fn render(raw: &str) -> Vec<Segment> {
    parse(raw).unwrap_or_else(|| ansi::segments(raw))
}

/// The text [`render`] shows, without styles (borrowed when the line needs no work).
pub fn display_text(raw: &str) -> Cow<'_, str> {
    if !raw.starts_with('{') && raw.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(ansi::text_of(&render(raw)))
    }
}

/// The style of a level: errors red, warnings yellow, info green, debug dim.
pub fn level_style(level: &str) -> SgrStyle {
    let fg = |c: u8| SgrStyle {
        fg: Some(SgrColor::Indexed(c)),
        ..SgrStyle::default()
    };
    match level.to_ascii_lowercase().as_str() {
        "error" | "err" | "fatal" | "panic" | "dpanic" | "critical" | "crit" | "alert"
        | "emergency" => SgrStyle {
            bold: true,
            ..fg(1)
        },
        "warn" | "warning" => fg(3),
        "info" | "notice" => fg(2),
        "debug" | "trace" => SgrStyle {
            dim: true,
            ..SgrStyle::default()
        },
        _ => SgrStyle::default(),
    }
}

/// The fields of a JSON object in the order they were written.
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry::<String, Value>()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(InOrder)
    }
}

/// Segments under construction; every char goes through [`is_safe_char`].
#[derive(Default)]
struct Out(Vec<Segment>);

impl Out {
    fn push(&mut self, text: &str, style: SgrStyle) {
        let clean = text.chars().filter(|&c| is_safe_char(c));
        match self.0.last_mut() {
            Some(last) if last.style == style => last.text.extend(clean),
            _ => {
                let text: String = clean.collect();
                if !text.is_empty() {
                    self.0.push(Segment { text, style });
                }
            }
        }
    }
}

/// A structured line: when it was written (drawn in the zone the user chose), and the rest
/// rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Structured {
    pub time: Option<Timestamp>,
    /// Everything after the time (an unreadable time string comes first, as written).
    pub segments: Vec<Segment>,
}

/// A structured line rendered with its time in UTC, or `None` if `raw` is not a JSON object
/// with a message.
pub fn parse(raw: &str) -> Option<Vec<Segment>> {
    let Structured { time, segments } = parse_structured(raw)?;
    let Some(time) = time else {
        return Some(segments);
    };
    let mut out = vec![Segment {
        text: clock(time, &TimeZone::UTC),
        style: SgrStyle {
            dim: true,
            ..SgrStyle::default()
        },
    }];
    if !segments.is_empty() {
        out.push(Segment {
            text: " ".into(),
            style: SgrStyle::default(),
        });
    }
    out.extend(segments);
    Some(out)
}

/// `HH:MM:SS.mmm` of `time` in `zone`.
pub fn clock(time: Timestamp, zone: &TimeZone) -> String {
    zone.to_datetime(time).strftime("%H:%M:%S%.3f").to_string()
}

/// A structured line taken apart, or `None` if `raw` is not a JSON object with a message.
pub fn parse_structured(raw: &str) -> Option<Structured> {
    let trimmed = raw.trim();
    if !trimmed.starts_with('{') || !trimmed.ends_with('}') {
        return None;
    }
    let Fields(mut fields) = serde_json::from_str(trimmed).ok()?;
    let mut take = |keys: &[&str]| {
        let i = fields
            .iter()
            .position(|(k, _)| keys.contains(&k.as_str()))?;
        Some(fields.remove(i).1)
    };
    let msg = take(&MESSAGE_KEYS)?;
    let level = take(&LEVEL_KEYS);
    let time = take(&TIME_KEYS);
    let caller = take(&CALLER_KEYS);

    let plain = SgrStyle::default();
    let dim = SgrStyle { dim: true, ..plain };
    let mut out = Out::default();
    let stamp = time.as_ref().and_then(timestamp);
    if stamp.is_none()
        && let Some(Value::String(written)) = &time
    {
        out.push(&ansi::plain(written), dim);
        out.push(" ", plain);
    }
    if let Some(level) = level.as_ref().and_then(level_name) {
        let name = match level.to_ascii_lowercase().as_str() {
            "warning" => "WARN".to_string(),
            _ => level.to_uppercase(),
        };
        out.push(&format!("{name:<5}"), level_style(&level));
        out.push(" ", plain);
    }
    let msg = match &msg {
        Value::String(s) => s.replace(['\n', '\r'], " "),
        other => other.to_string(),
    };
    out.push(&ansi::plain(&msg), plain);
    for (i, (key, value)) in fields.iter().enumerate() {
        out.push(if i == 0 { "  " } else { " " }, plain);
        out.push(&format!("{key}="), dim);
        out.push(&field_value(value), plain);
    }
    if let Some(caller) = caller {
        out.push(" ", plain);
        out.push(&format!("({})", field_value(&caller)), dim);
    }
    Some(Structured {
        time: stamp,
        segments: out.0,
    })
}

fn level_name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        // pino/bunyan numeric levels.
        Value::Number(n) => Some(
            match n.as_u64()? {
                0..=10 => "trace",
                11..=20 => "debug",
                21..=30 => "info",
                31..=40 => "warn",
                41..=50 => "error",
                _ => "fatal",
            }
            .to_string(),
        ),
        _ => None,
    }
}

/// A value as in `key=value`: bare if that reads unambiguously, else quoted with escapes.
fn field_value(v: &Value) -> String {
    match v {
        Value::String(s)
            if !s.is_empty()
                && s.chars()
                    .all(|c| is_safe_char(c) && !c.is_whitespace() && c != '"' && c != '=') =>
        {
            s.clone()
        }
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// When a line was written: epoch seconds/millis/micros/nanos, or an RFC 3339 string (also with
/// `+0800`-style offsets, as zap's ISO 8601 encoder writes them, and a space for `T`).
fn timestamp(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Number(n) => {
            let x = n.as_f64()?;
            // Magnitude tells the unit: seconds until ~5138 AD, then millis, micros, nanos.
            let millis = match x.abs() {
                a if a < 1e11 => x * 1e3,
                a if a < 1e14 => x,
                a if a < 1e17 => x / 1e3,
                _ => x / 1e6,
            };
            Timestamp::from_millisecond(millis.round() as i64).ok()
        }
        Value::String(s) => rfc3339(s),
        _ => None,
    }
}

/// An RFC 3339 instant, lenient about the `T` and the offset's colon.
fn rfc3339(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    let mut fixed = s.to_string();
    if fixed.as_bytes().get(10) == Some(&b' ') {
        fixed.replace_range(10..11, "T");
    }
    // `+0800` → `+08:00`.
    let b = fixed.as_bytes();
    if b.len() >= 5 {
        let tail = &b[b.len() - 5..];
        if matches!(tail[0], b'+' | b'-') && tail[1..].iter().all(u8::is_ascii_digit) {
            fixed.insert(fixed.len() - 2, ':');
        }
    }
    fixed.parse::<Timestamp>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        ansi::text_of(&render(raw))
    }

    #[test]
    fn zap_line_renders_readably() {
        let raw = r#"{"level":"info","ts":1732536000.123,"caller":"server/http.go:57","msg":"request handled","method":"GET","path":"/health"}"#;
        assert_eq!(
            text(raw),
            "12:00:00.123 INFO  request handled  method=GET path=/health (server/http.go:57)"
        );
        let segs = render(raw);
        assert_eq!(segs[0].text, "12:00:00.123");
        assert!(segs[0].style.dim);
        assert_eq!(segs[2].text, "INFO ");
        assert_eq!(segs[2].style.fg, Some(SgrColor::Indexed(2)));
    }

    #[test]
    fn variants_of_keys_and_times() {
        // logrus: time as RFC 3339 with an offset, message under "msg", fields sorted by logrus.
        let logrus = r#"{"level":"warning","msg":"slow query","table":"users","time":"2024-11-25T13:00:00.5+01:00"}"#;
        assert_eq!(text(logrus), "12:00:00.500 WARN  slow query  table=users");
        let severity = r#"{"severity":"ERROR","timestamp":"2024-11-25T12:00:00Z","message":"boom","err":"dial tcp: refused"}"#;
        assert_eq!(
            text(severity),
            r#"12:00:00.000 ERROR boom  err="dial tcp: refused""#
        );
        // Epoch millis and nanos.
        assert_eq!(text(r#"{"ts":1732536000123,"msg":"m"}"#), "12:00:00.123 m");
        assert_eq!(
            text(r#"{"ts":1732536000123456789,"msg":"m"}"#),
            "12:00:00.123 m"
        );
        // Nested values, numbers, and a value trying to smuggle an escape.
        assert_eq!(
            text(
                r#"{"msg":"x\u001b]0;pwned\u0007y","n":3,"ok":true,"obj":{"a":1},"evil":"\u001b[2J"}"#
            ),
            r#"xy  n=3 ok=true obj={"a":1} evil="\u{1b}[2J""#
        );
        // An unparseable time is shown as written.
        assert_eq!(text(r#"{"time":"yesterday","msg":"m"}"#), "yesterday m");
        // zap's ISO 8601 encoder: an offset without a colon.
        assert_eq!(
            text(r#"{"ts":"2026-12-01T22:00:31.123+0800","msg":"m"}"#),
            "14:00:31.123 m"
        );
        assert_eq!(
            text(r#"{"ts":"2026-12-01 22:00:31-0130","msg":"m"}"#),
            "23:30:31.000 m"
        );
    }

    #[test]
    fn times_are_drawn_in_the_chosen_zone() {
        let line = r#"{"level":"info","ts":"2026-12-01T22:00:31.123+0800","msg":"hello"}"#;
        let s = parse_structured(line).unwrap();
        let time = s.time.unwrap();
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(
            clock(time, &shanghai),
            "22:00:31.123",
            "the time as written"
        );
        assert_eq!(clock(time, &TimeZone::UTC), "14:00:31.123");
        assert_eq!(ansi::text_of(&s.segments), "INFO  hello");
    }

    #[test]
    fn levels_map_to_styles() {
        let red = level_style("error");
        assert_eq!(red.fg, Some(SgrColor::Indexed(1)));
        assert_eq!(level_style("FATAL"), red);
        assert_eq!(level_style("panic"), red);
        assert_eq!(level_style("warn").fg, Some(SgrColor::Indexed(3)));
        assert_eq!(level_style("warning").fg, Some(SgrColor::Indexed(3)));
        assert_eq!(level_style("info").fg, Some(SgrColor::Indexed(2)));
        let debug = level_style("debug");
        assert!(debug.dim && debug.fg.is_none());
        assert_eq!(level_style("whatever"), SgrStyle::default());
        // In a rendered line, the level segment carries the style.
        let segs = render(r#"{"level":"error","msg":"boom"}"#);
        assert_eq!(segs[0].text, "ERROR");
        assert_eq!(segs[0].style, red);
    }

    #[test]
    fn other_lines_pass_through() {
        assert!(parse("plain text").is_none());
        assert_eq!(text("plain text"), "plain text");
        // JSON without a message is not a log record: shown as written.
        let no_msg = r#"{"level":"info","ts":1}"#;
        assert!(parse(no_msg).is_none());
        assert_eq!(text(no_msg), no_msg);
        assert_eq!(text("{not json}"), "{not json}");
        assert_eq!(text("[1,2]"), "[1,2]");
        // Non-JSON lines still lose their escapes.
        assert_eq!(text("\x1b[31m{\x1b[0m"), "{");
        assert_eq!(display_text("\x1b[1mbold\x1b[0m"), "bold");
        assert!(matches!(display_text("plain"), Cow::Borrowed("plain")));
    }
}
