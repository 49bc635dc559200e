//! The messages between collectors, controllers, input and the state owner.

use std::time::{Duration, Instant};

use crate::health::ProbeResult;
use crate::plan::{EntryId, TargetId};

/// Facts from collectors and controllers, past tense; errors are values inside them.
#[derive(Debug, Clone)]
pub enum Update {
    /// A probe of `target` finished at `at`.
    HealthChecked {
        target: TargetId,
        result: ProbeResult,
        at: Instant,
    },
    /// Probes of several targets that found what their last probe found (one wake-up for a
    /// round of unchanged results).
    HealthBatch {
        results: Vec<(TargetId, ProbeResult, Instant)>,
    },
    /// The supervisor spawned the entry's command.
    ProcessStarted {
        entry: EntryId,
        pid: u32,
        at: Instant,
    },
    /// The command could not be spawned (missing binary, permission, ...).
    ProcessSpawnFailed {
        entry: EntryId,
        error: String,
        at: Instant,
    },
    /// A supervised process ended; `exit` says how.
    ProcessExited {
        entry: EntryId,
        pid: u32,
        exit: ExitReason,
        at: Instant,
    },
    /// Lines a supervised process wrote; `dropped` lines were lost before these because the UI was behind.
    LogLines {
        entry: EntryId,
        lines: Vec<LogLine>,
        dropped: u64,
    },
    /// Something went wrong inside anychat-top itself (a log file that cannot be written, a
    /// worker's warning): shown as an alert.
    Trouble { severity: Severity, text: String },
    /// The dashboard's own CPU (percent of one core) and resident memory.
    SelfUsageMeasured { cpu_percent: f64, rss_bytes: u64 },
    /// The slow clock: ages, spinners, timeouts and backoff deadlines.
    Tick { at: Instant },
    /// One scrape of a metrics endpoint (a page or why there is none).
    MetricsScraped(Box<crate::collect::scrape::ScrapeFact>),
    /// Who holds a metrics port that several entries are configured with.
    MetricsPortHeld {
        endpoint: crate::collect::scrape::Endpoint,
        owner: Option<PortOwner>,
    },
    /// One poll of the NATS monitoring port.
    NatsPolled(Box<crate::collect::nats::NatsFact>),
    /// Which process owns each client connection to the NATS client port (address as the
    /// server sees it → pid).
    NatsClientsFound {
        owners: std::collections::BTreeMap<std::net::SocketAddr, u32>,
    },
    /// One round against the Prometheus server used as the metrics source.
    PrometheusPolled(Box<crate::collect::prometheus_api::PromFact>),
    /// A fact from the Docker worker (engine connection, a container's state, stats, logs).
    Docker(Box<crate::collect::docker::DockerFact>),
    /// CPU and memory of the supervised process groups, from /proc.
    ProcUsage(crate::collect::proc_usage::ProcUsageSampled),
    /// The port scanner read every listening socket and its holders (sent when they changed,
    /// and after a scan asked for with [`Command::ScanPortsNow`]).
    PortsScanned {
        scan: Box<crate::collect::port_scan::PortScan>,
        at: Instant,
    },
}

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal number.
    Signal(i32),
}

/// Which stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a child's output, as written (cut at [`MAX_LINE_BYTES`], escapes not yet neutralised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: Stream,
    pub text: String,
    /// The line was longer than [`MAX_LINE_BYTES`] and was cut.
    pub truncated: bool,
}

/// Lines longer than this are cut (the rest of the line is discarded).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A process that listens on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOwner {
    pub pid: u32,
    /// The command line, arguments joined by spaces.
    pub command: String,
}

/// Side effects asked of the workers.
#[derive(Debug, Clone)]
pub enum Command {
    /// Spawn the entry's command (argv, cwd, env from the plan) in its own process group.
    Start { entry: EntryId },
    /// SIGTERM the entry's process group; SIGKILL after `grace` if still alive.
    Stop { entry: EntryId, grace: Duration },
    /// Probe `target` shortly instead of at its next tick (a service is starting).
    ProbeSoon { target: TargetId },
    /// Work for the Docker worker (start, stop, restart a container; compose up).
    Docker(crate::collect::docker::DockerCommand),
    /// Scan the ports now instead of at the next tick (a service exited early).
    ScanPortsNow,
    /// Send `signal` to `pid`, if it is still the process that started at `start_ticks` (a
    /// port's holder, stopped from the ports panel after a confirmation).
    SignalHolder {
        pid: u32,
        start_ticks: u64,
        signal: i32,
    },
}
