//! Docker wired into the state: the worker's facts applied (with alerts and the containers'
//! logs), the start/stop/restart keys on a container row turned into Docker commands, a
//! compose `up` confirmed before it runs, start-all's readiness gate for containers (engine
//! health when there is one, our probes always), and stop-all's rule that infra goes last.
//! Also the CPU and memory of our own process groups, sampled from /proc.

use std::time::Instant;

use super::{Mode, Severity, State};
use crate::action::Action;
use crate::collect::docker::{
    ContainerAction, ContainerState, DockerCommand, DockerFact, EngineHealth,
};
use crate::collect::proc_usage::ProcUsageSampled;
use crate::message::{Command, Update};
use crate::plan::EntryId;

impl State {
    /// Applies one fact of the Docker worker; true when something shown changed.
    pub(super) fn docker_fact(&mut self, fact: DockerFact) -> bool {
        let now = self.now;
        if let DockerFact::LogLines { entry, lines, .. } = fact {
            return self.apply_fact(Update::LogLines {
                entry,
                lines,
                dropped: 0,
            });
        }
        if let DockerFact::UsageSampled { .. } = fact {
            // Figures move with every stats frame (one a second per container): drawn with
            // the next clock tick, like latencies, not a frame each.
            self.cosmetic |= self.docker.apply(&fact, now);
            return false;
        }
        let was_connected = self.docker.is_connected();
        let entry = match &fact {
            DockerFact::ContainerSeen { entry, .. }
            | DockerFact::ContainerMissing { entry, .. }
            | DockerFact::ActionFinished { entry, .. }
            | DockerFact::ComposeFinished { entry, .. } => Some(*entry),
            _ => None,
        };
        let before = entry.and_then(|e| self.container_state(e));
        let changed = self.docker.apply(&fact, now);
        match &fact {
            DockerFact::Unavailable { problem, .. } if changed => {
                let fix = problem
                    .fix()
                    .map_or_else(String::new, |f| format!(" (fix: {f})"));
                self.alert(now, Severity::Error, format!("{}{fix}", problem.words()));
            }
            DockerFact::Connected { .. } if !was_connected => {
                let (words, _) = self.docker.connection_words(now);
                self.alert(now, Severity::Info, format!("connected: {words}"));
            }
            DockerFact::ContainerSeen { entry, info, .. } => {
                let name = self.plan.entries[entry.0].name.clone();
                let after = Some((info.state, info.health));
                if let Some(Some((old_state, old_health))) = before
                    && after != Some((old_state, old_health))
                {
                    let severity = match info.state {
                        ContainerState::Running if info.health != EngineHealth::Unhealthy => {
                            Severity::Info
                        }
                        ContainerState::Exited(0) | ContainerState::Created => Severity::Warning,
                        _ => Severity::Error,
                    };
                    let health = match info.health {
                        EngineHealth::None => String::new(),
                        h => format!(" ({})", h.as_str()),
                    };
                    let text = format!(
                        "{name}: container {} {}{health}",
                        info.name,
                        info.state.words()
                    );
                    self.alert(now, severity, text);
                }
                if info.state == ContainerState::Running
                    && before
                        .flatten()
                        .is_none_or(|(s, _)| s != ContainerState::Running)
                {
                    // Probe its ports now rather than at their next round.
                    for target in self.plan.entries[entry.0].targets.clone() {
                        self.queue(Command::ProbeSoon { target });
                    }
                }
            }
            DockerFact::ContainerMissing { entry, .. } if matches!(before, Some(Some(_))) => {
                let name = self.plan.entries[entry.0].name.clone();
                self.alert(
                    now,
                    Severity::Warning,
                    format!("{name}: its container is gone"),
                );
            }
            DockerFact::ActionFinished {
                entry,
                action,
                outcome: Err(why),
            } => {
                let name = self.plan.entries[entry.0].name.clone();
                let text = format!("{name}: {} of its container failed: {why}", action.verb());
                self.alert(now, Severity::Error, text);
            }
            DockerFact::ComposeFinished { entry, up, outcome } => {
                let name = self.plan.entries[entry.0].name.clone();
                let (severity, text) = match outcome {
                    Ok(()) => (Severity::Info, format!("{name}: {} done", up.display())),
                    Err(why) => (
                        Severity::Error,
                        format!("{name}: {} failed: {why}", up.display()),
                    ),
                };
                self.alert(now, severity, text);
            }
            _ => {}
        }
        changed
    }

    /// The entry's container state and engine health: None = not a container entry,
    /// Some(None) = not seen (missing, or the engine is unknown).
    fn container_state(&self, entry: EntryId) -> Option<Option<(ContainerState, EngineHealth)>> {
        let e = self.docker.entry(entry)?;
        Some(
            e.seen
                .as_ref()
                .filter(|_| e.known)
                .map(|s| (s.info.state, s.info.health)),
        )
    }

    /// `s`, `x` or `r` on a container row.
    pub(super) fn container_key(&mut self, entry: EntryId, action: Action, now: Instant) {
        let grace = self.plan.entries[entry.0].stop_grace;
        let action = match action {
            Action::Stop => ContainerAction::Stop { timeout: grace },
            Action::Restart => ContainerAction::Restart { timeout: grace },
            _ => ContainerAction::Start,
        };
        self.container_act(entry, action, now);
    }

