//! Tests of the ports sub-state on the built-in AnyChat plan (shared metrics 2112) and the demo.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::collect::port_scan::{DockerProxy, Listener, Owner, PortScan, ScanSource};
use crate::manifest::{PlanOptions, Source, build_plan};
use crate::state::Severity;

pub(crate) fn anychat_plan() -> Arc<Plan> {
    Arc::new(build_plan(&[Source::anychat()], &PlanOptions::default()).unwrap())
}

pub(crate) fn demo_plan() -> Arc<Plan> {
    Arc::new(build_plan(&[Source::demo()], &PlanOptions::default()).unwrap())
}

/// A visible process with `argv`, child of `ppid` (its only ancestor besides init).
pub(crate) fn owner(pid: u32, argv: &str, ppid: u32) -> Owner {
    let command: Vec<String> = argv.split(' ').map(String::from).collect();
    Owner {
        pid,
        ppid,
        pgid: pid,
        start_ticks: 1000 + u64::from(pid),
        uid: 0,
        user: "root".into(),
        exe: Some(format!("/usr/bin/{}", command[0].rsplit('/').next().unwrap()).into()),
        docker_proxy: crate::collect::port_scan::process::parse_docker_proxy(&command),
        command,
        ancestors: vec![ppid, 1],
    }
}

/// Builds scans: sockets on ports with their owners.
#[derive(Default)]
pub(crate) struct ScanBuilder {
    listeners: Vec<Listener>,
    owners: BTreeMap<u32, Owner>,
}

impl ScanBuilder {
    /// `addr` held by `owner` (None = hidden, uid 0).
    pub(crate) fn on(mut self, addr: &str, owner: Option<Owner>) -> Self {
        let inode = 10_000 + self.listeners.len() as u64;
        let (pids, uid) = match owner {
            Some(o) => {
                let (pid, uid) = (o.pid, o.uid);
                self.owners.insert(pid, o);
                (vec![pid], uid)
            }
            None => (vec![], 0),
        };
        self.listeners.push(Listener {
            addr: addr.parse().unwrap(),
            v6only: false,
            uid,
            inode,
            pids,
        });
        self
    }

    pub(crate) fn build(mut self) -> PortScan {
        self.listeners.sort_by_key(|l| (l.addr.port(), l.addr.ip()));
        PortScan {
            at: SystemTime::UNIX_EPOCH,
            took: Duration::from_millis(1),
            source: ScanSource::Netlink,
            listeners: self.listeners,
            owners: self.owners,
            error: None,
        }
    }
}

fn row<'a>(s: &'a PortsState, name: &str, label: &str) -> &'a PortRow {
    s.rows()
        .iter()
        .find(|r| {
            s.plan.entries[r.entry.0].name == name && s.plan.targets[r.target.0].label == label
        })
        .unwrap_or_else(|| panic!("no row {name}/{label}"))
}

fn id(s: &PortsState, name: &str) -> EntryId {
    s.plan.entry_named(name).unwrap()
}

fn keys(s: &PortsState) -> Vec<String> {
    s.conflicts().map(|c| c.key.id()).collect()
}

const PYTHON: &str = "/usr/bin/python3 -m http.server 8001";

#[test]
fn a_foreign_process_on_a_service_port_is_named_and_blocks_only_that_service() {
    let t0 = Instant::now();
    let mut s = PortsState::new(anychat_plan());
    assert!(!s.known());
    let scan = ScanBuilder::default()
        .on("0.0.0.0:8001", Some(owner(4242, PYTHON, 77)))
        .build();
    assert!(s.apply(scan.clone(), t0));
    let r = row(&s, "auth-service", "http");
    assert_eq!(r.holder().unwrap().kind, HolderKind::Foreign);
    assert_eq!(r.holder().unwrap().pid(), Some(4242));
    let blocker = s.start_blocker(id(&s, "auth-service")).unwrap();
    assert_eq!(blocker.pid(), Some(4242));
    assert!(blocker.describe().contains("python3 -m http.server"));
    assert_eq!(s.start_blocker(id(&s, "user-service")), None);
    assert!(row(&s, "user-service", "http").holders.is_empty());
    assert_eq!(keys(&s), ["taken:8001:pid4242"]);
    let c = s.conflicts().next().unwrap();
    assert_eq!(c.severity, Severity::Error);
    assert!(
        c.text.contains("http port 8001 of auth-service"),
        "{}",
        c.text
    );
    assert!(c.text.contains("pid 4242"));
    // The same scan again changes nothing visible.
    assert!(!s.apply(scan, t0 + Duration::from_secs(1)));
}

