//! Request rate, error rate and latency quantiles of one service, per service and per method,
//! derived from its zap request lines over a sliding window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::history::WatchedSet;
use crate::metrics::zap::{Malformed, parse_request};

/// Requests remembered per service; older ones are forgotten first past it.
pub const MAX_EVENTS: usize = 50_000;
/// Methods told apart per service; the rest are counted as "(other)".
pub const MAX_METHODS: usize = 64;
/// The name the methods past [`MAX_METHODS`] share.
pub const OTHER_METHOD: &str = "(other)";

#[derive(Debug, Clone, Copy)]
struct Event {
    at: Instant,
    method: u16,
    /// NaN when the line had no readable duration.
    seconds: f64,
    error: bool,
}

/// Derived figures for a set of requests in the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Requests in the window.
    pub count: usize,
    pub rate: f64,
    /// Failed requests as a percentage; `None` without requests.
    pub error_pct: Option<f64>,
    /// p50, p95, p99 in seconds; `None` without durations.
    pub quantiles: [Option<f64>; 3],
}

/// One method's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodFigures {
    pub method: String,
    pub figures: Figures,
}

/// What a service's logs say about its traffic.
#[derive(Debug, Clone, Default)]
pub struct LogMetrics {
    events: VecDeque<Event>,
    methods: Vec<String>,
    /// When the first line of this service was seen (rates count from there until a window has passed).
    pub since: Option<Instant>,
    pub requests_total: u64,
    /// Broken JSON or request lines without their fields.
    pub malformed: u64,
    /// Requests forgotten early because of [`MAX_EVENTS`].
    pub evicted: u64,
    /// Figures at the latest [`LogMetrics::derive`].
    pub total: Figures,
    /// Per method, busiest first.
    pub by_method: Vec<MethodFigures>,
    pub watched: WatchedSet,
}

impl LogMetrics {
    /// Reads one line written at `at`.
    pub fn observe(&mut self, line: &str, at: Instant) {
        self.since.get_or_insert(at);
        let request = match parse_request(line) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(Malformed::NotJson | Malformed::MissingField) => {
                self.malformed += 1;
                return;
            }
        };
        let method = match self.methods.iter().position(|m| *m == request.method) {
            Some(i) => i,
            None if self.methods.len() < MAX_METHODS => {
                self.methods.push(request.method);
                self.methods.len() - 1
            }
            None => self.other_method(),
        };
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
            self.evicted += 1;
        }
        self.events.push_back(Event {
            at,
            method: method as u16,
            seconds: request.seconds.unwrap_or(f64::NAN),
            error: request.error,
        });
        self.requests_total += 1;
    }

    fn other_method(&mut self) -> usize {
        match self.methods.iter().position(|m| m == OTHER_METHOD) {
            Some(i) => i,
            None => {
                self.methods.push(OTHER_METHOD.to_owned());
                self.methods.len() - 1
            }
        }
    }

    /// Forgets requests older than `window`, recomputes the figures and appends them to the history.
    pub fn derive(&mut self, now: Instant, window: Duration) {
        while self
            .events
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.at) > window)
        {
            self.events.pop_front();
        }
        let Some(since) = self.since else {
            return;
        };
        // Until a whole window has passed, the rate is over the time we have been watching.
        let span = now
            .saturating_duration_since(since)
            .min(window)
            .max(Duration::from_secs(1))
            .as_secs_f64();
        self.total = figures(self.events.iter(), span);
        self.by_method = (0..self.methods.len())
            .map(|m| MethodFigures {
                method: self.methods[m].clone(),
                figures: figures(self.events.iter().filter(|e| e.method as usize == m), span),
            })
            .filter(|m| m.figures.count > 0)
            .collect();
        self.by_method.sort_by(|a, b| {
            b.figures
                .count
                .cmp(&a.figures.count)
                .then(a.method.cmp(&b.method))
        });
        let t = &self.total;
        self.watched
            .push([Some(t.rate), t.error_pct, t.quantiles[1], None, None, None]);
    }
}

fn figures<'a>(events: impl Iterator<Item = &'a Event>, span_secs: f64) -> Figures {
    let mut count = 0usize;
    let mut errors = 0usize;
    let mut latencies: Vec<f64> = Vec::new();
    for e in events {
        count += 1;
        errors += usize::from(e.error);
        if !e.seconds.is_nan() {
            latencies.push(e.seconds);
        }
    }
    latencies.sort_by(f64::total_cmp);
    Figures {
        count,
        rate: count as f64 / span_secs,
        error_pct: (count > 0).then(|| errors as f64 / count as f64 * 100.0),
        quantiles: [0.5, 0.95, 0.99].map(|q| quantile(&latencies, q)),
    }
}

/// The `q` quantile of sorted values, interpolating between the closest ranks.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}
