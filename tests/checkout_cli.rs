//! The real binary on synthetic AnyChat checkouts: the checkout found from the working
//! directory or named by `--root`, its drift printed by `check` (text and JSON), `init` printing
//! and writing the manifest (never over a file) which loads back to the same plan, a Go project
//! that is not AnyChat left alone, and a remote entry probed on 127.0.0.2.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::checkout::SyntheticCheckout;
use support::process::{free_low_port, stub};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");

/// `anychat-top ARGS` in `cwd` (short probe timeout: nothing of the checkout runs).
fn top(cwd: &Path, args: &[&str]) -> Output {
    Command::new(TOP)
        .current_dir(cwd)
        .args(args)
        .args(["--timeout", "200ms"])
        .output()
        .expect("run anychat-top")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// `check --json` in `cwd`, parsed.
fn check_json(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    let out = top(cwd, &all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "check failed: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// `(name, label, port)` of every target of a `check --json` report.
fn targets(report: &Value) -> Vec<(String, String, u64)> {
    report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_string(),
                t["label"].as_str().unwrap_or("").to_string(),
                t["port"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn names(report: &Value) -> Vec<String> {
    let mut n: Vec<String> = targets(report).into_iter().map(|t| t.0).collect();
    n.dedup();
    n
}

fn drift_kinds(report: &Value) -> Vec<(String, String)> {
    report["drift"]
        .as_array()
        .expect("a drift array")
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or("").to_string(),
                d["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn check_inside_a_checkout_uses_its_services_and_prints_the_drift() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    c.remove("bin/push-service");
    // Run from a subdirectory: the checkout is found in the parents.
    let sub = c.root().join("internal/auth");
    let report = check_json(&sub, &[]);
    let services = names(&report);
    for name in [
        "conversation-service",
        "calling-service",
        "version-service",
        "gateway-service",
    ] {
        assert!(services.contains(&name.to_string()), "{services:?}");
    }
    for gone in ["session-service", "rtc-service"] {
        assert!(!services.contains(&gone.to_string()), "{services:?}");
    }
    assert!(
        targets(&report).contains(&("version-service".into(), "http".into(), 8012)),
        "{report}"
    );
    let kinds = drift_kinds(&report);
    for (kind, subject) in [
        ("unknown_service", "version-service"),
        ("renamed_service", "conversation-service"),
        ("renamed_service", "calling-service"),
        ("port_breaks_rule", "zitadel.url"),
        ("binary_missing", "push-service"),
    ] {
        assert!(
            kinds.contains(&(kind.to_string(), subject.to_string())),
            "{kind} {subject} not in {kinds:?}"
        );
    }
    assert!(
        kinds
            .iter()
            .any(|(k, s)| k == "unconfigured" && s.contains("2112")),
        "{kinds:?}"
    );
    // Every finding has its one-line text naming the file.
    for d in report["drift"].as_array().unwrap() {
        let line = d["text"].as_str().expect("text");
        assert!(line.contains(d["file"].as_str().unwrap()), "{line}");
    }
    // The table form ends with the same findings, one a line.
    let out = top(&sub, &["check"]);
    let table = text(&out.stdout);
    assert!(table.contains("plan drift: "), "{table}");
    assert!(
        table.contains("  - version-service: not in the plan"),
        "{table}"
    );
    assert!(
        table.contains("bin/push-service is missing (not built)"),
        "{table}"
    );
}

#[test]
fn root_names_a_checkout_from_anywhere_and_port_offset_shifts_it() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let elsewhere = tempfile::tempdir().unwrap();
    let root = c.root().to_string_lossy().into_owned();
    let report = check_json(
        elsewhere.path(),
        &["--root", &root, "--port-offset", "10000"],
    );
    let t = targets(&report);
    assert!(
        t.contains(&("version-service".into(), "grpc".into(), 19012)),
        "{t:?}"
    );
    assert!(
        t.contains(&("gateway-service".into(), "http".into(), 18080)),
        "{t:?}"
    );
    assert!(
        t.contains(&("postgres".into(), "postgres".into(), 15432)),
        "{t:?}"
    );
    assert!(!drift_kinds(&report).is_empty());
    // A relative --root: commands are still found from any working directory.
    let parent = c.root().parent().expect("a parent");
    let name = c.root().file_name().expect("a name").to_string_lossy();
    let report = check_json(parent, &["--root", &name]);
    assert!(names(&report).contains(&"version-service".to_string()));
    let init = top(parent, &["init", "--root", &name]);
    let manifest = text(&init.stdout);
    let canonical = c.root().canonicalize().unwrap();
    assert!(
        manifest.contains(&format!("--root {}", canonical.display())),
        "{manifest}"
    );
}

#[test]
fn outside_a_checkout_the_built_in_plan_is_used_without_drift() {
    let dir = tempfile::tempdir().unwrap();
    let report = check_json(dir.path(), &[]);
    let services = names(&report);
    assert!(
        services.contains(&"session-service".to_string()),
        "{services:?}"
    );
    assert!(!services.contains(&"version-service".to_string()));
    assert_eq!(report["drift"], Value::Array(vec![]));
    let out = top(dir.path(), &["check"]);
    assert!(!text(&out.stdout).contains("plan drift"));
}

#[test]
fn another_go_project_found_from_the_working_directory_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("go.mod"), "module example.com/shop\n").unwrap();
    std::fs::create_dir_all(dir.path().join("cmd/shopd")).unwrap();
    std::fs::write(dir.path().join("cmd/shopd/main.go"), "package main\n").unwrap();
    let report = check_json(dir.path(), &[]);
    assert!(!names(&report).contains(&"shopd".to_string()));
    assert!(names(&report).contains(&"session-service".to_string()));
    assert_eq!(report["drift"], Value::Array(vec![]));
}

#[test]
fn init_prints_the_manifest_writes_it_once_and_it_loads_back_to_the_same_plan() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let out = top(c.root(), &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.starts_with("# anychat-top manifest"), "{printed}");
    assert!(printed.contains("name = \"version-service\""), "{printed}");
    assert!(printed.contains("#   - version-service: not in the plan"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("anychat-top.toml");
    let path = file.to_string_lossy().into_owned();
    let out = top(c.root(), &["init", "-o", &path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);
    assert!(
        text(&out.stderr).contains("--config"),
        "{}",
        text(&out.stderr)
    );

    // A second time: refused, the file untouched.
    std::fs::write(&file, "# mine\n").unwrap();
    let out = top(c.root(), &["init", "-o", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not overwriting"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");

    // The written manifest, used with --config, gives the plan the checkout gives.
    std::fs::write(&file, &printed).unwrap();
    let root = c.root().to_string_lossy().into_owned();
    let from_file = check_json(dir.path(), &["--root", &root, "--config", &path]);
    let from_checkout = check_json(c.root(), &[]);
    assert_eq!(targets(&from_file), targets(&from_checkout));
}

#[test]
fn init_outside_a_checkout_says_how_to_name_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = top(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("no AnyChat checkout") && err.contains("--root"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_remote_entry_is_probed_on_its_host_and_reported_with_it() {
    let port = free_low_port();
    // The stub answers on 127.0.0.2 only: 127.0.0.1 at that port is refused.
    let _remote = stub(&["--bind", "127.0.0.2", "--http-port", &port.to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("remote.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[service]]\nname = \"far-auth\"\nhost = \"127.0.0.2\"\nhttp_port = {port}\n\n\
             [[service]]\nname = \"near-auth\"\ncommand = [\"true\"]\nhttp_port = {port}\n"
        ),
    )
    .unwrap();
    let path = manifest.to_string_lossy().into_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let report = loop {
        let report = check_json(dir.path(), &["-c", &path]);
        let up = report["targets"][0]["state"].as_str() == Some("up");
        if up || std::time::Instant::now() > deadline {
            break report;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let rows = report["targets"].as_array().unwrap();
    assert_eq!(rows[0]["name"], "far-auth");
    assert_eq!(rows[0]["host"], "127.0.0.2");
    assert_eq!(rows[0]["state"], "up", "{report}");
    assert_eq!(rows[1]["name"], "near-auth");
    assert_eq!(rows[1]["host"], "127.0.0.1");
    assert_ne!(rows[1]["state"], "up", "{report}");
    let out = top(dir.path(), &["check", "-c", &path]);
    let table = text(&out.stdout);
    assert!(table.contains("far-auth/http@127.0.0.2"), "{table}");
    assert!(table.contains("near-auth/http "), "{table}");
}

#[test]
fn a_command_on_a_remote_entry_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("remote.toml");
    std::fs::write(
        &manifest,
        "[[service]]\nname = \"far\"\nhost = \"10.1.2.3\"\ncommand = [\"bin/far\"]\nhttp_port = 18001\n",
    )
    .unwrap();
    let path = manifest.to_string_lossy().into_owned();
    let out = top(dir.path(), &["check", "-c", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("remote.toml:4:"), "{err}");
    assert!(err.contains("10.1.2.3"), "{err}");
}

#[test]
fn files_that_are_not_yaml_are_said_in_words_and_the_rest_still_runs() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    c.write(
        "deployments/docker-compose.yml",
        "services:\n  postgres: [unclosed\n",
    );
    c.write("configs/config.yaml", "zitadel: {url: x\n");
    let report = check_json(c.root(), &[]);
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("deployments/docker-compose.yml: not YAML (line ")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("configs/config.yaml: not YAML")),
        "{notes:?}"
    );
    // The services and the plan's infra are still there.
    let services = names(&report);
    assert!(services.contains(&"version-service".to_string()));
    assert!(services.contains(&"postgres".to_string()));
    let out = top(c.root(), &["check"]);
    let table = text(&out.stdout);
    assert!(table.contains("reading the checkout:\n  - "), "{table}");
    let out = top(c.root(), &["init"]);
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("not YAML"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_manifest_written_from_the_readme_loads_and_a_missing_key_is_pointed_at() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("mine.toml");
    std::fs::write(
        &ok,
        "[[service]]\nname = \"my-service\"\ncommand = [\"bin/my-service\", \"--port\", \"{http_port}\"]\n\
         http_port = 18001\n\n[[service]]\nname = \"rpc\"\ncommand = [\"bin/rpc\"]\ngrpc_port = 19001\n\n\
         [[service]]\nname = \"worker\"\ncommand = [\"bin/worker\"]\n",
    )
    .unwrap();
    let report = check_json(dir.path(), &["-c", &ok.to_string_lossy()]);
    assert_eq!(
        targets(&report),
        [
            ("my-service".to_string(), "http".to_string(), 18001),
            ("rpc".to_string(), "grpc".to_string(), 19001),
        ]
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[service]]\nname = \"a\"\nhttp_port = 18001\n\n[[service]]\ncommand = [\"x\"]\nhttp_port = 18002\n",
    )
    .unwrap();
    let out = top(dir.path(), &["check", "-c", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml:5:1"), "{err}");
    assert!(err.contains("lacks the required key `name`"), "{err}");
}

/// `ports --check` in a checkout: the plan's conflicts (exit 1: the shared 2112) and, after
/// them, the checkout's drift, in text and in JSON.
#[test]
fn ports_check_in_a_checkout_adds_the_drift_to_the_plan_check() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let out = top(c.root(), &["ports", "--check"]);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}{}", text(&out.stderr));
    assert!(table.contains("2112"), "{table}");
    assert!(table.contains("plan drift: "), "{table}");
    assert!(
        table.contains("  - version-service: not in the plan"),
        "{table}"
    );
    let out = top(c.root(), &["ports", "--check", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let kinds = drift_kinds(&report);
    assert!(
        kinds.contains(&("unknown_service".to_string(), "version-service".to_string())),
        "{kinds:?}"
    );
}
