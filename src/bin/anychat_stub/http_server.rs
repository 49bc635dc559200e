//! HTTP/1.1 servers (keep-alive): /health plus the infra health paths on the service ports,
//! and /metrics on the metrics port.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::exposition::{self, Snapshot};
use crate::go_runtime::{self, ProcessSample};
use crate::shared::{ConnGuard, Shared};
use crate::zap_log::{Field, Level};

/// Which set of paths a listener answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// `--http-port`: /health, infra health paths, `/`.
    Service,
    /// `--metrics-port`: /metrics only.
    Metrics,
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// What a path resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Health,
    NatsHealthz,
    MinioLive,
    PromHealthy,
    PromReady,
    GrafanaHealth,
    Root,
    Metrics,
    NotFound,
}

impl Route {
    fn resolve(site: Site, path: &str) -> Self {
        match (site, path) {
            (Site::Service, "/health") => Self::Health,
            (Site::Service, "/healthz") => Self::NatsHealthz,
            (Site::Service, "/minio/health/live") => Self::MinioLive,
            (Site::Service, "/-/healthy") => Self::PromHealthy,
            (Site::Service, "/-/ready") => Self::PromReady,
            (Site::Service, "/api/health") => Self::GrafanaHealth,
            (Site::Service, "/") => Self::Root,
            (Site::Metrics, "/metrics") => Self::Metrics,
            _ => Self::NotFound,
        }
    }

    /// The `path` label in `http_requests_total`; unknown paths share one value.
    fn label(self) -> &'static str {
        match self {
            Self::Health => "/health",
            Self::NatsHealthz => "/healthz",
            Self::MinioLive => "/minio/health/live",
            Self::PromHealthy => "/-/healthy",
            Self::PromReady => "/-/ready",
            Self::GrafanaHealth => "/api/health",
            Self::Root => "/",
            Self::Metrics => "/metrics",
            Self::NotFound => "unmatched",
        }
    }

    fn is_health_check(self) -> bool {
        !matches!(self, Self::Root | Self::Metrics | Self::NotFound)
    }
}

/// Accepts connections forever, one task per connection.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, site: Site) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // EMFILE and friends: back off instead of spinning.
                let msg = err.to_string();
                let fields = [("error", Field::Str(&msg))];
                shared
                    .log
                    .log(Level::Error, "server/http.go:71", "accept failed", &fields);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _open = ConnGuard::new(Arc::clone(&shared));
            let service = service_fn(|req| answer(Arc::clone(&shared), site, peer, req));
            // A peer that resets or speaks garbage only ends its own connection.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    shared: Arc<Shared>,
    site: Site,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let route = Route::resolve(site, req.uri().path());
    shared.delay().await;
    let (status, content_type, body) = match route {
        Route::Health => {
            let healthy = shared.is_healthy();
            let status = if healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, JSON, shared.health_body(healthy))
        }
        Route::NatsHealthz => (
            StatusCode::OK,
            JSON,
            Bytes::from_static(b"{\"status\":\"ok\"}"),
        ),
        Route::MinioLive => (StatusCode::OK, TEXT, Bytes::new()),
        Route::PromHealthy => (
            StatusCode::OK,
            TEXT,
            Bytes::from_static(b"Prometheus Server is Healthy.\n"),
        ),
        Route::PromReady => (
            StatusCode::OK,
            TEXT,
            Bytes::from_static(b"Prometheus Server is Ready.\n"),
        ),
        Route::GrafanaHealth => (
            StatusCode::OK,
            JSON,
            Bytes::from_static(b"{\"commit\":\"stub\",\"database\":\"ok\",\"version\":\"10.0.0\"}"),
        ),
        Route::Root => (
            StatusCode::OK,
            TEXT,
            Bytes::from(format!(
                "{} {} (anychat-stub)\n",
                shared.name, shared.version
            )),
        ),
        Route::Metrics => (
            StatusCode::OK,
            exposition::CONTENT_TYPE,
            metrics_body(&shared),
        ),
        Route::NotFound => (
            StatusCode::NOT_FOUND,
            TEXT,
            Bytes::from_static(b"404 page not found\n"),
        ),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if route == Route::NotFound {
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
    }
    // Scrapes are counted by promhttp's own counter and, as in Go services, not logged.
    if route != Route::Metrics {
        let elapsed = started.elapsed();
        let method = method_label(req.method());
        let key = (method, route.label());
        shared
            .registry
            .http_request(key, status.as_u16(), elapsed.as_secs_f64());
        if !(shared.quiet_health && route.is_health_check()) {
            log_request(&shared, &req, peer, status, elapsed);
        }
    }
    Ok(response)
}

fn log_request(
    shared: &Shared,
    req: &Request<Incoming>,
    peer: SocketAddr,
    status: StatusCode,
    elapsed: Duration,
) {
    let ip = peer.ip().to_string();
    crate::request_log::log_http(
        shared,
        req.method().as_str(),
        req.uri().path(),
        status.as_u16(),
        elapsed,
        &ip,
        None,
    );
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn metrics_body(shared: &Shared) -> Bytes {
    let series = shared.registry.scrape();
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let uptime = shared.started.elapsed().as_secs_f64();
    let go = go_runtime::simulate(uptime, series.requests_total, shared.open_conns(), now_unix);
    let process = ProcessSample::read();
    let snapshot = Snapshot {
        series: &series,
        go: &go,
        process: &process,
        start_time_seconds: shared.start_unix_secs,
    };
    Bytes::from(exposition::render(&snapshot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_site() {
        assert_eq!(Route::resolve(Site::Service, "/health"), Route::Health);
        assert_eq!(
            Route::resolve(Site::Service, "/healthz"),
            Route::NatsHealthz
        );
        assert_eq!(Route::resolve(Site::Service, "/metrics"), Route::NotFound);
        assert_eq!(Route::resolve(Site::Metrics, "/metrics"), Route::Metrics);
        assert_eq!(Route::resolve(Site::Metrics, "/health"), Route::NotFound);
        assert_eq!(Route::resolve(Site::Service, "/health/"), Route::NotFound);
        assert!(Route::resolve(Site::Service, "/-/ready").is_health_check());
        assert!(!Route::resolve(Site::Service, "/").is_health_check());
    }
}
