//! The port scanner wired into the dashboard's state and into `anychat-top ports`, against
//! real processes on free loopback ports: a foreign holder named with PID and command in the
//! state, in `ports --json`, in the refusal of `s`; Python's `[Errno 98]` early exit naming
//! the holder; the real binary run as nobody while root holds a planned port; `ports --check`
//! on the shipped plan and on a broken manifest.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anychat_top::action::Action;
use anychat_top::collect::port_scan::{PortScan, Scanner};
use anychat_top::layout::builtin_layouts;
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::message::{Command as Cmd, ExitReason, LogLine, Stream, Update};
use anychat_top::state::State;
use anychat_top::state::ports::HolderKind;
use anychat_top::state::procs::Lifecycle;
use support::process::ChildGuard;

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");
const PYTHON: &str = "/usr/bin/python3";

fn skip_or_fail(reason: &str) {
    support::process::skip_or_fail(reason);
}

/// `n` ports free on every address now, below the ephemeral range, never twice in this binary.
fn free_low_ports(n: usize) -> Vec<u16> {
    support::process::free_low_ports_on(n, &["0.0.0.0", "::"])
}

/// `tests/fixtures/squat.py` listening on `host:port` (a process that speaks no protocol).
fn squatter(host: &str, port: u16) -> Option<ChildGuard> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/squat.py");
    let args = [
        script.display().to_string(),
        host.to_string(),
        port.to_string(),
    ];
    let (child, line) = support::process::python_with_first_line(&args)?;
    assert_eq!(line, "listening", "python3 did not bind {host}:{port}");
    Some(child)
}

/// A manifest with one stub service on `http` (and `metrics`).
fn manifest(name: &str, http: u16, metrics: u16) -> String {
    format!(
        "[[service]]\nname = \"{name}\"\ngroup = \"g\"\n\
command = [\"anychat-stub\", \"--name\", \"{{name}}\", \"--http-port\", \"{{http_port}}\", \"--metrics-port\", \"{{metrics_port}}\"]\n\
http_port = {http}\nmetrics_port = {metrics}\n\n"
    )
}

fn state_for(toml: &str) -> State {
    let source = Source {
        path: "test.toml".into(),
        text: toml.into(),
    };
    let plan = build_plan(&[source], &PlanOptions::default()).expect("valid manifest");
    let mut s = State::new(
        Arc::new(plan),
        builtin_layouts(),
        Duration::from_secs(1),
        Instant::now(),
    );
    s.handle(Action::Resize {
        width: 160,
        height: 48,
    });
    s
}

/// Scans until `ready` holds (at most 10 s).
fn scan_until(ready: impl Fn(&PortScan) -> bool) -> PortScan {
    let mut scanner = Scanner::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let scan = scanner.scan();
        if ready(&scan) {
            return scan;
        }
        assert!(
            Instant::now() < deadline,
            "not ready: {:#?}",
            scan.listeners
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn held(scan: &PortScan, port: u16, pid: u32) -> bool {
    scan.on_port(port).any(|l| l.pids.contains(&pid))
}

/// A manifest file in a directory anyone may read (for the run as nobody).
fn manifest_file(toml: &str) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, toml).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dir, path)
}

