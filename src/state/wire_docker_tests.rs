//! Reducer tests of the Docker wiring: facts from the worker in, alerts, logs, keys turned
//! into Docker commands, compose behind a confirmation, start-all and stop-all with containers.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::action::Action;
use crate::collect::docker::{
    ComposeUp, ContainerAction, ContainerInfo, ContainerState, ContainerUsage, DockerCommand,
    DockerFact, EngineHealth, EngineProblem, MatchedBy, PublishedPort,
};
use crate::collect::proc_usage::{GroupUsage, ProcUsageSampled};
use crate::health::ProbeState;
use crate::message::{Command, LogLine, Stream, Update};
use crate::plan::EntryId;
use crate::state::procs_tests::anychat_state;
use crate::state::tests::checked;
use crate::state::{Mode, Severity, State};

fn id(s: &State, name: &str) -> EntryId {
    s.plan.entry_named(name).unwrap()
}

fn docker(s: &mut State, fact: DockerFact) -> bool {
    s.apply(Update::Docker(Box::new(fact)))
}

fn connect(s: &mut State) {
    docker(
        s,
        DockerFact::Connected {
            host: "unix:///var/run/docker.sock".into(),
            engine_version: "20.10.24".into(),
            api_version: "1.41".into(),
        },
    );
}

fn info(name: &str, state: ContainerState, health: EngineHealth, port: u16) -> ContainerInfo {
    ContainerInfo {
        id: format!("id-{name}"),
        name: name.into(),
        matched_by: MatchedBy::Name,
        image: "img".into(),
        state,
        health,
        started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        ports: vec![PublishedPort {
            host_ip: "0.0.0.0".into(),
            host_port: port,
            container_port: port,
            protocol: "tcp".into(),
        }],
        compose_project: Some("deployments".into()),
        compose_service: None,
        oom_killed: false,
        restart_count: 0,
        error: None,
    }
}

/// The engine reports the entry's container (`anychat-<entry>`).
fn seen(s: &mut State, entry: &str, state: ContainerState, health: EngineHealth) -> bool {
    let e = id(s, entry);
    let port = s.plan.targets[s.plan.entries[e.0].targets[0].0].port;
    let at = s.now;
    docker(
        s,
        DockerFact::ContainerSeen {
            entry: e,
            info: info(&format!("anychat-{entry}"), state, health, port),
            running_for: state.is_live().then_some(Duration::from_secs(30)),
            at,
        },
    )
}

fn docker_commands(cmds: &[Command]) -> Vec<DockerCommand> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Docker(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn acts(cmds: &[Command]) -> Vec<(EntryId, &'static str)> {
    docker_commands(cmds)
        .into_iter()
        .filter_map(|c| match c {
            DockerCommand::Act { entry, action, .. } => Some((entry, action.verb())),
            DockerCommand::ComposeUp { .. } => None,
        })
        .collect()
}

fn last_alert(s: &State) -> (Severity, String) {
    let a = s.alerts.back().expect("an alert");
    (a.severity, a.text.clone())
}

#[test]
fn keys_on_a_container_row_start_stop_and_restart_its_container() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    connect(&mut s);
    seen(
        &mut s,
        "redis",
        ContainerState::Running,
        EngineHealth::Healthy,
    );
    let redis = id(&s, "redis");
    s.ui.selected = Some(redis);
    let cmds = s.handle(Action::Stop);
    let grace = s.plan.entries[redis.0].stop_grace;
    assert_eq!(
        docker_commands(&cmds),
        [DockerCommand::Act {
            entry: redis,
            container_id: "id-anychat-redis".into(),
            action: ContainerAction::Stop { timeout: grace },
        }]
    );
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::Stop { .. })),
        "a container is never stopped as a process: {cmds:?}"
    );
    let cmds = s.handle(Action::Restart);
    assert_eq!(acts(&cmds), [(redis, "restart")]);
    // Start of a running container asks the engine all the same (it says so if it runs).
    let cmds = s.handle(Action::Start);
    assert_eq!(acts(&cmds), [(redis, "start")]);
    // A failure comes back as an alert and the row's hint.
    docker(
        &mut s,
        DockerFact::ActionFinished {
            entry: redis,
            action: ContainerAction::Start,
            outcome: Err("port is already allocated".into()),
        },
    );
    let (severity, text) = last_alert(&s);
    assert_eq!(severity, Severity::Error);
    assert!(text.contains("redis: start of its container failed: port is already allocated"));
}

