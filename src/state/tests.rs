//! Reducer tests: feed updates and actions, assert on the state and the commands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::health::ProbeResult;
use crate::layout::builtin_layouts;
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::plan::TargetId;

pub(crate) fn demo_state(now: Instant) -> State {
    demo_state_at(now, 0)
}

/// The demo plan shifted by `offset` (10000 gives every port five digits), at 160×48.
pub(crate) fn demo_state_at(now: Instant, offset: i32) -> State {
    let opts = PlanOptions {
        port_offset: offset,
        ..PlanOptions::default()
    };
    let plan = build_plan(&[Source::demo()], &opts).unwrap();
    let mut s = State::new(
        Arc::new(plan),
        builtin_layouts(),
        Duration::from_secs(1),
        now,
    );
    s.handle(Action::Resize {
        width: 160,
        height: 48,
    });
    s
}

pub(crate) fn checked(
    s: &mut State,
    name: &str,
    label: &str,
    state: ProbeState,
    at: Instant,
) -> bool {
    let entry = s.plan.entry_named(name).unwrap();
    let target = *s.plan.entries[entry.0]
        .targets
        .iter()
        .find(|t| s.plan.targets[t.0].label == label)
        .unwrap();
    s.apply(Update::HealthChecked {
        target,
        result: ProbeResult::new(
            state,
            Duration::from_micros(420),
            format!("{label} said {}", state.as_str()),
        ),
        at,
    })
}

/// Every target of the plan reported up.
pub(crate) fn all_up(s: &mut State, at: Instant) {
    for i in 0..s.plan.targets.len() {
        s.apply(Update::HealthChecked {
            target: TargetId(i),
            result: ProbeResult::new(
                ProbeState::Up,
                Duration::from_micros(300 + 10 * i as u64),
                "HTTP 200",
            ),
            at,
        });
    }
}

fn selected_name(s: &State) -> &str {
    s.ui.selected
        .map_or("", |id| s.plan.entries[id.0].name.as_str())
}

#[test]
fn health_updates_drive_entry_state_counts_and_alerts() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    assert_eq!(s.counts(), (0, 0), "everything pending at first");
    all_up(&mut s, t0);
    assert_eq!(s.counts(), (20, 0));
    assert!(
        s.alerts.is_empty(),
        "coming up the first time is not an alert"
    );
    let t1 = t0 + Duration::from_secs(5);
    assert!(checked(
        &mut s,
        "auth-service",
        "grpc",
        ProbeState::Down,
        t1
    ));
    let auth = s.plan.entry_named("auth-service").unwrap();
    assert_eq!(s.entry_state(auth), ProbeState::Down);
    assert_eq!(s.counts(), (19, 1));
    let alert = s.alerts.back().unwrap();
    assert_eq!(alert.severity, Severity::Error);
    assert!(
        alert.text.starts_with("auth-service grpc :9001 is down"),
        "{}",
        alert.text
    );
    // A metrics port is not required, so it does not make the service down.
    checked(&mut s, "user-service", "metrics", ProbeState::Down, t1);
    let user = s.plan.entry_named("user-service").unwrap();
    assert_eq!(s.entry_state(user), ProbeState::Up);
    // History of changes is kept, with the time of the change.
    let grpc = &s.plan.entries[auth.0].targets[1];
    let status = &s.targets[grpc.0];
    assert_eq!(status.since, Some(t1));
    assert_eq!(status.changes.len(), 2);
    assert_eq!(status.latencies_us.len(), 2);
    // Recovering is news too.
    let alerts = s.alerts.len();
    checked(
        &mut s,
        "auth-service",
        "grpc",
        ProbeState::Up,
        t1 + Duration::from_secs(1),
    );
    assert_eq!(s.alerts.len(), alerts + 1);
    assert!(
        s.alerts
            .back()
            .unwrap()
            .text
            .starts_with("auth-service grpc :9001 is up")
    );
}

#[test]
fn coming_up_for_the_first_time_is_not_an_alert() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    checked(&mut s, "auth-service", "http", ProbeState::Down, t0);
    checked(
        &mut s,
        "auth-service",
        "http",
        ProbeState::Up,
        t0 + Duration::from_secs(1),
    );
    assert!(s.alerts.is_empty(), "{:?}", s.alerts);
    checked(
        &mut s,
        "auth-service",
        "http",
        ProbeState::Down,
        t0 + Duration::from_secs(2),
    );
    assert_eq!(s.alerts.len(), 1);
}

#[test]
fn no_health_service_counts_as_up() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    all_up(&mut s, t0);
    checked(
        &mut s,
        "rtc-service",
        "grpc",
        ProbeState::NoHealthService,
        t0,
    );
    let rtc = s.plan.entry_named("rtc-service").unwrap();
    assert!(s.entry_state(rtc).is_up());
}

