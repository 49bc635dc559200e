//! Snapshot tests of every panel and every shipped layout, at 80×24 and 160×48.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use super::*;
use crate::action::Action;
use crate::health::ProbeState;
use crate::keymap::Keymap;
use crate::message::Update;
use crate::state::ports::tests::{ScanBuilder, owner};
use crate::state::tests::{all_up, checked, demo_state_at};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// A state with everything up, auth's gRPC down later, and rtc without a health service.
fn scene() -> State {
    scene_at(0)
}

/// [`scene`] with the demo plan shifted by `offset`.
fn scene_at(offset: i32) -> State {
    let t0 = Instant::now();
    let mut s = demo_state_at(t0, offset);
    all_up(&mut s, t0);
    let t1 = t0 + Duration::from_secs(3);
    all_up(&mut s, t1);
    checked(&mut s, "auth-service", "grpc", ProbeState::Down, t1);
    checked(
        &mut s,
        "rtc-service",
        "grpc",
        ProbeState::NoHealthService,
        t1,
    );
    checked(&mut s, "minio", "console", ProbeState::Unhealthy, t1);
    // The port scanner: every service's HTTP port is held by a copy of it we did not start,
    // except friend-service's, taken by a python3 that does not speak HTTP.
    checked(&mut s, "friend-service", "http", ProbeState::Down, t1);
    let mut scan = ScanBuilder::default();
    for (i, e) in s.plan.entries.iter().enumerate() {
        let Some(http) = e
            .targets
            .iter()
            .find(|t| s.plan.targets[t.0].label == "http")
        else {
            continue;
        };
        if e.command.is_empty() {
            continue;
        }
        let port = s.plan.targets[http.0].port;
        let argv = if e.name == "friend-service" {
            format!("python3 -c import socket;socket.socket().bind(('',{port}))")
        } else {
            format!("anychat-stub --name {}", e.name)
        };
        scan = scan.on(
            &format!("0.0.0.0:{port}"),
            Some(owner(4200 + i as u32, &argv, 1)),
        );
    }
    s.apply(Update::PortsScanned {
        scan: Box::new(scan.build()),
        at: t1,
    });
    s.apply(Update::SelfUsageMeasured {
        cpu_percent: 0.4,
        rss_bytes: 12 << 20,
    });
    s.apply(Update::Tick {
        at: t1 + Duration::from_secs(65),
    });
    s.handle(Action::Down);
    s
}

fn ctx(color: bool) -> ViewContext {
    ViewContext::new(
        Theme { color },
        Keymap::default_keymap().help(),
        jiff::tz::TimeZone::UTC,
    )
}

fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(s: &mut State, (w, h): (u16, u16), color: bool) -> Buffer {
    s.handle(Action::Resize {
        width: w,
        height: h,
    });
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let ctx = ctx(color);
    terminal.draw(|f| draw(f, s, &ctx)).unwrap();
    terminal.backend().buffer().clone()
}

fn panel(widget: impl Widget, (w, h): (u16, u16)) -> String {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    widget.render(buf.area, &mut buf);
    text(&buf)
}

#[test]
fn every_layout_at_both_sizes() {
    for layout in ["default", "compact", "focus", "ports"] {
        for size in SIZES {
            let mut s = scene();
            let index = s.layouts.iter().position(|l| l.name == layout).unwrap();
            s.pin_layout(index);
            let shot = text(&screen(&mut s, size, true));
            insta::assert_snapshot!(format!("layout_{layout}_{}x{}", size.0, size.1), shot);
        }
    }
}

