//! The real binary in a real terminal: tmux runs `anychat-top demo`, keys are sent, the screen is read.

mod support;

use std::net::TcpListener;
use std::process::Command;

use support::tmux::{Tmux, dashboards, pids_with, watchdogs};

use anychat_top::ports::first_free_offset;
use std::time::{Duration, Instant};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");

/// Held by every test that runs stubs on demo-plan ports: the plan's ports are spread out
/// (4222 and 8222, 9000 and 9001...), so two shifted copies can overlap; these tests take turns.
static DEMO_PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn demo_ports() -> std::sync::MutexGuard<'static, ()> {
    DEMO_PORTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An offset (1000..16000, below the ephemeral range) that puts every port of the demo plan
/// on a free port (never the plan's own). Call with [`demo_ports`] held.
fn free_offset() -> i32 {
    free_offset_among(16)
}

/// Like [`free_offset`], among the first `count` offsets (1000, 2000, ...).
fn free_offset_among(count: i32) -> i32 {
    // Below the ephemeral range (32768-), where no outgoing connection holds a port.
    let start = std::process::id() as i32;
    let offsets = (0..count).map(|k| 1000 + ((start + k) % count) * 1000);
    match first_free_offset(offsets, demo_plan_at) {
        Ok(Some((offset, _))) => offset,
        _ => panic!("no free offset for the demo plan"),
    }
}

/// The demo plan shifted by `offset`.
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

/// PIDs of live stubs whose command line mentions `marker`.
fn stub_pids(marker: &str) -> Vec<u32> {
    pids_with(&["anychat-stub", marker])
}

/// Wait up to `within` for every stub of the demo plan at `offset` to be gone; panic if some remain.
fn assert_no_stubs_within(offset: i32, within: Duration) {
    let deadline = Instant::now() + within;
    while !demo_stubs(offset).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = demo_stubs(offset);
    assert!(left.is_empty(), "stubs left running: {left:?}");
}

/// After the dashboard ended: the shell printed `marker`, the dashboard is off the screen,
/// every stub at `offset` is gone, and what we type is echoed and runs.
fn assert_back_at_the_shell(tmux: &Tmux, offset: i32, marker: &str) {
    let (screen, _) = tmux.wait_for("the shell back", Duration::from_secs(10), |s| {
        s.contains(marker)
    });
    assert!(
        !screen.contains("Services ("),
        "the dashboard is gone:\n{screen}"
    );
    assert_no_stubs_within(offset, Duration::from_secs(3));
    tmux.type_line("echo sum=$((40+2))");
    tmux.wait_for("echo works", Duration::from_secs(3), |s| {
        s.contains("sum=42") && s.contains("echo sum=$((40+2))")
    });
}

/// Stubs still running on any port of the demo plan shifted by `offset`.
fn demo_stubs(offset: i32) -> Vec<u32> {
    let plan = demo_plan_at(offset).unwrap();
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
    let _turn = demo_ports();
    let Some(tmux) = Tmux::start(120, 40) else {
        return;
    };
    let offset = free_offset();
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

    // Resize to 80x24: the dashboard switches to the compact layout by itself and says why.
    let status = tmux
        .cmd()
        .args(["resize-window", "-t", "main", "-x", "80", "-y", "24"])
        .status()
        .unwrap();
    assert!(status.success());
    let (screen, _) = tmux.wait_for("compact at 80x24", Duration::from_secs(3), |s| {
        s.contains("compact (default needs 100×30)") && s.lines().count() <= 24
    });
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    assert!(
        screen.contains("Services (1) /frie"),
        "the filter is kept:\n{screen}"
    );
    tmux.send(&["Escape"]);
    tmux.wait_for("filter cleared", Duration::from_secs(3), |s| {
        s.contains("Services (12)")
    });

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
    assert_back_at_the_shell(&tmux, offset, "exit=0");
}

/// Start the dashboard on the demo plan shifted by `offset`, without starting anything.
fn open_demo_plan(tmux: &Tmux, offset: i32) {
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/services/demo.toml");
    tmux.type_line(&format!(
        "{TOP} --config {plan} --port-offset {offset}; echo \"exit=$?\""
    ));
    tmux.wait_for("first probes", Duration::from_secs(10), |s| {
        s.contains("✗ 20 down")
    });
}

