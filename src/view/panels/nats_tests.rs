//! Snapshots of the NATS panel on captured pages, reachable and not, at 80×24 and 160×48.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::collect::nats::decode::{Connz, decode};
use crate::collect::nats::{NatsFact, NatsSnapshot};
use crate::plan::EntryId;
use crate::view::panels::metrics::tests::text;

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/nats/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    decode(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn snapshot(extra: u64) -> NatsSnapshot {
    let mut varz: crate::collect::nats::decode::Varz = fixture("varz.json");
    varz.in_msgs += extra * 50;
    varz.out_msgs += extra * 90;
    varz.in_bytes += extra * 2_400;
    varz.out_bytes += extra * 4_400;
    let mut connz: Connz = fixture("connz.json");
    connz.connections[2].in_msgs += extra * 50;
    connz.connections[0].out_msgs += extra * 45;
    connz.connections[1].out_msgs += extra * 45;
    NatsSnapshot {
        varz,
        connz: Ok(connz),
        subsz: Ok(fixture("subsz.json")),
        jsz: Ok(fixture("jsz.json")),
        healthz: Ok(fixture("healthz.json")),
    }
}

fn render(state: &NatsState, hint: Option<&str>, now: Instant, (w, h): (u16, u16)) -> String {
    let names = vec!["gateway-service", "message-service", "push-service"];
    let panel = NatsPanel {
        nats: state,
        names,
        address: "127.0.0.1:8222",
        hint,
        offset: 0,
        now,
        focused: false,
        theme: Theme { color: false },
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    (&panel).render(buf.area, &mut buf);
    text(&buf)
}

#[test]
fn nats_panel_snapshots() {
    let t0 = Instant::now();
    let mut s = NatsState::default();
    for i in 0..12u64 {
        let at = t0 + Duration::from_secs(2 * i);
        s.apply(
            &NatsFact {
                at,
                outcome: Ok(snapshot(i * i % 7 + i)),
            },
            at,
        );
    }
    s.set_owners(
        BTreeMap::from([
            ("127.0.0.1:60924".parse().expect("addr"), 101),
            ("127.0.0.1:60930".parse().expect("addr"), 102),
            ("127.0.0.1:60946".parse().expect("addr"), 555),
        ]),
        BTreeMap::from([(101, EntryId(0)), (102, EntryId(1))]),
    );
    let now = t0 + Duration::from_secs(23);
    for size in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(
            format!("nats_{}x{}", size.0, size.1),
            render(&s, None, now, size)
        );
    }
    // Then the server goes away: the error on top, the last values below.
    let gone = t0 + Duration::from_secs(25);
    s.apply(
        &NatsFact {
            at: gone,
            outcome: Err("Connection refused (os error 111)".into()),
        },
        gone,
    );
    insta::assert_snapshot!("nats_gone_80x24", render(&s, None, gone, (80, 24)));
}

#[test]
fn nats_panel_never_reached() {
    let t0 = Instant::now();
    let mut s = NatsState::default();
    s.apply(
        &NatsFact {
            at: t0,
            outcome: Err("Connection refused (os error 111)".into()),
        },
        t0,
    );
    let hint =
        "nats-server is not installed: apt-get install nats-server (the demo then starts one)";
    for size in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(
            format!("nats_unreachable_{}x{}", size.0, size.1),
            render(&s, Some(hint), t0, size)
        );
    }
}