#[test]
fn navigation_moves_within_the_focused_table_and_clamps() {
    let mut s = demo_state(Instant::now());
    assert_eq!(selected_name(&s), "gateway-service");
    s.handle(Action::Down);
    s.handle(Action::Down);
    assert_eq!(selected_name(&s), "user-service");
    s.handle(Action::Up);
    assert_eq!(selected_name(&s), "auth-service");
    s.handle(Action::Bottom);
    assert_eq!(selected_name(&s), "admin-service");
    s.handle(Action::Down);
    assert_eq!(selected_name(&s), "admin-service");
    s.handle(Action::Top);
    assert_eq!(selected_name(&s), "gateway-service");
    s.handle(Action::NextPanel);
    assert_eq!(s.ui.focus, PanelKind::Infra);
    assert_eq!(selected_name(&s), "postgres");
    s.handle(Action::NextPanel);
    assert_eq!(s.ui.focus, PanelKind::Logs);
    assert_eq!(
        selected_name(&s),
        "postgres",
        "focusing the logs keeps the selection"
    );
    s.handle(Action::NextPanel);
    assert_eq!(s.ui.focus, PanelKind::Services);
    s.handle(Action::PrevPanel);
    assert_eq!(s.ui.focus, PanelKind::Logs);
}

#[test]
fn filter_narrows_rows_and_keeps_a_visible_selection() {
    let mut s = demo_state(Instant::now());
    s.handle(Action::Filter);
    assert_eq!(s.ui.mode, Mode::Filter);
    for c in "sess".chars() {
        s.handle(Action::FilterChar(c));
    }
    assert_eq!(s.rows(PanelKind::Services).len(), 1);
    assert_eq!(selected_name(&s), "session-service");
    // q while typing is text, not quit.
    s.handle(Action::FilterBackspace);
    assert_eq!(s.ui.filter, "ses");
    s.handle(Action::FilterDone);
    assert_eq!(s.ui.mode, Mode::Normal);
    assert_eq!(s.ui.filter, "ses");
    s.handle(Action::Back);
    assert_eq!(s.ui.filter, "");
    assert_eq!(s.rows(PanelKind::Services).len(), 12);
}

#[test]
fn grouping_adds_headings_and_selection_skips_them() {
    let mut s = demo_state(Instant::now());
    s.handle(Action::ToggleGroups);
    assert!(s.ui.grouped);
    assert_eq!(s.rows(PanelKind::Services)[0], Row::Group("core".into()));
    s.handle(Action::Bottom);
    s.handle(Action::Up);
    // Groups are core, social, message, extension: above admin (last) is rtc, then file.
    assert_eq!(selected_name(&s), "rtc-service");
}

#[test]
fn help_and_quit_modes() {
    let mut s = demo_state(Instant::now());
    s.handle(Action::Help);
    assert_eq!(s.ui.mode, Mode::Help);
    s.handle(Action::Down);
    assert_eq!(
        selected_name(&s),
        "gateway-service",
        "keys other than close are ignored under help"
    );
    s.handle(Action::Quit);
    assert_eq!(s.ui.mode, Mode::Normal);
    assert!(!s.ui.quit, "q closes help first");
    s.handle(Action::Quit);
    assert!(s.ui.quit);
}

#[test]
fn click_selects_the_row_under_the_mouse_and_wheel_scrolls() {
    let mut s = demo_state(Instant::now());
    let (_, area) = s
        .areas()
        .into_iter()
        .find(|(k, _)| *k == PanelKind::Services)
        .unwrap();
    // Border, header, then rows: the fourth row is friend-service.
    s.handle(Action::Click {
        column: area.x + 3,
        row: area.y + 2 + 3,
    });
    assert_eq!(selected_name(&s), "friend-service");
    let (_, infra) = s
        .areas()
        .into_iter()
        .find(|(k, _)| *k == PanelKind::Infra)
        .unwrap();
    s.handle(Action::Click {
        column: infra.x + 3,
        row: infra.y + 3,
    });
    assert_eq!(s.ui.focus, PanelKind::Infra);
    assert_eq!(selected_name(&s), "redis");
    s.handle(Action::ScrollDown {
        column: infra.x + 3,
        row: infra.y + 3,
    });
    assert_eq!(selected_name(&s), "prometheus");
}

