//! Redis probe: `PING` on a connection kept open between probes, expecting `+PONG`.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::prober::Verdict;
use super::reason;
use super::tcp::connect;

/// `PING` as a RESP array of one bulk string.
const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
/// Longest reply read; a Redis error line is far shorter.
const MAX_REPLY_BYTES: usize = 1024;

/// Keeps one connection per target; any failure drops it and the next probe reconnects.
pub(crate) struct RedisCheck {
    host: String,
    port: u16,
    conn: Option<TcpStream>,
}

impl RedisCheck {
    pub fn new(host: &str, port: u16) -> Self {
        RedisCheck {
            host: host.to_string(),
            port,
            conn: None,
        }
    }

    /// A kept connection that fails (e.g. the server restarted) is retried once on a fresh one,
    /// so a restart does not show up as a spurious Down.
    pub async fn run(&mut self) -> Verdict {
        // Taken out first: if the timeout cancels us mid-reply, the half-read stream is gone.
        if let Some(stream) = self.conn.take()
            && let Ok((verdict, keep)) = ping(stream).await
        {
            self.conn = keep;
            return verdict;
        }
        let stream = match connect(&self.host, self.port).await {
            Ok(stream) => stream,
            Err(err) => return Verdict::down(reason::io_reason(&err)),
        };
        match ping(stream).await {
            Ok((verdict, keep)) => {
                self.conn = keep;
                verdict
            }
            Err(err) => Verdict::down(reason::io_reason(&err)),
        }
    }
}

/// Sends PING and reads one reply; hands the stream back when it is clean to reuse.
async fn ping(mut stream: TcpStream) -> io::Result<(Verdict, Option<TcpStream>)> {
    stream.write_all(PING).await?;
    let mut buf = [0u8; MAX_REPLY_BYTES];
    let mut len = 0;
    while len < buf.len() {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
        if buf[..len].ends_with(b"\r\n") {
            break;
        }
    }
    let reply = &buf[..len];
    if reply.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let verdict = classify_reply(reply);
    // Reuse only after exactly one complete reply, so no stray bytes confuse the next PING.
    let clean = reply.ends_with(b"\r\n") && reply.iter().filter(|&&b| b == b'\n').count() == 1;
    let keep = (clean && verdict.state.is_up()).then_some(stream);
    Ok((verdict, keep))
}

/// Judges everything read in answer to PING.
fn classify_reply(reply: &[u8]) -> Verdict {
    let Some(line) = reply.strip_suffix(b"\r\n").filter(|l| !l.contains(&b'\n')) else {
        return Verdict::down(format!("not Redis: {}", reason::escape_prefix(reply)));
    };
    match line {
        b"+PONG" => Verdict::up("PONG"),
        // The server is alive and answering; it just wants AUTH first.
        l if l.starts_with(b"-NOAUTH") => Verdict::up("auth required"),
        l if l.starts_with(b"-") => Verdict::unhealthy(String::from_utf8_lossy(&l[1..])),
        _ => Verdict::down(format!("not Redis: {}", reason::escape_prefix(reply))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::ProbeState;

    #[test]
    fn pong_is_up() {
        assert_eq!(classify_reply(b"+PONG\r\n"), Verdict::up("PONG"));
    }

    #[test]
    fn noauth_means_alive_but_locked() {
        let v = classify_reply(b"-NOAUTH Authentication required.\r\n");
        assert_eq!(v, Verdict::up("auth required"));
    }

    #[test]
    fn errors_are_unhealthy_with_their_text() {
        let v = classify_reply(b"-LOADING Redis is loading the dataset in memory\r\n");
        assert_eq!(v.state, ProbeState::Unhealthy);
        assert_eq!(v.detail, "LOADING Redis is loading the dataset in memory");
        let v = classify_reply(b"-ERR unknown command 'PING'\r\n");
        assert_eq!(v.detail, "ERR unknown command 'PING'");
    }

    #[test]
    fn other_protocols_are_down() {
        let nats = classify_reply(b"INFO {\"server_id\":\"x\"}\r\n");
        assert_eq!(nats.state, ProbeState::Down);
        assert!(
            nats.detail.starts_with("not Redis: \"INFO {"),
            "{}",
            nats.detail
        );
        // A PONG without its line ending, or with trailing junk, is not a Redis reply.
        assert_eq!(classify_reply(b"+PONG").state, ProbeState::Down);
        assert_eq!(
            classify_reply(b"+PONG\r\n+PONG\r\n").state,
            ProbeState::Down
        );
        assert_eq!(classify_reply(b"HTTP/1.1 400\r\n").state, ProbeState::Down);
    }
}
