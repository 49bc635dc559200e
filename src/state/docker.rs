//! The Docker sub-state: the engine connection in words (with the fix), and per infra entry
//! its container's state, engine health, uptime, ports, CPU and memory, plus the flags that
//! set the engine's view against our probes. Pure: facts and `now` in, derived values out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::collect::docker::{
    ComposeUp, ContainerAction, ContainerInfo, ContainerUsage, DockerFact, EngineHealth,
    EngineProblem, MatchedBy, PublishedPort, WantedContainer,
};
use crate::health::ProbeState;
use crate::plan::EntryId;

/// A running container whose port has not answered for this long after its start is flagged.
pub const PORT_GRACE: Duration = Duration::from_secs(10);

/// The engine connection as last reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// No word from the worker yet.
    Connecting,
    Connected {
        host: String,
        engine_version: String,
        api_version: String,
    },
    Unavailable {
        host: String,
        problem: EngineProblem,
        /// When the worker tries again.
        retry_at: Instant,
    },
}

/// The last sighting of an entry's container.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub info: ContainerInfo,
    /// Uptime at `at`.
    pub running_for: Option<Duration>,
    pub at: Instant,
}

/// What is known of one entry's container.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryContainer {
    pub wanted: WantedContainer,
    /// None: missing (when `known`) or not looked for yet.
    pub seen: Option<Seen>,
    /// The engine was asked since the last (re)connection.
    pub known: bool,
    /// Containers of other projects with the entry's service label (never ours).
    pub foreign: Vec<String>,
    pub usage: Option<ContainerUsage>,
    /// The last action asked and its outcome (None while it runs).
    pub action: Option<(ContainerAction, Option<Result<(), String>>)>,
    /// The last compose `up`: the command and its outcome (None while it runs).
    pub compose: Option<(ComposeUp, Option<Result<(), String>>)>,
}

/// Our probes' verdict on an entry's ports, passed in by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortVerdict {
    /// Not probed yet (or no ports).
    Unknown,
    Up,
    /// Answers, but says it is not healthy.
    Unhealthy,
    /// Refused or timed out.
    Down,
}

impl PortVerdict {
    /// The worst of an entry's probe states (a pending probe alone says nothing).
    pub fn from_states(states: impl IntoIterator<Item = ProbeState>) -> PortVerdict {
        let mut verdict = PortVerdict::Unknown;
        for state in states {
            let v = match state {
                ProbeState::Pending => PortVerdict::Unknown,
                ProbeState::Up | ProbeState::NoHealthService => PortVerdict::Up,
                ProbeState::Unhealthy => PortVerdict::Unhealthy,
                ProbeState::Down => PortVerdict::Down,
            };
            let rank = |v| match v {
                PortVerdict::Unknown => 0,
                PortVerdict::Up => 1,
                PortVerdict::Unhealthy => 2,
                PortVerdict::Down => 3,
            };
            if rank(v) > rank(verdict) {
                verdict = v;
            }
        }
        verdict
    }
}

/// A disagreement between the engine and our probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerFlag {
    /// The container runs (past [`PORT_GRACE`]) but its port does not answer.
    RunningPortSilent,
    /// The engine's health check passes but our probe fails.
    HealthyButProbeFails,
    /// No container is the entry's, yet its port answers: something else serves it.
    PortAnswersWithoutContainer,
}

impl DockerFlag {
    /// The flag in words.
    pub fn words(self) -> &'static str {
        match self {
            DockerFlag::RunningPortSilent => "running, but its port does not answer",
            DockerFlag::HealthyButProbeFails => "healthy for Docker, but our probe fails",
            DockerFlag::PortAnswersWithoutContainer => {
                "no container, but its port answers: something else serves it"
            }
        }
    }
}

/// The derived values of one entry's row.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRow {
    /// The container's name, or the one looked for.
    pub name: String,
    /// `running`, `exited (3)`, `missing`, `unknown` (engine unavailable), `looking`.
    pub state: String,
    pub health: Option<EngineHealth>,
    pub uptime: Option<Duration>,
    pub ports: Vec<PublishedPort>,
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub matched_by: Option<MatchedBy>,
    pub flags: Vec<DockerFlag>,
    /// What to do about it, in words (how to create a missing container, ...).
    pub hint: Option<String>,
}

/// What `check` prints per infra entry (table and JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerCheck {
    pub container: String,
    pub state: String,
    /// `none`, `starting`, `healthy`, `unhealthy`; null when unknown.
    pub engine_health: Option<&'static str>,
}

/// Everything the dashboard knows from Docker.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerState {
    pub connection: Connection,
    /// `["docker-compose"]` or `["docker", "compose"]`, once the worker has looked.
    pub compose_program: Option<Vec<String>>,
    entries: BTreeMap<EntryId, EntryContainer>,
}

impl DockerState {
    /// A state for the entries run by containers.
    pub fn new(wanted: &[WantedContainer]) -> DockerState {
        let entries = wanted
            .iter()
            .map(|w| {
                let entry = EntryContainer {
                    wanted: w.clone(),
                    seen: None,
                    known: false,
                    foreign: Vec::new(),
                    usage: None,
                    action: None,
                    compose: None,
                };
                (w.entry, entry)
            })
            .collect();
        DockerState {
            connection: Connection::Connecting,
            compose_program: None,
            entries,
        }
    }

