//! State every server task reads: who the stub is, whether it is healthy, its fault switches,
//! the logger and the request counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::registry::Registry;
use crate::zap_log::{Logger, push_json_str};

/// Shared by all tasks behind an `Arc`; nothing in it needs an async lock.
pub struct Shared {
    pub name: String,
    pub version: String,
    pub log: Logger,
    pub registry: Registry,
    /// Delay added before every HTTP, gRPC and metrics answer.
    pub slow: Option<Duration>,
    /// Skip log lines for answered health checks.
    pub quiet_health: bool,
    pub started: Instant,
    pub start_unix_secs: f64,
    healthy: AtomicBool,
    open_conns: AtomicU64,
    health_ok_body: Bytes,
    health_failing_body: Bytes,
}

impl Shared {
    pub fn new(
        name: &str,
        version: &str,
        log: Logger,
        slow: Option<Duration>,
        quiet_health: bool,
    ) -> Self {
        let body = |status: &str| {
            let mut json = String::from("{\"status\":");
            push_json_str(&mut json, status);
            json.push_str(",\"service\":");
            push_json_str(&mut json, name);
            json.push_str(",\"version\":");
            push_json_str(&mut json, version);
            json.push('}');
            Bytes::from(json)
        };
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            log,
            registry: Registry::default(),
            slow: slow.filter(|d| !d.is_zero()),
            quiet_health,
            started: Instant::now(),
            start_unix_secs: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            healthy: AtomicBool::new(true),
            open_conns: AtomicU64::new(0),
            health_ok_body: body("ok"),
            health_failing_body: body("unhealthy"),
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Makes /health answer 503 from now on.
    pub fn mark_unhealthy(&self) {
        self.healthy.store(false, Ordering::Relaxed);
    }

    /// The /health JSON for `healthy` (a cheap clone of a prebuilt body).
    pub fn health_body(&self, healthy: bool) -> Bytes {
        if healthy {
            self.health_ok_body.clone()
        } else {
            self.health_failing_body.clone()
        }
    }

    /// Sleeps for `--slow`, if set.
    pub async fn delay(&self) {
        if let Some(delay) = self.slow {
            tokio::time::sleep(delay).await;
        }
    }

    pub fn open_conns(&self) -> u64 {
        self.open_conns.load(Ordering::Relaxed)
    }
}

/// Counts one open connection for as long as it lives.
pub struct ConnGuard(Arc<Shared>);

impl ConnGuard {
    pub fn new(shared: Arc<Shared>) -> Self {
        shared.open_conns.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.open_conns.fetch_sub(1, Ordering::Relaxed);
    }
}
