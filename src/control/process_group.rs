//! Signalling a child's process group and telling whether anything in it is still alive.

use std::time::Duration;

use tokio::time::Instant;

/// How often a stopping group is checked for members that outlived their leader.
const GROUP_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Send `signal` to every process in group `pgid`; false if there was nobody to signal.
/// Groups 0 and 1 are refused: `kill(0)` would hit our own group and `kill(-1)` everyone.
pub(super) fn signal_group(pgid: u32, signal: libc::c_int) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

/// Whether group `pgid` has a member that is not a zombie. A zombie orphan may never be reaped
/// when PID 1 is not a real init (containers), so it must not count as alive.
pub(super) fn group_has_live_members(pgid: u32) -> bool {
    if !signal_group(pgid, 0) {
        return false;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return true;
    };
    procs.flatten().any(|dir| {
        let stat = std::fs::read_to_string(dir.path().join("stat")).unwrap_or_default();
        parse_stat(&stat).is_some_and(|(state, group)| group == pgid && state != 'Z')
    })
}

/// State and process group from the text of `/proc/PID/stat` ("pid (comm) S ppid pgrp ...").
fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
}

/// After a stopped leader exited: give the rest of its group until `deadline` to leave, then
/// SIGKILL what remains.
///
/// The leader is reaped, but its pid cannot be reused while any process still has it as its
/// group id, so signalling the group here cannot reach a stranger.
pub(super) async fn finish_group(pgid: u32, deadline: Instant) {
    while group_has_live_members(pgid) {
        if Instant::now() >= deadline {
            signal_group(pgid, libc::SIGKILL);
            return;
        }
        tokio::time::sleep(GROUP_POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let stat = "4242 (a) b (c) S 1 4240 4240 0 -1 4194560 101 0 0 0";
        assert_eq!(parse_stat(stat), Some(('S', 4240)));
        assert_eq!(parse_stat("17 (sleep) Z 1 17 17 0"), Some(('Z', 17)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn refuses_to_signal_our_own_group_or_everyone() {
        assert!(!signal_group(0, 0));
        assert!(!signal_group(1, 0));
        assert!(!signal_group(u32::MAX, 0));
    }
}
