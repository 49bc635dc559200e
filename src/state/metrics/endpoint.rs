//! What one service's scraped pages say: counters turned into per-second rates (resets
//! handled), latency quantiles over a window, gauges as they are, and the explorer's store.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::explorer::SeriesStore;
use super::history::WatchedSet;
use super::{MetricsConfig, WatchNames};
use crate::metrics::attribution::Attribution;
use crate::metrics::exposition::{BadLine, Page, Value};
use crate::metrics::quantile::{bucket_increase, histogram_quantile, sum_by_le};

/// A service's metrics as read from its endpoint.
#[derive(Debug, Clone)]
pub struct EndpointMetrics {
    pub attribution: Attribution,
    pub last_ok: Option<Instant>,
    /// The latest failure, when it is newer than the latest success.
    pub last_error: Option<(Instant, String)>,
    /// Lines dropped from the latest page, and the first of them.
    pub dropped: usize,
    pub first_bad: Option<BadLine>,
    pub watched: WatchedSet,
    /// Latency quantiles (seconds) over the window: p50, p95, p99.
    pub quantiles: [Option<f64>; 3],
    pub store: SeriesStore,
    pub scrapes: u64,
    prev: Option<(Instant, BTreeMap<String, f64>)>,
    window: VecDeque<(Instant, Vec<(f64, f64)>)>,
}

impl EndpointMetrics {
    pub fn new(attribution: Attribution) -> Self {
        Self {
            attribution,
            last_ok: None,
            last_error: None,
            dropped: 0,
            first_bad: None,
            watched: WatchedSet::default(),
            quantiles: [None; 3],
            store: SeriesStore::default(),
            scrapes: 0,
            prev: None,
            window: VecDeque::new(),
        }
    }

    /// Whether the values shown are old: the last scrape failed, or none succeeded lately.
    pub fn stale(&self, now: Instant, stale_after: Duration) -> bool {
        match self.last_ok {
            None => true,
            Some(ok) => {
                self.last_error.is_some() || now.saturating_duration_since(ok) > stale_after
            }
        }
    }

    /// Records a failed scrape; the values stay, now stale.
    pub fn fail(&mut self, at: Instant, error: String) {
        self.last_error = Some((at, error));
    }

    /// Derives everything from a page scraped at `at`.
    pub fn record(&mut self, page: &Page, at: Instant, cfg: &MetricsConfig) {
        self.scrapes += 1;
        self.last_ok = Some(at);
        self.last_error = None;
        self.dropped = page.dropped;
        self.first_bad = page.first_bad.clone();
        let names = &cfg.watch;
        let counters = counters(page, names);
        let (mut requests, mut errors, mut cpu) = (0.0, 0.0, None);
        let prev = self.prev.take();
        let rates = prev.as_ref().and_then(|(then, before)| {
            let dt = at.checked_duration_since(*then)?.as_secs_f64();
            (dt > 0.0).then_some((dt, before))
        });
        if let Some((dt, before)) = rates {
            for (key, &now) in &counters {
                // A series born since the last scrape started at zero; one that went down restarted.
                let increase = match before.get(key) {
                    Some(&b) if now >= b => now - b,
                    _ => now,
                };
                match key.split_once('\u{0}').map(|(role, _)| role) {
                    Some("req") => requests += increase,
                    Some("err") => {
                        requests += increase;
                        errors += increase;
                    }
                    Some("cpu") => cpu = Some(increase / dt * 100.0),
                    _ => {}
                }
            }
            requests /= dt;
            errors /= dt;
        }
        self.prev = Some((at, counters));
        let request_rate = rates.map(|_| requests);
        let error_pct = rates.and_then(|_| (requests > 0.0).then(|| errors / requests * 100.0));
        self.quantiles = self.latency(page, at, cfg);
        let gauge = |name: &str| scalar_sum(page, name);
        self.watched.push([
            request_rate,
            error_pct,
            self.quantiles[1],
            gauge(&names.goroutines),
            gauge(&names.rss),
            cpu,
        ]);
        self.store.record(page, at, cfg.series_cap);
    }

    /// p50, p95, p99 of the first watched latency histogram, over the configured window.
    fn latency(&mut self, page: &Page, at: Instant, cfg: &MetricsConfig) -> [Option<f64>; 3] {
        let Some(family) = cfg.watch.latency.iter().find_map(|n| page.family(n)) else {
            self.window.clear();
            return [None; 3];
        };
        let buckets = sum_by_le(family.series.iter().filter_map(|s| match &s.value {
            Value::Histogram(h) => Some(h.buckets.as_slice()),
            _ => None,
        }));
        self.window.push_back((at, buckets));
        // Keep one sample at or before the window's start, so the increase spans the window.
        while self.window.len() > 2
            && self
                .window
                .get(1)
                .is_some_and(|(t, _)| at.saturating_duration_since(*t) >= cfg.window)
        {
            self.window.pop_front();
        }
        let (Some((_, oldest)), Some((_, newest))) = (self.window.front(), self.window.back())
        else {
            return [None; 3];
        };
        let observed = if self.window.len() >= 2 {
            bucket_increase(newest, oldest)
        } else {
            newest.clone()
        };
        [0.5, 0.95, 0.99].map(|q| histogram_quantile(q, &observed))
    }
}

/// Every watched counter series by `role\0family{labels}`: "req", "err" (a failed request) or "cpu".
fn counters(page: &Page, names: &WatchNames) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for name in &names.requests {
        let Some(family) = page.family(name) else {
            continue;
        };
        for series in &family.series {
            let Value::Scalar(v) = series.value else {
                continue;
            };
            let failed = series.labels.iter().any(|(k, v)| names.is_error(k, v));
            let role = if failed { "err" } else { "req" };
            out.insert(format!("{role}\u{0}{name}{:?}", series.labels), v);
        }
    }
    if let Some(v) = scalar_sum(page, &names.cpu) {
        out.insert(format!("cpu\u{0}{}", names.cpu), v);
    }
    out
}

/// The sum of a family's scalar series (a gauge or counter without labels is its value).
fn scalar_sum(page: &Page, name: &str) -> Option<f64> {
    let family = page.family(name)?;
    let mut values = family.series.iter().filter_map(|s| match s.value {
        Value::Scalar(v) => Some(v),
        _ => None,
    });
    let first = values.next()?;
    Some(values.fold(first, |a, b| a + b))
}
