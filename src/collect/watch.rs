//! The probe collector of the dashboard: every interval, one round over every target not still
//! busy with its previous probe. Within a round the probes go out one after another, each as
//! soon as the previous answered or [`SPACING`] later: launched all at once they queued behind
//! each other and a 0.2 ms health check was reported as 10 ms; launched at their own times
//! across the interval, every wake-up cost CPU. A hung target stays busy alone and holds the
//! others back by one spacing, never by a timeout.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::distinct::DistinctTargets;
use super::prober::{ProbeConfig, Prober};
use crate::health::{ProbeResult, ProbeState};
use crate::message::Update;
use crate::plan::{Plan, TargetId};

/// Within a round, the next probe goes out when the previous one answered, or after this
/// long if it has not (a hung target holds the others back by this much, not by a timeout).
/// Probes launched all at once queue behind each other, and a 0.2 ms health check would be
/// reported as taking 10 ms.
pub const SPACING: Duration = Duration::from_millis(2);

/// Delay of a probe asked for out of turn (a service is starting or has just exited).
pub const SOON: Duration = Duration::from_millis(100);

/// Results that change nothing (the same state as the last one) are sent together, at the end
/// of the round or this long after the first of them: one wake-up of the loop per round instead
/// of one per target. A changed state is sent at once.
pub const BATCH_WINDOW: Duration = Duration::from_millis(250);

/// Asks the collector to probe a target [`SOON`] instead of at the next interval.
#[derive(Debug, Clone)]
pub struct ProbeWakeups {
    tx: mpsc::UnboundedSender<TargetId>,
}

impl ProbeWakeups {
    /// Probe `target` about [`SOON`] from now (once, if it is not already being probed).
    pub fn probe_soon(&self, target: TargetId) {
        // A closed collector has nothing left to probe.
        let _ = self.tx.send(target);
    }
}

/// Starts the collector for every target of `plan`, probing each every `interval` (a target
/// still busy with its previous probe is skipped, so checks of one target never overlap) and
/// sending [`Update::HealthChecked`]. It ends when the receiver is dropped. Needs a runtime.
pub fn spawn_watchers(
    plan: &Plan,
    cfg: &ProbeConfig,
    interval: Duration,
    tx: mpsc::Sender<Update>,
) -> JoinSet<()> {
    spawn_watchers_with_wakeups(plan, cfg, interval, tx).0
}