#[test]
fn a_missing_container_is_created_with_compose_only_after_yes() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    connect(&mut s);
    docker(
        &mut s,
        DockerFact::ComposeProgramFound {
            program: Some(vec!["docker-compose".into()]),
        },
    );
    let redis = id(&s, "redis");
    docker(
        &mut s,
        DockerFact::ContainerMissing {
            entry: redis,
            foreign: vec![],
        },
    );
    s.ui.selected = Some(redis);
    assert!(
        s.handle(Action::Start).is_empty(),
        "nothing runs before yes"
    );
    assert_eq!(s.ui.mode, Mode::ConfirmCompose);
    let (_, up) = s.compose_offer.clone().unwrap();
    let argv = up.display();
    assert!(argv.starts_with("docker-compose -f "), "{argv}");
    assert!(argv.ends_with("up -d redis"), "{argv}");
    // The question fits an 80-column status bar; the whole command is in the alert.
    let question = crate::view::panels::container_rows::compose_question(&s);
    assert_eq!(
        question,
        "Create redis: docker-compose ... up -d redis? y/n "
    );
    assert!(last_alert(&s).1.ends_with(&argv), "{:?}", last_alert(&s));
    // No: nothing.
    assert!(s.handle(Action::Confirm(false)).is_empty());
    assert_eq!(s.ui.mode, Mode::Normal);
    // Yes: the compose command goes to the worker.
    s.handle(Action::Start);
    let cmds = s.handle(Action::Confirm(true));
    assert_eq!(
        docker_commands(&cmds),
        [DockerCommand::ComposeUp {
            entry: redis,
            up: up.clone()
        }]
    );
    docker(
        &mut s,
        DockerFact::ComposeFinished {
            entry: redis,
            up: ComposeUp { argv: up.argv },
            outcome: Err("exit status 1: no such service: redis".into()),
        },
    );
    assert_eq!(last_alert(&s).0, Severity::Error);
    // Without a compose file the key says how to create it.
    let jaeger = id(&s, "jaeger");
    docker(
        &mut s,
        DockerFact::ContainerMissing {
            entry: jaeger,
            foreign: vec![],
        },
    );
    s.ui.selected = Some(jaeger);
    assert!(s.handle(Action::Start).is_empty());
    assert_eq!(s.ui.mode, Mode::Normal);
    let (_, text) = last_alert(&s);
    assert!(text.contains("no container anychat-jaeger"), "{text}");
    assert!(text.contains("docker run --name"), "{text}");
}

#[test]
fn engine_trouble_is_said_once_with_the_fix_and_the_reconnection_too() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    let problem = EngineProblem::PermissionDenied {
        socket: PathBuf::from("/var/run/docker.sock"),
        group: Some("docker".into()),
    };
    let unavailable = DockerFact::Unavailable {
        host: "unix:///var/run/docker.sock".into(),
        problem,
        retry_in: Duration::from_secs(1),
    };
    assert!(docker(&mut s, unavailable.clone()));
    let (severity, text) = last_alert(&s);
    assert_eq!(severity, Severity::Error);
    assert!(
        text.contains("permission denied on /var/run/docker.sock")
            && text.contains("sudo usermod -aG docker"),
        "{text}"
    );
    let alerts = s.alerts.len();
    docker(&mut s, unavailable);
    assert_eq!(s.alerts.len(), alerts, "the same trouble is not repeated");
    // Keys on a container row say why nothing happens; the services' keys still work.
    s.ui.selected = Some(id(&s, "postgres"));
    assert!(s.handle(Action::Start).is_empty());
    assert!(last_alert(&s).1.contains("permission denied"));
    s.ui.selected = Some(id(&s, "auth-service"));
    let cmds = s.handle(Action::Start);
    assert!(matches!(cmds[..], [Command::Start { .. }]), "{cmds:?}");
    connect(&mut s);
    assert!(last_alert(&s).1.starts_with("connected: Docker 20.10.24"));
}

