//! Child processes for tests: free ports, readiness polling, a kill-on-drop guard, and the
//! rule for server binaries that are not installed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local address").port()
}

/// A free loopback port below the ephemeral range (32768-), where no outgoing connection can
/// take it between the check and its use; the search starts at a per-process spot.
pub fn free_low_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 400) as u16 * 30;
    for _ in 0..12_000 {
        let k = NEXT.fetch_add(1, Ordering::Relaxed) % 12_000;
        let port = 20_000 + (base - 20_000 + k) % 12_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 20000..32000");
}

/// Polls until something accepts TCP connections on `port`; false if `within` runs out.
pub async fn wait_for_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Polls until nothing accepts on `port` any more (the server really is gone).
pub async fn wait_for_port_closed(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A running child that is stopped (SIGTERM, then SIGKILL after 5 s) and reaped on drop.
pub struct ChildGuard {
    child: Child,
    name: String,
    /// The child's stdout and stderr, shown only if the test fails.
    output: Option<File>,
}

impl ChildGuard {
    /// Starts `cmd` with stdin closed and its output kept aside, printed if the test panics.
    pub fn spawn(cmd: &mut Command) -> ChildGuard {
        let name = cmd.get_program().to_string_lossy().into_owned();
        let output = tempfile::tempfile().ok();
        let sink = || match output.as_ref().and_then(|f| f.try_clone().ok()) {
            Some(file) => Stdio::from(file),
            None => Stdio::null(),
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(sink())
            .stderr(sink())
            .spawn()
            .unwrap_or_else(|err| panic!("start {name}: {err}"));
        ChildGuard {
            child,
            name,
            output,
        }
    }

    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child has already exited (e.g. it failed to start its server).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking()
            && let Some(mut file) = self.output.take()
        {
            let mut text = String::new();
            let _ = file.seek(SeekFrom::Start(0));
            let _ = file.read_to_string(&mut text);
            eprintln!(
                "--- output of {} ---\n{text}--- end of {} ---",
                self.name, self.name
            );
        }
    }
}

impl ChildGuard {
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid; the child is not yet reaped, so the pid
            // cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("{} ignored SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The skip rule for missing server binaries, in one place: outside CI print
/// "SKIP: <reason>" and let the test return; with CI=true a missing binary fails the test.
pub fn skip_or_fail(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason} (CI=true, so a missing server binary is a failure)");
    }
    eprintln!("SKIP: {reason}");
}

/// Finds `name` on PATH or in the sbin directories Debian puts servers in; applies
/// [`skip_or_fail`] when it is nowhere.
pub fn require_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(
        ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"]
            .iter()
            .map(PathBuf::from),
    );
    for dir in dirs {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Some(candidate);
        }
    }
    skip_or_fail(&format!("{name} is not installed"));
    None
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts the bundled `anychat-stub` with `args` (quiet: no request logs).
pub fn stub(args: &[&str]) -> ChildGuard {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anychat-stub"));
    cmd.args([
        "--name",
        "probe-test",
        "--quiet-health",
        "--log-interval",
        "0s",
    ])
    .args(args);
    ChildGuard::spawn(&mut cmd)
}

impl ChildGuard {
    /// Takes over a child the test spawned itself (say with its stdout piped, to read a
    /// readiness line): stopped and reaped on drop like the others.
    pub fn adopt(child: Child, name: &str) -> ChildGuard {
        ChildGuard {
            child,
            name: name.to_string(),
            output: None,
        }
    }
}

/// The real interpreter (the pyenv `python3` on PATH here is a bash shim).
pub const PYTHON: &str = "/usr/bin/python3";

/// `python3 ARGS`, once it has printed its first line: the guard and that line (trimmed).
/// Without python3: [`skip_or_fail`], then `None`.
pub fn python_with_first_line(args: &[String]) -> Option<(ChildGuard, String)> {
    if !Path::new(PYTHON).exists() {
        skip_or_fail("/usr/bin/python3 is not installed");
        return None;
    }
    let mut child = Command::new(PYTHON)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line);
    }
    Some((ChildGuard::adopt(child, "python3"), line.trim().to_string()))
}

/// `n` ports below the ephemeral range free on every one of `hosts` right now (e.g. the
/// wildcards `0.0.0.0` and `::`), never the same port twice in this test binary.
pub fn free_low_ports_on(n: usize, hosts: &[&str]) -> Vec<u16> {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        16_000 + (std::process::id() % 7_000) as u16 * 2,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    let mut ports = Vec::new();
    while ports.len() < n {
        let p = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(p < 32_000, "ran out of low ports");
        if hosts.iter().all(|h| TcpListener::bind((*h, p)).is_ok()) {
            ports.push(p);
        }
    }
    ports
}
