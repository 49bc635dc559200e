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
    (plan, s, t0 + Duration::from_secs(40))
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