#[test]
fn the_shared_metrics_port_never_marks_a_service_as_running_elsewhere() {
    let t0 = Instant::now();
    let mut s = PortsState::new(anychat_plan());
    let (auth, user) = (id(&s, "auth-service"), id(&s, "user-service"));
    s.set_ours(
        vec![OurProcess {
            entry: auth,
            pid: 500,
            since: t0,
        }],
        t0,
    );
    let scan = ScanBuilder::default()
        .on("[::]:2112", Some(owner(500, "bin/auth-service", 1)))
        .on("[::]:8001", Some(owner(500, "bin/auth-service", 1)))
        .build();
    s.apply(scan, t0);
    let metrics = row(&s, "user-service", "metrics");
    assert!(metrics.shared);
    assert_eq!(
        metrics.holder().unwrap().kind,
        HolderKind::Ours { entry: auth }
    );
    // Every other service can still be started, and nothing is in conflict.
    for e in &s.plan.entries {
        let e = s.plan.entry_named(&e.name).unwrap();
        assert_eq!(s.start_blocker(e), None);
    }
    assert_eq!(keys(&s), Vec::<String>::new());
    // After an early exit of user-service the holder of its metrics port is named.
    let held = s.holder_of_entry_ports(user);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].addr.port(), 2112);

    // A foreign process on 2112: one warning for the shared port, not twelve errors.
    let scan = ScanBuilder::default()
        .on("0.0.0.0:2112", Some(owner(4242, PYTHON, 77)))
        .build();
    s.apply(scan, t0);
    let all: Vec<&Conflict> = s.conflicts().collect();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].severity, Severity::Warning);
    assert!(all[0].text.contains("port 2112 (planned for 12 entries)"));
    assert_eq!(s.start_blocker(user), None);
}

#[test]
fn a_stale_copy_of_the_stub_is_told_apart_from_a_foreign_stub_and_process() {
    let t0 = Instant::now();
    let mut s = PortsState::new(demo_plan());
    let auth = id(&s, "auth-service");
    let stale = "/opt/anychat-stub --name auth-service --http-port 8001";
    let other = "/opt/anychat-stub --name friend-service --http-port 9001";
    let scan = ScanBuilder::default()
        .on("127.0.0.1:8001", Some(owner(600, stale, 1)))
        .on("127.0.0.1:9001", Some(owner(601, other, 1)))
        .on("127.0.0.1:2113", Some(owner(602, PYTHON, 1)))
        .build();
    s.apply(scan, t0);
    assert_eq!(
        row(&s, "auth-service", "http").holder().unwrap().kind,
        HolderKind::Stale { entry: auth }
    );
    assert_eq!(
        row(&s, "auth-service", "grpc").holder().unwrap().kind,
        HolderKind::Foreign
    );
    assert_eq!(
        row(&s, "auth-service", "metrics").holder().unwrap().kind,
        HolderKind::Foreign
    );
    assert_eq!(
        keys(&s),
        [
            "taken:2113:pid602",
            "taken:9001:pid601",
            "stale:8001:pid600"
        ]
    );
    let stale_conflict = s
        .conflicts()
        .find(|c| c.key.id().starts_with("stale"))
        .unwrap();
    assert_eq!(stale_conflict.severity, Severity::Warning);
    assert!(
        stale_conflict
            .text
            .contains("a copy of auth-service not started here")
    );
    // The first of auth's own ports that is held: its HTTP port, by the stale copy.
    assert_eq!(
        s.start_blocker(auth).unwrap().kind,
        HolderKind::Stale { entry: auth }
    );
}

