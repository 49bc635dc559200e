//! The dashboard in a synthetic AnyChat checkout, driven in tmux as a developer would run it:
//! started in the checkout with no flags it shows the checkout's 13 services and the drift,
//! and starts a service from its `bin/<name>` (a link to the stub, which takes its ports from
//! `SERVER.HTTP_PORT`/`SERVER.GRPC_PORT` as a real service does, and writes the environment
//! it received); with `--port-offset` the started service gets the shifted ports and peers;
//! a compose file that is not YAML is said in the alerts; a remote entry on 127.0.0.2 is
//! probed there, shows its host, and `s` says why it is not started.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anychat_top::checkout::{ReadOptions, startup};
use anychat_top::ports::first_free_offset;
use support::checkout::{SyntheticCheckout, UPSTREAM};
use support::process::free_low_port;
use support::tmux::{Tmux, pids_with, proc_state};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");

/// The environment the stub wrote to `path`, waiting for it.
fn env_written(path: &Path) -> BTreeMap<String, String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(env) = serde_json::from_str(&text)
        {
            return env;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} not written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Layout for the tests that read the start-up alerts: the services table over a tall alerts
/// panel (the default strip shows one alert, and anything said later hides the drift).
const ALERTS_LAYOUT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/checkout-alerts-layout.toml"
);

/// `DOCKER_HOST=...` naming a socket that does not exist: these tests are about processes, and
/// must not depend on whether a Docker engine runs on the machine.
fn no_docker() -> String {
    format!(
        "DOCKER_HOST=unix:///nonexistent/anychat-top-test-{}.sock",
        std::process::id()
    )
}

/// Select `name` with the filter and press `key`.
fn press_on(tmux: &Tmux, name: &str, key: &str) {
    tmux.send(&["/"]);
    tmux.send(&["-l", name]);
    tmux.send(&["Enter"]);
    tmux.send(&[key]);
}

/// Quit and check that nothing started from `root` outlives the dashboard.
fn quit_and_check_gone(tmux: &Tmux, root: &Path) {
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains("exit=0")
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<u32> = pids_with(&[&root.join("bin").to_string_lossy()])
            .into_iter()
            .filter(|p| proc_state(*p).is_some_and(|s| s != 'Z'))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "services left running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn in_a_checkout_with_no_flags_the_dashboard_shows_its_services_drift_and_starts_one() {
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let c = SyntheticCheckout::upstream();
    // auth-service on free test ports (its main.go says so): the only one started.
    let (http, grpc) = (free_low_port(), free_low_port());
    c.service("auth-service", &http.to_string(), Some(&grpc.to_string()))
        .age("cmd/auth-service/main.go", Duration::from_secs(86_400));
    c.bin_all_stubs();
    let env_file = c.root().join("auth-env.json");
    tmux.type_line(&format!(
        "cd {} && {} ANYCHAT_STUB_PRINT_ENV={} {TOP} --layout {ALERTS_LAYOUT}; echo \"exit=$?\"",
        c.root().display(),
        no_docker(),
        env_file.display()
    ));
    let (screen, _) = tmux.wait_for("the checkout's services", Duration::from_secs(15), |s| {
        s.contains("version-service") && s.contains("plan drift: ")
    });
    // Findings, each naming both values and the file, and their count.
    for finding in [
        "version-service: not in the plan",
        "rtc-service is called calling-service in the checkout",
        "zitadel.url: port 8090 in configs/config.yaml",
    ] {
        assert!(screen.contains(finding), "{finding} not said:\n{screen}");
    }
    // The table's rows: a border, a state symbol, then the name.
    let row = |name: &str| {
        screen.lines().any(|l| {
            let mut chars = l.chars();
            chars.next() == Some('│')
                && chars.next().is_some()
                && chars.as_str().starts_with(&format!(" {name} "))
        })
    };
    for (name, _, _) in UPSTREAM {
        assert!(row(name), "{name} not shown:\n{screen}");
    }
    assert!(!row("session-service"), "{screen}");
    assert!(!row("rtc-service"), "{screen}");
    assert!(screen.contains(&http.to_string()), "{screen}");

    press_on(&tmux, "auth-service", "s");
    let env = env_written(&env_file);
    let want = [
        ("SERVER.HTTP_PORT", http.to_string()),
        ("SERVER.GRPC_PORT", grpc.to_string()),
        ("AUTH_GRPC_ADDR", format!("localhost:{grpc}")),
        ("CONVERSATION_GRPC_ADDR", "localhost:9006".to_string()),
        ("NATS.URL", "nats://localhost:4222".to_string()),
    ];
    for (key, value) in want {
        assert_eq!(env.get(key), Some(&value), "{key}");
    }
    tmux.wait_for(
        "auth-service running and up",
        Duration::from_secs(15),
        |s| {
            s.lines()
                .any(|l| l.contains("auth-service") && l.contains("run "))
        },
    );
    quit_and_check_gone(&tmux, c.root());
}

