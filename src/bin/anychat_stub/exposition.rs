//! Renders the /metrics body in the Prometheus text format 0.0.4, laid out like client_golang:
//! families sorted by name, HELP and TYPE lines, Go float formatting.

use std::fmt::Write as _;

use crate::go_runtime::{GC_QUANTILES, GoSample, ProcessSample};
use crate::registry::{BUCKETS_SECONDS, Series};

/// Content-Type of the body [`render`] produces.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// What `go_info{version}` claims.
const GO_VERSION: &str = "go1.22.5";

/// Everything one scrape shows.
pub struct Snapshot<'a> {
    pub series: &'a Series,
    pub go: &'a GoSample,
    pub process: &'a ProcessSample,
    pub start_time_seconds: f64,
}

/// The whole exposition body.
pub fn render(s: &Snapshot<'_>) -> String {
    let mut out = Text(String::with_capacity(12 * 1024));
    let go = s.go;
    out.family(
        "go_gc_duration_seconds",
        "A summary of the pause duration of garbage collection cycles.",
        "summary",
    );
    for (q, v) in GC_QUANTILES.iter().zip(go.gc_quantiles) {
        out.sample("go_gc_duration_seconds", &[("quantile", q)], v);
    }
    out.sample("go_gc_duration_seconds_sum", &[], go.gc_sum_seconds);
    out.sample("go_gc_duration_seconds_count", &[], go.gc_count as f64);
    out.single(
        "go_goroutines",
        "Number of goroutines that currently exist.",
        "gauge",
        go.goroutines,
    );
    out.family("go_info", "Information about the Go environment.", "gauge");
    out.sample("go_info", &[("version", GO_VERSION)], 1.0);
    for (name, help, kind, value) in [
        (
            "alloc_bytes",
            "Number of bytes allocated and still in use.",
            "gauge",
            go.alloc_bytes,
        ),
        (
            "alloc_bytes_total",
            "Total number of bytes allocated, even if freed.",
            "counter",
            go.alloc_bytes_total,
        ),
        (
            "frees_total",
            "Total number of frees.",
            "counter",
            go.frees_total,
        ),
        (
            "heap_alloc_bytes",
            "Number of heap bytes allocated and still in use.",
            "gauge",
            go.alloc_bytes,
        ),
        (
            "heap_objects",
            "Number of allocated objects.",
            "gauge",
            go.heap_objects,
        ),
        (
            "last_gc_time_seconds",
            "Number of seconds since 1970 of last garbage collection.",
            "gauge",
            go.last_gc_time_seconds,
        ),
        (
            "mallocs_total",
            "Total number of mallocs.",
            "counter",
            go.mallocs_total,
        ),
        (
            "next_gc_bytes",
            "Number of heap bytes when next garbage collection will take place.",
            "gauge",
            go.next_gc_bytes,
        ),
        (
            "sys_bytes",
            "Number of bytes obtained from system.",
            "gauge",
            go.sys_bytes,
        ),
    ] {
        out.single(&format!("go_memstats_{name}"), help, kind, value);
    }
    out.single(
        "go_threads",
        "Number of OS threads created.",
        "gauge",
        go.threads,
    );

    let series = s.series;
    if !series.grpc_handled.is_empty() {
        out.family(
            "grpc_server_handled_total",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            "counter",
        );
        for (((svc, method, kind), code), n) in &series.grpc_handled {
            let labels = [
                ("grpc_code", *code),
                ("grpc_method", method),
                ("grpc_service", svc),
                ("grpc_type", kind),
            ];
            out.sample("grpc_server_handled_total", &labels, *n as f64);
        }
    }
    if !series.grpc_durations.is_empty() {
        out.family(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            "histogram",
        );
        for ((svc, method, kind), h) in &series.grpc_durations {
            let les = BUCKETS_SECONDS.map(go_float);
            let les = les.iter().map(String::as_str).chain(["+Inf"]);
            for (le, n) in les.zip(h.cumulative()) {
                let labels = [
                    ("grpc_method", *method),
                    ("grpc_service", svc),
                    ("grpc_type", kind),
                    ("le", le),
                ];
                out.sample("grpc_server_handling_seconds_bucket", &labels, n as f64);
            }
            let labels = [
                ("grpc_method", *method),
                ("grpc_service", svc),
                ("grpc_type", kind),
            ];
            out.sample("grpc_server_handling_seconds_sum", &labels, h.sum_seconds);
            out.sample(
                "grpc_server_handling_seconds_count",
                &labels,
                h.count as f64,
            );
        }
    }
    if !series.grpc_started.is_empty() {
        out.family(
            "grpc_server_started_total",
            "Total number of RPCs started on the server.",
            "counter",
        );
        for ((svc, method, kind), n) in &series.grpc_started {
            let labels = [
                ("grpc_method", *method),
                ("grpc_service", svc),
                ("grpc_type", kind),
            ];
            out.sample("grpc_server_started_total", &labels, *n as f64);
        }
    }
    if !series.http_durations.is_empty() {
        out.family(
            "http_request_duration_seconds",
            "Duration of HTTP requests in seconds.",
            "histogram",
        );
        for ((method, path), h) in &series.http_durations {
            let les = BUCKETS_SECONDS.map(go_float);
            let les = les.iter().map(String::as_str).chain(["+Inf"]);
            for (le, n) in les.zip(h.cumulative()) {
                let labels = [("method", *method), ("path", path), ("le", le)];
                out.sample("http_request_duration_seconds_bucket", &labels, n as f64);
            }
            let labels = [("method", *method), ("path", *path)];
            out.sample("http_request_duration_seconds_sum", &labels, h.sum_seconds);
            out.sample(
                "http_request_duration_seconds_count",
                &labels,
                h.count as f64,
            );
        }
    }
    if !series.http_requests.is_empty() {
        out.family(
            "http_requests_total",
            "Total number of HTTP requests by status code, method and path.",
            "counter",
        );
        for (((method, path), code), n) in &series.http_requests {
            let code = code.to_string();
            let labels = [("code", code.as_str()), ("method", method), ("path", path)];
            out.sample("http_requests_total", &labels, *n as f64);
        }
    }

    let p = s.process;
    for (name, help, kind, value) in [
        (
            "cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            "counter",
            p.cpu_seconds_total,
        ),
        (
            "max_fds",
            "Maximum number of open file descriptors.",
            "gauge",
            p.max_fds,
        ),
        (
            "open_fds",
            "Number of open file descriptors.",
            "gauge",
            p.open_fds,
        ),
        (
            "resident_memory_bytes",
            "Resident memory size in bytes.",
            "gauge",
            p.resident_memory_bytes,
        ),
        (
            "start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            "gauge",
            s.start_time_seconds,
        ),
        (
            "virtual_memory_bytes",
            "Virtual memory size in bytes.",
            "gauge",
            p.virtual_memory_bytes,
        ),
    ] {
        out.single(&format!("process_{name}"), help, kind, value);
    }
    out.single(
        "promhttp_metric_handler_requests_in_flight",
        "Current number of scrapes being served.",
        "gauge",
        1.0,
    );
    out.family(
        "promhttp_metric_handler_requests_total",
        "Total number of scrapes by HTTP status code.",
        "counter",
    );
    let done = series.scrapes.saturating_sub(1) as f64;
    for (code, n) in [("200", done), ("500", 0.0), ("503", 0.0)] {
        out.sample(
            "promhttp_metric_handler_requests_total",
            &[("code", code)],
            n,
        );
    }
    out.0
}

struct Text(String);

impl Text {
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        let _ = write!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    fn single(&mut self, name: &str, help: &str, kind: &str, value: f64) {
        self.family(name, help, kind);
        self.sample(name, &[], value);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        for (i, (label, v)) in labels.iter().enumerate() {
            self.0.push(if i == 0 { '{' } else { ',' });
            let _ = write!(self.0, "{label}=\"");
            for c in v.chars() {
                match c {
                    '\\' => self.0.push_str("\\\\"),
                    '"' => self.0.push_str("\\\""),
                    '\n' => self.0.push_str("\\n"),
                    c => self.0.push(c),
                }
            }
            self.0.push('"');
        }
        if !labels.is_empty() {
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", go_float(value));
    }
}

/// Go's `strconv.FormatFloat(x, 'g', -1, 64)` as client_golang writes it: `38`, `0.000100791`,
/// `1.4220784e+07`, `1.4521e-05`, `+Inf`, `NaN`.
pub fn go_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{x:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return format!("{x}");
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{x}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

#[cfg(test)]
#[path = "exposition_tests.rs"]
mod tests;
