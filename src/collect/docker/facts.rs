//! What the Docker worker reports (facts) and what it is asked to do (commands).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::message::LogLine;
use crate::plan::EntryId;

/// One infra entry's container, as the caller wants it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedContainer {
    pub entry: EntryId,
    /// Exact container name (`anychat-redis`), without the leading `/`.
    pub container_name: Option<String>,
    /// The `com.docker.compose.service` label (`redis`).
    pub compose_service: Option<String>,
    /// The `com.docker.compose.project` label (`deployments`).
    pub compose_project: Option<String>,
    /// Compose file defining the service: a copy started under another project name from this
    /// file is still ours, and a missing container can be created with `up -d`.
    pub compose_file: Option<PathBuf>,
}

/// How a container was recognised as an entry's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchedBy {
    /// Its name is the entry's container name.
    Name,
    /// Its compose project and service labels are the entry's.
    ComposeLabels,
    /// Its service label is the entry's and it was started from the entry's compose file,
    /// under another project name (`project`).
    ComposeFile { project: String },
}

/// A container's lifecycle state, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    /// Exited with this code.
    Exited(i64),
    Dead,
}

impl ContainerState {
    /// Whether the container has processes (stats and followed logs make sense).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
        )
    }

    /// Short words for tables: `running`, `exited (3)`, ...
    pub fn words(self) -> String {
        match self {
            ContainerState::Created => "created".into(),
            ContainerState::Running => "running".into(),
            ContainerState::Paused => "paused".into(),
            ContainerState::Restarting => "restarting".into(),
            ContainerState::Removing => "removing".into(),
            ContainerState::Exited(code) => format!("exited ({code})"),
            ContainerState::Dead => "dead".into(),
        }
    }
}

/// The engine's own health check verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineHealth {
    /// The container has no health check.
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl EngineHealth {
    /// Lower-case name for tables and JSON (`none`, `starting`, `healthy`, `unhealthy`).
    pub fn as_str(self) -> &'static str {
        match self {
            EngineHealth::None => "none",
            EngineHealth::Starting => "starting",
            EngineHealth::Healthy => "healthy",
            EngineHealth::Unhealthy => "unhealthy",
        }
    }
}

/// A container port published on the host (what docker-proxy listens on).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublishedPort {
    /// Host address (`0.0.0.0`, `127.0.0.1`, `::`).
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// Everything shown about one matched container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    pub matched_by: MatchedBy,
    pub image: String,
    pub state: ContainerState,
    pub health: EngineHealth,
    /// When its current run started (None if never started).
    pub started_at: Option<SystemTime>,
    /// Published ports: live bindings when running, configured ones otherwise.
    pub ports: Vec<PublishedPort>,
    pub compose_project: Option<String>,
    pub compose_service: Option<String>,
    /// The kernel's OOM killer ended its last run.
    pub oom_killed: bool,
    pub restart_count: i64,
    /// The engine's error for the last start, if any ("port is already allocated", ...).
    pub error: Option<String>,
}

/// CPU and memory of a container, from one stats frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContainerUsage {
    /// Percent of one CPU (200 = two cores busy), as `docker stats` computes it; None without
    /// a previous sample.
    pub cpu_percent: Option<f64>,
    /// Memory in use without the page cache, as `docker stats` shows it.
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
}

/// Why the engine cannot be used, with words and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineProblem {
    /// The unix socket does not exist: Docker is not installed or not started.
    NoSocket { socket: PathBuf },
    /// The socket exists but nothing listens on it: the engine stopped.
    Refused { address: String },
    /// We may not open the socket; `group` is the socket's group, when known.
    PermissionDenied {
        socket: PathBuf,
        group: Option<String>,
    },
    /// A request got no answer within the timeout.
    NotAnswering { address: String, after: Duration },
    /// The engine refuses our API version ("client version 1.45 is too new ...").
    ApiTooNew { message: String },
    /// `DOCKER_HOST` names something this build cannot use.
    UnsupportedHost { host: String },
    /// Anything else, in the engine's or the transport's words.
    Other { message: String },
}

impl EngineProblem {
    /// What is wrong, in words.
    pub fn words(&self) -> String {
        match self {
            EngineProblem::NoSocket { socket } => {
                format!("no Docker engine: {} does not exist", socket.display())
            }
            EngineProblem::Refused { address } => {
                format!("Docker engine not running: nothing listens on {address}")
            }
            EngineProblem::PermissionDenied { socket, .. } => {
                format!("permission denied on {}", socket.display())
            }
            EngineProblem::NotAnswering { address, after } => format!(
                "Docker engine not answering on {address} (no answer in {})",
                humantime::format_duration(*after)
            ),
            EngineProblem::ApiTooNew { message } => format!("Docker engine refused us: {message}"),
            EngineProblem::UnsupportedHost { host } => {
                format!("DOCKER_HOST={host} is not supported by this build")
            }
            EngineProblem::Other { message } => format!("Docker engine error: {message}"),
        }
    }

