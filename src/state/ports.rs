//! The ports sub-state: the latest port scan joined with the plan and with the processes we
//! supervise. Derives each planned port's holder (free, ours, a stale copy, a container, a
//! foreign process, a hidden one), the unplanned listeners inside the plan's port blocks, and
//! the runtime conflicts, raised and cleared as scans come in. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::collect::port_scan::process::basename;
use crate::collect::port_scan::{DockerProxy, Listener, Owner, PortScan};
use crate::plan::{Entry, EntryId, Plan, TargetId};

use super::Severity;

/// A process we started for an entry (a process-group leader), and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OurProcess {
    pub entry: EntryId,
    pub pid: u32,
    pub since: Instant,
}

/// Who a holder of a port is, relative to the plan and to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderKind {
    /// A process we started for `entry`, or a descendant of it (same group or ancestry).
    Ours { entry: EntryId },
    /// The program of `entry` (same executable or argv), not started by us.
    Stale { entry: EntryId },
    /// Docker's proxy for a container's published port; `name` is the container's, when the
    /// Docker worker knows which container publishes that host port.
    Container {
        proxy: DockerProxy,
        name: Option<String>,
    },
    /// Any other visible process.
    Foreign,
    /// A socket whose process we may not see (another user's, we are not root).
    Hidden,
}

impl HolderKind {
    /// Short word for tables and JSON.
    pub fn label(&self) -> &'static str {
        match self {
            HolderKind::Ours { .. } => "ours",
            HolderKind::Stale { .. } => "stale",
            HolderKind::Container { .. } => "container",
            HolderKind::Foreign => "foreign",
            HolderKind::Hidden => "hidden",
        }
    }

    /// Worst first: the kind a row shows when several sockets hold its port.
    fn rank(&self) -> u8 {
        match self {
            HolderKind::Foreign => 0,
            HolderKind::Hidden => 1,
            HolderKind::Stale { .. } => 2,
            HolderKind::Container { .. } => 3,
            HolderKind::Ours { .. } => 4,
        }
    }
}

/// One listening socket on a port, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub addr: SocketAddr,
    /// The socket's uid (known even when the process is hidden).
    pub uid: u32,
    /// The first visible process holding it.
    pub owner: Option<Owner>,
    pub kind: HolderKind,
}

impl Holder {
    /// The holding pid, when visible.
    pub fn pid(&self) -> Option<u32> {
        self.owner.as_ref().map(|o| o.pid)
    }

    /// "python3 -m http.server (pid 4242, user root)" or "uid 0, process not visible".
    pub fn describe(&self) -> String {
        if let HolderKind::Container {
            name: Some(name), ..
        } = &self.kind
        {
            return match self.pid() {
                Some(pid) => format!("container {name} (docker-proxy, pid {pid})"),
                None => format!("container {name}"),
            };
        }
        match &self.owner {
            Some(o) => format!("{} (pid {}, user {})", o.command_line(), o.pid, o.user),
            None => format!("uid {}, process not visible", self.uid),
        }
    }
}

/// One planned port and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRow {
    pub target: TargetId,
    pub entry: EntryId,
    pub port: u16,
    /// Other entries are planned on the same port (the real plan's metrics 2112).
    pub shared: bool,
    /// Worst first; empty = free (when the scan is known).
    pub holders: Vec<Holder>,
}

impl PortRow {
    /// The holder the row shows.
    pub fn holder(&self) -> Option<&Holder> {
        self.holders.first()
    }
}

/// A listener on an unplanned port inside one of the plan's port blocks (its hundreds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnplannedRow {
    pub holder: Holder,
}

/// What a runtime conflict is about; stable across scans while the situation lasts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConflictKey {
    /// A planned port held by someone else than its entry (`pid` None = hidden, by `uid`).
    Taken {
        port: u16,
        pid: Option<u32>,
        uid: u32,
    },
    /// A planned port held by a copy of the entry's program that we did not start.
    Stale { port: u16, pid: u32 },
    /// A service of ours running past its ready timeout without listening on a planned port.
    NotListening { entry: EntryId, port: u16 },
    /// Processes of two or more of our entries listen on the same port.
    SharedByOurs { port: u16 },
}

