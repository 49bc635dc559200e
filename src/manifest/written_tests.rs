//! Tests of manifests as a person writes them: minimal entries, workers, remote hosts, missing
//! keys located at their table, and commands full of braces that are not placeholders.

use std::path::PathBuf;

use super::*;
use crate::plan::{Plan, ProbeKind};

fn src(text: &str) -> Source {
    Source {
        path: PathBuf::from("mine.toml"),
        text: text.to_string(),
    }
}

fn plan_of(text: &str) -> Result<Plan, ManifestError> {
    build_plan(&[src(text)], &PlanOptions::default())
}

fn err_of(text: &str) -> ManifestError {
    plan_of(text).expect_err("manifest should be rejected")
}

fn labels(plan: &Plan, entry: usize) -> Vec<(String, u16)> {
    plan.entries[entry]
        .targets
        .iter()
        .map(|t| (plan.targets[t.0].label.clone(), plan.targets[t.0].port))
        .collect()
}

/// The manifest the README's "Manifests" section says is enough.
const FROM_THE_README: &str = r#"
[[service]]
name = "my-service"
command = ["bin/my-service", "--port", "{http_port}"]
http_port = 18001
"#;

#[test]
fn a_manifest_with_only_name_command_and_http_port_loads() {
    let plan = plan_of(FROM_THE_README).unwrap_or_else(|e| panic!("{e}"));
    let e = &plan.entries[0];
    assert_eq!(e.name, "my-service");
    assert_eq!(e.group, "other", "group is optional");
    assert_eq!(e.command, ["bin/my-service", "--port", "18001"]);
    assert_eq!(labels(&plan, 0), [("http".to_string(), 18001)]);
    assert_eq!(plan.targets[0].kind, ProbeKind::Health);
    assert!(!e.is_remote());
    assert_eq!(e.not_startable, None);
}

