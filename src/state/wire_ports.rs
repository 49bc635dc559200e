//! The port scanner joined to the rest of the state: scans and our started PIDs go into
//! [`super::ports::PortsState`]; "running, not supervised" is decided from the holders of an
//! entry's own ports; starts are refused while someone else holds one; an early exit names the
//! holders; runtime conflicts and the static plan check become alerts; and the ports panel's
//! actions (stop a holder after a confirmation, adopt it as the entry's instance).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::ports::{ConflictEvent, ConflictKey, Holder, HolderKind, OurProcess};
use super::procs::Lifecycle;
use super::{Severity, State};
use crate::collect::port_scan::PortScan;
use crate::message::{Command, PortOwner};
use crate::plan::EntryId;
use crate::portplan::{Level, PlanCheck};

/// A failed exit this soon after the start is an early exit: the holders of the entry's ports
/// are named in its alert, whatever the error said.
pub const EARLY_EXIT: Duration = Duration::from_secs(5);

#[path = "wire_ports_actions.rs"]
mod actions;
pub use actions::{HolderAction, HolderVerb};

/// The wiring's own bookkeeping, beside [`super::ports::PortsState`].
#[derive(Debug, Clone, Default)]
pub struct PortWiring {
    /// Our effective uid: holders of another uid are not offered for stopping (unless root).
    pub our_uid: u32,
    /// The action waiting for y/n in [`Mode::ConfirmHolder`].
    pub confirm: Option<HolderAction>,
    /// Processes adopted as an entry's running instance (until they exit).
    pub adopted: Vec<OurProcess>,
    /// Entries that exited early before any holder was known: named at the next scan.
    awaiting_holders: Vec<(EntryId, Instant)>,
    /// Holders already sent SIGTERM (pid, start ticks): asked again means SIGKILL.
    termed: Vec<(u32, u64)>,
    /// The texts of the conflicts raised, for their "resolved" alerts.
    raised: BTreeMap<ConflictKey, String>,
    /// The holders may have changed since "not supervised" was last derived.
    pub(super) resync: bool,
}

impl PortWiring {
    /// Nothing adopted or asked yet; `our_uid` is this process's effective uid.
    pub fn new() -> Self {
        PortWiring {
            // SAFETY: geteuid cannot fail and touches no memory.
            our_uid: unsafe { libc::geteuid() },
            ..Default::default()
        }
    }
}

impl State {
    /// A port scan arrived.
    pub(super) fn ports_scanned(&mut self, scan: PortScan, at: Instant) -> bool {
        self.now = self.now.max(at);
        let now = self.now;
        self.port_wiring.resync = true;
        let mut changed = self.ports.apply(scan, now);
        // Adopted processes that are gone are no longer anyone's instance.
        if let Some(scan) = self.ports.scan().filter(|s| s.error.is_none()) {
            let alive = |pid: u32| scan.owners.contains_key(&pid);
            let before = self.port_wiring.adopted.len();
            self.port_wiring.adopted.retain(|o| alive(o.pid));
            changed |= before != self.port_wiring.adopted.len();
        }
        changed |= self.name_awaited_holders(now);
        changed
    }

