//! The NATS server as the panel shows it, pure: totals as rates, busiest connections sortable
//! like nats-top, each connection attributed to the entry whose process owns its socket.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::collect::nats::NatsFact;
use crate::collect::nats::decode::{JetStream, Subsz, Varz};
use crate::metrics::go_duration::parse_go_duration;
use crate::plan::EntryId;
use crate::state::metrics::history::History;

/// How the connections are ordered (nats-top's `-sort` options); busiest first for counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnSort {
    Cid,
    #[default]
    Subs,
    Pending,
    MsgsTo,
    MsgsFrom,
    BytesTo,
    BytesFrom,
    Idle,
    Uptime,
}

impl ConnSort {
    /// Every order, in the cycle a key steps through.
    pub const ALL: [ConnSort; 9] = [
        ConnSort::Cid,
        ConnSort::Subs,
        ConnSort::Pending,
        ConnSort::MsgsTo,
        ConnSort::MsgsFrom,
        ConnSort::BytesTo,
        ConnSort::BytesFrom,
        ConnSort::Idle,
        ConnSort::Uptime,
    ];

    /// The next order in [`ConnSort::ALL`].
    pub fn next(self) -> ConnSort {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// nats-top's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnSort::Cid => "cid",
            ConnSort::Subs => "subs",
            ConnSort::Pending => "pending",
            ConnSort::MsgsTo => "msgs_to",
            ConnSort::MsgsFrom => "msgs_from",
            ConnSort::BytesTo => "bytes_to",
            ConnSort::BytesFrom => "bytes_from",
            ConnSort::Idle => "idle",
            ConnSort::Uptime => "uptime",
        }
    }
}

/// Messages and bytes, in and out (from the server's point of view: "in" = published by clients).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flow {
    pub in_msgs: f64,
    pub out_msgs: f64,
    pub in_bytes: f64,
    pub out_bytes: f64,
}

/// One client connection, with rates since the previous poll.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnRow {
    pub cid: u64,
    pub name: String,
    pub addr: String,
    pub subs: u32,
    pub pending_bytes: u64,
    /// Totals since the connection opened.
    pub totals: Flow,
    /// Per second since the previous poll; `None` on the first sight.
    pub rates: Option<Flow>,
    pub rtt: Option<Duration>,
    pub idle: Option<Duration>,
    pub uptime: Option<Duration>,
    /// The process that owns the client socket, and its entry.
    pub pid: Option<u32>,
    pub entry: Option<EntryId>,
}

/// Everything the NATS panel shows.
#[derive(Debug, Clone, Default)]
pub struct NatsState {
    pub varz: Option<Varz>,
    pub subsz: Option<Subsz>,
    pub jetstream: Option<JetStream>,
    /// `/healthz`: `Ok` when "ok", else the reason.
    pub health: Option<Result<(), String>>,
    pub last_ok: Option<Instant>,
    /// Set when the latest poll found the server unreachable.
    pub last_error: Option<(Instant, String)>,
    /// Pages other than /varz that failed in the latest poll.
    pub page_errors: Vec<String>,
    /// Server-wide rates since the previous poll.
    pub flow: Option<Flow>,
    /// Histories of in msgs/s, out msgs/s, in bytes/s, out bytes/s.
    pub history: [History; 4],
    pub conns: Vec<ConnRow>,
    pub sort: ConnSort,
    prev: Option<(Instant, Flow)>,
    prev_conns: HashMap<u64, (Instant, Flow)>,
    owners: BTreeMap<SocketAddr, u32>,
    entry_of_pid: BTreeMap<u32, EntryId>,
}

