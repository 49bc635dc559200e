//! The process supervisor against real children: the bundled stub, `sh` scripts, a 200 MB log
//! flood, and a parent killed with SIGKILL (this test binary re-executed as the parent).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anychat_top::control::{Supervisor, SupervisorOptions};
use anychat_top::message::{Command, ExitReason, LogLine, MAX_LINE_BYTES, Stream, Update};
use anychat_top::plan::{Entry, EntryId, EntryKind, Plan, RestartPolicy};
use tokio::sync::mpsc;

const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");
/// How long any single expected update may take.
const WAIT: Duration = Duration::from_secs(10);
/// Set in the environment of the re-executed test binary that plays the killed parent.
const PARENT_ROLE: &str = "ANYCHAT_SUPERVISOR_CHILD";

fn entry(name: &str, argv: &[&str]) -> Entry {
    Entry {
        name: name.to_string(),
        kind: EntryKind::Service,
        group: "test".to_string(),
        description: String::new(),
        command: argv.iter().map(|a| a.to_string()).collect(),
        cwd: None,
        env: BTreeMap::new(),
        depends_on: Vec::new(),
        required: true,
        restart: RestartPolicy::Never,
        stop_grace: Duration::from_secs(2),
        ready_timeout: Duration::from_secs(5),
        container: None,
        runs: anychat_top::plan::Runs::Process,
        targets: Vec::new(),
        source: PathBuf::from("tests/supervisor.rs"),
        host: "127.0.0.1".to_string(),
        not_startable: None,
    }
}

fn sh(name: &str, script: &str) -> Entry {
    entry(name, &["sh", "-c", script])
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback:0");
    listener.local_addr().expect("local addr").port()
}

/// State letter from /proc/PID/stat, None when the process is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Running, sleeping, stopped... anything but gone or a zombie waiting for its reaper.
fn alive(pid: u32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

fn gone_within(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn sigkill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid)
        && pid > 1
    {
        // SAFETY: plain kill(2); the group is one a test started and checked alive just before.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// KILLs the process groups of every pid it was told about, unless already gone.
#[derive(Default)]
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if alive(pid) {
                sigkill_group(pid);
            }
        }
    }
}

/// A supervisor running on the test's runtime, with the updates it sent so far.
struct Harness {
    commands: Option<mpsc::Sender<Command>>,
    updates: mpsc::Receiver<Update>,
    task: tokio::task::JoinHandle<()>,
    lines: Vec<(EntryId, LogLine)>,
    reaper: Reaper,
}

impl Harness {
    fn new(entries: Vec<Entry>) -> Self {
        Self::with(entries, SupervisorOptions::default(), 1024)
    }

    fn with(entries: Vec<Entry>, opts: SupervisorOptions, capacity: usize) -> Self {
        let plan = Arc::new(Plan {
            entries,
            targets: Vec::new(),
        });
        let (updates_tx, updates) = mpsc::channel(capacity);
        let (commands, commands_rx) = mpsc::channel(64);
        let supervisor = Supervisor::new(plan, updates_tx, opts);
        Harness {
            commands: Some(commands),
            updates,
            task: tokio::spawn(supervisor.run(commands_rx)),
            lines: Vec::new(),
            reaper: Reaper::default(),
        }
    }

    async fn send(&self, command: Command) {
        let commands = self.commands.as_ref().expect("supervisor still open");
        commands.send(command).await.expect("supervisor alive");
    }

    async fn start(&self, entry: usize) {
        self.send(Command::Start {
            entry: EntryId(entry),
        })
        .await;
    }

    async fn stop(&self, entry: usize, grace: Duration) {
        let entry = EntryId(entry);
        self.send(Command::Stop { entry, grace }).await;
    }

