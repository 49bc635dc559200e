//! Reducer tests of the port scanner's wiring: conflicts as alerts (raised in one scan,
//! cleared, acknowledged), start-all stopping at a held port, a due restart giving way, the
//! ports panel's stop (SIGTERM, then SIGKILL; never another user's process) and adopt, and the
//! static plan check as alerts; on the demo plan and the built-in AnyChat plan.

use std::time::{Duration, Instant};

use crate::action::Action;
use crate::collect::port_scan::PortScan;
use crate::layout::PanelKind;
use crate::message::{Command, ExitReason, Update};
use crate::plan::EntryId;
use crate::state::ports::tests::{ScanBuilder, owner};
use crate::state::procs::{Bulk, Lifecycle};
use crate::state::procs_tests::anychat_state;
use crate::state::tests::{checked, demo_state};
use crate::state::{Alert, Mode, Severity, State};

fn id(s: &State, name: &str) -> EntryId {
    s.plan.entry_named(name).unwrap()
}

fn scanned(s: &mut State, scan: PortScan, at: Instant) -> bool {
    s.apply(Update::PortsScanned {
        scan: Box::new(scan),
        at,
    })
}

fn squatter_on(port: u16, pid: u32) -> PortScan {
    ScanBuilder::default()
        .on(
            &format!("0.0.0.0:{port}"),
            Some(owner(pid, "python3 -m http.server", 1)),
        )
        .build()
}

fn texts(s: &State) -> Vec<String> {
    s.alerts.iter().map(|a| a.text.clone()).collect()
}

/// Index of `entry`'s `label` port among the ports panel's lines.
fn port_line(s: &State, entry: &str, label: &str) -> usize {
    let e = id(s, entry);
    s.ports
        .rows()
        .iter()
        .position(|r| r.entry == e && s.plan.targets[r.target.0].label == label)
        .unwrap()
}

#[test]
fn a_conflict_is_an_alert_after_one_scan_cleared_when_resolved_and_acknowledged_by_a_key() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    assert!(scanned(&mut s, squatter_on(8003, 4242), t0));
    let raised = s
        .alerts
        .iter()
        .find(|a| a.text.starts_with("port conflict:"))
        .expect("raised by the first scan");
    assert_eq!(raised.severity, Severity::Error);
    assert_eq!(raised.at, t0);
    assert!(raised.text.contains("pid 4242"), "{}", raised.text);
    assert_eq!(s.unacknowledged_conflicts(), 1);
    // The key acknowledges it: still a conflict, no longer news.
    s.handle(Action::AcknowledgeConflicts);
    assert_eq!(s.unacknowledged_conflicts(), 0);
    assert_eq!(s.ports.conflicts().count(), 1);
    // The same scan again: nothing new.
    let before = s.alerts.len();
    scanned(&mut s, squatter_on(8003, 4242), t0 + Duration::from_secs(1));
    assert_eq!(s.alerts.len(), before);
    // Gone: cleared, said once.
    let t2 = t0 + Duration::from_secs(2);
    scanned(&mut s, ScanBuilder::default().build(), t2);
    let last = s.alerts.back().unwrap();
    assert!(last.text.starts_with("resolved: "), "{}", last.text);
    assert_eq!(last.at, t2);
    assert_eq!(s.ports.conflicts().count(), 0);
    // Back again: raised again, not acknowledged.
    scanned(&mut s, squatter_on(8003, 4242), t2);
    assert_eq!(s.unacknowledged_conflicts(), 1);
}

#[test]
fn start_all_stops_at_the_service_whose_port_is_held_naming_the_holder() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    // Everything the demo starts is up as soon as it starts (stubs): mark all up.
    scanned(&mut s, squatter_on(8001, 4242), t0);
    let auth = id(&s, "auth-service");
    let mut pending = s.handle(Action::StartAll);
    let mut started = Vec::new();
    for round in 0..20 {
        let at = t0 + Duration::from_millis(100 * round);
        for c in std::mem::take(&mut pending) {
            if let Command::Start { entry } = c {
                started.push(entry);
                s.apply(Update::ProcessStarted {
                    entry,
                    pid: 100 + entry.0 as u32,
                    at,
                });
                let labels: Vec<String> = s.plan.entries[entry.0]
                    .targets
                    .iter()
                    .map(|t| s.plan.targets[t.0].label.clone())
                    .collect();
                let name = s.plan.entries[entry.0].name.clone();
                for l in labels {
                    checked(&mut s, &name, &l, crate::health::ProbeState::Up, at);
                }
            }
        }
        pending = s.take_commands();
    }
    assert!(!started.contains(&auth), "auth-service is never started");
    assert!(started.len() > 1, "what comes before it is: {started:?}");
    let stopped: Vec<String> = texts(&s)
        .into_iter()
        .filter(|t| t.starts_with("start-all stopped:"))
        .collect();
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert!(
        stopped[0]
            .contains("auth-service not started: port 8001 held by pid 4242 python3 (user root)"),
        "{}",
        stopped[0]
    );
    assert_eq!(s.bulk, Bulk::None, "the chain stops there");
}

