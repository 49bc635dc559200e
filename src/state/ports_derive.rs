//! The derivations of the ports sub-state: holders per planned port, unplanned listeners, and
//! the runtime conflicts with their severity, first-seen time and acknowledgement kept.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{
    Conflict, ConflictEvent, ConflictKey, Holder, HolderKind, OurProcess, PortRow, PortsState,
    UnplannedRow, owner_of, runs_program_of,
};
use crate::collect::port_scan::{Listener, Owner, PortScan};
use crate::plan::{EntryId, TargetId};
use crate::state::Severity;

impl PortsState {
    /// Recomputes rows, unplanned listeners and conflicts; true when anything shown changed.
    pub(super) fn rederive(&mut self, now: Instant) -> bool {
        self.now = Some(now);
        let scan = self.scan.take();
        let (rows, unplanned, conflicts) = match scan.as_ref().filter(|s| s.error.is_none()) {
            Some(scan) => {
                let rows = self.derive_rows(Some(scan));
                let unplanned = self.derive_unplanned(scan);
                let conflicts = self.derive_conflicts(scan, &rows, now);
                (rows, unplanned, Some(conflicts))
            }
            // Unknown: no holders, and the conflicts stay as they were (neither raised nor cleared).
            None => (self.derive_rows(None), Vec::new(), None),
        };
        self.scan = scan;
        let mut changed = rows != self.rows || unplanned != self.unplanned;
        self.rows = rows;
        self.unplanned = unplanned;
        if let Some(conflicts) = conflicts {
            changed |= self.merge_conflicts(conflicts, now);
        }
        changed
    }

