//! One round against the server: targets, then values now or history, then the explored
//! service's series; remembers which histories are loaded and the explored target's metadata.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use super::client::{PromClient, unix_seconds};
use super::decode::{PromError, ScrapeTarget};
use super::matching::PlanMatcher;
use super::promql::{self, InstanceJob, Windows, combine, parts_history, parts_now, quote};
use super::series::{Metadata, page_from_samples};
use super::{PromConfig, PromFact, PromRound, PromValues, TargetSeen};
use crate::metrics::exposition::Page;
use crate::plan::EntryId;

/// Polls one server round after round.
pub struct Poller {
    client: PromClient,
    matcher: PlanMatcher,
    config: PromConfig,
    /// The entries and targets whose history was loaded, until an outage or a change.
    loaded: Option<BTreeSet<(EntryId, InstanceJob)>>,
    explore: Option<EntryId>,
    /// The metadata of the target last explored.
    meta: Option<(InstanceJob, Metadata)>,
}

impl Poller {
    /// A poller for `config.url`; fails only on a URL that is not http(s).
    pub fn new(config: PromConfig, matcher: PlanMatcher) -> Result<Self, PromError> {
        Ok(Poller {
            client: PromClient::new(&config.url, config.timeout)?,
            matcher,
            config,
            loaded: None,
            explore: None,
            meta: None,
        })
    }

    /// The server's URL, normalized.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// From the next round on, also reads `entry`'s series (none: no exploring).
    pub fn explore(&mut self, entry: Option<EntryId>) {
        self.explore = entry;
    }

    /// Reads the targets, then the values now or the history, then the explored series.
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
        let explored = match self.explore {
            Some(entry) => match targets.iter().find(|t| t.entry == entry) {
                Some(seen) => Some((entry, self.page_of(seen).await)),
                None => None,
            },
            None => None,
        };
        PromRound {
            targets,
            other_targets,
            values,
            explored,
        }
    }

    /// Every series of `seen`'s target, as its page; the metadata is read once per target.
    async fn page_of(&mut self, seen: &TargetSeen) -> Result<Page, PromError> {
        let key = (seen.instance.clone(), seen.job.clone());
        if self.meta.as_ref().is_none_or(|(k, _)| *k != key) {
            // Without metadata (an old server, a timeout) the labels tell the types; ask
            // again next round.
            self.meta = match self.client.metadata(&seen.instance, &seen.job).await {
                Ok(m) => Some((key.clone(), m)),
                Err(_) => None,
            };
        }
        let none = Metadata::new();
        let meta = self
            .meta
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map_or(&none, |(_, m)| m);
        let expr = format!(
            "{{instance={},job={}}}",
            quote(&seen.instance),
            quote(&seen.job)
        );
        let samples = self.client.query(&expr).await?;
        Ok(page_from_samples(&samples, &seen.labels, meta))
    }
}
