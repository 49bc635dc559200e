//! A connected session's state: each entry's matched container, and the stats and logs
//! streams opened for its current run.

use std::collections::HashMap;
use std::time::SystemTime;

use bollard::Docker;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use super::facts::{DockerFact, MatchedBy};
use super::streams::{LogCursor, follow_logs, follow_stats};
use crate::plan::EntryId;

/// What the worker follows of one entry's container.
pub(super) struct Tracked {
    pub(super) id: String,
    pub(super) by: MatchedBy,
    /// Start time of the run the streams belong to.
    pub(super) started_at: Option<SystemTime>,
    pub(super) stats: Option<AbortHandle>,
    pub(super) logs: Option<AbortHandle>,
}

impl Tracked {
    pub(super) fn stop_streams(&mut self) {
        for handle in [self.stats.take(), self.logs.take()].into_iter().flatten() {
            handle.abort();
        }
    }
}

/// A connected session's containers and their streams.
pub(super) struct Session {
    pub(super) docker: Docker,
    pub(super) tracked: HashMap<EntryId, Tracked>,
    /// Where each container's logs were read up to, by container id.
    pub(super) cursors: HashMap<String, LogCursor>,
    pub(super) streams: JoinSet<()>,
    /// The containers were listed once (every entry reported).
    pub(super) listed: bool,
}

impl Session {
    /// Opens the streams of a live container's new run (closing the old run's), closes the
    /// stats of a stopped one; a container never read gets its last lines once.
    pub(super) fn follow(
        &mut self,
        entry: EntryId,
        id: &str,
        live: bool,
        started_at: Option<SystemTime>,
        tail: usize,
        facts: &mpsc::Sender<DockerFact>,
    ) {
        let Some(tracked) = self.tracked.get_mut(&entry) else {
            return;
        };
        let new_run = tracked.started_at != started_at;
        tracked.started_at = started_at;
        let first_read = !self.cursors.contains_key(id);
        let cursor = self.cursors.entry(id.to_string()).or_default().clone();
        if !live {
            if let Some(stats) = tracked.stats.take() {
                stats.abort();
            }
            if first_read {
                let task = follow_logs(
                    self.docker.clone(),
                    entry,
                    id.to_string(),
                    tail,
                    cursor,
                    facts.clone(),
                );
                tracked.logs = Some(self.streams.spawn(task));
            }
            return;
        }
        if new_run || tracked.stats.is_none() {
            if let Some(old) = tracked.stats.take() {
                old.abort();
            }
            let task = follow_stats(self.docker.clone(), entry, id.to_string(), facts.clone());
            tracked.stats = Some(self.streams.spawn(task));
        }
        if new_run || tracked.logs.as_ref().is_none_or(AbortHandle::is_finished) {
            if let Some(old) = tracked.logs.take() {
                old.abort();
            }
            let task = follow_logs(
                self.docker.clone(),
                entry,
                id.to_string(),
                tail,
                cursor,
                facts.clone(),
            );
            tracked.logs = Some(self.streams.spawn(task));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The JoinSet aborts the streams; the handles only need forgetting.
        for tracked in self.tracked.values_mut() {
            tracked.stop_streams();
        }
    }
}
