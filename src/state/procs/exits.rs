//! What happens when a process starts, ends or cannot be spawned: restart policy with capped
//! backoff, crash loops, and "address already in use" recognised in its last lines.

use std::time::{Duration, Instant};

use super::{Lifecycle, STABLE_UPTIME, backoff};
use crate::message::{Command, ExitReason};
use crate::plan::{EntryId, RestartPolicy};
use crate::state::{Severity, State};

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
    pub(in crate::state) fn process_started(&mut self, entry: EntryId, pid: u32, at: Instant) {
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
        // A worker (no port to probe) is running as soon as its process is.
        if self.plan.entries[entry.0].targets.is_empty()
            && matches!(self.procs[entry.0].lifecycle, Lifecycle::Starting { .. })
        {
            self.procs[entry.0].lifecycle = Lifecycle::Running { since: at };
        }
    }

    pub(in crate::state) fn process_exited(
        &mut self,
        entry: EntryId,
        exit: ExitReason,
        at: Instant,
    ) {
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
        }
        if failed {
            // Whatever the error said: who holds its ports now (from the port scanner).
            let note = self.exit_holders_note(entry, uptime, bind.is_some(), at);
            text.push_str(&note);
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

    pub(in crate::state) fn spawn_failed(&mut self, entry: EntryId, error: String, at: Instant) {
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
}
