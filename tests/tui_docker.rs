//! The real binary in tmux with Docker: the demo with one infra entry (livekit) played by a
//! container built here, stopped and started from the keyboard with its logs on screen; and
//! DOCKER_HOST at a missing socket and at a socket that never answers, where the dashboard
//! starts, says so with the fix, and still starts and stops services.

mod support;

#[path = "docker/support.rs"]
mod docker_support;

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anychat_top::ports::first_free_offset;
use support::tmux::{Tmux, pids_with, survivors_after};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");

/// Tests of this file take turns on the demo's ports.
static PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    PORTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// services/demo.toml with its livekit entry run by the container `container` instead of a
/// stub (stopped within 2 s).
fn manifest_with_container(container: &str) -> String {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/services/demo.toml"))
        .expect("services/demo.toml");
    let stub = r#"command = ["anychat-stub", "--name", "{name}", "--log-interval", "0s", "--quiet-health", "--http-port", "{port:livekit}"]"#;
    assert!(demo.contains(stub), "the demo's livekit entry changed");
    demo.replace(stub, "runs = \"container\"\nstop_grace = \"2s\"")
        .replace(
            "container = \"anychat-livekit\"",
            &format!("container = \"{container}\""),
        )
}

/// Writes the manifest into a temp dir; the offset (below the ephemeral range) at which every
/// port of its plan is free.
fn plan_file(text: &str) -> (tempfile::TempDir, PathBuf, i32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo-docker.toml");
    std::fs::write(&path, text).unwrap();
    let source = anychat_top::manifest::Source {
        path: path.clone(),
        text: text.to_string(),
    };
    let start = std::process::id() as i32;
    let offsets = (0..16).map(|k| 1000 + ((start + k) % 16) * 1000);
    let build = |offset| {
        anychat_top::manifest::build_plan(
            std::slice::from_ref(&source),
            &anychat_top::manifest::PlanOptions {
                port_offset: offset,
                root: None,
            },
        )
    };
    let (offset, _) = first_free_offset(offsets, build)
        .expect("plan builds")
        .expect("a free offset");
    (dir, path, offset)
}

/// Start the dashboard in `tmux` with `env` before it; wait for its first probes.
fn open(tmux: &Tmux, env: &str, manifest: &Path, offset: i32) {
    tmux.type_line(&format!(
        "{env} {TOP} --config {} --port-offset {offset}; echo \"exit=$?\"",
        manifest.display()
    ));
    tmux.wait_for("first probes", Duration::from_secs(15), |s| {
        s.contains(" down") && s.contains("stopped")
    });
    // Keys typed before the dashboard reads its input would be lost.
    std::thread::sleep(Duration::from_millis(500));
}

/// Quit and check the shell is back with exit 0 and the stub of gateway-service (started
/// by [`services_still_work`], or never) gone.
fn quit(tmux: &Tmux, offset: i32) {
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains("exit=0")
    });
    let port = format!("--http-port {}", 8080 + offset);
    let left = survivors_after(
        &pids_with(&["anychat-stub", "gateway-service", &port]),
        Duration::from_secs(5),
    );
    assert!(left.is_empty(), "stubs left running: {left:?}");
}

/// The line of the screen that holds `word` (for messages).
fn line_with<'a>(screen: &'a str, word: &str) -> &'a str {
    screen.lines().find(|l| l.contains(word)).unwrap_or("")
}

/// Services still start and stop by key while Docker is unusable: `s` on the selected row
/// (gateway-service, the first), then `x`.
fn services_still_work(tmux: &Tmux) {
    tmux.send(&["s"]);
    let (screen, _) = tmux.wait_for("gateway-service up", Duration::from_secs(15), |s| {
        s.contains("✓ gateway-service")
    });
    assert!(
        line_with(&screen, "✓ gateway-service").contains("run "),
        "{screen}"
    );
    tmux.send(&["x"]);
    tmux.wait_for("gateway-service stopped", Duration::from_secs(15), |s| {
        s.lines()
            .any(|l| l.contains("✗ gateway-service") && l.contains("exit 0"))
    });
}

#[test]
fn docker_host_at_a_missing_socket_is_said_with_the_fix_and_services_still_work() {
    let _turn = turn();
    let Some(tmux) = Tmux::start(80, 24) else {
        return;
    };
    let (dir, manifest, offset) = plan_file(&manifest_with_container("att-tui-missing-livekit"));
    let socket = dir.path().join("no-such-docker.sock");
    open(
        &tmux,
        &format!("DOCKER_HOST=unix://{}", socket.display()),
        &manifest,
        offset,
    );
    let (screen, _) = tmux.wait_for("the engine's trouble", Duration::from_secs(10), |s| {
        s.contains("no Docker engine") && s.contains("fix: start Docker")
    });
    assert!(screen.contains("Docker unavailable"), "{screen}");
    services_still_work(&tmux);
    quit(&tmux, offset);
}

