//! Prometheus rounds applied to the metrics state: values and loaded history, the preferred
//! source and the fallbacks (server away, target down), words for the status bar, and the
//! probe results a round gives the plan's targets. No network, no clock.

use std::time::{Duration, Instant};

use super::*;
use crate::collect::prometheus_api::decode::PromError;
use crate::collect::prometheus_api::matching::MatchedBy;
use crate::collect::prometheus_api::{PromRound, TargetSeen};
use crate::collect::scrape::ScrapeFact;
use crate::health::ProbeState;
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::metrics::exposition::decode;
use crate::plan::{EntryId, Plan, TargetId};
use crate::state::metrics::history::Watched;
use crate::state::metrics::{MetricsConfig, MetricsSource};

const URL: &str = "http://127.0.0.1:9090";

fn demo() -> (Plan, MetricsState, EntryId) {
    let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
    let auth = plan.entry_named("auth-service").expect("auth");
    let mut s = MetricsState::new(&plan, MetricsConfig::default());
    s.use_prometheus(URL, Duration::from_secs(2));
    (plan, s, auth)
}

fn seen(entry: EntryId, instance: &str, health: Health, error: &str) -> TargetSeen {
    TargetSeen {
        entry,
        target: Some(TargetId(7)),
        by: MatchedBy::Instance,
        instance: instance.into(),
        job: "auth-service".into(),
        labels: Default::default(),
        health,
        last_error: error.into(),
        last_scrape: None,
        last_scrape_duration: Some(Duration::from_micros(800)),
        scrape_interval: Some(Duration::from_secs(1)),
    }
}

fn values(req: f64, gor: f64) -> WatchedValues {
    WatchedValues {
        values: [
            Some(req),
            Some(0.0),
            Some(0.02),
            Some(gor),
            Some(1e7),
            Some(1.5),
        ],
        quantiles: [Some(0.01), Some(0.02), Some(0.04)],
    }
}

fn round(targets: Vec<TargetSeen>, values: PromValues) -> PromRound {
    PromRound {
        targets,
        other_targets: 3,
        explored: None,
        values,
    }
}

fn fact(at: Instant, outcome: Result<PromRound, PromError>) -> PromFact {
    PromFact {
        url: URL.into(),
        at,
        took: Duration::from_millis(4),
        outcome,
    }
}

fn up(entry: EntryId) -> Vec<TargetSeen> {
    vec![seen(entry, "127.0.0.1:2113", Health::Up, "")]
}

fn history(s: &MetricsState, entry: EntryId, w: Watched) -> Vec<f64> {
    s.service(entry)
        .and_then(|m| m.watched())
        .map(|set| set.history(w).values().collect())
        .unwrap_or_default()
}

#[test]
fn history_first_then_values_now() {
    let (_, mut s, auth) = demo();
    let t0 = Instant::now();
    // The first round loads what Prometheus recorded before we started, gaps included.
    let mut rows = vec![
        values(10.0, 9.0),
        WatchedValues::default(),
        values(30.0, 11.0),
    ];
    rows.insert(0, WatchedValues::default());
    let first = round(
        up(auth),
        PromValues::History {
            step: Duration::from_secs(2),
            rows: vec![(auth, rows)],
        },
    );
    assert!(s.apply_prometheus(&fact(t0, Ok(first)), t0));
    let m = s.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Prometheus);
    let p = m.prometheus.as_ref().expect("prometheus side");
    assert_eq!(p.loaded, 4);
    assert_eq!(p.quantiles, [Some(0.01), Some(0.02), Some(0.04)]);
    let req = history(&s, auth, Watched::RequestRate);
    assert!(req[0].is_nan() && req[1] == 10.0 && req[2].is_nan() && req[3] == 30.0);
    assert_eq!(m.current(Watched::Goroutines), Some(11.0));
    // Then one sample per round.
    let t1 = t0 + Duration::from_secs(2);
    let next = round(up(auth), PromValues::Now(vec![(auth, values(40.0, 12.0))]));
    s.apply_prometheus(&fact(t1, Ok(next)), t1);
    assert_eq!(history(&s, auth, Watched::RequestRate).len(), 5);
    assert_eq!(
        s.service(auth)
            .and_then(|m| m.current(Watched::RequestRate)),
        Some(40.0)
    );
    let p = s
        .service(auth)
        .and_then(|m| m.prometheus.as_ref())
        .expect("p");
    assert!(!p.stale(t1));
    // Three rounds without values (6 s, and the configured 6 s) make them stale.
    assert!(p.stale(t1 + Duration::from_secs(7)));
}

