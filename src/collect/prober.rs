//! One prober per target: picks the check for its [`ProbeSpec`], owns its reusable connection
//! state, and bounds every probe by the timeout.

use std::time::{Duration, Instant};

use crate::health::{ProbeResult, ProbeState};
use crate::plan::{Plan, ProbeSpec, Target};

use super::grpc_health::GrpcHealthCheck;
use super::http::HttpCheck;
use super::postgres::PostgresCheck;
use super::reason;
use super::redis::RedisCheck;
use super::tcp::TcpCheck;

/// How long a probe may take before it counts as down.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Settings shared by every probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Upper bound on one probe, connecting included; past it the target is Down "timed out".
    pub timeout: Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            timeout: DEFAULT_PROBE_TIMEOUT,
        }
    }
}

/// What a check concluded, before the prober adds the latency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub state: ProbeState,
    pub detail: String,
}

impl Verdict {
    pub fn new(state: ProbeState, detail: impl Into<String>) -> Self {
        Verdict {
            state,
            detail: detail.into(),
        }
    }

    pub fn up(detail: impl Into<String>) -> Self {
        Verdict::new(ProbeState::Up, detail)
    }

    pub fn unhealthy(detail: impl Into<String>) -> Self {
        Verdict::new(ProbeState::Unhealthy, detail)
    }

    pub fn down(detail: impl Into<String>) -> Self {
        Verdict::new(ProbeState::Down, detail)
    }
}

enum Check {
    Tcp(TcpCheck),
    Http(HttpCheck),
    GrpcHealth(Box<GrpcHealthCheck>),
    Redis(RedisCheck),
    Postgres(PostgresCheck),
}

/// Probes one target; `&mut self` on [`Prober::probe`] means two probes of it never overlap.
pub struct Prober {
    timeout: Duration,
    check: Check,
}

impl Prober {
    /// A prober for `target`; HTTP checks share `http` (and so its keep-alive pool).
    /// Connections are opened on the first probe, so this needs no runtime.
    pub fn new(target: &Target, http: &reqwest::Client, cfg: &ProbeConfig) -> Prober {
        let host = target.host.as_str();
        let port = target.port;
        let check =
            match &target.probe {
                ProbeSpec::Tcp => Check::Tcp(TcpCheck::new(host, port)),
                ProbeSpec::Http { path, json_status } => Check::Http(HttpCheck::new(
                    http,
                    host,
                    port,
                    path,
                    *json_status,
                    cfg.timeout,
                )),
                ProbeSpec::GrpcHealth { service } => Check::GrpcHealth(Box::new(
                    GrpcHealthCheck::new(host, port, service, cfg.timeout),
                )),
                ProbeSpec::Redis => Check::Redis(RedisCheck::new(host, port)),
                ProbeSpec::Postgres => Check::Postgres(PostgresCheck::new(host, port)),
            };
        Prober {
            timeout: cfg.timeout,
            check,
        }
    }

    /// Runs one check, bounded by the timeout; never panics on what the network returns.
    pub async fn probe(&mut self) -> ProbeResult {
        let started = Instant::now();
        let run = async {
            match &mut self.check {
                Check::Tcp(c) => c.run().await,
                Check::Http(c) => c.run().await,
                Check::GrpcHealth(c) => c.run().await,
                Check::Redis(c) => c.run().await,
                Check::Postgres(c) => c.run().await,
            }
        };
        let verdict = tokio::time::timeout(self.timeout, run)
            .await
            .unwrap_or_else(|_| Verdict::down(reason::timed_out(self.timeout)));
        ProbeResult::new(verdict.state, started.elapsed(), verdict.detail)
    }
}

/// The shared HTTP client: keep-alive pool reused across sweeps, no proxy, no TLS needed.
pub fn http_client(cfg: &ProbeConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(4)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("anychat-top/", env!("CARGO_PKG_VERSION")))
        .build()
        // Fails only if the TLS backend cannot initialise; nothing here comes from outside.
        .expect("HTTP client with fixed settings builds")
}

/// One prober per target of `plan`, in target order, sharing one HTTP client.
pub fn probers(plan: &Plan, cfg: &ProbeConfig) -> Vec<Prober> {
    let http = http_client(cfg);
    plan.targets
        .iter()
        .map(|target| Prober::new(target, &http, cfg))
        .collect()
}
