//! Reducer tests of supervision: lifecycles, restart policy and backoff, start-all gates, stop-all order.

use std::time::{Duration, Instant};

use super::procs::{BACKOFF_CAP, Lifecycle, backoff, bind_failure_port};
use super::tests::{checked, demo_state};
use super::*;
use crate::message::{ExitReason, LogLine, PortOwner, Stream};
use crate::state::ports::tests::{ScanBuilder, owner};

fn id(s: &State, name: &str) -> EntryId {
    s.plan.entry_named(name).unwrap()
}

fn select(s: &mut State, name: &str) {
    s.ui.selected = Some(id(s, name));
}

fn started(cmds: &[Command]) -> Vec<EntryId> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Start { entry } => Some(*entry),
            _ => None,
        })
        .collect()
}

fn names(s: &State, ids: &[EntryId]) -> Vec<String> {
    ids.iter()
        .map(|e| s.plan.entries[e.0].name.clone())
        .collect()
}

/// Mark an entry's targets up at `at` (what its probes would say once it is ready).
fn healthy(s: &mut State, name: &str, at: Instant) {
    let labels: Vec<String> = s.plan.entries[id(s, name).0]
        .targets
        .iter()
        .map(|t| s.plan.targets[t.0].label.clone())
        .collect();
    for l in labels {
        checked(s, name, &l, ProbeState::Up, at);
    }
}

#[test]
fn backoff_doubles_and_is_capped() {
    let delays: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    assert_eq!(backoff(100), BACKOFF_CAP);
}

#[test]
fn bind_failures_name_their_port() {
    assert_eq!(
        bind_failure_port("listen tcp 127.0.0.1:8001: bind: address already in use"),
        Some(8001)
    );
    assert_eq!(
        bind_failure_port(
            r#"{"level":"fatal","msg":"listen tcp :9003: bind: address already in use"}"#
        ),
        Some(9003)
    );
    assert_eq!(bind_failure_port("connection refused"), None);
}

#[test]
fn start_stop_restart_of_the_selected_service() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    select(&mut s, "auth-service");
    let auth = id(&s, "auth-service");
    let cmds = s.handle(Action::Start);
    assert_eq!(started(&cmds), [auth]);
    assert!(matches!(
        s.procs[auth.0].lifecycle,
        Lifecycle::Starting { .. }
    ));
    s.apply(Update::ProcessStarted {
        entry: auth,
        pid: 4242,
        at: t0,
    });
    assert_eq!(s.procs[auth.0].pid, Some(4242));
    healthy(&mut s, "auth-service", t0 + Duration::from_secs(1));
    assert!(matches!(
        s.procs[auth.0].lifecycle,
        Lifecycle::Running { .. }
    ));
    // A second start while running does nothing.
    assert!(started(&s.handle(Action::Start)).is_empty());
    let cmds = s.handle(Action::Restart);
    assert!(
        matches!(cmds[..], [Command::Stop { entry, grace }] if entry == auth && grace == Duration::from_secs(5))
    );
    assert!(matches!(
        s.procs[auth.0].lifecycle,
        Lifecycle::Stopping { .. }
    ));
    s.apply(Update::ProcessExited {
        entry: auth,
        pid: 4242,
        exit: ExitReason::Code(0),
        at: t0 + Duration::from_secs(2),
    });
    assert_eq!(
        started(&s.take_commands()),
        [auth],
        "restart starts again after the exit"
    );
    s.apply(Update::ProcessStarted {
        entry: auth,
        pid: 4243,
        at: t0 + Duration::from_secs(2),
    });
    s.take_commands();
    let cmds = s.handle(Action::Stop);
    assert!(matches!(cmds[..], [Command::Stop { .. }]), "{cmds:?}");
    s.apply(Update::ProcessExited {
        entry: auth,
        pid: 4243,
        exit: ExitReason::Signal(15),
        at: t0 + Duration::from_secs(3),
    });
    assert!(
        started(&s.take_commands()).is_empty(),
        "a stop asked by the user is not restarted"
    );
    assert!(matches!(
        s.procs[auth.0].lifecycle,
        Lifecycle::Exited {
            exit: ExitReason::Signal(15),
            ..
        }
    ));
}

