//! Request facts read from AnyChat's zap JSON lines: gRPC `"gRPC request completed"` /
//! `"gRPC request failed"` (`method`, `duration` in seconds, `status`) and HTTP
//! `"HTTP Request"` (`method`, `path`, `status`, `cost`).

use serde::Deserialize;
use serde_json::Value;

use super::go_duration::parse_go_duration;

/// Which middleware logged the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Grpc,
    Http,
}

/// One served request, as its log line tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub proto: Proto,
    /// gRPC full method, or `"GET /api/v1/users/:id"` (ids folded so routes stay few).
    pub method: String,
    /// Handling time; `None` when the line had none we could read.
    pub seconds: Option<f64>,
    /// gRPC status other than OK (or "request failed"); HTTP 5xx.
    pub error: bool,
}

/// A line that should have been a zap line or a request line, but was not readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Starts like JSON but does not parse (truncated, cut at 64 KiB, garbage).
    NotJson,
    /// A request message without a usable `method` or `status`.
    MissingField,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    msg: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    duration: Option<Value>,
    #[serde(default)]
    cost: Option<Value>,
}

/// Reads one log line: `Ok(Some)` for a request, `Ok(None)` for any other line (plain text
/// included), `Err` for a broken JSON line or a request line missing its fields.
pub fn parse_request(line: &str) -> Result<Option<Request>, Malformed> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return Ok(None);
    }
    // Cheap filter before the JSON parse: most lines are not request lines.
    if !(trimmed.contains("gRPC request") || trimmed.contains("HTTP Request")) {
        return serde_json::from_str::<serde::de::IgnoredAny>(trimmed)
            .map(|_| None)
            .map_err(|_| Malformed::NotJson);
    }
    let parsed: Line = serde_json::from_str(trimmed).map_err(|_| Malformed::NotJson)?;
    let Some(msg) = parsed.msg.as_deref() else {
        return Ok(None);
    };
    let method = parsed.method.filter(|m| !m.is_empty());
    match msg {
        "gRPC request completed" | "gRPC request failed" => {
            let method = method.ok_or(Malformed::MissingField)?;
            let ok = match &parsed.status {
                Some(Value::String(s)) => s == "OK" || s == "0",
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                None if msg.ends_with("completed") => true,
                _ => false,
            };
            Ok(Some(Request {
                proto: Proto::Grpc,
                method,
                seconds: parsed.duration.as_ref().and_then(seconds),
                error: msg.ends_with("failed") || !ok,
            }))
        }
        "HTTP Request" => {
            let method = method.ok_or(Malformed::MissingField)?;
            let status = match &parsed.status {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            }
            .filter(|s| (100..1000).contains(s))
            .ok_or(Malformed::MissingField)?;
            let path = parsed.path.as_deref().map_or("-".into(), fold_ids);
            Ok(Some(Request {
                proto: Proto::Http,
                method: format!("{method} {path}"),
                seconds: parsed.cost.as_ref().and_then(seconds),
                error: status >= 500,
            }))
        }
        _ => Ok(None),
    }
}

/// A duration field: a number of seconds (zap's production encoder) or a Go duration string.
fn seconds(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite() && *x >= 0.0),
        Value::String(s) => parse_go_duration(s).map(|d| d.as_secs_f64()),
        _ => None,
    }
}

/// `/api/v1/users/1234/messages/7f9c…` → `/api/v1/users/:id/messages/:id`; the query is dropped.
pub fn fold_ids(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.split('/')
        .map(|seg| {
            let digits = seg.bytes().filter(u8::is_ascii_digit).count();
            let hexish = seg.len() >= 16 && seg.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-');
            if (!seg.is_empty() && digits == seg.len()) || hexish {
                ":id"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
#[path = "zap_tests.rs"]
mod tests;
