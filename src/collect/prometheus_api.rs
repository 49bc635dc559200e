//! A Prometheus server as the metrics source: each round reads `/api/v1/targets` (up/down of
//! the plan's targets), then one instant query for the watched values of every matched
//! instance, or a range query for their history (first round, after an outage, or when the
//! matched targets changed). Every outcome, errors included, is a [`PromFact`].

pub mod client;
pub mod decode;
pub mod matching;
pub mod promql;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::health::{ProbeResult, ProbeState};
use crate::plan::{EntryId, TargetId};
use crate::state::metrics::WatchNames;
use crate::state::metrics::history::HISTORY_LEN;
use client::{PromClient, unix_seconds};
use decode::{Health, PromError, ScrapeTarget};
use matching::{MatchedBy, PlanMatcher};
use promql::{InstanceJob, WatchedValues, Windows, combine, parts_history, parts_now};

/// Time between two rounds unless configured otherwise (the direct scrape's interval).
pub const DEFAULT_PROM_INTERVAL: Duration = Duration::from_secs(2);
/// Time after which one API call gives up.
pub const DEFAULT_PROM_TIMEOUT: Duration = Duration::from_secs(3);

/// What the collector needs to know.
#[derive(Debug, Clone)]
pub struct PromConfig {
    /// Base URL (`http://host:9090`; the scheme may be left out).
    pub url: String,
    /// Between rounds; also the step of the history.
    pub interval: Duration,
    /// Per API call.
    pub timeout: Duration,
    /// Samples of history asked for (the panel's sparkline length).
    pub history: usize,
    pub watch: WatchNames,
    /// Latency quantiles are over this window (at least four scrapes).
    pub window: Duration,
}

impl PromConfig {
    /// Defaults for `url`: every 2 s, 3 s timeout, 120 samples of history, 60 s quantiles.
    pub fn new(url: &str) -> Self {
        PromConfig {
            url: url.to_owned(),
            interval: DEFAULT_PROM_INTERVAL,
            timeout: DEFAULT_PROM_TIMEOUT,
            history: HISTORY_LEN,
            watch: WatchNames::default(),
            window: Duration::from_secs(60),
        }
    }
}

/// A plan entry Prometheus scrapes, and what Prometheus last said about that target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSeen {
    pub entry: EntryId,
    /// The plan target whose up/down this is (see [`matching::Match::target`]).
    pub target: Option<TargetId>,
    pub by: MatchedBy,
    pub instance: String,
    pub job: String,
    pub health: Health,
    /// Prometheus' words for the last failed scrape; empty when it succeeded.
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_scrape_duration: Option<Duration>,
    pub scrape_interval: Option<Duration>,
}

impl TargetSeen {
    fn new(t: &ScrapeTarget, m: matching::Match) -> Self {
        TargetSeen {
            entry: m.entry,
            target: m.target,
            by: m.by,
            instance: t.instance().to_owned(),
            job: t.job().to_owned(),
            health: t.health,
            last_error: t.last_error.clone(),
            last_scrape: t.last_scrape,
            last_scrape_duration: t.last_scrape_duration,
            scrape_interval: t.scrape_interval,
        }
    }

    /// Prometheus' verdict as a probe result of the plan target.
    pub fn probe_result(&self) -> ProbeResult {
        let latency = self.last_scrape_duration.unwrap_or_default();
        match self.health {
            Health::Up => ProbeResult::new(
                ProbeState::Up,
                latency,
                format!("Prometheus: up ({} {})", self.job, self.instance),
            ),
            Health::Down => ProbeResult::new(
                ProbeState::Down,
                latency,
                format!("Prometheus: {}", self.last_error),
            ),
            Health::Unknown => {
                ProbeResult::new(ProbeState::Pending, latency, "Prometheus: not scraped yet")
            }
        }
    }
}

/// The watched values a round read.
#[derive(Debug, Clone, PartialEq)]
pub enum PromValues {
    /// The instant query: values now, for the entries Prometheus has values of.
    Now(Vec<(EntryId, WatchedValues)>),
    /// The range query: per entry, rows every `step`, oldest first, the last one now.
    History {
        step: Duration,
        rows: Vec<(EntryId, Vec<WatchedValues>)>,
    },
    /// No plan entry is among Prometheus' targets: nothing was asked.
    NotAsked,
    /// The targets were read but the query failed.
    Failed(PromError),
}

/// What one round read, when `/api/v1/targets` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PromRound {
    /// One per plan entry Prometheus scrapes, in entry order.
    pub targets: Vec<TargetSeen>,
    /// Prometheus' targets that are none of the plan's.
    pub other_targets: usize,
    pub values: PromValues,
}

