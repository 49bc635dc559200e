//! Prometheus' API client and collector against things that are not Prometheus: a refused
//! port, another HTTP server (404), a server that never answers, a URL that is not http(s).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use anychat_top::collect::prometheus_api::client::PromClient;
use anychat_top::collect::prometheus_api::decode::PromError;
use anychat_top::collect::prometheus_api::matching::PlanMatcher;
use anychat_top::collect::prometheus_api::{PromConfig, run_prometheus};
use tokio::sync::{mpsc, watch};

use support::process::{ChildGuard, free_low_port, wait_for_port};
use support::prometheus::{next_fact, plan, stub};

const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");
const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn answers_that_are_not_prometheus() {
    let timeout = Duration::from_millis(500);
    // Nothing listens.
    let refused =
        PromClient::new(&format!("127.0.0.1:{}", free_low_port()), timeout).expect("client");
    let err = refused.targets().await.expect_err("refused");
    assert!(
        matches!(&err, PromError::Connect(e) if e.contains("refused")),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("unreachable: "));
    // A stub's metrics port: /api/v1/targets is a 404 there.
    let port = free_low_port();
    let _stub = stub("user-service", port, "0s").await;
    let other = PromClient::new(&format!("http://127.0.0.1:{port}/"), timeout).expect("client");
    assert_eq!(other.targets().await, Err(PromError::Status(404)));
    assert_eq!(
        other.query("up").await.map(|v| v.len()),
        Err(PromError::Status(404))
    );
    // A server that accepts and never answers.
    let hung_port = free_low_port();
    let mut cmd = Command::new(STUB);
    cmd.args([
        "--name",
        "hung",
        "--quiet-health",
        "--log-interval",
        "0s",
        "--hang",
    ])
    .args(["--metrics-port", &hung_port.to_string()]);
    let _hung = ChildGuard::spawn(&mut cmd);
    assert!(wait_for_port(hung_port, 10 * SECOND).await);
    let hung = PromClient::new(&format!("127.0.0.1:{hung_port}"), timeout).expect("client");
    let started = Instant::now();
    assert_eq!(hung.targets().await, Err(PromError::Timeout(timeout)));
    assert!(started.elapsed() < timeout + SECOND);
    // The collector says the same as a fact, and a bad URL once before ending.
    let plan = plan(free_low_port(), free_low_port(), free_low_port());
    let (tx, mut rx) = mpsc::channel(2);
    let mut config = PromConfig::new(&format!("127.0.0.1:{hung_port}"));
    config.timeout = timeout;
    let (_explore, nothing) = watch::channel(None);
    let task = tokio::spawn(run_prometheus(
        config,
        PlanMatcher::new(&plan),
        nothing.clone(),
        tx,
    ));
    let fact = next_fact(&mut rx).await;
    assert_eq!(fact.outcome, Err(PromError::Timeout(timeout)));
    drop(rx);
    tokio::time::timeout(5 * SECOND, task)
        .await
        .expect("ends when its channel closes")
        .expect("no panic");
    let (tx, mut rx) = mpsc::channel(2);
    let task = tokio::spawn(run_prometheus(
        PromConfig::new("ftp://nowhere"),
        PlanMatcher::new(&plan),
        nothing,
        tx,
    ));
    let fact = next_fact(&mut rx).await;
    assert!(
        matches!(fact.outcome, Err(PromError::BadUrl(_))),
        "{:?}",
        fact.outcome
    );
    tokio::time::timeout(5 * SECOND, task)
        .await
        .expect("a bad URL ends the task")
        .expect("no panic");
}
