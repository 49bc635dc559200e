//! Tests of how an infra entry runs (`runs`, `container`, the compose fields).

use std::path::{Path, PathBuf};

use super::*;
use crate::plan::{ContainerSpec, Runs};

fn plan_with(text: &str, root: Option<&str>) -> Result<crate::plan::Plan, ManifestError> {
    let source = Source {
        path: PathBuf::from("runs.toml"),
        text: text.to_string(),
    };
    let opts = PlanOptions {
        root: root.map(PathBuf::from),
        ..PlanOptions::default()
    };
    build_plan(&[source], &opts)
}

#[test]
fn runs_defaults_follow_command_then_container() {
    let plan = plan_with(
        r#"
[[infra]]
name = "stubbed"
container = "c1"
command = ["stub"]
ports = [{ port = 5001, probe = "tcp" }]

[[infra]]
name = "boxed"
container = "c2"
ports = [{ port = 5002, probe = "tcp" }]

[[infra]]
name = "elsewhere"
ports = [{ port = 5003, probe = "tcp" }]

[[infra]]
name = "remote-box"
container = "c4"
host = "db.internal"
ports = [{ port = 5004, probe = "tcp" }]
"#,
        None,
    )
    .unwrap();
    assert_eq!(plan.entries[0].runs, Runs::Process);
    assert_eq!(
        plan.entries[1].runs,
        Runs::Container(ContainerSpec::default())
    );
    assert!(plan.entries[1].is_container());
    assert_eq!(plan.entries[2].runs, Runs::External);
    // A container on another machine is not this engine's: probed only.
    assert_eq!(plan.entries[3].runs, Runs::External);
}

#[test]
fn compose_fields_are_kept_and_the_file_is_taken_from_the_checkout() {
    let plan = plan_with(
        r#"
[[infra]]
name = "redis"
container = "anychat-redis"
runs = "container"
compose_file = "deployments/docker-compose.yml"
compose_project = "deployments"
compose_service = "redis"
ports = [{ port = 6379, probe = "redis" }]
"#,
        Some("/src/anychat"),
    )
    .unwrap();
    let Runs::Container(spec) = &plan.entries[0].runs else {
        panic!("{:?}", plan.entries[0].runs)
    };
    assert_eq!(
        spec.compose_file.as_deref(),
        Some(Path::new("/src/anychat/deployments/docker-compose.yml"))
    );
    assert_eq!(spec.compose_service.as_deref(), Some("redis"));
    assert_eq!(spec.compose_project.as_deref(), Some("deployments"));
}

#[test]
fn contradictions_are_errors_with_positions() {
    let e = plan_with(
        r#"
[[infra]]
name = "x"
runs = "container"
command = ["stub"]
container = "c"
ports = [{ port = 5001, probe = "tcp" }]
"#,
        None,
    )
    .unwrap_err();
    assert!(e.message.contains("remove `command`"), "{e}");
    assert_eq!(e.line, 5);
    let e = plan_with(
        r#"
[[infra]]
name = "y"
runs = "container"
ports = [{ port = 5001, probe = "tcp" }]
"#,
        None,
    )
    .unwrap_err();
    assert!(e.message.contains("name it with `container`"), "{e}");
    let e = plan_with(
        r#"
[[infra]]
name = "z"
runs = "process"
ports = [{ port = 5001, probe = "tcp" }]
"#,
        None,
    )
    .unwrap_err();
    assert!(e.message.contains("no `command`"), "{e}");
    let e = plan_with(
        r#"
[[infra]]
name = "w"
runs = "sometimes"
ports = [{ port = 5001, probe = "tcp" }]
"#,
        None,
    )
    .unwrap_err();
    assert_eq!(e.line, 4, "{e}");
}

#[test]
fn the_built_in_plan_runs_its_infra_in_containers_and_the_demo_in_processes() {
    let plan = build_plan(&[Source::anychat()], &PlanOptions::default()).unwrap();
    for e in plan
        .entries
        .iter()
        .filter(|e| e.kind == crate::plan::EntryKind::Infra)
    {
        assert!(e.is_container(), "{}", e.name);
    }
    let postgres = plan.entries.iter().find(|e| e.name == "postgres").unwrap();
    let Runs::Container(spec) = &postgres.runs else {
        panic!()
    };
    assert_eq!(spec.compose_service.as_deref(), Some("postgres"));
    let demo = build_plan(&[Source::demo()], &PlanOptions::default()).unwrap();
    assert!(demo.entries.iter().all(|e| !e.is_container()));
}
