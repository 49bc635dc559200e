//! Per-service metrics, pure: scraped pages and zap request lines in, rates, quantiles,
//! gauges, 120-sample histories, staleness and the explorer's series out.

pub mod endpoint;
pub mod explorer;
pub mod history;
pub mod logs;
pub mod prometheus;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::collect::scrape::{Endpoint, ScrapeFact};
use crate::metrics::attribution::{Attribution, attribute};
use crate::plan::{EntryId, Plan, ProbeKind};
use endpoint::EndpointMetrics;
use explorer::{DEFAULT_SERIES_CAP, SeriesStore};
use history::{Watched, WatchedSet};
use logs::LogMetrics;
use prometheus::{PromMetrics, PromStatus};

/// Which families feed the watched values; every name can be changed (layout or manifest).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchNames {
    /// Request counters (summed); a series with an error label value counts as failed.
    pub requests: Vec<String>,
    /// Labels holding a gRPC code: any value but "OK" is a failure.
    pub grpc_code_labels: Vec<String>,
    /// Labels holding an HTTP status: 5xx is a failure.
    pub http_code_labels: Vec<String>,
    /// Request-duration histograms; the first one present is used.
    pub latency: Vec<String>,
    pub goroutines: String,
    pub rss: String,
    /// A counter of CPU seconds, shown as percent of a core.
    pub cpu: String,
}

impl Default for WatchNames {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
        Self {
            requests: v(&["grpc_server_handled_total", "http_requests_total"]),
            grpc_code_labels: v(&["grpc_code"]),
            http_code_labels: v(&["code", "status"]),
            latency: v(&[
                "http_request_duration_seconds",
                "grpc_server_handling_seconds",
            ]),
            goroutines: "go_goroutines".into(),
            rss: "process_resident_memory_bytes".into(),
            cpu: "process_cpu_seconds_total".into(),
        }
    }
}

impl WatchNames {
    /// Whether label `name` = `value` marks a failed request.
    pub fn is_error(&self, name: &str, value: &str) -> bool {
        if self.grpc_code_labels.iter().any(|l| l == name) {
            return value != "OK";
        }
        self.http_code_labels.iter().any(|l| l == name) && value.starts_with('5')
    }
}

/// Tunables of the derivation.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    pub watch: WatchNames,
    /// Quantiles and log-derived rates are over this window.
    pub window: Duration,
    /// Flattened series kept per service for the explorer.
    pub series_cap: usize,
    /// Values older than this are marked stale.
    pub stale_after: Duration,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            watch: WatchNames::default(),
            window: Duration::from_secs(60),
            series_cap: DEFAULT_SERIES_CAP,
            stale_after: Duration::from_secs(6),
        }
    }
}

/// Where a service's shown values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsSource {
    /// A Prometheus server's HTTP API.
    Prometheus,
    Endpoint,
    Logs,
    None,
}

/// One service's metrics from every source.
#[derive(Debug, Clone, Default)]
pub struct ServiceMetrics {
    /// Set when Prometheus lists a target that is this service.
    pub prometheus: Option<PromMetrics>,
    /// Set when the plan gives the service a metrics port.
    pub endpoint: Option<EndpointMetrics>,
    pub logs: LogMetrics,
}

impl ServiceMetrics {
    /// Prometheus while it lists the service as up with values; else the endpoint once it has
    /// answered for this service; else the logs once they showed a request; else Prometheus'
    /// last values, if any.
    pub fn source(&self) -> MetricsSource {
        let prom = self.prometheus.as_ref().filter(|p| p.last_ok.is_some());
        if prom.is_some_and(PromMetrics::current) {
            return MetricsSource::Prometheus;
        }
        match &self.endpoint {
            Some(e) if e.last_ok.is_some() && e.attribution == Attribution::Own => {
                MetricsSource::Endpoint
            }
            _ if self.logs.requests_total > 0 => MetricsSource::Logs,
            _ if prom.is_some() => MetricsSource::Prometheus,
            _ => MetricsSource::None,
        }
    }

    /// The histories of the source shown.
    pub fn watched(&self) -> Option<&WatchedSet> {
        match self.source() {
            MetricsSource::Prometheus => self.prometheus.as_ref().map(|p| &p.watched),
            MetricsSource::Endpoint => self.endpoint.as_ref().map(|e| &e.watched),
            MetricsSource::Logs => Some(&self.logs.watched),
            MetricsSource::None => None,
        }
    }

    /// The explorer's series of the source shown.
    pub fn store(&self) -> Option<&SeriesStore> {
        match self.source() {
            MetricsSource::Prometheus => self.prometheus.as_ref().map(|p| &p.store),
            MetricsSource::Endpoint => self.endpoint.as_ref().map(|e| &e.store),
            MetricsSource::Logs | MetricsSource::None => None,
        }
    }

