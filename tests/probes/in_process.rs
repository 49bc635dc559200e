//! Every probe kind against in-process servers: answers, failures, timeouts and reuse of
//! connections between probes.

use std::time::Duration;

use anychat_top::health::ProbeState;
use anychat_top::plan::{ProbeKind, ProbeSpec};
use tonic_health::ServingStatus;

use super::support::process::{free_port, wait_for_port_closed};
use super::support::servers::{ServerRuntime, listener};
use super::support::{target, target_with};
use super::{SECOND, probe_once, probe_until, prober};

#[tokio::test]
async fn tcp_connect_up_and_refused() {
    let servers = ServerRuntime::new(1);
    let open = servers.hang(listener(0));
    let up = probe_once(&target(ProbeKind::Tcp, open.port), SECOND).await;
    assert_eq!(
        (up.state, up.detail.as_str()),
        (ProbeState::Up, "connected")
    );
    assert!(up.latency < Duration::from_millis(500), "{up:?}");

    let closed = probe_once(&target(ProbeKind::Tcp, free_port()), SECOND).await;
    assert_eq!(
        (closed.state, closed.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );
}

#[tokio::test]
async fn http_up_reuses_one_connection() {
    let servers = ServerRuntime::new(1);
    let server = servers.http(listener(0), 200, r#"{"status":"ok"}"#);
    let mut p = prober(&target(ProbeKind::Health, server.port), SECOND);
    for _ in 0..3 {
        let r = p.probe().await;
        assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "HTTP 200"));
    }
    assert_eq!(server.accepted(), 1, "keep-alive connection reused");
}

#[tokio::test]
async fn http_status_and_json_status_decide_health() {
    let servers = ServerRuntime::new(1);
    let degraded = servers.http(listener(0), 200, r#"{"status":"degraded"}"#);
    let failing = servers.http(listener(0), 503, r#"{"status":"down"}"#);
    let grafana = servers.http(listener(0), 200, r#"{"database":"ok","version":"11"}"#);

    let r = probe_once(&target(ProbeKind::Health, degraded.port), SECOND).await;
    assert_eq!(r.state, ProbeState::Unhealthy);
    assert_eq!(r.detail, r#"HTTP 200, status "degraded""#);
    // Without json_status only the code counts.
    let r = probe_once(&target(ProbeKind::Http, degraded.port), SECOND).await;
    assert_eq!(r.state, ProbeState::Up);

    let r = probe_once(&target(ProbeKind::Health, failing.port), SECOND).await;
    assert_eq!(r.state, ProbeState::Unhealthy);
    assert_eq!(r.detail, r#"HTTP 503, status "down""#);
    let r = probe_once(&target(ProbeKind::Metrics, failing.port), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "HTTP 503")
    );

    let r = probe_once(&target(ProbeKind::Grafana, grafana.port), SECOND).await;
    assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "HTTP 200"));
}

#[tokio::test]
async fn http_failures_are_down_in_words() {
    let servers = ServerRuntime::new(1);
    let ssh = servers.banner(listener(0), b"SSH-2.0-OpenSSH_9.6\r\n", true);
    let r = probe_once(&target(ProbeKind::Http, ssh.port), SECOND).await;
    assert_eq!(r.state, ProbeState::Down);
    assert!(r.detail.starts_with("not HTTP"), "{r:?}");

    let r = probe_once(&target(ProbeKind::Health, free_port()), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );
}

#[tokio::test]
async fn hung_servers_are_down_after_the_timeout() {
    let servers = ServerRuntime::new(1);
    let hung = servers.hang(listener(0));
    let timeout = Duration::from_millis(300);
    for kind in [
        ProbeKind::Health,
        ProbeKind::Grpc,
        ProbeKind::Redis,
        ProbeKind::Postgres,
    ] {
        let r = probe_once(&target(kind, hung.port), timeout).await;
        assert_eq!(r.state, ProbeState::Down, "{kind:?}");
        assert_eq!(r.detail, "timed out after 300ms", "{kind:?}");
        assert!(
            r.latency >= timeout && r.latency < timeout + Duration::from_millis(200),
            "{kind:?} latency {:?}",
            r.latency
        );
    }
}

#[tokio::test]
async fn grpc_health_statuses() {
    let servers = ServerRuntime::new(1);
    let cases = [
        (ServingStatus::Serving, ProbeState::Up, "SERVING"),
        (
            ServingStatus::NotServing,
            ProbeState::Unhealthy,
            "NOT_SERVING",
        ),
        (ServingStatus::Unknown, ProbeState::Unhealthy, "UNKNOWN"),
    ];
    for (status, state, detail) in cases {
        let server = servers.grpc_health(listener(0), status);
        for service in ["", "anychat.Test"] {
            let spec = ProbeSpec::GrpcHealth {
                service: service.to_string(),
            };
            let r = probe_once(&target_with(ProbeKind::Grpc, server.port, spec), SECOND).await;
            assert_eq!(
                (r.state, r.detail.as_str()),
                (state, detail),
                "{status:?} {service:?}"
            );
        }
    }
}

#[tokio::test]
async fn grpc_without_health_service_or_with_unknown_service() {
    let servers = ServerRuntime::new(1);
    let bare = servers.grpc_without_health(listener(0));
    let r = probe_once(&target(ProbeKind::Grpc, bare.port), SECOND).await;
    assert_eq!(r.state, ProbeState::NoHealthService);
    assert_eq!(r.detail, "port up, no health service");

    let healthy = servers.grpc_health(listener(0), ServingStatus::Serving);
    let spec = ProbeSpec::GrpcHealth {
        service: "anychat.Missing".to_string(),
    };
    let r = probe_once(&target_with(ProbeKind::Grpc, healthy.port, spec), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "service not registered")
    );

    let r = probe_once(&target(ProbeKind::Grpc, free_port()), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );
}

#[tokio::test]
async fn grpc_channel_is_reused_and_recovers_after_a_restart() {
    let port = free_port();
    let first = ServerRuntime::new(1);
    let server = first.grpc_health(listener(port), ServingStatus::Serving);
    let mut p = prober(&target(ProbeKind::Grpc, port), SECOND);
    for _ in 0..3 {
        assert_eq!(p.probe().await.state, ProbeState::Up);
    }
    assert_eq!(server.accepted(), 1, "one HTTP/2 connection for all probes");

    drop(first);
    assert!(wait_for_port_closed(port, 5 * SECOND).await);
    let r = probe_until(&mut p, 5 * SECOND, |r| r.detail == "connection refused").await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );

    let second = ServerRuntime::new(1);
    let _server = second.grpc_health(listener(port), ServingStatus::NotServing);
    let r = probe_until(&mut p, 5 * SECOND, |r| r.state != ProbeState::Down).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "NOT_SERVING")
    );
}