#[test]
fn with_port_offset_a_started_service_gets_shifted_ports_and_peers() {
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let read = startup::read(c.root(), &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let offsets = (0..14).map(|k| 1000 + ((std::process::id() as i32 + k) % 14) * 1000);
    let (offset, _) = first_free_offset(offsets, |o| read.plan(o))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("a free offset");
    let env_file = c.root().join("gateway-env.json");
    let elsewhere = tempfile::tempdir().unwrap();
    tmux.type_line(&format!(
        "cd {} && {} ANYCHAT_STUB_PRINT_ENV={} {TOP} --root {} --port-offset {offset}; echo \"exit=$?\"",
        elsewhere.path().display(),
        no_docker(),
        env_file.display(),
        c.root().display(),
    ));
    let gateway = (8080 + offset).to_string();
    tmux.wait_for("the shifted gateway", Duration::from_secs(15), |s| {
        s.contains(&gateway)
    });
    press_on(&tmux, "gateway-service", "s");
    let env = env_written(&env_file);
    let shifted = |p: i32| (p + offset).to_string();
    let want = [
        ("GATEWAY.HTTP_PORT", shifted(8080)),
        ("AUTH_GRPC_ADDR", format!("localhost:{}", shifted(9001))),
        (
            "SERVICES.AUTH.GRPC_ADDR",
            format!("localhost:{}", shifted(9001)),
        ),
        ("CALLING_GRPC_ADDR", format!("localhost:{}", shifted(9009))),
        ("NATS.URL", format!("nats://localhost:{}", shifted(4222))),
        ("DATABASE.POSTGRES.PORT", shifted(5432)),
    ];
    for (key, value) in want {
        assert_eq!(env.get(key), Some(&value), "{key}");
    }
    assert!(
        !env.contains_key("SERVER.HTTP_PORT"),
        "the gateway's key is its own"
    );
    tmux.wait_for("the gateway running", Duration::from_secs(15), |s| {
        s.lines()
            .any(|l| l.contains("gateway-service") && l.contains("run "))
    });
    quit_and_check_gone(&tmux, c.root());
}

#[test]
fn a_compose_file_that_is_not_yaml_is_said_in_the_alerts() {
    let Some(tmux) = Tmux::start(120, 40) else {
        return;
    };
    let c = SyntheticCheckout::upstream();
    c.write(
        "deployments/docker-compose.yml",
        "services:\n  postgres: [unclosed\n",
    );
    tmux.type_line(&format!(
        "cd {} && {} {TOP} --layout {ALERTS_LAYOUT}; echo \"exit=$?\"",
        c.root().display(),
        no_docker()
    ));
    let (screen, _) = tmux.wait_for("the note in the alerts", Duration::from_secs(15), |s| {
        s.contains("checkout: deployments/docker-compose.yml: not YAML")
    });
    assert!(screen.contains("version-service"), "{screen}");
    quit_and_check_gone(&tmux, c.root());
}

#[test]
fn a_remote_entry_shows_its_host_is_probed_there_and_is_never_started() {
    let Some(tmux) = Tmux::start(80, 24) else {
        return;
    };
    let port = free_low_port();
    let _remote =
        support::process::stub(&["--bind", "127.0.0.2", "--http-port", &port.to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("team.toml");
    std::fs::write(
        &manifest,
        format!("[[service]]\nname = \"far-auth\"\nhost = \"127.0.0.2\"\nhttp_port = {port}\n"),
    )
    .unwrap();
    tmux.type_line(&format!(
        "cd {} && {} {TOP} -c {}; echo \"exit=$?\"",
        dir.path().display(),
        no_docker(),
        manifest.display()
    ));
    tmux.wait_for(
        "the remote row up with its host",
        Duration::from_secs(15),
        |s| {
            s.lines().any(|l| {
                l.contains("✓ far-auth")
                    && l.contains(&format!("✓ {port}"))
                    && l.contains("@127.0.0.2")
            })
        },
    );
    tmux.send(&["s"]);
    tmux.wait_for("why it is not started", Duration::from_secs(5), |s| {
        s.contains("far-auth runs on 127.0.0.2: probed, never started here")
    });
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains("exit=0")
    });
}

#[test]
fn start_all_brings_a_second_full_copy_up_beside_the_first() {
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let read = startup::read(c.root(), &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let offsets = (0..14).map(|k| 1000 + ((std::process::id() as i32 + 7 + k) % 14) * 1000);
    let (offset, plan) = first_free_offset(offsets, |o| read.plan(o))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("a free offset");
    let port = |entry: &str, label: &str| -> String {
        let id = plan.entry_named(entry).expect("in the plan");
        plan.entries[id.0]
            .targets
            .iter()
            .map(|t| &plan.targets[t.0])
            .find(|t| t.label == label)
            .map(|t| t.port.to_string())
            .unwrap_or_else(|| panic!("{entry} has no {label} port"))
    };
    // What the backends die without (and file-service's MinIO), played by stubs on the
    // shifted ports.
    let _infra = [
        support::process::stub(&["--postgres-port", &port("postgres", "postgres")]),
        support::process::stub(&["--redis-port", &port("redis", "redis")]),
        support::process::stub(&[
            "--tcp-port",
            &port("nats", "client"),
            "--http-port",
            &port("nats", "monitor"),
        ]),
        support::process::stub(&[
            "--http-port",
            &port("minio", "api"),
            "--http-port",
            &port("minio", "console"),
        ]),
    ];
    tmux.type_line(&format!(
        "cd {} && {} {TOP} --port-offset {offset}; echo \"exit=$?\"",
        c.root().display(),
        no_docker()
    ));
    tmux.wait_for("the infrastructure up", Duration::from_secs(15), |s| {
        s.contains("✓ 4 up")
    });
    tmux.send(&["S"]);
    let (screen, took) = tmux.wait_for("all 13 services up", Duration::from_secs(60), |s| {
        s.contains("✓ 17 up")
    });
    println!("checkout at offset {offset}: S → 13 services up in {took:?}");
    let running = screen
        .lines()
        .filter(|l| {
            UPSTREAM
                .iter()
                .any(|(n, _, _)| l.contains(&format!("✓ {n} ")))
        })
        .filter(|l| l.contains("run "))
        .count();
    assert_eq!(running, 13, "{screen}");
    quit_and_check_gone(&tmux, c.root());
}