#[test]
fn a_foreign_holder_is_named_in_the_state_in_ports_json_and_in_the_refusal_of_s() {
    let ports = free_low_ports(2);
    let Some(python) = squatter("0.0.0.0", ports[0]) else {
        return;
    };
    let pid = python.id();
    let toml = manifest("svc-a", ports[0], ports[1]);
    let mut s = state_for(&toml);
    let scan = scan_until(|scan| held(scan, ports[0], pid));
    s.apply(Update::PortsScanned {
        scan: Box::new(scan),
        at: Instant::now(),
    });
    // The state: the row's holder, "not supervised" from the scan, shown as taken.
    let row = &s.ports.rows()[0];
    let h = row.holder().expect("a holder");
    assert_eq!(h.kind, HolderKind::Foreign);
    assert_eq!(h.pid(), Some(pid));
    assert!(h.describe().contains("python3"), "{}", h.describe());
    assert!(matches!(
        &s.procs[0].lifecycle,
        Lifecycle::External { owner: Some(o) } if o.pid == pid
    ));
    let taken = s.taken(anychat_top::plan::EntryId(0)).expect("taken");
    assert_eq!(
        taken.cell_texts()[0],
        format!("✗ taken by python3 (pid {pid})")
    );
    // `s` is refused, the holder named.
    s.ui.selected = Some(anychat_top::plan::EntryId(0));
    let commands = s.handle(Action::Start);
    assert!(
        !commands.iter().any(|c| matches!(c, Cmd::Start { .. })),
        "{commands:?}"
    );
    let refusal = &s.alerts.back().unwrap().text;
    assert!(
        refusal.contains(&format!(
            "svc-a not started: port {} held by pid {pid} python3 (user root)",
            ports[0]
        )) && refusal.contains("squat.py")
            && refusal.contains("python3"),
        "{refusal}"
    );
    // The conflict alert was raised by the same scan.
    assert!(
        s.alerts
            .iter()
            .any(|a| a.text.starts_with("port conflict:") && a.text.contains(&format!("pid {pid}"))),
        "{:#?}",
        s.alerts
    );
    // `ports --json` from the real binary.
    let (_dir, path) = manifest_file(&toml);
    let out = Command::new(TOP)
        .arg("-c")
        .arg(&path)
        .args(["ports", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an error conflict exits 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let http = &v["ports"][0];
    assert_eq!(http["port"], ports[0]);
    assert_eq!(http["state"], "foreign");
    assert_eq!(http["holders"][0]["pid"], pid);
    assert!(
        http["holders"][0]["command"]
            .as_str()
            .unwrap()
            .contains("squat.py"),
        "{http}"
    );
    drop(python);
}

#[test]
fn an_early_exit_with_pythons_errno_98_names_the_holder_of_the_port() {
    let ports = free_low_ports(2);
    let Some(python) = squatter("0.0.0.0", ports[0]) else {
        return;
    };
    let holder = python.id();
    let mut s = state_for(&manifest("svc-a", ports[0], ports[1]));
    s.ui.selected = Some(anychat_top::plan::EntryId(0));
    // Started before any scan (nothing known yet), as at the dashboard's first second.
    let started = Instant::now();
    assert!(
        s.handle(Action::Start)
            .iter()
            .any(|c| matches!(c, Cmd::Start { .. }))
    );
    // The "service": Python binding the same port, dying with its own wording.
    let out = Command::new(PYTHON)
        .arg("-c")
        .arg(format!(
            "import socket; s = socket.socket(); s.bind(('0.0.0.0', {}))",
            ports[0]
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("[Errno 98]"), "{stderr}");
    let entry = anychat_top::plan::EntryId(0);
    s.apply(Update::ProcessStarted {
        entry,
        pid: 4_000_000,
        at: started,
    });
    s.apply(Update::LogLines {
        entry,
        lines: stderr
            .lines()
            .map(|l| LogLine {
                stream: Stream::Stderr,
                text: l.to_string(),
                truncated: false,
            })
            .collect(),
        dropped: 0,
    });
    s.apply(Update::ProcessExited {
        entry,
        pid: 4_000_000,
        exit: ExitReason::Code(out.status.code().unwrap()),
        at: started + Duration::from_millis(300),
    });
    let asked = s.take_commands();
    assert!(
        asked.iter().any(|c| matches!(c, Cmd::ScanPortsNow)),
        "an early exit asks for a scan now: {asked:?}"
    );
    s.apply(Update::PortsScanned {
        scan: Box::new(scan_until(|scan| held(scan, ports[0], holder))),
        at: started + Duration::from_millis(400),
    });
    let texts: Vec<&str> = s.alerts.iter().map(|a| a.text.as_str()).collect();
    assert!(
        texts.iter().any(|t| t
            .contains(&format!("svc-a exited early: port {} is held by", ports[0]))
            && t.contains(&format!("pid {holder} python3 (user root)"))),
        "{texts:#?}"
    );
    drop(python);
}

#[test]
fn as_nobody_a_port_root_holds_is_held_by_uid_0_not_free() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("not root: cannot hold a port as root and scan as nobody");
        return;
    }
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        skip_or_fail("setpriv is not installed");
        return;
    };
    let ports = free_low_ports(2);
    let held = TcpListener::bind(("0.0.0.0", ports[0])).expect("bind the planned port");
    let (_dir, path) = manifest_file(&manifest("svc", ports[0], ports[1]));
    let run = |json: bool| {
        let mut c = Command::new(setpriv);
        c.args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            TOP,
        ])
        .arg("-c")
        .arg(&path)
        .arg("ports");
        if json {
            c.arg("--json");
        }
        c.output().expect("run setpriv")
    };
    let out = run(true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ports"][0]["state"], "hidden", "{stdout}");
    assert_eq!(v["ports"][0]["holders"][0]["uid"], 0);
    assert_eq!(v["ports"][0]["holders"][0]["pid"], serde_json::Value::Null);
    assert_eq!(v["ports"][1]["state"], "free");
    let table = String::from_utf8_lossy(&run(false).stdout).into_owned();
    assert!(
        table.contains("uid 0, process not visible"),
        "the table says who, as far as it can: {table}"
    );
    drop(held);
}

#[test]
fn ports_check_exits_1_on_the_shipped_plan_and_on_a_broken_manifest() {
    let out = Command::new(TOP)
        .args(["ports", "--check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("CONFLICT  2112"), "{text}");
    assert!(
        text.contains("give each service its own metrics port"),
        "{text}"
    );
    // Two services on one HTTP port (the loader refuses the same port twice on one host, but
    // "0.0.0.0" and the default host are one machine), and a gRPC port in 8xxx.
    let broken = "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8101\ngrpc_port = 8102\n\n\
[[service]]\nname = \"b\"\ngroup = \"g\"\nhost = \"0.0.0.0\"\nhttp_port = 8101\ngrpc_port = 9003\n";
    let (_dir, path) = manifest_file(broken);
    let out = Command::new(TOP)
        .arg("-c")
        .arg(&path)
        .args(["ports", "--check", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["level"] == "conflict" && f["port"] == 8101),
        "{text}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["level"] == "warning" && f["port"] == 8102),
        "{text}"
    );
    // The next pair skips what is planned.
    let out = Command::new(TOP)
        .args(["ports", "--next"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "http_port = 8012\ngrpc_port = 9012\n"
    );
}

#[test]
fn a_manifest_that_does_not_load_exits_2_from_ports() {
    let (_dir, path) = manifest_file("[[service]]\nname = \"a\"\nhttp_port = \"x\"\n");
    let out = Command::new(TOP)
        .arg("-c")
        .arg(&path)
        .args(["ports", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plan.toml"));
}