#[test]
fn the_real_plans_binary_by_name_is_stale_even_from_another_checkout() {
    let mut s = PortsState::new(anychat_plan());
    let auth = id(&s, "auth-service");
    let scan = ScanBuilder::default()
        .on(
            "[::]:9001",
            Some(owner(700, "/home/dev/old/bin/auth-service", 1)),
        )
        .build();
    s.apply(scan, Instant::now());
    assert_eq!(
        row(&s, "auth-service", "grpc").holder().unwrap().kind,
        HolderKind::Stale { entry: auth }
    );
    assert_eq!(s.start_blocker(auth).unwrap().pid(), Some(700));
}

#[test]
fn descendants_and_group_members_of_our_children_are_ours() {
    let t0 = Instant::now();
    let mut s = PortsState::new(anychat_plan());
    let auth = id(&s, "auth-service");
    s.set_ours(
        vec![OurProcess {
            entry: auth,
            pid: 800,
            since: t0,
        }],
        t0,
    );
    // `go run` style: our child is the go tool, the service is its grandchild.
    let mut grandchild = owner(802, "/tmp/go-build1/exe/auth-service", 801);
    grandchild.ancestors = vec![801, 800, 1];
    grandchild.pgid = 801;
    // Re-parented to init after its parent died, still in our process group.
    let mut orphan = owner(803, "/tmp/go-build1/exe/auth-service", 1);
    orphan.pgid = 800;
    let scan = ScanBuilder::default()
        .on("[::]:8001", Some(grandchild))
        .on("[::]:9001", Some(orphan))
        .build();
    s.apply(scan, t0);
    for label in ["http", "grpc"] {
        assert_eq!(
            row(&s, "auth-service", label).holder().unwrap().kind,
            HolderKind::Ours { entry: auth },
            "{label}"
        );
    }
    assert_eq!(s.start_blocker(auth), None);
    assert_eq!(keys(&s), Vec::<String>::new());
}

#[test]
fn a_hidden_holder_is_uid_0_process_not_visible_never_free() {
    let mut s = PortsState::new(anychat_plan());
    let scan = ScanBuilder::default().on("0.0.0.0:8002", None).build();
    s.apply(scan, Instant::now());
    let h = row(&s, "user-service", "http").holder().unwrap().clone();
    assert_eq!(h.kind, HolderKind::Hidden);
    assert_eq!(h.describe(), "uid 0, process not visible");
    assert_eq!(keys(&s), ["taken:8002:uid0"]);
    assert_eq!(s.start_blocker(id(&s, "user-service")), Some(h));
}

#[test]
fn docker_proxy_is_the_infra_itself_but_a_warning_on_a_service_port() {
    let mut s = PortsState::new(anychat_plan());
    let proxy = |pid, port| {
        owner(
            pid,
            &format!(
                "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port {port} -container-ip 172.17.0.2 -container-port {port}"
            ),
            1,
        )
    };
    let scan = ScanBuilder::default()
        .on("0.0.0.0:5432", Some(proxy(900, 5432)))
        .on("0.0.0.0:8003", Some(proxy(901, 8003)))
        .build();
    s.apply(scan, Instant::now());
    let pg = row(&s, "postgres", "postgres").holder().unwrap();
    assert!(
        matches!(&pg.kind, HolderKind::Container { proxy, .. } if proxy.container_port == 5432)
    );
    let expected = DockerProxy {
        proto: "tcp".into(),
        host_ip: Some("0.0.0.0".parse().unwrap()),
        host_port: 8003,
        container_ip: Some("172.17.0.2".parse().unwrap()),
        container_port: 8003,
    };
    assert_eq!(
        row(&s, "friend-service", "http").holder().unwrap().kind,
        HolderKind::Container {
            proxy: expected,
            name: None
        }
    );
    let all: Vec<&Conflict> = s.conflicts().collect();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].severity, Severity::Warning);
    assert!(all[0].text.contains("published by a container"));
}