#[test]
fn small_terminal_scrolls_to_keep_the_selection_visible() {
    let mut s = demo_state(Instant::now());
    s.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    s.handle(Action::Bottom);
    let (_, area) = s
        .areas()
        .into_iter()
        .find(|(k, _)| *k == PanelKind::Services)
        .unwrap();
    let height = usize::from(area.height - 3);
    assert!(height < 12, "the test needs a table smaller than the plan");
    assert_eq!(s.offset(PanelKind::Services), 12 - height);
    s.handle(Action::Top);
    assert_eq!(s.offset(PanelKind::Services), 0);
}

#[test]
fn cycling_layouts_wraps_and_detail_switches_to_a_layout_with_one() {
    let mut s = demo_state(Instant::now());
    let names: Vec<String> = (0..6)
        .map(|_| {
            s.handle(Action::CycleLayout);
            s.layout().name.clone()
        })
        .collect();
    assert_eq!(
        names,
        [
            "compact", "focus", "ports", "metrics", "explorer", "default"
        ]
    );
    s.handle(Action::CycleLayout);
    assert_eq!(s.layout().name, "compact");
    s.handle(Action::Detail);
    assert!(
        s.areas().iter().any(|(k, _)| *k == PanelKind::Detail),
        "{}",
        s.layout().name
    );
}

#[test]
fn redraw_only_when_something_visible_changed() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let tick = |s: &mut State, ms: u64| s.apply(Update::Tick { at: at(ms) });
    assert!(!tick(&mut s, 300), "nothing changed");
    assert!(!tick(&mut s, 1100), "no age on screen counts seconds yet");
    // A change of state is drawn at once; its age then counts seconds, a frame a second.
    all_up(&mut s, at(1200));
    assert!(checked(
        &mut s,
        "auth-service",
        "http",
        ProbeState::Down,
        at(1500)
    ));
    s.mark_drawn(at(1500));
    assert!(!tick(&mut s, 1900), "the same second");
    assert!(tick(&mut s, 2100), "the age rolls over");
    s.mark_drawn(at(2100));
    // A new latency waits: drawn by the next frame, or on its own once stale.
    let t = 100_000;
    assert!(!checked(
        &mut s,
        "auth-service",
        "http",
        ProbeState::Down,
        at(t)
    ));
    s.mark_drawn(at(t));
    assert!(!checked(
        &mut s,
        "auth-service",
        "http",
        ProbeState::Down,
        at(t + 100)
    ));
    assert!(
        !tick(&mut s, t + 500),
        "ages are in minutes now, the latency can wait"
    );
    assert!(
        tick(&mut s, t + 1100),
        "stale after a second without a frame"
    );
    s.mark_drawn(at(t + 1100));
    assert!(!tick(&mut s, t + 2100), "nothing new since the last frame");
    // Figures too; a change too small to show is no change.
    assert!(!s.apply(Update::SelfUsageMeasured {
        cpu_percent: 0.3,
        rss_bytes: 10 << 20
    }));
    assert!(tick(&mut s, t + 3200));
    s.mark_drawn(at(t + 3200));
    assert!(!s.apply(Update::SelfUsageMeasured {
        cpu_percent: 0.31,
        rss_bytes: (10 << 20) + 5
    }));
    assert!(!tick(&mut s, t + 4300));
    // Log lines: a frame only when the logs panel shows them.
    let line = |text: &str| crate::message::LogLine {
        stream: crate::message::Stream::Stdout,
        text: text.into(),
        truncated: false,
    };
    let gateway = s.plan.entry_named("gateway-service").unwrap();
    let auth = s.plan.entry_named("auth-service").unwrap();
    assert_eq!(s.ui.selected, Some(gateway));
    assert!(s.apply(Update::LogLines {
        entry: gateway,
        lines: vec![line("shown")],
        dropped: 0
    }));
    assert!(!s.apply(Update::LogLines {
        entry: auth,
        lines: vec![line("not shown")],
        dropped: 0
    }));
    s.handle(Action::MergedLogs);
    assert!(s.apply(Update::LogLines {
        entry: auth,
        lines: vec![line("merged")],
        dropped: 0
    }));
    while s.layout().name != "compact" {
        s.handle(Action::CycleLayout);
    }
    assert!(!s.apply(Update::LogLines {
        entry: auth,
        lines: vec![line("no logs panel")],
        dropped: 0
    }));
}

