//! Probes against the bundled `anychat-stub`: every probe kind, failing health, gRPC health
//! variants, slow and hung servers, and a restart on the same port.

use std::time::{Duration, Instant};

use anychat_top::collect::{ProbeConfig, probers, sweep};
use anychat_top::health::ProbeState;
use anychat_top::plan::{Plan, ProbeKind, ProbeSpec};

use super::support::process::{ChildGuard, free_port, stub, wait_for_port, wait_for_port_closed};
use super::support::{target, target_with};
use super::{SECOND, probe_once, probe_until, prober};

/// Ports of one stub: HTTP, gRPC, metrics.
struct StubPorts {
    http: u16,
    grpc: u16,
    metrics: u16,
}

/// Starts a stub on fresh HTTP, gRPC and metrics ports (plus `extra` arguments) and waits
/// until all three accept connections.
async fn start_stub(extra: &[&str]) -> (ChildGuard, StubPorts) {
    let ports = StubPorts {
        http: free_port(),
        grpc: free_port(),
        metrics: free_port(),
    };
    let guard = start_stub_on(&ports, extra).await;
    (guard, ports)
}

async fn start_stub_on(ports: &StubPorts, extra: &[&str]) -> ChildGuard {
    let (http, grpc, metrics) = (
        ports.http.to_string(),
        ports.grpc.to_string(),
        ports.metrics.to_string(),
    );
    let mut args = vec![
        "--http-port",
        &http,
        "--grpc-port",
        &grpc,
        "--metrics-port",
        &metrics,
    ];
    args.extend_from_slice(extra);
    let mut guard = stub(&args);
    for port in [ports.http, ports.grpc, ports.metrics] {
        let ready = wait_for_port(port, 10 * SECOND).await;
        assert!(
            ready,
            "stub port {port} not ready (exited: {:?})",
            guard.exited()
        );
    }
    guard
}

fn grpc_service(port: u16, service: &str) -> anychat_top::plan::Target {
    let spec = ProbeSpec::GrpcHealth {
        service: service.to_string(),
    };
    target_with(ProbeKind::Grpc, port, spec)
}

#[tokio::test]
async fn stub_answers_every_probe_kind() {
    let (redis, postgres, tcp) = (free_port(), free_port(), free_port());
    let (redis_arg, postgres_arg, tcp_arg) =
        (redis.to_string(), postgres.to_string(), tcp.to_string());
    let (_stub, ports) = start_stub(&[
        "--redis-port",
        &redis_arg,
        "--postgres-port",
        &postgres_arg,
        "--tcp-port",
        &tcp_arg,
    ])
    .await;
    for port in [redis, postgres, tcp] {
        assert!(wait_for_port(port, 10 * SECOND).await, "port {port}");
    }
    let cases = [
        (target(ProbeKind::Health, ports.http), "HTTP 200"),
        (target(ProbeKind::Metrics, ports.metrics), "HTTP 200"),
        (target(ProbeKind::Grpc, ports.grpc), "SERVING"),
        (grpc_service(ports.grpc, "probe-test"), "SERVING"),
        (target(ProbeKind::Redis, redis), "PONG"),
        (
            target(ProbeKind::Postgres, postgres),
            "accepting connections (SSL: no)",
        ),
        (target(ProbeKind::Tcp, tcp), "connected"),
    ];
    for (t, detail) in cases {
        let r = probe_once(&t, SECOND).await;
        assert_eq!(
            (r.state, r.detail.as_str()),
            (ProbeState::Up, detail),
            "{:?}",
            t.probe
        );
    }
    let r = probe_once(&grpc_service(ports.grpc, "no.such.Service"), SECOND).await;
    assert_eq!(r.state, ProbeState::Unhealthy, "{r:?}");
}

#[tokio::test]
async fn stub_failing_health_is_unhealthy() {
    let (_stub, ports) = start_stub(&["--fail-health-after", "0s"]).await;
    let mut http = prober(&target(ProbeKind::Health, ports.http), SECOND);
    let r = probe_until(&mut http, 5 * SECOND, |r| r.state == ProbeState::Unhealthy).await;
    assert_eq!(r.state, ProbeState::Unhealthy, "{r:?}");
    assert!(r.detail.starts_with("HTTP 503"), "{r:?}");

    let mut grpc = prober(&target(ProbeKind::Grpc, ports.grpc), SECOND);
    let r = probe_until(&mut grpc, 5 * SECOND, |r| r.state == ProbeState::Unhealthy).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "NOT_SERVING")
    );
}