#[test]
fn a_restart_due_while_someone_took_the_port_gives_way_once() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let auth = id(&s, "auth-service");
    s.ui.selected = Some(auth);
    s.handle(Action::Start);
    s.apply(Update::ProcessStarted {
        entry: auth,
        pid: 50,
        at: t0,
    });
    let t1 = t0 + Duration::from_secs(40);
    s.apply(Update::ProcessExited {
        entry: auth,
        pid: 50,
        exit: ExitReason::Code(2),
        at: t1,
    });
    assert!(matches!(
        s.procs[auth.0].lifecycle,
        Lifecycle::BackingOff { .. }
    ));
    scanned(&mut s, squatter_on(8001, 4242), t1);
    let before = s.alerts.len();
    for k in 1..5 {
        s.apply(Update::Tick {
            at: t1 + Duration::from_secs(k),
        });
    }
    assert!(matches!(
        s.procs[auth.0].lifecycle,
        Lifecycle::Crashed { .. }
    ));
    let refusals = s
        .alerts
        .iter()
        .skip(before)
        .filter(|a| a.text.contains("not started"))
        .count();
    assert_eq!(refusals, 1, "{:#?}", s.alerts);
    assert!(
        !s.take_commands()
            .iter()
            .any(|c| matches!(c, Command::Start { .. }))
    );
}

#[test]
fn the_ports_panel_stops_a_holder_after_confirming_sigterm_then_sigkill() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    s.port_wiring.our_uid = 0;
    scanned(&mut s, squatter_on(8003, 4242), t0);
    s.handle(Action::Ports);
    assert_eq!(s.ui.focus, PanelKind::Ports);
    let line = port_line(&s, "friend-service", "http");
    for _ in 0..line {
        s.handle(Action::Down);
    }
    s.handle(Action::Stop);
    assert_eq!(s.ui.mode, Mode::ConfirmHolder);
    let q = s
        .port_wiring
        .confirm
        .as_ref()
        .unwrap()
        .question(|e| s.plan.entries[e.0].name.clone());
    assert_eq!(
        q,
        "y/n? SIGTERM pid 4242 (user root) on port 8003: python3 -m http.server"
    );
    // n: nothing sent.
    assert!(s.handle(Action::Confirm(false)).is_empty());
    assert_eq!(s.ui.mode, Mode::Normal);
    s.handle(Action::Stop);
    let cmds = s.handle(Action::Confirm(true));
    assert!(
        matches!(cmds[..], [Command::SignalHolder { pid: 4242, signal, start_ticks: 5242 }] if signal == libc::SIGTERM),
        "{cmds:?}"
    );
    // Still there: asked again, it is SIGKILL.
    s.handle(Action::Stop);
    let cmds = s.handle(Action::Confirm(true));
    assert!(
        matches!(cmds[..], [Command::SignalHolder { pid: 4242, signal, .. }] if signal == libc::SIGKILL),
        "{cmds:?}"
    );
}

#[test]
fn another_users_process_ours_and_hidden_holders_are_never_offered_for_stopping() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    s.port_wiring.our_uid = 1000; // not root; the squatter is root's
    let scan = ScanBuilder::default()
        .on(
            "0.0.0.0:8003",
            Some(owner(4242, "python3 -m http.server", 1)),
        )
        .on("0.0.0.0:8004", None)
        .build();
    scanned(&mut s, scan, t0);
    s.handle(Action::Ports);
    for (label_entry, expect) in [
        ("friend-service", "it belongs to user root (pid 4242)"),
        ("group-service", "uid 0, process not visible"),
    ] {
        let line = port_line(&s, label_entry, "http");
        s.ui.panel_mut(PanelKind::Ports).selected = line;
        assert!(s.handle(Action::Stop).is_empty());
        assert_eq!(s.ui.mode, Mode::Normal, "no confirmation");
        let last = &s.alerts.back().unwrap().text;
        assert!(
            last.starts_with("cannot stop it") && last.contains(expect),
            "{last}"
        );
    }
}