    pub(super) fn derive_rows(&self, scan: Option<&PortScan>) -> Vec<PortRow> {
        self.plan
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut holders: Vec<Holder> = scan
                    .into_iter()
                    .flat_map(|s| s.on_port(t.port).map(move |l| (s, l)))
                    .map(|(s, l)| self.holder(s, l))
                    .collect();
                holders.sort_by_key(|h| h.kind.rank());
                PortRow {
                    target: TargetId(i),
                    entry: t.entry,
                    port: t.port,
                    shared: self.is_shared(t.port),
                    holders,
                }
            })
            .collect()
    }

    fn derive_unplanned(&self, scan: &PortScan) -> Vec<UnplannedRow> {
        scan.listeners
            .iter()
            .filter(|l| {
                let port = l.addr.port();
                !self.planned.contains_key(&port) && self.blocks.contains(&(port / 100))
            })
            .map(|l| UnplannedRow {
                holder: self.holder(scan, l),
            })
            .collect()
    }

    /// Who holds `l`: ours, a stale copy of an entry planned on its port, a container, foreign
    /// or hidden.
    pub(super) fn holder(&self, scan: &PortScan, l: &Listener) -> Holder {
        let owner = owner_of(scan, l);
        let ours = l
            .pids
            .iter()
            .filter_map(|p| scan.owners.get(p))
            .find_map(|o| self.our_entry(o));
        let kind = match (ours, owner) {
            (Some(entry), _) => HolderKind::Ours { entry },
            (None, None) => HolderKind::Hidden,
            (None, Some(o)) => match &o.docker_proxy {
                Some(proxy) => HolderKind::Container {
                    proxy: proxy.clone(),
                    name: self.container_names.get(&l.addr.port()).cloned(),
                },
                None => self
                    .planned
                    .get(&l.addr.port())
                    .into_iter()
                    .flatten()
                    .find(|e| runs_program_of(o, self.entry(**e)))
                    .map_or(HolderKind::Foreign, |e| HolderKind::Stale { entry: *e }),
            },
        };
        Holder {
            addr: l.addr,
            uid: l.uid,
            owner: owner.cloned(),
            kind,
        }
    }

    /// The entry whose supervised process is `o`, its group leader or one of its ancestors.
    fn our_entry(&self, o: &Owner) -> Option<EntryId> {
        self.ours
            .iter()
            .find(|our: &&OurProcess| {
                o.pid == our.pid || o.pgid == our.pid || o.ancestors.contains(&our.pid)
            })
            .map(|our| our.entry)
    }

    fn derive_conflicts(
        &self,
        scan: &PortScan,
        rows: &[PortRow],
        now: Instant,
    ) -> BTreeMap<ConflictKey, (Severity, EntryId, String)> {
        let mut out = BTreeMap::new();
        for row in rows {
            let entry = self.entry(row.entry);
            if entry.command.is_empty() && entry.not_startable.is_none() {
                continue; // not ours to start: whoever holds it *is* the entry (a container, ...)
            }
            let label = &self.plan.targets[row.target.0].label;
            let what = if row.shared {
                let n = self.planned.get(&row.port).map_or(0, BTreeSet::len);
                format!("port {} (planned for {n} entries)", row.port)
            } else {
                format!("{} port {} of {}", label, row.port, entry.name)
            };
            for h in &row.holders {
                let serious = if row.shared {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                let (key, severity, text) = match &h.kind {
                    HolderKind::Ours { entry } if *entry == row.entry || row.shared => continue,
                    HolderKind::Ours { entry } => (
                        taken(row.port, h),
                        serious,
                        format!(
                            "{what} is held by our {} ({})",
                            self.entry(*entry).name,
                            h.describe()
                        ),
                    ),
                    HolderKind::Stale { .. } => (
                        ConflictKey::Stale {
                            port: row.port,
                            pid: h.pid().unwrap_or(0),
                        },
                        Severity::Warning,
                        format!(
                            "{what} is held by a copy of {} not started here: {}",
                            entry.name,
                            h.describe()
                        ),
                    ),
                    HolderKind::Container { proxy, name } => (
                        taken(row.port, h),
                        Severity::Warning,
                        format!(
                            "{what} is published by {} (docker-proxy to {}:{})",
                            name.as_ref().map_or_else(
                                || "a container".to_string(),
                                |n| format!("container {n}")
                            ),
                            proxy
                                .container_ip
                                .map_or_else(|| "?".to_string(), |ip| ip.to_string()),
                            proxy.container_port
                        ),
                    ),
                    HolderKind::Foreign | HolderKind::Hidden => (
                        taken(row.port, h),
                        serious,
                        format!("{what} is taken by {}", h.describe()),
                    ),
                };
                out.entry(key).or_insert((severity, row.entry, text));
            }
        }
        self.not_listening(rows, now, &mut out);
        self.shared_by_ours(scan, &mut out);
        out
    }

    /// Ours, running past the entry's ready timeout, with a port of its own that nobody holds.
    fn not_listening(
        &self,
        rows: &[PortRow],
        now: Instant,
        out: &mut BTreeMap<ConflictKey, (Severity, EntryId, String)>,
    ) {
        for our in &self.ours {
            let entry = self.entry(our.entry);
            let ran = now.saturating_duration_since(our.since);
            if ran < entry.ready_timeout {
                continue;
            }
            for row in rows.iter().filter(|r| r.entry == our.entry && !r.shared) {
                if row.holders.is_empty() {
                    let label = &self.plan.targets[row.target.0].label;
                    out.insert(
                        ConflictKey::NotListening {
                            entry: our.entry,
                            port: row.port,
                        },
                        (
                            Severity::Warning,
                            our.entry,
                            format!(
                                "{} (pid {}) has run past its ready timeout ({}) but does not listen on its {label} port {}",
                                entry.name,
                                our.pid,
                                humantime::format_duration(entry.ready_timeout),
                                row.port
                            ),
                        ),
                    );
                }
            }
        }
    }

    /// Ports on which processes of two or more of our entries listen.
    fn shared_by_ours(
        &self,
        scan: &PortScan,
        out: &mut BTreeMap<ConflictKey, (Severity, EntryId, String)>,
    ) {
        let mut by_port: BTreeMap<u16, BTreeMap<EntryId, u32>> = BTreeMap::new();
        for l in &scan.listeners {
            for o in l.pids.iter().filter_map(|p| scan.owners.get(p)) {
                if let Some(entry) = self.our_entry(o) {
                    by_port
                        .entry(l.addr.port())
                        .or_default()
                        .entry(entry)
                        .or_insert(o.pid);
                }
            }
        }
        for (port, entries) in by_port.into_iter().filter(|(_, e)| e.len() > 1) {
            let names: Vec<String> = entries
                .iter()
                .map(|(e, pid)| format!("{} (pid {pid})", self.entry(*e).name))
                .collect();
            let first = entries.keys().next().copied().unwrap_or(EntryId(0));
            out.insert(
                ConflictKey::SharedByOurs { port },
                (
                    Severity::Error,
                    first,
                    format!("port {port} is held by {}", names.join(" and ")),
                ),
            );
        }
    }

    /// Keeps first-seen times and acknowledgements; records raised and cleared conflicts.
    fn merge_conflicts(
        &mut self,
        fresh: BTreeMap<ConflictKey, (Severity, EntryId, String)>,
        now: Instant,
    ) -> bool {
        let mut changed = false;
        let old = std::mem::take(&mut self.conflicts);
        for key in old.keys().filter(|k| !fresh.contains_key(*k)) {
            self.events.push(ConflictEvent::Cleared {
                key: key.clone(),
                at: now,
            });
            changed = true;
        }
        for (key, (severity, entry, text)) in fresh {
            let conflict = match old.get(&key) {
                Some(prev) => Conflict {
                    severity,
                    entry,
                    text,
                    ..prev.clone()
                },
                None => {
                    let c = Conflict {
                        key: key.clone(),
                        severity,
                        entry,
                        since: now,
                        text,
                        acknowledged: false,
                    };
                    self.events.push(ConflictEvent::Raised(c.clone()));
                    changed = true;
                    c
                }
            };
            changed |= old.get(&key).is_some_and(|prev| *prev != conflict);
            self.conflicts.insert(key, conflict);
        }
        changed
    }
}

fn taken(port: u16, h: &Holder) -> ConflictKey {
    ConflictKey::Taken {
        port,
        pid: h.pid(),
        uid: h.uid,
    }
}