#[test]
fn keys_start_stop_restart_start_all_and_stop_all_on_the_demo_plan() {
    let _turn = demo_ports();
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let offset = free_offset();
    open_demo_plan(&tmux, offset);
    let (screen, _) = tmux.wait_for("stopped rows", Duration::from_secs(3), |s| {
        s.contains("stopped")
    });
    assert!(screen.contains("✗ auth-service"), "{screen}");

    // s: start the selected service (auth-service, one row down).
    tmux.send(&["j"]);
    tmux.send(&["s"]);
    let (screen, _) = tmux.wait_for("auth-service up", Duration::from_secs(5), |s| {
        s.contains("✓ auth-service")
    });
    let row = screen
        .lines()
        .find(|l| l.contains("✓ auth-service"))
        .unwrap();
    assert!(row.contains("run "), "{row}");
    let first_pid = row
        .split("run ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        screen.contains("✗ user-service"),
        "only the selected service starts:\n{screen}"
    );

    // r: restart gives a new pid.
    tmux.send(&["r"]);
    let (screen, _) = tmux.wait_for("auth-service restarted", Duration::from_secs(8), |s| {
        s.lines().any(|l| {
            l.contains("✓ auth-service")
                && l.contains("run ")
                && !l.contains(&format!("run {first_pid} "))
        })
    });
    assert!(screen.contains("starting it again"), "{screen}");

    // x: stop; the stub exits cleanly on SIGTERM and is not restarted.
    tmux.send(&["x"]);
    tmux.wait_for("auth-service stopped", Duration::from_secs(8), |s| {
        s.lines()
            .any(|l| l.contains("✗ auth-service") && l.contains("exit 0"))
    });

    // S: start everything in dependency order; the whole plan comes up.
    let started = Instant::now();
    tmux.send(&["S"]);
    let (screen, _) = tmux.wait_for("everything up", Duration::from_secs(30), |s| {
        s.contains("✓ 20 up")
    });
    println!("S to all 20 healthy: {:?}", started.elapsed());
    assert!(screen.contains("run "), "{screen}");
    assert!(!demo_stubs(offset).is_empty());

    // X asks first; n keeps everything, y stops everything.
    tmux.send(&["X"]);
    tmux.wait_for("confirmation", Duration::from_secs(3), |s| {
        s.contains("Stop every service? y/n")
    });
    tmux.send(&["n"]);
    tmux.wait_for("confirmation gone", Duration::from_secs(3), |s| {
        !s.contains("Stop every service? y/n")
    });
    assert_eq!(demo_stubs(offset).len(), 20, "n stops nothing");
    tmux.send(&["X"]);
    tmux.wait_for("confirmation", Duration::from_secs(3), |s| {
        s.contains("Stop every service? y/n")
    });
    tmux.send(&["y"]);
    tmux.wait_for("everything down", Duration::from_secs(30), |s| {
        s.contains("✗ 20 down")
    });
    assert_no_stubs_within(offset, Duration::from_secs(5));
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(10), |s| {
        s.contains("exit=0")
    });
}

#[test]
fn escape_sequences_in_a_service_log_never_reach_the_terminal() {
    let Some(tmux) = Tmux::start(120, 40) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("evil.toml");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Clear screen, window title, OSC 52 clipboard write, cursor move, and an SGR colour.
    let script = r"printf 'start\033[2Jafter-clear\033]0;pwned-title\007after-title\033]52;c;cHduZWQ=\007after-clip\033[10;20Hafter-move \033[31mred-text\033[0m end\n'; exec sleep 1000";
    std::fs::write(
        &plan,
        format!("[[service]]\nname = \"evil-service\"\ngroup = \"core\"\nhttp_port = {port}\ncommand = [\"sh\", \"-c\", '''{script}''']\n"),
    )
    .unwrap();
    let title_before = tmux_title(&tmux);
    tmux.type_line(&format!(
        "{TOP} --config {}; echo \"exit=$?\"",
        plan.display()
    ));
    tmux.wait_for("dashboard", Duration::from_secs(10), |s| {
        s.contains("evil-service")
    });
    tmux.send(&["s"]);
    // Only the output, not the command shown in the detail panel, has these words side by side.
    let (screen, _) = tmux.wait_for("the log line", Duration::from_secs(10), |s| {
        s.contains("after-clipafter-move")
    });
    let line = screen
        .lines()
        .find(|l| l.contains("after-clipafter-move"))
        .unwrap();
    assert!(
        line.contains("startafter-clearafter-titleafter-clipafter-move red-text end"),
        "escapes removed, text kept: {line}"
    );
    assert!(
        screen.contains("Services (1)"),
        "the screen was not cleared:\n{screen}"
    );
    assert_eq!(
        tmux_title(&tmux),
        title_before,
        "the window title was not changed"
    );
    let buffers = tmux.cmd().args(["list-buffers"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&buffers.stdout).contains("pwned"),
        "no clipboard write reached tmux"
    );
    // The colour is rendered as colour: the pane's escape-carrying capture shows red on "red-text".
    let coloured = tmux
        .cmd()
        .args(["capture-pane", "-p", "-e", "-t", "main"])
        .output()
        .unwrap();
    let coloured = String::from_utf8_lossy(&coloured.stdout);
    let red_line = coloured
        .lines()
        .find(|l| l.contains("red-text"))
        .unwrap_or_default();
    assert!(
        red_line.contains("31mred-text") || red_line.contains(";31mred-text"),
        "SGR red is drawn as red: {red_line:?}"
    );
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(10), |s| {
        s.contains("exit=0")
    });
}

