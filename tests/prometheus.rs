//! A real Prometheus server (Debian's `prometheus`) scraping two `anychat-stub`s every second:
//! its targets tied to the plan, history from before the dashboard started, values matching
//! the direct scrape within a scrape interval, the explored service's families, the headless
//! sampling, and, once it is stopped, an error in words while the direct scrape carries on.

mod support;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anychat_top::collect::prometheus_api::client::{PromClient, unix_seconds};
use anychat_top::collect::prometheus_api::decode::{Health, PromError};
use anychat_top::collect::prometheus_api::matching::{MatchedBy, PlanMatcher};
use anychat_top::collect::prometheus_api::{PromConfig, PromFact, PromValues, run_prometheus};
use anychat_top::collect::scrape::{Endpoint, ScrapeFact, run_scraper, scrape_once};
use anychat_top::collect::{ProbeConfig, http_client};
use anychat_top::health::ProbeState;
use anychat_top::metrics::exposition::{Page, Value};
use anychat_top::metrics::headless::sample_service_from_prometheus;
use anychat_top::metrics::render::metrics_text;
use anychat_top::plan::{EntryId, Plan};
use anychat_top::state::metrics::explorer::SeriesStore;
use anychat_top::state::metrics::history::Watched;
use anychat_top::state::metrics::{MetricsConfig, MetricsSource, MetricsState};
use tokio::sync::{mpsc, watch};

use support::process::{
    ChildGuard, free_low_port, require_binary, wait_for_port, wait_for_port_closed,
};
use support::prometheus::{config, eventually, next_fact, plan, round, stub};

const SECOND: Duration = Duration::from_secs(1);
/// Prometheus' scrape interval in these tests.
const SCRAPE: Duration = Duration::from_secs(1);

/// What every phase of the test knows.
struct Scene {
    plan: Plan,
    auth: EntryId,
    user: EntryId,
    push: EntryId,
    /// auth-service's metrics port.
    p_auth: u16,
    /// `127.0.0.1:port` of Prometheus, and its URL.
    listen: String,
    url: String,
    client: PromClient,
}

