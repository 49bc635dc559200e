//! The metrics and NATS wiring in the real binary: `anychat-top demo` in tmux at 80x24 with the
//! metrics and NATS panels live on a real nats-server; `metrics SERVICE --json` against a
//! running stub (and with a Prometheus that is down); `check --json` with a real nats-server's
//! stats.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use support::process::{ChildGuard, free_low_port, require_binary, wait_for_port};
use support::tmux::{Tmux, pids_with};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");
const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");

/// A manifest with one service (`auth-service`, a stub on `http`/`metrics`) and, when given,
/// NATS' client and monitoring ports.
fn manifest(dir: &Path, http: u16, metrics: u16, nats: Option<(u16, u16)>) -> std::path::PathBuf {
    let mut text = format!(
        r#"[[service]]
name = "auth-service"
group = "core"
command = ["anychat-stub", "--name", "auth-service", "--http-port", "{http}", "--metrics-port", "{metrics}"]
http_port = {http}
metrics_port = {metrics}
"#
    );
    if let Some((client, monitor)) = nats {
        text.push_str(&format!(
            r#"
[[infra]]
name = "nats"
category = "infrastructure"
required = true
ports = [
  {{ port = {client}, probe = "tcp", label = "client" }},
  {{ port = {monitor}, probe = "nats", label = "monitor" }},
]
"#
        ));
    }
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).expect("write the manifest");
    path
}

