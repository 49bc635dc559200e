//! The headless renderings on fixed data.

use std::time::Duration;

use super::*;
use crate::collect::nats::decode::decode;
use crate::view::panels::metrics::tests::scene;

#[test]
fn metrics_text_and_json() {
    let (plan, state, now) = scene();
    let stale = state.config.stale_after;
    let auth = plan.entry_named("auth-service").expect("auth");
    let m = state.service(auth).expect("auth metrics");
    let text = metrics_text("auth-service", m, None, now, stale);
    insta::assert_snapshot!("metrics_text_auth", text);
    let json = metrics_json("auth-service", m, None, now, stale);
    assert_eq!(json["source"], "endpoint");
    assert_eq!(
        json["values"]["goroutines"],
        m.current(Watched::Goroutines).expect("known")
    );
    assert!(
        json["values"]["request_rate"]
            .as_f64()
            .is_some_and(|r| r > 0.0)
    );
    // The gateway has only logs: per-method figures, and no runtime values.
    let gw = plan.entry_named("gateway-service").expect("gateway");
    let m = state.service(gw).expect("gateway metrics");
    let json = metrics_json("gateway-service", m, None, now, stale);
    assert_eq!(json["source"], "logs");
    assert_eq!(json["values"]["goroutines"], Value::Null);
    assert_eq!(json["methods"][0]["method"], "GET /api/v1/users/:id");
    assert_eq!(json["methods"][0]["error_percent"], 10.0);
    let text = metrics_text("gateway-service", m, None, now, stale);
    assert!(text.contains("GET /api/v1/users/:id"), "{text}");
    // The failing one says so.
    let user = plan.entry_named("user-service").expect("user");
    let m = state.service(user).expect("user metrics");
    let json = metrics_json("user-service", m, None, now + Duration::from_secs(1), stale);
    assert!(
        json["problems"][0]
            .as_str()
            .is_some_and(|p| p.starts_with("scrape failed: Connection refused")),
        "{json}"
    );
}

#[test]
fn nats_stats_from_fixtures() {
    let read = |name: &str| {
        let path = format!("{}/tests/fixtures/nats/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let snap = NatsSnapshot {
        varz: decode(&read("varz.json")).expect("varz"),
        connz: decode(&read("connz.json")),
        subsz: decode(&read("subsz.json")),
        jsz: decode(&read("jsz_jetstream_disabled.json")),
        healthz: decode(&read("healthz.json")),
    };
    let json = nats_stats_json(&snap);
    assert_eq!(json["version"], "2.9.10");
    assert_eq!(json["uptime_seconds"], 24.0);
    assert_eq!(json["in_msgs"], 344);
    assert_eq!(json["healthz"], "ok");
    assert_eq!(json["jetstream"], "JetStream disabled");
    assert_eq!(json["clients"][2]["name"], "anychat-publisher");
    assert_eq!(json["clients"].as_array().map(Vec::len), Some(3));
}
