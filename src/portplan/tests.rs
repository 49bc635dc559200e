//! The plan check on the shipped plans and on broken ones, `--next`, and the `ports` renderings.

use std::collections::BTreeSet;
use std::time::Instant;

use super::report::{exit_code, ports_json_text, ports_table};
use super::*;
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::state::ports::tests::{ScanBuilder, anychat_plan, demo_plan, owner};
use crate::state::ports::{OurProcess, PortsState};

const EPHEMERAL: Option<RangeInclusive<u16>> = Some(32768..=60999);

fn plan_of(toml: &str) -> Plan {
    build_plan(
        &[Source {
            path: "broken.toml".into(),
            text: toml.into(),
        }],
        &PlanOptions::default(),
    )
    .unwrap()
}

#[test]
fn the_shipped_plan_fails_on_its_shared_metrics_port_and_nothing_else() {
    let check = check_plan(&anychat_plan(), 0, EPHEMERAL);
    assert_eq!(check.findings.len(), 1, "{:#?}", check.findings);
    let f = &check.findings[0];
    assert_eq!(
        (f.level, f.port, f.targets.len()),
        (Level::Conflict, 2112, 12)
    );
    assert!(
        f.message.contains("metrics port of 12 entries"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("2112, 2113, 2114"), "{}", f.fix);
    assert_eq!(check.exit_code(), 1);
    let (text, code) = check.render(false);
    assert_eq!(code, 1);
    assert!(text.contains("CONFLICT  2112"), "{text}");
    assert!(text.contains("1 conflicts, 0 warnings; ephemeral range 32768–60999"));
    let json: serde_json::Value = serde_json::from_str(&check.render(true).0).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["findings"][0]["level"], "conflict");
}

#[test]
fn the_demo_plan_passes_clean() {
    let check = check_plan(&demo_plan(), 0, EPHEMERAL);
    assert_eq!(check.findings, []);
    assert_eq!(check.exit_code(), 0);
    let distinct: BTreeSet<u16> = demo_plan().targets.iter().map(|t| t.port).collect();
    assert_eq!(check.ports, distinct.len());
}

#[test]
fn an_offset_keeps_the_rules_but_can_reach_the_ephemeral_range() {
    let plan = build_plan(
        &[Source::demo()],
        &PlanOptions {
            port_offset: 20000,
            root: None,
        },
    )
    .unwrap();
    let check = check_plan(&plan, 20000, EPHEMERAL);
    let ports: Vec<u16> = check.findings.iter().map(|f| f.port).collect();
    assert_eq!(ports, [34268, 36686], "{:#?}", check.findings);
    assert!(check.findings.iter().all(|f| f.level == Level::Warning));
    assert_eq!(check.findings[1].targets, ["jaeger/ui"]);
    assert!(
        check.findings[1]
            .message
            .contains("ephemeral range 32768–60999")
    );
    assert_eq!(check.exit_code(), 0);
}

#[test]
fn a_broken_manifest_two_services_on_one_port_and_grpc_in_8xxx_fails() {
    // The loader refuses two entries on the same host:port; "localhost" and 127.0.0.1 are
    // still one port for services that bind every address.
    let plan = plan_of(
        r#"
[[service]]
name = "a"
group = "g"
http_port = 8001
grpc_port = 8501

[[service]]
name = "b"
group = "g"
host = "localhost"
http_port = 8001
grpc_port = 9002
"#,
    );
    let check = check_plan(&plan, 0, EPHEMERAL);
    let got: Vec<(Level, u16)> = check.findings.iter().map(|f| (f.level, f.port)).collect();
    assert_eq!(got, [(Level::Conflict, 8001), (Level::Warning, 8501)]);
    assert!(check.findings[0].message.contains("a/http and b/http"));
    assert!(
        check.findings[1]
            .message
            .contains("a/grpc is a gRPC (9xxx) port")
    );
    assert_eq!(check.exit_code(), 1);
}

#[test]
fn rule_breaks_alone_are_warnings() {
    let plan = plan_of(
        r#"
[[service]]
name = "a"
group = "g"
http_port = 9095
grpc_port = 8002

[[service]]
name = "b"
group = "g"
http_port = 8003
grpc_port = 9090

[[infra]]
name = "pg"
category = "infrastructure"
ports = [{ port = 6432, probe = "postgres", label = "pg" }]

[[infra]]
name = "nats"
category = "infrastructure"
ports = [{ port = 5222, probe = "tcp", label = "client" }, { port = 8222, probe = "nats", label = "monitor" }]
"#,
    );
    let check = check_plan(&plan, 0, EPHEMERAL);
    let ports: Vec<u16> = check.findings.iter().map(|f| f.port).collect();
    assert_eq!(
        ports,
        [5222, 6432, 8002, 9090, 9095],
        "{:#?}",
        check.findings
    );
    assert!(check.findings.iter().all(|f| f.level == Level::Warning));
    let b = check.findings.iter().find(|f| f.port == 9090).unwrap();
    assert!(
        b.message.contains("kept for infra management"),
        "{}",
        b.message
    );
    assert_eq!(check.exit_code(), 0);
}

