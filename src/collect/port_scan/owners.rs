//! Socket inode → holding pids, by walking `/proc/*/fd`, cached: a scan whose sockets are all
//! known walks nothing; a new socket walks first the processes never walked, then those whose
//! fd count changed (the size of `/proc/PID/fd`, Linux ≥ 6.2; unknown = walk again), and only
//! if it is still not found, every process once before it is remembered as hidden.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use std::os::fd::OwnedFd;

use super::pidfd;
use super::process::{Owner, Users, read_owner, read_stat};

/// What a walk of one process's fd table found.
#[derive(Debug)]
struct Walked {
    /// Read only for processes holding sockets.
    start_ticks: Option<u64>,
    /// The size of `/proc/PID/fd` when walked (0 = the kernel does not report it).
    fd_count: u64,
    inodes: Vec<u64>,
}

/// Owner details re-read from `/proc/PID/stat` every this many scans (staggered by pid), to
/// notice an exec or a new parent; exits are seen at once through the pidfd.
pub const REFRESH_SCANS: u64 = 10;

#[derive(Debug)]
struct Cached {
    comm: String,
    owner: Owner,
    checked: u64,
}

/// Counters of the work done, for benchmarks and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WalkStats {
    /// Processes whose fd table was read.
    pub fd_tables_walked: u64,
    /// Times the pid list of `/proc` was read.
    pub pid_listings: u64,
}

/// The cache of who holds which socket.
#[derive(Debug)]
pub struct OwnerIndex {
    proc: PathBuf,
    holders: HashMap<u64, Vec<u32>>,
    walked: HashMap<u32, Walked>,
    /// Owner details by pid, with the comm they were read under and the scan that read them.
    owners: HashMap<u32, Cached>,
    /// Handles on the processes holding wanted sockets, to see their exit in one poll.
    pidfds: HashMap<u32, OwnedFd>,
    /// Calls of [`OwnerIndex::resolve`] so far.
    scans: u64,
    /// Inodes no walk could attribute (another user's process when we are not root).
    hidden: HashSet<u64>,
    users: Users,
    pub stats: WalkStats,
}

impl OwnerIndex {
    /// An empty cache over the proc filesystem at `proc` (normally `/proc`).
    pub fn new(proc: impl Into<PathBuf>) -> Self {
        OwnerIndex {
            proc: proc.into(),
            holders: HashMap::new(),
            walked: HashMap::new(),
            owners: HashMap::new(),
            pidfds: HashMap::new(),
            scans: 0,
            hidden: HashSet::new(),
            users: Users::default(),
            stats: WalkStats::default(),
        }
    }