#[test]
fn a_running_service_not_listening_is_flagged_after_its_ready_timeout() {
    let t0 = Instant::now();
    let mut s = PortsState::new(demo_plan());
    let auth = id(&s, "auth-service");
    let timeout = s.plan.entries[auth.0].ready_timeout;
    s.set_ours(
        vec![OurProcess {
            entry: auth,
            pid: 1000,
            since: t0,
        }],
        t0,
    );
    let only_http = ScanBuilder::default()
        .on("127.0.0.1:8001", Some(owner(1000, "anychat-stub", 1)))
        .build();
    s.apply(only_http.clone(), t0);
    assert_eq!(keys(&s), Vec::<String>::new());
    assert!(!s.tick(t0 + timeout - Duration::from_millis(1)));
    assert!(s.tick(t0 + timeout));
    assert_eq!(
        keys(&s),
        ["not-listening:2113:entry1", "not-listening:9001:entry1"]
    );
    let events = s.take_events();
    assert_eq!(events.len(), 2);
    // It starts listening: cleared within one scan.
    let all = ScanBuilder::default()
        .on("127.0.0.1:8001", Some(owner(1000, "anychat-stub", 1)))
        .on("127.0.0.1:9001", Some(owner(1000, "anychat-stub", 1)))
        .on("127.0.0.1:2113", Some(owner(1000, "anychat-stub", 1)))
        .build();
    assert!(s.apply(all, t0 + timeout + Duration::from_secs(1)));
    assert!(keys(&s).is_empty());
    assert!(
        s.take_events()
            .iter()
            .all(|e| matches!(e, ConflictEvent::Cleared { .. }))
    );
}

#[test]
fn two_of_our_children_on_one_port_is_an_error() {
    let t0 = Instant::now();
    let mut s = PortsState::new(demo_plan());
    let (auth, user) = (id(&s, "auth-service"), id(&s, "user-service"));
    s.set_ours(
        vec![
            OurProcess {
                entry: auth,
                pid: 1100,
                since: t0,
            },
            OurProcess {
                entry: user,
                pid: 1200,
                since: t0,
            },
        ],
        t0,
    );
    let scan = ScanBuilder::default()
        .on("127.0.0.1:8001", Some(owner(1100, "anychat-stub", 1)))
        .on("127.0.0.2:8001", Some(owner(1200, "anychat-stub", 1)))
        .build();
    s.apply(scan, t0);
    let c = s
        .conflicts()
        .find(|c| c.key == ConflictKey::SharedByOurs { port: 8001 })
        .expect("shared by ours");
    assert_eq!(c.severity, Severity::Error);
    assert!(
        c.text
            .contains("auth-service (pid 1100) and user-service (pid 1200)")
    );
    // user-service's process on auth's port also blocks a restart of auth.
    assert_eq!(s.start_blocker(auth).unwrap().pid(), Some(1200));
}

#[test]
fn conflicts_keep_their_time_are_acknowledged_by_key_and_cleared_when_resolved() {
    let t0 = Instant::now();
    let mut s = PortsState::new(anychat_plan());
    let squat = ScanBuilder::default()
        .on("0.0.0.0:8001", Some(owner(4242, PYTHON, 77)))
        .build();
    s.apply(squat.clone(), t0);
    let key = ConflictKey::Taken {
        port: 8001,
        pid: Some(4242),
        uid: 0,
    };
    assert!(matches!(&s.take_events()[..], [ConflictEvent::Raised(c)] if c.key == key));
    assert!(s.acknowledge(&key));
    assert!(!s.acknowledge(&key), "already acknowledged");
    s.apply(squat.clone(), t0 + Duration::from_secs(5));
    let c = s.conflicts().next().unwrap();
    assert_eq!((c.since, c.acknowledged), (t0, true));
    assert!(s.take_events().is_empty());
    // Resolved: cleared, and the acknowledgement goes with it.
    assert!(s.apply(ScanBuilder::default().build(), t0 + Duration::from_secs(6)));
    assert_eq!(
        s.take_events(),
        [ConflictEvent::Cleared {
            key: key.clone(),
            at: t0 + Duration::from_secs(6)
        }]
    );
    s.apply(squat, t0 + Duration::from_secs(7));
    let c = s.conflicts().next().unwrap();
    assert_eq!(
        (c.since, c.acknowledged),
        (t0 + Duration::from_secs(7), false)
    );
    assert!(!s.acknowledge(&ConflictKey::SharedByOurs { port: 1 }));
}