#[test]
fn adopting_a_holder_makes_it_the_running_instance_until_it_exits() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let auth = id(&s, "auth-service");
    let scan = || squatter_on(8001, 4242);
    scanned(&mut s, scan(), t0);
    s.handle(Action::Ports);
    s.ui.panel_mut(PanelKind::Ports).selected = port_line(&s, "auth-service", "http");
    s.handle(Action::Adopt);
    assert_eq!(s.ui.mode, Mode::ConfirmHolder);
    s.handle(Action::Confirm(true));
    assert_eq!(
        s.ports.rows()[port_line(&s, "auth-service", "http")]
            .holder()
            .unwrap()
            .kind,
        crate::state::ports::HolderKind::Ours { entry: auth }
    );
    assert_eq!(
        s.ports.conflicts().count(),
        0,
        "no conflict with its own instance"
    );
    assert!(matches!(
        &s.procs[auth.0].lifecycle,
        Lifecycle::External { owner: Some(o) } if o.pid == 4242
    ));
    // Adopted, still not started twice.
    s.ui.selected = Some(auth);
    s.ui.focus = PanelKind::Services;
    assert!(s.handle(Action::Start).is_empty());
    assert!(texts(&s).last().unwrap().contains("adopted pid 4242"));
    // It is stopped from the ports panel like any holder (it is not our child).
    s.port_wiring.our_uid = 0;
    s.ui.focus = PanelKind::Ports;
    s.handle(Action::Stop);
    assert_eq!(s.ui.mode, Mode::ConfirmHolder, "{:?}", s.alerts.back());
    s.handle(Action::Confirm(false));
    // It exits: forgotten, the entry stopped and startable.
    scanned(
        &mut s,
        ScanBuilder::default().build(),
        t0 + Duration::from_secs(1),
    );
    assert!(s.port_wiring.adopted.is_empty());
    assert_eq!(s.procs[auth.0].lifecycle, Lifecycle::Stopped);
}

#[test]
fn on_the_built_in_plan_a_holder_of_the_shared_metrics_port_blocks_no_start_but_is_named_after_an_early_exit()
 {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    let user = id(&s, "user-service");
    scanned(&mut s, squatter_on(22112, 4242), t0);
    assert_eq!(s.procs[user.0].lifecycle, Lifecycle::Stopped);
    assert!(s.taken(user).is_none(), "2112 is everyone's: not 'taken'");
    s.ui.selected = Some(user);
    let cmds = s.handle(Action::Start);
    assert!(cmds.iter().any(|c| matches!(c, Command::Start { .. })));
    s.apply(Update::ProcessStarted {
        entry: user,
        pid: 77,
        at: t0,
    });
    s.apply(Update::ProcessExited {
        entry: user,
        pid: 77,
        exit: ExitReason::Code(1),
        at: t0 + Duration::from_millis(500),
    });
    let exit = texts(&s)
        .into_iter()
        .find(|t| t.starts_with("user-service exited"))
        .unwrap();
    assert!(
        exit.contains("port 22112 is held by pid 4242 python3 (user root)"),
        "{exit}"
    );
    // A late failure (past the early window, no bind message) names nobody.
    s.handle(Action::Start);
    s.apply(Update::ProcessStarted {
        entry: user,
        pid: 78,
        at: t0 + Duration::from_secs(10),
    });
    s.apply(Update::ProcessExited {
        entry: user,
        pid: 78,
        exit: ExitReason::Code(1),
        at: t0 + Duration::from_secs(60),
    });
    let last = texts(&s)
        .into_iter()
        .rev()
        .find(|t| t.starts_with("user-service exited"))
        .unwrap();
    assert!(!last.contains("held by"), "{last}");
}

#[test]
fn the_static_plan_check_becomes_alerts_at_start_up() {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    let check = crate::portplan::check_plan(&s.plan.clone(), 20000, Some(32768..=60999));
    s.plan_check_alerts(&check);
    let plan_alerts: Vec<&Alert> = s
        .alerts
        .iter()
        .filter(|a| a.text.starts_with("port plan:"))
        .collect();
    assert!(
        plan_alerts.iter().any(|a| a.severity == Severity::Error
            && a.text
                .contains("port 22112 is the metrics port of 12 entries")),
        "{plan_alerts:#?}"
    );
}

#[test]
fn a_stale_copy_is_told_apart_from_a_foreign_process_in_the_refusal() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let scan = ScanBuilder::default()
        .on(
            "0.0.0.0:8001",
            Some(owner(
                5001,
                "anychat-stub --name auth-service --http-port 8001 --grpc-port 9001 --metrics-port 2113 --quiet-health",
                1,
            )),
        )
        .on("0.0.0.0:8002", Some(owner(5002, "python3 -m http.server", 1)))
        .build();
    scanned(&mut s, scan, t0);
    let refusal = |s: &State, name: &str| s.start_refusal(id(s, name)).unwrap();
    assert!(
        refusal(&s, "auth-service")
            .contains("port 8001 held by a copy of it not started here, pid 5001 anychat-stub"),
        "{}",
        refusal(&s, "auth-service")
    );
    assert!(
        refusal(&s, "user-service").contains("port 8002 held by pid 5002 python3"),
        "{}",
        refusal(&s, "user-service")
    );
    let severities: Vec<Severity> = s.ports.conflicts().map(|c| c.severity).collect();
    assert!(severities.contains(&Severity::Warning) && severities.contains(&Severity::Error));
}
