//! Process handles (`pidfd_open`, Linux ≥ 5.3): whether a known process has exited is one
//! `poll` for all of them, immune to pid reuse, instead of one `/proc/PID/stat` read each.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A handle on the process `pid`; `None` when the kernel has no pidfd_open or it is gone.
pub fn open(pid: u32) -> Option<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open(2) takes a pid and flags; the result is checked before use.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The pids among `handles` whose process has exited (a pidfd polls readable then).
pub fn exited<'a>(handles: impl IntoIterator<Item = (u32, &'a OwnedFd)>) -> Vec<u32> {
    let (pids, mut fds): (Vec<u32>, Vec<libc::pollfd>) = handles
        .into_iter()
        .map(|(pid, fd)| {
            (
                pid,
                libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            )
        })
        .unzip();
    if fds.is_empty() {
        return Vec::new();
    }
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs; timeout 0 never blocks.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    if n <= 0 {
        return Vec::new();
    }
    pids.into_iter()
        .zip(&fds)
        .filter(|(_, p)| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLNVAL) != 0)
        .map(|(pid, _)| pid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, Instant};

    #[test]
    fn a_handle_tells_when_its_process_exits() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        let Some(fd) = open(pid) else {
            eprintln!("SKIP: no pidfd_open on this kernel");
            let _ = child.kill();
            let _ = child.wait();
            return;
        };
        assert!(exited([(pid, &fd)]).is_empty());
        child.kill().unwrap();
        // Readable once it has exited, reaped or not.
        let deadline = Instant::now() + Duration::from_secs(5);
        while exited([(pid, &fd)]).is_empty() {
            assert!(Instant::now() < deadline, "pidfd never became readable");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert_eq!(exited([(pid, &fd)]), [pid]);
        assert!(open(u32::MAX).is_none());
    }
}
