//! Snapshots of the services table and the detail panel with a remote entry (its host in the
//! PROCESS column) and a service not built (said instead of a process), at 80×24.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::panels;
use super::theme::Theme;
use crate::action::Action;
use crate::health::{ProbeResult, ProbeState};
use crate::layout::{PanelKind, builtin_layouts};
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::message::Update;
use crate::plan::TargetId;
use crate::state::State;

fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn panel(widget: impl Widget, (w, h): (u16, u16)) -> String {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    widget.render(buf.area, &mut buf);
    text(&buf)
}

/// A remote auth on 127.0.0.2 (up), a local one whose `bin/` program is missing, a worker.
fn scene() -> State {
    let root = tempfile::tempdir().unwrap();
    let text = "[[service]]\nname = \"far-auth\"\nhost = \"127.0.0.2\"\nhttp_port = 18001\n\
                grpc_port = 19001\n\n\
                [[service]]\nname = \"auth-service\"\ncommand = [\"bin/auth-service\"]\n\
                http_port = 18101\ngrpc_port = 19101\n\n\
                [[service]]\nname = \"mailer\"\ncommand = [\"bin/mailer\"]\n";
    let source = Source {
        path: "team.toml".into(),
        text: text.into(),
    };
    let mut plan = build_plan(
        &[source],
        &PlanOptions {
            port_offset: 0,
            root: Some(root.path().to_path_buf()),
        },
    )
    .unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    std::fs::write(root.path().join("bin/mailer"), "").unwrap();
    crate::checkout::mark_unbuilt(&mut plan);
    let t0 = Instant::now();
    let mut s = State::new(
        Arc::new(plan),
        builtin_layouts(),
        Duration::from_secs(1),
        t0,
    );
    for (i, state) in [
        ProbeState::Up,
        ProbeState::Up,
        ProbeState::Down,
        ProbeState::Down,
    ]
    .into_iter()
    .enumerate()
    {
        s.apply(Update::HealthChecked {
            target: TargetId(i),
            result: ProbeResult {
                state,
                latency: Duration::from_micros(700),
                detail: match (i, state) {
                    (_, ProbeState::Down) => "connection refused".into(),
                    (1, _) => "SERVING".into(),
                    _ => "HTTP 200".into(),
                },
            },
            at: t0,
        });
    }
    s.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    s
}

#[test]
fn a_remote_row_shows_its_host_and_an_unbuilt_one_says_so() {
    let mut s = scene();
    let theme = Theme { color: false };
    let table = panel(
        &panels::table::TablePanel {
            state: &s,
            kind: PanelKind::Services,
            theme,
        },
        (80, 8),
    );
    assert!(table.contains("@127.0.0.2"), "{table}");
    assert!(table.contains("not built"), "{table}");
    insta::assert_snapshot!("not_startable_services_80x8", table);
    s.handle(Action::Top);
    let remote = panel(&panels::detail::DetailPanel { state: &s, theme }, (80, 10));
    assert!(
        remote.contains("host 127.0.0.2: probed, never started here"),
        "{remote}"
    );
    insta::assert_snapshot!("not_startable_detail_remote_80x10", remote);
    s.handle(Action::Down);
    let unbuilt = panel(&panels::detail::DetailPanel { state: &s, theme }, (80, 10));
    assert!(
        unbuilt.contains("command not built: run `mage build:all`"),
        "{unbuilt}"
    );
}
