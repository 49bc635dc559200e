//! `DOCKER_HOST` at a missing socket, at a socket nobody listens on, and at a socket that
//! accepts and never answers: reported in words within the timeout, retried, commands refused,
//! no panic and no hang.

use std::time::Duration;

use anychat_top::collect::docker::{
    ContainerAction, DockerCommand, DockerFact, EngineProblem, WantedContainer,
};
use anychat_top::plan::EntryId;

use crate::support::{Worker, quick_config};

fn wanted() -> Vec<WantedContainer> {
    vec![WantedContainer {
        entry: EntryId(0),
        container_name: Some("anychat-redis".into()),
        compose_service: None,
        compose_project: None,
        compose_file: None,
    }]
}

/// Starts a worker on `host`, expects two `Unavailable` facts (it retries) with the problem
/// `check` accepts, and a command refused meanwhile.
async fn unavailable(host: String, check: impl Fn(&EngineProblem) -> bool) -> EngineProblem {
    let config = quick_config(Some(host));
    let mut worker = Worker::start(config, wanted());
    let wait = Duration::from_secs(10);
    let first = worker
        .wait_for(wait, "Unavailable", |f| match f {
            DockerFact::Unavailable { problem, .. } => Some(problem.clone()),
            _ => None,
        })
        .await;
    assert!(check(&first), "{first:?}");
    worker
        .send(DockerCommand::Act {
            entry: EntryId(0),
            container_id: "abc".into(),
            action: ContainerAction::Start,
        })
        .await;
    let refusal = worker
        .wait_for(wait, "the command refused", |f| match f {
            DockerFact::ActionFinished {
                outcome: Err(why), ..
            } => Some(why.clone()),
            _ => None,
        })
        .await;
    assert_eq!(refusal, "the Docker engine is not available");
    let (again, retry_in) = worker
        .wait_for(wait, "a second attempt", |f| match f {
            DockerFact::Unavailable {
                problem, retry_in, ..
            } => Some((problem.clone(), *retry_in)),
            _ => None,
        })
        .await;
    assert_eq!(again, first);
    assert!(
        retry_in > Duration::from_millis(200),
        "the backoff grows: {retry_in:?}"
    );
    first
}

#[tokio::test]
async fn a_missing_socket_says_docker_is_not_there() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let socket = dir.path().join("docker.sock");
    let problem = unavailable(format!("unix://{}", socket.display()), |p| {
        matches!(p, EngineProblem::NoSocket { .. })
    })
    .await;
    assert!(
        problem.words().contains("does not exist"),
        "{}",
        problem.words()
    );
    assert!(problem.fix().is_some_and(|f| f.contains("DOCKER_HOST")));
}

#[tokio::test]
async fn a_socket_nobody_listens_on_says_the_engine_is_not_running() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let socket = dir.path().join("docker.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
    let problem = unavailable(format!("unix://{}", socket.display()), |p| {
        matches!(p, EngineProblem::Refused { .. })
    })
    .await;
    assert!(
        problem.words().starts_with("Docker engine not running"),
        "{}",
        problem.words()
    );
}

#[tokio::test]
async fn a_socket_that_never_answers_times_out_in_words() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let socket = dir.path().join("docker.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    // Accept and hold every connection, never writing a byte.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let problem = unavailable(format!("unix://{}", socket.display()), |p| {
        matches!(p, EngineProblem::NotAnswering { .. })
    })
    .await;
    assert!(
        problem.words().contains("not answering") && problem.words().contains("1s 500ms"),
        "{}",
        problem.words()
    );
    holder.abort();
}

#[tokio::test]
async fn an_unsupported_docker_host_is_named() {
    let problem = unavailable("ssh://me@build-box".into(), |p| {
        matches!(p, EngineProblem::UnsupportedHost { .. })
    })
    .await;
    assert_eq!(
        problem.words(),
        "DOCKER_HOST=ssh://me@build-box is not supported by this build"
    );
}

#[tokio::test]
async fn the_worker_ends_when_its_facts_receiver_is_dropped() {
    let (fact_tx, facts) = tokio::sync::mpsc::channel(4);
    let (_commands, command_rx) = tokio::sync::mpsc::channel(4);
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = quick_config(Some(format!(
        "unix://{}",
        dir.path().join("none.sock").display()
    )));
    let task = tokio::spawn(anychat_top::collect::docker::run(
        config,
        wanted(),
        command_rx,
        fact_tx,
    ));
    drop(facts);
    let ended = tokio::time::timeout(Duration::from_secs(10), task).await;
    assert!(matches!(ended, Ok(Ok(()))), "{ended:?}");
}