#[test]
fn docker_host_at_a_socket_that_never_answers_is_said_and_services_still_work() {
    let _turn = turn();
    let Some(tmux) = Tmux::start(100, 30) else {
        return;
    };
    let (dir, manifest, offset) = plan_file(&manifest_with_container("att-tui-silent-livekit"));
    let socket = dir.path().join("silent-docker.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    // Accepts every connection and never answers (the connections are kept open).
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    open(
        &tmux,
        &format!("DOCKER_HOST=unix://{}", socket.display()),
        &manifest,
        offset,
    );
    let (screen, _) = tmux.wait_for("the engine's silence", Duration::from_secs(15), |s| {
        s.contains("Docker engine not answering")
    });
    assert!(
        screen.contains("fix: the engine may be overloaded or hung"),
        "{screen}"
    );
    services_still_work(&tmux);
    quit(&tmux, offset);
}

#[test]
fn a_container_of_the_demo_is_stopped_and_started_from_the_keyboard_with_its_logs() {
    let Some(image) = docker_support::image_or_skip() else {
        return;
    };
    let _turn = turn();
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let containers = docker_support::Containers::new("att-tui");
    let name = format!("{}-livekit", containers.label);
    let (_dir, manifest, offset) = plan_file(&manifest_with_container(&name));
    let port = 7880 + offset;
    let publish = format!("127.0.0.1:{port}:7880");
    containers.run(
        "livekit",
        &["-p", &publish],
        image,
        &[
            "sh",
            "-c",
            "mkdir -p /tmp/www && echo ok > /tmp/www/index.html && echo livekit-container-says-hello && exec httpd -f -p 7880 -h /tmp/www",
        ],
    );
    open(&tmux, "", &manifest, offset);
    // The infra table: focus it and select its last row (livekit).
    tmux.send(&["Tab"]);
    tmux.send(&["End"]);
    tmux.wait_for("livekit selected", Duration::from_secs(5), |s| {
        s.contains("Detail: livekit")
    });
    let (screen, _) = tmux.wait_for(
        "livekit's container running and probed",
        Duration::from_secs(20),
        |s| {
            s.lines()
                .any(|l| l.contains("✓ livekit") && l.contains("running"))
        },
    );
    assert!(
        screen.contains(&format!("container {name} running")),
        "{screen}"
    );
    let (screen, _) = tmux.wait_for("its logs", Duration::from_secs(10), |s| {
        s.contains("livekit-container-says-hello")
    });
    assert!(screen.contains("Logs: livekit"), "{screen}");

    // x stops the container, through the engine.
    tmux.send(&["x"]);
    let (screen, _) = tmux.wait_for("livekit stopped", Duration::from_secs(20), |s| {
        s.lines()
            .any(|l| l.contains("✗ livekit") && l.contains("exited"))
    });
    assert_eq!(
        docker_support::inspect(&name, "{{.State.Running}}"),
        "false",
        "{screen}"
    );
    // s starts it again.
    tmux.send(&["s"]);
    tmux.wait_for("livekit running again", Duration::from_secs(20), |s| {
        s.lines()
            .any(|l| l.contains("✓ livekit") && l.contains("running"))
    });
    assert_eq!(docker_support::inspect(&name, "{{.State.Running}}"), "true");
    // Quitting leaves the infra running (it is Docker's, not a child of ours).
    quit(&tmux, offset);
    assert_eq!(docker_support::inspect(&name, "{{.State.Running}}"), "true");
    drop(containers);
    assert!(
        docker_support::docker(&["inspect", &name]).is_err(),
        "removed"
    );
}

#[test]
fn start_all_waits_for_the_containers_health_and_stop_all_stops_it_last() {
    let Some(image) = docker_support::image_or_skip() else {
        return;
    };
    let _turn = turn();
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let containers = docker_support::Containers::new("att-tuiall");
    let name = format!("{}-livekit", containers.label);
    // rtc-service needs livekit, whose health check passes only 4 s after it starts, while
    // its port answers at once: our probe alone would let rtc-service start early.
    let text = manifest_with_container(&name);
    let text = text.replacen(
        "depends_on = [\"user-service\"]\nrestart = \"on-failure\"\n\n[[service]]\nname = \"sync-service\"",
        "depends_on = [\"user-service\", \"livekit\"]\nrestart = \"on-failure\"\n\n[[service]]\nname = \"sync-service\"",
        1,
    );
    assert!(
        text.contains("\"user-service\", \"livekit\""),
        "rtc-service's block changed"
    );
    let (_dir, manifest, offset) = plan_file(&text);
    let publish = format!("127.0.0.1:{}:7880", 7880 + offset);
    containers.run(
        "livekit",
        &[
            "-p",
            &publish,
            "--health-cmd",
            "test -f /tmp/ready",
            "--health-interval",
            "1s",
        ],
        image,
        &[
            "sh",
            "-c",
            "mkdir -p /tmp/www; echo ok > /tmp/www/index.html; (sleep 4; touch /tmp/ready) & exec httpd -f -p 7880 -h /tmp/www",
        ],
    );
    docker_support::docker(&["stop", "-t", "1", &name]).unwrap();
    open(&tmux, "", &manifest, offset);
    tmux.wait_for("livekit's container exited", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.contains("livekit") && l.contains("exited"))
    });

    // S: the container is started with the processes; rtc-service waits for its health.
    tmux.send(&["S"]);
    // A moment when rtc-service's other dependency and livekit's port are up, but rtc-service
    // still waits: for the engine's health check, which passes 4 s after the start.
    let (screen, waited) = tmux.wait_for(
        "rtc-service waiting on livekit's health",
        Duration::from_secs(20),
        |s| {
            s.contains("✓ user-service")
                && s.lines()
                    .any(|l| l.contains("✓ livekit") && l.contains("running"))
                && line_with(s, "rtc-service").contains("stopped")
        },
    );
    println!("rtc-service waiting on livekit's health after {waited:?}:\n{screen}");
    tmux.wait_for("everything up", Duration::from_secs(40), |s| {
        s.contains("✓ 20 up")
    });
    assert_eq!(
        docker_support::inspect(&name, "{{.State.Health.Status}}"),
        "healthy"
    );

    // X, y: services first, the container last; everything down.
    tmux.send(&["X"]);
    tmux.wait_for("confirmation", Duration::from_secs(3), |s| {
        s.contains("Stop every service? y/n")
    });
    tmux.send(&["y"]);
    tmux.wait_for("everything down", Duration::from_secs(40), |s| {
        s.contains("✗ 20 down")
    });
    let (screen, _) = tmux.wait_for(
        "livekit's container stopped",
        Duration::from_secs(20),
        |s| {
            s.lines()
                .any(|l| l.contains("✗ livekit") && l.contains("exited"))
        },
    );
    assert_eq!(
        docker_support::inspect(&name, "{{.State.Running}}"),
        "false",
        "{screen}"
    );
    quit(&tmux, offset);
}

