//! Tests of manifest loading and validation: every shipped file, and broken ones.

use std::path::PathBuf;

use super::*;
use crate::plan::{EntryKind, ProbeKind, ProbeSpec};

fn src(text: &str) -> Source {
    Source {
        path: PathBuf::from("test.toml"),
        text: text.to_string(),
    }
}

fn plan_of(text: &str) -> Result<crate::plan::Plan, ManifestError> {
    build_plan(&[src(text)], &PlanOptions::default())
}

fn err_of(text: &str) -> ManifestError {
    plan_of(text).expect_err("manifest should be rejected")
}

const ONE: &str = r#"
[[service]]
name = "auth-service"
group = "core"
command = ["bin/auth-service", "--port={http_port}"]
http_port = 8001
grpc_port = 9001
metrics_port = 2112
depends_on = ["user-service"]

[[service]]
name = "user-service"
group = "core"
http_port = 8002
"#;

#[test]
fn every_shipped_manifest_parses() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("services");
    let files = read_sources(&[dir]).expect("services/ readable");
    assert!(files.len() >= 2, "expected anychat.toml and demo.toml");
    for file in &files {
        let plan = build_plan(std::slice::from_ref(file), &PlanOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!plan.targets.is_empty(), "{}", file.path.display());
    }
    // The embedded copies are the same files.
    for embedded in [Source::anychat(), Source::demo()] {
        build_plan(&[embedded], &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn anychat_plan_has_the_whole_port_plan() {
    let plan = build_plan(&[Source::anychat()], &PlanOptions::default()).unwrap();
    let services: Vec<_> = plan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Service)
        .collect();
    assert_eq!(services.len(), 12);
    let port = |name: &str, label: &str| {
        let e = plan
            .entry_named(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        plan.entries[e.0]
            .targets
            .iter()
            .map(|t| &plan.targets[t.0])
            .find(|t| t.label == label)
            .map(|t| t.port)
    };
    assert_eq!(port("gateway-service", "http"), Some(8080));
    assert_eq!(port("gateway-service", "grpc"), None);
    let names = [
        "auth", "user", "friend", "group", "message", "session", "file", "push", "rtc", "sync",
        "admin",
    ];
    for (i, n) in names.iter().enumerate() {
        let name = format!("{n}-service");
        assert_eq!(port(&name, "http"), Some(8001 + i as u16), "{name}");
        assert_eq!(port(&name, "grpc"), Some(9001 + i as u16), "{name}");
        assert_eq!(port(&name, "metrics"), Some(2112), "{name}");
    }
    for (name, label, p) in [
        ("postgres", "postgres", 5432),
        ("redis", "redis", 6379),
        ("nats", "client", 4222),
        ("nats", "monitor", 8222),
        ("minio", "api", 9000),
        ("minio", "console", 9091),
        ("prometheus", "prometheus", 9090),
        ("grafana", "grafana", 3000),
        ("jaeger", "ui", 16686),
        ("jaeger", "collector", 14268),
        ("livekit", "livekit", 7880),
    ] {
        assert_eq!(port(name, label), Some(p), "{name}/{label}");
    }
    let groups: std::collections::BTreeSet<_> = services.iter().map(|e| e.group.as_str()).collect();
    assert_eq!(
        groups.into_iter().collect::<Vec<_>>(),
        ["core", "extension", "message", "social"]
    );
    let postgres = &plan.entries[plan.entry_named("postgres").unwrap().0];
    assert_eq!(postgres.container.as_deref(), Some("anychat-postgres"));
    assert_eq!(
        plan.targets[postgres.targets[0].0].probe,
        ProbeSpec::Postgres
    );
}

#[test]
fn demo_plan_runs_the_stub_with_coexisting_metrics_ports() {
    let plan = build_plan(&[Source::demo()], &PlanOptions::default()).unwrap();
    let mut metrics: Vec<u16> = plan
        .targets
        .iter()
        .filter(|t| t.kind == ProbeKind::Metrics)
        .map(|t| t.port)
        .collect();
    assert_eq!(metrics.len(), 12);
    metrics.sort();
    metrics.dedup();
    assert_eq!(metrics.len(), 12, "demo metrics ports must differ");
    for e in &plan.entries {
        assert_eq!(
            e.command.first().map(String::as_str),
            Some("anychat-stub"),
            "{}",
            e.name
        );
        assert!(
            !e.command.iter().any(|a| a.contains('{')),
            "unsubstituted: {:?}",
            e.command
        );
    }
}

#[test]
fn placeholders_offset_and_root_are_applied() {
    let options = PlanOptions {
        port_offset: 10000,
        root: Some(PathBuf::from("/src/anychat")),
    };
    let plan = build_plan(&[src(ONE)], &options).unwrap();
    let auth = &plan.entries[0];
    assert_eq!(
        auth.command,
        ["/src/anychat/bin/auth-service", "--port=18001"]
    );
    assert_eq!(
        auth.cwd.as_deref(),
        Some(std::path::Path::new("/src/anychat"))
    );
    let ports: Vec<u16> = auth
        .targets
        .iter()
        .map(|t| plan.targets[t.0].port)
        .collect();
    assert_eq!(ports, [18001, 19001, 12112]);
    assert_eq!(auth.depends_on, [crate::plan::EntryId(1)]);
    assert!(
        !plan.targets[auth.targets[2].0].required,
        "metrics never required"
    );
}

#[test]
fn syntax_error_names_line_and_column() {
    let e = err_of("[[service]]\nname = \"a\"\ngroup = core\n");
    assert_eq!((e.line, e.column), (3, 9), "{e}");
    assert!(e.to_string().starts_with("test.toml:3:9: "), "{e}");
}

#[test]
fn unknown_key_is_an_error_at_the_key() {
    let e = err_of(
        "[[service]]\nname = \"a\"\ngroup = \"core\"\nhttp_port = 8001\nhealth_pth = \"/h\"\n",
    );
    assert_eq!((e.line, e.column), (5, 1), "{e}");
    assert!(e.message.contains("unknown field `health_pth`"), "{e}");
}

#[test]
fn duplicate_names_are_rejected() {
    let e = err_of(&format!(
        "{ONE}\n[[service]]\nname = \"user-service\"\ngroup = \"x\"\nhttp_port = 8003\n"
    ));
    assert_eq!(e.line, 17, "{e}");
    assert!(e.message.contains("duplicate name \"user-service\""), "{e}");
    assert!(e.message.contains("test.toml line 12"), "{e}");
}

#[test]
fn out_of_range_ports_are_rejected() {
    let e = err_of("[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 70000\n");
    assert_eq!((e.line, e.column), (4, 13), "{e}");
    assert!(e.message.contains("port 70000 is out of range"), "{e}");
    let e = err_of("[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 0\n");
    assert!(e.message.contains("port 0 is out of range"), "{e}");
    let shifted = build_plan(
        &[src(
            "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 60000\n",
        )],
        &PlanOptions {
            port_offset: 6000,
            root: None,
        },
    )
    .unwrap_err();
    assert!(shifted.message.contains("becomes 66000"), "{shifted}");
}

#[test]
fn a_port_used_twice_is_rejected_except_shared_metrics() {
    let e = err_of(
        "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8001\n[[service]]\nname = \"b\"\ngroup = \"g\"\nhttp_port = 8001\n",
    );
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("already the http port of \"a\""), "{e}");
    plan_of("[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8001\nmetrics_port = 2112\n[[service]]\nname = \"b\"\ngroup = \"g\"\nhttp_port = 8002\nmetrics_port = 2112\n").unwrap();
}

#[test]
fn depends_on_naming_nothing_is_rejected() {
    let e = err_of(
        "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8001\ndepends_on = [\"ghost\"]\n",
    );
    assert_eq!((e.line, e.column), (5, 15), "{e}");
    assert!(
        e.message
            .contains("\"a\" depends on \"ghost\", which is not in the plan"),
        "{e}"
    );
}

#[test]
fn dependency_cycles_are_rejected() {
    let text = "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8001\ndepends_on = [\"b\"]\n\
                [[service]]\nname = \"b\"\ngroup = \"g\"\nhttp_port = 8002\ndepends_on = [\"c\"]\n\
                [[service]]\nname = \"c\"\ngroup = \"g\"\nhttp_port = 8003\ndepends_on = [\"a\"]\n";
    let e = err_of(text);
    assert!(
        e.message.contains("dependency cycle: a -> b -> c -> a"),
        "{e}"
    );
    assert_eq!(e.line, 5, "{e}");
    let e = err_of(
        "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8001\ndepends_on = [\"a\"]\n",
    );
    assert!(e.message.contains("dependency cycle: a -> a"), "{e}");
}

#[test]
fn unknown_placeholder_and_probe_are_rejected() {
    let e = err_of(
        "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8001\ncommand = [\"x\", \"{htp_port}\"]\n",
    );
    assert_eq!((e.line, e.column), (5, 18), "at the placeholder: {e}");
    assert!(
        e.message
            .contains("unknown placeholder {htp_port}: did you mean {http_port}?"),
        "{e}"
    );
    let e = err_of(
        "[[infra]]\nname = \"r\"\ncategory = \"i\"\nports = [{ port = 6379, probe = \"mongo\" }]\n",
    );
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("unknown variant `mongo`"), "{e}");
}

#[test]
fn broken_fixture_files_report_their_path() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests");
    let e = read_sources(&[dir.join("cycle.toml")])
        .and_then(|s| build_plan(&s, &PlanOptions::default()))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("tests/fixtures/manifests/cycle.toml:"),
        "{e}"
    );
    let e = read_sources(&[dir.join("missing.toml")]).unwrap_err();
    assert!(
        e.to_string().contains("missing.toml: cannot read manifest"),
        "{e}"
    );
}