    /// The next update `pick` accepts (earlier ones are noted, then skipped).
    async fn next<T>(&mut self, what: &str, mut pick: impl FnMut(&Update) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let update = tokio::time::timeout_at(deadline, self.updates.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}; lines: {:?}", self.lines))
                .unwrap_or_else(|| panic!("updates closed while waiting for {what}"));
            match &update {
                Update::ProcessStarted { pid, .. } => self.reaper.0.push(*pid),
                Update::LogLines { entry, lines, .. } => {
                    self.lines.extend(lines.iter().map(|l| (*entry, l.clone())));
                }
                _ => {}
            }
            if let Some(found) = pick(&update) {
                return found;
            }
        }
    }

    async fn started(&mut self, want: usize) -> u32 {
        self.next("ProcessStarted", |u| match u {
            Update::ProcessStarted { entry, pid, .. } if entry.0 == want => Some(*pid),
            _ => None,
        })
        .await
    }

    async fn exited(&mut self, want: usize) -> (u32, ExitReason) {
        self.next("ProcessExited", |u| match u {
            Update::ProcessExited {
                entry, pid, exit, ..
            } if entry.0 == want => Some((*pid, *exit)),
            _ => None,
        })
        .await
    }

    /// Wait until `entry` has written a line satisfying `pick`.
    async fn line<T>(&mut self, want: usize, pick: impl Fn(&LogLine) -> Option<T>) -> T {
        let seen = |lines: &[(EntryId, LogLine)]| {
            lines
                .iter()
                .filter(|(e, _)| e.0 == want)
                .find_map(|(_, l)| pick(l))
        };
        if let Some(found) = seen(&self.lines) {
            return found;
        }
        loop {
            self.next("a log line", |u| {
                matches!(u, Update::LogLines { .. }).then_some(())
            })
            .await;
            if let Some(found) = seen(&self.lines) {
                return found;
            }
        }
    }

    /// Close the command channel and wait for the supervisor to finish its shutdown.
    async fn shut_down(&mut self) {
        self.commands = None;
        let task = &mut self.task;
        tokio::time::timeout(WAIT, task)
            .await
            .expect("supervisor shut down in time")
            .expect("supervisor did not panic");
    }
}