#[test]
fn on_failure_restarts_with_growing_capped_backoff_and_resets_when_stable() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    select(&mut s, "user-service");
    let user = id(&s, "user-service");
    s.handle(Action::Start);
    let mut now = t0;
    let mut delays = Vec::new();
    for n in 0..7u32 {
        s.apply(Update::ProcessStarted {
            entry: user,
            pid: 100 + n,
            at: now,
        });
        now += Duration::from_millis(200);
        s.apply(Update::ProcessExited {
            entry: user,
            pid: 100 + n,
            exit: ExitReason::Code(1),
            at: now,
        });
        let Lifecycle::BackingOff { until, .. } = s.procs[user.0].lifecycle else {
            panic!("expected backing off, got {:?}", s.procs[user.0].lifecycle);
        };
        delays.push(until.duration_since(now).as_secs());
        assert!(
            started(&s.take_commands()).is_empty(),
            "no restart before the delay"
        );
        assert_eq!(s.next_deadline(), Some(until));
        now = until;
        s.apply(Update::Tick { at: now });
        assert_eq!(started(&s.take_commands()), [user]);
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    assert!(
        s.alerts
            .back()
            .unwrap()
            .text
            .contains("crash loop: 7 in a row"),
        "{:?}",
        s.alerts.back()
    );
    // A long stable run resets the backoff.
    s.apply(Update::ProcessStarted {
        entry: user,
        pid: 999,
        at: now,
    });
    now += Duration::from_secs(60);
    s.apply(Update::ProcessExited {
        entry: user,
        pid: 999,
        exit: ExitReason::Code(2),
        at: now,
    });
    let Lifecycle::BackingOff { until, .. } = s.procs[user.0].lifecycle else {
        panic!()
    };
    assert_eq!(until.duration_since(now), Duration::from_secs(1));
    assert_eq!(s.procs[user.0].restarts, 7);
}

#[test]
fn clean_exit_is_not_restarted_on_failure_policy() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    select(&mut s, "push-service");
    let push = id(&s, "push-service");
    s.handle(Action::Start);
    s.apply(Update::ProcessStarted {
        entry: push,
        pid: 7,
        at: t0,
    });
    s.apply(Update::ProcessExited {
        entry: push,
        pid: 7,
        exit: ExitReason::Code(0),
        at: t0,
    });
    assert!(matches!(
        s.procs[push.0].lifecycle,
        Lifecycle::Exited { .. }
    ));
    assert_eq!(s.next_deadline(), None);
}

#[test]
fn start_all_follows_dependencies_behind_readiness_gates() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let first = started(&s.handle(Action::StartAll));
    // Only entries without dependencies start first: the infra stubs and push-service needs nats...
    let first_names = names(&s, &first);
    assert!(
        first_names.contains(&"postgres".to_string()),
        "{first_names:?}"
    );
    assert!(
        !first_names.contains(&"user-service".to_string()),
        "{first_names:?}"
    );
    for n in [
        "postgres",
        "redis",
        "nats",
        "minio",
        "prometheus",
        "grafana",
        "jaeger",
        "livekit",
    ] {
        healthy(&mut s, n, t0 + Duration::from_secs(1));
    }
    let cmds = s.take_commands();
    let second = names(&s, &started(&cmds));
    assert!(second.contains(&"user-service".to_string()), "{second:?}");
    assert!(second.contains(&"push-service".to_string()), "{second:?}");
    assert!(
        !second.contains(&"auth-service".to_string()),
        "auth waits for user: {second:?}"
    );
    healthy(&mut s, "user-service", t0 + Duration::from_secs(2));
    let cmds = s.take_commands();
    let third = names(&s, &started(&cmds));
    assert!(third.contains(&"auth-service".to_string()), "{third:?}");
    assert!(!third.contains(&"gateway-service".to_string()), "{third:?}");
    // Whatever was started comes up; the gateway goes last.
    let mut now = t0 + Duration::from_secs(3);
    let mut gateway_started = false;
    for _ in 0..6 {
        let live: Vec<String> = (0..s.procs.len())
            .filter(|i| s.procs[*i].lifecycle.is_live())
            .map(|i| s.plan.entries[i].name.clone())
            .collect();
        assert!(!gateway_started || live.len() == 20);
        for n in &live {
            healthy(&mut s, n, now);
        }
        let cmds = s.take_commands();
        let batch = names(&s, &started(&cmds));
        if batch.contains(&"gateway-service".to_string()) {
            assert_eq!(live.len(), 19, "gateway starts after every other entry");
            gateway_started = true;
        }
        now += Duration::from_secs(1);
    }
    assert!(gateway_started);
    assert_eq!(s.bulk, Bulk::None, "start-all finished");
}