impl ConflictKey {
    /// A text form for acknowledgement keys and JSON: `taken:8001:pid4242`.
    pub fn id(&self) -> String {
        match self {
            ConflictKey::Taken {
                port,
                pid: Some(pid),
                ..
            } => format!("taken:{port}:pid{pid}"),
            ConflictKey::Taken {
                port,
                pid: None,
                uid,
            } => format!("taken:{port}:uid{uid}"),
            ConflictKey::Stale { port, pid } => format!("stale:{port}:pid{pid}"),
            ConflictKey::NotListening { entry, port } => {
                format!("not-listening:{port}:entry{}", entry.0)
            }
            ConflictKey::SharedByOurs { port } => format!("shared-by-ours:{port}"),
        }
    }
}

/// A runtime port conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub key: ConflictKey,
    pub severity: Severity,
    /// The entry whose port it is.
    pub entry: EntryId,
    /// First seen (kept while the conflict lasts).
    pub since: Instant,
    pub text: String,
    pub acknowledged: bool,
}

/// A change in the set of conflicts, for alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictEvent {
    Raised(Conflict),
    Cleared { key: ConflictKey, at: Instant },
}

/// The ports sub-state.
#[derive(Debug, Clone)]
pub struct PortsState {
    plan: Arc<Plan>,
    scan: Option<PortScan>,
    ours: Vec<OurProcess>,
    now: Option<Instant>,
    rows: Vec<PortRow>,
    unplanned: Vec<UnplannedRow>,
    conflicts: BTreeMap<ConflictKey, Conflict>,
    events: Vec<ConflictEvent>,
    /// Entries planned on each port.
    planned: BTreeMap<u16, BTreeSet<EntryId>>,
    /// The plan's port blocks (port / 100).
    blocks: BTreeSet<u16>,
    /// Host port → the container that publishes it (from the Docker worker).
    container_names: BTreeMap<u16, String>,
}

#[path = "ports_derive.rs"]
mod derive;

impl PortsState {
    /// No scan yet: every port unknown.
    pub fn new(plan: Arc<Plan>) -> Self {
        let mut planned: BTreeMap<u16, BTreeSet<EntryId>> = BTreeMap::new();
        for t in &plan.targets {
            planned.entry(t.port).or_default().insert(t.entry);
        }
        let blocks = planned.keys().map(|p| p / 100).collect();
        let mut state = PortsState {
            plan,
            scan: None,
            ours: Vec::new(),
            now: None,
            rows: Vec::new(),
            unplanned: Vec::new(),
            conflicts: BTreeMap::new(),
            events: Vec::new(),
            planned,
            blocks,
            container_names: BTreeMap::new(),
        };
        state.rows = state.derive_rows(None);
        state
    }

    /// A new scan; true when anything shown changed.
    pub fn apply(&mut self, scan: PortScan, now: Instant) -> bool {
        self.scan = Some(scan);
        self.rederive(now)
    }

    /// Which container publishes each host port (the Docker worker's word): docker-proxy's
    /// ports are then named by container. True when anything shown changed.
    pub fn set_container_names(&mut self, names: BTreeMap<u16, String>, now: Instant) -> bool {
        if names == self.container_names {
            return false;
        }
        self.container_names = names;
        self.scan.is_some() && self.rederive(now)
    }

    /// The processes we supervise changed (started, exited); true when anything shown changed.
    pub fn set_ours(&mut self, ours: Vec<OurProcess>, now: Instant) -> bool {
        if ours == self.ours {
            return false;
        }
        self.ours = ours;
        self.rederive(now)
    }

