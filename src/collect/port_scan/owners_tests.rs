//! Tests of the owner cache: what is walked when, hidden sockets, exec noticed.

use super::*;
use std::os::unix::fs::MetadataExt;

fn inode_of(listener: &std::net::TcpListener) -> u64 {
    use std::os::fd::AsRawFd;
    let link = format!("/proc/self/fd/{}", listener.as_raw_fd());
    std::fs::metadata(link).map(|m| m.ino()).unwrap()
}

#[test]
fn socket_links_are_recognised() {
    assert_eq!(socket_inode("socket:[25606]"), Some(25606));
    assert_eq!(socket_inode("pipe:[25606]"), None);
    assert_eq!(socket_inode("/dev/null"), None);
    assert_eq!(socket_inode("socket:[]"), None);
}

#[test]
fn a_known_socket_walks_nothing_and_a_new_one_walks_only_what_changed() {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut index = OwnerIndex::new("/proc");
    index.resolve(&[inode_of(&a)]);
    let me = std::process::id();
    assert_eq!(index.holders(inode_of(&a)), [me]);
    let first = index.stats;
    assert!(first.fd_tables_walked >= 1);
    // Steady state: nothing new, nothing walked, /proc not even listed.
    index.resolve(&[inode_of(&a)]);
    assert_eq!(index.stats, first);
    // A new socket of an already walked process: only changed fd tables are walked again.
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    index.resolve(&[inode_of(&a), inode_of(&b)]);
    assert_eq!(index.holders(inode_of(&b)), [me]);
    assert_eq!(index.stats.pid_listings, first.pid_listings + 1);
    let owner = index.owner(me).unwrap();
    assert_eq!(owner.pid, me);
}

#[test]
fn an_inode_nobody_holds_is_remembered_as_hidden() {
    let mut index = OwnerIndex::new("/proc");
    index.resolve(&[u64::MAX - 7]);
    assert!(index.holders(u64::MAX - 7).is_empty());
    let walked = index.stats;
    index.resolve(&[u64::MAX - 7]);
    assert_eq!(
        index.stats, walked,
        "an unattributable inode must not walk every scan"
    );
}

#[test]
fn an_exec_is_noticed_within_the_refresh_period() {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .args(["-c", "read x; exec sleep 30"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut index = OwnerIndex::new("/proc");
    assert_ne!(index.owner(pid).unwrap().program(), "sleep");
    if let Some(stdin) = child.stdin.as_mut() {
        stdin.write_all(b"go\n").unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        index.resolve(&[]);
        let now = index.owner(pid).map(|o| o.program().to_string());
        if now.as_deref() == Some("sleep") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "exec not noticed: {now:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