#[test]
fn container_changes_are_alerts_and_a_container_coming_up_is_probed_soon() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    connect(&mut s);
    assert!(seen(
        &mut s,
        "postgres",
        ContainerState::Exited(0),
        EngineHealth::None
    ));
    let alerts = s.alerts.len();
    s.take_commands();
    assert!(seen(
        &mut s,
        "postgres",
        ContainerState::Running,
        EngineHealth::Starting
    ));
    assert_eq!(s.alerts.len(), alerts + 1);
    assert_eq!(
        last_alert(&s),
        (
            Severity::Info,
            "postgres: container anychat-postgres running (starting)".into()
        )
    );
    let cmds = s.take_commands();
    assert!(
        cmds.iter().any(|c| matches!(c, Command::ProbeSoon { .. })),
        "{cmds:?}"
    );
    seen(
        &mut s,
        "postgres",
        ContainerState::Running,
        EngineHealth::Healthy,
    );
    assert_eq!(last_alert(&s).0, Severity::Info);
    seen(
        &mut s,
        "postgres",
        ContainerState::Exited(137),
        EngineHealth::None,
    );
    assert!(last_alert(&s).1.ends_with("exited (137)"));
}

#[test]
fn container_logs_go_to_the_logs_panel_of_the_entry() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    let redis = id(&s, "redis");
    s.ui.selected = Some(redis);
    let lines = vec![LogLine {
        stream: Stream::Stderr,
        text: "Ready to accept connections".into(),
        truncated: false,
    }];
    assert!(docker(
        &mut s,
        DockerFact::LogLines {
            entry: redis,
            container_id: "id-anychat-redis".into(),
            lines,
        }
    ));
    assert_eq!(s.logs.last_lines(redis, 1), ["Ready to accept connections"]);
}

#[test]
fn start_all_brings_infra_up_first_and_waits_for_engine_health() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    connect(&mut s);
    for infra in ["postgres", "redis", "nats", "minio", "livekit"] {
        seen(&mut s, infra, ContainerState::Exited(0), EngineHealth::None);
    }
    for infra in ["prometheus", "grafana", "jaeger"] {
        let e = id(&s, infra);
        docker(
            &mut s,
            DockerFact::ContainerMissing {
                entry: e,
                foreign: vec![],
            },
        );
    }
    s.take_commands();
    let cmds = s.handle(Action::StartAll);
    let started: Vec<EntryId> = acts(&cmds).into_iter().map(|(e, _)| e).collect();
    for infra in ["postgres", "redis", "nats", "minio", "livekit"] {
        assert!(started.contains(&id(&s, infra)), "{infra}: {cmds:?}");
    }
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Command::Start { entry } if *entry == id(&s, "user-service"))),
        "services wait for their infra: {cmds:?}"
    );
    // The containers run and our probes answer, but postgres's health check still starts.
    let at = t0 + Duration::from_secs(2);
    s.apply(Update::Tick { at });
    for infra in ["postgres", "redis", "nats", "minio"] {
        seen(
            &mut s,
            infra,
            ContainerState::Running,
            if infra == "postgres" {
                EngineHealth::Starting
            } else {
                EngineHealth::None
            },
        );
        let labels: Vec<String> = s.plan.entries[id(&s, infra).0]
            .targets
            .iter()
            .map(|t| s.plan.targets[t.0].label.clone())
            .collect();
        for l in labels {
            checked(&mut s, infra, &l, ProbeState::Up, at);
        }
    }
    let waiting = s.take_commands();
    assert!(
        !waiting
            .iter()
            .any(|c| matches!(c, Command::Start { entry } if *entry == id(&s, "user-service"))),
        "user-service waits for postgres's engine health: {waiting:?}"
    );
    seen(
        &mut s,
        "postgres",
        ContainerState::Running,
        EngineHealth::Healthy,
    );
    let cmds = s.take_commands();
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::Start { entry } if *entry == id(&s, "user-service"))),
        "healthy by the engine and our probes: services start: {cmds:?}"
    );
}