    /// The clock: a service of ours may have passed its ready timeout without listening.
    pub fn tick(&mut self, now: Instant) -> bool {
        let due = self.ours.iter().any(|o| {
            let ready = o.since + self.plan.entries[o.entry.0].ready_timeout;
            self.now.is_some_and(|before| before < ready) && ready <= now
        });
        self.now = Some(now);
        due && self.rederive(now)
    }

    /// The plan the ports belong to.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The latest scan, if any.
    pub fn scan(&self) -> Option<&PortScan> {
        self.scan.as_ref()
    }

    /// Whether the holders are known: a scan arrived and did not fail.
    pub fn known(&self) -> bool {
        self.scan.as_ref().is_some_and(|s| s.error.is_none())
    }

    /// Every planned port, in plan order.
    pub fn rows(&self) -> &[PortRow] {
        &self.rows
    }

    /// Listeners on unplanned ports inside the plan's port blocks, by port.
    pub fn unplanned(&self) -> &[UnplannedRow] {
        &self.unplanned
    }

    /// The current conflicts, by key.
    pub fn conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.conflicts.values()
    }

    /// Raised and cleared conflicts since the last call.
    pub fn take_events(&mut self) -> Vec<ConflictEvent> {
        std::mem::take(&mut self.events)
    }

    /// Marks a current conflict as seen; false when there is none with that key.
    pub fn acknowledge(&mut self, key: &ConflictKey) -> bool {
        match self.conflicts.get_mut(key) {
            Some(c) if !c.acknowledged => {
                c.acknowledged = true;
                true
            }
            _ => false,
        }
    }

    /// Whether `port` is planned for more than one entry.
    pub fn is_shared(&self, port: u16) -> bool {
        self.planned.get(&port).is_some_and(|e| e.len() > 1)
    }

    /// Before starting `entry`: a port of its own (not shared with other entries) held by
    /// anyone but this entry's processes. `None` also when no scan is known.
    pub fn start_blocker(&self, entry: EntryId) -> Option<Holder> {
        self.rows
            .iter()
            .filter(|r| r.entry == entry && !r.shared)
            .flat_map(|r| &r.holders)
            .find(|h| h.kind != HolderKind::Ours { entry })
            .cloned()
    }

    /// After an early exit of `entry`: whoever holds any of its ports (shared ones too), except
    /// its own processes; worst first.
    pub fn holder_of_entry_ports(&self, entry: EntryId) -> Vec<Holder> {
        let mut held: Vec<Holder> = self
            .rows
            .iter()
            .filter(|r| r.entry == entry)
            .flat_map(|r| &r.holders)
            .filter(|h| h.kind != HolderKind::Ours { entry })
            .cloned()
            .collect();
        held.sort_by_key(|h| h.kind.rank());
        held
    }

    fn entry(&self, id: EntryId) -> &Entry {
        &self.plan.entries[id.0]
    }
}

#[cfg(test)]
#[path = "ports_tests.rs"]
pub(crate) mod tests;

/// Whether `owner` runs the program of `entry`: the same argv (argv\[0\] compared by file
/// name), a program named like the entry, or the entry's program given the entry's name.
pub fn runs_program_of(owner: &Owner, entry: &Entry) -> bool {
    let Some(planned) = entry.command.first() else {
        return false;
    };
    let program = owner.program();
    let argv0 = owner.command.first().map_or("", |a| basename(a));
    let same_program = program == basename(planned) || argv0 == basename(planned);
    let args = owner.command.get(1..).unwrap_or(&[]);
    let same_args = entry
        .command
        .get(1..)
        .is_some_and(|planned| planned == args);
    (same_program && same_args)
        || program == entry.name
        || argv0 == entry.name
        || (same_program && args.contains(&entry.name))
}

/// The listener's first visible owner in `scan`.
fn owner_of<'a>(scan: &'a PortScan, l: &Listener) -> Option<&'a Owner> {
    l.pids.iter().find_map(|p| scan.owners.get(p))
}
