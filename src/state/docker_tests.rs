//! Tests of the Docker sub-state: facts in, rows, flags, words and commands out.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::collect::docker::{ContainerState, DockerCommand};

const SEC: Duration = Duration::from_secs(1);

fn wanted(entry: usize, name: &str, compose: bool) -> WantedContainer {
    WantedContainer {
        entry: EntryId(entry),
        container_name: Some(name.into()),
        compose_service: compose.then(|| name.trim_start_matches("anychat-").into()),
        compose_project: compose.then(|| "deployments".into()),
        compose_file: compose.then(|| PathBuf::from("deployments/docker-compose.yml")),
    }
}

fn info(id: &str, state: ContainerState, health: EngineHealth) -> ContainerInfo {
    ContainerInfo {
        id: id.into(),
        name: "anychat-redis".into(),
        matched_by: MatchedBy::Name,
        image: "redis:7".into(),
        state,
        health,
        started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        ports: vec![PublishedPort {
            host_ip: "127.0.0.1".into(),
            host_port: 6379,
            container_port: 6379,
            protocol: "tcp".into(),
        }],
        compose_project: None,
        compose_service: None,
        oom_killed: false,
        restart_count: 0,
        error: None,
    }
}

fn connected() -> DockerFact {
    DockerFact::Connected {
        host: "unix:///var/run/docker.sock".into(),
        engine_version: "20.10.24".into(),
        api_version: "1.41".into(),
    }
}

fn seen(
    id: &str,
    state: ContainerState,
    health: EngineHealth,
    up: Duration,
    at: Instant,
) -> DockerFact {
    DockerFact::ContainerSeen {
        entry: EntryId(0),
        info: info(id, state, health),
        running_for: state.is_live().then_some(up),
        at,
    }
}

fn state_with(fact: DockerFact, t0: Instant) -> DockerState {
    let mut s = DockerState::new(&[wanted(0, "anychat-redis", true)]);
    assert!(s.apply(&connected(), t0));
    assert!(s.apply(&fact, t0));
    s
}

#[test]
fn a_running_container_has_uptime_ports_and_usage() {
    let t0 = Instant::now();
    let mut s = state_with(
        seen(
            "c1",
            ContainerState::Running,
            EngineHealth::Healthy,
            30 * SEC,
            t0,
        ),
        t0,
    );
    let usage = ContainerUsage {
        cpu_percent: Some(12.5),
        memory_bytes: Some(8 << 20),
        memory_limit_bytes: None,
    };
    let sample = |id: &str| DockerFact::UsageSampled {
        entry: EntryId(0),
        container_id: id.into(),
        usage,
        at: t0,
    };
    assert!(
        !s.apply(&sample("someone-else"), t0),
        "another container's stats are not ours"
    );
    assert!(s.apply(&sample("c1"), t0));
    assert!(
        !s.apply(&sample("c1"), t0),
        "the same figures change nothing"
    );
    let row = s
        .row(EntryId(0), PortVerdict::Up, t0 + 5 * SEC)
        .expect("a container entry");
    assert_eq!(row.state, "running");
    assert_eq!(row.health, Some(EngineHealth::Healthy));
    assert_eq!(row.uptime, Some(35 * SEC));
    assert_eq!(
        (row.cpu_percent, row.memory_bytes),
        (Some(12.5), Some(8 << 20))
    );
    assert_eq!(row.ports[0].host_port, 6379);
    assert!(row.flags.is_empty());
    assert_eq!(s.row(EntryId(9), PortVerdict::Up, t0), None);
    // It stops: no uptime, no usage.
    assert!(s.apply(
        &seen(
            "c1",
            ContainerState::Exited(3),
            EngineHealth::Unhealthy,
            SEC,
            t0
        ),
        t0
    ));
    let row = s
        .row(EntryId(0), PortVerdict::Down, t0 + 5 * SEC)
        .expect("a container entry");
    assert_eq!(
        (row.state.as_str(), row.uptime, row.cpu_percent),
        ("exited (3)", None, None)
    );
    assert!(
        row.flags.is_empty(),
        "a stopped container is not expected to answer"
    );
}

