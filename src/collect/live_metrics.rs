//! Starts the dashboard's metrics and NATS collectors: the scraper (each distinct endpoint on
//! its own interval), who holds a shared metrics port, the NATS monitoring poller with the
//! owners of its client sockets, and the Prometheus poller; each fact becomes an `Update`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::collect::nats::{DEFAULT_NATS_INTERVAL, run_nats};
use crate::collect::prometheus_api::matching::PlanMatcher;
use crate::collect::prometheus_api::{PromConfig, run_prometheus};
use crate::collect::scrape::{
    DEFAULT_BODY_CAP, DEFAULT_SCRAPE_INTERVAL, DEFAULT_SCRAPE_TIMEOUT, Endpoint, run_scraper,
};
use crate::collect::sockets::{inode_owners, parse_connected};
use crate::control::port_owner::find_port_owners;
use crate::message::{PortOwner, Update};
use crate::plan::{EntryId, Plan};

/// What to collect, decided from the plan and the state before the loop starts.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Every distinct metrics endpoint.
    pub endpoints: Vec<Endpoint>,
    /// The endpoints that several entries are configured with (who holds them is looked up).
    pub shared: Vec<Endpoint>,
    /// The NATS monitoring port (host, port) and the client port.
    pub nats: Option<(String, u16, Option<u16>)>,
    /// A Prometheus server as the source.
    pub prometheus: Option<PromConfig>,
    pub scrape_interval: Duration,
    pub nats_interval: Duration,
    pub timeout: Duration,
}

impl LiveConfig {
    /// The plan's endpoints (from `claims`, endpoint → entries configured with it) and NATS.
    pub fn new(claims: &BTreeMap<Endpoint, Vec<EntryId>>, plan: &Plan) -> Self {
        let monitor = crate::state::live_metrics::nats_monitor(plan);
        let client = crate::state::live_metrics::nats_client_port(plan);
        Self {
            endpoints: claims.keys().cloned().collect(),
            shared: claims
                .iter()
                .filter(|(_, c)| c.len() > 1)
                .map(|(e, _)| e.clone())
                .collect(),
            nats: monitor.map(|(h, p)| (h, p, client)),
            prometheus: None,
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            nats_interval: DEFAULT_NATS_INTERVAL,
            timeout: DEFAULT_SCRAPE_TIMEOUT,
        }
    }
}

/// Spawns the collectors into `tasks`; they end when `tx` closes.
pub fn spawn_live(
    tasks: &mut JoinSet<()>,
    cfg: LiveConfig,
    plan: &Plan,
    explore: watch::Receiver<Option<EntryId>>,
    tx: mpsc::Sender<Update>,
) {
    if !cfg.endpoints.is_empty() {
        let (scrape_tx, scrape_rx) = mpsc::channel(64);
        tasks.spawn(run_scraper(
            cfg.endpoints.clone(),
            cfg.scrape_interval,
            cfg.timeout,
            DEFAULT_BODY_CAP,
            scrape_tx,
        ));
        tasks.spawn(forward(scrape_rx, tx.clone(), |f| {
            Update::MetricsScraped(Box::new(f))
        }));
    }
    if !cfg.shared.is_empty() {
        tasks.spawn(watch_holders(
            cfg.shared.clone(),
            cfg.scrape_interval,
            tx.clone(),
        ));
    }
    if let Some((host, port, client)) = cfg.nats.clone() {
        let (nats_tx, mut nats_rx) = mpsc::channel(8);
        tasks.spawn(run_nats(
            host,
            port,
            cfg.nats_interval,
            cfg.timeout,
            nats_tx,
        ));
        let tx = tx.clone();
        tasks.spawn(async move {
            let mut clients = ClientOwners::default();
            let mut known: Option<BTreeSet<(String, u16)>> = None;
            while let Some(fact) = nats_rx.recv().await {
                // Who owns each client socket, before the poll is applied (so it is named);
                // looked up only when the server lists other connections than last time
                // (reading the kernel's socket tables is the costly part).
                let listed = fact.outcome.as_ref().ok().and_then(|s| {
                    s.connz.as_ref().ok().map(|c| {
                        c.connections
                            .iter()
                            .map(|c| (c.ip.clone(), c.port))
                            .collect::<BTreeSet<_>>()
                    })
                });
                let fresh = listed.is_some() && listed != known;
                if let Some(client) = client
                    && fresh
                {
                    known = listed;
                    let found = tokio::task::spawn_blocking(move || {
                        let mut c = clients;
                        let changed = c.refresh(client);
                        (c, changed)
                    })
                    .await;
                    let Ok((c, changed)) = found else { return };
                    clients = c;
                    if changed {
                        let owners = clients.owners.clone();
                        if tx.send(Update::NatsClientsFound { owners }).await.is_err() {
                            return;
                        }
                    }
                }
                if tx.send(Update::NatsPolled(Box::new(fact))).await.is_err() {
                    return;
                }
            }
        });
    }
    if let Some(config) = cfg.prometheus {
        let (prom_tx, prom_rx) = mpsc::channel(8);
        tasks.spawn(run_prometheus(
            config,
            PlanMatcher::new(plan),
            explore,
            prom_tx,
        ));
        tasks.spawn(forward(prom_rx, tx, |f| {
            Update::PrometheusPolled(Box::new(f))
        }));
    }
}

