//! The wiring of metrics and NATS into the state: updates in, `state.metrics` / `state.nats`
//! and redraw decisions out; the keys of the three panels.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::collect::nats::decode::decode as decode_json;
use crate::collect::nats::{NatsFact, NatsSnapshot};
use crate::collect::scrape::{ScrapeError, ScrapeFact};
use crate::health::ProbeResult;
use crate::layout::builtin_layouts;
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::message::{LogLine, Stream};
use crate::metrics::attribution::Attribution;
use crate::metrics::exposition::decode;
use crate::state::metrics::MetricsSource;
use crate::state::metrics::history::Watched;
use crate::state::tests::demo_state;

fn layout_index(s: &State, name: &str) -> usize {
    s.layouts.iter().position(|l| l.name == name).expect(name)
}

fn show(s: &mut State, name: &str) {
    let i = layout_index(s, name);
    s.pin_layout(i);
}

const PAGE_1: &str = "# TYPE grpc_server_handled_total counter\n\
grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Login\"} 100\n\
grpc_server_handled_total{grpc_code=\"Internal\",grpc_method=\"Login\"} 10\n\
# TYPE go_goroutines gauge\n\
go_goroutines 18\n";

const PAGE_2: &str = "# TYPE grpc_server_handled_total counter\n\
grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Login\"} 116\n\
grpc_server_handled_total{grpc_code=\"Internal\",grpc_method=\"Login\"} 14\n\
# TYPE go_goroutines gauge\n\
go_goroutines 21\n";

fn scraped(s: &State, name: &str, at: Instant, body: Option<&str>) -> Update {
    let entry = s.plan.entry_named(name).unwrap();
    let endpoint = s
        .metrics
        .claims
        .iter()
        .find(|(_, c)| c.contains(&entry))
        .map(|(e, _)| e.clone())
        .expect("an endpoint");
    Update::MetricsScraped(Box::new(ScrapeFact {
        endpoint,
        at,
        took: Duration::from_millis(3),
        outcome: match body {
            Some(b) => Ok(decode(b)),
            None => Err(ScrapeError::Connect("connection refused".into())),
        },
    }))
}

#[test]
fn scrapes_reach_the_service_and_become_rates() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    // In the default layout no metrics panel is shown: no frame for a scrape.
    s.mark_drawn(t0);
    assert!(!s.apply(scraped(&s, "auth-service", t0, Some(PAGE_1))));
    assert!(!s.cosmetic);
    show(&mut s, "metrics");
    let t1 = t0 + Duration::from_secs(2);
    // Shown: drawn with the next clock tick (not a frame per scrape).
    assert!(!s.apply(scraped(&s, "auth-service", t1, Some(PAGE_2))));
    assert!(s.cosmetic);
    assert!(s.apply(Update::Tick { at: t1 }));
    let auth = s.plan.entry_named("auth-service").unwrap();
    let m = s.metrics.service(auth).unwrap();
    assert_eq!(m.source(), MetricsSource::Endpoint);
    assert_eq!(m.current(Watched::RequestRate), Some(10.0));
    assert_eq!(m.current(Watched::ErrorRate), Some(20.0));
    assert_eq!(m.current(Watched::Goroutines), Some(21.0));
    // A failed scrape keeps the values and says why.
    let t2 = t1 + Duration::from_secs(2);
    s.apply(scraped(&s, "auth-service", t2, None));
    let ep = s.metrics.service(auth).unwrap().endpoint.as_ref().unwrap();
    assert!(ep.last_error.as_ref().unwrap().1.contains("refused"));
    assert_eq!(
        s.metrics
            .service(auth)
            .unwrap()
            .current(Watched::Goroutines),
        Some(21.0)
    );
}

