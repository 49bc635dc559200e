//! A Prometheus server as the metrics source: each round reads `/api/v1/targets` (up/down of
//! the plan's targets), then one instant query for the watched values of every matched
//! instance, or a range query for their history (first round, after an outage, or when the
//! matched targets changed), and the series of the one service being explored. Every outcome,
//! errors included, is a [`PromFact`].

pub mod client;
pub mod decode;
pub mod matching;
mod poller;
pub mod promql;
pub mod series;

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use crate::health::{ProbeResult, ProbeState};
use crate::metrics::exposition::Page;
use crate::plan::{EntryId, TargetId};
use crate::state::metrics::WatchNames;
use crate::state::metrics::history::HISTORY_LEN;
use decode::{Health, LabelSet, PromError, ScrapeTarget};
use matching::{MatchedBy, PlanMatcher};
use promql::WatchedValues;

pub use poller::Poller;

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
    /// Every label of the target (`instance`, `job` and what the configuration adds).
    pub labels: LabelSet,
    pub health: Health,
    /// Prometheus' words for the last failed scrape; empty when it succeeded.
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_scrape_duration: Option<Duration>,
    pub scrape_interval: Option<Duration>,
}

impl TargetSeen {
    pub(crate) fn new(t: &ScrapeTarget, m: matching::Match) -> Self {
        TargetSeen {
            entry: m.entry,
            target: m.target,
            by: m.by,
            instance: t.instance().to_owned(),
            job: t.job().to_owned(),
            labels: t.labels.clone(),
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
    /// The explored entry's series, as the page its service serves.
    pub explored: Option<(EntryId, Result<Page, PromError>)>,
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

/// Runs rounds every `config.interval` until `tx` closes; rounds never overlap. `explore` names
/// the entry whose series are read too (the explorer's). A URL that is not http(s) is reported
/// once, then the task ends.
pub async fn run_prometheus(
    config: PromConfig,
    matcher: PlanMatcher,
    mut explore: watch::Receiver<Option<EntryId>>,
    tx: mpsc::Sender<PromFact>,
) {
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
        poller.explore(*explore.borrow_and_update());
        let fact = poller.round().await;
        if tx.send(fact).await.is_err() {
            return;
        }
    }
}
