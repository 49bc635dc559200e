//! Services that run outside anychat-top: spotted from their ports, never started twice, never
//! touched; and who holds a port a service needs.

use std::time::Instant;

use super::Lifecycle;
use crate::health::ProbeState;
use crate::message::Command;

use crate::plan::{EntryId, TargetId};
use crate::state::State;

impl State {
    /// A probe result for one of the entry's targets: promote starting → running, spot external copies.
    pub(in crate::state) fn health_seen(
        &mut self,
        entry: EntryId,
        target: TargetId,
        state: ProbeState,
        at: Instant,
    ) {
        let ready = self.is_ready(entry);
        let p = &mut self.procs[entry.0];
        let mut probe_soon = false;
        // "Running, not supervised" is the port scanner's to decide (see `state::wire_ports`):
        // a probe that answers is never proof of who holds the port.
        if let Lifecycle::Starting { since } = &p.lifecycle {
            let timeout = self.plan.entries[entry.0].ready_timeout;
            if ready || at.saturating_duration_since(*since) >= timeout {
                p.lifecycle = Lifecycle::Running {
                    since: p.started_at.unwrap_or(at),
                };
            } else if !state.is_up() {
                probe_soon = true;
            }
        }
        if probe_soon {
            self.queue(Command::ProbeSoon { target });
        }
    }
}