    /// What is known of `entry`'s container (None: not a container entry).
    pub fn entry(&self, entry: EntryId) -> Option<&EntryContainer> {
        self.entries.get(&entry)
    }

    /// Takes in one fact; true when something shown changed. Log lines change nothing
    /// here: the caller stores them with the entry's other output.
    pub fn apply(&mut self, fact: &DockerFact, now: Instant) -> bool {
        match fact {
            DockerFact::Connected {
                host,
                engine_version,
                api_version,
            } => {
                let connection = Connection::Connected {
                    host: host.clone(),
                    engine_version: engine_version.clone(),
                    api_version: api_version.clone(),
                };
                self.set_connection(connection)
            }
            DockerFact::Unavailable {
                host,
                problem,
                retry_in,
            } => {
                for e in self.entries.values_mut() {
                    e.known = false;
                    e.usage = None;
                }
                let was = std::mem::replace(&mut self.connection, Connection::Connecting);
                self.connection = Connection::Unavailable {
                    host: host.clone(),
                    problem: problem.clone(),
                    retry_at: now + *retry_in,
                };
                !matches!(was, Connection::Unavailable { problem: p, .. } if p == *problem)
            }
            DockerFact::ComposeProgramFound { program } => {
                let changed = self.compose_program != *program;
                self.compose_program = program.clone();
                changed
            }
            DockerFact::ContainerSeen {
                entry,
                info,
                running_for,
                at,
            } => {
                let Some(e) = self.entries.get_mut(entry) else {
                    return false;
                };
                if !info.state.is_live() {
                    e.usage = None;
                }
                let before = e.seen.as_ref().map(|s| (&s.info, s.info.started_at));
                let changed = before != Some((info, info.started_at)) || !e.known;
                e.seen = Some(Seen {
                    info: info.clone(),
                    running_for: *running_for,
                    at: *at,
                });
                e.known = true;
                e.foreign.clear();
                changed
            }
            DockerFact::ContainerMissing { entry, foreign } => {
                let Some(e) = self.entries.get_mut(entry) else {
                    return false;
                };
                let changed = e.seen.is_some() || !e.known || e.foreign != *foreign;
                e.seen = None;
                e.usage = None;
                e.known = true;
                e.foreign = foreign.clone();
                changed
            }
            DockerFact::UsageSampled {
                entry,
                container_id,
                usage,
                ..
            } => {
                let Some(e) = self.entries.get_mut(entry) else {
                    return false;
                };
                let ours = e
                    .seen
                    .as_ref()
                    .is_some_and(|s| s.info.id == *container_id && s.info.state.is_live());
                if !ours || e.usage.as_ref() == Some(usage) {
                    return false;
                }
                e.usage = Some(*usage);
                true
            }
            DockerFact::LogLines { .. } => false,
            DockerFact::ActionFinished {
                entry,
                action,
                outcome,
            } => {
                let Some(e) = self.entries.get_mut(entry) else {
                    return false;
                };
                e.action = Some((*action, Some(outcome.clone())));
                true
            }
            DockerFact::ComposeFinished { entry, up, outcome } => {
                let Some(e) = self.entries.get_mut(entry) else {
                    return false;
                };
                e.compose = Some((up.clone(), Some(outcome.clone())));
                true
            }
        }
    }

    /// A command was sent to the worker: its action (or compose `up`) runs until the worker
    /// says it finished.
    pub fn asked(&mut self, command: &crate::collect::docker::DockerCommand) {
        use crate::collect::docker::DockerCommand;
        match command {
            DockerCommand::Act { entry, action, .. } => {
                if let Some(e) = self.entries.get_mut(entry) {
                    e.action = Some((*action, None));
                }
            }
            DockerCommand::ComposeUp { entry, up } => {
                if let Some(e) = self.entries.get_mut(entry) {
                    e.compose = Some((up.clone(), None));
                }
            }
        }
    }

    /// Whether the engine connection is up.
    pub fn is_connected(&self) -> bool {
        matches!(self.connection, Connection::Connected { .. })
    }

    /// Whether there are container entries at all (no worker runs without them).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every published host port of a matched container, with the container's name: what the
    /// port scanner needs to attribute a port held by docker-proxy.
    pub fn host_ports(&self) -> std::collections::BTreeMap<u16, String> {
        self.published()
            .into_iter()
            .map(|(_, name, port)| (port.host_port, name))
            .collect()
    }

    fn set_connection(&mut self, connection: Connection) -> bool {
        let changed = self.connection != connection;
        self.connection = connection;
        changed
    }

    /// The connection in words, and the fix when there is one.
    pub fn connection_words(&self, now: Instant) -> (String, Option<String>) {
        match &self.connection {
            Connection::Connecting => ("Docker: connecting".into(), None),
            Connection::Connected {
                host,
                engine_version,
                api_version,
            } => (
                format!("Docker {engine_version} (API {api_version}) at {host}"),
                None,
            ),
            Connection::Unavailable {
                problem, retry_at, ..
            } => {
                let wait = retry_at.saturating_duration_since(now).as_secs();
                let words = format!("{}; retrying in {wait}s", problem.words());
                (words, problem.fix())
            }
        }
    }
}

mod derive;

#[cfg(test)]
#[path = "docker_tests.rs"]
mod tests;