#[test]
fn request_log_lines_feed_log_metrics_on_the_clock() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    show(&mut s, "metrics");
    let gw = s.plan.entry_named("gateway-service").unwrap();
    let line = |status: u16| LogLine {
        stream: Stream::Stdout,
        text: format!(
            r#"{{"level":"info","ts":1764620000.1,"msg":"HTTP Request","method":"GET","path":"/api/v1/users/42","status":{status},"cost":0.012}}"#
        ),
        truncated: false,
    };
    let mut lines: Vec<LogLine> = (0..9).map(|_| line(200)).collect();
    lines.push(line(503));
    lines.push(LogLine {
        stream: Stream::Stdout,
        text: r#"{"level":"info","msg":"HTTP Req"#.into(),
        truncated: true,
    });
    s.apply(Update::LogLines {
        entry: gw,
        lines,
        dropped: 0,
    });
    assert!(s.apply(Update::Tick {
        at: t0 + Duration::from_secs(3)
    }));
    let m = s.metrics.service(gw).unwrap();
    assert_eq!(m.source(), MetricsSource::Logs);
    assert_eq!(m.logs.requests_total, 10);
    assert_eq!(m.current(Watched::ErrorRate), Some(10.0));
    assert!(m.current(Watched::RequestRate).unwrap() > 0.0);
    assert!(
        m.logs
            .by_method
            .iter()
            .any(|f| f.method.contains("/api/v1/users/:id")),
        "{:?}",
        m.logs.by_method
    );
}

#[test]
fn the_shared_port_goes_to_its_holder_only() {
    // The real plan: every service on 2112.
    let plan = build_plan(&[Source::anychat()], &PlanOptions::default()).unwrap();
    let t0 = Instant::now();
    let mut s = State::new(
        Arc::new(plan),
        builtin_layouts(),
        Duration::from_secs(1),
        t0,
    );
    let auth = s.plan.entry_named("auth-service").unwrap();
    let user = s.plan.entry_named("user-service").unwrap();
    let endpoint = s.metrics.endpoints().into_iter().next().unwrap();
    assert!(s.metrics.claims[&endpoint].len() > 1);
    // Looked up, nobody listens: said as such, nothing attributed.
    s.apply(Update::MetricsPortHeld {
        endpoint: endpoint.clone(),
        owner: None,
    });
    assert!(s.metrics_port_free(auth));
    s.apply(Update::MetricsPortHeld {
        endpoint: endpoint.clone(),
        owner: Some(crate::message::PortOwner {
            pid: 4242,
            command: "anychat-stub --name user-service --metrics-port 2112".into(),
        }),
    });
    let att = |s: &State, e: EntryId| {
        s.metrics
            .service(e)
            .unwrap()
            .endpoint
            .as_ref()
            .unwrap()
            .attribution
    };
    assert!(!s.metrics_port_free(auth));
    assert_eq!(att(&s, user), Attribution::Own);
    assert_eq!(att(&s, auth), Attribution::HeldBy(user));
    s.apply(Update::MetricsScraped(Box::new(ScrapeFact {
        endpoint,
        at: t0,
        took: Duration::ZERO,
        outcome: Ok(decode(PAGE_1)),
    })));
    assert_eq!(
        s.metrics.service(user).unwrap().source(),
        MetricsSource::Endpoint
    );
    assert_eq!(
        s.metrics.service(auth).unwrap().source(),
        MetricsSource::None
    );
}

fn nats_fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/nats/{name}", env!("CARGO_MANIFEST_DIR"));
    decode_json(&std::fs::read(&path).unwrap()).unwrap()
}

fn nats_fact(at: Instant) -> Update {
    Update::NatsPolled(Box::new(NatsFact {
        at,
        outcome: Ok(NatsSnapshot {
            varz: nats_fixture("varz.json"),
            connz: Ok(nats_fixture("connz.json")),
            subsz: Ok(nats_fixture("subsz.json")),
            jsz: Ok(nats_fixture("jsz.json")),
            healthz: Ok(nats_fixture("healthz.json")),
        }),
    }))
}

#[test]
fn nats_polls_and_client_owners_name_the_services() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    assert_eq!(s.metrics_ui.nats_address.as_deref(), Some("127.0.0.1:8222"));
    s.mark_drawn(t0);
    s.apply(nats_fact(t0));
    assert!(!s.cosmetic, "no NATS panel shown");
    show(&mut s, "metrics");
    let message = s.plan.entry_named("message-service").unwrap();
    s.apply(Update::ProcessStarted {
        entry: message,
        pid: 777,
        at: t0,
    });
    let addr: std::net::SocketAddr = "127.0.0.1:60930".parse().unwrap();
    s.apply(Update::NatsClientsFound {
        owners: BTreeMap::from([(addr, 777)]),
    });
    s.apply(nats_fact(t0 + Duration::from_secs(2)));
    assert!(s.cosmetic, "drawn with the next tick");
    assert!(s.nats.varz.is_some());
    let conn = s.nats.conns.iter().find(|c| c.cid == 5).unwrap();
    assert_eq!((conn.pid, conn.entry), (Some(777), Some(message)));
    // Unreachable: said, last values kept.
    s.apply(Update::NatsPolled(Box::new(NatsFact {
        at: t0 + Duration::from_secs(4),
        outcome: Err("connection refused".into()),
    })));
    assert!(s.nats.last_error.is_some() && s.nats.varz.is_some());
}