#[test]
fn a_dependency_that_never_becomes_healthy_stops_the_chain() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    s.handle(Action::StartAll);
    // Postgres never answers; the others do.
    for n in [
        "redis",
        "nats",
        "minio",
        "prometheus",
        "grafana",
        "jaeger",
        "livekit",
    ] {
        healthy(&mut s, n, t0 + Duration::from_secs(1));
    }
    checked(
        &mut s,
        "postgres",
        "postgres",
        ProbeState::Down,
        t0 + Duration::from_secs(1),
    );
    s.take_commands();
    s.apply(Update::Tick {
        at: t0 + Duration::from_secs(31),
    });
    assert_eq!(s.bulk, Bulk::None);
    let alert = &s.alerts.back().unwrap().text;
    assert!(alert.contains("start-all stopped: user-service needs postgres, which did not become healthy within 30s"), "{alert}");
    assert!(started(&s.take_commands()).is_empty());
}

#[test]
fn stop_all_asks_first_and_stops_dependents_first() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    for (i, e) in s.start_order().into_iter().enumerate() {
        s.procs[e.0].lifecycle = Lifecycle::Running { since: t0 };
        s.procs[e.0].pid = Some(1000 + i as u32);
    }
    assert!(s.handle(Action::StopAll).is_empty(), "asks first");
    assert_eq!(s.ui.mode, Mode::ConfirmStopAll);
    let cmds = s.handle(Action::Confirm(true));
    let stopped: Vec<EntryId> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Stop { entry, .. } => Some(*entry),
            _ => None,
        })
        .collect();
    let stopped = names(&s, &stopped);
    assert!(stopped.contains(&"gateway-service".to_string()));
    assert!(
        !stopped.contains(&"user-service".to_string()),
        "user waits for its dependents: {stopped:?}"
    );
    assert!(!stopped.contains(&"postgres".to_string()));
    // As dependents exit, their dependencies are stopped.
    let mut now = t0;
    for _ in 0..8 {
        now += Duration::from_secs(1);
        let stopping: Vec<EntryId> = (0..s.procs.len())
            .filter(|i| matches!(s.procs[*i].lifecycle, Lifecycle::Stopping { .. }))
            .map(EntryId)
            .collect();
        for e in stopping {
            s.apply(Update::ProcessExited {
                entry: e,
                pid: 1,
                exit: ExitReason::Signal(15),
                at: now,
            });
        }
    }
    assert!(
        s.procs.iter().all(|p| !p.lifecycle.is_live()),
        "everything stopped"
    );
    // "no" cancels.
    s.handle(Action::StopAll);
    assert!(s.handle(Action::Confirm(false)).is_empty());
    assert_eq!(s.ui.mode, Mode::Normal);
}

#[test]
fn a_port_held_before_we_start_anything_is_external_from_the_scan_not_the_probe() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let auth = id(&s, "auth-service");
    // A probe that answers is no proof of who holds the port.
    checked(&mut s, "auth-service", "http", ProbeState::Up, t0);
    assert_eq!(s.procs[auth.0].lifecycle, Lifecycle::Stopped);
    // The scanner sees a process we did not start on its own port.
    let scan = ScanBuilder::default()
        .on("0.0.0.0:8001", Some(owner(31337, "bin/auth-service", 1)))
        .build();
    s.apply(Update::PortsScanned {
        scan: Box::new(scan),
        at: t0,
    });
    let owner = PortOwner {
        pid: 31337,
        command: "bin/auth-service".into(),
    };
    assert_eq!(
        s.procs[auth.0].lifecycle,
        Lifecycle::External { owner: Some(owner) }
    );
    s.take_commands();
    select(&mut s, "auth-service");
    assert!(s.handle(Action::Start).is_empty(), "no second copy");
    let text = &s.alerts.back().unwrap().text;
    assert!(
        text.contains("auth-service not started: port 8001 held by")
            && text.contains("pid 31337 auth-service (user root): bin/auth-service"),
        "{text}"
    );
    // The holder went away: stopped, and startable again.
    s.apply(Update::PortsScanned {
        scan: Box::new(ScanBuilder::default().build()),
        at: t0,
    });
    assert_eq!(s.procs[auth.0].lifecycle, Lifecycle::Stopped);
    assert_eq!(started(&s.handle(Action::Start)), [auth]);
}

