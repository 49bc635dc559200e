//! Snapshots of the metrics and explorer layouts as the dashboard draws them from a `State`
//! (scraped, log-derived and Prometheus metrics; NATS from captured pages), at 80×24 and 160×48.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::action::Action;
use crate::collect::nats::decode::decode;
use crate::collect::nats::{NatsFact, NatsSnapshot};
use crate::keymap::Keymap;
use crate::message::Update;
use crate::state::State;
use crate::state::tests::demo_state;
use crate::view::theme::Theme;
use crate::view::{ViewContext, draw};

fn nats_page<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/nats/{name}", env!("CARGO_MANIFEST_DIR"));
    decode(&std::fs::read(&path).unwrap()).unwrap()
}

fn nats_poll(at: Instant, extra: u64) -> Update {
    let mut varz: crate::collect::nats::decode::Varz = nats_page("varz.json");
    varz.in_msgs += 40 * extra;
    varz.out_msgs += 120 * extra;
    varz.in_bytes += 2000 * extra;
    varz.out_bytes += 6000 * extra;
    Update::NatsPolled(Box::new(NatsFact {
        at,
        outcome: Ok(NatsSnapshot {
            varz,
            connz: Ok(nats_page("connz.json")),
            subsz: Ok(nats_page("subsz.json")),
            jsz: Ok(nats_page("jsz.json")),
            healthz: Ok(nats_page("healthz.json")),
        }),
    }))
}

/// The demo plan with the metrics panel's scene (endpoint, failing, logs, Prometheus) and a
/// NATS server polled five times, 2 s apart.
fn scene() -> State {
    let (_, metrics, now) = crate::view::panels::metrics::tests::scene();
    let mut s = demo_state(now - Duration::from_secs(40));
    s.metrics = metrics;
    for k in 0..5u64 {
        s.apply(nats_poll(now - Duration::from_secs(10 - 2 * k), k));
    }
    s.apply(Update::Tick { at: now });
    s
}

fn shot(s: &mut State, layout: &str, (w, h): (u16, u16)) -> String {
    let i = s.layouts.iter().position(|l| l.name == layout).unwrap();
    s.pin_layout(i);
    s.handle(Action::Resize {
        width: w,
        height: h,
    });
    let ctx = ViewContext::new(
        Theme { color: false },
        Keymap::default_keymap().help(),
        jiff::tz::TimeZone::UTC,
    );
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, s, &ctx)).unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn metrics_and_explorer_layouts() {
    for size in [(80, 24), (160, 48)] {
        let mut s = scene();
        let metrics = shot(&mut s, "metrics", size);
        assert!(metrics.contains("auth-service") && metrics.contains("nats-server"));
        insta::assert_snapshot!(format!("live_metrics_{}x{}", size.0, size.1), metrics);
        // auth-service chosen in the metrics panel, then its families in the explorer.
        let auth = s.plan.entry_named("auth-service").unwrap();
        s.ui.selected = Some(auth);
        s.ui.focus = crate::layout::PanelKind::Metrics;
        s.handle(Action::Detail);
        s.handle(Action::Down);
        let explorer = shot(&mut s, "explorer", size);
        assert!(explorer.contains("Explorer: auth-service"), "{explorer}");
        insta::assert_snapshot!(format!("live_explorer_{}x{}", size.0, size.1), explorer);
    }
}

#[test]
fn nats_missing_says_how_to_get_it() {
    let t0 = Instant::now();
    let mut s = demo_state(t0);
    s.metrics_ui.nats_hint = Some(crate::metrics::demo_nats::MISSING_HINT.into());
    s.apply(Update::NatsPolled(Box::new(NatsFact {
        at: t0,
        outcome: Err("/varz: HTTP 404".into()),
    })));
    let screen = shot(&mut s, "metrics", (80, 24));
    assert!(screen.contains("nats-server is not installed"), "{screen}");
    insta::assert_snapshot!("live_nats_missing_80x24", screen);
}
