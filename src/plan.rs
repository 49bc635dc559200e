//! The resolved plan: every entry (service or infra) and every port target to probe.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Index of an entry (a service or an infra component) in [`Plan::entries`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub usize);

/// Index of a probed port in [`Plan::targets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(pub usize);

/// Whether an entry is one of AnyChat's own services or a piece of infrastructure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Service,
    Infra,
}

/// What the supervisor does when a service exits on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    Never,
    OnFailure,
    Always,
}

/// One service or infra component, with its ports already shifted by the port offset.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    /// Service group (core, social, ...) or infra category (infrastructure, monitoring, ...).
    pub group: String,
    pub description: String,
    /// argv with `{http_port}`-style placeholders already substituted; empty = not startable.
    pub command: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: BTreeMap<String, String>,
    pub depends_on: Vec<EntryId>,
    /// Whether `check` fails when this entry's targets are not up.
    pub required: bool,
    pub restart: RestartPolicy,
    /// Time between SIGTERM and SIGKILL when stopping.
    pub stop_grace: Duration,
    /// How long a dependent waits for this entry to become healthy.
    pub ready_timeout: Duration,
    pub container: Option<String>,
    /// How it runs: a process we start, a container, or nothing we control.
    pub runs: Runs,
    pub targets: Vec<TargetId>,
    /// Manifest file the entry came from.
    pub source: PathBuf,
    /// Host its ports are probed on; anything but this machine makes the entry remote.
    pub host: String,
    /// Why the entry cannot be started (remote, not built), shown instead of starting it.
    pub not_startable: Option<String>,
}

/// How an entry runs, which decides its lifecycle, keys and place in start-all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Runs {
    /// A process anychat-top starts and supervises (its `command`).
    #[default]
    Process,
    /// A Docker container (found by the entry's `container` name or compose labels),
    /// started, stopped and restarted through the engine.
    Container(ContainerSpec),
    /// Nothing anychat-top controls: probed only.
    External,
}

/// Where a container entry's container comes from (besides its `container` name).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// The compose file defining it (absolute, or relative to the working directory).
    pub compose_file: Option<PathBuf>,
    /// Its compose service (`com.docker.compose.service`).
    pub compose_service: Option<String>,
    /// Its compose project (`com.docker.compose.project`).
    pub compose_project: Option<String>,
}

impl Entry {
    /// Whether a container runs this entry.
    pub fn is_container(&self) -> bool {
        matches!(self.runs, Runs::Container(_))
    }
}

/// Host names that mean "this machine": entries on them may be supervised.
pub const LOCAL_HOSTS: [&str; 4] = ["127.0.0.1", "localhost", "::1", "0.0.0.0"];

impl Entry {
    /// Whether the entry lives on another host: probed, never supervised.
    pub fn is_remote(&self) -> bool {
        is_remote_host(&self.host)
    }
}

/// Whether `host` names another machine (anything but [`LOCAL_HOSTS`]).
pub fn is_remote_host(host: &str) -> bool {
    !LOCAL_HOSTS.contains(&host)
}

/// How a port is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProbeSpec {
    /// TCP connect only.
    Tcp,
    /// HTTP GET; up on 2xx. `json_status` also requires a JSON body whose `status` is "ok"/"up"/"healthy" when present.
    Http { path: String, json_status: bool },
    /// grpc.health.v1.Health/Check for `service` ("" = the whole server).
    GrpcHealth { service: String },
    /// Redis `PING` expecting `+PONG`.
    Redis,
    /// PostgreSQL SSLRequest expecting a single `S` or `N`.
    Postgres,
}

/// The user-facing probe names accepted in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    Tcp,
    Http,
    Health,
    Grpc,
    Metrics,
    Redis,
    Postgres,
    Nats,
    Minio,
    Prometheus,
    Grafana,
}

impl ProbeKind {
    /// The name used in manifests and in `check --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeKind::Tcp => "tcp",
            ProbeKind::Http => "http",
            ProbeKind::Health => "health",
            ProbeKind::Grpc => "grpc",
            ProbeKind::Metrics => "metrics",
            ProbeKind::Redis => "redis",
            ProbeKind::Postgres => "postgres",
            ProbeKind::Nats => "nats",
            ProbeKind::Minio => "minio",
            ProbeKind::Prometheus => "prometheus",
            ProbeKind::Grafana => "grafana",
        }
    }

    /// The protocol check behind this kind; `path` overrides the kind's default HTTP path.
    pub fn spec(self, path: Option<&str>) -> ProbeSpec {
        let http = |default: &str, json_status: bool| ProbeSpec::Http {
            path: path.unwrap_or(default).to_string(),
            json_status,
        };
        match self {
            ProbeKind::Tcp => ProbeSpec::Tcp,
            ProbeKind::Http => http("/", false),
            ProbeKind::Health => http("/health", true),
            ProbeKind::Metrics => http("/metrics", false),
            ProbeKind::Nats => http("/healthz", true),
            ProbeKind::Minio => http("/minio/health/live", false),
            ProbeKind::Prometheus => http("/-/healthy", false),
            ProbeKind::Grafana => http("/api/health", true),
            ProbeKind::Grpc => ProbeSpec::GrpcHealth {
                service: path.unwrap_or("").to_string(),
            },
            ProbeKind::Redis => ProbeSpec::Redis,
            ProbeKind::Postgres => ProbeSpec::Postgres,
        }
    }
}

/// One port of one entry, and how to check it.
#[derive(Debug, Clone)]
pub struct Target {
    pub entry: EntryId,
    /// Short role of the port: "http", "grpc", "metrics", "client", "monitor", ...
    pub label: String,
    pub host: String,
    pub port: u16,
    pub kind: ProbeKind,
    pub probe: ProbeSpec,
    /// Whether `check` requires this target to be up.
    pub required: bool,
}

/// Everything the dashboard and `check` know about the selected manifests.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
    pub targets: Vec<Target>,
}

impl Plan {
    /// Look an entry up by name.
    pub fn entry_named(&self, name: &str) -> Option<EntryId> {
        self.entries
            .iter()
            .position(|e| e.name == name)
            .map(EntryId)
    }
}