#[test]
fn flags_set_the_engine_against_our_probe() {
    let t0 = Instant::now();
    let flags = |state, health, up, probe| {
        let s = state_with(seen("c1", state, health, up, t0), t0);
        s.row(EntryId(0), probe, t0)
            .expect("a container entry")
            .flags
    };
    let run = ContainerState::Running;
    let silent = vec![DockerFlag::RunningPortSilent];
    let healthy_failing = vec![DockerFlag::HealthyButProbeFails];
    assert_eq!(
        flags(run, EngineHealth::None, 60 * SEC, PortVerdict::Down),
        silent
    );
    assert_eq!(
        flags(run, EngineHealth::None, SEC, PortVerdict::Down),
        vec![],
        "within the grace period"
    );
    assert_eq!(
        flags(run, EngineHealth::Starting, 60 * SEC, PortVerdict::Down),
        vec![]
    );
    assert_eq!(
        flags(run, EngineHealth::Healthy, 60 * SEC, PortVerdict::Down),
        healthy_failing
    );
    assert_eq!(
        flags(run, EngineHealth::Healthy, SEC, PortVerdict::Unhealthy),
        healthy_failing
    );
    assert_eq!(
        flags(run, EngineHealth::Healthy, 60 * SEC, PortVerdict::Up),
        vec![]
    );
    assert_eq!(
        flags(run, EngineHealth::None, 60 * SEC, PortVerdict::Unknown),
        vec![]
    );
    assert_eq!(
        flags(
            ContainerState::Paused,
            EngineHealth::None,
            60 * SEC,
            PortVerdict::Down
        ),
        vec![]
    );
    assert_eq!(
        DockerFlag::RunningPortSilent.words(),
        "running, but its port does not answer"
    );
}

#[test]
fn probe_verdict_is_the_worst_known_state() {
    use ProbeState::*;
    assert_eq!(
        PortVerdict::from_states([Pending, Pending]),
        PortVerdict::Unknown
    );
    assert_eq!(
        PortVerdict::from_states([Up, NoHealthService, Pending]),
        PortVerdict::Up
    );
    assert_eq!(
        PortVerdict::from_states([Up, Unhealthy]),
        PortVerdict::Unhealthy
    );
    assert_eq!(
        PortVerdict::from_states([Down, Unhealthy, Up]),
        PortVerdict::Down
    );
    assert_eq!(PortVerdict::from_states([]), PortVerdict::Unknown);
}

#[test]
fn keys_act_on_the_matched_container_only() {
    let t0 = Instant::now();
    let s = state_with(
        seen("c1", ContainerState::Running, EngineHealth::None, SEC, t0),
        t0,
    );
    let stop = ContainerAction::Stop { timeout: 5 * SEC };
    assert_eq!(
        s.command(EntryId(0), stop),
        Ok(DockerCommand::Act {
            entry: EntryId(0),
            container_id: "c1".into(),
            action: stop
        })
    );
    assert_eq!(s.compose_offer(EntryId(0)), None, "it exists");
    assert!(s.command(EntryId(3), stop).is_err());
}

#[test]
fn a_missing_container_is_offered_its_compose_up() {
    let t0 = Instant::now();
    let missing = DockerFact::ContainerMissing {
        entry: EntryId(0),
        foreign: vec!["shop_redis_1".into()],
    };
    let mut s = state_with(missing, t0);
    // No compose program known yet: says how to create it by hand.
    let row = s
        .row(EntryId(0), PortVerdict::Down, t0)
        .expect("a container entry");
    assert_eq!(
        (row.name.as_str(), row.state.as_str()),
        ("anychat-redis", "missing")
    );
    let hint = row.hint.expect("a hint");
    assert!(
        hint.contains("shop_redis_1") && hint.contains("left alone"),
        "{hint}"
    );
    assert!(
        hint.contains("docker-compose -f deployments/docker-compose.yml up -d"),
        "{hint}"
    );
    assert!(s.command(EntryId(0), ContainerAction::Start).is_err());
    let program = Some(vec!["docker".to_string(), "compose".to_string()]);
    assert!(s.apply(&DockerFact::ComposeProgramFound { program }, t0));
    let up = s
        .compose_offer(EntryId(0))
        .expect("file, service and program known");
    assert_eq!(
        up.display(),
        "docker compose -f deployments/docker-compose.yml -p deployments up -d redis"
    );
    assert_eq!(
        s.command(EntryId(0), ContainerAction::Start),
        Ok(DockerCommand::ComposeUp {
            entry: EntryId(0),
            up: up.clone()
        })
    );
    let stop = s.command(EntryId(0), ContainerAction::Stop { timeout: SEC });
    assert!(stop.is_err_and(|why| why.contains("no container anychat-redis")));
    let failed = DockerFact::ComposeFinished {
        entry: EntryId(0),
        up,
        outcome: Err("exit status: 1: no such image".into()),
    };
    assert!(s.apply(&failed, t0));
    let hint = s
        .row(EntryId(0), PortVerdict::Down, t0)
        .and_then(|r| r.hint)
        .expect("a hint");
    assert!(hint.contains("no such image"), "{hint}");
}

