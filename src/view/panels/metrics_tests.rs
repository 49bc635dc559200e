//! Snapshots of the metrics panel with fixed data at 80×24 and 160×48.

use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::*;
use crate::collect::scrape::{ScrapeError, ScrapeFact};
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::metrics::exposition::decode;
use crate::plan::Plan;
use crate::state::metrics::{MetricsConfig, MetricsState};

pub(crate) fn page(i: u64) -> String {
    let ok = 100 + 15 * i + (i % 3) * 4;
    let failed = i / 2;
    let rss = 14_000_000 + 200_000 * (i % 5);
    format!(
        "# TYPE grpc_server_handled_total counter\n\
         grpc_server_handled_total{{grpc_code=\"OK\",grpc_method=\"Login\"}} {ok}\n\
         grpc_server_handled_total{{grpc_code=\"Unavailable\",grpc_method=\"Login\"}} {failed}\n\
         # TYPE http_request_duration_seconds histogram\n\
         http_request_duration_seconds_bucket{{le=\"0.005\"}} {}\n\
         http_request_duration_seconds_bucket{{le=\"0.01\"}} {}\n\
         http_request_duration_seconds_bucket{{le=\"0.025\"}} {}\n\
         http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
         http_request_duration_seconds_sum 1.5\n\
         http_request_duration_seconds_count {}\n\
         # HELP go_goroutines Number of goroutines that currently exist.\n\
         # TYPE go_goroutines gauge\n\
         go_goroutines {}\n\
         # TYPE process_cpu_seconds_total counter\n\
         process_cpu_seconds_total {}\n\
         # TYPE process_resident_memory_bytes gauge\n\
         process_resident_memory_bytes {rss}\n",
        6 * i,
        9 * i,
        10 * i + i / 3,
        10 * i + i / 2,
        10 * i + i / 2,
        11 + i % 4,
        0.02 * i as f64 + 0.01 * (i % 2) as f64
    )
}

/// The demo plan with: auth scraped 20 times, user scraped then failing, gateway from logs,
/// message with a malformed page; the rest silent.
pub(crate) fn scene() -> (Plan, MetricsState, Instant) {
    let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
    let mut s = MetricsState::new(&plan, MetricsConfig::default());
    let t0 = Instant::now();
    let endpoint_of = |s: &MetricsState, name: &str| {
        let e = plan.entry_named(name).expect(name);
        s.claims
            .iter()
            .find(|(_, v)| v.contains(&e))
            .map(|(k, _)| k.clone())
            .expect(name)
    };
    let fact = |ep, at, outcome| ScrapeFact {
        endpoint: ep,
        at,
        took: Duration::from_millis(2),
        outcome,
    };
    let auth = endpoint_of(&s, "auth-service");
    let user = endpoint_of(&s, "user-service");
    let message = endpoint_of(&s, "message-service");
    for i in 0..20u64 {
        let at = t0 + Duration::from_secs(2 * i);
        s.apply(&fact(auth.clone(), at, Ok(decode(&page(i)))), at);
        if i < 12 {
            s.apply(&fact(user.clone(), at, Ok(decode(&page(i * 2)))), at);
        }
    }
    let late = t0 + Duration::from_secs(30);
    let refused = ScrapeError::Connect("Connection refused (os error 111)".into());
    s.apply(&fact(user, late, Err(refused)), late);
    let bad = "go_goroutines 40\ngo_threads 1.2.3\nprocess_resident_memory_bytes 2.5e7\n";
    s.apply(&fact(message, late, Ok(decode(bad))), late);
    let gateway = plan.entry_named("gateway-service").expect("gateway");
    for i in 0..40u32 {
        let status = if i % 10 == 9 { 503 } else { 200 };
        let line = format!(
            r#"{{"level":"info","msg":"HTTP Request","method":"GET","path":"/api/v1/users/{i}","status":{status},"cost":"{}ms"}}"#,
            1 + i % 7
        );
        s.observe(
            gateway,
            [line.as_str()],
            t0 + Duration::from_secs(u64::from(i)),
        );
    }
    for k in 0..20u64 {
        s.tick(t0 + Duration::from_secs(2 * k + 1), Duration::from_secs(2));
    }
    prometheus_rounds(&plan, &mut s, t0);
    (plan, s, t0 + Duration::from_secs(40))
}

