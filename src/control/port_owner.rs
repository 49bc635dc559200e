//! Who listens on a local TCP port: `/proc/net/tcp{,6}` parsing and the socket-inode → pid walk.
//!
//! Only processes whose `/proc/PID/fd` we may read are found; a port held by another user's
//! process (e.g. root's docker-proxy) reports no owner.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::message::PortOwner;

/// State code of a listening socket in `/proc/net/tcp`.
const TCP_LISTEN: &str = "0A";

/// A listening socket from `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSocket {
    pub addr: IpAddr,
    pub port: u16,
    /// Socket inode, matched against `/proc/PID/fd/*` links `socket:[INODE]`.
    pub inode: u64,
}

/// The listening sockets in the text of `/proc/net/tcp` or `/proc/net/tcp6` (other states and
/// malformed rows are skipped). Addresses are decoded in this host's byte order, as the kernel
/// wrote them.
pub fn parse_listeners(text: &str) -> Vec<ListenSocket> {
    text.lines().skip(1).filter_map(parse_row).collect()
}

fn parse_row(row: &str) -> Option<ListenSocket> {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    let fields: Vec<&str> = row.split_ascii_whitespace().collect();
    if fields.len() < 10 || fields[3] != TCP_LISTEN {
        return None;
    }
    let (addr, port) = fields[1].split_once(':')?;
    Some(ListenSocket {
        addr: parse_addr(addr)?,
        port: u16::from_str_radix(port, 16).ok()?,
        inode: fields[9].parse().ok()?,
    })
}

/// An address as the kernel prints it: 32-bit words in host byte order, 1 (IPv4) or 4 (IPv6).
fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let digits = hex.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(digits, 16).ok()?.to_ne_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut octets = [0u8; 16];
            for (i, chunk) in octets.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

/// Whether a listener on `addr` holds the port for loopback clients (loopback or wildcard).
pub fn serves_loopback(addr: IpAddr) -> bool {
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    addr.is_loopback() || addr.is_unspecified()
}

/// The process listening on `port` on loopback or the wildcard address, if one is visible.
/// Blocking: reads `/proc`.
pub fn find_port_owner(port: u16) -> Option<PortOwner> {
    find_port_owners(&[port]).remove(&port).flatten()
}

/// The owners of several ports in one pass over the socket tables and one walk of `/proc`.
/// Blocking: reads `/proc`.
pub fn find_port_owners(ports: &[u16]) -> std::collections::HashMap<u16, Option<PortOwner>> {
    let sockets: Vec<ListenSocket> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| parse_listeners(&text))
        .filter(|s| ports.contains(&s.port) && s.inode != 0 && serves_loopback(s.addr))
        .collect();
    let inodes: Vec<u64> = sockets.iter().map(|s| s.inode).collect();
    let holders = if inodes.is_empty() {
        std::collections::HashMap::new()
    } else {
        pids_holding(Path::new("/proc"), &inodes)
    };
    ports
        .iter()
        .map(|&port| {
            let owner = sockets
                .iter()
                .filter(|s| s.port == port)
                .find_map(|s| holders.get(&s.inode))
                .map(|&pid| PortOwner {
                    pid,
                    command: command_line(Path::new("/proc"), pid),
                });
            (port, owner)
        })
        .collect()
}

/// For each of the socket `inodes` held by a process under `proc`, the lowest such pid.
fn pids_holding(proc: &Path, inodes: &[u64]) -> std::collections::HashMap<u64, u32> {
    let mut found = std::collections::HashMap::new();
    let Ok(dirs) = std::fs::read_dir(proc) else {
        return found;
    };
    let mut pids: Vec<u32> = dirs
        .flatten()
        .filter_map(|d| d.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        if found.len() == inodes.len() {
            break;
        }
        let Ok(fds) = std::fs::read_dir(proc.join(pid.to_string()).join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && let Some(inode) = socket_inode(&target.to_string_lossy())
                && inodes.contains(&inode)
            {
                found.entry(inode).or_insert(pid);
            }
        }
    }
    found
}

/// The inode of an fd link target `socket:[INODE]`.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The command line of `pid`, arguments joined by spaces (`[comm]` when it has none).
fn command_line(proc: &Path, pid: u32) -> String {
    let dir = proc.join(pid.to_string());
    let raw = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    if !args.is_empty() {
        return args.join(" ");
    }
    let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
    format!("[{}]", comm.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_TCP: &str = include_str!("../../tests/fixtures/proc/net_tcp");
    const NET_TCP6: &str = include_str!("../../tests/fixtures/proc/net_tcp6");

    fn socket(addr: &str, port: u16, inode: u64) -> ListenSocket {
        ListenSocket {
            addr: addr.parse().unwrap(),
            port,
            inode,
        }
    }

    #[test]
    #[cfg(target_endian = "little")] // captured on x86_64
    fn reads_only_the_listeners_of_a_real_ipv4_table() {
        assert_eq!(
            parse_listeners(NET_TCP),
            [
                socket("127.0.0.1", 39271, 25606),
                socket("0.0.0.0", 2024, 1667),
                socket("0.0.0.0", 52503, 25607),
            ]
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn reads_a_real_ipv6_table() {
        assert_eq!(
            parse_listeners(NET_TCP6),
            [socket("::1", 55855, 25609), socket("::", 50375, 25608)]
        );
    }

    #[test]
    fn skips_headers_short_rows_and_garbage() {
        let text = "  sl  local_address ...\n\
                    0: 0100007F:1F90 00000000:0000 0A\n\
                    1: XYZ:1F90 00000000:0000 0A 0:0 0:0 0 0 0 12\n\
                    2: 0100007F:GGGG 00000000:0000 0A 0:0 0:0 0 0 0 12\n\
                    3: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 x\n\
                    4: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 77\n";
        assert_eq!(parse_listeners(text), [socket("127.0.0.1", 8080, 77)]);
        assert!(parse_listeners("").is_empty());
    }

    #[test]
    fn loopback_and_wildcard_listeners_hold_the_port() {
        for addr in [
            "127.0.0.1",
            "0.0.0.0",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "127.0.0.53",
        ] {
            assert!(serves_loopback(addr.parse().unwrap()), "{addr}");
        }
        for addr in ["192.168.1.5", "::ffff:10.0.0.1", "fe80::1"] {
            assert!(!serves_loopback(addr.parse().unwrap()), "{addr}");
        }
    }

    #[test]
    fn socket_links_are_recognised() {
        assert_eq!(socket_inode("socket:[25606]"), Some(25606));
        assert_eq!(socket_inode("pipe:[25606]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[]"), None);
    }
}
