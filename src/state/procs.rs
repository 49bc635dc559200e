//! Supervision decisions, kept pure: lifecycles, restart policy with capped backoff,
//! start-all in dependency order behind readiness gates, stop-all in reverse.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::health::ProbeState;
use crate::message::{Command, ExitReason, PortOwner};
use crate::plan::{EntryId, RestartPolicy, TargetId};

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

/// The progress of a start-all or stop-all.
#[derive(Debug, Clone, PartialEq)]
pub enum Bulk {
    None,
    /// Entries still to start, in dependency order; `waiting` since when the head waits on a gate.
    Starting {
        queue: VecDeque<EntryId>,
        waiting: Option<(EntryId, Instant)>,
    },
    /// Entries still to stop, dependents first.
    Stopping {
        queue: VecDeque<EntryId>,
    },
}

/// "address already in use" in a line → the port it names (`listen tcp :8001: bind: ...`).
pub fn bind_failure_port(line: &str) -> Option<u16> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("address already in use")?;
    let before = &line[..at];
    // The last ":digits" before the message is the port.
    before
        .rmatch_indices(':')
        .filter_map(|(i, _)| {
            let digits: String = before[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u16>().ok()
        })
        .next()
}

impl State {
    /// Entries with a command, in dependency order (dependencies first), stable in plan order.
    pub fn start_order(&self) -> Vec<EntryId> {
        let n = self.plan.entries.len();
        let mut placed = vec![false; n];
        let mut order = Vec::new();
        // Validation guarantees no cycles, so each pass places at least one entry.
        while order.len() < n {
            let before = order.len();
            for i in 0..n {
                let ready = self.plan.entries[i].depends_on.iter().all(|d| placed[d.0]);
                if !placed[i] && ready {
                    placed[i] = true;
                    order.push(EntryId(i));
                }
            }
            if order.len() == before {
                break;
            }
        }
        order.retain(|e| !self.plan.entries[e.0].command.is_empty());
        order
    }

    /// An entry is ready for its dependents when its probes say up.
    pub fn is_ready(&self, entry: EntryId) -> bool {
        self.entry_state(entry).is_up()
    }

    fn queue(&mut self, c: Command) {
        self.pending.push(c);
    }

    /// Start one entry now (user key or policy).
    pub(super) fn start(&mut self, entry: EntryId, now: Instant) {
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
        if let Lifecycle::External { owner } = &p.lifecycle {
            let who = owner.as_ref().map_or("another process".to_string(), |o| {
                format!("pid {} ({})", o.pid, o.command)
            });
            self.alert(
                now,
                Severity::Warning,
                format!(
                    "{name} already runs outside anychat-top: {who}; not starting a second copy"
                ),
            );
            return;
        }
        let p = &mut self.procs[entry.0];
        p.lifecycle = Lifecycle::Starting { since: now };
        p.stop_requested = false;
        p.bind_failure = None;
        self.queue(Command::Start { entry });
    }

