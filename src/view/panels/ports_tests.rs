//! Snapshots of the ports panel at 80×24 and 160×48, and the rule that numbers are never cut.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::*;
use crate::state::ports::tests::{ScanBuilder, demo_plan, owner};
use crate::state::ports::{OurProcess, PortsState};

const PROXY: &str = "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 5432 -container-ip 172.17.0.2 -container-port 5432";

/// Gateway ours, a squatter on auth's HTTP port, a stale stub on friend's gRPC port, a hidden
/// holder on user's HTTP port, a container on postgres, and an unplanned listener.
fn scene(foreign_pid: u32) -> PortsState {
    let t0 = Instant::now();
    let mut s = PortsState::new(demo_plan());
    let gateway = s.plan().entry_named("gateway-service").unwrap();
    s.set_ours(
        vec![OurProcess {
            entry: gateway,
            pid: 500,
            since: t0,
        }],
        t0,
    );
    let stub = |name: &str| format!("/work/target/debug/anychat-stub --name {name}");
    s.apply(
        ScanBuilder::default()
            .on(
                "127.0.0.1:8080",
                Some(owner(500, &stub("gateway-service"), 1)),
            )
            .on(
                "127.0.0.1:2112",
                Some(owner(500, &stub("gateway-service"), 1)),
            )
            .on(
                "0.0.0.0:8001",
                Some(owner(
                    foreign_pid,
                    "/usr/bin/python3 -m http.server 8001",
                    1,
                )),
            )
            .on(
                "127.0.0.1:9003",
                Some(owner(600, &stub("friend-service"), 1)),
            )
            .on("0.0.0.0:8002", None)
            .on("0.0.0.0:5432", Some(owner(900, PROXY, 1)))
            .on("127.0.0.1:8099", Some(owner(1300, "nc -l 8099", 1)))
            .build(),
        t0,
    );
    s
}

fn render(s: &PortsState, selected: Option<usize>, (w, h): (u16, u16)) -> String {
    let panel = PortsPanel {
        ports: s,
        selected,
        focused: true,
        theme: Theme { color: false },
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    (&panel).render(buf.area, &mut buf);
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn ports_panel_at_both_sizes() {
    let s = scene(4242);
    for (w, h) in [(80, 24), (160, 48)] {
        let shot = render(&s, Some(1), (w, h));
        assert!(shot.contains("✗ taken"), "{shot}");
        insta::assert_snapshot!(format!("ports_{w}x{h}"), shot);
    }
}

#[test]
fn the_selection_scrolls_into_view_down_to_the_unplanned_listeners() {
    let s = scene(4242);
    let last = s.rows().len() + s.unplanned().len() - 1;
    let shot = render(&s, Some(last), (80, 24));
    assert!(shot.contains("8099 127.0.0.1"), "{shot}");
    assert!(shot.contains("nc -l 8099 (root)"), "{shot}");
    assert!(
        !shot.contains(" 8080 gateway-service"),
        "scrolled past the first rows\n{shot}"
    );
}

#[test]
fn numbers_are_shown_whole_or_as_an_ellipsis() {
    let s = scene(4_194_301);
    for w in [40u16, 50, 56, 60, 80] {
        let shot = render(&s, None, (w, 24));
        let auth = shot
            .lines()
            .find(|l| l.contains("8001"))
            .unwrap_or_else(|| panic!("no 8001 at width {w}\n{shot}"));
        let whole = auth.contains("4194301");
        let hidden = !auth.contains("419");
        assert!(whole || hidden, "pid cut at width {w}: {auth:?}");
        // Ports too: every planned port is either whole or absent, never a prefix.
        assert!(!shot.contains(" 800 "), "{shot}");
    }
    let narrow = render(&s, None, (50, 24));
    let auth = narrow.lines().find(|l| l.contains("8001")).unwrap();
    assert!(auth.contains('…'), "{auth:?}");
}

#[test]
fn before_any_scan_every_port_is_unknown_not_free() {
    let s = PortsState::new(demo_plan());
    let shot = render(&s, None, (80, 24));
    assert!(shot.contains("… unknown"), "{shot}");
    assert!(!shot.contains("free"), "{shot}");
    let scanned = render(&scene(4242), None, (80, 24));
    assert!(scanned.contains("· free"), "{scanned}");
}

#[test]
fn control_characters_in_a_command_line_are_neutralised() {
    assert_eq!(cut("evil\x1b]52;c;AAAA\x07", 40), "evil?]52;c;AAAA?");
    assert_eq!(cut("abcdef", 4), "abc…");
    assert_eq!(number(Some(123456), 5), "    …");
    assert_eq!(number(Some(12345), 5), "12345");
}

#[test]
fn a_failed_scan_is_said_in_the_title_and_every_port_is_unknown() {
    let mut s = PortsState::new(demo_plan());
    let mut scan = ScanBuilder::default().build();
    scan.error = Some("netlink sock_diag: EPERM; /proc/net/tcp: permission denied".into());
    s.apply(scan, Instant::now());
    let text = render(&s, None, (100, 12));
    assert!(
        text.contains(
            "Ports: scan failed: netlink sock_diag: EPERM; /proc/net/tcp: permission denied"
        ),
        "{text}"
    );
    assert!(text.contains("unknown") && !text.contains("free"), "{text}");
}
