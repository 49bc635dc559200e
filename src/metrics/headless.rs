//! One-shot sampling for the headless commands: a service's metrics from two scrapes or from a
//! Prometheus server, and the NATS stats object, without the dashboard.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::collect::nats::poll_once;
use crate::collect::prometheus_api::matching::PlanMatcher;
use crate::collect::prometheus_api::{Poller, PromConfig, PromFact};
use crate::collect::scrape::scrape_once;
use crate::collect::{ProbeConfig, http_client};
use crate::control::port_owner::find_port_owner;
use crate::metrics::render::nats_stats_json;
use crate::plan::{EntryId, Plan};
use crate::state::metrics::{MetricsConfig, MetricsSource, MetricsState};

/// Scrapes `entry`'s metrics endpoint twice, `spacing` apart (rates need two pages), after
/// finding who holds a shared port; the returned state has that service's derived values.
pub async fn sample_service(
    plan: &Plan,
    entry: EntryId,
    spacing: Duration,
    timeout: Duration,
    cap: usize,
) -> MetricsState {
    let mut state = MetricsState::new(plan, MetricsConfig::default());
    let Some(endpoint) = state
        .claims
        .iter()
        .find(|(_, claimants)| claimants.contains(&entry))
        .map(|(e, _)| e.clone())
    else {
        return state;
    };
    let claimants = state.claims[&endpoint].clone();
    if claimants.len() > 1 {
        let port = endpoint.port;
        let owner = tokio::task::spawn_blocking(move || find_port_owner(port))
            .await
            .ok()
            .flatten();
        let mut entry_of_pid = BTreeMap::new();
        if let Some(owner) = &owner
            && let Some(e) = owner_entry(plan, &claimants, owner)
        {
            entry_of_pid.insert(owner.pid, e);
        }
        state.port_held(&endpoint, owner.map(|o| o.pid), &entry_of_pid);
    }
    let client = http_client(&ProbeConfig { timeout });
    for round in 0..2 {
        if round > 0 {
            tokio::time::sleep(spacing).await;
        }
        let fact = scrape_once(&client, &endpoint, timeout, cap).await;
        state.apply(&fact, Instant::now());
    }
    state
}

/// `entry`'s metrics from the Prometheus server at `url` in one round (the first round loads
/// the history, whose last row is now; the entry's series are read for the families); when
/// Prometheus has no current values for it (unreachable, target down, not scraped), the
/// endpoint is scraped directly as [`sample_service`] does. The state says which source won
/// and, in [`MetricsState::source_words`], what became of Prometheus.
pub async fn sample_service_from_prometheus(
    plan: &Plan,
    entry: EntryId,
    url: &str,
    spacing: Duration,
    timeout: Duration,
    cap: usize,
) -> MetricsState {
    let mut state = MetricsState::new(plan, MetricsConfig::default());
    let mut config = PromConfig::new(url);
    config.timeout = timeout;
    state.use_prometheus(url, config.interval);
    let fact = match Poller::new(config, PlanMatcher::new(plan)) {
        Ok(mut poller) => {
            poller.explore(Some(entry));
            poller.round().await
        }
        Err(e) => PromFact {
            url: url.to_owned(),
            at: Instant::now(),
            took: Duration::ZERO,
            outcome: Err(e),
        },
    };
    state.apply_prometheus(&fact, Instant::now());
    let current = state.service(entry).is_some_and(|m| {
        m.source() == MetricsSource::Prometheus
            && m.prometheus.as_ref().is_some_and(|p| p.current())
    });
    if !current {
        let direct = sample_service(plan, entry, spacing, timeout, cap).await;
        if let (Some(to), Some(from)) = (state.services.get_mut(entry.0), direct.service(entry)) {
            to.endpoint = from.endpoint.clone();
        }
    }
    state
}

/// Which of `claimants` the process `owner` is, by its command line: one naming the service
/// (`anychat-stub --name auth-service`), else one running its program (`bin/auth-service`).
pub fn owner_entry(
    plan: &Plan,
    claimants: &[EntryId],
    owner: &crate::message::PortOwner,
) -> Option<EntryId> {
    claimants
        .iter()
        .find(|e| names_entry(plan, **e, &owner.command))
        .or_else(|| {
            claimants
                .iter()
                .find(|e| runs_program(plan, **e, &owner.command))
        })
        .copied()
}

/// Whether `command` has `entry`'s name as one of its words (`anychat-stub --name auth-service`).
fn names_entry(plan: &Plan, entry: EntryId, command: &str) -> bool {
    plan.entries
        .get(entry.0)
        .is_some_and(|e| command.split_whitespace().any(|w| w == e.name))
}

/// Whether `command` runs `entry`'s program (same file name: `bin/auth-service`).
fn runs_program(plan: &Plan, entry: EntryId, command: &str) -> bool {
    let program = |s: &str| {
        s.split_whitespace()
            .next()
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("")
            .to_owned()
    };
    plan.entries.get(entry.0).is_some_and(|e| {
        e.command
            .first()
            .is_some_and(|c| !c.is_empty() && program(c) == program(command))
    })
}

/// The `nats` object for `check --json`, when the monitoring port at `host:port` answers.
pub async fn nats_stats(host: &str, port: u16, timeout: Duration) -> Option<Value> {
    let client = http_client(&ProbeConfig { timeout });
    let fact = poll_once(&client, &format!("http://{host}:{port}"), timeout).await;
    fact.outcome.ok().map(|snap| nats_stats_json(&snap))
}