#[test]
fn stop_all_stops_services_first_and_infra_last() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    connect(&mut s);
    seen(
        &mut s,
        "redis",
        ContainerState::Running,
        EngineHealth::Healthy,
    );
    let auth = id(&s, "auth-service");
    s.apply(Update::ProcessStarted {
        entry: auth,
        pid: 4242,
        at: t0,
    });
    s.take_commands();
    s.handle(Action::StopAll);
    let cmds = s.handle(Action::Confirm(true));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::Stop { entry, .. } if *entry == auth))
    );
    assert!(
        acts(&cmds).is_empty(),
        "infra waits for the services: {cmds:?}"
    );
    s.apply(Update::ProcessExited {
        entry: auth,
        pid: 4242,
        exit: crate::message::ExitReason::Signal(15),
        at: t0 + Duration::from_secs(1),
    });
    let cmds = s.take_commands();
    assert_eq!(acts(&cmds), [(id(&s, "redis"), "stop")], "{cmds:?}");
}

#[test]
fn usage_reads_alike_for_containers_and_processes_and_ports_name_their_container() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    connect(&mut s);
    seen(
        &mut s,
        "redis",
        ContainerState::Running,
        EngineHealth::Healthy,
    );
    let redis = id(&s, "redis");
    docker(
        &mut s,
        DockerFact::UsageSampled {
            entry: redis,
            container_id: "id-anychat-redis".into(),
            usage: ContainerUsage {
                cpu_percent: Some(1.5),
                memory_bytes: Some(8 << 20),
                memory_limit_bytes: None,
            },
            at: t0,
        },
    );
    assert_eq!(s.usage(redis), Some((Some(1.5), Some(8 << 20))));
    let auth = id(&s, "auth-service");
    assert_eq!(s.usage(auth), None);
    s.apply(Update::ProcessStarted {
        entry: auth,
        pid: 4242,
        at: t0,
    });
    assert_eq!(s.usage_groups(), [(auth, 4242)]);
    s.apply(Update::ProcUsage(ProcUsageSampled {
        usage: vec![(
            auth,
            GroupUsage {
                cpu_percent: Some(0.5),
                rss_bytes: 20 << 20,
                processes: 1,
            },
        )],
        at: t0,
    }));
    assert_eq!(s.usage(auth), Some((Some(0.5), Some(20 << 20))));
    let port = s.plan.targets[s.plan.entries[redis.0].targets[0].0].port;
    assert_eq!(
        s.docker.host_ports().get(&port).map(String::as_str),
        Some("anychat-redis")
    );
    // The port scanner's docker-proxy on that port is named by the container.
    let proxy = crate::state::ports::tests::owner(
        777,
        &format!(
            "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port {port} -container-ip 172.17.0.3 -container-port 6379"
        ),
        1,
    );
    s.apply(Update::PortsScanned {
        scan: Box::new(
            crate::state::ports::tests::ScanBuilder::default()
                .on(&format!("0.0.0.0:{port}"), Some(proxy))
                .build(),
        ),
        at: t0,
    });
    let row = s
        .ports
        .rows()
        .iter()
        .find(|r| r.port == port)
        .and_then(|r| r.holder())
        .unwrap();
    assert_eq!(
        row.describe(),
        "container anychat-redis (docker-proxy, pid 777)"
    );
}

#[test]
fn start_all_never_asks_about_compose_and_skips_missing_containers_served_anyway() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    connect(&mut s);
    docker(
        &mut s,
        DockerFact::ComposeProgramFound {
            program: Some(vec!["docker-compose".into()]),
        },
    );
    for infra in [
        "postgres",
        "redis",
        "nats",
        "minio",
        "prometheus",
        "grafana",
        "jaeger",
        "livekit",
    ] {
        let e = id(&s, infra);
        docker(
            &mut s,
            DockerFact::ContainerMissing {
                entry: e,
                foreign: vec![],
            },
        );
    }
    // postgres is served by something else (its probe answers); redis is not.
    checked(&mut s, "postgres", "postgres", ProbeState::Up, t0);
    let alerts = s.alerts.len();
    let cmds = s.handle(Action::StartAll);
    assert_eq!(s.ui.mode, Mode::Normal, "start-all asks nothing");
    assert!(docker_commands(&cmds).is_empty(), "{cmds:?}");
    let texts: Vec<&str> = s
        .alerts
        .iter()
        .skip(alerts)
        .map(|a| a.text.as_str())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("redis: cannot start its container: no container yet")),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.starts_with("postgres:")),
        "{texts:?}"
    );
}
