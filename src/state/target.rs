//! What is known about one probed port: last result, latency history, state changes.

use std::collections::VecDeque;
use std::time::Instant;

use crate::health::{ProbeResult, ProbeState};

/// Latencies kept for the sparkline.
pub const LATENCY_HISTORY: usize = 60;
/// State changes kept for the detail panel.
pub const CHANGE_HISTORY: usize = 20;

/// One change of a target's state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub at: Instant,
    pub from: ProbeState,
    pub to: ProbeState,
    pub detail: String,
}

/// The live status of one target.
#[derive(Debug, Clone)]
pub struct TargetStatus {
    pub state: ProbeState,
    pub last: Option<ProbeResult>,
    /// When the state last changed (or the first result arrived).
    pub since: Option<Instant>,
    /// Latencies in microseconds, oldest first.
    pub latencies_us: VecDeque<u64>,
    /// Newest last.
    pub changes: VecDeque<StateChange>,
}

impl Default for TargetStatus {
    fn default() -> Self {
        TargetStatus {
            state: ProbeState::Pending,
            last: None,
            since: None,
            latencies_us: VecDeque::with_capacity(LATENCY_HISTORY),
            changes: VecDeque::new(),
        }
    }
}

impl TargetStatus {
    /// Whether a change is news: a regression, or a recovery of a target that had been up.
    /// The first result, and a first coming-up (services starting), are shown but not announced.
    pub fn is_news(&self, change: &StateChange) -> bool {
        change.from != ProbeState::Pending
            && (change.from.is_up() || self.was_up_before_last_change())
    }

    /// Whether a change before the newest one (which `record` has already kept) went up.
    fn was_up_before_last_change(&self) -> bool {
        self.changes.iter().rev().skip(1).any(|c| c.to.is_up())
    }

    /// Record a result; returns the change if the state changed.
    pub fn record(&mut self, result: ProbeResult, at: Instant) -> Option<StateChange> {
        if self.latencies_us.len() == LATENCY_HISTORY {
            self.latencies_us.pop_front();
        }
        self.latencies_us
            .push_back(u64::try_from(result.latency.as_micros()).unwrap_or(u64::MAX));
        let change = (result.state != self.state).then(|| StateChange {
            at,
            from: self.state,
            to: result.state,
            detail: result.detail.clone(),
        });
        if let Some(c) = &change {
            self.state = result.state;
            self.since = Some(at);
            if self.changes.len() == CHANGE_HISTORY {
                self.changes.pop_front();
            }
            self.changes.push_back(c.clone());
        }
        self.last = Some(result);
        change
    }
}