fn run_json(args: &[&str]) -> (Value, std::process::Output) {
    let out = Command::new(TOP)
        .args(args)
        .output()
        .expect("run anychat-top");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

#[test]
fn metrics_service_json_against_a_running_stub() {
    let dir = tempfile::tempdir().unwrap();
    let (http, metrics) = (free_low_port(), free_low_port());
    let plan = manifest(dir.path(), http, metrics, None);
    let mut cmd = Command::new(STUB);
    cmd.args(["--name", "auth-service", "--log-interval", "0s"])
        .args(["--http-port", &http.to_string()])
        .args(["--metrics-port", &metrics.to_string()]);
    let _stub = ChildGuard::spawn(&mut cmd);
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(rt.block_on(wait_for_port(metrics, Duration::from_secs(10))));
    let plan = plan.to_str().unwrap();
    let (v, out) = run_json(&["metrics", "auth-service", "--json", "-c", plan]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(v["service"], "auth-service");
    assert_eq!(v["source"], "endpoint", "{v:#}");
    let values = &v["values"];
    assert!(values["goroutines"].as_f64().unwrap() >= 1.0, "{v:#}");
    assert!(
        values["resident_memory_bytes"].as_f64().unwrap() > 1e5,
        "{v:#}"
    );
    // Two scrapes 2 s apart: the stub's request counters give a rate.
    assert!(values["request_rate"].as_f64().is_some(), "{v:#}");
    assert!(values["cpu_percent"].as_f64().is_some(), "{v:#}");

    // The table form names the source.
    let out = Command::new(TOP)
        .args(["metrics", "auth-service", "-c", plan])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("source: endpoint"),
        "{text}"
    );

    // A Prometheus that does not answer: said, and the direct scrape takes over.
    let down = free_low_port();
    let url = format!("http://127.0.0.1:{down}");
    let (v, out) = run_json(&[
        "metrics",
        "auth-service",
        "--json",
        "-c",
        plan,
        "--prometheus",
        &url,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(v["source"], "endpoint", "{v:#}");
    let words = v["prometheus"].as_str().unwrap_or_default();
    assert!(
        words.contains(&format!("127.0.0.1:{down}")) && words.contains("direct scrape"),
        "{v:#}"
    );

    // An unknown service is an error naming the known ones.
    let out = Command::new(TOP)
        .args(["metrics", "nope-service", "-c", plan])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth-service"));
}

#[test]
fn check_json_includes_the_nats_servers_stats() {
    let Some(binary) = require_binary("nats-server") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (client, monitor) = (free_low_port(), free_low_port());
    let (http, metrics) = (free_low_port(), free_low_port());
    let plan = manifest(dir.path(), http, metrics, Some((client, monitor)));
    let plan = plan.to_str().unwrap();
    // Without the server: no `nats` object.
    let (v, _) = run_json(&["check", "--json", "-c", plan]);
    assert!(v.get("nats").is_none(), "{v:#}");

    let store = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(binary);
    cmd.args(["-a", "127.0.0.1", "-p", &client.to_string()])
        .args(["-m", &monitor.to_string(), "-js", "-sd"])
        .arg(store.path());
    let _server = ChildGuard::spawn(&mut cmd);
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(rt.block_on(wait_for_port(monitor, Duration::from_secs(10))));
    // One client publishing.
    let mut cmd = Command::new(STUB);
    cmd.args(["--name", "message-service", "--log-interval", "0s"])
        .args([
            "--nats",
            &format!("127.0.0.1:{client}"),
            "--nats-every",
            "50ms",
        ]);
    let _client = ChildGuard::spawn(&mut cmd);
    let deadline = Instant::now() + Duration::from_secs(10);
    let v = loop {
        let (v, _) = run_json(&["check", "--json", "-c", plan]);
        if v["nats"]["connections"].as_u64() == Some(1) && v["nats"]["in_msgs"].as_u64() > Some(0) {
            break v;
        }
        assert!(Instant::now() < deadline, "no client seen: {v:#}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let nats = &v["nats"];
    assert!(
        nats["version"].as_str().unwrap().starts_with('2'),
        "{nats:#}"
    );
    assert_eq!(nats["healthz"], "ok");
    assert_eq!(nats["jetstream"], "JetStream enabled, no streams");
    assert_eq!(nats["clients"][0]["name"], "anychat-message-service");
    // The check itself still reports the targets.
    assert!(v.to_string().contains("auth-service"));
}

/// Held by the tests that run the demo: two of them must not pick the same offset.
static DEMO_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn demo_ports() -> std::sync::MutexGuard<'static, ()> {
    DEMO_PORTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// An offset (1000..16000, below the ephemeral range) at which every port of the demo plan is
/// free, and stays below 32768.
fn free_demo_offset() -> i32 {
    let start = std::process::id() as i32;
    let offsets = (0..15).map(|k| 1000 + ((start + k) % 15) * 1000);
    let plan_at = |offset: i32| {
        anychat_top::manifest::build_plan(
            &[anychat_top::manifest::Source::demo()],
            &anychat_top::manifest::PlanOptions {
                port_offset: offset,
                root: None,
            },
        )
    };
    match anychat_top::ports::first_free_offset(offsets, plan_at) {
        Ok(Some((offset, _))) => offset,
        _ => panic!("no free offset for the demo plan"),
    }
}

#[test]
fn demo_shows_live_metrics_and_nats_at_80x24() {
    if require_binary("nats-server").is_none() {
        return;
    }
    let Some(tmux) = Tmux::start(80, 24) else {
        return;
    };
    let _ports = demo_ports();
    let offset = free_demo_offset();
    let monitor = 8222 + offset;
    let marker = format!("exited-{}", std::process::id());
    tmux.type_line(&format!(
        "{TOP} demo --layout metrics --port-offset {offset}; echo {marker}"
    ));
    // The metrics panel: every service from its endpoint, with a request rate.
    let (screen, _) = tmux.wait_for("metrics from the endpoints", Duration::from_secs(20), |s| {
        s.contains("Metrics")
            && s.lines()
                .any(|l| l.contains("auth-service") && l.contains(" ep ") && !l.contains(" — "))
    });
    assert!(screen.contains("metrics: direct scrape"), "{screen}");
    // The NATS panel: a real nats-server, the stubs connected and publishing, each connection
    // named by the service that owns its socket.
    let (screen, _) = tmux.wait_for("NATS traffic", Duration::from_secs(20), |s| {
        s.contains(&format!("NATS 127.0.0.1:{monitor}"))
            && s.contains("nats-server 2.")
            && s.contains("conns 12")
            && s.contains("message-service")
            && s.lines().any(|l| l.contains("in ") && l.contains("msg/s"))
    });
    assert!(screen.contains("JetStream enabled"), "{screen}");
    assert!(!screen.contains("unreachable"), "{screen}");
    // Rates move: the in msg/s figure is not zero once two polls were seen.
    tmux.wait_for("a non-zero message rate", Duration::from_secs(10), |s| {
        s.lines().any(|l| {
            l.contains("msg/s")
                && l.split_whitespace()
                    .nth(1)
                    .and_then(|x| x.parse::<f64>().ok())
                    .is_some_and(|x| x > 0.0)
        })
    });
    // `o` sorts the connections by another key.
    let before = tmux.screen();
    let sort_of = |s: &str| {
        s.lines().find_map(|l| {
            l.split("· sort ")
                .nth(1)
                .map(|r| r.split(' ').next().unwrap_or("").to_owned())
        })
    };
    let first = sort_of(&before).expect("a sort key in the title");
    tmux.send(&["o"]);
    tmux.wait_for("another sort key", Duration::from_secs(5), |s| {
        sort_of(s).is_some_and(|k| k != first)
    });
    // Enter opens the explorer on the selected service; `/` filters its families.
    tmux.send(&["Down", "Enter"]);
    tmux.wait_for("the explorer", Duration::from_secs(5), |s| {
        s.contains("Explorer: auth-service") && s.contains("go_")
    });
    tmux.send(&["/"]);
    tmux.send(&["-l", "goroutines"]);
    tmux.send(&["Enter"]);
    tmux.wait_for("the filtered explorer", Duration::from_secs(5), |s| {
        s.contains("/goroutines") && s.contains("go_goroutines") && !s.contains("go_gc_duration")
    });
    // Quit: every stub and the nats-server are stopped.
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains(&marker)
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let port = format!(" {monitor} ");
    while !pids_with(&["nats-server", &port]).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        pids_with(&["nats-server", &port]).is_empty(),
        "nats-server left running"
    );
    let auth_port = format!(" {} ", 2113 + offset);
    assert!(
        pids_with(&["anychat-stub", &auth_port]).is_empty(),
        "stubs left running"
    );
}

#[test]
fn dashboard_takes_metrics_from_prometheus_and_falls_back_when_it_stops() {
    let Some(prometheus) = require_binary("prometheus") else {
        return;
    };
    let Some(tmux) = Tmux::start(80, 24) else {
        return;
    };
    let _ports = demo_ports();
    let offset = free_demo_offset();
    let auth_metrics = 2113 + offset;
    let p_prom = free_low_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n\
             \x20 - job_name: auth-service\n    static_configs:\n      - targets: ['127.0.0.1:{auth_metrics}']\n"
        ),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{p_prom}");
    let server = ChildGuard::spawn(Command::new(&prometheus).args([
        &format!("--config.file={}", config.display()),
        &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        &format!("--web.listen-address={listen}"),
        "--log.level=warn",
    ]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(rt.block_on(wait_for_port(p_prom, Duration::from_secs(30))));
    let marker = format!("exited-{}", std::process::id());
    tmux.type_line(&format!(
        "{TOP} demo --layout metrics --port-offset {offset} --prometheus http://{listen}; echo {marker}"
    ));
    // auth-service from Prometheus (matched by its job), the others from their endpoints; the
    // panel's border and the status bar say where the metrics come from.
    let (screen, _) = tmux.wait_for(
        "auth-service from Prometheus",
        Duration::from_secs(40),
        |s| {
            s.lines()
                .any(|l| l.contains("auth-service") && l.contains(" prom "))
                && s.contains(&format!("metrics: Prometheus {listen}, 1 services"))
        },
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("user-service") && l.contains(" ep ")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .last()
            .unwrap_or("")
            .contains("metrics: Prometheus"),
        "{screen}"
    );
    // The explorer on auth-service lists the series Prometheus holds for it (the poller is told
    // which service is explored).
    tmux.send(&["Down", "Enter"]);
    tmux.wait_for(
        "auth-service's series from Prometheus",
        Duration::from_secs(15),
        |s| {
            s.contains("Explorer: auth-service")
                && s.contains("go_gc_duration_seconds summary")
                && s.lines()
                    .any(|l| l.contains("auth-service") && l.contains(" prom "))
        },
    );
    tmux.send(&["L"]);
    tmux.wait_for("back to the metrics layout", Duration::from_secs(5), |s| {
        s.contains("NATS")
    });
    // Prometheus stops: said, and the direct scrape takes over.
    drop(server);
    tmux.wait_for(
        "Prometheus down, auth-service direct",
        Duration::from_secs(20),
        |s| {
            s.contains("metrics: Prometheus down")
                && s.contains("unreachable")
                && s.lines()
                    .any(|l| l.contains("auth-service") && l.contains(" ep "))
        },
    );
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains(&marker)
    });
}

#[test]
fn bad_pages_are_errors_in_their_panels_at_80x24() {
    let Some(tmux) = Tmux::start(80, 24) else {
        return;
    };
    let servers = support::servers::ServerRuntime::new(1);
    // A metrics port answering JSON, and a NATS monitoring port answering cut-off JSON.
    let metrics = servers.http(
        support::servers::listener(free_low_port()),
        200,
        r#"{"metrics": []}"#,
    );
    let monitor = servers.http(
        support::servers::listener(free_low_port()),
        200,
        r#"{"server_id": "NA"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let plan = manifest(
        dir.path(),
        free_low_port(),
        metrics.port,
        Some((free_low_port(), monitor.port)),
    );
    let marker = format!("exited-{}", std::process::id());
    tmux.type_line(&format!(
        "{TOP} -c {} --layout metrics; echo {marker}",
        plan.display()
    ));
    let (screen, _) = tmux.wait_for("both errors", Duration::from_secs(15), |s| {
        s.contains("not Prometheus text: application/json") && s.contains("unreachable")
    });
    assert!(screen.contains("/varz: not the expected JSON"), "{screen}");
    // Still responsive: the explorer opens and says there are no metrics.
    tmux.send(&["Enter"]);
    tmux.wait_for("the explorer", Duration::from_secs(5), |s| {
        s.contains("Explorer: auth-service") && s.contains("no metrics yet")
    });
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(10), |s| {
        s.contains(&marker)
    });
}

#[test]
fn a_shared_metrics_port_is_attributed_to_its_holder_only() {
    let Some(tmux) = Tmux::start(80, 24) else {
        return;
    };
    // Three services configured with one metrics port, as the real plan's 2112; only
    // auth-service's process serves it.
    let shared = free_low_port();
    let mut text = String::new();
    for name in ["auth-service", "user-service", "friend-service"] {
        let http = free_low_port();
        let serve = if name == "auth-service" {
            format!(", \"--metrics-port\", \"{shared}\"")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "[[service]]\nname = \"{name}\"\ngroup = \"core\"\n\
             command = [\"{STUB}\", \"--name\", \"{name}\", \"--http-port\", \"{http}\"{serve}]\n\
             http_port = {http}\nmetrics_port = {shared}\n\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, text).unwrap();
    let marker = format!("exited-{}", std::process::id());
    tmux.type_line(&format!(
        "{TOP} -c {} --layout metrics; echo {marker}",
        plan.display()
    ));
    tmux.wait_for("the dashboard", Duration::from_secs(10), |s| {
        s.contains("Metrics")
    });
    tmux.send(&["S"]);
    // auth-service's page is its own; user-service (selected next) says who holds the port.
    tmux.wait_for(
        "auth-service from its endpoint",
        Duration::from_secs(20),
        |s| {
            s.lines()
                .any(|l| l.contains("auth-service") && l.contains(" ep ") && !l.contains(" — "))
        },
    );
    tmux.send(&["Down"]);
    let (screen, _) = tmux.wait_for("the holder named", Duration::from_secs(10), |s| {
        s.contains("user-service: metrics port held by auth-service")
    });
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("│user-service") && !l.contains(" ep ")),
        "{screen}"
    );
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains(&marker)
    });
    let port = format!("--metrics-port {shared}");
    assert!(
        pids_with(&[STUB, &port]).is_empty(),
        "auth-service left running"
    );
}

