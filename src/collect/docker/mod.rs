//! The Docker collector and controller: a worker that finds each infra entry's container
//! (by name or compose labels), follows its state, health, stats and logs through the
//! engine's event stream, and starts, stops and restarts it on command.
//!
//! Facts go out on an `mpsc::Sender<DockerFact>`, commands come in on an
//! `mpsc::Receiver<DockerCommand>`; the worker never blocks its caller, reconnects with a
//! backoff when the engine goes away, and ends when the facts receiver is dropped.

mod actions;
mod compose;
mod connect;
mod decode;
mod facts;
mod matching;
mod session;
mod snapshot;
mod streams;
mod worker;

use std::time::Duration;

use tokio::sync::mpsc;

pub use compose::compose_up;
pub use connect::{DEFAULT_HOST, EngineAddress, group_name};
pub use decode::{EventKind, classify_event, container_info, parse_time, published_ports, usage};
pub use facts::{
    ComposeUp, ContainerAction, ContainerInfo, ContainerState, ContainerUsage, DockerCommand,
    DockerFact, EngineHealth, EngineProblem, MatchedBy, PublishedPort, WantedContainer,
};
pub use matching::{Candidate, Match, match_all, short};
pub use snapshot::{snapshot, wanted_from_plan};
pub use streams::LogFrames;

/// How the worker reaches the engine and paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerConfig {
    /// `DOCKER_HOST`-style address; None = the default socket.
    pub host: Option<String>,
    /// Limit of every request (list, inspect, ping, start; a stop adds its grace period).
    pub request_timeout: Duration,
    /// First delay before reconnecting; doubles up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Time between two pings of a connected engine (an engine that hangs is noticed).
    pub keepalive: Duration,
    /// Lines of a container's past output sent when its logs are first followed.
    pub log_tail: usize,
    /// Limit of a compose `up`.
    pub compose_timeout: Duration,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            host: None,
            request_timeout: Duration::from_secs(3),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            keepalive: Duration::from_secs(5),
            log_tail: 200,
            compose_timeout: Duration::from_secs(300),
        }
    }
}

impl DockerConfig {
    /// The defaults, with `DOCKER_HOST` from the environment.
    pub fn from_env() -> Self {
        DockerConfig {
            host: std::env::var("DOCKER_HOST").ok(),
            ..DockerConfig::default()
        }
    }
}

/// Runs the worker for `wanted` until `facts` is closed (see the module doc).
pub async fn run(
    config: DockerConfig,
    wanted: Vec<WantedContainer>,
    commands: mpsc::Receiver<DockerCommand>,
    facts: mpsc::Sender<DockerFact>,
) {
    worker::Worker::new(config, wanted, commands, facts)
        .run()
        .await;
}