/// Every number that looks like a port in the table rows of a screen (a state symbol, a space,
/// then digits): none may be cut, so each must be a port of the plan.
fn table_ports(screen: &str) -> Vec<u32> {
    let mut ports = Vec::new();
    for line in screen.lines().filter(|l| l.starts_with('│')) {
        let chars: Vec<char> = line.chars().collect();
        for i in 0..chars.len().saturating_sub(2) {
            if "✓✗!○…".contains(chars[i]) && chars[i + 1] == ' ' && chars[i + 2].is_ascii_digit()
            {
                let digits: String = chars[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                ports.extend(digits.parse::<u32>().ok());
            }
        }
    }
    ports
}

#[test]
fn every_layout_at_three_sizes_with_five_digit_ports_never_cuts_a_port() {
    for layout in ["default", "compact", "focus"] {
        for size in [(80, 24), (100, 30), (160, 48)] {
            let mut s = scene_at(10_000);
            let index = s.layouts.iter().position(|l| l.name == layout).unwrap();
            s.pin_layout(index);
            let shot = text(&screen(&mut s, size, true));
            let planned: Vec<u32> = s.plan.targets.iter().map(|t| u32::from(t.port)).collect();
            let shown = table_ports(&shot);
            // The focus layout's narrow list shows names only.
            assert!(
                layout == "focus" || !shown.is_empty(),
                "{layout} {size:?} shows ports:\n{shot}"
            );
            for port in shown {
                assert!(
                    planned.contains(&port),
                    "{port} is not a planned port ({layout} {size:?}):\n{shot}"
                );
            }
            insta::assert_snapshot!(format!("five_digits_{layout}_{}x{}", size.0, size.1), shot);
        }
    }
}

#[test]
fn a_small_terminal_gets_a_layout_that_fits_and_the_preferred_one_back_when_it_grows() {
    let mut s = scene_at(10_000);
    assert!(!s.ui.layout_pinned);
    let shot = text(&screen(&mut s, (80, 24), true));
    assert_eq!(s.layout().name, "compact");
    assert!(
        shot.contains("compact (default needs 100×30) · ? help"),
        "{shot}"
    );
    let shot = text(&screen(&mut s, (120, 40), true));
    assert_eq!(s.layout().name, "default");
    assert!(!shot.contains("needs"), "{shot}");
    // Too small for every layout: it says so instead of drawing broken panels.
    let shot = text(&screen(&mut s, (50, 10), true));
    assert!(
        shot.contains("terminal too small (need 60×16, have 50×10)"),
        "{shot}"
    );
    assert!(!shot.contains("Services"), "{shot}");
    insta::assert_snapshot!("too_small_50x10", shot);
    // A layout the user chose stays, whatever the size.
    s.handle(Action::CycleLayout);
    let chosen = s.layout().name.clone();
    screen(&mut s, (80, 24), true);
    assert_eq!(s.layout().name, chosen);
    assert!(s.layout_note().is_none());
}

#[test]
fn each_panel_at_both_sizes() {
    let theme = Theme { color: true };
    for size in SIZES {
        let mut s = scene();
        s.handle(Action::Resize {
            width: size.0,
            height: size.1,
        });
        let suffix = format!("{}x{}", size.0, size.1);
        let services = panel(
            &panels::table::TablePanel {
                state: &s,
                kind: PanelKind::Services,
                theme,
            },
            size,
        );
        insta::assert_snapshot!(format!("services_{suffix}"), services);
        let infra = panel(
            &panels::table::TablePanel {
                state: &s,
                kind: PanelKind::Infra,
                theme,
            },
            size,
        );
        insta::assert_snapshot!(format!("infra_{suffix}"), infra);
        let detail = panel(&panels::detail::DetailPanel { state: &s, theme }, size);
        insta::assert_snapshot!(format!("detail_{suffix}"), detail);
        let alerts = panel(
            &panels::alerts::AlertsPanel { state: &s, theme },
            (size.0, 5),
        );
        insta::assert_snapshot!(format!("alerts_{suffix}"), alerts);
        let status = panel(&panels::status::StatusBar { state: &s, theme }, (size.0, 1));
        insta::assert_snapshot!(format!("status_{suffix}"), status);
        let help = Keymap::default_keymap().help();
        let overlay = panel(
            &panels::help::HelpOverlay {
                lines: &help,
                theme,
            },
            size,
        );
        insta::assert_snapshot!(format!("help_{suffix}"), overlay);
    }
}

#[test]
fn filter_prompt_and_filtered_table() {
    let mut s = scene();
    s.handle(Action::Filter);
    for c in "ser-".chars() {
        s.handle(Action::FilterChar(c));
    }
    let shot = text(&screen(&mut s, (80, 24), true));
    assert!(shot.contains("/ser-█"), "{shot}");
    assert!(shot.contains("user-service"), "{shot}");
    // The table (the alerts strip below may name any service).
    let table: Vec<&str> = shot.lines().take_while(|l| !l.starts_with('└')).collect();
    assert!(!table.iter().any(|l| l.contains("auth-service")), "{shot}");
}

#[test]
fn states_read_without_colour_and_no_color_drops_colours() {
    let mut s = scene();
    let coloured = screen(&mut s, (160, 48), true);
    let shot = text(&coloured);
    assert!(shot.contains("✗ auth-service"), "{shot}");
    assert!(shot.contains("✗ 9001"), "{shot}");
    assert!(shot.contains("○ 9009"), "{shot}");
    assert!(shot.contains("! 9091"), "{shot}");
    let red = coloured
        .content()
        .iter()
        .filter(|c| c.fg == Color::Red)
        .count();
    assert!(red > 0, "down states are red");
    let plain = screen(&mut s, (160, 48), false);
    assert_eq!(text(&plain), shot, "same text without colour");
    let coloured_cells = plain
        .content()
        .iter()
        .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
        .count();
    assert_eq!(coloured_cells, 0, "NO_COLOR leaves no colour");
}

/// On the built-in plan, PostgreSQL runs outside Docker (no container, a process holds its
/// port and answers): its row names the holder instead of saying only "missing".
#[test]
fn a_container_entry_served_by_another_process_names_it() {
    let t0 = Instant::now();
    let mut s = crate::state::procs_tests::anychat_state(t0);
    let postgres = s.plan.entry_named("postgres").unwrap();
    let port = s.plan.targets[s.plan.entries[postgres.0].targets[0].0].port;
    s.apply(Update::PortsScanned {
        scan: Box::new(
            ScanBuilder::default()
                .on(
                    &format!("127.0.0.1:{port}"),
                    Some(owner(4321, "postgres -D /var/lib/pg", 1)),
                )
                .build(),
        ),
        at: t0,
    });
    let shown = text(&screen(&mut s, (160, 48), false));
    let row = shown
        .lines()
        .find(|l| l.contains("✓ postgres") || l.contains(" postgres "))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(row.contains("ext 4321"), "{row}\n{shown}");
    let redis = shown.lines().find(|l| l.contains(" redis ")).unwrap();
    assert!(!redis.contains("ext "), "{redis}");
}

#[test]
fn a_port_taken_by_a_process_that_does_not_answer_names_it_in_the_row_not_down() {
    let mut s = scene();
    // The compact layout: the services table across the whole width.
    let compact = s.layouts.iter().position(|l| l.name == "compact").unwrap();
    s.pin_layout(compact);
    let wide = text(&screen(&mut s, (160, 48), true));
    let row = wide.lines().find(|l| l.contains("friend-service")).unwrap();
    assert!(row.contains("✗ taken by python3 (pid 4203)"), "{row}");
    let mut s = scene();
    let narrow = text(&screen(&mut s, (80, 24), true));
    let row = narrow
        .lines()
        .find(|l| l.contains("friend-service"))
        .unwrap();
    assert!(row.contains("✗ taken python3 4203"), "{row}");
    // The others are copies of the services not started here: "not supervised", with the pid.
    let auth = narrow
        .lines()
        .find(|l| l.contains("✗ auth-service"))
        .unwrap();
    assert!(auth.contains("ext 4201"), "{auth}");
}

/// `TZ` names the zone; without it `/etc/localtime` is read as it is; neither: UTC or the
/// system's.
#[test]
fn the_local_zone_comes_from_tz_then_the_localtime_file() {
    let shanghai = local_zone_from(Some(":Asia/Shanghai"), std::path::Path::new("/nonexistent"));
    let at = jiff::Timestamp::from_second(1_796_000_000).unwrap();
    assert_eq!(shanghai.to_offset(at).seconds(), 8 * 3600);
    assert_eq!(zone_label(&shanghai), "CST");
    // A TZif file given as the system's: read directly (the tz database's own copy of Tokyo).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("localtime");
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let Some(bytes) = tokyo
        .iana_name()
        .and_then(|n| std::fs::read(std::path::Path::new("/usr/share/zoneinfo").join(n)).ok())
    else {
        return; // no system tz database to copy from; the TZ case above still ran
    };
    std::fs::write(&file, bytes).unwrap();
    let local = local_zone_from(None, &file);
    assert_eq!(local.to_offset(at).seconds(), 9 * 3600);
    assert_eq!(
        local_zone_from(Some(""), &file).to_offset(at).seconds(),
        9 * 3600
    );
}

/// The built-in plan with nothing built yet (`--root` an empty directory): a foreign process on
/// a service's HTTP port is still named in its row and raised as a conflict, before the user
/// builds and starts the service.
#[test]
fn a_port_of_a_service_not_built_yet_held_by_a_foreign_process_is_named_and_a_conflict() {
    let t0 = Instant::now();
    let opts = crate::manifest::PlanOptions {
        port_offset: 20000,
        ..Default::default()
    };
    let mut plan =
        crate::manifest::build_plan(&[crate::manifest::Source::anychat()], &opts).unwrap();
    for e in plan.entries.iter_mut() {
        if e.kind == crate::plan::EntryKind::Service {
            e.command.clear();
            e.not_startable = Some("not built: run `mage build:all`".into());
        }
    }
    let mut s = State::new(
        std::sync::Arc::new(plan),
        crate::layout::builtin_layouts(),
        Duration::from_secs(1),
        t0,
    );
    s.apply(Update::PortsScanned {
        scan: Box::new(
            ScanBuilder::default()
                .on(
                    "127.0.0.1:28001",
                    Some(owner(25434, "python3 -m http.server", 1)),
                )
                .build(),
        ),
        at: t0,
    });
    let shown = text(&screen(&mut s, (80, 24), false));
    let auth = shown.lines().find(|l| l.contains("auth-service")).unwrap();
    assert!(auth.contains("taken python3 25434"), "{auth}\n{shown}");
    let user = shown.lines().find(|l| l.contains("user-service")).unwrap();
    assert!(user.contains("not built"), "{user}");
    assert_eq!(s.ports.conflicts().count(), 1);
    assert!(
        s.alerts
            .iter()
            .any(|a| a.text.contains("port conflict") && a.text.contains("25434")),
        "{:?}",
        s.alerts.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
}

/// The checkout's drift, said once in the alerts, stays counted in the status bar, also at 80×24.
#[test]
fn the_drift_count_stays_in_the_status_bar() {
    let mut s = scene();
    let before = text(&screen(&mut s, (160, 48), false));
    assert!(!before.contains("drift"), "{before}");
    s.ui.drift = 11;
    for size in [(160, 48), (80, 24)] {
        let shown = text(&screen(&mut s, size, false));
        let status = shown.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
        assert!(status.contains("drift 11"), "{size:?}: {status}");
    }
}
