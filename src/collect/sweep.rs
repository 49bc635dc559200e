//! One concurrent round of probes over all targets (`check`, benchmarks).

use futures::future::join_all;

use super::prober::Prober;
use crate::health::ProbeResult;

/// Probes every target once, all at the same time; results come back in prober order.
/// Takes about as long as the slowest probe, so at most one timeout.
pub async fn sweep(probers: &mut [Prober]) -> Vec<ProbeResult> {
    join_all(probers.iter_mut().map(Prober::probe)).await
}