fn stub(name: &str, port: u16, extra: &[&str]) -> Entry {
    let port = port.to_string();
    let mut argv = vec![
        STUB,
        "--name",
        name,
        "--http-port",
        &port,
        "--log-interval",
        "100ms",
    ];
    argv.extend_from_slice(extra);
    entry(name, &argv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stub_starts_stops_with_code_0_and_restarts_with_a_new_pid() {
    // A bare `anychat-stub` resolves to the binary beside this test's target directory.
    let port = free_port().to_string();
    let bare = entry(
        "auth-service",
        &[
            "anychat-stub",
            "--name",
            "auth-service",
            "--http-port",
            &port,
        ],
    );
    let mut h = Harness::new(vec![bare]);
    h.start(0).await;
    let pid = h.started(0).await;
    assert!(alive(pid), "pid {pid} should be running");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe link");
    assert_eq!(exe, std::fs::canonicalize(STUB).expect("stub path"));

    // A second Start while running is ignored: the next update about entry 0 is its exit.
    h.start(0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    h.stop(0, Duration::from_secs(5)).await;
    assert_eq!(h.exited(0).await, (pid, ExitReason::Code(0)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stub took {:?}",
        started.elapsed()
    );
    assert!(gone_within(pid, Duration::from_secs(1)));
    assert!(
        h.reaper.0 == [pid],
        "only one copy was started: {:?}",
        h.reaper.0
    );

    // Restart as the state would send it: Stop and Start back to back.
    h.start(0).await;
    let first = h.started(0).await;
    // Stopped before it installs its SIGTERM handler, the stub would die of the signal.
    let logged = h.lines.len();
    h.next("a log line", |u| {
        matches!(u, Update::LogLines { .. }).then_some(())
    })
    .await;
    assert!(h.lines.len() > logged);
    h.stop(0, Duration::from_secs(5)).await;
    h.start(0).await;
    assert_eq!(h.exited(0).await, (first, ExitReason::Code(0)));
    let second = h.started(0).await;
    assert_ne!(first, second);
    assert!(alive(second) && !alive(first));
    h.shut_down().await;
    assert!(!alive(second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_child_exits_by_sigterm() {
    let mut h = Harness::new(vec![entry("sleeper", &["sleep", "100"])]);
    h.start(0).await;
    let pid = h.started(0).await;
    assert!(alive(pid));
    h.stop(0, Duration::from_secs(5)).await;
    assert_eq!(h.exited(0).await, (pid, ExitReason::Signal(libc::SIGTERM)));
    // Stopping what no longer runs does nothing.
    h.stop(0, Duration::from_secs(5)).await;
    h.shut_down().await;
    assert!(h.updates.try_recv().is_err(), "no update after the exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_ignoring_sigterm_are_killed_after_the_grace() {
    let grace = Duration::from_millis(300);
    let port = free_port();
    let mut h = Harness::new(vec![
        sh("stubborn", r#"trap "" TERM; while :; do sleep 0.1; done"#),
        stub("stubborn-stub", port, &["--ignore-sigterm"]),
    ]);
    for i in 0..2 {
        h.start(i).await;
        h.started(i).await;
    }
    // Let the stub install its handler before it is asked to stop.
    h.line(1, |l| l.text.contains("auth").then_some(()).or(Some(())))
        .await;
    for i in 0..2 {
        let asked = Instant::now();
        h.stop(i, grace).await;
        let (pid, exit) = h.exited(i).await;
        let took = asked.elapsed();
        assert_eq!(exit, ExitReason::Signal(libc::SIGKILL), "entry {i}");
        assert!(
            took >= grace,
            "entry {i} killed after {took:?}, before the grace"
        );
        assert!(
            took < grace + Duration::from_secs(2),
            "entry {i} took {took:?}"
        );
        assert!(!alive(pid));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_kills_the_whole_process_group() {
    // One grandchild dies of SIGTERM; the other ignores it and outlives the leader.
    let script =
        r#"sleep 100 & echo "plain $!"; (trap "" TERM; exec sleep 100) & echo "deaf $!"; wait"#;
    let mut h = Harness::new(vec![sh("family", script)]);
    h.start(0).await;
    let leader = h.started(0).await;
    let mut grandchildren = Vec::new();
    for tag in ["plain ", "deaf "] {
        let pid: u32 = h.line(0, |l| l.text.strip_prefix(tag)?.parse().ok()).await;
        h.reaper.0.push(pid);
        assert!(alive(pid));
        grandchildren.push(pid);
    }
    let grace = Duration::from_millis(500);
    let asked = Instant::now();
    h.stop(0, grace).await;
    assert_eq!(
        h.exited(0).await,
        (leader, ExitReason::Signal(libc::SIGTERM))
    );
    assert!(
        asked.elapsed() >= grace,
        "the deaf grandchild got its grace"
    );
    for pid in grandchildren {
        assert!(
            gone_within(pid, Duration::from_millis(200)),
            "grandchild {pid} survived"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_and_reaps_every_child() {
    let port = free_port();
    let mut h = Harness::new(vec![
        entry("sleeper", &["sleep", "100"]),
        stub("gateway", port, &[]),
        sh("wrapper", r#"sleep 100 & echo "grandchild $!"; wait"#),
    ]);
    let mut pids = Vec::new();
    for i in 0..3 {
        h.start(i).await;
        pids.push(h.started(i).await);
    }
    let grandchild: u32 = h
        .line(2, |l| l.text.strip_prefix("grandchild ")?.parse().ok())
        .await;
    pids.push(grandchild);
    assert!(pids.iter().all(|&pid| alive(pid)));
    h.shut_down().await;
    for pid in pids {
        assert!(
            gone_within(pid, Duration::from_millis(200)),
            "pid {pid} outlived the supervisor"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_failures_are_reported_in_words() {
    let mut h = Harness::new(vec![
        entry("auth-service", &["bin/no-such-service"]),
        entry("nothing", &[]),
    ]);
    h.start(0).await;
    h.start(1).await;
    let mut errors = Vec::new();
    for _ in 0..2 {
        errors.push(
            h.next("ProcessSpawnFailed", |u| match u {
                Update::ProcessSpawnFailed { entry, error, .. } => Some((entry.0, error.clone())),
                _ => None,
            })
            .await,
        );
    }
    errors.sort();
    assert_eq!(errors[0].0, 0);
    assert!(
        errors[0].1.starts_with("bin/no-such-service: "),
        "{}",
        errors[0].1
    );
    assert!(
        errors[0].1.contains("No such file or directory"),
        "{}",
        errors[0].1
    );
    assert_eq!(errors[1], (1, "nothing has no command to run".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cwd_env_streams_and_log_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let mut e = sh(
        "env-check",
        "pwd; echo \"var=$ANYCHAT_TEST_VAR\"; echo oops >&2; sleep 5",
    );
    e.cwd = Some(dir.path().to_path_buf());
    e.env.insert("ANYCHAT_TEST_VAR".into(), "42".into());
    let opts = SupervisorOptions {
        log_dir: Some(logs.clone()),
        leave_running: false,
        groups: None,
    };
    let mut h = Harness::with(vec![e], opts, 64);
    h.start(0).await;
    let started = Instant::now();
    h.started(0).await;
    let cwd = std::fs::canonicalize(dir.path()).expect("canonical tempdir");
    let pwd = h
        .line(0, |l| l.text.starts_with('/').then(|| l.text.clone()))
        .await;
    assert_eq!(PathBuf::from(pwd), cwd);
    h.line(0, |l| {
        (l.text == "var=42" && l.stream == Stream::Stdout).then_some(())
    })
    .await;
    h.line(0, |l| {
        (l.text == "oops" && l.stream == Stream::Stderr).then_some(())
    })
    .await;
    // Single lines show up promptly, long before the child exits.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "lines took {:?}",
        started.elapsed()
    );
    h.stop(0, Duration::from_secs(1)).await;
    h.exited(0).await;
    // The file is written by a thread of its own: it holds every line soon after.
    let want = [
        cwd.to_string_lossy().into_owned(),
        "var=42".into(),
        "oops".into(),
    ];
    let deadline = Instant::now() + WAIT;
    loop {
        let file = std::fs::read_to_string(logs.join("env-check.log")).unwrap_or_default();
        if want.iter().all(|w| file.lines().any(|l| l == w)) {
            break;
        }
        assert!(Instant::now() < deadline, "{want:?} not all in {file:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_line_is_cut_and_the_next_arrives_intact() {
    let script = "head -c 204800 /dev/zero | tr '\\0' y; echo; echo after";
    let mut h = Harness::new(vec![sh("long", script)]);
    h.start(0).await;
    h.exited(0).await;
    let lines: Vec<&LogLine> = h.lines.iter().map(|(_, l)| l).collect();
    assert_eq!(
        lines.len(),
        2,
        "{:?}",
        lines.iter().map(|l| l.text.len()).collect::<Vec<_>>()
    );
    assert_eq!(lines[0].text.len(), MAX_LINE_BYTES);
    assert!(lines[0].text.bytes().all(|b| b == b'y') && lines[0].truncated);
    assert_eq!(
        (lines[1].text.as_str(), lines[1].truncated),
        ("after", false)
    );
}

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix(" kB")?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_flood_read_slowly_neither_slows_the_child_nor_grows_memory() {
    const LINES: u64 = 2_000_000;
    let flood = "head -c 200000000 /dev/zero | tr '\\0' x | fold -w 100";
    let alone = Instant::now();
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("{flood} > /dev/null")])
        .status()
        .expect("run the flood alone");
    assert!(status.success());
    let alone = alone.elapsed();

    let mut h = Harness::with(vec![sh("flood", flood)], SupervisorOptions::default(), 16);
    let rss_before = rss_kib("VmRSS:");
    let started = Instant::now();
    h.start(0).await;
    let (mut received, mut dropped, mut rss_peak) = (0u64, 0u64, rss_before);
    let supervised = loop {
        let update = tokio::time::timeout(WAIT * 3, h.updates.recv())
            .await
            .expect("flood updates keep coming")
            .expect("updates open");
        match update {
            Update::LogLines {
                lines, dropped: d, ..
            } => {
                assert!(lines.iter().all(|l| l.text.len() == 100 && !l.truncated));
                received += lines.len() as u64;
                dropped += d;
            }
            Update::ProcessStarted { pid, .. } => h.reaper.0.push(pid),
            Update::ProcessExited { exit, .. } => {
                assert_eq!(exit, ExitReason::Code(0));
                break started.elapsed();
            }
            _ => {}
        }
        rss_peak = rss_peak.max(rss_kib("VmRSS:"));
        // The slow UI.
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // Whatever was still queued when the exit was reported.
    while let Ok(update) = h.updates.try_recv() {
        if let Update::LogLines {
            lines, dropped: d, ..
        } = update
        {
            received += lines.len() as u64;
            dropped += d;
        }
    }
    let growth_mib = rss_peak.saturating_sub(rss_before) / 1024;
    println!(
        "flood of 200 MB: alone {alone:?}, supervised {supervised:?}; lines received {received}, \
         dropped {dropped}; RSS before {} MiB, peak {} MiB (+{growth_mib} MiB), VmHWM {} MiB",
        rss_before / 1024,
        rss_peak / 1024,
        rss_kib("VmHWM:") / 1024
    );
    assert_eq!(
        received + dropped,
        LINES,
        "every line is either delivered or counted"
    );
    assert!(
        dropped > 0,
        "a slow reader must have made the supervisor drop lines"
    );
    assert!(
        supervised < alone * 3 + Duration::from_secs(1),
        "supervised {supervised:?} vs alone {alone:?}"
    );
    assert!(growth_mib < 100, "RSS grew by {growth_mib} MiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_the_process_listening_on_a_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let ours = listener.local_addr().expect("addr").port();
    let stub_port = free_port();
    let free = free_port();
    let mut h = Harness::new(vec![stub("port-holder", stub_port, &[])]);
    h.start(0).await;
    let stub_pid = h.started(0).await;
    h.line(0, |_| Some(())).await; // listening by the time it logs

    // One walk of /proc for the three ports (what the metrics' shared-port lookup uses).
    let found = anychat_top::control::port_owner::find_port_owners(&[ours, stub_port, free]);
    let me = found[&ours].clone().expect("our own listener is found");
    assert_eq!(me.pid, std::process::id());
    let exe = std::env::current_exe().expect("current exe");
    let exe_name = exe.file_name().expect("exe name").to_string_lossy();
    assert!(me.command.contains(exe_name.as_ref()), "{}", me.command);
    let stub_owner = found[&stub_port]
        .clone()
        .expect("the stub's listener is found");
    assert_eq!(stub_owner.pid, stub_pid);
    assert!(
        stub_owner.command.starts_with(STUB),
        "{}",
        stub_owner.command
    );
    assert!(
        stub_owner
            .command
            .contains(&format!("--http-port {stub_port}"))
    );
    assert_eq!(found[&free], None);
    drop(listener);
}

/// Not a test on its own: the parent role of `children_die_with_a_sigkilled_parent`, run in a
/// re-executed copy of this binary. Starts children under two supervisors (one tying their life
/// to ours, one with `leave_running`), prints their pids and waits to be killed.
#[test]
#[ignore = "helper process for children_die_with_a_sigkilled_parent"]
fn helper_supervising_parent() {
    if std::env::var_os(PARENT_ROLE).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let port = free_port();
        let mut tied = Harness::new(vec![
            entry("sleeper", &["sleep", "100"]),
            stub("svc", port, &[]),
        ]);
        for i in 0..2 {
            tied.start(i).await;
            println!("TIED_PID {}", tied.started(i).await);
        }
        let leave = SupervisorOptions {
            log_dir: None,
            leave_running: true,
            groups: None,
        };
        let chatty = sh("chatty", "while :; do echo tick; sleep 0.05; done");
        let mut left = Harness::with(vec![chatty], leave, 64);
        left.start(0).await;
        println!("LEFT_PID {}", left.started(0).await);
        left.line(0, |l| (l.text == "tick").then_some(())).await;
        println!("READY");
        // Keep both supervisors alive until we are killed.
        tokio::time::sleep(Duration::from_secs(60)).await;
        tied.reaper.0.clear();
        left.reaper.0.clear();
    });
}

/// Kills (SIGKILL) and reaps a plain child process when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn children_die_with_a_sigkilled_parent() {
    let exe = std::env::current_exe().expect("current exe");
    let mut parent = KillOnDrop(
        std::process::Command::new(exe)
            .args(["--ignored", "--exact", "helper_supervising_parent"])
            .arg("--nocapture")
            .env(PARENT_ROLE, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("re-run this test binary as the parent"),
    );
    let mut reaper = Reaper::default();
    let stdout = parent.0.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut tied, mut left) = (Vec::new(), Vec::new());
    loop {
        let line = rx.recv_timeout(WAIT).expect("the parent reports READY");
        let pid = |tag: &str| line.strip_prefix(tag)?.parse::<u32>().ok();
        if let Some(pid) = pid("TIED_PID ") {
            tied.push(pid);
            reaper.0.push(pid);
        } else if let Some(pid) = pid("LEFT_PID ") {
            left.push(pid);
            reaper.0.push(pid);
        } else if line == "READY" {
            break;
        }
    }
    assert_eq!((tied.len(), left.len()), (2, 1));
    assert!(tied.iter().chain(&left).all(|&pid| alive(pid)));

    parent.0.kill().expect("SIGKILL the parent");
    let status = parent.0.wait().expect("reap the parent");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    for &pid in &tied {
        assert!(
            gone_within(pid, Duration::from_secs(1)),
            "child {pid} outlived its parent"
        );
    }
    // The leave_running child outlives us, and survives writing into the now readerless pipe.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        alive(left[0]),
        "the leave_running child died with its parent"
    );
}
