//! The TOML schema of a manifest file, as written by users (spans kept for error positions).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::plan::{ProbeKind, RestartPolicy};

/// One manifest file: any number of `[[service]]` and `[[infra]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    #[serde(default)]
    pub service: Vec<ServiceSpec>,
    #[serde(default)]
    pub infra: Vec<InfraSpec>,
    /// Environment of every `[[service]]` of this file (a service's own `env` wins).
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    /// `[prometheus]`: a Prometheus server as the metrics source.
    #[serde(default)]
    pub prometheus: Option<Spanned<PrometheusSpec>>,
    /// `[metrics]`: which families feed the metrics panel (`[metrics.watch]`).
    #[serde(default)]
    pub metrics: Option<MetricsSpec>,
}

/// `[metrics]`: settings of the metrics panels.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// `[metrics.watch]`: family names of the watched values (defaults for what is not given).
    #[serde(default)]
    pub watch: Option<crate::state::metrics::WatchNames>,
}

/// `[prometheus]`: the server whose targets and series feed the metrics panels.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSpec {
    /// Base URL (`http://prometheus.internal:9090`; the scheme may be left out).
    pub url: Spanned<String>,
    /// Time between two rounds ("2s" unless given).
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Per API call ("3s" unless given).
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
}

/// Group of a service whose manifest names none.
pub const DEFAULT_GROUP: &str = "other";

fn default_true() -> bool {
    true
}

fn default_health_path() -> String {
    "/health".to_string()
}

fn default_host() -> String {
    "127.0.0.1".to_string()
}

fn default_category() -> String {
    "infrastructure".to_string()
}

/// An AnyChat service: any of an HTTP port (with a health path), a gRPC port and a metrics
/// port; a service with none of them is a worker, supervised but not probed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: Spanned<String>,
    /// Defaults to [`DEFAULT_GROUP`].
    pub group: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub command: Vec<Spanned<String>>,
    pub cwd: Option<String>,
    /// Where its ports are probed; another machine makes the entry remote (never started).
    #[serde(default = "default_host")]
    pub host: String,
    pub http_port: Option<Spanned<i64>>,
    pub grpc_port: Option<Spanned<i64>>,
    pub metrics_port: Option<Spanned<i64>>,
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// gRPC service name asked by the health probe ("" = the whole server).
    #[serde(default)]
    pub grpc_health_service: String,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    #[serde(default = "default_true")]
    pub required: bool,
    #[serde(default)]
    pub restart: RestartPolicy,
    #[serde(default, with = "humantime_serde")]
    pub stop_grace: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub ready_timeout: Option<Duration>,
}

/// A piece of infrastructure (database, broker, monitoring, third party) with its probed ports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfraSpec {
    pub name: Spanned<String>,
    /// "infrastructure" (the default), "monitoring", "third-party", ...
    #[serde(default = "default_category")]
    pub category: String,
    #[serde(default)]
    pub description: String,
    /// Docker container that runs it (`anychat-postgres`, ...).
    pub container: Option<String>,
    /// How it runs: "process" (its `command`), "container" or "external"; by default a
    /// process when it has a command, else a container when it names one, else external.
    pub runs: Option<RunsSpec>,
    /// Compose file defining its container (relative to the checkout, `--root`).
    pub compose_file: Option<Spanned<String>>,
    /// Its service in the compose file (`postgres`).
    pub compose_service: Option<String>,
    /// The compose project it is started under (`deployments`).
    pub compose_project: Option<String>,
    /// Where its ports are probed; another machine makes the entry remote (never started).
    #[serde(default = "default_host")]
    pub host: String,
    pub ports: Vec<PortSpec>,
    #[serde(default = "default_true")]
    pub required: bool,
    /// Optional command (the demo runs stubs in place of the real infra).
    #[serde(default)]
    pub command: Vec<Spanned<String>>,
    pub cwd: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub restart: RestartPolicy,
    #[serde(default, with = "humantime_serde")]
    pub stop_grace: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub ready_timeout: Option<Duration>,
}

/// `runs = "..."` of an infra entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunsSpec {
    Process,
    Container,
    External,
}

/// One port of an infra entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    pub port: Spanned<i64>,
    pub probe: ProbeKind,
    /// Role of the port ("client", "monitor", "console", ...); defaults to the probe name.
    pub label: Option<String>,
    /// Overrides the probe's default HTTP path (or gRPC service name).
    pub path: Option<String>,
    /// Defaults to the entry's `required`.
    pub required: Option<bool>,
}