fn tmux_title(tmux: &Tmux) -> String {
    let out = tmux
        .cmd()
        .args(["display-message", "-p", "-t", "main", "#{pane_title}"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sigterm_and_sighup_restore_the_terminal_and_stop_the_stubs() {
    let _turn = demo_ports();
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let Some(tmux) = Tmux::start(120, 40) else {
            return;
        };
        let offset = free_offset();
        tmux.type_line(&format!(
            "{TOP} demo --port-offset {offset}; echo \"exit=$?\""
        ));
        tmux.wait_for("everything up", Duration::from_secs(10), |s| {
            s.contains("✓ 20 up")
        });
        let offset_arg = offset.to_string();
        let top = dashboards(&["demo", "--port-offset", &offset_arg]);
        assert_eq!(top.len(), 1, "one dashboard: {top:?}");
        let watching = watchdogs(&["demo", "--port-offset", &offset_arg]);
        assert_eq!(watching.len(), 1, "one watchdog: {watching:?}");
        unsafe { libc::kill(top[0] as i32, signal) };
        assert_back_at_the_shell(&tmux, offset, "exit=");
        assert!(
            watchdogs(&["demo", "--port-offset", &offset_arg]).is_empty(),
            "the watchdog leaves with the dashboard"
        );
    }

    // A demo port already taken: the demo moves the whole plan and says so on screen.
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let offset = free_offset_among(8); // leaves the demo room to move up
    let holder = TcpListener::bind(("127.0.0.1", (8005 + offset) as u16)).unwrap();
    tmux.type_line(&format!(
        "{TOP} demo --port-offset {offset}; echo \"exit=$?\""
    ));
    let (screen, _) = tmux.wait_for("the move", Duration::from_secs(10), |s| {
        s.contains("the demo runs with --port-offset") && s.contains("✓ 20 up")
    });
    let line = screen
        .lines()
        .find(|l| l.contains("the demo runs with --port-offset"))
        .unwrap();
    assert!(
        line.contains(&format!("ports {} are taken", 8005 + offset)),
        "{line}"
    );
    let moved: i32 = line
        .split("--port-offset ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {line:?}"));
    assert_ne!(moved, offset);
    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(10), |s| {
        s.contains("exit=0")
    });
    assert_no_stubs_within(moved, Duration::from_secs(3));
    drop(holder);
}

/// Ports in the table rows of a screen: a state symbol, a space, digits.
fn table_ports(screen: &str) -> Vec<u32> {
    let mut ports = Vec::new();
    for line in screen.lines().filter(|l| l.starts_with('│')) {
        let chars: Vec<char> = line.chars().collect();
        for i in 0..chars.len().saturating_sub(2) {
            if "✓✗!○…".contains(chars[i]) && chars[i + 1] == ' ' && chars[i + 2].is_ascii_digit()
            {
                let digits: String = chars[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                ports.extend(digits.parse::<u32>().ok());
            }
        }
    }
    ports
}

#[test]
fn at_80x24_with_five_digit_ports_every_port_on_screen_is_a_port_of_the_plan() {
    let _turn = demo_ports();
    let Some(tmux) = Tmux::start(80, 24) else {
        return;
    };
    let offsets = (10..=16).map(|k| k * 1000);
    let offset = match first_free_offset(offsets, demo_plan_at) {
        Ok(Some((offset, _))) => offset,
        _ => panic!("no free five-digit offset for the demo plan"),
    };
    tmux.type_line(&format!(
        "{TOP} demo --port-offset {offset}; echo \"exit=$?\""
    ));
    let (screen, _) = tmux.wait_for("everything up", Duration::from_secs(15), |s| {
        s.contains("✓ 20 up")
    });
    assert!(
        screen.contains("compact (default needs 100×30)"),
        "{screen}"
    );
    assert!(
        screen.contains("Services (12) ↓"),
        "rows out of sight are announced:\n{screen}"
    );
    // What `check --json` says the plan's ports are.
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/services/demo.toml");
    let out = Command::new(TOP)
        .args([
            "check",
            "--json",
            "-c",
            manifest,
            "--port-offset",
            &offset.to_string(),
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("check --json");
    let planned: Vec<u32> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["port"].as_u64().map(|p| p as u32))
        .collect();
    assert!(planned.iter().all(|&p| p >= 10000), "{planned:?}");
    let shown = table_ports(&screen);
    assert!(shown.len() >= 10, "ports on screen: {shown:?}\n{screen}");
    for port in &shown {
        assert!(
            planned.contains(port),
            "{port} is not a port of the plan:\n{screen}"
        );
    }
    // Scrolled to the end, the last rows' ports are whole too.
    tmux.send(&["End"]);
    let (screen, _) = tmux.wait_for("the last service", Duration::from_secs(3), |s| {
        s.contains("admin-service")
    });
    for port in table_ports(&screen) {
        assert!(
            planned.contains(&port),
            "{port} is not a port of the plan:\n{screen}"
        );
    }
    tmux.send(&["q"]);
    assert_back_at_the_shell(&tmux, offset, "exit=0");
}