    /// After every fact: our processes into the ports state, the clock, "not supervised" from
    /// the holders, conflicts into alerts. True when anything shown changed.
    pub(super) fn sync_ports(&mut self) -> bool {
        let now = self.now;
        let mut ours: Vec<OurProcess> = self
            .procs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.lifecycle.is_live())
            .filter_map(|(i, p)| {
                Some(OurProcess {
                    entry: EntryId(i),
                    pid: p.pid?,
                    since: p.started_at?,
                })
            })
            .collect();
        ours.extend(self.port_wiring.adopted.iter().copied());
        let mut changed = self.ports.set_ours(ours, now);
        changed |= self.ports.tick(now);
        // Only a scan, a change of ours or an adoption moves "not supervised": a flood of log
        // lines does not pay for it.
        if std::mem::take(&mut self.port_wiring.resync) || changed {
            changed |= self.sync_external();
        }
        changed |= self.conflict_alerts();
        changed
    }

    /// Stopped ↔ not supervised, from the scan: an entry is "running, not supervised" when a
    /// port of its own is held by a process we did not start (or one adopted for it).
    fn sync_external(&mut self) -> bool {
        if !self.ports.known() {
            return false;
        }
        let mut changed = false;
        for i in 0..self.procs.len() {
            let entry = EntryId(i);
            if self.plan.entries[i].command.is_empty() {
                continue;
            }
            let adopted = self
                .port_wiring
                .adopted
                .iter()
                .find(|o| o.entry == entry)
                .map(|o| o.pid);
            let holder = match adopted {
                Some(pid) => self
                    .ports
                    .scan()
                    .and_then(|s| s.owners.get(&pid))
                    .map(|o| Some(port_owner(o))),
                None => self
                    .ports
                    .start_blocker(entry)
                    .map(|h| h.owner.as_ref().map(port_owner)),
            };
            let p = &mut self.procs[i];
            match (&p.lifecycle, holder) {
                (Lifecycle::Stopped | Lifecycle::External { .. }, Some(owner)) => {
                    let next = Lifecycle::External {
                        owner: owner.clone(),
                    };
                    if p.lifecycle != next {
                        p.lifecycle = next;
                        p.port_owner = owner;
                        changed = true;
                    }
                }
                (Lifecycle::External { .. }, None) => {
                    p.lifecycle = Lifecycle::Stopped;
                    p.port_owner = None;
                    changed = true;
                }
                _ => {}
            }
        }
        changed
    }

    /// Raised and cleared conflicts become alerts.
    fn conflict_alerts(&mut self) -> bool {
        let events = self.ports.take_events();
        let changed = !events.is_empty();
        for event in events {
            match event {
                ConflictEvent::Raised(c) => {
                    self.port_wiring
                        .raised
                        .insert(c.key.clone(), c.text.clone());
                    self.alert(c.since, c.severity, format!("port conflict: {}", c.text));
                }
                ConflictEvent::Cleared { key, at } => {
                    if let Some(text) = self.port_wiring.raised.remove(&key) {
                        self.alert(at, Severity::Info, format!("resolved: {text}"));
                    }
                }
            }
        }
        changed
    }

    /// The Docker worker's published ports name docker-proxy's sockets by container.
    pub(super) fn feed_container_names(&mut self) -> bool {
        let names = self.docker.host_ports();
        let now = self.now;
        self.ports.set_container_names(names, now)
    }

    /// A container entry whose container does not run while a port of its own is held by
    /// another process (the infra runs some other way: a local server, another project's
    /// container): that holder.
    pub fn held_elsewhere(&self, entry: EntryId) -> Option<Holder> {
        if !self.plan.entries[entry.0].is_container() || self.container_live(entry) {
            return None;
        }
        self.ports.start_blocker(entry)
    }

    /// Why `entry` may not start now (a port of its own held by someone else, named), if so.
    pub fn start_refusal(&self, entry: EntryId) -> Option<String> {
        let name = &self.plan.entries[entry.0].name;
        if let Some(o) = self.port_wiring.adopted.iter().find(|o| o.entry == entry) {
            return Some(format!(
                "{name} already runs outside anychat-top (adopted pid {}); not starting a second copy",
                o.pid
            ));
        }
        let h = self.ports.start_blocker(entry)?;
        let port = h.addr.port();
        let what = match h.kind {
            HolderKind::Stale { .. } => "a copy of it not started here, ",
            HolderKind::Container { .. } => "a container, ",
            _ => "",
        };
        Some(format!(
            "{name} not started: port {port} held by {what}{}",
            who(&h)
        ))
    }

    /// Refuses a start when a port of the entry is held by someone else: alerts and returns
    /// true. A restart due after a crash gives way (the entry stays crashed).
    pub(super) fn refuse_start(&mut self, entry: EntryId, now: Instant) -> bool {
        let Some(text) = self.start_refusal(entry) else {
            return false;
        };
        self.alert(now, Severity::Error, text);
        let p = &mut self.procs[entry.0];
        if let Lifecycle::BackingOff { exit, .. } = p.lifecycle {
            p.lifecycle = Lifecycle::Crashed { exit, at: now };
        }
        true
    }

    /// For the alert of a failed exit: who holds the entry's ports (", port 8001 is held by
    /// …"), or nothing. An early exit with no holder known asks for a scan now and names the
    /// holder when it arrives.
    pub(super) fn exit_holders_note(
        &mut self,
        entry: EntryId,
        uptime: Duration,
        bind_failure: bool,
        at: Instant,
    ) -> String {
        if uptime >= EARLY_EXIT && !bind_failure {
            return String::new();
        }
        match self.ports.holder_of_entry_ports(entry).first() {
            Some(h) => format!("; port {} is held by {}", h.addr.port(), who(h)),
            None => {
                self.port_wiring.awaiting_holders.push((entry, at));
                self.queue(Command::ScanPortsNow);
                String::new()
            }
        }
    }

    /// Early exits waiting for a scan: name the holders of their ports, if any.
    fn name_awaited_holders(&mut self, now: Instant) -> bool {
        if !self.ports.known() {
            return false;
        }
        let mut changed = false;
        for (entry, _) in std::mem::take(&mut self.port_wiring.awaiting_holders) {
            if self.procs[entry.0].lifecycle.is_live() {
                continue; // started again meanwhile: its own exit will tell
            }
            if let Some(h) = self.ports.holder_of_entry_ports(entry).first() {
                let name = &self.plan.entries[entry.0].name;
                let text = format!(
                    "{name} exited early: port {} is held by {}",
                    h.addr.port(),
                    who(h)
                );
                self.alert(now, Severity::Error, text);
                changed = true;
            }
        }
        changed
    }

    /// The static plan check, at start-up: conflicts as errors, the rest as warnings.
    pub fn plan_check_alerts(&mut self, check: &PlanCheck) {
        let now = self.now;
        for f in &check.findings {
            let severity = match f.level {
                Level::Conflict => Severity::Error,
                Level::Warning => Severity::Warning,
            };
            self.alert(
                now,
                severity,
                format!("port plan: {}; fix: {}", f.message, f.fix),
            );
        }
    }

    /// Marks every current conflict as seen; true when one was not.
    pub(super) fn acknowledge_conflicts(&mut self) -> bool {
        let keys: Vec<ConflictKey> = self.ports.conflicts().map(|c| c.key.clone()).collect();
        let mut any = false;
        for key in keys {
            any |= self.ports.acknowledge(&key);
        }
        any
    }

    /// Conflicts not acknowledged yet (for the status bar).
    pub fn unacknowledged_conflicts(&self) -> usize {
        self.ports.conflicts().filter(|c| !c.acknowledged).count()
    }
}

