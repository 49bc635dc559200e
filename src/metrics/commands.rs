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
use crate::state::metrics::{MetricsConfig, MetricsSource, MetricsState};

/// The `[metrics.watch]` family names of the last source that has the table.
pub fn watch_names(
    sources: &[Source],
) -> Result<Option<crate::state::metrics::WatchNames>, crate::manifest::ManifestError> {
    let mut found = None;
    for source in sources {
        if let Some(watch) = crate::manifest::load::parse(source)?
            .metrics
            .and_then(|m| m.watch)
        {
            found = Some(watch);
        }
    }
    Ok(found)
}

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
    config.watch = watch_names(sources)
        .map_err(|e| e.to_string())?
        .unwrap_or(metrics.watch);
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
    log_dir: Option<&std::path::Path>,
) -> Result<String, String> {
    let Some(entry) = plan.entry_named(service) else {
        let names: Vec<&str> = plan.entries.iter().map(|e| e.name.as_str()).collect();
        return Err(format!(
            "no service named {service:?} in the plan (known: {})",
            names.join(", ")
        ));
    };
    let spacing = DEFAULT_SCRAPE_INTERVAL;
    let mut state = match prometheus {
        Some(p) => {
            sample_service_from_prometheus(plan, entry, &p.url, spacing, timeout, DEFAULT_BODY_CAP)
                .await
        }
        None => sample_service(plan, entry, spacing, timeout, DEFAULT_BODY_CAP).await,
    };
    let now = Instant::now();
    // No endpoint, no Prometheus: the service's own request lines, as the dashboard's
    // `--log-dir` kept them.
    if let Some(dir) = log_dir
        && state
            .service(entry)
            .is_some_and(|m| m.source() == MetricsSource::None)
    {
        let file = dir.join(crate::control::log_files::file_name(service));
        if file.is_file() {
            feed_log_file(&mut state, entry, &file, now, jiff::Timestamp::now());
        }
    }
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

/// The last lines of a service's log file (at most [`LOG_TAIL`] bytes) fed to its log-derived
/// metrics, each at the time its zap line says (`wall_now` ↔ `now`); lines older than the
/// window or without a time are left out. Returns how many lines were fed.
pub fn feed_log_file(
    state: &mut MetricsState,
    entry: crate::plan::EntryId,
    file: &std::path::Path,
    now: Instant,
    wall_now: jiff::Timestamp,
) -> usize {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(file) else {
        return 0;
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(LOG_TAIL);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return 0;
    }
    let mut bytes = Vec::new();
    if f.read_to_end(&mut bytes).is_err() {
        return 0;
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        lines.next(); // cut in the middle
    }
    let window = state.config.window;
    let mut fed = 0;
    for line in lines {
        let Some(time) = crate::logs::zap::parse_structured(line).and_then(|s| s.time) else {
            continue;
        };
        let Ok(age) = Duration::try_from(wall_now.duration_since(time)) else {
            continue; // in the future: a clock that moved
        };
        if age > window {
            continue;
        }
        state.observe(entry, [line], now.checked_sub(age).unwrap_or(now));
        fed += 1;
    }
    state.tick(now, Duration::ZERO);
    fed
}

/// How much of a log file `metrics SERVICE --log-dir DIR` reads, from its end.
pub const LOG_TAIL: u64 = 4 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PlanOptions, build_plan};

    fn source(text: &str) -> Source {
        Source {
            path: "t.toml".into(),
            text: text.into(),
        }
    }

    const SERVICE: &str =
        "[[service]]\nname = \"auth-service\"\nhttp_port = 18001\nmetrics_port = 12112\n";

    #[test]
    fn metrics_watch_table_names_the_families() {
        let s = source(&format!(
            "{SERVICE}\n[metrics.watch]\ngoroutines = \"my_goroutines\"\nrequests = [\"rpc_total\"]\n"
        ));
        let w = watch_names(&[s]).unwrap().unwrap();
        assert_eq!(w.goroutines, "my_goroutines");
        assert_eq!(w.requests, ["rpc_total"]);
        assert_eq!(w.rss, "process_resident_memory_bytes", "defaults kept");
        let typo = source(&format!("{SERVICE}\n[metrics.watch]\ngorutines = \"x\"\n"));
        let e = watch_names(&[typo]).unwrap_err().to_string();
        assert!(e.contains("gorutines"), "{e}");
        assert_eq!(watch_names(&[source(SERVICE)]).unwrap(), None);
    }

    #[test]
    fn prometheus_flag_over_table_and_the_plans_own() {
        let with_table = source(&format!(
            "{SERVICE}\n[prometheus]\nurl = \"prom.internal:9090\"\ninterval = \"5s\"\n"
        ));
        let plan = build_plan(std::slice::from_ref(&with_table), &PlanOptions::default()).unwrap();
        let sources = [with_table];
        let table = prometheus_config(None, &plan, &sources).unwrap().unwrap();
        assert_eq!(table.url, "http://prom.internal:9090");
        assert_eq!(table.interval, Duration::from_secs(5));
        let flag = prometheus_config(Some(Some("http://other:9090")), &plan, &sources)
            .unwrap()
            .unwrap();
        assert_eq!(flag.url, "http://other:9090");
        // A bare flag needs a Prometheus in the plan; this one has none.
        let e = prometheus_config(Some(None), &plan, &sources).unwrap_err();
        assert!(e.contains("--prometheus URL"), "{e}");
        let demo = build_plan(&[Source::demo()], &PlanOptions::default()).unwrap();
        let own = prometheus_config(Some(None), &demo, &[Source::demo()])
            .unwrap()
            .unwrap();
        assert_eq!(own.url, "http://127.0.0.1:9090");
        let bad = prometheus_config(Some(Some("ftp://x")), &plan, &sources).unwrap_err();
        assert!(bad.contains("ftp://x"), "{bad}");
        assert!(
            prometheus_config(None, &demo, &[Source::demo()])
                .unwrap()
                .is_none()
        );
    }
}
