//! The fallback when netlink is refused: TCP sockets from `/proc/net/tcp` and `/proc/net/tcp6`.
//! Slower (the kernel formats every socket as text) and without the IPv6-only flag.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::sock_diag::RawSocket;

/// Every socket of the text of `/proc/net/tcp` or `/proc/net/tcp6` whose state is in the
/// `states` bitmask; malformed rows are skipped. Addresses are decoded in this host's byte order.
pub fn parse_table(text: &str, states: u32) -> Vec<RawSocket> {
    text.lines()
        .skip(1)
        .filter_map(parse_row)
        .filter(|s| s.state < 32 && states & (1 << s.state) != 0)
        .collect()
}

fn parse_row(row: &str) -> Option<RawSocket> {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    let fields: Vec<&str> = row.split_ascii_whitespace().take(10).collect();
    if fields.len() < 10 {
        return None;
    }
    Some(RawSocket {
        local: parse_endpoint(fields[1])?,
        remote: parse_endpoint(fields[2])?,
        state: u8::from_str_radix(fields[3], 16).ok()?,
        uid: fields[7].parse().ok()?,
        inode: fields[9].parse().ok()?,
        v6only: false,
    })
}

fn parse_endpoint(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    Some(SocketAddr::new(
        parse_addr(addr)?,
        u16::from_str_radix(port, 16).ok()?,
    ))
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

/// Every TCP socket in one of `states`, read from `/proc/net/tcp` and `/proc/net/tcp6`.
/// A missing `tcp6` (IPv6 disabled) is not an error.
pub fn read(states: u32) -> io::Result<Vec<RawSocket>> {
    let mut out = parse_table(&std::fs::read_to_string("/proc/net/tcp")?, states);
    if let Ok(text) = std::fs::read_to_string("/proc/net/tcp6") {
        out.extend(parse_table(&text, states));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::port_scan::sock_diag::{TCP_ESTABLISHED, TCP_LISTEN};
    use proptest::prelude::*;

    const NET_TCP: &str = include_str!("../../../tests/fixtures/proc/net_tcp");
    const NET_TCP6: &str = include_str!("../../../tests/fixtures/proc/net_tcp6");

    fn locals(sockets: &[RawSocket]) -> Vec<(String, u64)> {
        sockets
            .iter()
            .map(|s| (s.local.to_string(), s.inode))
            .collect()
    }

    #[test]
    #[cfg(target_endian = "little")] // captured on x86_64
    fn reads_the_listeners_of_real_tables() {
        let v4 = parse_table(NET_TCP, 1 << TCP_LISTEN);
        assert_eq!(
            locals(&v4),
            [
                ("127.0.0.1:39271".to_string(), 25606),
                ("0.0.0.0:2024".to_string(), 1667),
                ("0.0.0.0:52503".to_string(), 25607),
            ]
        );
        assert!(v4.iter().all(|s| s.uid == 0 && s.state == TCP_LISTEN));
        let v6 = parse_table(NET_TCP6, 1 << TCP_LISTEN);
        assert_eq!(
            locals(&v6),
            [
                ("[::1]:55855".to_string(), 25609),
                ("[::]:50375".to_string(), 25608)
            ]
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn reads_the_established_pair_with_remote_ends() {
        let est = parse_table(NET_TCP, 1 << TCP_ESTABLISHED);
        let to_server: Vec<_> = est.iter().filter(|s| s.remote.port() == 39271).collect();
        assert_eq!(to_server.len(), 1);
        assert_eq!(to_server[0].local.to_string(), "127.0.0.1:40346");
        assert_eq!(to_server[0].inode, 25610);
    }

    #[test]
    fn skips_headers_short_rows_and_garbage() {
        let text = "  sl  local_address ...\n\
                    0: 0100007F:1F90 00000000:0000 0A\n\
                    1: XYZ:1F90 00000000:0000 0A 0:0 0:0 0 0 0 12\n\
                    2: 0100007F:GGGG 00000000:0000 0A 0:0 0:0 0 0 0 12\n\
                    3: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 x 0 12\n\
                    4: 0100007F:1F90 00000000:0000 ZZ 0:0 0:0 0 0 0 12\n\
                    5: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 1000 0 77\n";
        let got = parse_table(text, 1 << TCP_LISTEN);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].local.port(), got[0].uid, got[0].inode),
            (8080, 1000, 77)
        );
        assert!(parse_table("", u32::MAX).is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = parse_table(&text, u32::MAX);
        }

        #[test]
        fn arbitrary_rows_never_panic(fields in proptest::collection::vec("[0-9A-Fa-f:x]{0,40}", 0..14)) {
            let text = format!("header\n{}\n", fields.join(" "));
            let _ = parse_table(&text, u32::MAX);
        }
    }
}
