//! The captured Engine API answers (docker 20.10.24, API 1.41) decoded with bollard's models,
//! and what the worker and the sub-state derive from them.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anychat_top::collect::docker::{
    Candidate, ContainerState, DockerFact, EngineHealth, EventKind, MatchedBy, WantedContainer,
    classify_event, container_info, match_all, parse_time, usage,
};
use anychat_top::plan::EntryId;
use anychat_top::state::docker::{DockerState, PortVerdict};
use bollard::models::{
    ContainerInspectResponse, ContainerStatsResponse, ContainerSummary, EventMessage,
};

use crate::support::fixture_bytes;

fn inspect(name: &str) -> ContainerInspectResponse {
    serde_json::from_slice(&fixture_bytes(&format!("inspect_{name}.json")))
        .expect("inspect decodes")
}

fn stats(name: &str) -> ContainerStatsResponse {
    serde_json::from_slice(&fixture_bytes(name)).expect("stats decode")
}

#[test]
fn every_container_state_and_health_is_read() {
    let cases = [
        ("anychat-nats", ContainerState::Running, EngineHealth::None),
        (
            "anychat-worker",
            ContainerState::Running,
            EngineHealth::Healthy,
        ),
        (
            "anychat-unhealthy",
            ContainerState::Running,
            EngineHealth::Unhealthy,
        ),
        (
            "anychat-crashed",
            ContainerState::Exited(3),
            EngineHealth::None,
        ),
        (
            "anychat-created",
            ContainerState::Created,
            EngineHealth::None,
        ),
        ("anychat-paused", ContainerState::Paused, EngineHealth::None),
    ];
    for (name, state, health) in cases {
        let info = container_info(&inspect(name), MatchedBy::Name);
        assert_eq!(
            (info.name.as_str(), info.state, info.health),
            (name, state, health)
        );
        assert_eq!(info.id.len(), 64, "{name}");
        assert_eq!(info.image, "anychat/nats-busybox:2.9.10");
        assert_eq!(
            info.started_at.is_none(),
            state == ContainerState::Created,
            "{name}"
        );
    }
}

#[test]
fn published_ports_and_start_time_of_the_nats_container() {
    let info = container_info(&inspect("anychat-nats"), MatchedBy::Name);
    let ports: Vec<String> = info
        .ports
        .iter()
        .map(|p| {
            format!(
                "{}:{}->{}/{}",
                p.host_ip, p.host_port, p.container_port, p.protocol
            )
        })
        .collect();
    assert_eq!(
        ports,
        ["127.0.0.1:4222->4222/tcp", "127.0.0.1:8222->8222/tcp"]
    );
    assert_eq!(info.started_at, parse_time("2026-11-25T17:46:45.5272149Z"));
    // The worker's container publishes nothing: ports are declared but not bound.
    assert!(
        container_info(&inspect("anychat-worker"), MatchedBy::Name)
            .ports
            .is_empty()
    );
}

#[test]
fn cpu_and_memory_as_docker_stats_computes_them() {
    let lines = String::from_utf8(fixture_bytes("stats_anychat-nats_stream_3frames.ndjson"))
        .expect("utf-8");
    let frames: Vec<ContainerStatsResponse> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("frame decodes"))
        .collect();
    assert_eq!(frames.len(), 3);
    // The first frame of a stream has no previous sample.
    assert_eq!(usage(&frames[0]).cpu_percent, None);
    for frame in &frames[1..] {
        let cpu = frame.cpu_stats.as_ref().expect("cpu stats");
        let pre = frame.precpu_stats.as_ref().expect("precpu stats");
        let total = |c: &bollard::models::ContainerCpuStats| {
            c.cpu_usage
                .as_ref()
                .and_then(|u| u.total_usage)
                .expect("total")
        };
        let delta = (total(cpu) - total(pre)) as f64;
        let system =
            (cpu.system_cpu_usage.expect("system") - pre.system_cpu_usage.expect("system")) as f64;
        let expected = delta / system * f64::from(cpu.online_cpus.expect("online cpus")) * 100.0;
        let got = usage(frame).cpu_percent.expect("a previous sample exists");
        assert!(
            (got - expected).abs() < 1e-9 && got > 0.0 && got < 200.0,
            "{got} vs {expected}"
        );
        let mem = frame.memory_stats.as_ref().expect("memory stats");
        let inactive = mem
            .stats
            .as_ref()
            .and_then(|s| s.get("total_inactive_file"))
            .expect("cgroup v1 key");
        assert_eq!(
            usage(frame).memory_bytes,
            Some(mem.usage.expect("usage") - inactive)
        );
    }
    // One-shot (no previous sample) and a stopped container (all zeros, no memory).
    assert_eq!(
        usage(&stats("stats_anychat-nats_oneshot.json")).cpu_percent,
        None
    );
    assert!(
        usage(&stats("stats_anychat-nats_oneshot.json"))
            .memory_bytes
            .is_some()
    );
    let stopped = usage(&stats("stats_anychat-crashed_stream_false.json"));
    assert_eq!((stopped.cpu_percent, stopped.memory_bytes), (None, None));
    for name in [
        "stats_anychat-paused_stream_false.json",
        "stats_anychat-worker_stream_false.json",
    ] {
        assert!(
            usage(&stats(name)).memory_bytes.is_some_and(|m| m > 0),
            "{name}"
        );
    }
}

