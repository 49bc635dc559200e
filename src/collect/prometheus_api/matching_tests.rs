//! Matching tests on the built-in plans: unique addresses (demo), the shared 2112 (AnyChat),
//! services on other hosts, loose names, and one target kept per entry.

use super::*;
use crate::manifest::{PlanOptions, Source, build_plan};

fn plan(source: Source) -> Plan {
    build_plan(&[source], &PlanOptions::default()).expect("shipped plan builds")
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn target(instance: &str, job: &str, health: Health) -> ScrapeTarget {
    ScrapeTarget {
        labels: labels(&[("instance", instance), ("job", job)]),
        health,
        ..Default::default()
    }
}

fn metrics_target_of(plan: &Plan, entry: EntryId) -> TargetId {
    TargetId(
        plan.targets
            .iter()
            .position(|t| t.entry == entry && t.kind == ProbeKind::Metrics)
            .expect("a metrics target"),
    )
}

#[test]
fn unique_address_matches_by_instance_whatever_the_job() {
    let plan = plan(Source::demo());
    let m = PlanMatcher::new(&plan);
    let auth = plan.entry_named("auth-service").expect("auth");
    // The demo gives auth-service metrics port 2113; "localhost" is 127.0.0.1.
    for instance in ["127.0.0.1:2113", "localhost:2113", "[::1]:2113"] {
        let got = m.find(&labels(&[("instance", instance), ("job", "anychat")]));
        assert_eq!(
            got,
            Some(Match {
                entry: auth,
                target: Some(metrics_target_of(&plan, auth)),
                by: MatchedBy::Instance
            }),
            "{instance}"
        );
    }
    // Its HTTP port is its too: the plan target there is the HTTP one.
    let http = m
        .find(&labels(&[("instance", "127.0.0.1:8001")]))
        .expect("auth's http port");
    assert_eq!(http.entry, auth);
    let t = http.target.expect("a target");
    assert_eq!(plan.targets[t.0].port, 8001);
    // Another host at the same port is not the plan's address; no name either: no match.
    assert_eq!(m.find(&labels(&[("instance", "10.1.2.3:2113")])), None);
}

#[test]
fn shared_port_needs_the_name() {
    let plan = plan(Source::anychat());
    let m = PlanMatcher::new(&plan);
    let user = plan.entry_named("user-service").expect("user");
    // Every service claims 127.0.0.1:2112: the address alone says nothing.
    assert_eq!(m.find(&labels(&[("instance", "127.0.0.1:2112")])), None);
    assert_eq!(
        m.find(&labels(&[
            ("instance", "127.0.0.1:2112"),
            ("job", "nobody")
        ])),
        None
    );
    let got = m
        .find(&labels(&[("instance", "127.0.0.1:2112"), ("job", "user")]))
        .expect("named");
    assert_eq!(got.entry, user);
    assert_eq!(got.by, MatchedBy::Name);
    assert_eq!(got.target, Some(metrics_target_of(&plan, user)));
}

#[test]
fn other_hosts_match_by_loose_names() {
    let plan = plan(Source::anychat());
    let m = PlanMatcher::new(&plan);
    let message = plan.entry_named("message-service").expect("message");
    for job in [
        "message-service",
        "message",
        "anychat-message-service",
        "ANYCHAT_MESSAGE",
    ] {
        let got = m.find(&labels(&[
            ("instance", "chat-3.internal:2112"),
            ("job", job),
        ]));
        assert_eq!(got.map(|g| g.entry), Some(message), "{job}");
    }
    // A `service` label (Kubernetes relabelling) when the job is generic.
    let got = m
        .find(&labels(&[
            ("instance", "10.0.0.7:2112"),
            ("job", "kubernetes-pods"),
            ("service", "message-service"),
        ]))
        .expect("by service label");
    assert_eq!((got.entry, got.by), (message, MatchedBy::Name));
    // An instance that is not host:port.
    let got = m.find(&labels(&[("instance", "message-7f9c"), ("job", "message")]));
    assert_eq!(got.map(|g| g.entry), Some(message));
    // Infrastructure is matched the same way: Prometheus scraping itself.
    let prom = plan.entry_named("prometheus").expect("prometheus entry");
    let got = m.find(&labels(&[
        ("instance", "localhost:9090"),
        ("job", "prometheus"),
    ]));
    assert_eq!(
        got.map(|g| (g.entry, g.by)),
        Some((prom, MatchedBy::Instance))
    );
}

#[test]
fn one_target_per_entry() {
    let plan = plan(Source::demo());
    let m = PlanMatcher::new(&plan);
    let auth = plan.entry_named("auth-service").expect("auth");
    let user = plan.entry_named("user-service").expect("user");
    let targets = vec![
        target("10.0.0.1:2113", "auth-service", Health::Up), // by name
        target("127.0.0.1:2113", "anychat", Health::Down),   // by instance: wins
        target("127.0.0.1:2114", "a", Health::Down),         // user, down
        target("127.0.0.1:2114", "b", Health::Up),           // user, up: wins
        target("127.0.0.1:9100", "node", Health::Up),        // not in the plan
    ];
    let (matched, unmatched) = m.match_all(&targets);
    assert_eq!(unmatched, 1);
    let picked: Vec<(EntryId, usize)> = matched.iter().map(|(i, m)| (m.entry, *i)).collect();
    let mut expected = vec![(auth, 1), (user, 3)];
    expected.sort();
    assert_eq!(picked, expected);
}

#[test]
fn helpers() {
    assert_eq!(loose_name(" Auth_Service "), "auth");
    assert_eq!(loose_name("gateway"), "gateway");
    assert_eq!(
        split_instance("[::1]:9090"),
        Some(("loopback".into(), 9090))
    );
    assert_eq!(
        split_instance("Host.Example:80"),
        Some(("host.example".into(), 80))
    );
    assert_eq!(split_instance("::1"), None);
    assert_eq!(split_instance("host"), None);
    assert_eq!(split_instance("host:http"), None);
    assert_eq!(split_instance(":80"), None);
    assert_eq!(split_instance("[]:80"), None);
    assert_eq!(split_instance("[:80"), None);
    assert_eq!(host_key("127.0.0.2"), "127.0.0.2");
}
