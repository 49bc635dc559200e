//! Zap production-style JSON log lines on stdout, queued to one writer thread so a slow or
//! closed stdout never blocks or crashes the servers.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Lines queued beyond this are dropped rather than buffered without bound.
const QUEUE_LINES: usize = 8192;

/// Zap level names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Fatal => "fatal",
        }
    }
}

/// One structured field value.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    /// Already-rendered JSON (an array, an object).
    Json(&'a str),
}

enum Msg {
    Line(String),
    Flush(SyncSender<()>),
}

/// Cheap to clone handle on the stdout writer thread.
#[derive(Clone)]
pub struct Logger {
    service: String,
    tx: SyncSender<Msg>,
}

impl Logger {
    /// Starts the writer thread; every line carries `"service": service`.
    pub fn start(service: &str) -> Self {
        let (tx, rx) = sync_channel(QUEUE_LINES);
        // If the thread cannot start, lines are dropped: logging is never worth dying for.
        let _ = std::thread::Builder::new()
            .name("zap-writer".into())
            .spawn(move || write_lines(rx));
        Self {
            service: service.to_owned(),
            tx,
        }
    }

    /// Queues one line; dropped if the writer is far behind.
    pub fn log(&self, level: Level, caller: &str, msg: &str, fields: &[(&str, Field<'_>)]) {
        let line = render_line(level, unix_now(), caller, msg, &self.service, fields);
        let _ = self.tx.try_send(Msg::Line(line));
    }

    pub fn info(&self, caller: &str, msg: &str, fields: &[(&str, Field<'_>)]) {
        self.log(Level::Info, caller, msg, fields);
    }

    /// Waits (at most `timeout`) until every queued line reached stdout.
    pub fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let (ack_tx, ack_rx) = sync_channel(1);
        let mut msg = Msg::Flush(ack_tx);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    msg = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return,
            }
        }
        let _ = ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

fn write_lines(rx: Receiver<Msg>) {
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    // Write errors (EPIPE when the reader went away) are ignored on purpose.
    let handle = |msg: Msg, out: &mut BufWriter<_>| match msg {
        Msg::Line(line) => {
            let _ = out.write_all(line.as_bytes());
        }
        Msg::Flush(ack) => {
            let _ = out.flush();
            let _ = ack.send(());
        }
    };
    while let Ok(msg) = rx.recv() {
        handle(msg, &mut out);
        while let Ok(more) = rx.try_recv() {
            handle(more, &mut out);
        }
        let _ = out.flush();
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One zap production JSON line (with trailing newline): level, ts, caller, msg, service,
/// the fields, and a stacktrace for error and fatal.
pub fn render_line(
    level: Level,
    ts_secs: f64,
    caller: &str,
    msg: &str,
    service: &str,
    fields: &[(&str, Field<'_>)],
) -> String {
    let mut line = String::with_capacity(160 + 24 * fields.len());
    let _ = write!(line, "{{\"level\":\"{}\",\"ts\":{ts_secs:.6}", level.name());
    for (key, value) in [
        ("caller", Field::Str(caller)),
        ("msg", Field::Str(msg)),
        ("service", Field::Str(service)),
    ]
    .iter()
    .chain(fields)
    {
        push_field(&mut line, key, *value);
    }
    if matches!(level, Level::Error | Level::Fatal) {
        let stack = format!("main.run\n\t/app/{caller}\nmain.main\n\t/app/cmd/server/main.go:31");
        push_field(&mut line, "stacktrace", Field::Str(&stack));
    }
    line.push_str("}\n");
    line
}

fn push_field(line: &mut String, key: &str, value: Field<'_>) {
    line.push(',');
    push_json_str(line, key);
    line.push(':');
    match value {
        Field::Str(s) => push_json_str(line, s),
        Field::Int(n) => {
            let _ = write!(line, "{n}");
        }
        Field::Float(x) if x.is_finite() => {
            let _ = write!(line, "{x}");
        }
        Field::Float(x) => push_json_str(line, &x.to_string()),
        Field::Json(raw) => line.push_str(raw),
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_zap_line_in_key_order() {
        let line = render_line(
            Level::Info,
            1732550000.123456,
            "server/http.go:57",
            "request handled",
            "auth-service",
            &[("status", Field::Int(200)), ("ports", Field::Json("[1,2]"))],
        );
        assert_eq!(
            line,
            "{\"level\":\"info\",\"ts\":1732550000.123456,\"caller\":\"server/http.go:57\",\
             \"msg\":\"request handled\",\"service\":\"auth-service\",\"status\":200,\"ports\":[1,2]}\n"
        );
    }

    #[test]
    fn error_lines_are_valid_json_with_stacktrace_and_escapes() {
        let line = render_line(
            Level::Error,
            1.5,
            "a.go:1",
            "boom \"quoted\"\n\u{1}",
            "s",
            &[("latency_ms", Field::Float(0.25))],
        );
        assert_eq!(line.matches('\n').count(), 1, "one physical line");
        let value: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(value["level"], "error");
        assert_eq!(value["msg"], "boom \"quoted\"\n\u{1}");
        assert_eq!(value["latency_ms"], 0.25);
        assert!(
            value["stacktrace"]
                .as_str()
                .is_some_and(|s| s.contains("a.go:1"))
        );
    }
}