/// AnyChat's services serve no `/metrics` yet: `metrics SERVICE --log-dir DIR` reads the
/// request lines the dashboard kept in `DIR/<name>.log` (the last minute of them, by their zap
/// time) and derives rate, errors and latency from them. Lines older than the window, without
/// a time, or malformed are left out.
#[test]
fn metrics_service_from_the_log_dir_when_no_endpoint_answers() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on these ports: the endpoint is refused.
    let (http, metrics) = (free_low_port(), free_low_port());
    let plan = manifest(dir.path(), http, metrics, None);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut text = String::new();
    // An hour ago: outside the window.
    for _ in 0..50 {
        text.push_str(&format!(
            "{{\"level\":\"info\",\"ts\":{},\"msg\":\"gRPC request completed\",\"method\":\"/auth.Auth/Login\",\"duration\":0.5,\"status\":\"OK\"}}\n",
            now - 3600.0
        ));
    }
    // The last 30 s: 9 OK, 1 failed.
    for i in 0..10 {
        let (msg, status) = if i == 9 {
            ("gRPC request failed", "Internal")
        } else {
            ("gRPC request completed", "OK")
        };
        text.push_str(&format!(
            "{{\"level\":\"info\",\"ts\":{},\"msg\":\"{msg}\",\"method\":\"/auth.Auth/Login\",\"duration\":0.004,\"status\":\"{status}\"}}\n",
            now - 30.0 + f64::from(i)
        ));
    }
    text.push_str("not json at all\n{\"level\":\"info\",\"msg\":\"gRPC request completed\"}\n");
    std::fs::write(logs.join("auth-service.log"), text).unwrap();
    let plan = plan.to_str().unwrap();
    let logs = logs.to_str().unwrap();
    let (v, out) = run_json(&[
        "metrics",
        "auth-service",
        "--json",
        "-c",
        plan,
        "--log-dir",
        logs,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(v["source"], "logs", "{v:#}");
    let rate = v["values"]["request_rate"]
        .as_f64()
        .expect("a request rate");
    assert!(rate > 0.0 && rate < 1.0, "10 requests in the window: {v:#}");
    let errors = v["values"]["error_percent"]
        .as_f64()
        .expect("an error rate");
    assert!((errors - 10.0).abs() < 0.01, "1 of 10 failed: {v:#}");
    let p95 = v["latency_seconds"]["p95"].as_f64().expect("a p95");
    assert!(
        p95 < 0.1,
        "the hour-old 0.5 s requests are out of the window: {v:#}"
    );
    assert_eq!(v["methods"][0]["method"], "/auth.Auth/Login", "{v:#}");
    // Without the log dir: nothing to show, and it says so.
    let (v, _) = run_json(&["metrics", "auth-service", "--json", "-c", plan]);
    assert_eq!(v["source"], "none", "{v:#}");
}