impl NatsState {
    /// Applies one poll; true if something visible changed (every poll does).
    pub fn apply(&mut self, fact: &NatsFact, now: Instant) -> bool {
        let _ = now;
        let snap = match &fact.outcome {
            Ok(snap) => snap,
            Err(e) => {
                self.last_error = Some((fact.at, e.clone()));
                return true;
            }
        };
        self.last_ok = Some(fact.at);
        self.last_error = None;
        let v = &snap.varz;
        let totals = Flow {
            in_msgs: v.in_msgs as f64,
            out_msgs: v.out_msgs as f64,
            in_bytes: v.in_bytes as f64,
            out_bytes: v.out_bytes as f64,
        };
        self.flow = self
            .prev
            .and_then(|(then, before)| rate(before, totals, then, fact.at));
        self.prev = Some((fact.at, totals));
        let f = self.flow;
        for (h, x) in self.history.iter_mut().zip([
            f.map(|f| f.in_msgs),
            f.map(|f| f.out_msgs),
            f.map(|f| f.in_bytes),
            f.map(|f| f.out_bytes),
        ]) {
            h.push(x);
        }
        self.varz = Some(v.clone());
        self.page_errors.clear();
        match &snap.subsz {
            Ok(s) => self.subsz = Some(s.clone()),
            Err(e) => self.page_errors.push(format!("subsz: {e}")),
        }
        match &snap.jsz {
            Ok(j) => self.jetstream = Some(j.summary()),
            Err(e) => self.page_errors.push(format!("jsz: {e}")),
        }
        self.health = Some(match &snap.healthz {
            Ok(h) if h.ok() => Ok(()),
            Ok(h) => Err(if h.error.is_empty() {
                h.status.clone()
            } else {
                h.error.clone()
            }),
            Err(e) => Err(e.clone()),
        });
        match &snap.connz {
            Ok(connz) => {
                let mut seen = HashMap::new();
                self.conns = connz
                    .connections
                    .iter()
                    .map(|c| {
                        let totals = Flow {
                            in_msgs: c.in_msgs as f64,
                            out_msgs: c.out_msgs as f64,
                            in_bytes: c.in_bytes as f64,
                            out_bytes: c.out_bytes as f64,
                        };
                        let rates = self
                            .prev_conns
                            .get(&c.cid)
                            .and_then(|&(then, before)| rate(before, totals, then, fact.at));
                        seen.insert(c.cid, (fact.at, totals));
                        let (pid, entry) =
                            attribute_conn(&c.ip, c.port, &self.owners, &self.entry_of_pid);
                        ConnRow {
                            cid: c.cid,
                            name: c.name.clone(),
                            addr: format!("{}:{}", c.ip, c.port),
                            subs: c.subscriptions,
                            pending_bytes: c.pending_bytes,
                            totals,
                            rates,
                            rtt: parse_go_duration(&c.rtt),
                            idle: parse_go_duration(&c.idle),
                            uptime: parse_go_duration(&c.uptime),
                            pid,
                            entry,
                        }
                    })
                    .collect();
                self.prev_conns = seen;
                self.sort_conns();
            }
            Err(e) => self.page_errors.push(format!("connz: {e}")),
        }
        true
    }

    /// New socket owners (client address → pid) and pid → entry; re-attributes every connection.
    pub fn set_owners(
        &mut self,
        owners: BTreeMap<SocketAddr, u32>,
        entry_of_pid: BTreeMap<u32, EntryId>,
    ) -> bool {
        self.owners = owners;
        self.entry_of_pid = entry_of_pid;
        let mut changed = false;
        for c in &mut self.conns {
            let (ip, port) = c.addr.rsplit_once(':').unwrap_or((&c.addr, ""));
            let port = port.parse().unwrap_or(0);
            let found = attribute_conn(ip, port, &self.owners, &self.entry_of_pid);
            if (c.pid, c.entry) != found {
                (c.pid, c.entry) = found;
                changed = true;
            }
        }
        changed
    }

    /// Orders the connections by `sort`.
    pub fn set_sort(&mut self, sort: ConnSort) {
        self.sort = sort;
        self.sort_conns();
    }

    fn sort_conns(&mut self) {
        let rate = |c: &ConnRow, f: fn(&Flow) -> f64| c.rates.as_ref().map_or(f(&c.totals), f);
        let key = |c: &ConnRow| -> f64 {
            match self.sort {
                ConnSort::Cid => -(c.cid as f64),
                ConnSort::Subs => f64::from(c.subs),
                ConnSort::Pending => c.pending_bytes as f64,
                ConnSort::MsgsTo => rate(c, |f| f.out_msgs),
                ConnSort::MsgsFrom => rate(c, |f| f.in_msgs),
                ConnSort::BytesTo => rate(c, |f| f.out_bytes),
                ConnSort::BytesFrom => rate(c, |f| f.in_bytes),
                ConnSort::Idle => c.idle.map_or(0.0, |d| d.as_secs_f64()),
                ConnSort::Uptime => c.uptime.map_or(0.0, |d| d.as_secs_f64()),
            }
        };
        self.conns
            .sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.cid.cmp(&b.cid)));
    }
}

/// Per-second change from `before` (at `then`) to `now_totals` (at `now`); a counter that went
/// down (server restart, reconnect) counts from zero.
fn rate(before: Flow, now_totals: Flow, then: Instant, now: Instant) -> Option<Flow> {
    let dt = now.checked_duration_since(then)?.as_secs_f64();
    if dt <= 0.0 {
        return None;
    }
    let d = |a: f64, b: f64| if b >= a { (b - a) / dt } else { b / dt };
    Some(Flow {
        in_msgs: d(before.in_msgs, now_totals.in_msgs),
        out_msgs: d(before.out_msgs, now_totals.out_msgs),
        in_bytes: d(before.in_bytes, now_totals.in_bytes),
        out_bytes: d(before.out_bytes, now_totals.out_bytes),
    })
}

/// The pid owning the client socket `ip:port` (as the server reports it), and that pid's entry.
pub fn attribute_conn(
    ip: &str,
    port: u16,
    owners: &BTreeMap<SocketAddr, u32>,
    entry_of_pid: &BTreeMap<u32, EntryId>,
) -> (Option<u32>, Option<EntryId>) {
    let Ok(ip) = ip.trim_matches(['[', ']']).parse::<IpAddr>() else {
        return (None, None);
    };
    let pid = owners.get(&SocketAddr::new(ip, port)).copied();
    (pid, pid.and_then(|p| entry_of_pid.get(&p).copied()))
}

#[cfg(test)]
#[path = "nats_tests.rs"]
mod tests;
