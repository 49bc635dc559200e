//! The real release binary in a real terminal (tmux, on a socket of its own): launch to first
//! frame, idle CPU and memory of the demo, and time for start-all to bring the demo plan up.
//! Prints figures; asserts nothing about time. Run with `cargo bench --bench dashboard`
//! (`-- --quick`, or `BENCH_SECONDS=10`, shortens the idle window from 60 s).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::ports::first_free_offset;

/// Runs of `--exit-after-first-frame` (after one unmeasured run that warms the page cache).
const LAUNCH_RUNS: usize = 30;
const LAUNCH_TARGET_MS: f64 = 30.0;
/// The idle window unless `--quick` or `BENCH_SECONDS` says otherwise.
const IDLE_SECONDS: u64 = 60;
const QUICK_SECONDS: u64 = 10;
/// Left to the demo between "everything up" and the start of the idle window.
const SETTLE: Duration = Duration::from_secs(2);
const IDLE_CPU_TARGET_PERCENT: f64 = 0.5;
const IDLE_HWM_TARGET_MB: f64 = 20.0;
const START_ALL_RUNS: usize = 5;
const ALL_UP: &str = "✓ 20 up";
const ALL_DOWN: &str = "✗ 20 down";

/// The binaries under test: from cargo when it says, else beside this bench's executable.
fn binaries() -> (PathBuf, PathBuf) {
    let top = match option_env!("CARGO_BIN_EXE_anychat-top") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("anychat-top")))
            .unwrap_or_default(),
    };
    let stub = top.with_file_name("anychat-stub");
    for bin in [&top, &stub] {
        assert!(
            bin.is_file(),
            "{} is missing: build the binaries first with `cargo build --release --bins`",
            bin.display()
        );
    }
    (top, stub)
}

/// A tmux server of our own (its own socket, never the user's), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start() -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "tmux is not installed (apt-get install -y tmux)"
        );
        Tmux {
            socket: format!("anychat-top-bench-{}", std::process::id()),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A detached session `name` of `width`×`height` running a plain interactive bash.
    fn session(&self, name: &str, width: u16, height: u16) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "env",
            "PS1=$ ",
            "TERM=xterm-256color",
            "bash",
            "--norc",
            "--noprofile",
        ]);
    }

    fn send(&self, session: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", session];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn type_line(&self, session: &str, line: &str) {
        self.send(session, &["-l", line]);
        self.send(session, &["Enter"]);
    }

    fn screen(&self, session: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", session])
    }

    /// Polls every `every` until `pred` holds on the screen; panics with the screen after `within`.
    fn wait_for(
        &self,
        session: &str,
        what: &str,
        within: Duration,
        every: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            let s = self.screen(session);
            if pred(&s) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "timed out after {within:?} waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(every);
        }
    }

    fn pane_pid(&self, session: &str) -> u32 {
        let out = self.run(&["list-panes", "-t", session, "-F", "#{pane_pid}"]);
        out.trim().parse().expect("pane pid")
    }
}