#[tokio::test]
async fn stub_grpc_health_variants() {
    let (_not_serving, a) = start_stub(&["--grpc-health-status", "not-serving"]).await;
    let (_unknown, b) = start_stub(&["--grpc-health-status", "unknown"]).await;
    let (_no_health, c) = start_stub(&["--no-grpc-health"]).await;

    let r = probe_once(&target(ProbeKind::Grpc, a.grpc), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "NOT_SERVING")
    );
    let r = probe_once(&target(ProbeKind::Grpc, b.grpc), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "UNKNOWN")
    );
    let r = probe_once(&target(ProbeKind::Grpc, c.grpc), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::NoHealthService, "port up, no health service")
    );
    assert!(r.state.is_up());
}

#[tokio::test]
async fn stub_slow_and_hung_answers_are_cut_at_the_timeout() {
    let (_slow, slow) = start_stub(&["--slow", "3s"]).await;
    let (_hung, hung) = start_stub(&["--hang"]).await;
    let timeout = Duration::from_millis(300);
    let targets = [
        target(ProbeKind::Health, slow.http),
        target(ProbeKind::Grpc, slow.grpc),
        target(ProbeKind::Health, hung.http),
        target(ProbeKind::Grpc, hung.grpc),
        target(ProbeKind::Metrics, hung.metrics),
    ];
    for t in &targets {
        let r = probe_once(t, timeout).await;
        assert_eq!(
            (r.state, r.detail.as_str()),
            (ProbeState::Down, "timed out after 300ms")
        );
        assert!(
            r.latency >= timeout && r.latency < timeout + Duration::from_millis(200),
            "{:?} latency {:?}",
            t.probe,
            r.latency
        );
    }
    // A hung server still accepts connections.
    let r = probe_once(&target(ProbeKind::Tcp, hung.http), timeout).await;
    assert_eq!(r.state, ProbeState::Up);
}

#[tokio::test]
async fn stub_hung_does_not_delay_a_sweep() {
    let (_ok, ok) = start_stub(&[]).await;
    let (_hung, hung) = start_stub(&["--hang"]).await;
    let mut plan = Plan::default();
    for port in [ok.http, hung.http] {
        plan.targets.push(target(ProbeKind::Health, port));
    }
    for port in [ok.grpc, hung.grpc] {
        plan.targets.push(target(ProbeKind::Grpc, port));
    }
    plan.targets.push(target(ProbeKind::Metrics, ok.metrics));
    let timeout = Duration::from_millis(500);
    let mut all = probers(&plan, &ProbeConfig { timeout });
    let started = Instant::now();
    let results = sweep(&mut all).await;
    let took = started.elapsed();
    assert!(
        took < timeout + Duration::from_millis(300),
        "sweep took {took:?}"
    );
    let states: Vec<_> = results.iter().map(|r| r.state).collect();
    use ProbeState::{Down, Up};
    assert_eq!(states, [Up, Down, Up, Down, Up], "{results:?}");
    for i in [0, 2, 4] {
        assert!(
            results[i].latency < Duration::from_millis(250),
            "{:?}",
            results[i]
        );
    }
}

#[tokio::test]
async fn stub_restart_on_the_same_port_is_seen_by_kept_connections() {
    let (first, ports) = start_stub(&[]).await;
    let mut grpc = prober(&target(ProbeKind::Grpc, ports.grpc), SECOND);
    let mut http = prober(&target(ProbeKind::Health, ports.http), SECOND);
    assert_eq!(grpc.probe().await.state, ProbeState::Up);
    assert_eq!(http.probe().await.state, ProbeState::Up);

    drop(first);
    assert!(wait_for_port_closed(ports.grpc, 5 * SECOND).await);
    let r = probe_until(&mut grpc, 5 * SECOND, |r| r.detail == "connection refused").await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );
    let r = probe_until(&mut http, 5 * SECOND, |r| r.detail == "connection refused").await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );

    let _second = start_stub_on(&ports, &["--grpc-health-status", "not-serving"]).await;
    let r = probe_until(&mut grpc, 5 * SECOND, |r| r.state != ProbeState::Down).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "NOT_SERVING")
    );
    let r = probe_until(&mut http, 5 * SECOND, |r| r.state != ProbeState::Down).await;
    assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "HTTP 200"));
}
