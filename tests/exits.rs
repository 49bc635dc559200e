//! Every way out of the real dashboard, in tmux: `kill -9` leaves no process it started nor any
//! descendant; a leader that exits by itself takes its group along; an error exit and a panic in
//! a task still stop every child and restore the terminal; a second Ctrl-C kills at once; bad
//! flags and a missing terminal are refused with exit code 2.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::process::free_low_port;
use support::tmux::{Tmux, dashboards, pids_with, survivors_after, watchdogs};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");

/// A marker unique to this test run, used as a `sleep` duration so processes can be found.
fn marker(n: u32) -> String {
    format!("{}.{}{n}", 3000 + n, std::process::id())
}

/// A manifest with one service per `(name, shell script)`, each on a free port nothing answers.
fn manifest(dir: &std::path::Path, services: &[(&str, &str, &str)]) -> std::path::PathBuf {
    let mut text = String::new();
    for (name, script, grace) in services {
        text.push_str(&format!(
            "[[service]]\nname = \"{name}\"\ngroup = \"test\"\nhttp_port = {}\ncommand = [\"sh\", \"-c\", {script:?}]\nstop_grace = \"{grace}\"\n\n",
            free_low_port()
        ));
    }
    let path = dir.join("exits.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Processes (not zombies) whose command line holds `sleep <marker>`.
fn sleepers(marker: &str) -> Vec<u32> {
    pids_with(&["sleep", marker])
}

/// Wait until `count` sleepers with `marker` run; their pids.
fn wait_sleepers(marker: &str, count: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = sleepers(marker);
        if pids.len() >= count {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "{count} sleepers {marker} never ran: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Start `anychat-top -c MANIFEST args` in a new tmux, wait for its first frame; the tmux.
fn dashboard(config: &std::path::Path, args: &str) -> Option<Tmux> {
    let tmux = Tmux::start(120, 40)?;
    tmux.type_line(&format!(
        "{TOP} -c {} {args}; echo \"exit=$?\"",
        config.display()
    ));
    tmux.wait_for("the dashboard", Duration::from_secs(10), |s| {
        s.contains("Services (")
    });
    Some(tmux)
}

#[test]
fn kill_9_leaves_no_process_it_started_nor_a_grandchild() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (marker(1), marker(2), marker(3));
    let config = manifest(
        dir.path(),
        &[
            // A wrapper whose child outlives the exec'd leader's parent role (PDEATHSIG
            // reaches only the leader).
            ("wrapper", &format!("sleep {a} & exec sleep {b}"), "5s"),
            // Two in one group, neither exec'd: `sh` waits for the second.
            ("pair", &format!("sleep {c} & sleep {c}"), "5s"),
        ],
    );
    let Some(tmux) = dashboard(&config, "--interval 1s") else {
        return;
    };
    tmux.send(&["S"]);
    let mut pids = wait_sleepers(&a, 1);
    pids.extend(wait_sleepers(&b, 1));
    pids.extend(wait_sleepers(&c, 2));
    let top = dashboards(&["-c", &config.to_string_lossy()]);
    assert_eq!(top.len(), 1, "{top:?}");
    assert_eq!(
        watchdogs(&["-c", &config.to_string_lossy()]).len(),
        1,
        "a watchdog runs beside the dashboard"
    );
    unsafe { libc::kill(top[0] as i32, libc::SIGKILL) };
    let left = survivors_after(&pids, Duration::from_secs(2));
    assert!(left.is_empty(), "survived kill -9 of anychat-top: {left:?}");
    assert!(
        survivors_after(
            &watchdogs(&["-c", &config.to_string_lossy()]),
            Duration::from_secs(1)
        )
        .is_empty(),
        "the watchdog leaves once its work is done"
    );
    tmux.wait_for("the shell back", Duration::from_secs(5), |s| {
        s.contains("exit=137")
    });
}

#[test]
fn a_leader_exiting_by_itself_takes_its_group_along() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (marker(4), marker(5));
    let config = manifest(
        dir.path(),
        &[
            ("quitter", &format!("sleep {a} & sleep 1; exit 3"), "1s"),
            // A child that ignores SIGTERM: killed after the grace.
            (
                "stubborn",
                &format!("sh -c 'trap \"\" TERM; exec sleep {b}' & sleep 1; exit 0"),
                "1s",
            ),
        ],
    );
    let Some(tmux) = dashboard(&config, "") else {
        return;
    };
    tmux.send(&["S"]);
    let mut pids = wait_sleepers(&a, 1);
    pids.extend(wait_sleepers(&b, 1));
    // The leaders exit after 1 s; TERM, then KILL after the 1 s grace.
    let left = survivors_after(&pids, Duration::from_secs(5));
    assert!(left.is_empty(), "outlived their leader: {left:?}");
    let screen = tmux.screen();
    assert!(screen.contains("crash exit 3"), "{screen}");
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(10), |s| {
        s.contains("exit=0")
    });
}

#[test]
fn a_failing_task_still_stops_every_child_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let a = marker(6);
    let config = manifest(
        dir.path(),
        &[("sleeper", &format!("sleep {a} & sleep {a}"), "5s")],
    );
    let Some(tmux) = dashboard(&config, "--debug-fail-after 3s") else {
        return;
    };
    tmux.send(&["S"]);
    let pids = wait_sleepers(&a, 2);
    let (screen, _) = tmux.wait_for("the failure", Duration::from_secs(10), |s| {
        s.contains("exit=1")
    });
    assert!(
        screen.contains("a collector task panicked") || screen.contains("fails on purpose"),
        "{screen}"
    );
    assert!(
        !screen.contains("Services ("),
        "terminal restored:\n{screen}"
    );
    let left = survivors_after(&pids, Duration::from_secs(2));
    assert!(
        left.is_empty(),
        "left running after an error exit: {left:?}"
    );
    tmux.type_line("echo sum=$((40+2))");
    tmux.wait_for("a usable shell", Duration::from_secs(3), |s| {
        s.contains("sum=42")
    });
}

