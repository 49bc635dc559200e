//! Metrics read from a Prometheus server: per service the target Prometheus scrapes, its
//! health, the watched values and their history (loaded from a range query, so it reaches back
//! before the dashboard started); for the server, whether it answers, in words.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::explorer::SeriesStore;
use super::history::WatchedSet;
use super::{MetricsState, ServiceMetrics};
use crate::collect::prometheus_api::decode::Health;
use crate::collect::prometheus_api::promql::WatchedValues;
use crate::collect::prometheus_api::{DEFAULT_PROM_INTERVAL, PromFact, PromValues, TargetSeen};
use crate::plan::{EntryId, TargetId};
use crate::state::Severity;

/// One service as Prometheus sees it.
#[derive(Debug, Clone)]
pub struct PromMetrics {
    /// The target and what Prometheus last said about it.
    pub seen: TargetSeen,
    /// Listed in the latest round that read the targets (false while the server is away).
    pub listed: bool,
    /// When values last came for this service.
    pub last_ok: Option<Instant>,
    pub watched: WatchedSet,
    /// p50, p95, p99 (seconds), as the direct scrape's `quantiles`.
    pub quantiles: [Option<f64>; 3],
    /// Samples of the history that came from the latest range query.
    pub loaded: usize,
    /// Values older than this are stale ([`MetricsState::prometheus_stale_after`]).
    pub stale_after: Duration,
    /// The explorer's series, when this service is (or was) explored.
    pub store: SeriesStore,
    /// Why its series could not be read, the last time they were asked for.
    pub explore_error: Option<String>,
}

impl PromMetrics {
    /// A service first seen as `seen`, with no values yet.
    pub fn new(seen: TargetSeen, stale_after: Duration) -> Self {
        PromMetrics {
            seen,
            listed: true,
            last_ok: None,
            watched: WatchedSet::default(),
            quantiles: [None; 3],
            loaded: 0,
            stale_after,
            store: SeriesStore::default(),
            explore_error: None,
        }
    }

    /// Whether Prometheus lists the service as up, with values.
    pub fn current(&self) -> bool {
        self.listed && self.seen.health == Health::Up && self.last_ok.is_some()
    }

    /// Whether these values should not be trusted as current: not listed, target not up, or old.
    pub fn stale(&self, now: Instant) -> bool {
        !self.current()
            || self
                .last_ok
                .is_none_or(|t| now.saturating_duration_since(t) > self.stale_after)
    }

    /// Appends the values read at `at`.
    pub fn push(&mut self, v: &WatchedValues, at: Instant) {
        self.watched.push(v.values);
        self.quantiles = v.quantiles;
        self.last_ok = Some(at);
    }

    /// Replaces the history with `rows` (oldest first, the last one read at `at`).
    pub fn load(&mut self, rows: &[WatchedValues], at: Instant) {
        self.watched = WatchedSet::default();
        for r in rows {
            self.watched.push(r.values);
        }
        self.loaded = rows.len().min(super::history::HISTORY_LEN);
        self.quantiles = rows.last().map_or([None; 3], |r| r.quantiles);
        if rows.iter().any(|r| r.values.iter().any(Option::is_some)) {
            self.last_ok = Some(at);
        }
    }
}

/// The Prometheus server as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct PromStatus {
    /// Normalized base URL.
    pub url: String,
    /// Time between rounds (values older than three of them are stale).
    pub interval: Duration,
    pub last_ok: Option<Instant>,
    /// The latest failure (unreachable, or the query refused), if newer than the latest success.
    pub last_error: Option<(Instant, String)>,
    /// The first failed round of the current outage.
    pub down_since: Option<Instant>,
    /// Plan entries among its targets, and its other targets.
    pub matched: usize,
    pub other_targets: usize,
}

impl PromStatus {
    /// A server not heard from yet.
    pub fn new(url: &str, interval: Duration) -> Self {
        PromStatus {
            url: url.to_owned(),
            interval,
            last_ok: None,
            last_error: None,
            down_since: None,
            matched: 0,
            other_targets: 0,
        }
    }

    /// The URL as shown: without `http://`.
    pub fn short_url(&self) -> &str {
        self.url.strip_prefix("http://").unwrap_or(&self.url)
    }
}

impl MetricsState {
    /// Takes metrics from the Prometheus server at `url`, polled every `interval`.
    pub fn use_prometheus(&mut self, url: &str, interval: Duration) {
        self.prometheus = Some(PromStatus::new(url, interval));
    }

    /// How long Prometheus values stay current: the configured staleness or three rounds.
    pub fn prometheus_stale_after(&self) -> Duration {
        let rounds = self
            .prometheus
            .as_ref()
            .map_or(Duration::ZERO, |p| p.interval * 3);
        self.config.stale_after.max(rounds)
    }

