//! The ports feature in the real binary, in tmux: a squatter on a demo port, `S` refused with
//! the holder named on screen, the holder stopped from the ports panel after confirming, the
//! service started.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anychat_top::ports::first_free_offset;
use support::tmux::{Tmux, alive, pids_with};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");
const PYTHON: &str = "/usr/bin/python3";

fn demo_plan_at(
    offset: i32,
) -> Result<anychat_top::plan::Plan, anychat_top::manifest::ManifestError> {
    anychat_top::manifest::build_plan(
        &[anychat_top::manifest::Source::demo()],
        &anychat_top::manifest::PlanOptions {
            port_offset: offset,
            root: None,
        },
    )
}

/// An offset (below the ephemeral range) that puts every port of the demo plan on a free
/// port, away from the offsets tests/tui.rs tries first.
fn free_offset() -> i32 {
    let start = std::process::id() as i32;
    // 17000..22000: the demo's highest port (9222) stays below the ephemeral range.
    let offsets = (0..6).map(|k| 17_000 + ((start + k) % 6) * 1000);
    match first_free_offset(offsets, demo_plan_at) {
        Ok(Some((offset, _))) => offset,
        _ => panic!("no free offset for the demo plan"),
    }
}

/// A child killed and reaped on drop (also when the test fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_squatter_is_named_when_s_is_refused_stopped_from_the_ports_panel_and_the_service_starts() {
    if !Path::new(PYTHON).exists() {
        support::process::skip_or_fail("/usr/bin/python3 is not installed");
        return;
    }
    let Some(tmux) = Tmux::start(120, 40) else {
        return;
    };
    let offset = free_offset();
    let plan = demo_plan_at(offset).unwrap();
    let auth = plan.entry_named("auth-service").unwrap();
    let (row, target) = plan
        .targets
        .iter()
        .enumerate()
        .find(|(_, t)| t.entry == auth && t.label == "http")
        .unwrap();
    let port = target.port;
    // The squatter: a Python that listens on auth-service's HTTP port and speaks nothing.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/squat.py");
    let mut squatter = Killed(
        Command::new(PYTHON)
            .arg(&script)
            .args(["0.0.0.0", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn python3"),
    );
    let squatter = &mut squatter.0;
    let mut line = String::new();
    if let Some(out) = squatter.stdout.take() {
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line);
    }
    assert_eq!(line.trim(), "listening");
    let pid = squatter.id();

    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/services/demo.toml");
    tmux.type_line(&format!(
        "{TOP} --config {manifest} --port-offset {offset}; echo \"exit=$?\""
    ));
    // Before anything starts, the row says who holds the port, not "down".
    let (screen, _) = tmux.wait_for("the taken row", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.contains("auth-service") && l.contains("✗ taken"))
    });
    let taken_row = screen
        .lines()
        .find(|l| l.contains("auth-service") && l.contains("✗ taken"))
        .unwrap();
    assert!(
        taken_row.contains(&format!(" {pid} ")),
        "the row names the holder's pid: {taken_row}"
    );

    // S: the chain stops at auth-service, the holder named.
    tmux.send(&["S"]);
    let refusal = "start-all stopped: auth-service not started";
    let (screen, _) = tmux.wait_for("the refusal", Duration::from_secs(20), |s| {
        s.contains(refusal)
    });
    let alert = screen.lines().find(|l| l.contains(refusal)).unwrap();
    assert!(
        alert.contains(&format!("pid {pid} python3 (user root)")),
        "{alert}"
    );

    // p: the ports panel; down to auth-service's HTTP port; x, y: SIGTERM to the squatter.
    tmux.send(&["p"]);
    let (screen, _) = tmux.wait_for("the ports panel", Duration::from_secs(5), |s| {
        s.contains("Ports (")
    });
    // The services table under it is 120 columns wide: the row says it in full.
    assert!(
        screen.contains(&format!("✗ taken by python3 (pid {pid})")),
        "{screen}"
    );
    for _ in 0..row {
        tmux.send(&["j"]);
    }
    tmux.send(&["x"]);
    let question = format!("SIGTERM pid {pid} (user root)");
    tmux.wait_for("the confirmation", Duration::from_secs(5), |s| {
        s.contains(&question)
    });
    assert!(alive(pid), "nothing is sent before the answer");
    tmux.send(&["y"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while squatter.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "the squatter was not stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The next scan sees the port free; s on its row starts auth-service.
    let free = format!("{port} auth-service    http      · free");
    tmux.wait_for("the port free", Duration::from_secs(5), |s| {
        s.contains(&free)
    });
    tmux.send(&["s"]);
    let ours = format!("{port} auth-service    http      ✓ ours");
    tmux.wait_for("auth-service on its port", Duration::from_secs(10), |s| {
        s.contains(&ours)
    });
    let stubs = pids_with(&["anychat-stub", "auth-service", &port.to_string()]);
    assert_eq!(stubs.len(), 1, "one auth-service stub: {stubs:?}");

    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains("exit=0")
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids_with(&["anychat-stub", &format!("{}", port)]).is_empty() {
        assert!(Instant::now() < deadline, "stubs left running");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn builtin_plan_at(
    offset: i32,
) -> Result<anychat_top::plan::Plan, anychat_top::manifest::ManifestError> {
    anychat_top::manifest::build_plan(
        &[anychat_top::manifest::Source::anychat()],
        &anychat_top::manifest::PlanOptions {
            port_offset: offset,
            root: None,
        },
    )
}

#[test]
fn on_the_built_in_plan_an_early_exit_in_pythons_words_names_the_holder_of_the_shared_metrics_port()
{
    if !Path::new(PYTHON).exists() {
        support::process::skip_or_fail("/usr/bin/python3 is not installed");
        return;
    }
    let Some(tmux) = Tmux::start(120, 40) else {
        return;
    };
    let start = std::process::id() as i32;
    let offsets = (0..8).map(|k| 2000 + ((start + k) % 8) * 1000);
    let (offset, plan) = match first_free_offset(offsets, builtin_plan_at) {
        Ok(Some(found)) => found,
        _ => panic!("no free offset for the built-in plan"),
    };
    let auth = plan.entry_named("auth-service").unwrap();
    let metrics = plan
        .targets
        .iter()
        .find(|t| t.entry == auth && t.label == "metrics")
        .unwrap()
        .port;
    // A checkout whose bin/auth-service is a Python that binds the metrics port and dies
    // with Python's own wording (OSError: [Errno 98] Address already in use).
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    std::fs::create_dir_all(root.path().join("cmd")).unwrap();
    let script = root.path().join("bin/auth-service");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec {PYTHON} -c \"import socket; s = socket.socket(); s.bind(('0.0.0.0', {metrics}))\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The foreign process on the shared metrics port (it blocks no start: 2112 is everyone's).
    let squat = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/squat.py");
    let mut squatter = Killed(
        Command::new(PYTHON)
            .arg(&squat)
            .args(["0.0.0.0", &metrics.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn python3"),
    );
    let mut line = String::new();
    if let Some(out) = squatter.0.stdout.take() {
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line);
    }
    assert_eq!(line.trim(), "listening");
    let pid = squatter.0.id();

    tmux.type_line(&format!(
        "{TOP} --root {} --port-offset {offset}; echo \"exit=$?\"",
        root.path().display()
    ));
    tmux.wait_for("the dashboard", Duration::from_secs(10), |s| {
        s.contains("auth-service")
    });
    // Give the first scan its second, then s on auth-service (one row down).
    std::thread::sleep(Duration::from_millis(1500));
    tmux.send(&["j"]);
    tmux.send(&["s"]);
    let held = format!("port {metrics} is held by pid {pid} python3 (user root)");
    let (screen, _) = tmux.wait_for(
        "the exit alert naming the holder",
        Duration::from_secs(10),
        |s| {
            s.lines()
                .any(|l| l.contains("auth-service exited") && l.contains(&held))
        },
    );
    assert!(
        !screen.contains("auth-service not started"),
        "a shared port blocks no start:\n{screen}"
    );
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains("exit=0")
    });
}