#[test]
fn prometheus_is_preferred_and_the_direct_scrape_takes_over() {
    let (_, mut s, auth) = demo();
    let endpoint = s
        .claims
        .iter()
        .find(|(_, e)| e.contains(&auth))
        .map(|(k, _)| k.clone())
        .expect("auth endpoint");
    let t0 = Instant::now();
    let page = "go_goroutines 33\nprocess_resident_memory_bytes 5e6\n";
    let scrape = |at| ScrapeFact {
        endpoint: endpoint.clone(),
        at,
        took: Duration::from_millis(1),
        outcome: Ok(decode(page)),
    };
    s.apply(&scrape(t0), t0);
    assert_eq!(
        s.service(auth).map(|m| m.source()),
        Some(MetricsSource::Endpoint)
    );
    let now = round(up(auth), PromValues::Now(vec![(auth, values(5.0, 12.0))]));
    s.apply_prometheus(&fact(t0, Ok(now)), t0);
    let m = s.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Prometheus);
    assert_eq!(m.current(Watched::Goroutines), Some(12.0));
    // Prometheus goes away: the endpoint's values are shown, Prometheus' are kept.
    assert_eq!(
        s.prometheus_targets().into_iter().collect::<Vec<_>>(),
        [TargetId(7)]
    );
    let t1 = t0 + Duration::from_secs(2);
    let refused = PromError::Connect("connection refused".into());
    assert!(s.apply_prometheus(&fact(t1, Err(refused.clone())), t1));
    // Away: the direct probe of its target counts again.
    assert!(s.prometheus_targets().is_empty());
    s.apply(&scrape(t1), t1);
    let m = s.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Endpoint);
    assert_eq!(m.current(Watched::Goroutines), Some(33.0));
    let p = m.prometheus.as_ref().expect("kept");
    assert!(!p.listed && p.stale(t1));
    assert_eq!(p.watched.current(Watched::Goroutines), Some(12.0));
    let (sev, words) = s.source_words(t1 + Duration::from_secs(5));
    assert_eq!(sev, Severity::Error);
    assert_eq!(
        words,
        "metrics: Prometheus 127.0.0.1:9090 unreachable: connection refused; down for 5s, tried 5s ago; direct scrape meanwhile"
    );
    // Back: Prometheus again, and the outage is over.
    let t2 = t1 + Duration::from_secs(10);
    let back = round(up(auth), PromValues::Now(vec![(auth, values(6.0, 13.0))]));
    s.apply_prometheus(&fact(t2, Ok(back)), t2);
    assert_eq!(
        s.service(auth).map(|m| m.source()),
        Some(MetricsSource::Prometheus)
    );
    let status = s.prometheus.as_ref().expect("status");
    assert_eq!(
        (status.down_since, status.last_error.as_ref()),
        (None, None)
    );
    assert_eq!(
        s.source_words(t2).1,
        "metrics: Prometheus 127.0.0.1:9090, 1 services"
    );
}

#[test]
fn a_target_down_in_prometheus_falls_back_but_keeps_its_words() {
    let (_, mut s, auth) = demo();
    let t0 = Instant::now();
    let now = round(up(auth), PromValues::Now(vec![(auth, values(5.0, 12.0))]));
    s.apply_prometheus(&fact(t0, Ok(now)), t0);
    let error = "Get \"http://127.0.0.1:2113/metrics\": dial tcp 127.0.0.1:2113: connect: connection refused";
    let down = round(
        vec![seen(auth, "127.0.0.1:2113", Health::Down, error)],
        PromValues::Now(vec![]),
    );
    let t1 = t0 + Duration::from_secs(2);
    s.apply_prometheus(&fact(t1, Ok(down.clone())), t1);
    let m = s.service(auth).expect("auth");
    // No endpoint answer, no logs: Prometheus' last values, stale.
    assert_eq!(m.source(), MetricsSource::Prometheus);
    let p = m.prometheus.as_ref().expect("p");
    assert!(p.stale(t1));
    assert_eq!(p.seen.last_error, error);
    assert_eq!(m.current(Watched::Goroutines), Some(12.0));
    // Its up/down for the plan's target.
    let results = down.probe_results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, TargetId(7));
    assert_eq!(results[0].1.state, ProbeState::Down);
    assert_eq!(results[0].1.detail, format!("Prometheus: {error}"));
    let ok = round(up(auth), PromValues::NotAsked).probe_results();
    assert_eq!(ok[0].1.state, ProbeState::Up);
    assert_eq!(ok[0].1.latency, Duration::from_micros(800));
    assert_eq!(
        ok[0].1.detail,
        "Prometheus: up (auth-service 127.0.0.1:2113)"
    );
}

