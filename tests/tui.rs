//! The real binary in a real terminal: tmux runs `anychat-top demo`, keys are sent, the screen is read.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A detached 120x40 session running an interactive shell, or None (with the reason printed) when tmux is missing outside CI.
    fn start(width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            let reason = "tmux is not installed";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{reason} (required in CI)"
            );
            println!("SKIP: {reason}");
            return None;
        }
        let socket = format!("anychat-top-test-{}-{}", std::process::id(), width);
        let t = Tmux { socket };
        let status = t
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .args([
                "env",
                "PS1=$ ",
                "TERM=xterm-256color",
                "bash",
                "--norc",
                "--noprofile",
            ])
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Some(t)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "main"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// Type a line into the shell.
    fn type_line(&self, line: &str) {
        self.send(&["-l", line]);
        self.send(&["Enter"]);
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll the screen until `pred` holds; panics with the last screen after `within`.
    fn wait_for(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> (String, Duration) {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return (s, start.elapsed());
            }
            if start.elapsed() > within {
                panic!("timed out after {within:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// An offset that puts every port of the demo plan on free high ports (never the plan's own).
fn free_offset(seed: u32) -> i32 {
    let plan = anychat_top::manifest::build_plan(
        &[anychat_top::manifest::Source::demo()],
        &Default::default(),
    )
    .unwrap();
    // Below the ephemeral range (32768-), where no outgoing connection holds a port.
    for k in 0..16 {
        let offset = 1000 + ((seed as i32 + k) % 16) * 1000;
        let all_free = plan
            .targets
            .iter()
            .all(|t| TcpListener::bind(("127.0.0.1", (i32::from(t.port) + offset) as u16)).is_ok());
        if all_free {
            return offset;
        }
    }
    panic!("no free offset for the demo plan");
}

/// PIDs of stubs whose command line mentions `marker`.
fn stub_pids(marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let is_zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if cmdline.contains("anychat-stub") && cmdline.contains(marker) && !is_zombie {
            pids.push(pid);
        }
    }
    pids
}

/// Stubs still running on any port of the demo plan shifted by `offset`.
fn demo_stubs(offset: i32) -> Vec<u32> {
    let plan = anychat_top::manifest::build_plan(
        &[anychat_top::manifest::Source::demo()],
        &anychat_top::manifest::PlanOptions {
            port_offset: offset,
            root: None,
        },
    )
    .unwrap();
    let mut pids: Vec<u32> = plan
        .targets
        .iter()
        .flat_map(|t| stub_pids(&format!(" {} ", t.port)))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

#[test]
fn demo_goes_green_filters_shows_help_sees_a_kill_and_quits_cleanly() {
    let Some(tmux) = Tmux::start(120, 40) else {
        return;
    };
    let offset = free_offset(std::process::id() % 16);
    let http_gateway = 8080 + offset;
    let marker = format!("--http-port {}", 8003 + offset);
    tmux.type_line(&format!(
        "{TOP} demo --port-offset {offset}; echo \"exit=$?\""
    ));
    let (screen, took) = tmux.wait_for(
        "all 12 services and 8 infra up",
        Duration::from_secs(10),
        |s| s.contains("✓ 20 up"),
    );
    println!("demo: everything up {took:?} after launch");
    assert!(
        took < Duration::from_secs(4),
        "demo should go green within about two seconds, took {took:?}"
    );
    for name in [
        "gateway-service",
        "auth-service",
        "admin-service",
        "postgres",
        "redis",
        "nats",
    ] {
        assert!(
            screen.contains(&format!("✓ {name}")),
            "{name} not up:\n{screen}"
        );
    }
    assert!(
        screen.contains(&http_gateway.to_string()),
        "ports are offset:\n{screen}"
    );

    tmux.send(&["?"]);
    tmux.wait_for("help overlay", Duration::from_secs(3), |s| {
        s.contains("start every service in dependency order")
    });
    tmux.send(&["Escape"]);
    tmux.wait_for("help closed", Duration::from_secs(3), |s| {
        !s.contains("start every service in dependency order")
    });

    tmux.send(&["/"]);
    tmux.send(&["-l", "frie"]);
    let (screen, _) = tmux.wait_for("filtered table", Duration::from_secs(3), |s| {
        s.contains("/frie")
    });
    assert!(screen.contains("friend-service"), "{screen}");
    assert!(
        !screen.contains("✓ auth-service"),
        "filter should hide auth-service:\n{screen}"
    );
    tmux.send(&["Enter"]);

    // Kill friend-service's stub from outside: its row turns red within two probe intervals.
    let pids = stub_pids(&marker);
    assert_eq!(pids.len(), 1, "one friend-service stub: {pids:?}");
    let killed_at = Instant::now();
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    let (screen, took) = tmux.wait_for("friend-service down", Duration::from_secs(3), |s| {
        s.contains("✗ friend-service")
    });
    println!("killed stub seen down after {:?}", killed_at.elapsed());
    assert!(
        took <= Duration::from_secs(2) + Duration::from_millis(500),
        "{screen}"
    );

    tmux.send(&["Escape"]);
    tmux.send(&["q"]);
    let (screen, _) = tmux.wait_for("the shell back", Duration::from_secs(10), |s| {
        s.contains("exit=0")
    });
    assert!(
        !screen.contains("Services ("),
        "the dashboard is gone:\n{screen}"
    );
    // Every stub is gone.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !demo_stubs(offset).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        demo_stubs(offset).is_empty(),
        "stubs left running: {:?}",
        demo_stubs(offset)
    );
    // The terminal is usable again: what we type is echoed and runs.
    tmux.type_line("echo sum=$((40+2))");
    tmux.wait_for("echo works", Duration::from_secs(3), |s| {
        s.contains("sum=42") && s.contains("echo sum=$((40+2))")
    });
}