/// Prometheus feeds friend-service (history, then values now) and group-service (up, then
/// down with Prometheus' error).
fn prometheus_rounds(plan: &Plan, s: &mut MetricsState, t0: Instant) {
    use crate::collect::prometheus_api::decode::Health;
    use crate::collect::prometheus_api::matching::MatchedBy;
    use crate::collect::prometheus_api::promql::WatchedValues;
    use crate::collect::prometheus_api::{PromFact, PromRound, PromValues, TargetSeen};
    let seen = |name: &str, port: u16, health: Health, error: &str| TargetSeen {
        entry: plan.entry_named(name).expect(name),
        target: None,
        by: MatchedBy::Name,
        instance: format!("10.0.0.5:{port}"),
        job: name.to_owned(),
        labels: Default::default(),
        health,
        last_error: error.to_owned(),
        last_scrape: None,
        last_scrape_duration: None,
        scrape_interval: Some(Duration::from_secs(2)),
    };
    let v = |i: u64| WatchedValues {
        values: [
            Some(20.0 + (i % 5) as f64),
            Some(if i.is_multiple_of(4) { 2.5 } else { 0.0 }),
            Some(0.012 + 0.001 * (i % 3) as f64),
            Some(30.0 + (i % 2) as f64),
            Some(4.2e7),
            Some(3.0 + (i % 3) as f64),
        ],
        quantiles: [Some(0.006), Some(0.012), Some(0.02)],
    };
    let friend = plan.entry_named("friend-service").expect("friend");
    let group = plan.entry_named("group-service").expect("group");
    s.use_prometheus("http://10.0.0.5:9090", Duration::from_secs(2));
    let round = |targets, values| PromRound {
        targets,
        other_targets: 2,
        explored: None,
        values,
    };
    // friend-service is being explored: its series, as Prometheus stored them.
    let explored = |i| Some((friend, Ok(decode(&page(i)))));
    let fact = |at, round| PromFact {
        url: "http://10.0.0.5:9090".into(),
        at,
        took: Duration::from_millis(3),
        outcome: Ok(round),
    };
    let up = || {
        vec![
            seen("friend-service", 2112, Health::Up, ""),
            seen("group-service", 2112, Health::Up, ""),
        ]
    };
    let at = t0 + Duration::from_secs(34);
    let history = round(
        up(),
        PromValues::History {
            step: Duration::from_secs(2),
            rows: vec![
                (friend, (0..30).map(v).collect()),
                (group, (0..30).map(|i| v(i + 2)).collect()),
            ],
        },
    );
    s.apply_prometheus(&fact(at, history), at);
    let at = at + Duration::from_secs(2);
    let mut now = round(up(), PromValues::Now(vec![(friend, v(31)), (group, v(40))]));
    now.explored = explored(5);
    s.apply_prometheus(&fact(at, now), at);
    let at = at + Duration::from_secs(2);
    let refused =
        "Get \"http://10.0.0.5:2112/metrics\": dial tcp 10.0.0.5:2112: connect: connection refused";
    let mut down = round(
        vec![
            seen("friend-service", 2112, Health::Up, ""),
            seen("group-service", 2112, Health::Down, refused),
        ],
        PromValues::Now(vec![(friend, v(32))]),
    );
    down.explored = explored(6);
    s.apply_prometheus(&fact(at, down), at);
}

pub(crate) fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn metrics_panel_snapshots() {
    let (plan, state, now) = scene();
    let services = plan
        .entries
        .iter()
        .filter(|e| e.kind == crate::plan::EntryKind::Service);
    let user = services.clone().position(|e| e.name == "user-service");
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let panel = MetricsPanel {
            rows: plan
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.kind == crate::plan::EntryKind::Service)
                .map(|(i, e)| MetricsRow {
                    name: &e.name,
                    metrics: &state.services[i],
                    holder: None,
                    port_free: false,
                })
                .collect(),
            selected: user,
            now,
            stale_after: state.config.stale_after,
            focused: true,
            theme: Theme { color: false },
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        (&panel).render(buf.area, &mut buf);
        insta::assert_snapshot!(format!("metrics_{w}x{h}"), text(&buf));
    }
}

#[test]
fn metrics_panel_from_prometheus() {
    let (plan, state, now) = scene();
    let rows: Vec<MetricsRow> = ["friend-service", "group-service", "auth-service"]
        .iter()
        .map(|name| MetricsRow {
            name,
            metrics: &state.services[plan.entry_named(name).expect(name).0],
            holder: None,
            port_free: false,
        })
        .collect();
    for selected in [0, 1] {
        let panel = MetricsPanel {
            rows: rows
                .iter()
                .map(|r| MetricsRow {
                    name: r.name,
                    metrics: r.metrics,
                    holder: None,
                    port_free: false,
                })
                .collect(),
            selected: Some(selected),
            now,
            stale_after: state.config.stale_after,
            focused: false,
            theme: Theme { color: false },
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 8));
        (&panel).render(buf.area, &mut buf);
        insta::assert_snapshot!(format!("metrics_prometheus_{selected}"), text(&buf));
    }
}
