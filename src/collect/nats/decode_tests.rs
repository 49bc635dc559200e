//! The decoders on pages captured from nats-server 2.9.10.

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/nats/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn varz() {
    let v: Varz = decode(&fixture("varz.json")).expect("varz decodes");
    assert_eq!(v.version, "2.9.10");
    assert_eq!(v.uptime(), Some(Duration::from_secs(24)));
    assert_eq!((v.connections, v.subscriptions), (3, 58));
    assert_eq!(
        (v.in_msgs, v.out_msgs, v.in_bytes, v.out_bytes),
        (344, 644, 16483, 32493)
    );
    assert_eq!((v.mem, v.cores, v.port), (13_668_352, 2, 4222));
}

#[test]
fn connz() {
    let c: Connz = decode(&fixture("connz.json")).expect("connz decodes");
    assert_eq!(c.connections.len(), 3);
    let gw = &c.connections[0];
    assert_eq!(
        (gw.cid, gw.name.as_str(), gw.port),
        (4, "anychat-gateway", 60924)
    );
    assert_eq!(parse_go_duration(&gw.rtt), Some(Duration::from_micros(220)));
    assert_eq!((gw.out_msgs, gw.subscriptions), (330, 3));
    let empty: Connz = decode(&fixture("connz_empty.json")).expect("empty connz");
    assert!(empty.connections.is_empty());
    let subs: Connz = decode(&fixture("connz_subs.json")).expect("connz?subs=1");
    assert_eq!(subs.connections.len(), c.connections.len());
    let closed: Connz = decode(&fixture("connz_closed.json")).expect("closed connz");
    assert!(!closed.connections.is_empty());
}

#[test]
fn subsz_jsz_healthz() {
    let s: Subsz = decode(&fixture("subsz.json")).expect("subsz");
    assert_eq!((s.num_subscriptions, s.max_fanout), (58, 3));
    let j: Jsz = decode(&fixture("jsz.json")).expect("jsz");
    assert_eq!(
        j.summary(),
        JetStream::Streams {
            streams: 1,
            consumers: 1,
            messages: 300,
            bytes: 27380
        }
    );
    let off: Jsz = decode(&fixture("jsz_jetstream_disabled.json")).expect("jsz disabled");
    assert_eq!(off.summary(), JetStream::Disabled);
    assert_eq!(off.summary().to_string(), "JetStream disabled");
    let mut none = j.clone();
    none.streams = 0;
    assert_eq!(none.summary().to_string(), "JetStream enabled, no streams");
    let h: Healthz = decode(&fixture("healthz.json")).expect("healthz");
    assert!(h.ok());
}

#[test]
fn broken_pages_are_errors() {
    assert!(decode::<Varz>(b"").is_err());
    assert!(decode::<Varz>(b"404 page not found\n").is_err());
    assert!(decode::<Connz>(&fixture("connz_bad_sort.http")).is_err());
    assert!(decode::<Connz>(br#"{"connections":[{"cid":"x"}]}"#).is_err());
    let cut = fixture("varz.json");
    assert!(decode::<Varz>(&cut[..cut.len() / 2]).is_err());
}
