//! PostgreSQL probe: an SSLRequest answered by a single `S` or `N` means the server accepts
//! connections; no login is attempted.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::prober::Verdict;
use super::reason;
use super::tcp::connect;

/// The 8-byte SSLRequest message: length 8, then the magic code 80877103.
const SSL_REQUEST: [u8; 8] = {
    let len = 8u32.to_be_bytes();
    let code = 80_877_103u32.to_be_bytes();
    [
        len[0], len[1], len[2], len[3], code[0], code[1], code[2], code[3],
    ]
};

/// A fresh connection per probe, closed right after the one-byte answer.
pub(crate) struct PostgresCheck {
    host: String,
    port: u16,
}

impl PostgresCheck {
    pub fn new(host: &str, port: u16) -> Self {
        PostgresCheck {
            host: host.to_string(),
            port,
        }
    }

    pub async fn run(&mut self) -> Verdict {
        let mut stream = match connect(&self.host, self.port).await {
            Ok(stream) => stream,
            Err(err) => return Verdict::down(reason::io_reason(&err)),
        };
        if let Err(err) = stream.write_all(&SSL_REQUEST).await {
            return Verdict::down(reason::io_reason(&err));
        }
        let mut reply = [0u8; 64];
        match stream.read(&mut reply).await {
            Ok(n) => classify_reply(&reply[..n]),
            Err(err) => Verdict::down(reason::io_reason(&err)),
        }
    }
}

/// Judges the server's answer to an SSLRequest.
fn classify_reply(reply: &[u8]) -> Verdict {
    match reply {
        [] => Verdict::down("connection closed without a reply"),
        [b'S'] => Verdict::up("accepting connections (SSL: yes)"),
        [b'N'] => Verdict::up("accepting connections (SSL: no)"),
        // A server that cannot take the connection (too many clients, starting up) says why in
        // an ErrorResponse; the server is there but not usable.
        [b'E', ..] => Verdict::unhealthy(format!("error: {}", error_message(reply))),
        other => Verdict::down(format!("not PostgreSQL: {}", reason::escape_prefix(other))),
    }
}

/// The `M` (message) field of an ErrorResponse, or the printable bytes if it has none.
fn error_message(reply: &[u8]) -> String {
    // 'E', int32 length, then fields: a type byte and a NUL-terminated string each.
    let fields = reply.get(5..).unwrap_or_default();
    fields
        .split(|&b| b == 0)
        .find_map(|field| field.strip_prefix(b"M"))
        .map(|msg| String::from_utf8_lossy(msg).into_owned())
        .unwrap_or_else(|| reason::escape_prefix(reply))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::ProbeState;

    #[test]
    fn ssl_request_bytes_match_the_protocol() {
        assert_eq!(SSL_REQUEST, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    }

    #[test]
    fn single_s_or_n_is_up() {
        assert_eq!(
            classify_reply(b"S"),
            Verdict::up("accepting connections (SSL: yes)")
        );
        assert_eq!(
            classify_reply(b"N"),
            Verdict::up("accepting connections (SSL: no)")
        );
    }

    #[test]
    fn anything_else_is_down() {
        assert_eq!(
            classify_reply(b""),
            Verdict::down("connection closed without a reply")
        );
        let http = classify_reply(b"HTTP/1.1 400 Bad Request\r\n");
        assert_eq!(http.state, ProbeState::Down);
        assert_eq!(
            http.detail,
            r#"not PostgreSQL: "HTTP/1.1 400 Bad Request\r\n""#
        );
        // "N" followed by more bytes is not an SSLRequest answer.
        assert_eq!(classify_reply(b"NO").state, ProbeState::Down);
    }

    #[test]
    fn error_response_is_unhealthy_with_its_message() {
        let reply = b"E\0\0\0\x30SFATAL\0C53300\0Msorry, too many clients already\0\0";
        let v = classify_reply(reply);
        assert_eq!(v.state, ProbeState::Unhealthy);
        assert_eq!(v.detail, "error: sorry, too many clients already");
    }
}
