//! Start-all in dependency order behind readiness gates, stop-all dependents first, and the
//! timers (restart backoff) that move them without a new fact.

use std::collections::VecDeque;
use std::time::Instant;

use super::Lifecycle;
use crate::plan::EntryId;
use crate::state::{Severity, State};

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

impl State {
    /// Begin starting every entry in dependency order, each behind its dependencies' readiness.
    pub(in crate::state) fn start_all(&mut self, now: Instant) {
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
    pub(in crate::state) fn stop_all(&mut self, now: Instant) {
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
    pub(in crate::state) fn advance(&mut self, now: Instant) {
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
}