#[test]
fn an_early_exit_names_the_holder_of_its_port_from_the_next_scan() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    select(&mut s, "group-service");
    let group = id(&s, "group-service");
    s.handle(Action::Start);
    s.apply(Update::ProcessStarted {
        entry: group,
        pid: 55,
        at: t0,
    });
    s.apply(Update::LogLines {
        entry: group,
        lines: vec![LogLine {
            stream: Stream::Stderr,
            text: "OSError: [Errno 98] Address already in use".into(),
            truncated: false,
        }],
        dropped: 0,
    });
    s.apply(Update::ProcessExited {
        entry: group,
        pid: 55,
        exit: ExitReason::Code(1),
        at: t0 + Duration::from_millis(300),
    });
    // No scan knew a holder yet: one is asked for now.
    let cmds = s.take_commands();
    assert!(
        cmds.iter().any(|c| matches!(c, Command::ScanPortsNow)),
        "{cmds:?}"
    );
    let scan = ScanBuilder::default()
        .on("127.0.0.1:8004", Some(owner(9, "nc -l 8004", 1)))
        .build();
    s.apply(Update::PortsScanned {
        scan: Box::new(scan),
        at: t0 + Duration::from_millis(400),
    });
    let texts: Vec<&str> = s.alerts.iter().map(|a| a.text.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains(
            "group-service exited early: port 8004 is held by pid 9 nc (user root): nc -l 8004"
        )),
        "{texts:#?}"
    );
}

#[test]
fn a_go_bind_failure_names_the_holder_the_scan_already_knows() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let group = id(&s, "group-service");
    // 2112-style: a holder the start check does not look at (its metrics port here is its
    // own, so start first, then the holder appears, then the service dies).
    select(&mut s, "group-service");
    s.handle(Action::Start);
    s.apply(Update::ProcessStarted {
        entry: group,
        pid: 55,
        at: t0,
    });
    let scan = ScanBuilder::default()
        .on("127.0.0.1:8004", Some(owner(9, "nc -l 8004", 1)))
        .build();
    s.apply(Update::PortsScanned {
        scan: Box::new(scan),
        at: t0,
    });
    s.apply(Update::LogLines {
        entry: group,
        lines: vec![LogLine {
            stream: Stream::Stderr,
            text: "listen tcp 127.0.0.1:8004: bind: address already in use".into(),
            truncated: false,
        }],
        dropped: 0,
    });
    s.apply(Update::ProcessExited {
        entry: group,
        pid: 55,
        exit: ExitReason::Code(1),
        at: t0 + Duration::from_secs(1),
    });
    assert_eq!(s.procs[group.0].bind_failure, Some(8004));
    let exit = s
        .alerts
        .iter()
        .find(|a| a.text.starts_with("group-service exited"))
        .expect("exit alert");
    assert!(
        exit.text.contains(
            "port 8004 is already in use; port 8004 is held by pid 9 nc (user root): nc -l 8004"
        ),
        "{}",
        exit.text
    );
}

#[test]
fn a_starting_service_is_probed_soon_until_it_is_ready() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    select(&mut s, "auth-service");
    let auth = id(&s, "auth-service");
    s.handle(Action::Start);
    s.apply(Update::ProcessStarted {
        entry: auth,
        pid: 1,
        at: t0,
    });
    let soon = |cmds: &[Command]| -> Vec<usize> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::ProbeSoon { target } => Some(target.0),
                _ => None,
            })
            .collect()
    };
    let targets: Vec<usize> = s.plan.entries[auth.0].targets.iter().map(|t| t.0).collect();
    assert_eq!(
        soon(&s.take_commands()),
        targets,
        "every port of the new process"
    );
    // Not up yet: that port is asked again soon.
    checked(&mut s, "auth-service", "http", ProbeState::Down, t0);
    assert_eq!(soon(&s.take_commands()), [targets[0]]);
    // Ready: no more early probes.
    healthy(&mut s, "auth-service", t0 + Duration::from_millis(200));
    assert!(matches!(
        s.procs[auth.0].lifecycle,
        Lifecycle::Running { .. }
    ));
    checked(
        &mut s,
        "auth-service",
        "http",
        ProbeState::Up,
        t0 + Duration::from_millis(300),
    );
    assert!(soon(&s.take_commands()).is_empty());
}