#[test]
fn two_specific_addresses_keep_one_port_apart() {
    let plan = plan_of(
        r#"
[[service]]
name = "a"
group = "g"
host = "10.0.0.1"
http_port = 8001

[[service]]
name = "b"
group = "g"
host = "10.0.0.2"
http_port = 8001
"#,
    );
    assert_eq!(check_plan(&plan, 0, None).findings, []);
}

#[test]
fn the_ephemeral_range_is_parsed_strictly() {
    assert_eq!(parse_ephemeral_range("32768\t60999\n"), Some(32768..=60999));
    assert_eq!(parse_ephemeral_range("1024 1024"), Some(1024..=1024));
    for bad in ["", "32768", "60999 32768", "a b", "1 2 3", "70000 80000"] {
        assert_eq!(parse_ephemeral_range(bad), None, "{bad:?}");
    }
    let range = read_ephemeral_range().expect("Linux has the file");
    assert!(range.start() > &1024);
}

#[test]
fn next_pair_skips_planned_and_listening_ports() {
    let real = anychat_plan();
    assert_eq!(
        next_free_pair(&real, 0, &BTreeSet::new()),
        Some((8012, 9012))
    );
    assert_eq!(
        next_free_pair(&demo_plan(), 0, &BTreeSet::new()),
        Some((8012, 9012))
    );
    let busy = BTreeSet::from([8012, 9013]);
    assert_eq!(next_free_pair(&real, 0, &busy), Some((8014, 9014)));
    let shifted = build_plan(
        &[Source::anychat()],
        &PlanOptions {
            port_offset: 20000,
            root: None,
        },
    )
    .unwrap();
    assert_eq!(
        next_free_pair(&shifted, 20000, &BTreeSet::new()),
        Some((28012, 29012))
    );
    let everything: BTreeSet<u16> = (9012..9090).collect();
    assert_eq!(next_free_pair(&real, 0, &everything), None);
    assert_eq!(
        render_next(Some((8012, 9012)), false),
        ("http_port = 8012\ngrpc_port = 9012\n".to_string(), 0)
    );
    assert_eq!(render_next(None, true).1, 1);
}

#[test]
fn ports_table_and_json_name_the_holder_and_fail_on_an_error_conflict() {
    let t0 = Instant::now();
    let mut s = PortsState::new(anychat_plan());
    assert_eq!(exit_code(&s), 2, "no scan yet");
    let auth = s.plan().entry_named("auth-service").unwrap();
    s.set_ours(
        vec![OurProcess {
            entry: auth,
            pid: 500,
            since: t0,
        }],
        t0,
    );
    s.apply(
        ScanBuilder::default()
            .on(
                "0.0.0.0:8002",
                Some(owner(4242, "/usr/bin/python3 -m http.server", 1)),
            )
            .on("[::]:2112", Some(owner(500, "bin/auth-service", 1)))
            .on("127.0.0.1:8099", None)
            .build(),
        t0,
    );
    let (table, code) = ports_table(&s);
    assert_eq!(code, 1);
    let line = |needle: &str| {
        table
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{table}"))
            .to_string()
    };
    let user_http = line(" 8002  user-service");
    assert!(user_http.contains("foreign"), "{user_http}");
    assert!(user_http.contains("4242  /usr/bin/python3 -m http.server (user root)"));
    assert!(line(" 2112  gateway-service").contains("ours"));
    assert!(line(" 2112  auth-service").contains("(as above: shared port)"));
    assert!(line(" 8099  127.0.0.1").contains("uid 0, process not visible"));
    assert!(table.contains("error    http port 8002 of user-service is taken by"));

    let (json, code) = ports_json_text(&s);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let user = v["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["entry"] == "user-service" && p["label"] == "http")
        .unwrap();
    assert_eq!(user["state"], "foreign");
    assert_eq!(user["holders"][0]["pid"], 4242);
    assert_eq!(
        user["holders"][0]["command"],
        "/usr/bin/python3 -m http.server"
    );
    assert_eq!(v["unplanned"][0]["kind"], "hidden");
    assert_eq!(v["conflicts"][0]["key"], "taken:8002:pid4242");
    assert_eq!(v["ok"], false);
}
