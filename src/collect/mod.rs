//! Collectors: probes and scrapers that observe the world and emit [`crate::message::Update`]s.

mod distinct;
mod grpc_health;
mod http;
mod postgres;
mod prober;
mod reason;
mod redis;
mod sweep;
mod tcp;
mod watch;

pub mod docker;
pub mod docker_task;
pub mod live_metrics;
pub mod nats;
pub mod port_scan;
pub mod ports_task;
pub mod proc_usage;
pub mod prometheus_api;
pub mod scrape;
pub mod self_usage;
pub mod sockets;
pub mod trouble;
pub use distinct::{DistinctTargets, sweep_plan};
pub use prober::{DEFAULT_PROBE_TIMEOUT, ProbeConfig, Prober, http_client, probers};
pub use sweep::sweep;
pub use watch::{ProbeWakeups, SOON, spawn_watchers, spawn_watchers_with_wakeups};
