//! Request counters and latency histograms, fed by the real servers and the traffic simulator
//! and read (as a snapshot) by the /metrics handler.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Upper bounds of `http_request_duration_seconds` (client_golang's `DefBuckets`).
pub const BUCKETS_SECONDS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A Prometheus histogram: per-bucket (not cumulative) counts, the last slot is `+Inf`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    counts: [u64; BUCKETS_SECONDS.len() + 1],
    pub sum_seconds: f64,
    pub count: u64,
}

impl Histogram {
    pub fn observe(&mut self, seconds: f64) {
        let seconds = seconds.max(0.0);
        let slot = BUCKETS_SECONDS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(BUCKETS_SECONDS.len());
        self.counts[slot] += 1;
        self.sum_seconds += seconds;
        self.count += 1;
    }

    /// Cumulative counts per bucket, `+Inf` last (always equal to `count`).
    pub fn cumulative(&self) -> [u64; BUCKETS_SECONDS.len() + 1] {
        let mut running = 0;
        self.counts.map(|n| {
            running += n;
            running
        })
    }
}

/// `(method, path)` label values of an HTTP series.
pub type HttpKey = (&'static str, &'static str);
/// `(grpc_service, grpc_method, grpc_type)` label values of a gRPC series.
pub type GrpcKey = (&'static str, &'static str, &'static str);

/// Everything the registry counts; cloned out for rendering.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub http_requests: BTreeMap<(HttpKey, u16), u64>,
    pub http_durations: BTreeMap<HttpKey, Histogram>,
    pub grpc_started: BTreeMap<GrpcKey, u64>,
    pub grpc_handled: BTreeMap<(GrpcKey, &'static str), u64>,
    /// go-grpc-prometheus' handling-time histogram (`grpc_server_handling_seconds`).
    pub grpc_durations: BTreeMap<GrpcKey, Histogram>,
    /// Scrapes of /metrics answered, by HTTP code.
    pub scrapes: u64,
    /// Every request counted above, HTTP and gRPC: drives the simulated Go runtime.
    pub requests_total: u64,
}

/// Shared, lock-protected [`Series`]; every update is a few map operations under the lock.
#[derive(Debug, Default)]
pub struct Registry {
    series: Mutex<Series>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Series> {
        // A panic while holding the lock leaves plain counters behind: keep using them.
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one answered HTTP request.
    pub fn http_request(&self, key: HttpKey, code: u16, seconds: f64) {
        let mut series = self.lock();
        *series.http_requests.entry((key, code)).or_default() += 1;
        series
            .http_durations
            .entry(key)
            .or_default()
            .observe(seconds);
        series.requests_total += 1;
    }

    /// Makes a method's started and OK-handled series exist (at 0), as go-grpc-prometheus
    /// does for every registered method.
    pub fn grpc_register(&self, key: GrpcKey) {
        let mut series = self.lock();
        series.grpc_started.entry(key).or_default();
        series.grpc_handled.entry((key, "OK")).or_default();
    }

    /// Counts a gRPC call that started.
    pub fn grpc_started(&self, key: GrpcKey) {
        *self.lock().grpc_started.entry(key).or_default() += 1;
    }

    /// Counts a gRPC call that finished with `code` (Go names: "OK", "NotFound").
    pub fn grpc_handled(&self, key: GrpcKey, code: &'static str) {
        let mut series = self.lock();
        *series.grpc_handled.entry((key, code)).or_default() += 1;
        series.requests_total += 1;
    }

    /// Observes how long a gRPC call took.
    pub fn grpc_observe(&self, key: GrpcKey, seconds: f64) {
        self.lock()
            .grpc_durations
            .entry(key)
            .or_default()
            .observe(seconds);
    }

    /// Counts a /metrics scrape and returns the state to render.
    pub fn scrape(&self) -> Series {
        let mut series = self.lock();
        series.scrapes += 1;
        series.clone()
    }
}

/// Go's `codes.Code.String()` for a numeric gRPC status.
pub fn grpc_code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("Unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_inf_equals_count() {
        let mut h = Histogram::default();
        for s in [0.001, 0.005, 0.0051, 0.3, 7.0, 11.0, 99.0, -1.0] {
            h.observe(s);
        }
        let cum = h.cumulative();
        assert!(cum.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            cum[0], 3,
            "0.001, 0.005 (le is inclusive) and the clamped -1"
        );
        assert_eq!(
            cum[BUCKETS_SECONDS.len() - 1],
            6,
            "all but 11 and 99 are <= 10"
        );
        assert_eq!(*cum.last().unwrap_or(&0), h.count);
        assert_eq!(h.count, 8);
        assert!((h.sum_seconds - 117.3111).abs() < 1e-9);
    }

    #[test]
    fn registry_counts_requests_and_scrapes() {
        let registry = Registry::default();
        registry.http_request(("GET", "/health"), 200, 0.0001);
        registry.http_request(("GET", "/health"), 200, 0.0002);
        registry.http_request(("GET", "/health"), 503, 0.0002);
        registry.grpc_started(("grpc.health.v1.Health", "Check", "unary"));
        registry.grpc_handled(("grpc.health.v1.Health", "Check", "unary"), "OK");
        let first = registry.scrape();
        assert_eq!(first.http_requests[&(("GET", "/health"), 200)], 2);
        assert_eq!(first.http_durations[&("GET", "/health")].count, 3);
        assert_eq!(first.requests_total, 4);
        assert_eq!(first.scrapes, 1);
        assert_eq!(registry.scrape().scrapes, 2);
    }

    #[test]
    fn grpc_code_names_match_go() {
        assert_eq!(grpc_code_name(0), "OK");
        assert_eq!(grpc_code_name(5), "NotFound");
        assert_eq!(grpc_code_name(12), "Unimplemented");
        assert_eq!(grpc_code_name(16), "Unauthenticated");
        assert_eq!(grpc_code_name(99), "Unknown");
        assert_eq!(grpc_code_name(-1), "Unknown");
    }
}