#[test]
fn a_missing_container_is_created_with_compose_after_yes_from_the_keyboard() {
    let Some(image) = docker_support::image_or_skip() else {
        return;
    };
    let has_compose = std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
        || docker_support::docker(&["compose", "version"]).is_ok();
    if !has_compose {
        docker_support::skip_or_fail("neither docker-compose nor docker compose is installed");
        return;
    }
    let _turn = turn();
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let mut containers = docker_support::Containers::new("att-tuicompose");
    containers.also.push(
        ["network", "rm", "att-tuicompose-proj_default"]
            .map(String::from)
            .to_vec(),
    );
    let name = format!("{}-livekit", containers.label);
    let text = manifest_with_container(&name);
    let (dir, _, offset) = plan_file(&text);
    let compose = dir.path().join("docker-compose.yml");
    let yaml = format!(
        "version: \"2.4\"\nservices:\n  livekit:\n    image: {image}\n    container_name: {name}\n    labels:\n      anychat-top-test: att-tuicompose\n    command: [\"sh\", \"-c\", \"mkdir -p /tmp/www; echo ok > /tmp/www/index.html; echo compose-made-me; exec httpd -f -p 7880 -h /tmp/www\"]\n    ports:\n      - \"127.0.0.1:{}:7880\"\n",
        7880 + offset
    );
    std::fs::write(&compose, yaml).unwrap();
    let text = text.replace(
        "runs = \"container\"\n",
        &format!(
            "runs = \"container\"\ncompose_file = \"{}\"\ncompose_project = \"att-tuicompose-proj\"\ncompose_service = \"livekit\"\n",
            compose.display()
        ),
    );
    let manifest = dir.path().join("demo-compose.toml");
    std::fs::write(&manifest, text).unwrap();
    open(&tmux, "", &manifest, offset);
    tmux.send(&["Tab"]);
    tmux.send(&["End"]);
    tmux.wait_for("livekit missing", Duration::from_secs(10), |s| {
        s.contains("Detail: livekit")
            && s.lines()
                .any(|l| l.contains("livekit") && l.contains("missing"))
    });
    // s asks first; n creates nothing.
    tmux.send(&["s"]);
    tmux.wait_for("the question", Duration::from_secs(5), |s| {
        s.contains("Create livekit: docker-compose ... up -d livekit? y/n")
    });
    tmux.send(&["n"]);
    tmux.wait_for("the question gone", Duration::from_secs(5), |s| {
        !s.contains("? y/n")
    });
    assert!(
        docker_support::docker(&["inspect", &name]).is_err(),
        "n creates nothing"
    );
    // s, y: compose creates it; it runs, answers our probe, and its logs are on screen.
    tmux.send(&["s"]);
    tmux.wait_for("the question", Duration::from_secs(5), |s| {
        s.contains("? y/n")
    });
    tmux.send(&["y"]);
    let (screen, _) = tmux.wait_for(
        "livekit created and running",
        Duration::from_secs(60),
        |s| {
            s.lines()
                .any(|l| l.contains("✓ livekit") && l.contains("running"))
                && s.contains("compose-made-me")
        },
    );
    assert!(
        screen.contains("found by compose labels") || screen.contains("found by name"),
        "{screen}"
    );
    assert_eq!(docker_support::inspect(&name, "{{.State.Running}}"), "true");
    quit(&tmux, offset);
}

