//! The real binary in a real terminal: a tmux server of our own, keys sent, the screen read;
//! and finding our processes in /proc.

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A detached 120x40 session running an interactive shell, or None (with the reason printed) when tmux is missing outside CI.
    pub fn start(width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            let reason = "tmux is not installed";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{reason} (required in CI)"
            );
            println!("SKIP: {reason}");
            return None;
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("anychat-top-test-{}-{n}", std::process::id());
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

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    pub fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "main"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// Type a line into the shell.
    pub fn type_line(&self, line: &str) {
        self.send(&["-l", line]);
        self.send(&["Enter"]);
    }

    pub fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll the screen until `pred` holds; panics with the last screen after `within`.
    pub fn wait_for(
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
        // The server's socket file outlives the server: remove it too.
        let path = self
            .cmd()
            .args(["display-message", "-p", "#{socket_path}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let _ = self.cmd().arg("kill-server").status();
        if let Ok(path) = path
            && !path.is_empty()
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// PIDs of live (not zombie) processes whose command line contains every one of `words`.
pub fn pids_with(words: &[&str]) -> Vec<u32> {
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
        if !is_zombie && words.iter().all(|w| cmdline.contains(w)) {
            pids.push(pid);
        }
    }
    pids
}

/// The name a process gave itself (`/proc/PID/comm`).
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// Dashboards (not their watchdogs) whose command line holds every one of `words`.
pub fn dashboards(words: &[&str]) -> Vec<u32> {
    let mut all = vec!["anychat-top"];
    all.extend_from_slice(words);
    let mut pids = pids_with(&all);
    pids.retain(|&p| comm(p) == "anychat-top");
    pids
}

/// The watchdogs (a fork of the dashboard, named `actop-watchdog`) of such dashboards.
pub fn watchdogs(words: &[&str]) -> Vec<u32> {
    let mut all = vec!["anychat-top"];
    all.extend_from_slice(words);
    let mut pids = pids_with(&all);
    pids.retain(|&p| comm(p) == "actop-watchdog");
    pids
}

/// The state letter of `pid` (`R`, `S`, `Z`...), or `None` when it is gone.
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// Whether `pid` is still running (a zombie is not).
pub fn alive(pid: u32) -> bool {
    proc_state(pid).is_some_and(|s| s != 'Z')
}

/// Poll until none of `pids` runs; the ones still running after `within`.
pub fn survivors_after(pids: &[u32], within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