#[test]
fn the_logs_panel_scrolls_searches_and_merges() {
    use crate::logs::{LogScroll, LogView};
    use crate::message::{LogLine, Stream};
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    let gateway = s.plan.entry_named("gateway-service").unwrap();
    let auth = s.plan.entry_named("auth-service").unwrap();
    let lines = |prefix: &str, n: usize| -> Vec<LogLine> {
        (0..n)
            .map(|i| LogLine {
                stream: Stream::Stdout,
                text: format!("{prefix} line {i}"),
                truncated: false,
            })
            .collect()
    };
    s.apply(Update::LogLines {
        entry: gateway,
        lines: lines("gateway", 100),
        dropped: 0,
    });
    s.apply(Update::LogLines {
        entry: auth,
        lines: lines("auth", 10),
        dropped: 0,
    });
    // Shift-Tab from the services goes to the logs panel: arrows scroll the logs, not the table.
    s.handle(Action::PrevPanel);
    assert_eq!(s.ui.focus, PanelKind::Logs);
    assert_eq!(s.log_view(), LogView::Entry(gateway));
    assert_eq!(s.ui.log_scroll, LogScroll::Follow);
    s.handle(Action::Up);
    assert!(
        matches!(s.ui.log_scroll, LogScroll::At { .. }),
        "{:?}",
        s.ui.log_scroll
    );
    assert_eq!(s.ui.selected, Some(gateway), "the selection did not move");
    s.handle(Action::Bottom);
    assert_eq!(s.ui.log_scroll, LogScroll::Follow);
    s.handle(Action::Top);
    assert_eq!(
        s.ui.log_scroll,
        LogScroll::At {
            top: s.logs.first_number(LogView::Entry(gateway))
        }
    );
    // `/` searches the logs while they have the focus.
    s.handle(Action::Filter);
    for c in "line 9".chars() {
        s.handle(Action::FilterChar(c));
    }
    assert_eq!(s.ui.filter, "", "the table filter is untouched");
    assert_eq!(
        s.ui.log_search.as_ref().map(|x| x.count()),
        Some(11),
        "line 9 and 90-99"
    );
    s.handle(Action::FilterDone);
    // New lines are searched before the next frame.
    s.apply(Update::LogLines {
        entry: gateway,
        lines: vec![LogLine {
            stream: Stream::Stderr,
            text: "late line 9".into(),
            truncated: false,
        }],
        dropped: 0,
    });
    s.before_draw();
    assert_eq!(s.ui.log_search.as_ref().map(|x| x.count()), Some(12));
    // Merged: every service's lines, searched again.
    s.handle(Action::MergedLogs);
    assert_eq!(s.log_view(), LogView::Merged);
    assert_eq!(
        s.ui.log_search.as_ref().map(|x| x.count()),
        Some(13),
        "auth line 9 too"
    );
    s.handle(Action::Back);
    assert!(s.ui.log_search.is_none());
}

#[test]
fn a_batch_of_results_is_applied_like_the_results_one_by_one() {
    let t0 = Instant::now();
    let mut one_by_one = demo_state(t0);
    let mut batched = demo_state(t0);
    all_up(&mut one_by_one, t0);
    all_up(&mut batched, t0);
    let t1 = t0 + Duration::from_secs(1);
    let results: Vec<(TargetId, ProbeResult, Instant)> = (0..batched.plan.targets.len())
        .map(|i| {
            let r = ProbeResult::new(
                ProbeState::Up,
                Duration::from_micros(900 + i as u64),
                "HTTP 200",
            );
            (TargetId(i), r, t1)
        })
        .collect();
    for (target, result, at) in results.clone() {
        one_by_one.apply(Update::HealthChecked { target, result, at });
    }
    batched.apply(Update::HealthBatch { results });
    for i in 0..batched.plan.targets.len() {
        let (a, b) = (&one_by_one.targets[i], &batched.targets[i]);
        assert_eq!(a.state, b.state);
        assert_eq!(
            a.last.as_ref().map(|r| r.latency),
            b.last.as_ref().map(|r| r.latency)
        );
    }
    assert_eq!(batched.counts(), (20, 0));
}

#[test]
fn the_built_in_plan_in_a_small_terminal_gets_the_compact_layout_until_it_grows() {
    let mut s = super::procs_tests::anychat_state(Instant::now());
    let resize = |s: &mut State, width, height| {
        s.handle(Action::Resize { width, height });
    };
    resize(&mut s, 80, 24);
    assert_eq!(s.layout().name, "compact");
    assert_eq!(s.layout_note().as_deref(), Some("default needs 100×30"));
    assert_eq!(s.too_small(), None);
    resize(&mut s, 100, 30);
    assert_eq!(s.layout().name, "default");
    assert_eq!(s.layout_note(), None);
    resize(&mut s, 59, 40);
    assert_eq!(s.too_small(), Some((60, 16)));
    // `L` is the user's choice: it stays at any size.
    resize(&mut s, 160, 48);
    s.handle(Action::CycleLayout);
    let chosen = s.layout().name.clone();
    assert_ne!(chosen, "default");
    resize(&mut s, 80, 24);
    resize(&mut s, 200, 60);
    assert_eq!(s.layout().name, chosen);
    assert!(s.ui.layout_pinned);
}