/// The built-in AnyChat plan, shifted as `anychat-top --port-offset 20000` would.
pub(crate) fn anychat_state(now: Instant) -> State {
    let opts = crate::manifest::PlanOptions {
        port_offset: 20000,
        ..Default::default()
    };
    let plan = crate::manifest::build_plan(&[crate::manifest::Source::anychat()], &opts).unwrap();
    let mut s = State::new(
        std::sync::Arc::new(plan),
        crate::layout::builtin_layouts(),
        Duration::from_secs(1),
        now,
    );
    s.handle(Action::Resize {
        width: 160,
        height: 48,
    });
    s
}

#[test]
fn the_shared_metrics_port_answering_marks_no_service_as_running_elsewhere() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    let services: Vec<String> = s
        .plan
        .entries
        .iter()
        .filter(|e| e.kind == crate::plan::EntryKind::Service)
        .map(|e| e.name.clone())
        .collect();
    assert!(services.len() >= 12);
    // Something answers on 22112 (every service's metrics port) and nothing else is up.
    for round in 0..3 {
        let at = t0 + Duration::from_secs(round);
        for name in &services {
            checked(&mut s, name, "metrics", ProbeState::Up, at);
            let lifecycle = &s.procs[id(&s, name).0].lifecycle;
            assert_eq!(
                *lifecycle,
                Lifecycle::Stopped,
                "{name} after its metrics answered"
            );
            checked(&mut s, name, "http", ProbeState::Down, at);
        }
    }
    for name in &services {
        assert_eq!(
            s.procs[id(&s, name).0].lifecycle,
            Lifecycle::Stopped,
            "{name}"
        );
    }
    s.take_commands();
    // So S starts them all (in dependency order, behind the infra's readiness).
    s.handle(Action::StartAll);
    for infra in ["postgres", "redis", "nats", "minio"] {
        healthy(&mut s, infra, t0 + Duration::from_secs(4));
    }
    let cmds = s.take_commands();
    assert!(
        started(&cmds).contains(&id(&s, "user-service")),
        "user-service starts once its infra is up: {cmds:?}"
    );
}

#[test]
fn a_port_of_its_own_held_marks_a_service_external_but_the_shared_metrics_port_does_not() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    let auth = id(&s, "auth-service");
    let scan = |with_grpc: bool| {
        let mut b = ScanBuilder::default().on(
            "0.0.0.0:22112",
            Some(owner(700, "python3 -m http.server 22112", 1)),
        );
        if with_grpc {
            b = b.on("[::]:29001", Some(owner(701, "bin/auth-service", 1)));
        }
        Box::new(b.build())
    };
    s.apply(Update::PortsScanned {
        scan: scan(false),
        at: t0,
    });
    assert_eq!(
        s.procs[auth.0].lifecycle,
        Lifecycle::Stopped,
        "2112 is everyone's"
    );
    s.apply(Update::PortsScanned {
        scan: scan(true),
        at: t0,
    });
    assert!(matches!(
        &s.procs[auth.0].lifecycle,
        Lifecycle::External { owner: Some(o) } if o.pid == 701
    ));
    // Its own port free again: stopped, though the shared metrics port is still held.
    s.apply(Update::PortsScanned {
        scan: scan(false),
        at: t0,
    });
    assert_eq!(s.procs[auth.0].lifecycle, Lifecycle::Stopped);
}