#[test]
fn without_a_compose_file_the_hint_says_how_to_create_it() {
    let t0 = Instant::now();
    let mut s = DockerState::new(&[wanted(0, "anychat-minio", false)]);
    s.apply(&connected(), t0);
    s.apply(
        &DockerFact::ContainerMissing {
            entry: EntryId(0),
            foreign: vec![],
        },
        t0,
    );
    let hint = s
        .row(EntryId(0), PortVerdict::Down, t0)
        .and_then(|r| r.hint)
        .expect("a hint");
    assert!(
        hint.starts_with("no container anychat-minio: create it"),
        "{hint}"
    );
    assert_eq!(s.compose_offer(EntryId(0)), None);
}

#[test]
fn an_unavailable_engine_is_said_with_its_fix_and_rows_turn_unknown() {
    let t0 = Instant::now();
    let mut s = state_with(
        seen(
            "c1",
            ContainerState::Running,
            EngineHealth::Healthy,
            SEC,
            t0,
        ),
        t0,
    );
    let problem = EngineProblem::PermissionDenied {
        socket: "/var/run/docker.sock".into(),
        group: Some("docker".into()),
    };
    let down = DockerFact::Unavailable {
        host: "unix:///var/run/docker.sock".into(),
        problem,
        retry_in: 4 * SEC,
    };
    assert!(s.apply(&down, t0));
    assert!(
        !s.apply(&down, t0),
        "the same problem again changes nothing visible"
    );
    let (words, fix) = s.connection_words(t0 + SEC);
    assert_eq!(
        words,
        "permission denied on /var/run/docker.sock; retrying in 3s"
    );
    assert_eq!(
        fix.as_deref(),
        Some("add yourself to group docker (sudo usermod -aG docker $USER), then log in again")
    );
    let row = s
        .row(EntryId(0), PortVerdict::Down, t0)
        .expect("a container entry");
    assert_eq!(row.state, "unknown");
    assert!(row.flags.is_empty());
    assert!(s.command(EntryId(0), ContainerAction::Start).is_err());
    assert_eq!(s.check(EntryId(0), t0).map(|c| c.engine_health), Some(None));
    // Back: the entry is looked for again.
    assert!(s.apply(&connected(), t0));
    assert_eq!(
        s.row(EntryId(0), PortVerdict::Up, t0).map(|r| r.state),
        Some("looking".into())
    );
    assert_eq!(
        s.connection_words(t0).0,
        "Docker 20.10.24 (API 1.41) at unix:///var/run/docker.sock"
    );
}

#[test]
fn check_fields_and_published_ports() {
    let t0 = Instant::now();
    let s = state_with(
        seen(
            "c1",
            ContainerState::Running,
            EngineHealth::Unhealthy,
            SEC,
            t0,
        ),
        t0,
    );
    let check = s.check(EntryId(0), t0).expect("a container entry");
    let json = serde_json::to_string(&check).expect("serialisable");
    assert_eq!(
        json,
        r#"{"container":"anychat-redis","state":"running","engine_health":"unhealthy"}"#
    );
    let published = s.published();
    assert_eq!(published.len(), 1);
    assert_eq!(
        (
            published[0].0,
            published[0].1.as_str(),
            published[0].2.host_port
        ),
        (EntryId(0), "anychat-redis", 6379)
    );
}

#[test]
fn failed_actions_are_shown() {
    let t0 = Instant::now();
    let mut s = state_with(
        seen("c1", ContainerState::Exited(1), EngineHealth::None, SEC, t0),
        t0,
    );
    let fact = DockerFact::ActionFinished {
        entry: EntryId(0),
        action: ContainerAction::Start,
        outcome: Err("start c1: port is already allocated".into()),
    };
    assert!(s.apply(&fact, t0));
    let hint = s
        .row(EntryId(0), PortVerdict::Down, t0)
        .and_then(|r| r.hint);
    assert_eq!(
        hint.as_deref(),
        Some("start failed: start c1: port is already allocated")
    );
}

#[test]
fn a_missing_container_whose_port_answers_is_flagged() {
    let t0 = Instant::now();
    let mut s = DockerState::new(&[wanted(0, "anychat-redis", false)]);
    s.apply(&connected(), t0);
    s.apply(
        &DockerFact::ContainerMissing {
            entry: EntryId(0),
            foreign: vec![],
        },
        t0,
    );
    let row = s.row(EntryId(0), PortVerdict::Up, t0).unwrap();
    assert_eq!(row.state, "missing");
    assert_eq!(row.flags, [DockerFlag::PortAnswersWithoutContainer]);
    let row = s.row(EntryId(0), PortVerdict::Down, t0).unwrap();
    assert!(row.flags.is_empty());
}
