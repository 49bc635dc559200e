//! Derivation tests: rates across a counter reset, windowed quantiles, staleness, the series
//! cap, the shared-port rule, and log-derived figures, all without network or clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::collect::scrape::ScrapeError;
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::metrics::exposition::decode;

fn plan(source: Source) -> Plan {
    build_plan(&[source], &PlanOptions::default()).expect("shipped plan builds")
}

fn fact(endpoint: &Endpoint, at: Instant, body: Result<&str, ScrapeError>) -> ScrapeFact {
    ScrapeFact {
        endpoint: endpoint.clone(),
        at,
        took: Duration::from_millis(3),
        outcome: body.map(decode),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

const PAGE_1: &str = "\
grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Login\"} 100
grpc_server_handled_total{grpc_code=\"Unavailable\",grpc_method=\"Login\"} 0
http_requests_total{code=\"200\",method=\"GET\"} 50
process_cpu_seconds_total 10
go_goroutines 12
process_resident_memory_bytes 1e7
";
// Two seconds later: +20 OK, +2 Unavailable, +6 HTTP 200, and a 503 series born with 2.
const PAGE_2: &str = "\
grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Login\"} 120
grpc_server_handled_total{grpc_code=\"Unavailable\",grpc_method=\"Login\"} 2
http_requests_total{code=\"200\",method=\"GET\"} 56
http_requests_total{code=\"503\",method=\"GET\"} 2
process_cpu_seconds_total 10.5
go_goroutines 14
process_resident_memory_bytes 2e7
";
// The process restarted: every counter is back near zero.
const PAGE_3: &str = "\
grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Login\"} 4
grpc_server_handled_total{grpc_code=\"Unavailable\",grpc_method=\"Login\"} 0
http_requests_total{code=\"200\",method=\"GET\"} 2
process_cpu_seconds_total 0.2
go_goroutines 9
process_resident_memory_bytes 5e6
";

fn demo() -> (MetricsState, EntryId, Endpoint) {
    let plan = plan(Source::demo());
    let entry = plan.entry_named("auth-service").expect("auth in demo");
    let state = MetricsState::new(&plan, MetricsConfig::default());
    let endpoint = state
        .claims
        .iter()
        .find(|(_, e)| e.contains(&entry))
        .map(|(ep, _)| ep.clone())
        .expect("auth has a metrics endpoint");
    (state, entry, endpoint)
}

#[test]
fn counters_become_rates_across_a_reset() {
    let (mut s, auth, ep) = demo();
    let t0 = Instant::now();
    assert!(s.apply(&fact(&ep, t0, Ok(PAGE_1)), t0));
    let m = s.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Endpoint);
    // One page: gauges are known, rates are not yet.
    assert_eq!(m.current(Watched::Goroutines), Some(12.0));
    assert_eq!(m.current(Watched::RequestRate), None);

    let t1 = t0 + Duration::from_secs(2);
    s.apply(&fact(&ep, t1, Ok(PAGE_2)), t1);
    let m = s.service(auth).expect("auth");
    // (20 + 2 + 6 + 2) / 2 s = 15/s; failures (2 Unavailable + 2 HTTP 503) = 4 of 30.
    assert!(close(m.current(Watched::RequestRate), 15.0));
    assert!(close(m.current(Watched::ErrorRate), 4.0 / 30.0 * 100.0));
    // 0.5 CPU seconds in 2 s = 25 % of a core.
    assert!(close(m.current(Watched::Cpu), 25.0));
    assert_eq!(m.current(Watched::Rss), Some(2e7));

    let t2 = t1 + Duration::from_secs(2);
    s.apply(&fact(&ep, t2, Ok(PAGE_3)), t2);
    let m = s.service(auth).expect("auth");
    // After the reset the new values are the increase: (4 + 0 + 2) / 2 s = 3/s, no failures.
    assert!(close(m.current(Watched::RequestRate), 3.0));
    assert!(close(m.current(Watched::ErrorRate), 0.0));
    assert!(close(m.current(Watched::Cpu), 10.0));
    let history: Vec<f64> = m
        .watched()
        .expect("shown")
        .history(Watched::RequestRate)
        .values()
        .collect();
    assert_eq!(history.len(), 3);
    assert!(history[0].is_nan() && history[1] == 15.0 && history[2] == 3.0);
}

fn latency_page(le_005: u64, le_01: u64, le_025: u64, total: u64) -> String {
    format!(
        "# TYPE http_request_duration_seconds histogram\n\
         http_request_duration_seconds_bucket{{path=\"/a\",le=\"0.005\"}} {le_005}\n\
         http_request_duration_seconds_bucket{{path=\"/a\",le=\"0.01\"}} {le_01}\n\
         http_request_duration_seconds_bucket{{path=\"/a\",le=\"0.025\"}} {le_025}\n\
         http_request_duration_seconds_bucket{{path=\"/a\",le=\"+Inf\"}} {total}\n\
         http_request_duration_seconds_sum{{path=\"/a\"}} 1\n\
         http_request_duration_seconds_count{{path=\"/a\"}} {total}\n"
    )
}

#[test]
fn quantiles_are_over_the_window() {
    let (mut s, auth, ep) = demo();
    let t0 = Instant::now();
    // Lifetime so far: 100 requests all ≤ 5 ms.
    let p = latency_page(100, 100, 100, 100);
    s.apply(&fact(&ep, t0, Ok(&p)), t0);
    let q = s
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .map(|e| e.quantiles);
    // One page: over the lifetime, p95 = 0.005 × 95/100.
    assert!(close(q.and_then(|q| q[1]), 0.00475));
    // 30 s later: 40 more, 20 in (5,10] ms and 20 in (10,25] ms.
    let t1 = t0 + Duration::from_secs(30);
    let p = latency_page(100, 120, 140, 140);
    s.apply(&fact(&ep, t1, Ok(&p)), t1);
    let q = s
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .map(|e| e.quantiles);
    // Window increase: (0, 20, 40, 40). p95: rank 38 in (0.01, 0.025]: 0.01 + 0.015 × 18/20.
    assert!(close(q.and_then(|q| q[1]), 0.0235));
    // p50: rank 20 = top of (0.005, 0.01]: 0.01.
    assert!(close(q.and_then(|q| q[0]), 0.01));
    // 70 s after t0 the t0 sample has left the 60 s window: increase since t1 only.
    let t2 = t0 + Duration::from_secs(70);
    let t3 = t0 + Duration::from_secs(95);
    let p = latency_page(105, 130, 160, 165);
    s.apply(&fact(&ep, t2, Ok(&p)), t2);
    let p = latency_page(110, 140, 179, 180);
    s.apply(&fact(&ep, t3, Ok(&p)), t3);
    let q = s
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .map(|e| e.quantiles);
    // From t1 (window start at 35 s → the last sample at or before it is t1): (10, 20, 39, 40).
    // p95: rank 38 in (0.01, 0.025] (19 there, 20 below): 0.01 + 0.015 × 18/19.
    let got = q.and_then(|q| q[1]);
    assert!(close(got, 0.01 + 0.015 * 18.0 / 19.0), "{got:?}");
}

#[test]
fn errors_keep_the_last_values_and_mark_them_stale() {
    let (mut s, auth, ep) = demo();
    let t0 = Instant::now();
    s.apply(&fact(&ep, t0, Ok(PAGE_1)), t0);
    let stale_after = s.config.stale_after;
    let m = s
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .expect("ep");
    assert!(!m.stale(t0, stale_after));
    // Not scraped for longer than `stale_after`: stale without any error.
    assert!(m.stale(t0 + stale_after + Duration::from_secs(1), stale_after));
    let t1 = t0 + Duration::from_secs(2);
    let refused = ScrapeError::Connect("Connection refused (os error 111)".into());
    assert!(s.apply(&fact(&ep, t1, Err(refused)), t1));
    let m = s.service(auth).expect("auth");
    let ep_m = m.endpoint.as_ref().expect("ep");
    assert!(ep_m.stale(t1, stale_after));
    assert_eq!(
        m.current(Watched::Goroutines),
        Some(12.0),
        "last good value kept"
    );
    assert!(
        ep_m.last_error
            .as_ref()
            .is_some_and(|(_, e)| e.contains("refused"))
    );
    // A page with bad lines is applied, and its bad lines are reported.
    let t2 = t1 + Duration::from_secs(2);
    s.apply(
        &fact(&ep, t2, Ok("go_goroutines 3\ngo_threads 1.2.3\n")),
        t2,
    );
    let ep_m = s
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .expect("ep");
    assert!(!ep_m.stale(t2, stale_after));
    assert_eq!(ep_m.dropped, 1);
    assert_eq!(ep_m.first_bad.as_ref().and_then(|b| b.number), Some(2));
}

#[test]
fn the_series_cap_is_said() {
    let plan = plan(Source::demo());
    let auth = plan.entry_named("auth-service").expect("auth");
    let config = MetricsConfig {
        series_cap: 50,
        ..MetricsConfig::default()
    };
    let mut s = MetricsState::new(&plan, config);
    let ep = s
        .endpoints()
        .into_iter()
        .find(|e| s.claims[e].contains(&auth))
        .expect("ep");
    let node = include_str!("../../../tests/fixtures/prometheus/node_exporter_metrics.txt");
    let t0 = Instant::now();
    s.apply(&fact(&ep, t0, Ok(node)), t0);
    let store = &s
        .service(auth)
        .and_then(|m| m.endpoint.as_ref())
        .expect("ep")
        .store;
    assert!(store.capped);
    let kept: usize = store.families.iter().map(|f| f.series.len()).sum();
    assert_eq!(kept, 50);
    // Every sample line is a flattened series, plus none invented.
    assert_eq!(store.total, 507);
    // Kept series have a chartable history.
    let key = store.families[0].series[0].0.clone();
    assert_eq!(store.points(&key).len(), 1);
}

#[test]
fn a_shared_port_is_attributed_to_its_holder_only() {
    let plan = plan(Source::anychat());
    let mut s = MetricsState::new(&plan, MetricsConfig::default());
    let shared = Endpoint::new("127.0.0.1", 2112);
    let shared = s
        .claims
        .keys()
        .find(|e| e.port == shared.port)
        .cloned()
        .expect("2112");
    let claimants = s.claims[&shared].clone();
    assert!(claimants.len() > 2, "the plan puts many services on 2112");
    let (auth, user) = (
        plan.entry_named("auth-service").expect("auth"),
        plan.entry_named("user-service").expect("user"),
    );
    let t0 = Instant::now();
    // Nobody knows the holder yet: the page is nobody's.
    assert!(!s.apply(&fact(&shared, t0, Ok(PAGE_1)), t0));
    let pids = BTreeMap::from([(4100, auth), (4200, user)]);
    assert!(s.port_held(&shared, Some(4200), &pids));
    assert!(s.apply(&fact(&shared, t0, Ok(PAGE_1)), t0));
    let owner = s.service(user).expect("user");
    assert_eq!(owner.source(), MetricsSource::Endpoint);
    let other = s.service(auth).expect("auth");
    assert_eq!(other.source(), MetricsSource::None);
    assert_eq!(
        other.endpoint.as_ref().map(|e| e.attribution),
        Some(Attribution::HeldBy(user))
    );
    // Nothing changes when told the same again.
    assert!(!s.port_held(&shared, Some(4200), &pids));
}

fn grpc(method: &str, seconds: f64, status: &str) -> String {
    let msg = if status == "OK" {
        "completed"
    } else {
        "failed"
    };
    format!(
        r#"{{"level":"info","ts":1.0,"caller":"x.go:1","msg":"gRPC request {msg}","service":"auth-service","method":"{method}","duration":{seconds},"status":"{status}"}}"#
    )
}

fn http(path: &str, status: u16, cost: &str) -> String {
    format!(
        r#"{{"level":"info","ts":1.0,"caller":"x.go:1","msg":"HTTP Request","service":"gateway-service","method":"GET","path":"{path}","status":{status},"cost":"{cost}"}}"#
    )
}

#[test]
fn logs_give_rates_errors_and_quantiles() {
    let (mut s, auth, _) = demo();
    let t0 = Instant::now();
    let mut lines = vec![r#"{"level":"info","msg":"starting"}"#.to_owned()];
    // Ten logins of 1..=10 ms, the last one failed; four user lookups (HTTP), one 500.
    for i in 1..=10 {
        let status = if i == 10 { "Unavailable" } else { "OK" };
        lines.push(grpc(
            "/anychat.auth.v1.AuthService/Login",
            f64::from(i) / 1000.0,
            status,
        ));
    }
    for (id, status) in [(1, 200), (2, 200), (3, 404), (4, 500)] {
        lines.push(http(&format!("/api/v1/users/{id}"), status, "2ms"));
    }
    lines.push(r#"{"level":"info","msg":"gRPC request completed","method":"/x/Y","dur"#.into());
    s.observe(auth, lines.iter().map(String::as_str), t0);
    assert!(s.tick(t0 + Duration::from_secs(10), Duration::from_secs(2)));
    let m = s.service(auth).expect("auth");
    assert_eq!(
        m.source(),
        MetricsSource::Logs,
        "the endpoint never answered"
    );
    assert_eq!(m.logs.malformed, 1);
    let total = &m.logs.total;
    assert_eq!(total.count, 14);
    // 14 requests seen over the 10 s since the first line.
    assert!(close(Some(total.rate), 1.4));
    assert!(close(total.error_pct, 2.0 / 14.0 * 100.0));
    let login = &m.logs.by_method[0];
    assert_eq!(login.method, "/anychat.auth.v1.AuthService/Login");
    // 1..=10 ms: p50 at rank 4.5 = 5.5 ms; p95 at rank 8.55 = 9.55 ms.
    assert!(close(login.figures.quantiles[0], 0.0055));
    assert!(close(login.figures.quantiles[1], 0.00955));
    assert!(close(login.figures.error_pct, 10.0));
    let users = &m.logs.by_method[1];
    assert_eq!(users.method, "GET /api/v1/users/:id");
    assert!(
        close(users.figures.error_pct, 25.0),
        "404 is not an error, 500 is"
    );
    // A second tick within `every` does nothing; after the window the requests are gone.
    assert!(!s.tick(t0 + Duration::from_secs(11), Duration::from_secs(2)));
    assert!(s.tick(t0 + Duration::from_secs(100), Duration::from_secs(2)));
    let m = s.service(auth).expect("auth");
    assert_eq!(m.logs.total.count, 0);
    assert_eq!(m.current(Watched::RequestRate), Some(0.0));
    assert_eq!(m.current(Watched::ErrorRate), None);
}
