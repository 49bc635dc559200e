//! The port scanner: every listening TCP socket (IPv4 and IPv6) with its uid, inode and the
//! processes holding it, read from the kernel (netlink sock_diag, or `/proc/net/tcp{,6}` when
//! netlink is refused) without shelling out; owners cached by inode (see [`owners`]).

pub mod owners;
pub mod pidfd;
pub mod proc_net;
pub mod process;
pub mod sock_diag;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

pub use owners::WalkStats;
pub use process::{DockerProxy, Owner};
use sock_diag::{RawSocket, TCP_ESTABLISHED, TCP_LISTEN};

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// The bound address: wildcard (`0.0.0.0`, `[::]`), loopback or a specific address.
    pub addr: SocketAddr,
    /// An IPv6 socket that does not also accept IPv4 (netlink only; false from `/proc`).
    pub v6only: bool,
    /// The socket's uid, known even when its process is not visible.
    pub uid: u32,
    pub inode: u64,
    /// Processes holding it, lowest pid first; empty = process not visible to us.
    pub pids: Vec<u32>,
}

/// Where the sockets were read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ScanSource {
    Netlink,
    /// `/proc/net/tcp{,6}`, because netlink failed with `netlink_error`.
    ProcNet {
        netlink_error: String,
    },
}

/// A snapshot of every listening TCP socket and its owners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortScan {
    #[serde(serialize_with = "unix_ms")]
    pub at: SystemTime,
    /// How long the scan took.
    pub took: Duration,
    pub source: ScanSource,
    /// Sorted by port, then address.
    pub listeners: Vec<Listener>,
    /// Every process that holds one of the listeners.
    pub owners: BTreeMap<u32, Owner>,
    /// The scan failed: the listeners are unknown (not "none").
    pub error: Option<String>,
}

impl PortScan {
    /// Same sockets, owners and error (the time and duration aside).
    pub fn same_facts(&self, other: &PortScan) -> bool {
        self.listeners == other.listeners
            && self.owners == other.owners
            && self.error == other.error
            && self.source == other.source
    }

    /// The listeners on `port`.
    pub fn on_port(&self, port: u16) -> impl Iterator<Item = &Listener> {
        let start = self.listeners.partition_point(|l| l.addr.port() < port);
        self.listeners[start..]
            .iter()
            .take_while(move |l| l.addr.port() == port)
    }
}

fn unix_ms<S: serde::Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let ms = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    s.serialize_u64(ms)
}

/// An established connection to a port, and the process holding its local end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub pid: Option<u32>,
}

/// Which kernel interface to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Auto,
    ProcNet,
}

/// A scanner with its owner cache; keep one and call [`Scanner::scan`] repeatedly.
#[derive(Debug)]
pub struct Scanner {
    index: owners::OwnerIndex,
    source: Source,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    /// A scanner over `/proc`, trying netlink first.
    pub fn new() -> Self {
        Scanner {
            index: owners::OwnerIndex::new(PathBuf::from("/proc")),
            source: Source::Auto,
        }
    }

    /// A scanner that reads `/proc/net/tcp{,6}` only (the fallback, forced).
    pub fn proc_net_only() -> Self {
        Scanner {
            source: Source::ProcNet,
            ..Self::new()
        }
    }

    /// The fd-walk work done so far.
    pub fn walk_stats(&self) -> WalkStats {
        self.index.stats
    }

    fn sockets(&self, states: u32) -> Result<(Vec<RawSocket>, ScanSource), String> {
        let netlink_error = match self.source {
            Source::Auto => match sock_diag::dump(states) {
                Ok(sockets) => return Ok((sockets, ScanSource::Netlink)),
                Err(err) => err.to_string(),
            },
            Source::ProcNet => "not tried".to_string(),
        };
        match proc_net::read(states) {
            Ok(sockets) => Ok((sockets, ScanSource::ProcNet { netlink_error })),
            Err(err) => Err(format!(
                "netlink sock_diag: {netlink_error}; /proc/net/tcp: {err}"
            )),
        }
    }

    /// Every listening TCP socket with its owners. Blocking (reads the kernel and `/proc`);
    /// a failure is in [`PortScan::error`].
    pub fn scan(&mut self) -> PortScan {
        let started = Instant::now();
        let at = SystemTime::now();
        let (raw, source, error) = match self.sockets(1 << TCP_LISTEN) {
            Ok((raw, source)) => (raw, source, None),
            Err(err) => (Vec::new(), ScanSource::Netlink, Some(err)),
        };
        let inodes: Vec<u64> = raw.iter().map(|s| s.inode).collect();
        self.index.resolve(&inodes);
        let mut listeners: Vec<Listener> = raw
            .into_iter()
            .map(|s| Listener {
                addr: s.local,
                v6only: s.v6only,
                uid: s.uid,
                pids: self.index.holders(s.inode).to_vec(),
                inode: s.inode,
            })
            .collect();
        listeners.sort_by(|a, b| {
            (a.addr.port(), a.addr.ip(), a.inode).cmp(&(b.addr.port(), b.addr.ip(), b.inode))
        });
        let pids: HashSet<u32> = listeners.iter().flat_map(|l| l.pids.clone()).collect();
        let mut owners = BTreeMap::new();
        for &pid in &pids {
            if let Some(owner) = self.index.owner(pid) {
                owners.insert(pid, owner.clone());
            }
        }
        self.index.retain_owners(&pids);
        // A holder that exited between the walk and now is no longer a holder.
        for l in &mut listeners {
            l.pids.retain(|p| owners.contains_key(p));
        }
        PortScan {
            at,
            took: started.elapsed(),
            source,
            listeners,
            owners,
            error,
        }
    }

    /// Established TCP connections whose remote port is `port` (clients of a server on this
    /// host, e.g. of NATS on 4222), with the pid holding each local end when visible.
    pub fn connections_to(&mut self, port: u16) -> Result<Vec<Connection>, String> {
        let (raw, _) = self.sockets(1 << TCP_ESTABLISHED)?;
        let raw: Vec<RawSocket> = raw
            .into_iter()
            .filter(|s| s.remote.port() == port)
            .collect();
        let inodes: Vec<u64> = raw.iter().map(|s| s.inode).collect();
        self.index.resolve(&inodes);
        Ok(raw
            .into_iter()
            .map(|s| Connection {
                local: s.local,
                remote: s.remote,
                pid: self.index.holders(s.inode).first().copied(),
            })
            .collect())
    }
}

/// [`Scanner::connections_to`] with a fresh scanner (walks `/proc` once).
pub fn connections_to(port: u16) -> Result<Vec<Connection>, String> {
    Scanner::new().connections_to(port)
}

/// Scans every `interval` on the blocking pool (never on the caller's thread) and sends a
/// scan when its facts differ from the last one sent: the first scan always, then changes
/// only (a quiet machine sends nothing). Ends when `tx` closes.
pub async fn run_port_scanner(interval: Duration, tx: mpsc::Sender<PortScan>) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut scanner = Some(Scanner::new());
    let mut last: Option<PortScan> = None;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = tx.closed() => return,
        }
        let Some(mut s) = scanner.take() else { return };
        let Ok((s, scan)) = tokio::task::spawn_blocking(move || {
            let scan = s.scan();
            (s, scan)
        })
        .await
        else {
            return; // the runtime is shutting down
        };
        scanner = Some(s);
        if last.as_ref().is_some_and(|l| l.same_facts(&scan)) {
            continue;
        }
        last = Some(scan.clone());
        if tx.send(scan).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
