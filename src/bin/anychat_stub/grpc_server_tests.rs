//! Tests of the gRPC server through a real tonic client on a loopback port.

use std::time::Duration;

use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;

use super::*;
use crate::zap_log::Logger;

/// Starts a server (with `health` or without) and returns a connected client.
async fn client(health: Option<ServingStatus>) -> (HealthClient<Channel>, Arc<Shared>) {
    let shared = Arc::new(Shared::new(
        "auth-service",
        "1.0.0",
        Logger::start("auth-service"),
        None,
        true,
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let health = match health {
        Some(status) => Some(Health::new("auth-service", status).await),
        None => None,
    };
    tokio::spawn(serve(listener, Arc::clone(&shared), health));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .expect("connect");
    (HealthClient::new(channel), shared)
}

fn check(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

#[tokio::test]
async fn health_reports_overall_and_named_status_and_counts_calls() {
    let (mut client, shared) = client(Some(ServingStatus::NotServing)).await;
    for service in ["", "auth-service"] {
        let reply = client
            .check(check(service))
            .await
            .expect("check")
            .into_inner();
        assert_eq!(reply.status, Wire::NotServing as i32, "{service:?}");
    }
    let missing = client.check(check("nope")).await.expect_err("unknown name");
    assert_eq!(missing.code(), Code::NotFound);

    let series = shared.registry.scrape();
    let key = (HEALTH_SERVICE, "Check", "unary");
    assert_eq!(series.grpc_started[&key], 3);
    assert_eq!(series.grpc_handled[&(key, "OK")], 2);
    assert_eq!(series.grpc_handled[&(key, "NotFound")], 1);
}

#[tokio::test]
async fn without_health_check_is_unimplemented_like_grpc_go() {
    let (mut client, shared) = client(None).await;
    let status = client
        .check(check(""))
        .await
        .expect_err("no health service");
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(status.message(), "unknown service grpc.health.v1.Health");
    assert!(
        shared.registry.scrape().grpc_started.is_empty(),
        "not counted"
    );
}

#[test]
fn unknown_paths_get_go_messages() {
    let status = |path| {
        let response = unknown_service(path);
        let message = response.headers().get("grpc-message").cloned();
        (grpc_status(&response), message)
    };
    let (code, message) = status("/anychat.Chat/Send");
    assert_eq!(code, 12);
    assert_eq!(
        message.as_ref().and_then(|m| m.to_str().ok()),
        Some("unknown%20service%20anychat.Chat")
    );
    assert_eq!(status("/nonsense").0, 12);
}