#[test]
fn a_failed_scan_makes_ports_unknown_and_keeps_the_conflicts() {
    let t0 = Instant::now();
    let mut s = PortsState::new(anychat_plan());
    s.apply(
        ScanBuilder::default()
            .on("0.0.0.0:8001", Some(owner(4242, PYTHON, 77)))
            .build(),
        t0,
    );
    let mut failed = ScanBuilder::default().build();
    failed.error = Some("netlink: EPERM; /proc/net/tcp: EACCES".into());
    assert!(s.apply(failed, t0));
    assert!(!s.known());
    assert!(s.rows().iter().all(|r| r.holders.is_empty()));
    assert_eq!(s.start_blocker(id(&s, "auth-service")), None);
    assert_eq!(keys(&s), ["taken:8001:pid4242"]);
    assert!(
        s.take_events()
            .iter()
            .all(|e| matches!(e, ConflictEvent::Raised(_)))
    );
}

#[test]
fn unplanned_listeners_inside_the_plans_blocks_are_listed() {
    let mut s = PortsState::new(anychat_plan());
    let scan = ScanBuilder::default()
        .on("127.0.0.1:8099", Some(owner(1300, PYTHON, 1)))
        .on("127.0.0.1:8500", Some(owner(1301, PYTHON, 1)))
        .on("127.0.0.1:22", None)
        .on("127.0.0.1:9095", None)
        .build();
    s.apply(scan, Instant::now());
    let ports: Vec<u16> = s.unplanned().iter().map(|u| u.holder.addr.port()).collect();
    assert_eq!(ports, [8099, 9095]);
    assert_eq!(s.unplanned()[0].holder.kind, HolderKind::Foreign);
    assert_eq!(s.unplanned()[1].holder.kind, HolderKind::Hidden);
    // Unplanned listeners raise no conflict.
    assert!(keys(&s).is_empty());
}

/// The Docker worker says which container publishes a host port: docker-proxy's socket is
/// then named by container, in the row's holder, its description and the conflict text.
#[test]
fn docker_proxy_ports_are_named_by_the_container_the_docker_worker_names() {
    let mut s = PortsState::new(anychat_plan());
    let proxy = owner(
        900,
        "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8003 -container-ip 172.17.0.9 -container-port 8080",
        1,
    );
    let now = Instant::now();
    s.apply(
        ScanBuilder::default()
            .on("0.0.0.0:8003", Some(proxy))
            .build(),
        now,
    );
    let before = row(&s, "friend-service", "http").holder().unwrap().clone();
    assert!(matches!(
        &before.kind,
        HolderKind::Container { name: None, .. }
    ));
    let conflict = s.conflicts().next().unwrap().text.clone();
    assert!(conflict.contains("published by a container"), "{conflict}");

    let names = BTreeMap::from([(8003, "other-project-web-1".to_string())]);
    assert!(s.set_container_names(names.clone(), now));
    assert!(
        !s.set_container_names(names, now),
        "the same names change nothing"
    );
    let h = row(&s, "friend-service", "http").holder().unwrap().clone();
    assert!(
        matches!(&h.kind, HolderKind::Container { name: Some(n), .. } if n == "other-project-web-1")
    );
    assert_eq!(
        h.describe(),
        "container other-project-web-1 (docker-proxy, pid 900)"
    );
    let conflict = s.conflicts().next().unwrap().text.clone();
    assert!(
        conflict.contains("published by container other-project-web-1"),
        "{conflict}"
    );
}
