//! Services that run outside anychat-top: spotted from their ports, never started twice, never
//! touched; and who holds a port a service needs.

use std::time::Instant;

use super::Lifecycle;
use crate::health::ProbeState;
use crate::message::{Command, PortOwner};
use crate::plan::{EntryId, TargetId};
use crate::state::{Severity, State};

impl State {
    /// A probe result for one of the entry's targets: promote starting → running, spot external copies.
    pub(in crate::state) fn health_seen(
        &mut self,
        entry: EntryId,
        target: TargetId,
        state: ProbeState,
        at: Instant,
    ) {
        // Only a port of this entry alone says that this entry runs: the real plan gives every
        // service the metrics port 2112, and whoever holds it is one of them at most.
        let own_port = !self.shared_targets[target.0];
        let port = self.plan.targets[target.0].port;
        let answering = state != ProbeState::Down && state != ProbeState::Pending;
        let own_ports_down = self.plan.entries[entry.0]
            .targets
            .iter()
            .filter(|t| !self.shared_targets[t.0])
            .all(|t| self.targets[t.0].state == ProbeState::Down);
        let ready = self.is_ready(entry);
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
            Lifecycle::Stopped if startable && own_port && answering => {
                p.lifecycle = Lifecycle::External { owner: None };
                self.queue(Command::FindPortOwner { entry, port });
            }
            Lifecycle::External { .. } if own_ports_down => {
                p.lifecycle = Lifecycle::Stopped;
                p.port_owner = None;
            }
            _ => {}
        }
        if probe_soon {
            self.queue(Command::ProbeSoon { target });
        }
    }

    pub(in crate::state) fn port_owner_found(
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

/// For each target of `plan`: whether another entry has a target on the same host and port
/// (the plan's shared metrics port). Such a port never tells which entry runs.
pub(in crate::state) fn shared_targets(plan: &crate::plan::Plan) -> Vec<bool> {
    let mut users: std::collections::HashMap<(&str, u16), Vec<EntryId>> = Default::default();
    for t in &plan.targets {
        let entries = users.entry((t.host.as_str(), t.port)).or_default();
        if !entries.contains(&t.entry) {
            entries.push(t.entry);
        }
    }
    plan.targets
        .iter()
        .map(|t| users[&(t.host.as_str(), t.port)].len() > 1)
        .collect()
}
