//! Snapshots of the Docker panel at 80×24 and 160×48: connected with every kind of row, and
//! an engine that cannot be used.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::collect::docker::{
    ContainerInfo, ContainerState, ContainerUsage, DockerFact, EngineProblem, MatchedBy,
    PublishedPort, WantedContainer,
};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn wanted(entry: usize, name: &str, file: bool) -> WantedContainer {
    WantedContainer {
        entry: EntryId(entry),
        container_name: Some(format!("anychat-{name}")),
        compose_service: Some(name.into()),
        compose_project: Some("deployments".into()),
        compose_file: file.then(|| PathBuf::from("deployments/docker-compose.yml")),
    }
}

fn info(name: &str, state: ContainerState, health: EngineHealth, port: u16) -> ContainerInfo {
    ContainerInfo {
        id: format!("{name}-id"),
        name: format!("anychat-{name}"),
        matched_by: MatchedBy::Name,
        image: format!("{name}:latest"),
        state,
        health,
        started_at: Some(SystemTime::UNIX_EPOCH),
        ports: vec![PublishedPort {
            host_ip: "127.0.0.1".into(),
            host_port: port,
            container_port: port,
            protocol: "tcp".into(),
        }],
        compose_project: Some("deployments".into()),
        compose_service: Some(name.into()),
        oom_killed: false,
        restart_count: 0,
        error: None,
    }
}

/// postgres healthy with stats, redis running but silent, nats exited, minio missing.
fn scene(t0: Instant) -> (DockerState, Vec<(EntryId, &'static str, PortVerdict)>) {
    let names = ["postgres", "redis", "nats", "minio"];
    let wanted: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| wanted(i, n, true))
        .collect();
    let mut s = DockerState::new(&wanted);
    s.apply(
        &DockerFact::Connected {
            host: "unix:///var/run/docker.sock".into(),
            engine_version: "20.10.24".into(),
            api_version: "1.41".into(),
        },
        t0,
    );
    s.apply(
        &DockerFact::ComposeProgramFound {
            program: Some(vec!["docker-compose".into()]),
        },
        t0,
    );
    let seen = |i: usize, info: ContainerInfo, up: u64| DockerFact::ContainerSeen {
        entry: EntryId(i),
        running_for: info.state.is_live().then(|| Duration::from_secs(up)),
        info,
        at: t0,
    };
    s.apply(
        &seen(
            0,
            info(
                "postgres",
                ContainerState::Running,
                EngineHealth::Healthy,
                5432,
            ),
            7200,
        ),
        t0,
    );
    s.apply(
        &seen(
            1,
            info("redis", ContainerState::Running, EngineHealth::None, 6379),
            600,
        ),
        t0,
    );
    s.apply(
        &seen(
            2,
            info("nats", ContainerState::Exited(1), EngineHealth::None, 4222),
            0,
        ),
        t0,
    );
    s.apply(
        &DockerFact::ContainerMissing {
            entry: EntryId(3),
            foreign: vec![],
        },
        t0,
    );
    let usage = ContainerUsage {
        cpu_percent: Some(3.25),
        memory_bytes: Some(48 << 20),
        memory_limit_bytes: None,
    };
    s.apply(
        &DockerFact::UsageSampled {
            entry: EntryId(0),
            container_id: "postgres-id".into(),
            usage,
            at: t0,
        },
        t0,
    );
    let verdicts = [
        PortVerdict::Up,
        PortVerdict::Down,
        PortVerdict::Down,
        PortVerdict::Down,
    ];
    let entries = names
        .iter()
        .zip(verdicts)
        .enumerate()
        .map(|(i, (n, v))| (EntryId(i), *n, v))
        .collect();
    (s, entries)
}

fn draw(panel: &ContainersPanel, (w, h): (u16, u16)) -> String {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    panel.render(buf.area, &mut buf);
    let mut text = String::new();
    for y in 0..h {
        let row: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
        text.push_str(row.trim_end());
        text.push('\n');
    }
    text
}

#[test]
fn connected_rows_with_flags_and_hints() {
    let t0 = Instant::now();
    let (docker, entries) = scene(t0);
    let panel = ContainersPanel {
        docker: &docker,
        entries,
        now: t0 + Duration::from_secs(30),
        focused: true,
        theme: Theme { color: false },
    };
    for size in SIZES {
        let text = draw(&panel, size);
        assert!(
            text.contains("running, but its port does not answer"),
            "{text}"
        );
        insta::assert_snapshot!(format!("connected_{}x{}", size.0, size.1), text);
    }
}

#[test]
fn an_unusable_engine_is_said_with_its_fix() {
    let t0 = Instant::now();
    let (mut docker, entries) = scene(t0);
    let problem = EngineProblem::PermissionDenied {
        socket: "/var/run/docker.sock".into(),
        group: Some("docker".into()),
    };
    docker.apply(
        &DockerFact::Unavailable {
            host: "unix:///var/run/docker.sock".into(),
            problem,
            retry_in: Duration::from_secs(8),
        },
        t0,
    );
    let panel = ContainersPanel {
        docker: &docker,
        entries,
        now: t0,
        focused: false,
        theme: Theme { color: false },
    };
    for size in SIZES {
        let text = draw(&panel, size);
        assert!(text.contains("fix: add yourself to group docker"), "{text}");
        insta::assert_snapshot!(format!("unavailable_{}x{}", size.0, size.1), text);
    }
}
