//! The Docker worker and the /proc sampler as collectors of the loop: their facts become
//! [`Update`]s on the loop's channel; nothing here blocks the loop.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::collect::docker::{self, DockerCommand, DockerConfig, wanted_from_plan};
use crate::collect::proc_usage::watch_proc_usage;
use crate::message::Update;
use crate::plan::{EntryId, Plan};

/// Commands queued for the Docker worker before the UI reports it as behind.
const DOCKER_COMMANDS: usize = 64;
/// How often our process groups' CPU and memory are sampled.
pub const PROC_USAGE_INTERVAL: Duration = Duration::from_secs(2);

/// Spawns the Docker worker (with `DOCKER_HOST` from the environment) when the plan has
/// container entries; returns where its commands go.
pub fn spawn_docker(
    plan: &Plan,
    tasks: &mut JoinSet<()>,
    updates: mpsc::Sender<Update>,
) -> Option<mpsc::Sender<DockerCommand>> {
    spawn_docker_with(plan, DockerConfig::from_env(), tasks, updates)
}

/// [`spawn_docker`] with a given configuration.
pub fn spawn_docker_with(
    plan: &Plan,
    config: DockerConfig,
    tasks: &mut JoinSet<()>,
    updates: mpsc::Sender<Update>,
) -> Option<mpsc::Sender<DockerCommand>> {
    let wanted = wanted_from_plan(plan);
    if wanted.is_empty() {
        return None;
    }
    let (commands, commands_rx) = mpsc::channel(DOCKER_COMMANDS);
    let (facts, mut facts_rx) = mpsc::channel(256);
    tasks.spawn(docker::run(config, wanted, commands_rx, facts));
    // The worker ends when this forwarder drops its receiver (the loop is gone).
    tasks.spawn(async move {
        while let Some(fact) = facts_rx.recv().await {
            if updates.send(Update::Docker(Box::new(fact))).await.is_err() {
                break;
            }
        }
    });
    Some(commands)
}

/// Spawns the sampler of our process groups; the loop keeps the returned list current.
pub fn spawn_proc_usage(
    tasks: &mut JoinSet<()>,
    updates: mpsc::Sender<Update>,
) -> watch::Sender<Vec<(EntryId, i32)>> {
    let (groups, groups_rx) = watch::channel(Vec::new());
    let (tx, mut rx) = mpsc::channel(4);
    tasks.spawn(watch_proc_usage(groups_rx, PROC_USAGE_INTERVAL, tx));
    tasks.spawn(async move {
        while let Some(sampled) = rx.recv().await {
            if updates.send(Update::ProcUsage(sampled)).await.is_err() {
                break;
            }
        }
    });
    groups
}