/// The built-in plan with its infra already up outside anychat-top (`mage docker:up`, or a
/// local PostgreSQL): `S` leaves the infra alone and starts the services; a squatter that does
/// not answer on an infra port stops the chain, naming it.
#[test]
fn start_all_skips_infra_running_elsewhere_and_stops_at_a_silent_squatter() {
    let t0 = Instant::now();
    let infra: Vec<(EntryId, Vec<(String, u16)>)> = {
        let s = anychat_state(t0);
        s.plan
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == crate::plan::EntryKind::Infra)
            .map(|(i, e)| {
                let ports = e
                    .targets
                    .iter()
                    .map(|t| {
                        let t = &s.plan.targets[t.0];
                        (t.label.clone(), t.port)
                    })
                    .collect();
                (EntryId(i), ports)
            })
            .collect()
    };
    assert!(infra.len() >= 5, "{infra:?}");
    let scan = |infra: &[(EntryId, Vec<(String, u16)>)]| {
        let mut b = ScanBuilder::default();
        for (k, (_, ports)) in infra.iter().enumerate() {
            for (_, port) in ports {
                let pid = 40000 + k as u32;
                b = b.on(
                    &format!("0.0.0.0:{port}"),
                    Some(owner(pid, "docker-proxy-like", 1)),
                );
            }
        }
        b.build()
    };
    let answering = |s: &mut State| {
        for (entry, ports) in &infra {
            let name = s.plan.entries[entry.0].name.clone();
            for (label, _) in ports {
                checked(s, &name, label, ProbeState::Up, t0);
            }
        }
    };

    let mut s = anychat_state(t0);
    s.apply(Update::PortsScanned {
        scan: Box::new(scan(&infra)),
        at: t0,
    });
    answering(&mut s);
    s.take_commands();
    let started: Vec<String> = s
        .handle(Action::StartAll)
        .iter()
        .filter_map(|c| match c {
            Command::Start { entry } => Some(s.plan.entries[entry.0].name.clone()),
            _ => None,
        })
        .collect();
    assert!(
        started.iter().any(|n| n == "user-service"),
        "services that need only the infra start: {started:?} {:?}",
        s.alerts.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    assert!(
        !started
            .iter()
            .any(|n| infra.iter().any(|(e, _)| s.plan.entries[e.0].name == *n)),
        "no infra started a second time: {started:?}"
    );
    assert!(
        !s.alerts
            .iter()
            .any(|a| a.text.contains("start-all stopped")),
        "{:?}",
        s.alerts.iter().map(|a| &a.text).collect::<Vec<_>>()
    );

    // The same holders, but nothing answers: the first infra entry's start is refused and the
    // chain stops there with the holder named.
    let mut s = anychat_state(t0);
    s.apply(Update::PortsScanned {
        scan: Box::new(scan(&infra)),
        at: t0,
    });
    s.take_commands();
    assert!(
        !s.handle(Action::StartAll)
            .iter()
            .any(|c| matches!(c, Command::Start { .. })),
        "nothing started"
    );
    let text = &s.alerts.back().unwrap().text;
    assert!(
        text.contains("start-all stopped") && text.contains("docker-proxy-like"),
        "{text}"
    );
}

/// A worker (no port to probe) is ready for its dependents as soon as its process runs: start-
/// all starts what depends on it without waiting out the worker's ready timeout.
#[test]
fn start_all_goes_on_once_a_worker_without_ports_runs() {
    let t0 = Instant::now();
    let source = crate::manifest::Source {
        path: "test.toml".into(),
        text: "[[service]]\nname = \"worker\"\ncommand = [\"sleep\", \"60\"]\n\n\
               [[service]]\nname = \"api\"\ncommand = [\"sleep\", \"60\"]\nhttp_port = 18001\n\
               depends_on = [\"worker\"]\n"
            .into(),
    };
    let plan =
        crate::manifest::build_plan(&[source], &crate::manifest::PlanOptions::default()).unwrap();
    let mut s = State::new(
        std::sync::Arc::new(plan),
        crate::layout::builtin_layouts(),
        Duration::from_secs(1),
        t0,
    );
    let worker = id(&s, "worker");
    let api = id(&s, "api");
    let starts = |cs: &[Command]| -> Vec<EntryId> {
        cs.iter()
            .filter_map(|c| match c {
                Command::Start { entry } => Some(*entry),
                _ => None,
            })
            .collect()
    };
    assert_eq!(starts(&s.handle(Action::StartAll)), [worker]);
    assert!(!s.is_ready(worker), "not before its process runs");
    s.apply(Update::ProcessStarted {
        entry: worker,
        pid: 4242,
        at: t0,
    });
    assert!(s.is_ready(worker));
    assert_eq!(starts(&s.take_commands()), [api]);
}
