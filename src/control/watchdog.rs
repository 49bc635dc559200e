//! The process groups we started, and a watchdog process that stops them if we die.
//!
//! `PR_SET_PDEATHSIG` reaches only our direct children; a wrapper's children (`go run`'s build of
//! the service, `sh -c 'a & b'`) live on after a `kill -9` of anychat-top and hold the plan's
//! ports. So every process group the supervisor starts is registered here, and told to a small
//! watchdog: a copy of this process forked before any thread exists, in a session of its own
//! (terminal signals do not reach it), reading a pipe whose write end only we hold. When that
//! pipe closes without a goodbye (we died, whatever the way), the watchdog sends SIGTERM to
//! every registered group, SIGKILL after [`WATCHDOG_GRACE`], and exits.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::process_group::{group_has_live_members, signal_group};

/// Time between the watchdog's SIGTERM and its SIGKILL (the 2 s promise includes it).
pub const WATCHDOG_GRACE: Duration = Duration::from_secs(1);
/// How often a group being stopped is checked for members.
const POLL: Duration = Duration::from_millis(20);

/// The process groups we started and have not finished yet, shared by the supervisor (which
/// registers and forgets them) and the loop (which can signal them all at shutdown). Cloning
/// shares it.
#[derive(Clone, Default)]
pub struct GroupRegistry {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    groups: BTreeSet<u32>,
    /// Write end of the watchdog's pipe (none: no watchdog, or it is gone).
    pipe: Option<File>,
    /// The watchdog's pid, to reap it after the goodbye.
    watchdog: Option<libc::pid_t>,
}

impl std::fmt::Debug for GroupRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let groups = self.groups();
        f.debug_struct("GroupRegistry")
            .field("groups", &groups)
            .finish()
    }
}

impl GroupRegistry {
    /// A registry with a watchdog process. Must be called while this process has a single
    /// thread (before any runtime starts): the watchdog is a fork that keeps running Rust code.
    pub fn with_watchdog() -> io::Result<GroupRegistry> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two fds into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both fds were just created and are owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let _ = io::stdout().flush();
        let _ = io::stderr().flush();
        // SAFETY: the caller guarantees a single-threaded process, so the child may run
        // ordinary code; it never returns into our main (it `_exit`s).
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                drop(write);
                watchdog_main(File::from(read));
            }
            pid => {
                drop(read);
                let inner = Inner {
                    groups: BTreeSet::new(),
                    pipe: Some(File::from(write)),
                    watchdog: Some(pid),
                };
                Ok(GroupRegistry {
                    inner: Arc::new(Mutex::new(inner)),
                })
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A process group we started (its leader's pid).
    pub fn register(&self, pgid: u32) {
        let mut inner = self.lock();
        inner.groups.insert(pgid);
        inner.tell(&format!("+{pgid}"));
    }

    /// A group that is finished (no member left): no longer ours to stop.
    pub fn forget(&self, pgid: u32) {
        let mut inner = self.lock();
        inner.groups.remove(&pgid);
        inner.tell(&format!("-{pgid}"));
    }

    /// The groups registered and not forgotten.
    pub fn groups(&self) -> Vec<u32> {
        self.lock().groups.iter().copied().collect()
    }

    /// Send `signal` to every registered group now.
    pub fn signal_all(&self, signal: libc::c_int) {
        for pgid in self.groups() {
            signal_group(pgid, signal);
        }
    }

    /// Whether some registered group still has a live (not zombie) member.
    pub fn any_alive(&self) -> bool {
        self.groups().into_iter().any(group_has_live_members)
    }

    /// We leave on purpose: with `leave_running`, the watchdog lets the groups be; otherwise
    /// they have been stopped already. Either way it exits, and is reaped here.
    pub fn goodbye(&self, leave_running: bool) {
        let mut inner = self.lock();
        inner.tell(if leave_running { "leave" } else { "bye" });
        inner.pipe = None;
        if let Some(pid) = inner.watchdog.take() {
            reap_within(pid, Duration::from_secs(2));
        }
    }
}

impl Inner {
    /// One line to the watchdog; a watchdog that is gone is given up silently (the registry
    /// still works in this process).
    fn tell(&mut self, line: &str) {
        if let Some(pipe) = &mut self.pipe
            && pipe.write_all(format!("{line}\n").as_bytes()).is_err()
        {
            self.pipe = None;
        }
    }
}

/// Wait (polling, without blocking forever) for our child `pid` to exit, and reap it.
fn reap_within(pid: libc::pid_t, within: Duration) {
    let deadline = Instant::now() + within;
    // It usually exits within a millisecond of being told: look soon, then less often.
    let mut pause = Duration::from_millis(1);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done != 0 || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(POLL);
    }
}

