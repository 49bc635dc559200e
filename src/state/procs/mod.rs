//! Supervision decisions, kept pure: lifecycles and single starts and stops here; start-all and
//! stop-all in `bulk`; exits, restart policy and bind failures in `exits`; processes that run
//! outside anychat-top in `external`.

mod bulk;
mod exits;
mod external;

pub use bulk::Bulk;
pub use exits::bind_failure_port;

use std::time::{Duration, Instant};

use crate::message::{Command, ExitReason, PortOwner};
use crate::plan::EntryId;

use super::{Severity, State};

/// First restart delay after a crash; doubles each time.
pub const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest restart delay.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Uptime after which a process counts as stable and its backoff starts again from the beginning.
pub const STABLE_UPTIME: Duration = Duration::from_secs(30);

/// Where a supervised service is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum Lifecycle {
    /// Not running (never started, or stopped by the user).
    Stopped,
    /// Start asked or spawned, not healthy yet.
    Starting { since: Instant },
    /// Running; healthy or not is what the probes say.
    Running { since: Instant },
    /// SIGTERM sent, waiting for the exit.
    Stopping { since: Instant },
    /// Ended by itself with code 0, or after a stop.
    Exited { exit: ExitReason, at: Instant },
    /// Ended by itself with a failure.
    Crashed { exit: ExitReason, at: Instant },
    /// Crashed and waiting to be restarted.
    BackingOff { exit: ExitReason, until: Instant },
    /// Could not be spawned at all.
    SpawnFailed { error: String, at: Instant },
    /// Its port answered before anychat-top started anything: someone else runs it.
    External { owner: Option<PortOwner> },
}

impl Lifecycle {
    /// Short name for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Lifecycle::Stopped => "stopped",
            Lifecycle::Starting { .. } => "starting",
            Lifecycle::Running { .. } => "running",
            Lifecycle::Stopping { .. } => "stopping",
            Lifecycle::Exited { .. } => "exited",
            Lifecycle::Crashed { .. } => "crashed",
            Lifecycle::BackingOff { .. } => "backing off",
            Lifecycle::SpawnFailed { .. } => "spawn failed",
            Lifecycle::External { .. } => "not supervised",
        }
    }

    /// A process of ours is alive (or about to be).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            Lifecycle::Starting { .. } | Lifecycle::Running { .. } | Lifecycle::Stopping { .. }
        )
    }
}

/// Supervision facts about one entry.
#[derive(Debug, Clone)]
pub struct Proc {
    pub lifecycle: Lifecycle,
    pub pid: Option<u32>,
    pub started_at: Option<Instant>,
    /// Consecutive crashes without a stable stretch in between.
    pub crashes: u32,
    /// Every restart done by the policy.
    pub restarts: u32,
    pub last_exit: Option<(ExitReason, Instant)>,
    /// The process said "address already in use" for this port before exiting.
    pub bind_failure: Option<u16>,
    /// Who holds the entry's port when it is not ours (external, or a bind failure).
    pub port_owner: Option<PortOwner>,
    /// A restart is under way: start again once the stop completes.
    pub restart_after_stop: bool,
    stop_requested: bool,
}

impl Default for Proc {
    fn default() -> Self {
        Proc {
            lifecycle: Lifecycle::Stopped,
            pid: None,
            started_at: None,
            crashes: 0,
            restarts: 0,
            last_exit: None,
            bind_failure: None,
            port_owner: None,
            restart_after_stop: false,
            stop_requested: false,
        }
    }
}

/// Restart delay after `crashes` consecutive crashes: 1 s, 2 s, 4 s ... capped at 30 s.
pub fn backoff(crashes: u32) -> Duration {
    let shift = crashes.saturating_sub(1).min(16);
    (BACKOFF_START * (1u32 << shift)).min(BACKOFF_CAP)
}

impl State {
    /// Entries with a command, in dependency order (dependencies first), stable in plan order.
    pub fn start_order(&self) -> Vec<EntryId> {
        let mut order = self.plan.dependency_order();
        order.retain(|e| {
            !self.plan.entries[e.0].command.is_empty() || self.plan.entries[e.0].is_container()
        });
        order
    }

    /// An entry is ready for its dependents when its probes say up; a worker (no port to
    /// probe) when its process runs.
    pub fn is_ready(&self, entry: EntryId) -> bool {
        if self.plan.entries[entry.0].targets.is_empty() {
            return matches!(self.procs[entry.0].lifecycle, Lifecycle::Running { .. });
        }
        self.entry_state(entry).is_up() && self.container_ready(entry)
    }

    pub(in crate::state) fn queue(&mut self, c: Command) {
        self.pending.push(c);
    }

    /// Start one entry now (user key or policy).
    pub(in crate::state) fn start(&mut self, entry: EntryId, now: Instant) {
        if self.plan.entries[entry.0].is_container() {
            return self.container_start(entry, now);
        }
        let e = &self.plan.entries[entry.0];
        let name = e.name.clone();
        if e.command.is_empty() {
            self.alert(
                now,
                Severity::Warning,
                format!("{name} has no command in the manifest: nothing to start"),
            );
            return;
        }
        let p = &self.procs[entry.0];
        if p.lifecycle.is_live() {
            return;
        }
        // A port of its own held by someone else (the scanner says who): refused, named.
        if self.refuse_start(entry, now) {
            return;
        }
        let p = &mut self.procs[entry.0];
        p.lifecycle = Lifecycle::Starting { since: now };
        p.stop_requested = false;
        p.bind_failure = None;
        self.queue(Command::Start { entry });
    }

    /// Stop one entry now.
    pub(in crate::state) fn stop(&mut self, entry: EntryId, now: Instant) {
        if self.plan.entries[entry.0].is_container() {
            return self.container_stop(entry, now);
        }
        let grace = self.plan.entries[entry.0].stop_grace;
        let p = &mut self.procs[entry.0];
        match p.lifecycle {
            Lifecycle::BackingOff { exit, .. } => {
                p.lifecycle = Lifecycle::Exited { exit, at: now };
            }
            Lifecycle::Starting { .. } | Lifecycle::Running { .. } => {
                p.stop_requested = true;
                p.lifecycle = Lifecycle::Stopping { since: now };
                self.queue(Command::Stop { entry, grace });
            }
            _ => {}
        }
    }
}