/// Spawns the collectors the state's plan asks for (see [`spawn_live`]); returns the sender
/// that names the explored service for the Prometheus poller.
pub fn spawn_for_state(
    tasks: &mut JoinSet<()>,
    state: &crate::state::State,
    prometheus: Option<PromConfig>,
    tx: mpsc::Sender<Update>,
) -> watch::Sender<Option<EntryId>> {
    let mut cfg = LiveConfig::new(&state.metrics.claims, &state.plan);
    cfg.prometheus = prometheus;
    let (explore_tx, explore_rx) = watch::channel(state.explored());
    spawn_live(tasks, cfg, &state.plan, explore_rx, tx);
    explore_tx
}

/// Tells the Prometheus poller the explored service when it changed.
pub fn note_explored(
    explore: Option<&watch::Sender<Option<EntryId>>>,
    state: &crate::state::State,
) {
    if let Some(w) = explore {
        let now = state.explored();
        w.send_if_modified(|v| {
            let changed = *v != now;
            *v = now;
            changed
        });
    }
}

/// Passes every fact of `rx` on as an update until either side closes.
async fn forward<T>(mut rx: mpsc::Receiver<T>, tx: mpsc::Sender<Update>, wrap: fn(T) -> Update) {
    while let Some(fact) = rx.recv().await {
        if tx.send(wrap(fact)).await.is_err() {
            return;
        }
    }
}

/// Looks up who holds each shared metrics port every `interval`; says so when it changed.
async fn watch_holders(shared: Vec<Endpoint>, interval: Duration, tx: mpsc::Sender<Update>) {
    let ports: Vec<u16> = shared
        .iter()
        .map(|e| e.port)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut last: BTreeMap<u16, Option<PortOwner>> = BTreeMap::new();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tx.closed() => return,
            _ = ticker.tick() => {}
        }
        let asked = ports.clone();
        let Ok(found) = tokio::task::spawn_blocking(move || find_port_owners(&asked)).await else {
            return;
        };
        for endpoint in &shared {
            let owner = found.get(&endpoint.port).cloned().flatten();
            if last.get(&endpoint.port) == Some(&owner) {
                continue;
            }
            let update = Update::MetricsPortHeld {
                endpoint: endpoint.clone(),
                owner: owner.clone(),
            };
            if tx.send(update).await.is_err() {
                return;
            }
        }
        last = ports
            .iter()
            .map(|p| (*p, found.get(p).cloned().flatten()))
            .collect();
    }
}

/// The owners of the connections to the NATS client port, refreshed cheaply: `/proc` is only
/// walked when the set of connections changed.
#[derive(Debug, Default)]
pub struct ClientOwners {
    /// Client address (as the server sees it) → pid.
    pub owners: BTreeMap<SocketAddr, u32>,
    seen: BTreeSet<(SocketAddr, u64)>,
}

impl ClientOwners {
    /// Reads the socket tables; true when the owners changed.
    pub fn refresh(&mut self, client_port: u16) -> bool {
        let mut sockets = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            if let Ok(text) = std::fs::read_to_string(table) {
                sockets.extend(parse_connected(&text));
            }
        }
        sockets.retain(|s| s.remote.port() == client_port);
        let seen: BTreeSet<(SocketAddr, u64)> =
            sockets.iter().map(|s| (s.local, s.inode)).collect();
        if seen == self.seen {
            return false;
        }
        self.seen = seen;
        let inodes = if sockets.is_empty() {
            Default::default()
        } else {
            inode_owners(Path::new("/proc"))
        };
        let owners: BTreeMap<SocketAddr, u32> = sockets
            .iter()
            .filter_map(|s| inodes.get(&s.inode).map(|&pid| (s.local, pid)))
            .collect();
        let changed = owners != self.owners;
        self.owners = owners;
        changed
    }
}
