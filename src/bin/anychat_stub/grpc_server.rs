//! gRPC server: grpc.health.v1.Health from tonic-health (or nothing, like a real AnyChat
//! service), with Go's "unknown service" UNIMPLEMENTED answer for every other path.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::registry::{GrpcKey, grpc_code_name};
use crate::shared::Shared;
use crate::zap_log::{Field, Level};

const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// The health service and the handle that changes what it reports.
pub struct Health {
    pub reporter: HealthReporter,
    server: HealthServer<HealthService>,
}

impl Health {
    /// Health service reporting `status` for "" (the whole server) and for `service`.
    pub async fn new(service: &str, status: ServingStatus) -> Self {
        let reporter = HealthReporter::new();
        reporter.set_service_status("", status).await;
        reporter.set_service_status(service, status).await;
        let server = HealthServer::new(HealthService::from_health_reporter(reporter.clone()));
        Self { reporter, server }
    }
}

/// Serves gRPC on `listener` until the process exits.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, health: Option<Health>) {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    if health.is_some() {
        shared
            .registry
            .grpc_register((HEALTH_SERVICE, "Check", "unary"));
    }
    let dispatch = Dispatch {
        health: health.map(|h| h.server),
        shared: Arc::clone(&shared),
    };
    if let Err(err) = Server::builder()
        .serve_with_incoming(dispatch, incoming)
        .await
    {
        let msg = err.to_string();
        let fields = [("error", Field::Str(&msg))];
        shared.log.log(
            Level::Error,
            "server/grpc.go:48",
            "gRPC server stopped",
            &fields,
        );
    }
}

/// Routes health calls to tonic-health and answers everything else as Go's grpc-go does for
/// an unregistered service; adds `--slow`, counts and logs health calls.
#[derive(Clone)]
struct Dispatch {
    health: Option<HealthServer<HealthService>>,
    shared: Arc<Shared>,
}

impl Service<http::Request<Body>> for Dispatch {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let path = req.uri().path();
        let (target, key) = match self.health.clone() {
            Some(health) if path.starts_with(HEALTH_PREFIX) => {
                (Target::Health(health), health_key(path))
            }
            _ => (Target::Unknown(unknown_service(path)), None),
        };
        Box::pin(async move {
            let started = Instant::now();
            if let Some(key) = key {
                shared.registry.grpc_started(key);
            }
            shared.delay().await;
            let response = match target {
                Target::Health(mut health) => match health.call(req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                Target::Unknown(response) => response,
            };
            // Streams (Watch) finish later; only unary calls are "handled" here.
            if let Some(key @ (_, _, "unary")) = key {
                let code = grpc_status(&response);
                shared.registry.grpc_handled(key, grpc_code_name(code));
                shared
                    .registry
                    .grpc_observe(key, started.elapsed().as_secs_f64());
                if !shared.quiet_health {
                    log_call(&shared, key, code, started.elapsed());
                }
            }
            Ok(response)
        })
    }
}

/// Where one call goes.
enum Target {
    Health(HealthServer<HealthService>),
    /// The finished UNIMPLEMENTED answer.
    Unknown(http::Response<Body>),
}

fn health_key(path: &str) -> Option<GrpcKey> {
    match path.strip_prefix(HEALTH_PREFIX)? {
        "Check" => Some((HEALTH_SERVICE, "Check", "unary")),
        "Watch" => Some((HEALTH_SERVICE, "Watch", "server_stream")),
        _ => None,
    }
}

/// `grpc-status` of a trailers-only (error) response; 0 when it is in the trailers (OK).
fn grpc_status(response: &http::Response<Body>) -> i32 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// grpc-go's answer for a service nobody registered: UNIMPLEMENTED "unknown service X".
fn unknown_service(path: &str) -> http::Response<Body> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default();
    let message = match parts.next() {
        Some(_) if !service.is_empty() => format!("unknown service {service}"),
        _ => format!("malformed method name: {path:?}"),
    };
    tonic::Status::unimplemented(message).into_http()
}

/// The interceptor's line for one finished call, in the real services' shape.
pub fn log_call(shared: &Shared, key: GrpcKey, code: i32, elapsed: Duration) {
    let (service, method, _) = key;
    let full = format!("/{service}/{method}");
    crate::request_log::log_grpc(shared, &full, code, elapsed);
}

#[cfg(test)]
#[path = "grpc_server_tests.rs"]
mod tests;
