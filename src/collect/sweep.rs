//! Running probers: one concurrent round over all targets, or one watch task per target
//! that reports to the state owner.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::prober::{ProbeConfig, Prober, http_client};
use crate::health::ProbeResult;
use crate::message::Update;
use crate::plan::{Plan, TargetId};

/// Probes every target once, all at the same time; results come back in prober order.
/// Takes about as long as the slowest probe, so at most one timeout.
pub async fn sweep(probers: &mut [Prober]) -> Vec<ProbeResult> {
    join_all(probers.iter_mut().map(Prober::probe)).await
}

/// Starts one task per target of `plan`, each probing every `interval` (late ticks are
/// skipped, so checks of one target never pile up) and sending [`Update::HealthChecked`].
/// A task ends when the receiver is dropped. Must be called inside a tokio runtime.
pub fn spawn_watchers(
    plan: &Plan,
    cfg: &ProbeConfig,
    interval: Duration,
    tx: mpsc::Sender<Update>,
) -> JoinSet<()> {
    spawn_watchers_with_wakeups(plan, cfg, interval, tx).0
}

/// Like [`spawn_watchers`], and also returns one [`Notify`] per target (in target order):
/// notifying it makes that target's next probe come [`SOON`] from now instead of at the next
/// tick — used while a service starts, so that readiness is seen within ~100 ms.
pub fn spawn_watchers_with_wakeups(
    plan: &Plan,
    cfg: &ProbeConfig,
    interval: Duration,
    tx: mpsc::Sender<Update>,
) -> (JoinSet<()>, Vec<Arc<Notify>>) {
    let http = http_client(cfg);
    let mut tasks = JoinSet::new();
    let mut wakeups = Vec::with_capacity(plan.targets.len());
    for (index, target) in plan.targets.iter().enumerate() {
        let prober = Prober::new(target, &http, cfg);
        let wakeup = Arc::new(Notify::new());
        wakeups.push(Arc::clone(&wakeup));
        tasks.spawn(watch(TargetId(index), prober, interval, wakeup, tx.clone()));
    }
    (tasks, wakeups)
}

/// Delay of a probe asked for out of turn.
pub const SOON: Duration = Duration::from_millis(100);

/// Probes one target forever, until the receiver goes away.
async fn watch(
    target: TargetId,
    mut prober: Prober,
    interval: Duration,
    wakeup: Arc<Notify>,
    tx: mpsc::Sender<Update>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let probe_and_report = async {
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = wakeup.notified() => {
                    tokio::time::sleep(SOON).await;
                    ticks.reset();
                }
            }
            let result = prober.probe().await;
            let update = Update::HealthChecked {
                target,
                result,
                at: Instant::now(),
            };
            // A full channel makes us wait (backpressure); a closed one ends the task.
            if tx.send(update).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = probe_and_report => {}
        () = tx.closed() => {}
    }
}
