//! Which process owns each connected TCP socket to a port, from `/proc/net/tcp{,6}` and the
//! `/proc/*/fd` links: the fallback when no sock_diag scanner is wired in.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// State code of an established socket in `/proc/net/tcp`.
const TCP_ESTABLISHED: &str = "01";

/// One connected socket: its local and remote ends and its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connected {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub inode: u64,
}

/// The established sockets in the text of `/proc/net/tcp` or `/proc/net/tcp6`; other states
/// and malformed rows are skipped.
pub fn parse_connected(text: &str) -> Vec<Connected> {
    text.lines().skip(1).filter_map(parse_row).collect()
}

fn parse_row(row: &str) -> Option<Connected> {
    let fields: Vec<&str> = row.split_ascii_whitespace().collect();
    if fields.len() < 10 || fields[3] != TCP_ESTABLISHED {
        return None;
    }
    Some(Connected {
        local: parse_end(fields[1])?,
        remote: parse_end(fields[2])?,
        inode: fields[9].parse().ok()?,
    })
}

fn parse_end(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    Some(SocketAddr::new(
        parse_addr(addr)?,
        u16::from_str_radix(port, 16).ok()?,
    ))
}

/// An address as the kernel prints it: 32-bit words in host byte order; v4-mapped v6 is unmapped.
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
            let v6 = Ipv6Addr::from(octets);
            Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4))
        }
        _ => None,
    }
}

/// Socket inode → pid, for every process whose `/proc/PID/fd` we may read under `proc_root`.
pub fn inode_owners(proc_root: &Path) -> HashMap<u64, u32> {
    let mut owners = HashMap::new();
    let Ok(procs) = std::fs::read_dir(proc_root) else {
        return owners;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:["))
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|l| l.parse::<u64>().ok());
            if let Some(inode) = inode {
                owners.entry(inode).or_insert(pid);
            }
        }
    }
    owners
}

/// Client address (as the server sees it) → pid, for every connection to `remote_port` on this host.
pub fn client_owners(remote_port: u16) -> BTreeMap<SocketAddr, u32> {
    let mut sockets = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            sockets.extend(parse_connected(&text));
        }
    }
    sockets.retain(|s| s.remote.port() == remote_port);
    if sockets.is_empty() {
        return BTreeMap::new();
    }
    let owners = inode_owners(Path::new("/proc"));
    sockets
        .into_iter()
        .filter_map(|s| owners.get(&s.inode).map(|&pid| (s.local, pid)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_established_rows() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:EDFC 0100007F:107E 01 00000000:00000000 00:00000000 00000000     0        0 424242 1 0000000000000000 20 4 30 10 -1\n\
   1: 0100007F:107E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0\n\
   2: garbage\n";
        let got = parse_connected(text);
        assert_eq!(
            got,
            [Connected {
                local: "127.0.0.1:60924".parse().expect("addr"),
                remote: "127.0.0.1:4222".parse().expect("addr"),
                inode: 424_242,
            }]
        );
        let v6 = "header\n 0: 0000000000000000FFFF00000100007F:EDFC 0000000000000000FFFF00000100007F:107E 01 0:0 0:0 0 0 0 77 1\n";
        let got = parse_connected(v6);
        assert_eq!(got[0].local, "127.0.0.1:60924".parse().expect("addr"));
    }

    #[test]
    fn finds_this_process_as_owner_of_its_own_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let local = client.local_addr().expect("local");
        let owners = client_owners(port);
        assert_eq!(owners.get(&local), Some(&std::process::id()));
    }
}