    /// Applies a round; true if something visible changed (always, a round moves ages).
    pub fn apply_prometheus(&mut self, fact: &PromFact, now: Instant) -> bool {
        let _ = now;
        let stale_after = self.prometheus_stale_after();
        let status = self
            .prometheus
            .get_or_insert_with(|| PromStatus::new(&fact.url, DEFAULT_PROM_INTERVAL));
        let round = match &fact.outcome {
            Err(e) => {
                status.last_error = Some((fact.at, e.to_string()));
                status.down_since.get_or_insert(fact.at);
                for p in self
                    .services
                    .iter_mut()
                    .filter_map(|s| s.prometheus.as_mut())
                {
                    p.listed = false;
                }
                return true;
            }
            Ok(round) => round,
        };
        status.last_ok = Some(fact.at);
        status.down_since = None;
        status.matched = round.targets.len();
        status.other_targets = round.other_targets;
        status.last_error = match &round.values {
            PromValues::Failed(e) => Some((fact.at, format!("query failed: {e}"))),
            _ => None,
        };
        for p in self
            .services
            .iter_mut()
            .filter_map(|s| s.prometheus.as_mut())
        {
            p.listed = false;
        }
        for seen in &round.targets {
            let Some(s) = self.services.get_mut(seen.entry.0) else {
                continue;
            };
            match &mut s.prometheus {
                Some(p) if p.seen.instance == seen.instance && p.seen.job == seen.job => {
                    p.seen = seen.clone();
                    p.listed = true;
                    p.stale_after = stale_after;
                }
                // New, or another target than before: its values start over.
                slot => *slot = Some(PromMetrics::new(seen.clone(), stale_after)),
            }
        }
        match &round.values {
            PromValues::Now(values) => {
                for (entry, v) in values {
                    if let Some(p) = listed(&mut self.services, *entry) {
                        p.push(v, fact.at);
                    }
                }
            }
            PromValues::History { rows, .. } => {
                for (entry, rows) in rows {
                    if let Some(p) = listed(&mut self.services, *entry) {
                        p.load(rows, fact.at);
                    }
                }
            }
            PromValues::NotAsked | PromValues::Failed(_) => {}
        }
        if let Some((entry, page)) = &round.explored
            && let Some(p) = listed(&mut self.services, *entry)
        {
            match page {
                Ok(page) => {
                    p.store.record(page, fact.at, self.config.series_cap);
                    p.explore_error = None;
                }
                Err(e) => p.explore_error = Some(e.to_string()),
            }
        }
        true
    }

    /// The plan targets whose up/down Prometheus gives while it answers (empty while it is
    /// away): the direct probes of these can be set aside meanwhile.
    pub fn prometheus_targets(&self) -> BTreeSet<TargetId> {
        self.services
            .iter()
            .filter_map(|s| s.prometheus.as_ref())
            .filter(|p| p.listed)
            .filter_map(|p| p.seen.target)
            .collect()
    }

    /// The status bar's words on where the metrics come from.
    pub fn source_words(&self, now: Instant) -> (Severity, String) {
        let Some(p) = &self.prometheus else {
            return (Severity::Info, "metrics: direct scrape".into());
        };
        let url = p.short_url();
        let fallback = if self.claims.is_empty() {
            "no direct scrape configured"
        } else {
            "direct scrape meanwhile"
        };
        match (&p.last_error, p.down_since, p.last_ok) {
            (Some((at, e)), Some(since), _) => (
                Severity::Error,
                format!(
                    "metrics: Prometheus {url} {e}; down for {}, tried {} ago; {fallback}",
                    age_words(now.saturating_duration_since(since)),
                    age_words(now.saturating_duration_since(*at)),
                ),
            ),
            (Some((_, e)), None, _) => {
                (Severity::Warning, format!("metrics: Prometheus {url} {e}"))
            }
            (None, _, None) => (
                Severity::Info,
                format!("metrics: Prometheus {url} (no answer yet)"),
            ),
            (None, _, Some(_)) if p.matched == 0 => (
                Severity::Warning,
                format!(
                    "metrics: Prometheus {url} scrapes none of ours ({} other targets)",
                    p.other_targets
                ),
            ),
            (None, _, Some(_)) => (
                Severity::Info,
                format!("metrics: Prometheus {url}, {} services", p.matched),
            ),
        }
    }
}

/// The Prometheus side of `entry`, if the latest round listed it.
fn listed(services: &mut [ServiceMetrics], entry: EntryId) -> Option<&mut PromMetrics> {
    services
        .get_mut(entry.0)
        .and_then(|s| s.prometheus.as_mut())
        .filter(|p| p.listed)
}

/// `d` in the largest whole unit: "45s", "12m", "3h".
fn age_words(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