#[test]
fn keys_of_the_three_panels() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    // `o` sorts the NATS connections whichever panel has the keyboard.
    assert_eq!(s.ui.focus, PanelKind::Services);
    let before = s.nats.sort;
    s.handle(Action::NatsSort);
    assert_ne!(s.nats.sort, before);
    show(&mut s, "explorer");
    assert_eq!(s.ui.focus, PanelKind::Metrics);
    s.handle(Action::Down);
    let second = s.metrics_rows()[1];
    assert_eq!(s.explored(), Some(second));
    let name = s.plan.entries[second.0].name.clone();
    s.apply(scraped(&s, &name, t0, Some(PAGE_1)));
    s.handle(Action::NextPanel);
    assert_eq!(s.ui.focus, PanelKind::Explorer);
    assert_eq!(s.explorer_keys().len(), 3);
    s.handle(Action::Down);
    assert_eq!(
        s.explorer_chosen_key().as_deref(),
        Some("grpc_server_handled_total{grpc_code=\"Internal\",grpc_method=\"Login\"}")
    );
    // `/` filters the families, not the services table.
    s.handle(Action::Filter);
    for c in "gorou".chars() {
        s.handle(Action::FilterChar(c));
    }
    s.handle(Action::FilterDone);
    assert_eq!(s.metrics_ui.explorer_filter, "gorou");
    assert!(s.ui.filter.is_empty());
    assert_eq!(s.explorer_keys(), ["go_goroutines"]);
    assert_eq!(s.explorer_chosen_key().as_deref(), Some("go_goroutines"));
    s.handle(Action::Back);
    assert!(s.metrics_ui.explorer_filter.is_empty());
    // The sort key of NATS connections cycles.
    let before = s.nats.sort;
    s.handle(Action::NatsSort);
    assert_ne!(s.nats.sort, before);
    // Enter on the metrics panel opens the explorer.
    show(&mut s, "metrics");
    s.ui.focus = PanelKind::Metrics;
    s.handle(Action::Detail);
    assert_eq!(s.layout().name, "explorer");
    assert_eq!(s.ui.focus, PanelKind::Explorer);
}

#[test]
fn prometheus_up_down_replaces_the_direct_probes_of_its_targets() {
    use crate::collect::prometheus_api::{PromFact, PromRound, PromValues, TargetSeen};
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    s.metrics
        .use_prometheus("http://127.0.0.1:9090", Duration::from_secs(2));
    let auth = s.plan.entry_named("auth-service").unwrap();
    let target = *s.plan.entries[auth.0]
        .targets
        .iter()
        .find(|t| s.plan.targets[t.0].kind == crate::plan::ProbeKind::Metrics)
        .unwrap();
    let seen = TargetSeen {
        entry: auth,
        target: Some(target),
        by: crate::collect::prometheus_api::matching::MatchedBy::Instance,
        instance: "127.0.0.1:2113".into(),
        job: "auth-service".into(),
        labels: Default::default(),
        health: crate::collect::prometheus_api::decode::Health::Up,
        last_error: String::new(),
        last_scrape: None,
        last_scrape_duration: None,
        scrape_interval: None,
    };
    let fact = PromFact {
        url: "http://127.0.0.1:9090".into(),
        at: t0,
        took: Duration::ZERO,
        outcome: Ok(PromRound {
            targets: vec![seen],
            other_targets: 0,
            values: PromValues::NotAsked,
            explored: None,
        }),
    };
    s.apply(Update::PrometheusPolled(Box::new(fact)));
    assert_eq!(s.targets[target.0].state, crate::health::ProbeState::Up);
    // The direct probe's "down" of the same target is dropped while Prometheus lists it.
    s.apply(Update::HealthChecked {
        target,
        result: ProbeResult::new(
            crate::health::ProbeState::Down,
            Duration::ZERO,
            "connection refused",
        ),
        at: t0 + Duration::from_secs(1),
    });
    assert_eq!(s.targets[target.0].state, crate::health::ProbeState::Up);
}