    /// Stop one entry now.
    pub(super) fn stop(&mut self, entry: EntryId, now: Instant) {
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

    /// Begin starting every entry in dependency order, each behind its dependencies' readiness.
    pub(super) fn start_all(&mut self, now: Instant) {
        let queue: VecDeque<EntryId> = self.start_order().into_iter().collect();
        self.bulk = Bulk::Starting {
            queue,
            waiting: None,
        };
        self.alert(
            now,
            Severity::Info,
            "starting every service in dependency order".into(),
        );
        self.advance(now);
    }

    /// Begin stopping every live entry, dependents first.
    pub(super) fn stop_all(&mut self, now: Instant) {
        let mut order = self.start_order();
        order.reverse();
        self.bulk = Bulk::Stopping {
            queue: order.into_iter().collect(),
        };
        self.alert(
            now,
            Severity::Info,
            "stopping every service, dependents first".into(),
        );
        self.advance(now);
    }

    /// Move start-all / stop-all and backoff timers forward; called after every fact.
    pub(super) fn advance(&mut self, now: Instant) {
        // Restarts whose backoff has elapsed.
        for i in 0..self.procs.len() {
            if let Lifecycle::BackingOff { until, .. } = self.procs[i].lifecycle
                && now >= until
            {
                self.procs[i].restarts += 1;
                self.start(EntryId(i), now);
            }
        }
        match std::mem::replace(&mut self.bulk, Bulk::None) {
            Bulk::None => {}
            Bulk::Starting {
                mut queue,
                mut waiting,
            } => {
                // Start, in order, everything whose dependencies are ready; stop at a gate that timed out.
                let mut blocked = VecDeque::new();
                while let Some(entry) = queue.pop_front() {
                    let deps = self.plan.entries[entry.0].depends_on.clone();
                    match deps.iter().find(|d| !self.is_ready(**d)) {
                        None => self.start(entry, now),
                        Some(&dep) => {
                            let since = match waiting {
                                Some((e, t)) if e == dep => t,
                                _ if blocked.is_empty() => {
                                    waiting = Some((dep, now));
                                    now
                                }
                                _ => now,
                            };
                            let limit = self.plan.entries[dep.0].ready_timeout;
                            if blocked.is_empty() && now.duration_since(since) >= limit {
                                let (name, dep_name) = (
                                    self.plan.entries[entry.0].name.clone(),
                                    self.plan.entries[dep.0].name.clone(),
                                );
                                self.alert(now, Severity::Error, format!(
                                    "start-all stopped: {name} needs {dep_name}, which did not become healthy within {}",
                                    humantime::format_duration(limit)
                                ));
                                return;
                            }
                            blocked.push_back(entry);
                        }
                    }
                }
                if !blocked.is_empty() {
                    self.bulk = Bulk::Starting {
                        queue: blocked,
                        waiting,
                    };
                }
            }
            Bulk::Stopping { mut queue } => {
                let mut remaining = VecDeque::new();
                while let Some(entry) = queue.pop_front() {
                    // Wait until nothing that depends on it is still alive.
                    let dependents_alive = self.plan.entries.iter().enumerate().any(|(i, e)| {
                        e.depends_on.contains(&entry) && self.procs[i].lifecycle.is_live()
                    });
                    if dependents_alive {
                        remaining.push_back(entry);
                    } else {
                        self.stop(entry, now);
                    }
                }
                if !remaining.is_empty() {
                    self.bulk = Bulk::Stopping { queue: remaining };
                }
            }
        }
    }

    /// The earliest time at which `advance` has something to do without a new fact.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.procs
            .iter()
            .filter_map(|p| match p.lifecycle {
                Lifecycle::BackingOff { until, .. } => Some(until),
                _ => None,
            })
            .min()
    }

    pub(super) fn process_started(&mut self, entry: EntryId, pid: u32, at: Instant) {
        // Look for readiness soon rather than at the next regular probe.
        for target in self.plan.entries[entry.0].targets.clone() {
            self.queue(Command::ProbeSoon { target });
        }
        let p = &mut self.procs[entry.0];
        p.pid = Some(pid);
        p.started_at = Some(at);
        if !matches!(p.lifecycle, Lifecycle::Stopping { .. }) {
            p.lifecycle = Lifecycle::Starting { since: at };
        }
    }