impl PromRound {
    /// Up/down of each plan target Prometheus scrapes, for `Update::HealthChecked`.
    pub fn probe_results(&self) -> Vec<(TargetId, ProbeResult)> {
        self.targets
            .iter()
            .filter_map(|t| Some((t.target?, t.probe_result())))
            .collect()
    }
}

/// One round against the server.
#[derive(Debug, Clone, PartialEq)]
pub struct PromFact {
    /// The server's URL, normalized.
    pub url: String,
    /// When the round started.
    pub at: Instant,
    pub took: Duration,
    /// `Err` when the targets could not be read: the server is unreachable (or not Prometheus).
    pub outcome: Result<PromRound, PromError>,
}

/// Polls one server round after round; remembers which histories it has loaded.
pub struct Poller {
    client: PromClient,
    matcher: PlanMatcher,
    config: PromConfig,
    /// The entries and targets whose history was loaded, until an outage or a change.
    loaded: Option<BTreeSet<(EntryId, InstanceJob)>>,
}

impl Poller {
    /// A poller for `config.url`; fails only on a URL that is not http(s).
    pub fn new(config: PromConfig, matcher: PlanMatcher) -> Result<Self, PromError> {
        Ok(Poller {
            client: PromClient::new(&config.url, config.timeout)?,
            matcher,
            config,
            loaded: None,
        })
    }

    /// The server's URL, normalized.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// Reads the targets, then the values now or the history.
    pub async fn round(&mut self) -> PromFact {
        let at = Instant::now();
        let outcome = match self.client.targets().await {
            Ok(targets) => Ok(self.values(&targets).await),
            Err(e) => {
                self.loaded = None;
                Err(e)
            }
        };
        PromFact {
            url: self.client.url().to_owned(),
            at,
            took: at.elapsed(),
            outcome,
        }
    }

    async fn values(&mut self, all: &[ScrapeTarget]) -> PromRound {
        let (matched, other_targets) = self.matcher.match_all(all);
        let targets: Vec<TargetSeen> = matched
            .into_iter()
            .map(|(i, m)| TargetSeen::new(&all[i], m))
            .collect();
        let keys: BTreeSet<(EntryId, InstanceJob)> = targets
            .iter()
            .map(|t| (t.entry, (t.instance.clone(), t.job.clone())))
            .collect();
        let instances: BTreeSet<&str> = targets.iter().map(|t| t.instance.as_str()).collect();
        let instances: Vec<&str> = instances.into_iter().collect();
        let interval = targets.iter().filter_map(|t| t.scrape_interval).max();
        let windows = Windows::new(interval, self.config.window);
        let expr = promql::watched_query(&self.config.watch, &instances, &windows);
        let entry_of =
            |key: &InstanceJob| keys.iter().find(|(_, k)| k == key).map(|(entry, _)| *entry);
        let values = if targets.is_empty() {
            PromValues::NotAsked
        } else if self.loaded.as_ref() != Some(&keys) {
            let step = self.config.interval.max(Duration::from_millis(1));
            let len = self.config.history.max(1);
            let end = (unix_seconds(SystemTime::now()) * 1000.0).round() / 1000.0;
            let start = end - step.as_secs_f64() * (len - 1) as f64;
            match self.client.query_range(&expr, start, end, step).await {
                Ok(series) => {
                    self.loaded = Some(keys.clone());
                    let rows = parts_history(&series, start, step, len)
                        .iter()
                        .filter_map(|(key, rows)| {
                            Some((entry_of(key)?, rows.iter().map(combine).collect()))
                        })
                        .collect();
                    PromValues::History { step, rows }
                }
                Err(e) => PromValues::Failed(e),
            }
        } else {
            match self.client.query(&expr).await {
                Ok(samples) => PromValues::Now(
                    parts_now(&samples)
                        .iter()
                        .filter_map(|(key, parts)| Some((entry_of(key)?, combine(parts))))
                        .collect(),
                ),
                Err(e) => PromValues::Failed(e),
            }
        };
        PromRound {
            targets,
            other_targets,
            values,
        }
    }
}

/// Runs rounds every `config.interval` until `tx` closes; rounds never overlap. A URL that is
/// not http(s) is reported once, then the task ends.
pub async fn run_prometheus(config: PromConfig, matcher: PlanMatcher, tx: mpsc::Sender<PromFact>) {
    let interval = config.interval.max(Duration::from_millis(10));
    let url = config.url.clone();
    let mut poller = match Poller::new(config, matcher) {
        Ok(p) => p,
        Err(e) => {
            let fact = PromFact {
                url,
                at: Instant::now(),
                took: Duration::ZERO,
                outcome: Err(e),
            };
            let _ = tx.send(fact).await;
            return;
        }
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            _ = ticker.tick() => {}
        }
        let fact = poller.round().await;
        if tx.send(fact).await.is_err() {
            return;
        }
    }
}
