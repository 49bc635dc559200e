//! A NATS client speaking the text protocol: CONNECT (named `anychat-<service>` for
//! message-service only, as upstream), SUB to its notification subjects, PUB on
//! `notification.<domain>.<event>.<id>`, PING/PONG; reconnects quietly when NATS is away.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::MissedTickBehavior;

use crate::shared::Shared;
use crate::zap_log::Field;

/// Longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Control lines longer than this end the connection (NATS' own limit is 4 KiB).
const MAX_CONTROL_LINE: usize = 4096;
/// Message payloads longer than this end the connection (NATS' default max_payload).
const MAX_PAYLOAD: usize = 1 << 20;
const EVENTS: [&str; 4] = ["created", "updated", "deleted", "read"];

/// The subject domain of a service: `message-service` → `message`.
pub fn domain(service: &str) -> String {
    service
        .strip_suffix("-service")
        .unwrap_or(service)
        .replace('-', "_")
}

/// The CONNECT line: only message-service names its connection, like upstream.
pub fn connect_line(service: &str) -> String {
    let mut line = String::from(r#"CONNECT {"verbose":false,"pedantic":false,"#);
    if service == "message-service" {
        let _ = write!(line, r#""name":"anychat-{service}","#);
    }
    line.push_str(r#""lang":"go","version":"1.37.0","protocol":1,"headers":false}"#);
    line.push_str("\r\n");
    line
}

/// The subjects a service listens on: its own domain, and everything for push and sync.
pub fn subscriptions(service: &str) -> Vec<String> {
    match domain(service).as_str() {
        "push" | "sync" | "gateway" => vec!["notification.>".to_owned()],
        d => vec![format!("notification.{d}.>")],
    }
}

/// One PUB frame on `notification.<domain>.<event>.<id>` with a small JSON payload.
pub fn publish_frame(service: &str, n: u64) -> String {
    let event = EVENTS[(n % EVENTS.len() as u64) as usize];
    let id = 1000 + (n * 7919) % 90_000;
    let subject = format!("notification.{}.{event}.{id}", domain(service));
    let payload = format!(r#"{{"type":"{event}","id":{id},"from":"{service}"}}"#);
    format!("PUB {subject} {}\r\n{payload}\r\n", payload.len())
}

/// Runs forever: connects to `addr`, subscribes, publishes every `every`; on any failure
/// waits (1 s doubling to 5 s) and connects again. Logs only the first failure of a streak.
pub async fn run(shared: Arc<Shared>, addr: String, every: Duration) {
    let mut backoff = Duration::from_secs(1);
    let mut failures = 0u32;
    let mut n = 0u64;
    loop {
        match session(&shared, &addr, every, &mut n).await {
            Ok(()) => {}
            Err(err) => {
                if failures == 0 {
                    shared.log.info(
                        "nats/client.go:88",
                        "nats unavailable, retrying",
                        &[("addr", Field::Str(&addr)), ("error", Field::Str(&err))],
                    );
                }
                failures += 1;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if failures == 0 {
            backoff = Duration::from_secs(1);
        }
    }
}

/// One connection, until it breaks. Returns `Err` with the reason.
async fn session(shared: &Shared, addr: &str, every: Duration, n: &mut u64) -> Result<(), String> {
    let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    read_line(&mut read, &mut line).await?;
    if !line.starts_with("INFO ") {
        return Err(format!("not a NATS server: {}", line.trim_end()));
    }
    let mut hello = connect_line(&shared.name);
    for (sid, subject) in subscriptions(&shared.name).iter().enumerate() {
        let _ = write!(hello, "SUB {subject} {}\r\n", sid + 1);
    }
    hello.push_str("PING\r\n");
    write
        .write_all(hello.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    shared.log.info(
        "nats/client.go:61",
        "connected to nats",
        &[("addr", Field::Str(addr))],
    );
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                *n += 1;
                let frame = publish_frame(&shared.name, *n);
                write.write_all(frame.as_bytes()).await.map_err(|e| e.to_string())?;
            }
            got = read_line(&mut read, &mut line) => {
                got?;
                let reply = handle(&mut read, &line).await?;
                if let Some(reply) = reply {
                    write.write_all(reply).await.map_err(|e| e.to_string())?;
                }
            }
        }
    }
}

async fn read_line<R: AsyncBufReadExt + Unpin>(r: &mut R, line: &mut String) -> Result<(), String> {
    line.clear();
    let n = (&mut *r)
        .take(MAX_CONTROL_LINE as u64)
        .read_line(line)
        .await
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("connection closed".into());
    }
    if !line.ends_with('\n') {
        return Err("control line too long".into());
    }
    Ok(())
}

/// Reacts to one server line: PONG for PING, skips MSG payloads, fails on -ERR.
async fn handle<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    line: &str,
) -> Result<Option<&'static [u8]>, String> {
    let verb = line.split_ascii_whitespace().next().unwrap_or("");
    match verb {
        "PING" => Ok(Some(b"PONG\r\n")),
        "MSG" => {
            let size: usize = line
                .split_ascii_whitespace()
                .last()
                .and_then(|s| s.parse().ok())
                .filter(|&s| s <= MAX_PAYLOAD)
                .ok_or_else(|| format!("bad MSG line: {}", line.trim_end()))?;
            let mut payload = vec![0u8; size + 2];
            r.read_exact(&mut payload)
                .await
                .map_err(|e| e.to_string())?;
            Ok(None)
        }
        "-ERR" => Err(line.trim_end().to_owned()),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_look_like_anychat() {
        assert_eq!(domain("message-service"), "message");
        assert!(connect_line("message-service").contains(r#""name":"anychat-message-service""#));
        assert!(!connect_line("push-service").contains("name"));
        assert!(connect_line("push-service").ends_with("}\r\n"));
        assert_eq!(subscriptions("push-service"), ["notification.>"]);
        assert_eq!(subscriptions("friend-service"), ["notification.friend.>"]);
        let frame = publish_frame("friend-service", 1);
        let (head, rest) = frame.split_once("\r\n").expect("two lines");
        let parts: Vec<&str> = head.split(' ').collect();
        assert_eq!(parts[0], "PUB");
        assert!(parts[1].starts_with("notification.friend.updated."));
        let size: usize = parts[2].parse().expect("size");
        assert_eq!(rest.len(), size + 2, "payload then CRLF");
    }

    #[tokio::test]
    async fn answers_ping_and_skips_payloads() {
        let mut input: &[u8] = b"hello\r\n";
        assert_eq!(
            handle(&mut input, "PING\r\n").await,
            Ok(Some(&b"PONG\r\n"[..]))
        );
        assert_eq!(handle(&mut input, "MSG a.b 1 5\r\n").await, Ok(None));
        assert!(input.is_empty(), "payload and CRLF consumed");
        assert!(handle(&mut input, "MSG a.b 1 x\r\n").await.is_err());
        assert!(
            handle(&mut input, "-ERR 'Authorization Violation'\r\n")
                .await
                .is_err()
        );
    }
}
