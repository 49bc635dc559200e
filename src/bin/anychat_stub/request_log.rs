//! Request log lines in the shape AnyChat's own middleware writes them: gRPC
//! `"gRPC request completed"` / `"gRPC request failed"` (method, duration in seconds, status)
//! and HTTP `"HTTP Request"` (method, path, status, cost in seconds, as zap encodes durations).

use std::time::Duration;

use crate::registry::grpc_code_name;
use crate::shared::Shared;
use crate::zap_log::{Field, Level};

/// The gRPC interceptor's line for one finished call (`code` 0 = OK).
pub fn log_grpc(shared: &Shared, full_method: &str, code: i32, elapsed: Duration) {
    let status = grpc_code_name(code);
    let duration = round6(elapsed.as_secs_f64());
    let mut fields = vec![
        ("method", Field::Str(full_method)),
        ("duration", Field::Float(duration)),
        ("status", Field::Str(status)),
    ];
    let error;
    let (level, msg) = if code == 0 {
        (Level::Info, "gRPC request completed")
    } else {
        error = format!("rpc error: code = {status} desc = {}", describe(code));
        fields.push(("error", Field::Str(&error)));
        (Level::Error, "gRPC request failed")
    };
    shared
        .log
        .log(level, "interceptor/logging.go:35", msg, &fields);
}

/// The HTTP middleware's line for one answered request.
pub fn log_http(
    shared: &Shared,
    method: &str,
    path: &str,
    status: u16,
    elapsed: Duration,
    ip: &str,
    error: Option<&str>,
) {
    let cost = round6(elapsed.as_secs_f64());
    let mut fields = vec![
        ("method", Field::Str(method)),
        ("path", Field::Str(path)),
        ("status", Field::Int(i64::from(status))),
        ("cost", Field::Float(cost)),
        ("ip", Field::Str(ip)),
    ];
    if let Some(error) = error {
        fields.push(("error", Field::Str(error)));
    }
    let level = match status {
        500.. => Level::Error,
        400.. => Level::Warn,
        _ => Level::Info,
    };
    shared
        .log
        .log(level, "middleware/logger.go:28", "HTTP Request", &fields);
}

fn describe(code: i32) -> &'static str {
    match code {
        5 => "record not found",
        13 => "internal error",
        14 => "connection error",
        4 => "context deadline exceeded",
        _ => "request failed",
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
