//! Helpers of the Prometheus tests: metrics stubs, a three-service plan, a Prometheus
//! configuration scraping them, and waiting for a collector's next round.

use std::process::Command;
use std::time::{Duration, Instant};

use anychat_top::collect::prometheus_api::{PromFact, PromRound};
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::plan::Plan;
use tokio::sync::mpsc;

use super::process::{ChildGuard, free_low_port, wait_for_port};

const SECOND: Duration = Duration::from_secs(1);

/// A stub impersonating `name` with its metrics on `port`, one simulated request per `every`.
pub async fn stub(name: &str, port: u16, every: &str) -> ChildGuard {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anychat-stub"));
    cmd.args(["--name", name, "--quiet-health", "--log-interval", every])
        .args(["--metrics-port", &port.to_string()]);
    let guard = ChildGuard::spawn(&mut cmd);
    assert!(wait_for_port(port, 10 * SECOND).await, "stub on {port}");
    guard
}

/// Three services: auth and user with stubs, push with nothing on its metrics port.
pub fn plan(auth: u16, user: u16, push: u16) -> Plan {
    let mut text = String::new();
    for (name, metrics) in [
        ("auth-service", auth),
        ("user-service", user),
        ("push-service", push),
    ] {
        let http = free_low_port();
        text.push_str(&format!(
            "[[service]]\nname = \"{name}\"\ngroup = \"core\"\nhttp_port = {http}\nmetrics_port = {metrics}\n\n"
        ));
    }
    let source = Source {
        path: "prometheus-test.toml".into(),
        text,
    };
    build_plan(&[source], &PlanOptions::default()).expect("test plan builds")
}

/// auth and push under a generic job (matched by instance); user under its own name with
/// its instance relabelled to a host name (matched by job); Prometheus itself (not ours).
pub fn config(auth: u16, user: u16, push: u16, own: u16) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
         scrape_configs:\n\
         \x20 - job_name: anychat\n    static_configs:\n      - targets: ['127.0.0.1:{auth}', '127.0.0.1:{push}']\n\
         \x20 - job_name: user-service\n    static_configs:\n      - targets: ['127.0.0.1:{user}']\n\
         \x20   relabel_configs:\n      - target_label: instance\n        replacement: user-box-1\n\
         \x20 - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{own}']\n"
    )
}

/// Polls `check` every 200 ms until it is true; false after `within`.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// The collector's next fact, within 10 s.
pub async fn next_fact(rx: &mut mpsc::Receiver<PromFact>) -> PromFact {
    tokio::time::timeout(10 * SECOND, rx.recv())
        .await
        .expect("a round within 10 s")
        .expect("collector alive")
}

/// The round of a fact that must have succeeded.
pub fn round(fact: &PromFact) -> &PromRound {
    match &fact.outcome {
        Ok(r) => r,
        Err(e) => panic!("Prometheus round failed: {e}"),
    }
}
