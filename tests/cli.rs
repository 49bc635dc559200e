//! The `anychat-top` command line end to end: `check` against real stubs, and bad manifests.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");
const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child killed (and reaped) on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stub(name: &str, http: u16, grpc: u16) -> Guard {
    let child = Command::new(STUB)
        .args([
            "--name",
            name,
            "--http-port",
            &http.to_string(),
            "--grpc-port",
            &grpc.to_string(),
        ])
        .args(["--log-interval", "0s", "--quiet-health"])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn anychat-stub");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err() {
        assert!(Instant::now() < deadline, "stub {name} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Guard(child)
}

struct Svc {
    name: &'static str,
    http: u16,
    grpc: u16,
}

fn manifest(services: &[Svc]) -> String {
    services
        .iter()
        .map(|s| {
            format!(
                "[[service]]\nname = \"{}\"\ngroup = \"core\"\nhttp_port = {}\ngrpc_port = {}\n\n",
                s.name, s.http, s.grpc
            )
        })
        .collect()
}

#[test]
fn check_json_reports_the_stopped_service_down_and_exits_1() {
    let services = [
        Svc {
            name: "auth-service",
            http: free_port(),
            grpc: free_port(),
        },
        Svc {
            name: "user-service",
            http: free_port(),
            grpc: free_port(),
        },
        Svc {
            name: "friend-service",
            http: free_port(),
            grpc: free_port(),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, manifest(&services)).unwrap();
    let _auth = stub("auth-service", services[0].http, services[0].grpc);
    let _friend = stub("friend-service", services[2].http, services[2].grpc);
    // user-service is stopped.
    let out = Command::new(TOP)
        .args(["check", "--json", "--timeout", "2s", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["ok"], false);
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 6);
    for t in targets {
        let name = t["name"].as_str().unwrap();
        let expected = if name == "user-service" { "down" } else { "up" };
        assert_eq!(t["state"], expected, "{t}");
        assert_eq!(t["kind"], "service");
        assert!(t["latency_ms"].as_f64().unwrap() >= 0.0);
        assert!(t["port"].as_u64().is_some());
        assert!(
            ["health", "grpc"].contains(&t["probe"].as_str().unwrap()),
            "{t}"
        );
        assert!(!t["detail"].as_str().unwrap().is_empty());
    }
    let user = targets
        .iter()
        .find(|t| t["name"] == "user-service")
        .unwrap();
    assert_eq!(user["detail"], "connection refused");
    assert_eq!(
        report["required_down"],
        serde_json::json!(["user-service/http", "user-service/grpc"])
    );

    // Everything up: exit 0, and the table names every target.
    let _user = stub("user-service", services[1].http, services[1].grpc);
    let out = Command::new(TOP)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(table.contains("every required (*) target is up"), "{table}");
    let line = table
        .lines()
        .find(|l| l.starts_with("* user-service/grpc"))
        .unwrap_or_default();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words[..5],
        [
            "*",
            "user-service/grpc",
            &services[1].grpc.to_string(),
            "grpc",
            "up"
        ],
        "{table}"
    );
}

#[test]
fn check_with_port_offset_probes_the_shifted_ports() {
    let http = free_port();
    let grpc = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    // The manifest names ports 100 below the real ones; --port-offset 100 shifts them back.
    let text = manifest(&[Svc {
        name: "auth-service",
        http: http - 100,
        grpc: grpc - 100,
    }]);
    std::fs::write(&path, text).unwrap();
    let _auth = stub("auth-service", http, grpc);
    let out = Command::new(TOP)
        .args(["check", "--json", "--port-offset", "100", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["targets"][0]["port"], http);
}

#[test]
fn a_bad_manifest_is_named_with_line_and_column_and_exits_2_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[service]]\nname = \"a\"\ngroup = \"core\"\nhttp_port = 8001\ndepends_on = [\"ghost\"]\n",
    )
    .unwrap();
    for args in [vec!["check"], vec!["check", "--json"], vec![], vec!["demo"]] {
        let out = Command::new(TOP)
            .args(&args)
            .arg("--config")
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let expected = format!(
            "{}:5:15: \"a\" depends on \"ghost\", which is not in the plan",
            path.display()
        );
        assert!(err.contains(&expected), "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "nothing drawn or printed on stdout for {args:?}"
        );
    }
    // A directory of manifests: each file is read, errors name the file.
    std::fs::write(dir.path().join("ok.toml"), "").unwrap();
    let out = Command::new(TOP)
        .args(["check", "--config"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:5:15"));
    // A bad layout is rejected before the terminal is touched.
    let out = Command::new(TOP)
        .args(["--layout", "nope"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no such layout"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_builtin_plan_is_checked_by_default() {
    // The real plan's ports on this machine: whatever the verdict, the JSON has every target
    // (12 HTTP + 11 gRPC + 12 metrics + 11 infra ports).
    let out = Command::new(TOP)
        .args(["check", "--json", "--timeout", "300ms"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["targets"].as_array().unwrap().len(), 46);
    assert!(matches!(out.status.code(), Some(0 | 1)));
}

#[test]
fn demo_without_the_stub_says_how_to_build_it_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("anychat-top");
    std::fs::copy(TOP, &alone).unwrap();
    let out = Command::new(&alone)
        .arg("demo")
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the demo needs `anychat-stub`") && err.contains("cargo build --release"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "the terminal was not touched");
}
