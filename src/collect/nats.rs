//! Polls a nats-server monitoring port (`/varz`, `/connz`, `/subsz`, `/jsz`, `/healthz`) on its
//! own interval with a timeout on each request; unreachable is a fact like any other.

pub mod decode;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::collect::{ProbeConfig, http_client};
use decode::{Connz, Healthz, Jsz, Subsz, Varz};

/// Time between two polls unless configured otherwise.
pub const DEFAULT_NATS_INTERVAL: Duration = Duration::from_secs(2);
/// Monitoring pages larger than this are refused (a /connz of thousands of clients).
pub const MAX_PAGE_BYTES: usize = 4 << 20;
/// Connections asked of `/connz` (the server's default is 1024).
pub const CONNZ_LIMIT: u32 = 256;

/// Everything one poll read; `/varz` answered, the other pages may have failed on their own.
#[derive(Debug, Clone)]
pub struct NatsSnapshot {
    pub varz: Varz,
    pub connz: Result<Connz, String>,
    pub subsz: Result<Subsz, String>,
    pub jsz: Result<Jsz, String>,
    pub healthz: Result<Healthz, String>,
}

/// One poll of the monitoring port.
#[derive(Debug, Clone)]
pub struct NatsFact {
    pub at: Instant,
    /// `Err` when `/varz` did not answer: the server is unreachable (or not NATS).
    pub outcome: Result<NatsSnapshot, String>,
}

/// Polls `http://host:port` every `interval` until `tx` closes; polls never overlap.
pub async fn run_nats(
    host: String,
    port: u16,
    interval: Duration,
    timeout: Duration,
    tx: mpsc::Sender<NatsFact>,
) {
    let client = http_client(&ProbeConfig { timeout });
    let base = format!("http://{host}:{port}");
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            _ = ticker.tick() => {}
        }
        let fact = poll_once(&client, &base, timeout).await;
        if tx.send(fact).await.is_err() {
            return;
        }
    }
}

/// Reads the five pages of `base` (e.g. `http://127.0.0.1:8222`) concurrently, once.
pub async fn poll_once(client: &reqwest::Client, base: &str, timeout: Duration) -> NatsFact {
    let at = Instant::now();
    let connz_path = format!("/connz?limit={CONNZ_LIMIT}");
    let (varz, connz, subsz, jsz, healthz) = tokio::join!(
        get(client, base, "/varz", timeout),
        get(client, base, &connz_path, timeout),
        get(client, base, "/subsz", timeout),
        get(client, base, "/jsz", timeout),
        get(client, base, "/healthz", timeout),
    );
    let outcome = varz
        .and_then(|b| decode::decode::<Varz>(&b).map_err(|e| format!("/varz: {e}")))
        .map(|varz| NatsSnapshot {
            varz,
            connz: connz.and_then(|b| decode::decode(&b)),
            subsz: subsz.and_then(|b| decode::decode(&b)),
            jsz: jsz.and_then(|b| decode::decode(&b)),
            // An unhealthy server answers 503 with a JSON reason: read it either way.
            healthz: healthz.and_then(|b| decode::decode(&b)),
        });
    NatsFact { at, outcome }
}

/// GETs `base` + `path`; any status is returned for /healthz (503 carries the reason), only 200 otherwise.
async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let request = async {
        let mut response = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .map_err(|e| root_cause(&e))?;
        let status = response.status();
        if !status.is_success() && path != "/healthz" {
            return Err(format!("{path}: HTTP {}", status.as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| root_cause(&e))? {
            if body.len() + chunk.len() > MAX_PAGE_BYTES {
                return Err(format!("{path}: page over {} KiB", MAX_PAGE_BYTES / 1024));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, request)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{path}: no answer in {}",
                humantime::format_duration(timeout)
            ))
        })
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