/// Like [`spawn_watchers`], with a handle to ask for early probes.
pub fn spawn_watchers_with_wakeups(
    plan: &Plan,
    cfg: &ProbeConfig,
    interval: Duration,
    tx: mpsc::Sender<Update>,
) -> (JoinSet<()>, ProbeWakeups) {
    let distinct = DistinctTargets::new(plan, cfg);
    let (wake_tx, wake_rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    tasks.spawn(collect(distinct, interval, wake_rx, tx));
    (tasks, ProbeWakeups { tx: wake_tx })
}

type Probing = std::pin::Pin<Box<dyn Future<Output = (usize, Prober, ProbeResult)> + Send>>;

fn launch(index: usize, mut prober: Prober) -> Probing {
    Box::pin(async move {
        let result = prober.probe().await;
        (index, prober, result)
    })
}

/// The collector loop over the distinct checks (a result goes to every target sharing the
/// check); ends when `tx` closes.
async fn collect(
    distinct: DistinctTargets,
    interval: Duration,
    mut wakeups: mpsc::UnboundedReceiver<TargetId>,
    tx: mpsc::Sender<Update>,
) {
    let DistinctTargets {
        probers,
        members,
        prober_of,
    } = distinct;
    // A check's prober is here while idle, inside its probe while busy.
    let mut idle: Vec<Option<Prober>> = probers.into_iter().map(Some).collect();
    let mut busy = FuturesUnordered::new();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Early probes asked for, by due time.
    let mut soon: Vec<(Instant, usize)> = Vec::new();
    let mut wakeups_open = true;
    // Targets of the current round not launched yet, and when the next may go regardless.
    let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut next_launch: Option<Instant> = None;
    // The state each check reported last, and unchanged results waiting to go together.
    let mut last: Vec<Option<ProbeState>> = vec![None; idle.len()];
    let mut batch: Vec<(TargetId, ProbeResult, Instant)> = Vec::new();
    let mut flush_at: Option<Instant> = None;
    loop {
        let next_soon = soon.iter().map(|(at, _)| *at).min();
        tokio::select! {
            () = tx.closed() => return,
            _ = ticks.tick() => {
                // The round's targets go out one after another (see `SPACING`).
                // A target still queued from the last round (a slow one) keeps its place.
                let fresh: Vec<usize> = (0..idle.len())
                    .filter(|&i| idle[i].is_some() && !queue.contains(&i))
                    .collect();
                queue.extend(fresh);
                soon.clear();
                next_launch = Some(Instant::now());
            }
            () = sleep_until(next_launch.filter(|_| !queue.is_empty())) => {
                launch_next(&mut queue, &mut idle, &mut busy);
                next_launch = Some(Instant::now() + SPACING);
            }
            wake = wakeups.recv(), if wakeups_open => match wake {
                Some(TargetId(target)) if target < prober_of.len() => {
                    let index = prober_of[target];
                    if !soon.iter().any(|(_, i)| *i == index) {
                        soon.push((Instant::now() + SOON, index));
                    }
                }
                Some(_) => {}
                None => wakeups_open = false,
            },
            () = sleep_until(next_soon) => {
                let now = Instant::now();
                soon.retain(|&(at, index)| {
                    if at > now {
                        return true;
                    }
                    if let Some(prober) = idle[index].take() {
                        busy.push(launch(index, prober));
                    }
                    false
                });
            }
            () = sleep_until(flush_at) => {
                flush_at = None;
                if flush(&mut batch, &tx).await.is_err() {
                    return;
                }
            }
            Some((index, prober, result)) = busy.next() => {
                idle[index] = Some(prober);
                // The previous probe answered: the next one of the round can go now.
                if !queue.is_empty() {
                    launch_next(&mut queue, &mut idle, &mut busy);
                    next_launch = Some(Instant::now() + SPACING);
                }
                let at = Instant::now();
                let changed = last[index] != Some(result.state);
                last[index] = Some(result.state);
                if changed {
                    // In order: what waited goes first, then the news, at once.
                    flush_at = None;
                    if flush(&mut batch, &tx).await.is_err() {
                        return;
                    }
                    for &target in &members[index] {
                        let update = Update::HealthChecked { target, result: result.clone(), at };
                        // A full channel makes us wait (backpressure); a closed one ends the collector.
                        if tx.send(update).await.is_err() {
                            return;
                        }
                    }
                } else {
                    batch.extend(members[index].iter().map(|&t| (t, result.clone(), at)));
                    flush_at.get_or_insert(at + BATCH_WINDOW);
                }
                // The round is over: send what waited.
                if queue.is_empty() && busy.is_empty() && !batch.is_empty() {
                    flush_at = None;
                    if flush(&mut batch, &tx).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Send the waiting unchanged results as one update (nothing when there are none).
async fn flush(
    batch: &mut Vec<(TargetId, ProbeResult, Instant)>,
    tx: &mpsc::Sender<Update>,
) -> Result<(), ()> {
    if batch.is_empty() {
        return Ok(());
    }
    let results = std::mem::take(batch);
    tx.send(Update::HealthBatch { results })
        .await
        .map_err(|_| ())
}

/// Launch the first queued target that is idle.
fn launch_next(
    queue: &mut std::collections::VecDeque<usize>,
    idle: &mut [Option<Prober>],
    busy: &mut FuturesUnordered<Probing>,
) {
    while let Some(index) = queue.pop_front() {
        if let Some(prober) = idle[index].take() {
            busy.push(launch(index, prober));
            return;
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
