//! Probe tests: each probe kind against in-process servers, the bundled `anychat-stub`, and
//! real Redis, NATS and PostgreSQL servers on free loopback ports.

mod support;

#[path = "probes/in_process.rs"]
mod in_process;
#[path = "probes/infra.rs"]
mod infra;
#[path = "probes/stub.rs"]
mod stub;
#[path = "probes/sweeps.rs"]
mod sweeps;

use std::time::Duration;

use anychat_top::collect::{ProbeConfig, Prober, http_client};
use anychat_top::health::ProbeResult;
use anychat_top::plan::Target;

/// A prober for `target` with its own HTTP client and the given timeout.
fn prober(target: &Target, timeout: Duration) -> Prober {
    let cfg = ProbeConfig { timeout };
    Prober::new(target, &http_client(&cfg), &cfg)
}

/// One probe of `target` with a fresh prober.
async fn probe_once(target: &Target, timeout: Duration) -> ProbeResult {
    prober(target, timeout).probe().await
}

/// Probes until `done` holds for a result (or `within` runs out); returns the last result.
async fn probe_until(
    prober: &mut Prober,
    within: Duration,
    done: impl Fn(&ProbeResult) -> bool,
) -> ProbeResult {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let result = prober.probe().await;
        if done(&result) || tokio::time::Instant::now() >= deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const SECOND: Duration = Duration::from_secs(1);