    /// Start-all's start of a container entry: start its container unless it already runs.
    /// Nothing is asked here: a missing container (or an engine that cannot be asked) is
    /// named in an alert, unless our probes say its ports are served anyway; creating it with
    /// compose is offered by `s` on its row only.
    pub(super) fn container_start(&mut self, entry: EntryId, now: Instant) {
        match self.container_state(entry) {
            Some(Some((state, _))) if state.is_live() => {}
            Some(Some(_)) => self.container_act(entry, ContainerAction::Start, now),
            _ if self.entry_state(entry).is_up() => {}
            _ => {
                let name = self.plan.entries[entry.0].name.clone();
                let why = match self.docker.command(entry, ContainerAction::Start) {
                    Err(why) => why,
                    Ok(_) => "no container yet: s on its row offers to create it".into(),
                };
                let text = format!("{name}: cannot start its container: {why}");
                self.alert(now, Severity::Warning, text);
            }
        }
    }

    /// Stop the entry's container when it runs.
    pub(super) fn container_stop(&mut self, entry: EntryId, now: Instant) {
        if !self.container_live(entry) {
            return;
        }
        let timeout = self.plan.entries[entry.0].stop_grace;
        self.container_act(entry, ContainerAction::Stop { timeout }, now);
    }

    pub(super) fn container_live(&self, entry: EntryId) -> bool {
        matches!(self.container_state(entry), Some(Some((s, _))) if s.is_live())
    }

    fn container_act(&mut self, entry: EntryId, action: ContainerAction, now: Instant) {
        let name = self.plan.entries[entry.0].name.clone();
        match self.docker.command(entry, action) {
            Ok(DockerCommand::ComposeUp { entry, up }) => {
                // One question at a time: a second missing container waits for the next key.
                if self.ui.mode != Mode::ConfirmCompose {
                    let text = format!("{name}: no container; y runs {}", up.display());
                    self.alert(now, Severity::Info, text);
                    self.compose_offer = Some((entry, up));
                    self.ui.mode = Mode::ConfirmCompose;
                }
            }
            Ok(command) => {
                self.docker.asked(&command);
                self.queue(Command::Docker(command));
            }
            Err(why) => {
                let text = format!("{name}: cannot {} its container: {why}", action.verb());
                self.alert(now, Severity::Warning, text);
            }
        }
    }

    /// The user answered the compose question.
    pub(super) fn compose_answered(&mut self, yes: bool) {
        self.ui.mode = Mode::Normal;
        let Some((entry, up)) = self.compose_offer.take() else {
            return;
        };
        if !yes {
            return;
        }
        let now = self.now;
        let name = self.plan.entries[entry.0].name.clone();
        self.alert(
            now,
            Severity::Info,
            format!("{name}: running {}", up.display()),
        );
        let command = DockerCommand::ComposeUp { entry, up };
        self.docker.asked(&command);
        self.queue(Command::Docker(command));
    }

    /// A container entry is ready for its dependents (besides our probes, always asked) when
    /// the engine says it runs and its health check, when it has one, says healthy. Without
    /// a word from the engine (unavailable, or no such container: the port may be served
    /// another way) our probes alone decide; other entries have no such gate.
    pub(super) fn container_ready(&self, entry: EntryId) -> bool {
        match self.container_state(entry) {
            None | Some(None) => true,
            Some(Some((ContainerState::Running, health))) => {
                matches!(health, EngineHealth::None | EngineHealth::Healthy)
            }
            Some(Some(_)) => false,
        }
    }

    /// Stop-all stops infra last: a container waits while any process of ours still lives.
    pub(super) fn container_waits_for_services(&self, entry: EntryId) -> bool {
        self.plan.entries[entry.0].is_container()
            && self.procs.iter().any(|p| p.lifecycle.is_live())
    }

    /// CPU and memory of our process groups (shown like a container's).
    pub(super) fn proc_usage_sampled(&mut self, sampled: ProcUsageSampled) -> bool {
        let fresh: std::collections::BTreeMap<EntryId, (Option<f64>, u64)> = sampled
            .usage
            .into_iter()
            .map(|(entry, u)| (entry, (u.cpu_percent, u.rss_bytes)))
            .collect();
        if fresh != self.proc_usage {
            self.proc_usage = fresh;
            // Figures: drawn with the next clock tick.
            self.cosmetic = true;
        }
        false
    }

    /// The process groups to sample: every live process of ours (its group id is its pid).
    pub fn usage_groups(&self) -> Vec<(EntryId, i32)> {
        self.procs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.lifecycle.is_live())
            .filter_map(|(i, p)| Some((EntryId(i), i32::try_from(p.pid?).ok()?)))
            .collect()
    }

    /// CPU (percent of one core) and memory of an entry: its container's from the engine, or
    /// its process group's from /proc.
    pub fn usage(&self, entry: EntryId) -> Option<(Option<f64>, Option<u64>)> {
        if let Some(e) = self.docker.entry(entry) {
            return e.usage.map(|u| (u.cpu_percent, u.memory_bytes));
        }
        if !self.procs[entry.0].lifecycle.is_live() {
            return None;
        }
        self.proc_usage.get(&entry).map(|(c, m)| (*c, Some(*m)))
    }
}

#[cfg(test)]
#[path = "wire_docker_tests.rs"]
mod tests;