/// The watchdog process: never returns.
fn watchdog_main(pipe: File) -> ! {
    // SAFETY: plain syscalls in a single-threaded child; the name is a NUL-terminated literal.
    unsafe {
        libc::setsid();
        for signal in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGPIPE,
        ] {
            libc::signal(signal, libc::SIG_IGN);
        }
        libc::prctl(libc::PR_SET_NAME, c"actop-watchdog".as_ptr(), 0, 0, 0);
        // Hold no terminal: stdin and stdout go to /dev/null; stderr stays for a last word.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::close(null);
        }
    }
    let mut groups = BTreeSet::new();
    let mut stop_on_eof = true;
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        match watchdog_line(&line) {
            Some(Told::Add(pgid)) => {
                groups.insert(pgid);
            }
            Some(Told::Forget(pgid)) => {
                groups.remove(&pgid);
            }
            Some(Told::Leave) => stop_on_eof = false,
            Some(Told::Bye) => {
                stop_on_eof = false;
                groups.clear();
            }
            None => {}
        }
    }
    if stop_on_eof {
        stop_groups(&groups.into_iter().collect::<Vec<_>>(), WATCHDOG_GRACE);
    }
    // SAFETY: _exit skips destructors and atexit handlers that belong to the parent's copy.
    unsafe { libc::_exit(0) }
}

/// What a line on the watchdog's pipe says.
#[derive(Debug, PartialEq, Eq)]
enum Told {
    Add(u32),
    Forget(u32),
    Leave,
    Bye,
}

fn watchdog_line(line: &str) -> Option<Told> {
    match line {
        "leave" => Some(Told::Leave),
        "bye" => Some(Told::Bye),
        _ => {
            let (sign, number) = line.split_at_checked(1)?;
            let pgid = number.parse().ok()?;
            match sign {
                "+" => Some(Told::Add(pgid)),
                "-" => Some(Told::Forget(pgid)),
                _ => None,
            }
        }
    }
}

/// SIGTERM every group, wait up to `grace` for them to empty, SIGKILL what is left.
pub fn stop_groups(groups: &[u32], grace: Duration) {
    for &pgid in groups {
        signal_group(pgid, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while groups.iter().any(|&g| group_has_live_members(g)) {
        if Instant::now() >= deadline {
            for &pgid in groups {
                signal_group(pgid, libc::SIGKILL);
            }
            return;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_lines_are_read_strictly() {
        assert_eq!(watchdog_line("+4242"), Some(Told::Add(4242)));
        assert_eq!(watchdog_line("-17"), Some(Told::Forget(17)));
        assert_eq!(watchdog_line("leave"), Some(Told::Leave));
        assert_eq!(watchdog_line("bye"), Some(Told::Bye));
        for bad in ["", "+", "*12", "+-3", "+12x", "byebye", "é"] {
            assert_eq!(watchdog_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_registry_without_watchdog_keeps_its_groups() {
        let groups = GroupRegistry::default();
        groups.register(4242);
        groups.register(17);
        groups.forget(4242);
        assert_eq!(groups.groups(), [17]);
        groups.goodbye(false);
    }
}