    pub(super) fn process_exited(&mut self, entry: EntryId, exit: ExitReason, at: Instant) {
        // Its ports are about to close (or be taken by someone else): look now, not in a second.
        for target in self.plan.entries[entry.0].targets.clone() {
            self.queue(Command::ProbeSoon { target });
        }
        let e = &self.plan.entries[entry.0];
        let (name, policy) = (e.name.clone(), e.restart);
        let bind = self
            .logs
            .last_lines(entry, 20)
            .iter()
            .rev()
            .find_map(|l| bind_failure_port(l));
        let p = &mut self.procs[entry.0];
        let uptime = p
            .started_at
            .map_or(Duration::ZERO, |s| at.saturating_duration_since(s));
        p.pid = None;
        p.last_exit = Some((exit, at));
        p.bind_failure = bind;
        let how = match exit {
            ExitReason::Code(c) => format!("exit code {c}"),
            ExitReason::Signal(s) => format!("signal {s}"),
        };
        if p.stop_requested {
            p.stop_requested = false;
            p.lifecycle = Lifecycle::Exited { exit, at };
            if std::mem::take(&mut p.restart_after_stop) {
                self.alert(
                    at,
                    Severity::Info,
                    format!("{name} stopped ({how}); starting it again"),
                );
                self.start(entry, at);
            } else {
                self.alert(at, Severity::Info, format!("{name} stopped ({how})"));
            }
            return;
        }
        let failed = exit != ExitReason::Code(0);
        if uptime >= STABLE_UPTIME {
            p.crashes = 0;
        }
        if failed {
            p.crashes += 1;
        }
        let restart = match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => failed,
            RestartPolicy::Never => false,
        };
        let crashes = p.crashes;
        p.lifecycle = match (failed, restart) {
            (_, true) => Lifecycle::BackingOff {
                exit,
                until: at + backoff(crashes.max(1)),
            },
            (true, false) => Lifecycle::Crashed { exit, at },
            (false, false) => Lifecycle::Exited { exit, at },
        };
        let mut text = format!("{name} exited ({how})");
        if let Some(port) = bind {
            text.push_str(&format!(": port {port} is already in use"));
            self.queue(Command::FindPortOwner { entry, port });
        }
        if restart {
            text.push_str(&format!(
                "; restart in {}",
                humantime::format_duration(backoff(crashes.max(1)))
            ));
            if crashes > 1 {
                text.push_str(&format!(" (crash loop: {crashes} in a row)"));
            }
        }
        self.alert(
            at,
            if failed {
                Severity::Error
            } else {
                Severity::Info
            },
            text,
        );
    }

    pub(super) fn spawn_failed(&mut self, entry: EntryId, error: String, at: Instant) {
        let name = self.plan.entries[entry.0].name.clone();
        self.procs[entry.0].lifecycle = Lifecycle::SpawnFailed {
            error: error.clone(),
            at,
        };
        self.alert(
            at,
            Severity::Error,
            format!("{name} could not start: {error}"),
        );
    }

    /// A probe result for one of the entry's targets: promote starting → running, spot external copies.
    pub(super) fn health_seen(
        &mut self,
        entry: EntryId,
        target: TargetId,
        state: ProbeState,
        at: Instant,
    ) {
        let ready = self.is_ready(entry);
        let port = self.plan.entries[entry.0]
            .targets
            .first()
            .map(|t| self.plan.targets[t.0].port);
        let startable = !self.plan.entries[entry.0].command.is_empty();
        let p = &mut self.procs[entry.0];
        let mut probe_soon = false;
        match &p.lifecycle {
            Lifecycle::Starting { since } => {
                let timeout = self.plan.entries[entry.0].ready_timeout;
                if ready || at.saturating_duration_since(*since) >= timeout {
                    p.lifecycle = Lifecycle::Running {
                        since: p.started_at.unwrap_or(at),
                    };
                } else if !state.is_up() {
                    probe_soon = true;
                }
            }
            Lifecycle::Stopped
                if startable && state != ProbeState::Down && state != ProbeState::Pending =>
            {
                p.lifecycle = Lifecycle::External { owner: None };
                if let Some(port) = port {
                    self.queue(Command::FindPortOwner { entry, port });
                }
            }
            Lifecycle::External { .. } if state == ProbeState::Down && !ready => {
                p.lifecycle = Lifecycle::Stopped;
                p.port_owner = None;
            }
            _ => {}
        }
        if probe_soon {
            self.queue(Command::ProbeSoon { target });
        }
    }

    pub(super) fn port_owner_found(
        &mut self,
        entry: EntryId,
        port: u16,
        owner: Option<PortOwner>,
        at: Instant,
    ) {
        let name = self.plan.entries[entry.0].name.clone();
        let p = &mut self.procs[entry.0];
        p.port_owner = owner.clone();
        if let Lifecycle::External { owner: o } = &mut p.lifecycle {
            *o = owner.clone();
        }
        if p.bind_failure == Some(port) {
            let who = owner.map_or("a process anychat-top cannot see".to_string(), |o| {
                format!("pid {} ({})", o.pid, o.command)
            });
            self.alert(
                at,
                Severity::Error,
                format!("{name} cannot bind port {port}: held by {who}"),
            );
        }
    }
}