    /// How to fix it, when we can say.
    pub fn fix(&self) -> Option<String> {
        match self {
            EngineProblem::NoSocket { .. } => Some(
                "start Docker (sudo systemctl start docker), or point DOCKER_HOST at your engine"
                    .into(),
            ),
            EngineProblem::Refused { .. } => {
                Some("start Docker (sudo systemctl start docker)".into())
            }
            EngineProblem::PermissionDenied { group, .. } => Some(match group {
                Some(group) => format!(
                    "add yourself to group {group} (sudo usermod -aG {group} $USER), then log in again"
                ),
                None => "ask for access to the Docker socket (usually group docker)".into(),
            }),
            EngineProblem::NotAnswering { .. } => {
                Some("the engine may be overloaded or hung: sudo systemctl restart docker".into())
            }
            EngineProblem::ApiTooNew { .. } => None,
            EngineProblem::UnsupportedHost { .. } => {
                Some("use unix:///path/to/docker.sock, tcp://host:port or http://host:port".into())
            }
            EngineProblem::Other { .. } => None,
        }
    }
}

/// A lifecycle action on a matched container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerAction {
    Start,
    /// Stop: SIGTERM, then SIGKILL after `timeout` (the engine's `t`).
    Stop {
        timeout: Duration,
    },
    Restart {
        timeout: Duration,
    },
}

impl ContainerAction {
    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            ContainerAction::Start => "start",
            ContainerAction::Stop { .. } => "stop",
            ContainerAction::Restart { .. } => "restart",
        }
    }
}

/// `docker-compose -f FILE [-p PROJECT] up -d SERVICE` (or `docker compose ...`), ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeUp {
    /// The whole command line, program first.
    pub argv: Vec<String>,
}

impl ComposeUp {
    /// The command line as one would type it, for the confirmation question.
    pub fn display(&self) -> String {
        self.argv.join(" ")
    }
}

/// Work asked of the Docker worker.
#[derive(Debug, Clone, PartialEq)]
pub enum DockerCommand {
    /// Act on the container `container_id`, which must be the one matched for `entry`
    /// (anything else is refused and left alone).
    Act {
        entry: EntryId,
        container_id: String,
        action: ContainerAction,
    },
    /// Run a compose `up` for a missing container (after the user confirmed it).
    ComposeUp { entry: EntryId, up: ComposeUp },
}

/// Facts from the Docker worker, past tense; errors are values.
#[derive(Debug, Clone, PartialEq)]
pub enum DockerFact {
    /// Connected to the engine at `host`; the API version is the one negotiated.
    Connected {
        host: String,
        engine_version: String,
        api_version: String,
    },
    /// The engine cannot be used; the worker tries again in `retry_in`.
    Unavailable {
        host: String,
        problem: EngineProblem,
        retry_in: Duration,
    },
    /// Which compose program exists here (`["docker-compose"]`, `["docker", "compose"]`), if any.
    ComposeProgramFound { program: Option<Vec<String>> },
    /// The entry's container as inspected at `at`; `running_for` is its uptime then.
    ContainerSeen {
        entry: EntryId,
        info: ContainerInfo,
        running_for: Option<Duration>,
        at: Instant,
    },
    /// No container is the entry's. `foreign` names containers with the entry's service label
    /// in other compose projects: seen, not ours, never touched.
    ContainerMissing {
        entry: EntryId,
        foreign: Vec<String>,
    },
    /// One stats frame of the entry's container.
    UsageSampled {
        entry: EntryId,
        container_id: String,
        usage: ContainerUsage,
        at: Instant,
    },
    /// Lines the entry's container wrote (not yet sanitised).
    LogLines {
        entry: EntryId,
        container_id: String,
        lines: Vec<LogLine>,
    },
    /// A [`DockerCommand::Act`] finished (or was refused: `Err` says why).
    ActionFinished {
        entry: EntryId,
        action: ContainerAction,
        outcome: Result<(), String>,
    },
    /// A [`DockerCommand::ComposeUp`] finished; `Err` has the exit status and last lines.
    ComposeFinished {
        entry: EntryId,
        up: ComposeUp,
        outcome: Result<(), String>,
    },
}
