//! `anychat-top check` with container entries against this machine's engine: each entry's
//! container name, state and engine health beside its probes (table and --json), and the
//! engine's trouble with its fix when DOCKER_HOST points nowhere.

mod support;

#[path = "docker/support.rs"]
mod docker_support;

use std::process::Command;
use std::time::Duration;

use support::process::free_low_port;

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");

fn manifest(web: &str, web_port: u16, gone: &str, gone_port: u16) -> String {
    format!(
        r#"
[[infra]]
name = "web"
container = "{web}"
required = false
ports = [{{ port = {web_port}, probe = "http", label = "http" }}]

[[infra]]
name = "cache"
container = "{gone}"
runs = "container"
required = false
ports = [{{ port = {gone_port}, probe = "tcp", label = "client" }}]
"#
    )
}

fn check(path: &std::path::Path, json: bool, docker_host: Option<&str>) -> String {
    let mut cmd = Command::new(TOP);
    cmd.arg("check");
    if json {
        cmd.arg("--json");
    }
    cmd.args(["--timeout", "2s", "--config"]).arg(path);
    match docker_host {
        Some(host) => cmd.env("DOCKER_HOST", host),
        None => cmd.env_remove("DOCKER_HOST"),
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn check_names_each_container_with_its_state_and_engine_health() {
    let Some(image) = docker_support::image_or_skip() else {
        return;
    };
    let containers = docker_support::Containers::new("att-check");
    let web = format!("{}-web", containers.label);
    let gone = format!("{}-cache", containers.label);
    let (web_port, gone_port) = (free_low_port(), free_low_port());
    let publish = format!("127.0.0.1:{web_port}:8080");
    containers.run(
        "web",
        &[
            "-p",
            &publish,
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
        ],
        image,
        &[
            "sh",
            "-c",
            "mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
        ],
    );
    let until = docker_support::until(Duration::from_secs(20));
    while docker_support::inspect(&web, "{{.State.Health.Status}}") != "healthy" {
        assert!(std::time::Instant::now() < until, "never healthy");
        std::thread::sleep(Duration::from_millis(200));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, manifest(&web, web_port, &gone, gone_port)).unwrap();

    let report: serde_json::Value =
        serde_json::from_str(&check(&path, true, None)).expect("JSON on stdout");
    let targets = report["targets"].as_array().unwrap();
    let of = |name: &str| targets.iter().find(|t| t["name"] == name).unwrap().clone();
    let w = of("web");
    assert_eq!(w["state"], "up", "{w}");
    assert_eq!(
        w["container"],
        serde_json::json!({"container": web, "state": "running", "engine_health": "healthy"})
    );
    let c = of("cache");
    assert_eq!(c["state"], "down", "{c}");
    assert_eq!(
        c["container"],
        serde_json::json!({"container": gone, "state": "missing", "engine_health": null})
    );
    assert!(report.get("docker").is_none(), "{report}");

    let table = check(&path, false, None);
    assert!(
        table.contains(&format!(
            "web: container {web} running, engine health healthy"
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!("cache: container {gone} missing")),
        "{table}"
    );

    // No engine: the probes still run, and the report says why there is no container word.
    let missing = format!("unix://{}", dir.path().join("none.sock").display());
    let report: serde_json::Value =
        serde_json::from_str(&check(&path, true, Some(&missing))).unwrap();
    let docker = report["docker"].as_str().unwrap();
    assert!(
        docker.contains("no Docker engine") && docker.contains("fix: start Docker"),
        "{docker}"
    );
    let targets = report["targets"].as_array().unwrap();
    let w = targets.iter().find(|t| t["name"] == "web").unwrap();
    assert_eq!(w["state"], "up");
    assert_eq!(w["container"]["state"], "unknown");
}