/// The sum of a page's `grpc_server_handled_total` series.
fn handled(page: &Page) -> f64 {
    page.family("grpc_server_handled_total")
        .map(|f| {
            f.series
                .iter()
                .map(|s| match s.value {
                    Value::Scalar(v) => v,
                    _ => 0.0,
                })
                .sum()
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_feeds_the_metrics_state() {
    let Some(prometheus) = require_binary("prometheus") else {
        return;
    };
    let (p_auth, p_user, p_push, p_prom) = (
        free_low_port(),
        free_low_port(),
        free_low_port(),
        free_low_port(),
    );
    // auth serves 50 requests a second, user 20: values from one cannot pass for the other's.
    let _auth = stub("auth-service", p_auth, "20ms").await;
    let _user = stub("user-service", p_user, "50ms").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config(p_auth, p_user, p_push, p_prom)).expect("config");
    let listen = format!("127.0.0.1:{p_prom}");
    let mut server = ChildGuard::spawn(Command::new(&prometheus).args([
        &format!("--config.file={}", config_path.display()),
        &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        &format!("--web.listen-address={listen}"),
        "--log.level=warn",
    ]));
    assert!(
        wait_for_port(p_prom, 30 * SECOND).await,
        "prometheus on {p_prom}"
    );
    let url = format!("http://{listen}");
    let client = PromClient::new(&url, 3 * SECOND).expect("client");
    // Let Prometheus scrape both stubs a few times before the "dashboard" starts.
    let scraped = eventually(30 * SECOND, || async {
        let counts = client
            .query(r#"count_over_time(up{job=~"anychat|user-service"}[1m])"#)
            .await
            .unwrap_or_default();
        counts.len() == 3 && counts.iter().all(|s| s.value >= 5.0)
    })
    .await;
    assert!(scraped, "five scrapes of each target within 30 s");
    assert!(server.exited().is_none(), "prometheus still running");
    let plan = plan(p_auth, p_user, p_push);
    let s = Scene {
        auth: plan.entry_named("auth-service").expect("auth"),
        user: plan.entry_named("user-service").expect("user"),
        push: plan.entry_named("push-service").expect("push"),
        plan,
        p_auth,
        listen,
        url,
        client,
    };

    let mut state = MetricsState::new(&s.plan, MetricsConfig::default());
    let mut prom_config = PromConfig::new(&s.listen);
    prom_config.interval = SCRAPE;
    state.use_prometheus(&s.url, prom_config.interval);
    let (tx, mut prom_rx) = mpsc::channel(4);
    // The explorer shows auth-service: its series are read too.
    let (_explore, explore_rx) = watch::channel(Some(s.auth));
    let matcher = PlanMatcher::new(&s.plan);
    let collector = tokio::spawn(run_prometheus(prom_config, matcher, explore_rx, tx));
    first_round(&s, &mut state, &mut prom_rx).await;
    headless_from_prometheus(&s).await;
    raw_values_within_a_scrape(&s).await;

    // Both sources feed the same state.
    let (scrape_tx, mut scrape_rx) = mpsc::channel::<ScrapeFact>(16);
    let endpoints = state.endpoints();
    let scraper = tokio::spawn(run_scraper(endpoints, SCRAPE, SECOND, 8 << 20, scrape_tx));
    both_sources(&s, &mut state, &mut prom_rx, &mut scrape_rx).await;
    explorer_from_either_source(&s, &state);

    // Prometheus stops: said in words; the direct scrape carries on.
    drop(server);
    assert!(wait_for_port_closed(p_prom, 10 * SECOND).await);
    after_the_stop(&s, &mut state, &mut prom_rx, &mut scrape_rx).await;

    // Closing the channels ends both collectors.
    drop((prom_rx, scrape_rx));
    for task in [collector, scraper] {
        tokio::time::timeout(10 * SECOND, task)
            .await
            .expect("collector ends when its channel closes")
            .expect("no panic");
    }
}

/// The plan's targets with their health, and the history so far.
async fn first_round(s: &Scene, state: &mut MetricsState, prom_rx: &mut mpsc::Receiver<PromFact>) {
    let Scene {
        plan,
        auth,
        user,
        push,
        url,
        ..
    } = s;
    let (auth, user, push) = (*auth, *user, *push);
    let first = next_fact(prom_rx).await;
    assert_eq!(&first.url, url);
    let r = round(&first);
    let by_entry = |e: EntryId| r.targets.iter().find(|t| t.entry == e).expect("matched");
    assert_eq!(r.targets.len(), 3);
    assert_eq!(r.other_targets, 1, "Prometheus' own target is not ours");
    assert_eq!(by_entry(auth).by, MatchedBy::Instance);
    assert_eq!(by_entry(user).by, MatchedBy::Name);
    assert_eq!(by_entry(user).instance, "user-box-1");
    assert_eq!(by_entry(push).health, Health::Down);
    assert!(
        by_entry(push).last_error.contains("connection refused"),
        "{}",
        by_entry(push).last_error
    );
    let probes = r.probe_results();
    let state_of = |e: EntryId| {
        probes
            .iter()
            .find(|(t, _)| plan.targets[t.0].entry == e)
            .map(|(_, p)| p.state)
    };
    assert_eq!(state_of(auth), Some(ProbeState::Up));
    assert_eq!(state_of(user), Some(ProbeState::Up));
    assert_eq!(state_of(push), Some(ProbeState::Down));
    let PromValues::History { step, rows } = &r.values else {
        panic!("the first round loads history: {:?}", r.values);
    };
    assert_eq!(*step, SCRAPE);
    for entry in [auth, user] {
        let (_, rows) = rows.iter().find(|(e, _)| *e == entry).expect("history");
        assert_eq!(rows.len(), 120);
        let known = rows.iter().filter(|r| r.values[3].is_some()).count();
        assert!(
            known >= 4,
            "{known} samples of goroutines from before we asked"
        );
    }
    assert!(state.apply_prometheus(&first, Instant::now()));
}

/// `anychat-top metrics auth-service --prometheus URL`: one round is enough.
async fn headless_from_prometheus(s: &Scene) {
    let Scene {
        plan, auth, url, ..
    } = s;
    let auth = *auth;
    let one = sample_service_from_prometheus(plan, auth, url, SECOND / 2, SECOND, 8 << 20).await;
    let m = one.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Prometheus);
    assert!(m.current(Watched::RequestRate).is_some_and(|r| r > 20.0));
    assert!(m.store().is_some_and(|s| s.families.len() > 20));
    let text = metrics_text("auth-service", m, None, Instant::now(), SECOND * 6);
    assert!(
        text.starts_with("auth-service  (source: prometheus)\n"),
        "{text}"
    );
}

/// Prometheus' sample of auth's handled counter lies between the direct scrapes just before
/// and just after the moment Prometheus scraped it.
async fn raw_values_within_a_scrape(s: &Scene) {
    let Scene { p_auth, client, .. } = s;
    let p_auth = *p_auth;
    let endpoint = Endpoint::new("127.0.0.1", p_auth);
    let http = http_client(&ProbeConfig { timeout: SECOND });
    let expr = format!(
        r#"label_replace(sum(grpc_server_handled_total{{instance="127.0.0.1:{p_auth}"}}), "k", "value", "", "") or label_replace(max(timestamp(grpc_server_handled_total{{instance="127.0.0.1:{p_auth}"}})), "k", "time", "", "")"#
    );
    let mut direct: Vec<(f64, f64, f64)> = Vec::new();
    let mut answer = None;
    for i in 0..40 {
        let before = unix_seconds(SystemTime::now());
        let fact = scrape_once(&http, &endpoint, SECOND, 8 << 20).await;
        let after = unix_seconds(SystemTime::now());
        direct.push((
            before,
            after,
            handled(fact.outcome.as_ref().expect("direct page")),
        ));
        if i == 20 {
            answer = Some(client.query(&expr).await.expect("instant query"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = answer.expect("asked");
    let get = |k: &str| {
        answer
            .iter()
            .find(|s| s.labels.get("k").is_some_and(|v| v == k))
            .map(|s| s.value)
            .expect(k)
    };
    let (value, scraped_at) = (get("value"), get("time"));
    let below: Vec<f64> = direct
        .iter()
        .filter(|d| d.1 < scraped_at)
        .map(|d| d.2)
        .collect();
    // The page Prometheus read was made within its scrape timeout (1 s) after it started.
    let above: Vec<f64> = direct
        .iter()
        .filter(|d| d.0 > scraped_at + SCRAPE.as_secs_f64())
        .map(|d| d.2)
        .collect();
    assert!(
        direct
            .iter()
            .any(|d| d.1 < scraped_at && d.1 > scraped_at - 1.0),
        "a direct scrape within a second before Prometheus'"
    );
    assert!(
        direct
            .iter()
            .any(|d| d.0 > scraped_at + 1.0 && d.0 < scraped_at + 2.0),
        "a direct scrape within a second after Prometheus' timeout"
    );
    let (lo, hi) = (
        below.iter().copied().fold(f64::MIN, f64::max),
        above.iter().copied().fold(f64::MAX, f64::min),
    );
    assert!(lo <= value && value <= hi, "{lo} <= {value} <= {hi}");
    assert!(hi - lo < 200.0, "the bracket is tight: {lo}..{hi}");
}

/// Derived values from Prometheus match the direct scrape's.
async fn both_sources(
    s: &Scene,
    state: &mut MetricsState,
    prom_rx: &mut mpsc::Receiver<PromFact>,
    scrape_rx: &mut mpsc::Receiver<ScrapeFact>,
) {
    let Scene {
        auth, user, listen, ..
    } = s;
    let (auth, user) = (*auth, *user);
    let until = Instant::now() + 6 * SECOND;
    let mut rounds_now = 0;
    while Instant::now() < until {
        tokio::select! {
            Some(f) = prom_rx.recv() => {
                if matches!(round(&f).values, PromValues::Now(_)) {
                    rounds_now += 1;
                }
                state.apply_prometheus(&f, Instant::now());
            }
            Some(f) = scrape_rx.recv() => { state.apply(&f, Instant::now()); }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    assert!(rounds_now >= 3, "{rounds_now} rounds of values now");
    let mean = |h: Vec<f64>| {
        let tail: Vec<f64> = h
            .into_iter()
            .rev()
            .filter(|v| !v.is_nan())
            .take(3)
            .collect();
        assert!(!tail.is_empty(), "values");
        tail.iter().sum::<f64>() / tail.len() as f64
    };
    for (entry, expected_rate) in [(auth, 50.0), (user, 20.0)] {
        let m = state.service(entry).expect("service");
        assert_eq!(m.source(), MetricsSource::Prometheus);
        let prom = &m.prometheus.as_ref().expect("prometheus side").watched;
        let ep = &m.endpoint.as_ref().expect("endpoint side").watched;
        let both = |w: Watched| {
            (
                mean(prom.history(w).values().collect()),
                mean(ep.history(w).values().collect()),
            )
        };
        let (p, d) = both(Watched::RequestRate);
        assert!(
            (p - d).abs() <= 0.2 * d && p > expected_rate * 0.5 && p < expected_rate * 1.3,
            "req/s from Prometheus {p}, direct {d}"
        );
        let (p, d) = both(Watched::Rss);
        assert!((p - d).abs() <= 0.1 * d, "rss {p} vs {d}");
        // 9 + 2 per open connection + 0..3 that changes every second.
        let (p, d) = both(Watched::Goroutines);
        assert!((p - d).abs() <= 5.0, "goroutines {p} vs {d}");
        let (p, d) = both(Watched::P95);
        assert!(
            p > 0.0 && d > 0.0 && p / d < 3.0 && d / p < 3.0,
            "p95 {p} vs {d}"
        );
        assert!(
            m.current(Watched::Cpu)
                .is_some_and(|c| (0.0..100.0).contains(&c))
        );
        assert_eq!(
            m.current(Watched::ErrorRate).map(f64::is_finite),
            Some(true)
        );
    }
    assert_eq!(
        state.source_words(Instant::now()).1,
        format!("metrics: Prometheus {listen}, 3 services")
    );
}

/// The explorer lists the same families, with the same series, from either source.
fn explorer_from_either_source(s: &Scene, state: &MetricsState) {
    let (auth, user) = (s.auth, s.user);
    let m = state.service(auth).expect("auth");
    let from_prometheus = &m.prometheus.as_ref().expect("prometheus side").store;
    let direct = &m.endpoint.as_ref().expect("endpoint side").store;
    let listing = |store: &SeriesStore| {
        store
            .families
            .iter()
            .map(|f| {
                let keys: Vec<&str> = f.series.iter().map(|(k, _)| k.as_str()).collect();
                (f.name.clone(), f.kind, f.help.clone(), keys.join(" "))
            })
            .collect::<Vec<_>>()
    };
    assert!(from_prometheus.families.len() > 20);
    assert_eq!(listing(from_prometheus), listing(direct));
    assert_eq!(
        m.store().map(|s| s.families.len()),
        Some(from_prometheus.families.len())
    );
    assert!(
        state
            .service(user)
            .and_then(|m| m.prometheus.as_ref())
            .is_some_and(|p| p.store.families.is_empty()),
        "only the explored service's series are read"
    );
}

/// A failed round in words, the direct scrape shown, the headless command falling back too.
async fn after_the_stop(
    s: &Scene,
    state: &mut MetricsState,
    prom_rx: &mut mpsc::Receiver<PromFact>,
    scrape_rx: &mut mpsc::Receiver<ScrapeFact>,
) {
    let Scene {
        plan,
        auth,
        listen,
        url,
        ..
    } = s;
    let auth = *auth;
    let scrapes_before = state
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .map_or(0, |e| e.scrapes);
    let mut failed = None;
    let until = Instant::now() + 10 * SECOND;
    while Instant::now() < until && failed.is_none() {
        tokio::select! {
            Some(f) = prom_rx.recv() => {
                state.apply_prometheus(&f, Instant::now());
                if let Err(e) = &f.outcome {
                    failed = Some(e.clone());
                }
            }
            Some(f) = scrape_rx.recv() => { state.apply(&f, Instant::now()); }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    let failed = failed.expect("a failed round after the stop");
    assert!(
        matches!(&failed, PromError::Connect(e) if e.contains("refused")),
        "{failed:?}"
    );
    // Two more direct scrapes.
    while state
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .map_or(0, |e| e.scrapes)
        < scrapes_before + 2
    {
        let f = tokio::time::timeout(5 * SECOND, scrape_rx.recv())
            .await
            .expect("the direct scrape goes on")
            .expect("scraper alive");
        state.apply(&f, Instant::now());
    }
    let m = state.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Endpoint);
    assert!(m.current(Watched::RequestRate).is_some_and(|r| r > 10.0));
    let (_, words) = state.source_words(Instant::now());
    assert!(
        words.starts_with(&format!("metrics: Prometheus {listen} unreachable: "))
            && words.contains("refused")
            && words.contains("; down for ")
            && words.ends_with("; direct scrape meanwhile"),
        "{words}"
    );

    // The headless command falls back the same way.
    let one = sample_service_from_prometheus(plan, auth, url, SECOND / 2, SECOND, 8 << 20).await;
    let m = one.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Endpoint);
    assert!(m.current(Watched::RequestRate).is_some_and(|r| r > 10.0));
    assert!(one.source_words(Instant::now()).1.contains("unreachable"));
}