/// A holder for alerts, what must survive a cut at 80 columns first: "pid 4242 python3 (user
/// root): /usr/bin/python3 squat.py 0.0.0.0 8001", or "uid 0, process not visible".
pub fn who(h: &Holder) -> String {
    match &h.owner {
        Some(o) => {
            let program = o.command.first().map_or(o.program(), |a| {
                crate::collect::port_scan::process::basename(a)
            });
            format!(
                "pid {} {program} (user {}): {}",
                o.pid,
                o.user,
                o.command_line()
            )
        }
        None => h.describe(),
    }
}

/// The older one-line owner form, kept by the lifecycle and the detail.
fn port_owner(o: &crate::collect::port_scan::Owner) -> PortOwner {
    PortOwner {
        pid: o.pid,
        command: o.command_line(),
    }
}

#[cfg(test)]
#[path = "wire_ports_tests.rs"]
mod tests;

/// A port of an entry held by a process that does not answer as the entry would: what the
/// services and infra rows and the detail show instead of "down".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub port: u16,
    /// argv\[0\]'s file name (`python3`), or `uid 0` for a process we may not see.
    pub program: String,
    pub pid: Option<u32>,
    /// The holder in full: command line, pid, user.
    pub holder: String,
}

impl Taken {
    /// Cell texts, longest first: `✗ taken by python3 (pid 4242)` … `✗ taken`.
    pub fn cell_texts(&self) -> Vec<String> {
        match self.pid {
            Some(pid) => vec![
                format!("✗ taken by {} (pid {pid})", self.program),
                format!("✗ taken {} {pid}", self.program),
                format!("✗ taken {pid}"),
                "✗ taken".into(),
            ],
            None => vec![format!("✗ taken by {}", self.program), "✗ taken".into()],
        }
    }
}

impl State {
    /// A port of `entry` alone held by someone else whose probe does not say up (a process
    /// that does not speak the protocol): shown as taken, with its holder.
    pub fn taken(&self, entry: EntryId) -> Option<Taken> {
        if self.procs[entry.0].lifecycle.is_live() {
            return None;
        }
        let h = self.ports.start_blocker(entry)?;
        let port = h.addr.port();
        let answers = self.plan.entries[entry.0]
            .targets
            .iter()
            .filter(|t| self.plan.targets[t.0].port == port)
            .any(|t| self.targets[t.0].state.is_up());
        if answers {
            return None;
        }
        let program = match &h.owner {
            Some(o) => o
                .command
                .first()
                .map(|a| crate::collect::port_scan::process::basename(a).to_string())
                .unwrap_or_else(|| o.program().to_string()),
            None => format!("uid {}", h.uid),
        };
        Some(Taken {
            port,
            program,
            pid: h.pid(),
            holder: who(&h),
        })
    }
}