#[test]
fn the_event_window_is_sorted_into_what_matters() {
    let text = String::from_utf8(fixture_bytes("events_window.ndjson")).expect("utf-8");
    let events: Vec<EventMessage> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("event decodes"))
        .collect();
    assert_eq!(events.len(), 199);
    let kinds: Vec<EventKind> = events.iter().map(classify_event).collect();
    let count = |f: fn(&EventKind) -> bool| kinds.iter().filter(|k| f(k)).count();
    // 7 create + 1 destroy; 8 start, 8 kill, 5 die, 4 stop, 2 pause, 2 unpause, 1 restart, 2 health.
    assert_eq!(count(|k| matches!(k, EventKind::Membership { .. })), 8);
    assert_eq!(count(|k| matches!(k, EventKind::Changed { .. })), 32);
    // Health checks' exec events, image and network events: ignored.
    assert_eq!(count(|k| *k == EventKind::Ignored), 199 - 40);
}

#[test]
fn the_container_list_is_matched_by_name_and_nothing_else_is_taken() {
    let list: Vec<ContainerSummary> =
        serde_json::from_slice(&fixture_bytes("containers_json_all.json")).expect("list decodes");
    let candidates: Vec<Candidate> = list.iter().filter_map(Candidate::from_summary).collect();
    assert_eq!(candidates.len(), list.len());
    let want = |entry, name: &str| WantedContainer {
        entry: EntryId(entry),
        container_name: Some(name.into()),
        compose_service: Some("nats".into()),
        compose_project: Some("deployments".into()),
        compose_file: Some(PathBuf::from("/src/anychat/deployments/docker-compose.yml")),
    };
    let matches = match_all(
        &[want(0, "anychat-nats"), want(1, "anychat-postgres")],
        &candidates,
    );
    let nats = candidates
        .iter()
        .find(|c| c.names == ["anychat-nats"])
        .expect("listed");
    assert_eq!(matches[0].found, Some((nats.id.clone(), MatchedBy::Name)));
    // No compose labels in these containers: nothing else is the postgres entry's.
    assert_eq!(matches[1].found, None);
}

#[test]
fn the_sub_state_reads_the_fixture_containers() {
    let t0 = Instant::now();
    let wanted = |entry, name: &str| WantedContainer {
        entry: EntryId(entry),
        container_name: Some(name.into()),
        compose_service: None,
        compose_project: None,
        compose_file: None,
    };
    let names = ["anychat-worker", "anychat-crashed", "anychat-unhealthy"];
    let mut state = DockerState::new(
        &names
            .iter()
            .enumerate()
            .map(|(i, n)| wanted(i, n))
            .collect::<Vec<_>>(),
    );
    state.apply(
        &DockerFact::Connected {
            host: "unix:///var/run/docker.sock".into(),
            engine_version: "20.10.24+dfsg1".into(),
            api_version: "1.41".into(),
        },
        t0,
    );
    // As the worker reports them: uptime measured against the capture's time.
    let captured = parse_time("2026-11-25T17:47:28Z").expect("valid");
    for (i, name) in names.iter().enumerate() {
        let info = container_info(&inspect(name), MatchedBy::Name);
        let running_for = info.state.is_live().then(|| {
            captured
                .duration_since(info.started_at.unwrap_or(SystemTime::UNIX_EPOCH))
                .unwrap_or_default()
        });
        state.apply(
            &DockerFact::ContainerSeen {
                entry: EntryId(i),
                info,
                running_for,
                at: t0,
            },
            t0,
        );
    }
    let row = |i, probe| {
        state
            .row(EntryId(i), probe, t0 + Duration::from_secs(60))
            .expect("a container entry")
    };
    let worker = row(0, PortVerdict::Down);
    assert_eq!(
        (worker.state.as_str(), worker.health),
        ("running", Some(EngineHealth::Healthy))
    );
    assert_eq!(
        worker.uptime,
        Some(Duration::from_secs(60 + 29) + Duration::from_nanos(409_416_566))
    );
    assert_eq!(
        worker.flags.iter().map(|f| f.words()).collect::<Vec<_>>(),
        ["healthy for Docker, but our probe fails"]
    );
    let crashed = row(1, PortVerdict::Down);
    assert_eq!(
        (crashed.state.as_str(), crashed.uptime),
        ("exited (3)", None)
    );
    let check = state.check(EntryId(2), t0).expect("a container entry");
    assert_eq!(
        (
            check.container.as_str(),
            check.state.as_str(),
            check.engine_health
        ),
        ("anychat-unhealthy", "running", Some("unhealthy"))
    );
}

#[test]
fn error_answers_are_json_messages() {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    for (file, status, words) in [
        (
            "error_api_version_too_new.http",
            "400 Bad Request",
            "client version 1.45 is too new. Maximum supported API version is 1.41",
        ),
        (
            "error_inspect_nosuch.http",
            "404 Not Found",
            "No such container: nosuch",
        ),
    ] {
        let raw = String::from_utf8(fixture_bytes(file)).expect("utf-8");
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .or_else(|| raw.split_once("\n\n"))
            .expect("head and body");
        assert!(
            head.lines().next().is_some_and(|l| l.ends_with(status)),
            "{head}"
        );
        let message: Message = serde_json::from_str(body).expect("JSON body");
        assert_eq!(message.message, words);
    }
}
