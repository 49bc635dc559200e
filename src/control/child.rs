//! One running child: reaps it, carries out stop requests (TERM the group, KILL after the grace
//! period) and reports the exit once its last log lines are out.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::process_group::{finish_group, group_has_live_members, signal_group};
use super::watchdog::GroupRegistry;
use crate::message::{ExitReason, Update};
use crate::plan::EntryId;

/// How long the exit report waits for the log readers to reach the end of the pipes (a
/// grandchild holding them open must not delay it forever).
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_millis(250);

/// Told to the supervisor when a child is reaped: the entry and the generation it was started as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reaped {
    pub entry: EntryId,
    pub generation: u64,
}

/// Sends [`Reaped`] exactly once: explicitly, or on drop if the watch task panics or is
/// cancelled, so the supervisor never waits for a child nobody watches.
struct ReapedNotice {
    reaped: Reaped,
    to: Option<mpsc::UnboundedSender<Reaped>>,
}

impl ReapedNotice {
    fn send(&mut self) {
        if let Some(to) = self.to.take() {
            let _ = to.send(self.reaped);
        }
    }
}

impl Drop for ReapedNotice {
    fn drop(&mut self) {
        self.send();
    }
}

/// Everything the watch task owns.
pub(super) struct Watched {
    pub reaped: Reaped,
    pub child: Child,
    pub pid: u32,
    /// Stop requests: each carries its grace period (the shortest deadline wins).
    pub stop: mpsc::UnboundedReceiver<Duration>,
    pub log_readers: Vec<JoinHandle<()>>,
    pub updates: mpsc::Sender<Update>,
    pub reaped_to: mpsc::UnboundedSender<Reaped>,
    /// The entry's stop grace, also given to what its leader leaves behind when it exits.
    pub grace: Duration,
    /// Where the group is registered (and forgotten once it is finished).
    pub groups: Option<GroupRegistry>,
}

/// Watch the child until it is reaped, then report `Update::ProcessExited`.
pub(super) async fn watch(mut w: Watched) {
    let mut notice = ReapedNotice {
        reaped: w.reaped,
        to: Some(w.reaped_to.clone()),
    };
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    let status = loop {
        tokio::select! {
            status = w.child.wait() => break status,
            Some(grace) = w.stop.recv() => {
                if kill_at.is_none() {
                    signal_group(w.pid, libc::SIGTERM);
                }
                let deadline = Instant::now() + grace;
                kill_at = Some(kill_at.map_or(deadline, |at| at.min(deadline)));
            }
            () = tokio::time::sleep_until(kill_at.unwrap_or_else(Instant::now)), if kill_at.is_some() && !killed => {
                signal_group(w.pid, libc::SIGKILL);
                killed = true;
            }
        }
    };
    // Whatever the leader leaves in its group goes with it: after a stop, by the stop's
    // deadline; after an exit of its own, with a SIGTERM now and a SIGKILL after the grace
    // (a wrapper's child must not live on holding the service's ports).
    let deadline = match kill_at {
        Some(deadline) => Some(deadline),
        None if group_has_live_members(w.pid) => {
            signal_group(w.pid, libc::SIGTERM);
            Some(Instant::now() + w.grace)
        }
        None => None,
    };
    if let Some(deadline) = deadline {
        finish_group(w.pid, deadline).await;
    }
    if let Some(groups) = &w.groups {
        groups.forget(w.pid);
    }
    let drained = futures::future::join_all(w.log_readers);
    let _ = tokio::time::timeout(LOG_DRAIN_TIMEOUT, drained).await;
    // The supervisor hears of the reaping before the UI does, so a Start sent in reaction to
    // ProcessExited never finds the entry still marked as running.
    notice.send();
    let exit = match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ExitReason::Code(code),
            (None, Some(signal)) => ExitReason::Signal(signal),
            (None, None) => ExitReason::Code(-1),
        },
        Err(e) => {
            tracing::warn!("waiting for pid {}: {e}", w.pid);
            ExitReason::Code(-1)
        }
    };
    let _ = w
        .updates
        .send(Update::ProcessExited {
            entry: w.reaped.entry,
            pid: w.pid,
            exit,
            at: std::time::Instant::now(),
        })
        .await;
}