#[test]
fn another_target_starts_over_and_query_errors_are_said() {
    let (_, mut s, auth) = demo();
    let t0 = Instant::now();
    s.apply_prometheus(
        &fact(
            t0,
            Ok(round(
                up(auth),
                PromValues::Now(vec![(auth, values(5.0, 12.0))]),
            )),
        ),
        t0,
    );
    let moved = vec![seen(auth, "10.0.0.9:2112", Health::Up, "")];
    let t1 = t0 + Duration::from_secs(2);
    s.apply_prometheus(&fact(t1, Ok(round(moved, PromValues::NotAsked))), t1);
    let p = s
        .service(auth)
        .and_then(|m| m.prometheus.as_ref())
        .expect("p");
    assert_eq!(p.seen.instance, "10.0.0.9:2112");
    assert!(p.watched.history(Watched::Goroutines).is_empty());
    assert_eq!(
        s.service(auth).map(|m| m.source()),
        Some(MetricsSource::None)
    );
    let refused = PromError::Api {
        status: 400,
        error_type: "bad_data".into(),
        error: "parse error".into(),
    };
    let t2 = t1 + Duration::from_secs(2);
    let failed = round(up(auth), PromValues::Failed(refused));
    s.apply_prometheus(&fact(t2, Ok(failed)), t2);
    let (sev, words) = s.source_words(t2);
    assert_eq!(sev, Severity::Warning);
    assert_eq!(
        words,
        "metrics: Prometheus 127.0.0.1:9090 query failed: HTTP 400 bad_data: parse error"
    );
}

#[test]
fn status_words_before_and_without_matches() {
    let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
    let mut s = MetricsState::new(&plan, MetricsConfig::default());
    let t0 = Instant::now();
    assert_eq!(
        s.source_words(t0),
        (Severity::Info, "metrics: direct scrape".into())
    );
    s.use_prometheus("https://prom.example:9090/p", Duration::from_secs(5));
    assert_eq!(
        s.source_words(t0).1,
        "metrics: Prometheus https://prom.example:9090/p (no answer yet)"
    );
    // Rounds every 5 s: values stay current for three of them.
    assert_eq!(s.prometheus_stale_after(), Duration::from_secs(15));
    s.apply_prometheus(&fact(t0, Ok(round(vec![], PromValues::NotAsked))), t0);
    assert_eq!(
        s.source_words(t0),
        (
            Severity::Warning,
            "metrics: Prometheus https://prom.example:9090/p scrapes none of ours (3 other targets)"
                .into()
        )
    );
    // An entry index past the plan is ignored, not a panic.
    let stray = round(
        vec![seen(EntryId(999), "h:1", Health::Up, "")],
        PromValues::Now(vec![(EntryId(999), values(1.0, 1.0))]),
    );
    assert!(s.apply_prometheus(&fact(t0, Ok(stray)), t0));
}

#[test]
fn the_explored_service_gets_its_series() {
    let (_, mut s, auth) = demo();
    let t0 = Instant::now();
    let page = "# TYPE go_goroutines gauge\ngo_goroutines 12\n# TYPE x_total counter\nx_total{a=\"b\"} 3\n";
    let mut r = round(up(auth), PromValues::Now(vec![(auth, values(5.0, 12.0))]));
    r.explored = Some((auth, Ok(decode(page))));
    s.apply_prometheus(&fact(t0, Ok(r)), t0);
    let m = s.service(auth).expect("auth");
    let store = m.store().expect("the shown source's series");
    let names: Vec<&str> = store.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["go_goroutines", "x_total"]);
    assert_eq!(store.points("x_total{a=\"b\"}"), vec![(t0, 3.0)]);
    // A failure is said; the series already read stay.
    let t1 = t0 + Duration::from_secs(2);
    let mut r = round(up(auth), PromValues::Now(vec![(auth, values(5.0, 12.0))]));
    r.explored = Some((auth, Err(PromError::Timeout(Duration::from_secs(3)))));
    s.apply_prometheus(&fact(t1, Ok(r)), t1);
    let p = s
        .service(auth)
        .and_then(|m| m.prometheus.as_ref())
        .expect("p");
    assert_eq!(p.explore_error.as_deref(), Some("no answer in 3s"));
    assert_eq!(p.store.families.len(), 2);
}
