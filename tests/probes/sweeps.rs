//! Sweeps and watchers: everything runs concurrently, a hung target costs one timeout and
//! delays nobody, and watch tasks stop when the receiver goes away.

use std::time::{Duration, Instant};

use anychat_top::collect::{ProbeConfig, probers, spawn_watchers, sweep};
use anychat_top::health::ProbeState;
use anychat_top::message::Update;
use anychat_top::plan::{Plan, ProbeKind, TargetId};
use tonic_health::ServingStatus;

use super::support::servers::{ServerRuntime, listener};
use super::support::target;

#[tokio::test]
async fn hung_targets_cost_one_timeout_and_delay_nobody() {
    let servers = ServerRuntime::new(1);
    let mut plan = Plan::default();
    for i in 0..30 {
        let port = match i % 3 {
            0 => servers.http(listener(0), 200, r#"{"status":"ok"}"#).port,
            1 => {
                servers
                    .grpc_health(listener(0), ServingStatus::Serving)
                    .port
            }
            _ => servers.hang(listener(0)).port,
        };
        let kind = match i % 3 {
            0 => ProbeKind::Health,
            1 => ProbeKind::Grpc,
            // A third of the targets hang, each under a different probe kind.
            _ => [ProbeKind::Health, ProbeKind::Grpc, ProbeKind::Redis][i / 3 % 3],
        };
        plan.targets.push(target(kind, port));
    }
    let timeout = Duration::from_millis(400);
    let mut probers = probers(&plan, &ProbeConfig { timeout });
    sweep(&mut probers).await; // connect everything once

    let started = Instant::now();
    let results = sweep(&mut probers).await;
    let took = started.elapsed();
    assert!(
        took >= timeout && took < timeout + Duration::from_millis(300),
        "sweep took {took:?}"
    );
    assert_eq!(results.len(), 30);
    for (i, r) in results.iter().enumerate() {
        if i % 3 == 2 {
            assert_eq!(
                (r.state, r.detail.as_str()),
                (ProbeState::Down, "timed out after 400ms")
            );
        } else {
            assert_eq!(r.state, ProbeState::Up, "target {i}: {r:?}");
            assert!(r.latency < Duration::from_millis(200), "target {i}: {r:?}");
        }
    }
}

#[tokio::test]
async fn watchers_report_every_target_and_stop_with_the_receiver() {
    let servers = ServerRuntime::new(1);
    let mut plan = Plan::default();
    plan.targets
        .push(target(ProbeKind::Tcp, servers.hang(listener(0)).port));
    let http = servers.http(listener(0), 503, "");
    plan.targets.push(target(ProbeKind::Metrics, http.port));

    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let cfg = ProbeConfig {
        timeout: Duration::from_millis(500),
    };
    let mut tasks = spawn_watchers(&plan, &cfg, Duration::from_millis(50), tx);
    let mut seen = [0usize; 2];
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut batches = 0;
    while seen.iter().any(|&n| n < 3) && Instant::now() < deadline {
        // The first result of a target comes alone; unchanged ones after it, together.
        let results = match rx.recv().await {
            Some(Update::HealthChecked { target, result, .. }) => vec![(target, result)],
            Some(Update::HealthBatch { results }) => {
                batches += 1;
                results.into_iter().map(|(t, r, _)| (t, r)).collect()
            }
            Some(other) => panic!("unexpected {other:?}"),
            None => panic!("watchers stopped early"),
        };
        for (target, result) in results {
            let expected = match target {
                TargetId(0) => (ProbeState::Up, "connected"),
                TargetId(1) => (ProbeState::Unhealthy, "HTTP 503"),
                other => panic!("unknown target {other:?}"),
            };
            assert_eq!((result.state, result.detail.as_str()), expected);
            seen[target.0] += 1;
        }
    }
    assert!(batches >= 1, "unchanged results come in batches");
    assert!(seen.iter().all(|&n| n >= 3), "updates per target: {seen:?}");
    assert_eq!(http.accepted(), 1, "watcher reuses its HTTP connection");

    drop(rx);
    let stopped = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(joined) = tasks.join_next().await {
            joined.expect("watch task ended cleanly");
        }
    })
    .await;
    assert!(
        stopped.is_ok(),
        "watch tasks did not stop after the receiver was dropped"
    );
}

#[tokio::test]
async fn in_the_collector_hung_targets_hold_the_others_back_by_a_spacing_not_a_timeout() {
    let servers = ServerRuntime::new(1);
    let mut plan = Plan::default();
    // Five hung targets first in the round, then a healthy one.
    for _ in 0..5 {
        plan.targets
            .push(target(ProbeKind::Health, servers.hang(listener(0)).port));
    }
    let http = servers.http(listener(0), 200, r#"{"status":"ok"}"#);
    plan.targets.push(target(ProbeKind::Health, http.port));
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let cfg = ProbeConfig {
        timeout: Duration::from_secs(2),
    };
    let started = Instant::now();
    let _tasks = spawn_watchers(&plan, &cfg, Duration::from_secs(1), tx);
    let Some(Update::HealthChecked {
        target,
        result: first,
        ..
    }) = rx.recv().await
    else {
        panic!("collector stopped");
    };
    assert_eq!(
        target,
        TargetId(5),
        "a hung target answered first: {first:?}"
    );
    let waited = started.elapsed();
    assert_eq!(first.state, ProbeState::Up, "{first:?}");
    // 5 hung targets ahead of it cost 5 spacings (2 ms each), far from the 2 s timeout.
    assert!(
        waited < Duration::from_millis(500),
        "the healthy target waited {waited:?}"
    );
}
