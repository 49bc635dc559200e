//! Snapshots of container rows in the infra table and the detail panel (the built-in plan,
//! containers in every state), and of the engine's trouble in the infra panel.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::action::Action;
use crate::collect::docker::{
    ContainerInfo, ContainerState, ContainerUsage, DockerFact, EngineHealth, EngineProblem,
    MatchedBy, PublishedPort,
};
use crate::health::ProbeState;
use crate::layout::PanelKind;
use crate::message::Update;
use crate::state::State;
use crate::state::tests::checked;
use crate::view::panels::detail::DetailPanel;
use crate::view::panels::table::TablePanel;
use crate::view::theme::Theme;

/// The built-in AnyChat plan shifted by 20000.
fn anychat_state(now: Instant) -> State {
    let opts = crate::manifest::PlanOptions {
        port_offset: 20000,
        ..Default::default()
    };
    let plan = crate::manifest::build_plan(&[crate::manifest::Source::anychat()], &opts).unwrap();
    State::new(
        std::sync::Arc::new(plan),
        crate::layout::builtin_layouts(),
        Duration::from_secs(1),
        now,
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

fn render(widget: impl Widget, (w, h): (u16, u16)) -> String {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    widget.render(buf.area, &mut buf);
    text(&buf)
}

fn fact(s: &mut State, fact: DockerFact) {
    s.apply(Update::Docker(Box::new(fact)));
}

fn seen(s: &mut State, entry: &str, state: ContainerState, health: EngineHealth, up: u64) {
    let e = s.plan.entry_named(entry).unwrap();
    let port = s.plan.targets[s.plan.entries[e.0].targets[0].0].port;
    let at = s.now;
    let info = ContainerInfo {
        id: format!("id-{entry}"),
        name: format!("anychat-{entry}"),
        matched_by: if entry == "nats" {
            MatchedBy::ComposeFile {
                project: "other".into(),
            }
        } else {
            MatchedBy::Name
        },
        image: "img".into(),
        state,
        health,
        started_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        ports: vec![PublishedPort {
            host_ip: "0.0.0.0".into(),
            host_port: port,
            container_port: port - 20000,
            protocol: "tcp".into(),
        }],
        compose_project: None,
        compose_service: None,
        oom_killed: false,
        restart_count: 0,
        error: None,
    };
    fact(
        s,
        DockerFact::ContainerSeen {
            entry: e,
            info,
            running_for: state.is_live().then_some(Duration::from_secs(up)),
            at,
        },
    );
}

/// The built-in plan: postgres healthy, redis running with its port silent (flagged), nats
/// found under another project, minio exited, the rest missing.
fn scene() -> State {
    let t0 = Instant::now();
    let mut s = anychat_state(t0);
    fact(
        &mut s,
        DockerFact::Connected {
            host: "unix:///var/run/docker.sock".into(),
            engine_version: "20.10.24".into(),
            api_version: "1.41".into(),
        },
    );
    fact(
        &mut s,
        DockerFact::ComposeProgramFound {
            program: Some(vec!["docker-compose".into()]),
        },
    );
    seen(
        &mut s,
        "postgres",
        ContainerState::Running,
        EngineHealth::Healthy,
        3700,
    );
    seen(
        &mut s,
        "redis",
        ContainerState::Running,
        EngineHealth::None,
        45,
    );
    seen(
        &mut s,
        "nats",
        ContainerState::Running,
        EngineHealth::None,
        120,
    );
    seen(
        &mut s,
        "minio",
        ContainerState::Exited(1),
        EngineHealth::Unhealthy,
        0,
    );
    for entry in ["prometheus", "grafana", "jaeger", "livekit"] {
        let e = s.plan.entry_named(entry).unwrap();
        fact(
            &mut s,
            DockerFact::ContainerMissing {
                entry: e,
                foreign: vec![],
            },
        );
    }
    let postgres = s.plan.entry_named("postgres").unwrap();
    let now = s.now;
    fact(
        &mut s,
        DockerFact::UsageSampled {
            entry: postgres,
            container_id: "id-postgres".into(),
            usage: ContainerUsage {
                cpu_percent: Some(2.5),
                memory_bytes: Some(42 << 20),
                memory_limit_bytes: None,
            },
            at: now,
        },
    );
    let at = s.now;
    checked(&mut s, "postgres", "postgres", ProbeState::Up, at);
    checked(&mut s, "redis", "redis", ProbeState::Down, at);
    checked(&mut s, "nats", "client", ProbeState::Up, at);
    checked(&mut s, "nats", "monitor", ProbeState::Up, at);
    s.handle(Action::Resize {
        width: 160,
        height: 48,
    });
    s
}

fn infra(s: &State, size: (u16, u16)) -> String {
    render(
        &TablePanel {
            state: s,
            kind: PanelKind::Infra,
            theme: Theme { color: false },
        },
        size,
    )
}

fn detail_of(s: &mut State, entry: &str) -> String {
    s.ui.selected = s.plan.entry_named(entry);
    render(
        &DetailPanel {
            state: s,
            theme: Theme { color: false },
        },
        (70, 16),
    )
}

#[test]
fn container_rows_in_the_infra_table_at_80_and_120_columns() {
    let s = scene();
    insta::assert_snapshot!("containers_infra_80", infra(&s, (80, 12)));
    insta::assert_snapshot!("containers_infra_120", infra(&s, (120, 12)));
}

#[test]
fn container_detail_with_usage_flags_and_hints() {
    let mut s = scene();
    let postgres = detail_of(&mut s, "postgres");
    assert!(postgres.contains("engine health healthy"), "{postgres}");
    insta::assert_snapshot!("containers_detail_postgres", postgres);
    let redis = detail_of(&mut s, "redis");
    assert!(
        redis.contains("! running, but its port does not answer"),
        "{redis}"
    );
    insta::assert_snapshot!("containers_detail_redis", redis);
    let livekit = detail_of(&mut s, "livekit");
    assert!(livekit.contains("start creates it with:"), "{livekit}");
    assert!(
        livekit.contains("docker-compose -f deployments/docker-compose.yml -p deployments up"),
        "{livekit}"
    );
    let nats = detail_of(&mut s, "nats");
    assert!(nats.contains("found by compose file (project"), "{nats}");
}

#[test]
fn the_engines_trouble_fills_the_infra_panels_last_lines() {
    let mut s = scene();
    let at = s.now;
    fact(
        &mut s,
        DockerFact::Unavailable {
            host: "unix:///var/run/docker.sock".into(),
            problem: EngineProblem::PermissionDenied {
                socket: PathBuf::from("/var/run/docker.sock"),
                group: Some("docker".into()),
            },
            retry_in: Duration::from_secs(4),
        },
    );
    s.apply(Update::Tick { at });
    let shot = infra(&s, (80, 12));
    assert!(
        shot.contains("permission denied on /var/run/docker.sock"),
        "{shot}"
    );
    assert!(shot.contains("sudo usermod -aG docker"), "{shot}");
    insta::assert_snapshot!("containers_infra_engine_trouble_80", shot);
}

#[test]
fn a_layout_file_can_place_the_containers_panel() {
    let source = crate::manifest::Source {
        path: "infra.toml".into(),
        text: r#"
name = "infra"
description = "Docker beside the infra table"
[root]
direction = "vertical"
children = [
  { panel = "infra", ratio = 1 },
  { panel = "containers", ratio = 1 },
  { panel = "status", length = 1 },
]
"#
        .into(),
    };
    let layout = crate::layout::parse_layout(&source).unwrap();
    assert!(layout.panels().contains(&PanelKind::Containers));
    let mut s = scene();
    s.layouts.insert(0, layout);
    s.pin_layout(0);
    s.handle(Action::Resize {
        width: 100,
        height: 30,
    });
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    let ctx = crate::view::ViewContext::new(
        Theme { color: false },
        crate::keymap::Keymap::default_keymap().help(),
        jiff::tz::TimeZone::UTC,
    );
    terminal.draw(|f| crate::view::draw(f, &s, &ctx)).unwrap();
    let shot = text(terminal.backend().buffer());
    assert!(shot.contains("Docker 20.10.24 (API 1.41)"), "{shot}");
    insta::assert_snapshot!("containers_layout_100x30", shot);
}