#[test]
fn a_second_ctrl_c_kills_what_the_first_is_waiting_for() {
    let dir = tempfile::tempdir().unwrap();
    let a = marker(7);
    let config = manifest(
        dir.path(),
        &[(
            "stubborn",
            &format!("trap '' TERM; sleep {a} & wait"),
            "60s",
        )],
    );
    let Some(tmux) = dashboard(&config, "") else {
        return;
    };
    tmux.send(&["S"]);
    let pids = wait_sleepers(&a, 1);
    tmux.send(&["C-c"]);
    tmux.wait_for("the shutdown in progress", Duration::from_secs(5), |s| {
        s.contains("Ctrl-C again kills them now")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        survivors_after(&pids, Duration::ZERO) == pids,
        "TERM is ignored"
    );
    tmux.send(&["C-c"]);
    let left = survivors_after(&pids, Duration::from_secs(2));
    assert!(left.is_empty(), "a second Ctrl-C kills: {left:?}");
    tmux.wait_for("the shell back", Duration::from_secs(5), |s| {
        s.contains("exit=0")
    });
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(TOP)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run anychat-top");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn bad_flags_are_refused_with_exit_2_naming_the_flag() {
    let not_dir = tempfile::NamedTempFile::new().unwrap();
    let not_dir = not_dir.path().to_string_lossy().into_owned();
    let cases: &[(&[&str], &str)] = &[
        (&["--interval", "0s"], "--interval"),
        (&["--interval", "soon"], "--interval"),
        (&["--timeout", "0ms"], "--timeout"),
        (&["--log-lines", "0"], "--log-lines"),
        (&["--port-offset", "70000"], "port"),
        (&["--root", "/nonexistent/anychat"], "--root"),
        (&["--root", &not_dir], "--root"),
        (&["--layout", "nosuchlayout"], "nosuchlayout"),
        (&["--log-dir", &format!("{not_dir}/logs")], "--log-dir"),
        (&["check", "--interval", "0s"], "--interval"),
    ];
    for (args, named) in cases {
        let (code, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(named),
            "{args:?} should name {named}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn without_a_terminal_it_says_to_use_check() {
    let (code, stderr) = run(&[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("anychat-top needs a terminal; use `anychat-top check` for scripts"),
        "{stderr}"
    );
}
