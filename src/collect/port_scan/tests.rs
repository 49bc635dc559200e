//! The scanner against sockets this test process holds (other processes: `tests/port_scan.rs`).

use std::net::{Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::*;

/// A listener on `ip` at a free port below the ephemeral range.
pub(crate) fn bind_low(ip: &str) -> Option<TcpListener> {
    let start = 20_000 + (std::process::id() % 6_000) as u16 * 2;
    (start..32_000)
        .chain(15_000..start)
        .find_map(|port| TcpListener::bind((ip, port)).ok())
}

fn v6only_listener() -> Option<TcpListener> {
    // std binds IPv6 sockets dual-stack only when asked; set IPV6_V6ONLY through a raw socket.
    // SAFETY: plain socket calls on a descriptor we own; results are checked.
    unsafe {
        let fd = libc::socket(libc::AF_INET6, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return None;
        }
        let listener = <TcpListener as std::os::fd::FromRawFd>::from_raw_fd(fd);
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            (&one as *const libc::c_int).cast(),
            4,
        );
        let mut addr: libc::sockaddr_in6 = std::mem::zeroed();
        addr.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        addr.sin6_addr.s6_addr = Ipv6Addr::UNSPECIFIED.octets();
        let start = 21_000 + (std::process::id() % 5_000) as u16 * 2;
        for port in start..32_000 {
            addr.sin6_port = port.to_be();
            let rc = libc::bind(
                fd,
                (&addr as *const libc::sockaddr_in6).cast(),
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            );
            if rc == 0 && libc::listen(fd, 16) == 0 {
                return Some(listener);
            }
        }
        None
    }
}

fn port_of(l: &TcpListener) -> u16 {
    l.local_addr().map(|a| a.port()).unwrap_or(0)
}

fn find(scan: &PortScan, addr: SocketAddr) -> Option<&Listener> {
    scan.on_port(addr.port()).find(|l| l.addr == addr)
}

fn check_scan(mut scanner: Scanner) {
    let wildcard = bind_low("0.0.0.0").expect("a free port on 0.0.0.0");
    let specific = bind_low("127.0.0.2").expect("a free port on 127.0.0.2");
    let v6only = v6only_listener();
    let scan = scanner.scan();
    assert_eq!(scan.error, None);
    let me = std::process::id();
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    for l in [&wildcard, &specific] {
        let addr = l.local_addr().unwrap();
        let found = find(&scan, addr).unwrap_or_else(|| panic!("{addr} not in the scan"));
        assert_eq!(found.pids, [me], "{addr}");
        assert_eq!(found.uid, uid);
        let inode = std::fs::metadata(format!("/proc/self/fd/{}", l.as_raw_fd()))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .unwrap();
        assert_eq!(found.inode, inode);
    }
    if let Some(v6) = &v6only {
        let addr = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port_of(v6));
        let found = find(&scan, addr).expect("the IPv6-only listener");
        assert_eq!(found.pids, [me]);
        assert_eq!(found.v6only, scan.source == ScanSource::Netlink);
    }
    let owner = &scan.owners[&me];
    assert_eq!(
        owner.exe.as_deref(),
        std::env::current_exe().ok().as_deref()
    );
    assert!(
        scan.listeners
            .windows(2)
            .all(|w| w[0].addr.port() <= w[1].addr.port())
    );
    // The sockets closed are gone from the next scan, and the owner with them if nothing else.
    let closed = wildcard.local_addr().unwrap();
    drop(wildcard);
    let again = scanner.scan();
    assert!(find(&again, closed).is_none());
    assert!(find(&again, specific.local_addr().unwrap()).is_some());
}

#[test]
fn netlink_scan_attributes_wildcard_specific_and_v6only_binds() {
    check_scan(Scanner::new());
}

#[test]
fn proc_net_fallback_attributes_the_same_binds() {
    let mut s = Scanner::proc_net_only();
    assert!(matches!(s.scan().source, ScanSource::ProcNet { .. }));
    check_scan(s);
}

#[test]
fn connections_to_a_port_name_the_client_pid() {
    let server = bind_low("127.0.0.1").expect("a free port");
    let port = port_of(&server);
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_accepted, _) = server.accept().unwrap();
    let conns = connections_to(port).unwrap();
    let local = client.local_addr().unwrap();
    let mine: Vec<_> = conns.iter().filter(|c| c.local == local).collect();
    assert_eq!(mine.len(), 1, "{conns:?}");
    assert_eq!(mine[0].remote.port(), port);
    assert_eq!(mine[0].pid, Some(std::process::id()));
    // The server's end (remote port = the client's) is not a connection *to* the port.
    assert!(conns.iter().all(|c| c.remote.port() == port));
}

#[tokio::test]
async fn the_collector_sends_the_first_scan_then_a_change_and_stops_with_its_channel() {
    let (tx, mut rx) = mpsc::channel(4);
    let task = tokio::spawn(run_port_scanner(Duration::from_millis(20), tx));
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a first scan")
        .expect("open channel");
    assert_eq!(first.error, None);
    let extra = bind_low("127.0.0.1").expect("a free port");
    let addr = extra.local_addr().unwrap();
    let changed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let scan = rx.recv().await.expect("open channel");
            if find(&scan, addr).is_some() {
                return scan;
            }
        }
    })
    .await
    .expect("the new listener is sent");
    assert!(!changed.same_facts(&first));
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the collector ends when its channel closes")
        .unwrap();
}

#[test]
fn same_facts_ignores_the_time_and_duration_only() {
    let mut a = Scanner::new().scan();
    let mut b = a.clone();
    b.at += Duration::from_secs(5);
    b.took += Duration::from_millis(3);
    assert!(a.same_facts(&b));
    a.listeners.push(Listener {
        addr: "127.0.0.1:1".parse().unwrap(),
        v6only: false,
        uid: 0,
        inode: 1,
        pids: vec![],
    });
    assert!(!a.same_facts(&b));
    b.listeners = a.listeners.clone();
    b.error = Some("failed".into());
    assert!(!a.same_facts(&b));
}