/// CPU time (user + system) of `pid` so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// Idle CPU of the dashboard over `window`, on the plan in `manifest`, in a 160x48 tmux.
fn idle_cpu(manifest: &Path, marker: &str, window: Duration) -> f64 {
    let tmux = Tmux::start(160, 48).expect("tmux");
    tmux.type_line(&format!(
        "{TOP} --config {} --interval 1s; echo \"exit=$?\"",
        manifest.display()
    ));
    tmux.wait_for(marker, Duration::from_secs(20), |s| s.contains(marker));
    std::thread::sleep(Duration::from_secs(2));
    let config = manifest.display().to_string();
    let top = support::tmux::dashboards(&["--config", &config]);
    assert_eq!(top.len(), 1, "{top:?}");
    let (cpu0, t0) = (cpu_time(top[0]), std::time::Instant::now());
    std::thread::sleep(window);
    let percent = 100.0 * (cpu_time(top[0]) - cpu0).as_secs_f64() / t0.elapsed().as_secs_f64();
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains("exit=0")
    });
    percent
}

/// The dashboard's idle CPU with 5 running containers followed (events, stats and logs
/// streams), beside the same plan with the same probes and no Docker. Prints both; fails only
/// on a gross regression (a frame per stats sample, a busy loop).
#[test]
fn idle_cpu_with_five_streamed_containers_beside_no_docker() {
    let Some(image) = docker_support::image_or_skip() else {
        return;
    };
    let _turn = turn();
    let containers = docker_support::Containers::new("att-tuicpu");
    let dir = tempfile::tempdir().unwrap();
    let (mut with, mut without) = (String::new(), String::new());
    for i in 0..5 {
        let port = support::process::free_low_port();
        let publish = format!("127.0.0.1:{port}:8080");
        containers.run(
            &format!("c{i}"),
            &["-p", &publish],
            image,
            &[
                "sh",
                "-c",
                "mkdir -p /tmp/www; echo ok > /tmp/www/index.html; echo up; exec httpd -f -p 8080 -h /tmp/www",
            ],
        );
        let entry = format!(
            "[[infra]]\nname = \"c{i}\"\nrequired = false\nports = [{{ port = {port}, probe = \"http\" }}]\n"
        );
        with.push_str(&format!(
            "{entry}container = \"{}-c{i}\"\n\n",
            containers.label
        ));
        without.push_str(&format!("{entry}runs = \"external\"\n\n"));
    }
    let (with_path, without_path) = (dir.path().join("docker.toml"), dir.path().join("none.toml"));
    std::fs::write(&with_path, with).unwrap();
    std::fs::write(&without_path, without).unwrap();
    let window = Duration::from_secs(10);
    let docker = idle_cpu(&with_path, "✓ 5 up", window);
    let plain = idle_cpu(&without_path, "✓ 5 up", window);
    println!(
        "idle dashboard over {window:?} (this build): {docker:.2} % of a core with 5 containers streamed, {plain:.2} % without Docker"
    );
    assert!(docker < 5.0, "the dashboard burns {docker:.2} % of a core");
}