    /// The current value of `w` from the shown source.
    pub fn current(&self, w: Watched) -> Option<f64> {
        self.watched().and_then(|s| s.current(w))
    }
}

/// Every service's metrics, indexed by entry.
#[derive(Debug, Clone)]
pub struct MetricsState {
    pub config: MetricsConfig,
    pub services: Vec<ServiceMetrics>,
    /// Which entries are configured with each metrics endpoint (several share the plan's 2112).
    pub claims: BTreeMap<Endpoint, Vec<EntryId>>,
    /// Set when a Prometheus server is a source.
    pub prometheus: Option<PromStatus>,
    last_derived: Option<Instant>,
}

impl MetricsState {
    /// A state for `plan`: every target of kind `metrics` is an endpoint.
    pub fn new(plan: &Plan, config: MetricsConfig) -> Self {
        let mut claims: BTreeMap<Endpoint, Vec<EntryId>> = BTreeMap::new();
        let mut services = vec![ServiceMetrics::default(); plan.entries.len()];
        for t in plan.targets.iter().filter(|t| t.kind == ProbeKind::Metrics) {
            let path = match &t.probe {
                crate::plan::ProbeSpec::Http { path, .. } => path.clone(),
                _ => "/metrics".to_owned(),
            };
            let endpoint = Endpoint {
                host: t.host.clone(),
                port: t.port,
                path,
            };
            claims.entry(endpoint).or_default().push(t.entry);
        }
        for entries in claims.values() {
            for (entry, verdict) in attribute(entries, None, &BTreeMap::new()) {
                if let Some(s) = services.get_mut(entry.0) {
                    s.endpoint = Some(EndpointMetrics::new(verdict));
                }
            }
        }
        Self {
            config,
            services,
            claims,
            prometheus: None,
            last_derived: None,
        }
    }

    /// The endpoints to scrape, each once.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.claims.keys().cloned().collect()
    }

    /// Applies a scrape; true if something visible changed.
    pub fn apply(&mut self, fact: &ScrapeFact, now: Instant) -> bool {
        let _ = now;
        let Some(claimants) = self.claims.get(&fact.endpoint) else {
            return false;
        };
        let mut changed = false;
        for entry in claimants {
            let Some(ep) = self
                .services
                .get_mut(entry.0)
                .and_then(|s| s.endpoint.as_mut())
            else {
                continue;
            };
            if ep.attribution != Attribution::Own {
                continue;
            }
            match &fact.outcome {
                Ok(page) => ep.record(page, fact.at, &self.config),
                Err(e) => ep.fail(fact.at, e.to_string()),
            }
            changed = true;
        }
        changed
    }

    /// Says who holds `endpoint`'s port (`holder_pid` from the port scanner), given which
    /// supervised entry owns which pid; true if an attribution changed.
    pub fn port_held(
        &mut self,
        endpoint: &Endpoint,
        holder_pid: Option<u32>,
        entry_of_pid: &BTreeMap<u32, EntryId>,
    ) -> bool {
        let Some(claimants) = self.claims.get(endpoint) else {
            return false;
        };
        let mut changed = false;
        for (entry, verdict) in attribute(claimants, holder_pid, entry_of_pid) {
            if let Some(ep) = self
                .services
                .get_mut(entry.0)
                .and_then(|s| s.endpoint.as_mut())
                && ep.attribution != verdict
            {
                *ep = EndpointMetrics::new(verdict);
                changed = true;
            }
        }
        changed
    }

    /// Feeds lines a service wrote at `at` to its log-derived metrics.
    pub fn observe<'a>(
        &mut self,
        entry: EntryId,
        lines: impl IntoIterator<Item = &'a str>,
        at: Instant,
    ) {
        if let Some(s) = self.services.get_mut(entry.0) {
            for line in lines {
                s.logs.observe(line, at);
            }
        }
    }

    /// The clock: once per `every`, recomputes the log-derived figures and their histories;
    /// true if that happened (a service with logs shows new numbers).
    pub fn tick(&mut self, now: Instant, every: Duration) -> bool {
        if self
            .last_derived
            .is_some_and(|t| now.saturating_duration_since(t) < every)
        {
            return false;
        }
        self.last_derived = Some(now);
        let mut changed = false;
        for s in &mut self.services {
            if s.logs.since.is_some() {
                s.logs.derive(now, self.config.window);
                changed = true;
            }
        }
        changed
    }

    /// One service's metrics.
    pub fn service(&self, entry: EntryId) -> Option<&ServiceMetrics> {
        self.services.get(entry.0)
    }
}

#[cfg(test)]
mod tests;
