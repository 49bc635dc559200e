//! The built-in AnyChat plan (not the demo) driven in tmux, as a developer would run it: `--root`
//! a checkout-shaped directory whose `bin/<service>` run the bundled stub, the infrastructure
//! played by stubs the test starts itself, and a foreign process answering on the plan's shared
//! metrics port. `S` must bring every service up, none may show "not ours", and the dashboard
//! must stay cheap (the shared port answering once made it burn ~20 % of a core).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::plan::{EntryKind, Plan};
use anychat_top::ports::first_free_offset;
use support::process::{ChildGuard, stub};
use support::tmux::{Tmux, dashboards};

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");
const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");
/// The coarse CPU guard against the bug (about 20 % of a core): a quarter of it. This debug
/// build with every collector running (port scanner, Docker worker, metrics scrapes of the
/// foreign 2112, /proc usage, 46 probes a second) measures 1.3–2.3 % here, so a tighter guard
/// would fail on a busy CI machine without catching anything more.
const MAX_CPU_PERCENT: f64 = 5.0;

fn plan_at(offset: i32) -> Result<Plan, anychat_top::manifest::ManifestError> {
    build_plan(
        &[Source::anychat()],
        &PlanOptions {
            port_offset: offset,
            root: None,
        },
    )
}

/// An offset (1000..16000) at which every port of the built-in plan is free and below the
/// ephemeral range.
fn free_offset() -> i32 {
    let start = std::process::id() as i32;
    let offsets = (0..16).map(|k| 1000 + ((start + k) % 16) * 1000);
    match first_free_offset(offsets, plan_at) {
        Ok(Some((offset, _))) => offset,
        _ => panic!("no free offset for the built-in plan"),
    }
}

/// The port of `entry`'s target labelled `label`.
fn port(plan: &Plan, entry: &str, label: &str) -> Option<u16> {
    let id = plan.entry_named(entry)?;
    plan.entries[id.0]
        .targets
        .iter()
        .map(|t| &plan.targets[t.0])
        .find(|t| t.label == label)
        .map(|t| t.port)
}

/// `bin/<service>` for every service of `plan`: a script running the stub on its ports (no
/// metrics port: the plan's shared one belongs to the foreign process).
fn checkout(dir: &Path, plan: &Plan) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("cmd")).unwrap();
    for e in plan.entries.iter().filter(|e| e.kind == EntryKind::Service) {
        let mut args = format!("--name {} --quiet-health --log-interval 2s", e.name);
        if let Some(p) = port(plan, &e.name, "http") {
            args.push_str(&format!(" --http-port {p}"));
        }
        if let Some(p) = port(plan, &e.name, "grpc") {
            args.push_str(&format!(" --grpc-port {p}"));
        }
        let script = bin.join(&e.name);
        std::fs::write(&script, format!("#!/bin/sh\nexec {STUB} {args}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The infrastructure of `plan`, played by stubs (what `docker compose up` would run).
fn infrastructure(plan: &Plan) -> Vec<ChildGuard> {
    let p = |entry: &str, label: &str| {
        port(plan, entry, label)
            .unwrap_or_else(|| panic!("{entry} has no {label} port"))
            .to_string()
    };
    vec![
        stub(&["--postgres-port", &p("postgres", "postgres")]),
        stub(&["--redis-port", &p("redis", "redis")]),
        stub(&[
            "--tcp-port",
            &p("nats", "client"),
            "--http-port",
            &p("nats", "monitor"),
        ]),
        stub(&[
            "--http-port",
            &p("minio", "api"),
            "--http-port",
            &p("minio", "console"),
        ]),
        stub(&["--http-port", &p("prometheus", "prometheus")]),
        stub(&["--http-port", &p("grafana", "grafana")]),
        stub(&[
            "--http-port",
            &p("jaeger", "ui"),
            "--tcp-port",
            &p("jaeger", "collector"),
        ]),
        stub(&["--http-port", &p("livekit", "livekit")]),
    ]
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
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

#[test]
fn start_all_on_the_built_in_plan_with_a_foreign_process_on_the_metrics_port() {
    let Some(tmux) = Tmux::start(160, 48) else {
        return;
    };
    let offset = free_offset();
    let plan = plan_at(offset).unwrap();
    let dir = tempfile::tempdir().unwrap();
    checkout(dir.path(), &plan);
    let _infra = infrastructure(&plan);
    // Someone else's process answering on the shared metrics port (2112 + offset).
    let metrics = port(&plan, "auth-service", "metrics").expect("a metrics port");
    let _foreign = stub(&["--metrics-port", &metrics.to_string()]);

    tmux.type_line(&format!(
        "{TOP} --port-offset {offset} --root {}; echo \"exit=$?\"",
        dir.path().display()
    ));
    tmux.wait_for("the infrastructure up", Duration::from_secs(15), |s| {
        s.contains("✓ 8 up")
    });
    // Nothing runs yet, and the answering metrics port must not say otherwise.
    std::thread::sleep(Duration::from_secs(2));
    let screen = tmux.screen();
    assert!(!screen.contains("not ours"), "before S:\n{screen}");
    tmux.send(&["S"]);
    let (screen, took) = tmux.wait_for("every service up", Duration::from_secs(30), |s| {
        s.contains("✓ 20 up")
    });
    println!("built-in plan: S → 20 up in {took:?}");
    assert!(!screen.contains("not ours"), "after S:\n{screen}");
    assert!(!screen.contains("not supervised"), "after S:\n{screen}");

    let top = dashboards(&["--port-offset", &offset.to_string()]);
    assert_eq!(top.len(), 1, "{top:?}");
    let (cpu0, t0) = (cpu_time(top[0]), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let (cpu, wall) = (cpu_time(top[0]) - cpu0, t0.elapsed());
    let percent = 100.0 * cpu.as_secs_f64() / wall.as_secs_f64();
    println!(
        "built-in plan, 20 entries up, foreign metrics listener: dashboard CPU {percent:.2} % of a core over {wall:?}"
    );
    assert!(
        percent < MAX_CPU_PERCENT,
        "the dashboard burns {percent:.2} % of a core"
    );

    tmux.send(&["q"]);
    tmux.wait_for("the shell back", Duration::from_secs(15), |s| {
        s.contains("exit=0")
    });
    // Every service it started is gone (its stubs name their HTTP ports).
    let left: Vec<u32> = plan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Service)
        .filter_map(|e| port(&plan, &e.name, "http"))
        .flat_map(|p| support::tmux::pids_with(&[STUB, &format!("--http-port {p}")]))
        .collect();
    assert!(left.is_empty(), "services left running: {left:?}");
    let _ = Command::new("true").status();
}