#[test]
fn a_grpc_only_service_and_a_worker_without_ports_load() {
    let plan = plan_of(
        "[[service]]\nname = \"rpc\"\ncommand = [\"bin/rpc\"]\ngrpc_port = 19001\n\n\
         [[service]]\nname = \"worker\"\ncommand = [\"bin/worker\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(labels(&plan, 0), [("grpc".to_string(), 19001)]);
    assert_eq!(plan.targets[0].kind, ProbeKind::Grpc);
    assert!(plan.entries[1].targets.is_empty(), "a worker is not probed");
    assert_eq!(plan.entries[1].command, ["bin/worker"]);
}

#[test]
fn infra_without_ports_is_still_rejected_and_category_is_optional() {
    let e = err_of("[[infra]]\nname = \"x\"\nports = []\n");
    assert!(e.message.contains("\"x\" has no ports to probe"), "{e}");
    let plan =
        plan_of("[[infra]]\nname = \"x\"\nports = [{ port = 6380, probe = \"redis\" }]\n").unwrap();
    assert_eq!(plan.entries[0].group, "infrastructure");
}

#[test]
fn a_missing_key_is_reported_at_its_tables_header_naming_entry_and_key() {
    // The first table of a file: the header is at 1:1, and the message says which one.
    let e = err_of("[[service]]\ncommand = [\"x\"]\nhttp_port = 1\n");
    assert_eq!((e.line, e.column), (1, 1), "{e}");
    assert_eq!(
        e.message, "this [[service]] lacks the required key `name`",
        "{e}"
    );
    let e = err_of(
        "# mine\n[[service]]\nname = \"a\"\nhttp_port = 1\n\n[[infra]]\nname = \"cache\"\n\
         category = \"x\"\n",
    );
    assert_eq!((e.line, e.column), (6, 1), "{e}");
    assert_eq!(
        e.message, "[[infra]] \"cache\" lacks the required key `ports`",
        "{e}"
    );
    let e = err_of("[[infra]]\nname = \"r\"\nports = [{ probe = \"tcp\" }]\n");
    assert_eq!((e.line, e.column), (3, 10), "{e}");
    assert!(
        e.message
            .contains("{ probe = \"tcp\" } lacks the required key `port`"),
        "{e}"
    );
}

#[test]
fn a_remote_entry_is_probed_on_its_host_and_never_started() {
    let plan = plan_of(
        "[[service]]\nname = \"far\"\nhost = \"10.1.2.3\"\nhttp_port = 8001\ngrpc_port = 9001\n\n\
         [[service]]\nname = \"near\"\nhttp_port = 8001\ncommand = [\"x\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let far = &plan.entries[0];
    assert!(far.is_remote());
    assert_eq!(far.host, "10.1.2.3");
    assert!(far.command.is_empty());
    assert_eq!(
        far.not_startable.as_deref(),
        Some("runs on 10.1.2.3: probed, never started here")
    );
    assert!(
        far.targets
            .iter()
            .all(|t| plan.targets[t.0].host == "10.1.2.3")
    );
    // The same port on another host is no clash.
    assert_eq!(labels(&plan, 1), [("http".to_string(), 8001)]);
    assert!(!plan.entries[1].is_remote());

    let e = err_of(
        "[[service]]\nname = \"far\"\nhost = \"db.example\"\nhttp_port = 8001\n\
         command = [\"bin/far\"]\n",
    );
    assert_eq!((e.line, e.column), (5, 12), "{e}");
    assert!(e.message.contains("never starts them"), "{e}");
    let e = err_of("[[service]]\nname = \"far\"\nhost = \"10.0.0.9\"\n");
    assert!(
        e.message.contains("no ports to probe on its remote host"),
        "{e}"
    );
}

#[test]
fn shell_variables_awk_programs_and_json_pass_through_unchanged() {
    let text = r#"
[[service]]
name = "braces"
http_port = 18001
command = ["sh", "-c", "exec bin/x --port {http_port} --home ${HOME} | awk '{print $1}'", '{"a":{"b":[1,2]}}', "{{http_port}}"]
env = { JSON = '{"port": {http_port}}', SHELL_VAR = "${PORT:-8001}" }
"#;
    let plan = plan_of(text).unwrap_or_else(|e| panic!("{e}"));
    let e = &plan.entries[0];
    assert_eq!(
        e.command,
        [
            "sh",
            "-c",
            "exec bin/x --port 18001 --home ${HOME} | awk '{print $1}'",
            r#"{"a":{"b":[1,2]}}"#,
            "{http_port}",
        ]
    );
    assert_eq!(e.env["JSON"], r#"{"port": 18001}"#);
    assert_eq!(e.env["SHELL_VAR"], "${PORT:-8001}");
}

#[test]
fn a_misspelt_placeholder_is_an_error_at_its_line_and_column() {
    let e = err_of(
        "[[service]]\nname = \"a\"\nhttp_port = 8001\nenv = { PORT = \"--x={http_prot}\" }\n",
    );
    assert_eq!((e.line, e.column), (4, 21), "{e}");
    assert!(
        e.message
            .starts_with("unknown placeholder {http_prot}: did you mean {http_port}?"),
        "{e}"
    );
}

#[test]
fn another_entrys_port_is_a_placeholder_after_the_offset() {
    let text = "[[service]]\nname = \"gw\"\nhttp_port = 8080\n\
                env = { AUTH_GRPC_ADDR = \"localhost:{port:auth/grpc}\" }\n\n\
                [[service]]\nname = \"auth\"\nhttp_port = 8001\ngrpc_port = 9001\n";
    let plan = build_plan(
        &[src(text)],
        &PlanOptions {
            port_offset: 100,
            root: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.entries[0].env["AUTH_GRPC_ADDR"], "localhost:9101");
    let e = err_of(&text.replace("auth/grpc", "auth/metrics"));
    assert!(e.message.contains("\"auth\" has no metrics port"), "{e}");
    assert_eq!((e.line, e.column), (4, 37), "{e}");
}

#[test]
fn a_top_level_env_reaches_every_service_and_their_own_env_wins() {
    let text = "[env]\nAUTH_GRPC_ADDR = \"localhost:{port:auth/grpc}\"\nLOG_LEVEL = \"info\"\nOWN = \"{name}:{http_port}\"\n\n\
                [[service]]\nname = \"auth\"\nhttp_port = 8001\ngrpc_port = 9001\n\n\
                [[service]]\nname = \"user\"\nhttp_port = 8002\nenv = { LOG_LEVEL = \"debug\" }\n";
    let plan = build_plan(
        &[src(text)],
        &PlanOptions {
            port_offset: 10,
            root: None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let env = |i: usize, k: &str| plan.entries[i].env.get(k).cloned();
    assert_eq!(env(0, "AUTH_GRPC_ADDR").as_deref(), Some("localhost:9011"));
    assert_eq!(env(1, "AUTH_GRPC_ADDR").as_deref(), Some("localhost:9011"));
    assert_eq!(env(0, "LOG_LEVEL").as_deref(), Some("info"));
    assert_eq!(env(1, "LOG_LEVEL").as_deref(), Some("debug"));
    assert_eq!(
        env(1, "OWN").as_deref(),
        Some("user:8012"),
        "placeholders are each service's"
    );
    let e = err_of("[env]\nX = \"{grpc_port}\"\n\n[[service]]\nname = \"w\"\n");
    assert_eq!((e.line, e.column), (2, 6), "{e}");
    assert!(e.message.contains("\"w\" has no grpc port"), "{e}");
}
