//! The command-line side of metrics: `metrics SERVICE [--json]`, the `nats` object of
//! `check --json`, and which Prometheus server (if any) is the source (`--prometheus [URL]`
//! over the manifests' `[prometheus]` table).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::collect::prometheus_api::PromConfig;
use crate::collect::prometheus_api::client::normalize_url;
use crate::collect::scrape::{DEFAULT_BODY_CAP, DEFAULT_SCRAPE_INTERVAL};
use crate::manifest::Source;
use crate::manifest::prometheus::{plan_prometheus_url, prometheus_setting};
use crate::metrics::attribution::Attribution;
use crate::metrics::headless::{nats_stats, sample_service, sample_service_from_prometheus};
use crate::metrics::render::{metrics_json, metrics_text};
use crate::plan::Plan;
use crate::state::live_metrics::nats_monitor;
use crate::state::metrics::MetricsConfig;

/// The Prometheus server to use: `flag` (`Some(None)` = the plan's own Prometheus) over the
/// `[prometheus]` table of `sources`; an error names what is wrong.
pub fn prometheus_config(
    flag: Option<Option<&str>>,
    plan: &Plan,
    sources: &[Source],
) -> Result<Option<PromConfig>, String> {
    let mut config = match flag {
        Some(Some(url)) => {
            let url = normalize_url(url).map_err(|e| format!("--prometheus {url}: {e}"))?;
            PromConfig::new(&url)
        }
        Some(None) => {
            let url = plan_prometheus_url(plan).ok_or(
                "--prometheus without a URL needs a Prometheus in the plan (an infra port probed as prometheus); give --prometheus URL",
            )?;
            PromConfig::new(&url)
        }
        None => match prometheus_setting(sources).map_err(|e| e.to_string())? {
            Some(setting) => setting.config(),
            None => return Ok(None),
        },
    };
    let metrics = MetricsConfig::default();
    config.watch = metrics.watch;
    config.window = metrics.window;
    Ok(Some(config))
}

/// `anychat-top metrics SERVICE`: the service's current values (two scrapes `spacing` apart,
/// or one Prometheus round) as a table or JSON; `Err` (with the words to print) for an
/// unknown service.
pub async fn metrics_command(
    plan: &Plan,
    service: &str,
    json: bool,
    prometheus: Option<&PromConfig>,
    timeout: Duration,
) -> Result<String, String> {
    let Some(entry) = plan.entry_named(service) else {
        let names: Vec<&str> = plan.entries.iter().map(|e| e.name.as_str()).collect();
        return Err(format!(
            "no service named {service:?} in the plan (known: {})",
            names.join(", ")
        ));
    };
    let spacing = DEFAULT_SCRAPE_INTERVAL;
    let state = match prometheus {
        Some(p) => {
            sample_service_from_prometheus(plan, entry, &p.url, spacing, timeout, DEFAULT_BODY_CAP)
                .await
        }
        None => sample_service(plan, entry, spacing, timeout, DEFAULT_BODY_CAP).await,
    };
    let now = Instant::now();
    let Some(m) = state.service(entry) else {
        return Err(format!("{service}: no metrics"));
    };
    let holder = m.endpoint.as_ref().and_then(|ep| match ep.attribution {
        Attribution::HeldBy(h) => plan.entries.get(h.0).map(|e| e.name.as_str()),
        _ => None,
    });
    let stale_after = state.config.stale_after;
    let words = state
        .prometheus
        .as_ref()
        .filter(|p| p.last_error.is_some())
        .map(|_| state.source_words(now).1);
    if json {
        let mut v = metrics_json(service, m, holder, now, stale_after);
        if let (Some(w), Value::Object(map)) = (&words, &mut v) {
            map.insert("prometheus".into(), Value::String(w.clone()));
        }
        Ok(serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        let mut text = metrics_text(service, m, holder, now, stale_after);
        if let Some(w) = words {
            text.push_str(&w);
            text.push('\n');
        }
        Ok(text)
    }
}

/// `report` (the JSON of `check`) with a `nats` object when the plan's NATS monitoring port
/// answers.
pub async fn with_nats_stats(report: String, plan: &Plan, timeout: Duration) -> String {
    let Some((host, port)) = nats_monitor(plan) else {
        return report;
    };
    let Some(stats) = nats_stats(&host, port, timeout).await else {
        return report;
    };
    match serde_json::from_str::<Value>(&report) {
        Ok(Value::Object(mut map)) => {
            map.insert("nats".into(), stats);
            serde_json::to_string_pretty(&Value::Object(map)).unwrap_or(report)
        }
        _ => report,
    }
}
