//! The NATS sub-state on captured pages: rates, sorting, attribution, unreachable servers.

use super::*;
use crate::collect::nats::NatsSnapshot;
use crate::collect::nats::decode::{Connz, Healthz, Jsz, decode};

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/nats/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    decode(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn snapshot() -> NatsSnapshot {
    NatsSnapshot {
        varz: fixture("varz.json"),
        connz: Ok(fixture("connz.json")),
        subsz: Ok(fixture("subsz.json")),
        jsz: Ok(fixture("jsz.json")),
        healthz: Ok(fixture("healthz.json")),
    }
}

fn ok(at: Instant, snap: NatsSnapshot) -> NatsFact {
    NatsFact {
        at,
        outcome: Ok(snap),
    }
}

#[test]
fn totals_and_connections_become_rates() {
    let mut s = NatsState::default();
    let t0 = Instant::now();
    s.apply(&ok(t0, snapshot()), t0);
    assert_eq!(s.flow, None, "one poll: no rate yet");
    assert_eq!(s.conns.len(), 3);
    assert!(s.conns.iter().all(|c| c.rates.is_none()));
    let mut next = snapshot();
    next.varz.in_msgs += 200;
    next.varz.out_bytes += 4000;
    let mut connz: Connz = fixture("connz.json");
    connz.connections[2].in_msgs += 200; // the publisher
    connz.connections[0].out_msgs += 100;
    next.connz = Ok(connz);
    let t1 = t0 + Duration::from_secs(2);
    s.apply(&ok(t1, next), t1);
    let flow = s.flow.expect("rates after two polls");
    assert_eq!(
        (flow.in_msgs, flow.out_bytes, flow.out_msgs),
        (100.0, 2000.0, 0.0)
    );
    assert_eq!(s.history[0].last(), Some(100.0));
    let publisher = s.conns.iter().find(|c| c.cid == 6).expect("cid 6");
    assert_eq!(publisher.rates.map(|r| r.in_msgs), Some(100.0));
    assert_eq!(publisher.rtt, Some(Duration::from_micros(220)));
    assert_eq!(
        s.jetstream.map(|j| j.to_string()).as_deref(),
        Some("JetStream: 1 stream(s), 1 consumer(s), 300 msgs")
    );
    assert_eq!(s.health, Some(Ok(())));
}

#[test]
fn sorts_like_nats_top() {
    let mut s = NatsState::default();
    let t0 = Instant::now();
    s.apply(&ok(t0, snapshot()), t0);
    let order = |s: &NatsState| s.conns.iter().map(|c| c.cid).collect::<Vec<_>>();
    // subs: 3, 2, 1.
    assert_eq!(order(&s), [4, 5, 6]);
    s.set_sort(ConnSort::MsgsFrom);
    assert_eq!(
        order(&s),
        [6, 4, 5],
        "publisher sent 344, the others 0 (tie by cid)"
    );
    s.set_sort(ConnSort::MsgsTo);
    assert_eq!(order(&s), [4, 5, 6], "330, 312, 2");
    s.set_sort(ConnSort::Cid);
    s.set_sort(ConnSort::Pending);
    assert_eq!(order(&s), [4, 5, 6], "all 0: by cid");
    s.set_sort(ConnSort::Cid);
    assert_eq!(order(&s), [4, 5, 6], "ascending, as nats-top");
    assert_eq!(ConnSort::Uptime.next(), ConnSort::Cid);
}

#[test]
fn connections_are_attributed_by_socket_owner() {
    let mut s = NatsState::default();
    let t0 = Instant::now();
    s.apply(&ok(t0, snapshot()), t0);
    let owners = BTreeMap::from([
        ("127.0.0.1:60924".parse().expect("addr"), 700),
        ("127.0.0.1:60930".parse().expect("addr"), 800),
        ("127.0.0.1:1".parse().expect("addr"), 900),
    ]);
    let entries = BTreeMap::from([(700, EntryId(3)), (900, EntryId(5))]);
    assert!(s.set_owners(owners.clone(), entries.clone()));
    let by_cid = |s: &NatsState, cid| {
        let c = s.conns.iter().find(|c| c.cid == cid).expect("conn");
        (c.pid, c.entry)
    };
    assert_eq!(by_cid(&s, 4), (Some(700), Some(EntryId(3))));
    assert_eq!(
        by_cid(&s, 5),
        (Some(800), None),
        "a process that is not an entry"
    );
    assert_eq!(by_cid(&s, 6), (None, None), "nobody here owns it");
    assert!(
        !s.set_owners(owners, entries),
        "same owners: nothing changed"
    );
    // A later poll keeps the attribution.
    let t1 = t0 + Duration::from_secs(2);
    s.apply(&ok(t1, snapshot()), t1);
    assert_eq!(by_cid(&s, 4), (Some(700), Some(EntryId(3))));
}

#[test]
fn unreachable_keeps_the_last_values() {
    let mut s = NatsState::default();
    let t0 = Instant::now();
    s.apply(&ok(t0, snapshot()), t0);
    let t1 = t0 + Duration::from_secs(2);
    let down = NatsFact {
        at: t1,
        outcome: Err("Connection refused (os error 111)".into()),
    };
    assert!(s.apply(&down, t1));
    assert!(
        s.last_error
            .as_ref()
            .is_some_and(|(_, e)| e.contains("refused"))
    );
    assert_eq!(s.varz.as_ref().map(|v| v.connections), Some(3));
    // Partial failures are listed, the rest applies; JetStream off and an unhealthy reply are shown.
    let mut snap = snapshot();
    snap.subsz = Err("/subsz: HTTP 500".into());
    snap.jsz = Ok(fixture::<Jsz>("jsz_jetstream_disabled.json"));
    snap.healthz = Ok(Healthz {
        status: "unavailable".into(),
        error: "JetStream has not finished recovery".into(),
    });
    let t2 = t1 + Duration::from_secs(2);
    s.apply(&ok(t2, snap), t2);
    assert_eq!(s.last_error, None);
    assert_eq!(s.page_errors, ["subsz: /subsz: HTTP 500"]);
    assert_eq!(s.jetstream, Some(JetStream::Disabled));
    assert_eq!(
        s.health,
        Some(Err("JetStream has not finished recovery".into()))
    );
}
