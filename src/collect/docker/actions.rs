//! Carrying out a command: the engine calls for start, stop and restart, and the refusal fact.

use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    RestartContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};

use super::connect::{EngineAddress, within};
use super::facts::{ContainerAction, DockerCommand, DockerFact};
use super::matching::short;

/// Starts, stops or restarts container `id`; Err says what failed, in words.
pub(super) async fn act(
    docker: &Docker,
    id: &str,
    action: ContainerAction,
    timeout: Duration,
    address: &EngineAddress,
) -> Result<(), String> {
    let seconds = |d: Duration| i32::try_from(d.as_secs()).unwrap_or(i32::MAX);
    let result = match action {
        ContainerAction::Start => {
            within(
                timeout,
                address,
                docker.start_container(id, None::<StartContainerOptions>),
            )
            .await
        }
        ContainerAction::Stop { timeout: grace } => {
            let options = StopContainerOptionsBuilder::new().t(seconds(grace)).build();
            within(
                timeout + grace,
                address,
                docker.stop_container(id, Some(options)),
            )
            .await
        }
        ContainerAction::Restart { timeout: grace } => {
            let options = RestartContainerOptionsBuilder::new()
                .t(seconds(grace))
                .build();
            within(
                timeout + grace,
                address,
                docker.restart_container(id, Some(options)),
            )
            .await
        }
    };
    result.map_err(|problem| format!("{} {}: {}", action.verb(), short(id), problem.words()))
}

/// The fact telling that `command` was not carried out, and why.
pub(super) fn refused(command: DockerCommand, why: String) -> DockerFact {
    match command {
        DockerCommand::Act { entry, action, .. } => DockerFact::ActionFinished {
            entry,
            action,
            outcome: Err(why),
        },
        DockerCommand::ComposeUp { entry, up } => DockerFact::ComposeFinished {
            entry,
            up,
            outcome: Err(why),
        },
    }
}

/// `path` made absolute against the current directory, `..` and symlinks resolved when it exists.
pub(super) fn absolute(path: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}