    /// Makes sure every inode of `wanted` is attributed if it can be; walks only when needed,
    /// and stops walking as soon as every wanted inode is found.
    pub fn resolve(&mut self, wanted: &[u64]) {
        self.scans += 1;
        self.forget_dead_holders(wanted);
        let mut missing: HashSet<u64> = wanted
            .iter()
            .copied()
            .filter(|i| *i != 0 && !self.holders.contains_key(i) && !self.hidden.contains(i))
            .collect();
        if missing.is_empty() {
            return;
        }
        let pids = self.list_pids();
        let gone: Vec<u32> = self
            .walked
            .keys()
            .copied()
            .filter(|p| !pids.contains(p))
            .collect();
        for pid in gone {
            self.forget(pid);
        }
        let mut done = HashSet::new();
        // Newest first: a new socket was most often opened by a new process.
        let mut new: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|p| !self.walked.contains_key(p))
            .collect();
        new.sort_unstable_by(|a, b| b.cmp(a));
        if self.walk_until_found(&new, &mut missing, &mut done) {
            return;
        }
        let changed: Vec<u32> = self
            .walked
            .iter()
            .filter(|(pid, w)| {
                !done.contains(*pid) && (w.fd_count == 0 || self.fd_count(**pid) != w.fd_count)
            })
            .map(|(pid, _)| *pid)
            .collect();
        if self.walk_until_found(&changed, &mut missing, &mut done) {
            return;
        }
        // The fd count can stay the same (one fd closed, one opened): before calling a socket
        // hidden, walk every process once. This happens once per new unattributable socket.
        let rest: Vec<u32> = pids.iter().copied().filter(|p| !done.contains(p)).collect();
        self.walk_until_found(&rest, &mut missing, &mut done);
        self.hidden.extend(missing);
    }

    /// Walks `pids` in order until `missing` is empty; true when it is.
    fn walk_until_found(
        &mut self,
        pids: &[u32],
        missing: &mut HashSet<u64>,
        done: &mut HashSet<u32>,
    ) -> bool {
        for &pid in pids {
            if missing.is_empty() {
                return true;
            }
            self.walk(pid);
            done.insert(pid);
            if let Some(w) = self.walked.get(&pid) {
                for inode in &w.inodes {
                    missing.remove(inode);
                }
            }
        }
        missing.is_empty()
    }

    /// The pids holding `inode`, lowest first; empty when unknown or not visible.
    pub fn holders(&self, inode: u64) -> &[u32] {
        self.holders.get(&inode).map_or(&[], Vec::as_slice)
    }

    /// Everything about `pid`: cached, re-read every [`REFRESH_SCANS`] scans and kept while
    /// the start time, parent, group and comm are the same (a changed comm means an exec).
    pub fn owner(&mut self, pid: u32) -> Option<&Owner> {
        let due = self
            .owners
            .get(&pid)
            .is_none_or(|c| self.scans.saturating_sub(c.checked) >= REFRESH_SCANS);
        if due {
            self.refresh_owner(pid);
        }
        self.owners.get(&pid).map(|c| &c.owner)
    }

    fn refresh_owner(&mut self, pid: u32) {
        let Some((comm, stat)) = read_stat(&self.proc, pid) else {
            self.owners.remove(&pid);
            return;
        };
        // Staggered: owners first seen in the same scan are not all re-read in the same scan.
        let checked = self.scans.saturating_sub(u64::from(pid) % REFRESH_SCANS);
        if let Some(c) = self.owners.get_mut(&pid) {
            let o = &c.owner;
            if c.comm == comm
                && o.start_ticks == stat.start_ticks
                && o.ppid == stat.ppid
                && o.pgid == stat.pgid
            {
                c.checked = self.scans;
                return;
            }
        }
        match read_owner(&self.proc, pid, &mut self.users) {
            Some(owner) if owner.start_ticks == stat.start_ticks => {
                let cached = Cached {
                    comm,
                    owner,
                    checked,
                };
                self.owners.insert(pid, cached);
            }
            _ => {
                self.owners.remove(&pid);
            }
        }
    }

    /// Drops cached owners and handles not in `live` (call after a scan with its pids).
    pub fn retain_owners(&mut self, live: &HashSet<u32>) {
        self.owners.retain(|pid, _| live.contains(pid));
        self.pidfds.retain(|pid, _| live.contains(pid));
    }

    /// Holders of `wanted` inodes that exited (or whose pid was reused) are forgotten, so
    /// that the socket is attributed again (it may have passed to a child).
    fn forget_dead_holders(&mut self, wanted: &[u64]) {
        let mut pids: Vec<u32> = wanted
            .iter()
            .flat_map(|i| self.holders(*i).iter().copied())
            .collect();
        pids.sort_unstable();
        pids.dedup();
        let watched = pids
            .iter()
            .filter_map(|pid| self.pidfds.get(pid).map(|fd| (*pid, fd)));
        let mut dead = pidfd::exited(watched);
        let unwatched: Vec<u32> = pids
            .into_iter()
            .filter(|p| !self.pidfds.contains_key(p))
            .collect();
        for pid in unwatched {
            // First time as a holder: check it is the process walked, then take a handle
            // (checked again after opening, so the handle is on that same process).
            let same = |s: &Self| {
                read_stat(&s.proc, pid).is_some_and(|(_, st)| {
                    st.state != 'Z'
                        && s.walked
                            .get(&pid)
                            .is_some_and(|w| w.start_ticks == Some(st.start_ticks))
                })
            };
            if !same(self) {
                dead.push(pid);
                continue;
            }
            if let Some(fd) = pidfd::open(pid) {
                if same(self) {
                    self.pidfds.insert(pid, fd);
                } else {
                    dead.push(pid);
                }
            }
        }
        for pid in dead {
            self.forget(pid);
        }
    }

    fn forget(&mut self, pid: u32) {
        if let Some(w) = self.walked.remove(&pid) {
            for inode in w.inodes {
                if let Some(h) = self.holders.get_mut(&inode) {
                    h.retain(|p| *p != pid);
                    if h.is_empty() {
                        self.holders.remove(&inode);
                    }
                }
            }
        }
        self.owners.remove(&pid);
        self.pidfds.remove(&pid);
    }

    fn list_pids(&mut self) -> HashSet<u32> {
        self.stats.pid_listings += 1;
        let Ok(dir) = std::fs::read_dir(&self.proc) else {
            return HashSet::new();
        };
        dir.flatten()
            .filter_map(|d| d.file_name().to_str()?.parse().ok())
            .collect()
    }

    fn fd_count(&self, pid: u32) -> u64 {
        std::fs::metadata(self.proc.join(pid.to_string()).join("fd")).map_or(0, |m| m.len())
    }

    /// Reads the fd table of `pid` and records its socket inodes.
    fn walk(&mut self, pid: u32) {
        self.forget(pid);
        self.stats.fd_tables_walked += 1;
        let fd_dir = self.proc.join(pid.to_string()).join("fd");
        let (fd_count, inodes) = match socket_inodes(&fd_dir) {
            Some(found) => found,
            None => (self.fd_count(pid), Vec::new()),
        };
        // The start time tells this process from a later one with the same pid; it is read
        // only for processes that hold sockets (most hold none, and stat is not cheap).
        let start_ticks = if inodes.is_empty() {
            None
        } else {
            match read_stat(&self.proc, pid) {
                Some((_, stat)) => Some(stat.start_ticks),
                None => return, // exited while walked
            }
        };
        for &inode in &inodes {
            let h = self.holders.entry(inode).or_default();
            if let Err(at) = h.binary_search(&pid) {
                h.insert(at, pid);
            }
            self.hidden.remove(&inode);
        }
        self.walked.insert(
            pid,
            Walked {
                start_ticks,
                fd_count,
                inodes,
            },
        );
    }
}

/// How many fds `fd_dir` lists, and the socket inodes among them; `None` when unreadable.
fn socket_inodes(fd_dir: &Path) -> Option<(u64, Vec<u64>)> {
    let fds = std::fs::read_dir(fd_dir).ok()?;
    let mut count = 0;
    let mut inodes = Vec::new();
    for fd in fds.flatten() {
        count += 1;
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        if let Some(inode) = target.as_os_str().to_str().and_then(socket_inode) {
            inodes.push(inode);
        }
    }
    Some((count, inodes))
}

/// The inode of an fd link target `socket:[INODE]`.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
#[path = "owners_tests.rs"]
mod tests;
