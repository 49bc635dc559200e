//! Binds every requested port up front, reporting a failure the way a Go net.Listen does.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};

use crate::cli::Args;

/// What a bound port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Http,
    Grpc,
    Metrics,
    Redis,
    Postgres,
    Tcp,
}

impl Role {
    /// Name used in the startup log lines.
    pub fn label(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Grpc => "gRPC",
            Self::Metrics => "metrics",
            Self::Redis => "redis",
            Self::Postgres => "postgres",
            Self::Tcp => "tcp",
        }
    }
}

/// One bound, non-blocking listener.
pub struct Bound {
    pub role: Role,
    pub addr: SocketAddr,
    pub listener: TcpListener,
}

/// Every port of `args` with its role, in command-line order per role.
pub fn requested(args: &Args) -> Vec<(Role, u16)> {
    let mut ports: Vec<(Role, u16)> = args.http_ports.iter().map(|&p| (Role::Http, p)).collect();
    ports.extend(args.grpc_port.map(|p| (Role::Grpc, p)));
    ports.extend(args.metrics_port.map(|p| (Role::Metrics, p)));
    ports.extend(args.redis_port.map(|p| (Role::Redis, p)));
    ports.extend(args.postgres_port.map(|p| (Role::Postgres, p)));
    ports.extend(args.tcp_ports.iter().map(|&p| (Role::Tcp, p)));
    ports
}

/// Binds all `ports` on `ip`, or returns Go's message for the first that fails.
pub fn bind_all(ip: IpAddr, ports: &[(Role, u16)]) -> Result<Vec<Bound>, String> {
    ports
        .iter()
        .map(|&(role, port)| {
            let wanted = SocketAddr::new(ip, port);
            let bound = TcpListener::bind(wanted).and_then(|listener| {
                listener.set_nonblocking(true)?;
                let addr = listener.local_addr()?;
                Ok(Bound {
                    role,
                    addr,
                    listener,
                })
            });
            bound.map_err(|err| go_listen_error(wanted, &err))
        })
        .collect()
}

/// `listen tcp 127.0.0.1:8001: bind: address already in use`, as Go's net package says it.
pub fn go_listen_error(addr: SocketAddr, err: &io::Error) -> String {
    let text = err.to_string();
    // Rust appends " (os error 98)" to the strerror text; Go uses it lower-cased.
    let text = match text.rfind(" (os error ") {
        Some(cut) => &text[..cut],
        None => &text,
    };
    let mut chars = text.chars();
    let lowered = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("listen tcp {addr}: bind: {lowered}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_fails_with_gos_message() {
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let err = match bind_all(ip, &[(Role::Http, 0), (Role::Grpc, port)]) {
            Ok(_) => panic!("second bind must fail"),
            Err(err) => err,
        };
        assert_eq!(
            err,
            format!("listen tcp 127.0.0.1:{port}: bind: address already in use")
        );
    }

    #[test]
    fn port_zero_reports_the_real_port() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let bound = bind_all(ip, &[(Role::Redis, 0)]).expect("bind");
        assert_eq!(bound[0].role, Role::Redis);
        assert_ne!(bound[0].addr.port(), 0);
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let err = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        let addr: SocketAddr = "[::1]:8001".parse().expect("addr");
        assert_eq!(
            go_listen_error(addr, &err),
            "listen tcp [::1]:8001: bind: cannot assign requested address"
        );
    }
}