#[tokio::test]
async fn redis_ping_keeps_its_connection_and_spots_other_protocols() {
    let servers = ServerRuntime::new(1);
    let redis = servers.fake_redis(listener(0));
    let mut p = prober(&target(ProbeKind::Redis, redis.port), SECOND);
    for _ in 0..3 {
        let r = p.probe().await;
        assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "PONG"));
    }
    assert_eq!(redis.accepted(), 1, "one connection for all PINGs");

    let nats = servers.banner(listener(0), b"INFO {\"server_id\":\"N1\"}\r\n", true);
    let r = probe_once(&target(ProbeKind::Redis, nats.port), SECOND).await;
    assert_eq!(r.state, ProbeState::Down);
    assert!(r.detail.starts_with("not Redis: \"INFO {"), "{r:?}");

    let locked = servers.banner(listener(0), b"-NOAUTH Authentication required.\r\n", false);
    let r = probe_once(&target(ProbeKind::Redis, locked.port), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Up, "auth required")
    );
}

#[tokio::test]
async fn postgres_ssl_request_answers() {
    let servers = ServerRuntime::new(1);
    let no_ssl = servers.banner(listener(0), b"N", false);
    let r = probe_once(&target(ProbeKind::Postgres, no_ssl.port), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Up, "accepting connections (SSL: no)")
    );

    let ssl = servers.banner(listener(0), b"S", false);
    let r = probe_once(&target(ProbeKind::Postgres, ssl.port), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Up, "accepting connections (SSL: yes)")
    );

    let http = servers.banner(listener(0), b"HTTP/1.1 400 Bad Request\r\n\r\n", false);
    let r = probe_once(&target(ProbeKind::Postgres, http.port), SECOND).await;
    assert_eq!(r.state, ProbeState::Down);
    assert!(r.detail.starts_with("not PostgreSQL"), "{r:?}");

    let r = probe_once(&target(ProbeKind::Postgres, free_port()), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );
}