/// Tears everything down on every way out: the tmux server, then whatever it left behind.
struct Cleanup {
    tmux: Tmux,
    offset: Option<i32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.tmux.cmd().arg("kill-server").status();
        // tmux may leave its socket file behind: /tmp (or $TMUX_TMPDIR)/tmux-UID/NAME.
        let tmp = std::env::var_os("TMUX_TMPDIR").unwrap_or_else(|| "/tmp".into());
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let _ = std::fs::remove_file(
            Path::new(&tmp)
                .join(format!("tmux-{uid}"))
                .join(&self.tmux.socket),
        );
        let Some(offset) = self.offset else { return };
        let marker = format!("--port-offset {offset}");
        // SIGHUP from the dying pane asks the dashboard to stop its stubs; give it a moment.
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline
            && !(demo_stubs(offset).is_empty() && pids_running("anychat-top", &marker).is_empty())
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in pids_running("anychat-top", &marker)
            .into_iter()
            .chain(demo_stubs(offset))
        {
            // SAFETY: kill(2) on a pid we found running our binaries with our ports.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}

/// The demo plan shifted by `offset`.
fn demo_plan(offset: i32) -> anychat_top::plan::Plan {
    build_plan(
        &[Source::demo()],
        &PlanOptions {
            port_offset: offset,
            root: None,
        },
    )
    .expect("the demo plan is valid")
}

/// An offset in 1000..16000 (below the ephemeral range) with every demo port free on 127.0.0.1.
fn free_offset() -> i32 {
    let seed = (std::process::id() as i32 + 8) % 16;
    let offsets = (0..16).map(|k| 1000 + ((seed + k) % 16) * 1000);
    match first_free_offset(offsets, |o| Ok::<_, ()>(demo_plan(o))) {
        Ok(Some((offset, _))) => offset,
        _ => panic!("no offset in 1000..16000 leaves every demo port free"),
    }
}

/// Fields of /proc/PID/stat after the command name (field 3, the state, is index 0).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Live (not zombie) processes named `comm` whose command line contains `marker`.
fn pids_running(comm: &str, marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(name) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = stat_fields(pid).is_none_or(|f| f[0] == "Z");
        if name.trim() == comm && cmdline.contains(marker) && !zombie {
            pids.push(pid);
        }
    }
    pids
}

/// Stubs still running on any port of the demo plan shifted by `offset`.
fn demo_stubs(offset: i32) -> Vec<u32> {
    let mut pids: Vec<u32> = demo_plan(offset)
        .targets
        .iter()
        .flat_map(|t| pids_running("anychat-stub", &format!(" {} ", t.port)))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Live children of `parent` named `comm`.
fn children(parent: u32, comm: &str) -> Vec<u32> {
    pids_running(comm, "")
        .into_iter()
        .filter(|pid| stat_fields(*pid).is_some_and(|f| f[1] == parent.to_string()))
        .collect()
}

/// CPU time used so far (utime + stime), in clock ticks; 0 for a process that is gone.
fn cpu_ticks(pid: u32) -> u64 {
    stat_fields(pid).map_or(0, |f| {
        f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)
    })
}

/// Context switches of every thread of `pid`: how often it woke up.
fn wakeups(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// A `VmXxx:` figure of /proc/PID/status in MB.
fn status_mb(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// Median, p90, min and max of a sample, in the sample's unit.
fn stats(mut xs: Vec<f64>) -> (f64, f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let pick = |q: f64| xs[((xs.len() - 1) as f64 * q).round() as usize];
    (pick(0.5), pick(0.9), xs[0], xs[xs.len() - 1])
}

fn stats_line(xs: Vec<f64>) -> String {
    let (median, p90, min, max) = stats(xs);
    format!("median {median:6.2} ms   p90 {p90:6.2} ms   min {min:6.2} ms   max {max:6.2} ms")
}

/// Quit the dashboard in `session` with `q` and wait for its shell and for its stubs to be gone.
fn quit(tmux: &Tmux, session: &str, offset: i32, run: &str) {
    tmux.send(session, &["q"]);
    let marker = format!("exit=0 run={run}");
    tmux.wait_for(
        session,
        "the shell back after q",
        Duration::from_secs(15),
        Duration::from_millis(50),
        |s| s.contains(&marker),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !demo_stubs(offset).is_empty() {
        assert!(
            Instant::now() < deadline,
            "stubs left running after quit: {:?}",
            demo_stubs(offset)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// a) Whole runs timed from inside a 120×40 pane by the pane's own bash ($EPOCHREALTIME, no
/// fork), so a real terminal is attached: /bin/true, `--version`, then the first frame.
fn launch(tmux: &Tmux, top: &Path, dir: &Path) {
    tmux.session("launch", 120, 40);
    let script = dir.join("launch.sh");
    let done = dir.join("launch.done");
    let top = top.display();
    std::fs::write(
        &script,
        format!(
            r#"time_runs() {{
  out=$1; shift
  "$@"
  for i in $(seq {LAUNCH_RUNS}); do
    s=$EPOCHREALTIME; "$@"; rc=$?; e=$EPOCHREALTIME
    echo "$s $e $rc" >> "$out"
  done
}}
time_runs {dir}/true.txt /bin/true
time_runs {dir}/version.txt {top} --version
time_runs {dir}/frame.txt {top} --exit-after-first-frame
clear
touch {done}
"#,
            dir = dir.display(),
            done = done.display(),
        ),
    )
    .expect("write the launch script");
    tmux.type_line("launch", &format!("bash {}", script.display()));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done.exists() {
        assert!(
            Instant::now() < deadline,
            "the launch loop did not finish; screen:\n{}",
            tmux.screen("launch")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let read = |name: &str| -> Vec<f64> {
        let text = std::fs::read_to_string(dir.join(name)).expect("launch times");
        text.lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(f.get(2), Some(&"0"), "{name}: a run failed: {l}");
                let at = |s: &str| s.parse::<f64>().expect("EPOCHREALTIME");
                (at(f[1]) - at(f[0])) * 1000.0
            })
            .collect()
    };
    let frame = read("frame.txt");
    println!("a) launch to first frame in a 120×40 tmux pane, {LAUNCH_RUNS} runs after 1 warm-up:");
    println!(
        "  /bin/true (fork+exec baseline)             {}",
        stats_line(read("true.txt"))
    );
    println!(
        "  anychat-top --version (load, no terminal)  {}",
        stats_line(read("version.txt"))
    );
    let median = stats(frame.clone()).0;
    println!(
        "  anychat-top --exit-after-first-frame       {}",
        stats_line(frame)
    );
    println!(
        "  target: under {LAUNCH_TARGET_MS} ms: {}",
        if median < LAUNCH_TARGET_MS {
            "met"
        } else {
            "NOT met"
        }
    );
    let panes: Vec<f64> = (0..LAUNCH_RUNS)
        .map(|_| {
            let started = Instant::now();
            tmux.run(&["new-window", "-d", "-t", "launch", "true"]);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    println!(
        "  for comparison, `tmux new-window -d true` (tmux creating a pane that runs true) {}",
        stats_line(panes)
    );
}

/// b) `anychat-top demo` at rest in a 160×48 pane: CPU over the window, peak RSS at the end.
fn idle(tmux: &Tmux, top: &Path, dir: &Path, offset: i32, seconds: u64) {
    tmux.session("demo", 160, 48);
    tmux.type_line(
        "demo",
        &format!(
            "{} demo --port-offset {offset}; echo \"exit=$? run=idle\"",
            top.display()
        ),
    );
    let took = tmux.wait_for(
        "demo",
        "the demo all up",
        Duration::from_secs(20),
        Duration::from_millis(50),
        |s| s.contains(ALL_UP),
    );
    let shell = tmux.pane_pid("demo");
    let pid = match children(shell, "anychat-top")[..] {
        [pid] => pid,
        ref other => panic!("expected one anychat-top under the pane's shell, found {other:?}"),
    };
    // 20 children: the stubs, and a real nats-server in place of the NATS stub when one is
    // installed.
    let mut stubs = children(pid, "anychat-stub");
    let nats = children(pid, "nats-server");
    stubs.extend(&nats);
    assert_eq!(stubs.len(), 20, "the demo runs 20 children: {stubs:?}");
    assert_eq!(
        demo_stubs(offset).len() + nats.len(),
        20,
        "the stubs are on the ports of --port-offset {offset}"
    );
    std::thread::sleep(SETTLE);

    let output = dir.join("idle-output");
    tmux.run(&[
        "pipe-pane",
        "-O",
        "-t",
        "demo",
        &format!("cat > {}", output.display()),
    ]);
    let top_before = cpu_ticks(pid);
    let stubs_before: u64 = stubs.iter().map(|p| cpu_ticks(*p)).sum();
    let wakeups_before = wakeups(pid);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let top_after = cpu_ticks(pid);
    let stubs_after: u64 = stubs.iter().map(|p| cpu_ticks(*p)).sum();
    let wakeups_after = wakeups(pid);
    let wall = started.elapsed().as_secs_f64();
    tmux.run(&["pipe-pane", "-t", "demo"]);
    let hwm = status_mb(pid, "VmHWM:");
    let rss = status_mb(pid, "VmRSS:");
    let written = std::fs::metadata(&output).map_or(0, |m| m.len());

    let hz = clock_ticks_per_second();
    let percent = |ticks: u64| ticks as f64 / hz / wall * 100.0;
    let cpu = percent(top_after - top_before);
    println!(
        "b) idle: anychat-top demo --port-offset {offset} in a 160×48 pane, all up {:.2} s after launch, \
         then {} s to settle and {wall:.1} s measured:",
        took.as_secs_f64(),
        SETTLE.as_secs()
    );
    println!(
        "  anychat-top (pid {pid}) CPU {cpu:.2} % of one core ({} ticks of 1/{hz} s)   target under {IDLE_CPU_TARGET_PERCENT} %: {}",
        top_after - top_before,
        if cpu < IDLE_CPU_TARGET_PERCENT {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  anychat-top VmHWM {hwm:.1} MB (VmRSS {rss:.1} MB)   target under {IDLE_HWM_TARGET_MB} MB: {}",
        if hwm < IDLE_HWM_TARGET_MB {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  anychat-top woke up {:.1} times/s (context switches, all threads) and wrote {:.0} bytes/s to the terminal",
        (wakeups_after - wakeups_before) as f64 / wall,
        written as f64 / wall
    );
    println!(
        "  the {} stubs together: CPU {:.2} % of one core",
        stubs.len(),
        percent(stubs_after - stubs_before)
    );
    quit(tmux, "demo", offset, "idle");
}

/// c) The demo plan without starting anything, then `S`: time until every entry is up.
fn start_all(tmux: &Tmux, top: &Path, offset: i32) -> Vec<f64> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("services/demo.toml");
    let mut times = Vec::new();
    for run in 1..=START_ALL_RUNS {
        assert!(
            demo_stubs(offset).is_empty(),
            "stubs of --port-offset {offset} are still running"
        );
        tmux.type_line("demo", "clear");
        tmux.type_line(
            "demo",
            &format!(
                "{} --config {} --port-offset {offset}; echo \"exit=$? run={run}\"",
                top.display(),
                manifest.display()
            ),
        );
        // The first frame, then the first probes (everything down) before the key.
        tmux.wait_for(
            "demo",
            "the first frame with every entry down",
            Duration::from_secs(10),
            Duration::from_millis(20),
            |s| s.contains(ALL_DOWN),
        );
        tmux.send("demo", &["S"]);
        let took = tmux.wait_for(
            "demo",
            "start-all to bring everything up",
            Duration::from_secs(60),
            Duration::from_millis(10),
            |s| s.contains(ALL_UP),
        );
        times.push(took.as_secs_f64() * 1000.0);
        println!("  run {run}: {:.0} ms", took.as_secs_f64() * 1000.0);
        quit(tmux, "demo", offset, &run.to_string());
    }
    times
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if args.iter().any(|a| a == "--quick") {
            QUICK_SECONDS
        } else {
            IDLE_SECONDS
        });
    let (top, _stub) = binaries();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut cleanup = Cleanup {
        tmux: Tmux::start(),
        offset: None,
    };
    println!("binary: {}", top.display());

    launch(&cleanup.tmux, &top, dir.path());

    let offset = free_offset();
    cleanup.offset = Some(offset);
    idle(&cleanup.tmux, &top, dir.path(), offset, seconds);

    println!(
        "c) start-all: anychat-top --config services/demo.toml --port-offset {offset}, `S` \
         after every entry shows down, until \"{ALL_UP}\" (screen polled every 10 ms):"
    );
    let times = start_all(&cleanup.tmux, &top, offset);
    let (median, _, min, max) = stats(times);
    println!("  median {median:.0} ms   min {min:.0} ms   max {max:.0} ms");

    // The terminal is usable again: what is typed is echoed and runs.
    cleanup.tmux.type_line("demo", "echo sum=$((40+2))");
    cleanup.tmux.wait_for(
        "demo",
        "the shell back",
        Duration::from_secs(5),
        Duration::from_millis(50),
        |s| s.contains("sum=42"),
    );
    println!("the pane's shell is back; stopping the tmux server");
}
