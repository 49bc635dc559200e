//! A minimal PostgreSQL: answers an SSLRequest (or GSSENCRequest) with `N` and closes unless a
//! StartupMessage follows at once, which gets AuthenticationSASL like a real server, so
//! `pg_isready` says "accepting".

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::shared::{ConnGuard, Shared};

const SSL_REQUEST_CODE: u32 = 80_877_103;
const GSSENC_REQUEST_CODE: u32 = 80_877_104;
const PROTOCOL_3_0: u32 = 196_608;
/// How long after answering `N` a StartupMessage may follow on the same connection (libpq,
/// pg_isready) before the connection is closed (a bare probe).
const STARTUP_GRACE: Duration = Duration::from_millis(250);
/// Largest StartupMessage read before giving up on the client.
const MAX_STARTUP_BYTES: u32 = 10_000;
/// `R` AuthenticationSASL offering SCRAM-SHA-256, byte for byte what PostgreSQL 15 sends.
const AUTH_SASL: &[u8] = b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0";

/// What to do after the first 8 bytes of a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Opening {
    /// SSLRequest/GSSENCRequest: send `N` (not supported).
    RefuseEncryption,
    /// StartupMessage: read the rest (this many more bytes), answer AuthenticationSASL.
    Startup { rest: u32 },
    /// Anything else (HTTP, garbage): close without a word, as PostgreSQL does.
    Garbage,
}

/// Classifies the 8-byte length + code prefix every PostgreSQL opening message has.
pub fn classify(head: [u8; 8]) -> Opening {
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    match (len, code) {
        (8, SSL_REQUEST_CODE | GSSENC_REQUEST_CODE) => Opening::RefuseEncryption,
        (9..=MAX_STARTUP_BYTES, PROTOCOL_3_0) => Opening::Startup { rest: len - 8 },
        _ => Opening::Garbage,
    }
}

/// Accepts connections forever, one task per connection.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let open = ConnGuard::new(Arc::clone(&shared));
        tokio::spawn(async move {
            let _open = open;
            let _ = converse(stream).await;
        });
    }
}

async fn converse(mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).await?;
    // libpq may ask for GSS and then SSL encryption before its StartupMessage.
    for _ in 0..3 {
        match classify(head) {
            Opening::RefuseEncryption => {
                stream.write_all(b"N").await?;
                let next = tokio::time::timeout(STARTUP_GRACE, stream.read_exact(&mut head));
                if !matches!(next.await, Ok(Ok(_))) {
                    break;
                }
            }
            Opening::Startup { rest } => {
                let mut body = vec![0u8; rest as usize];
                stream.read_exact(&mut body).await?;
                stream.write_all(AUTH_SASL).await?;
                // Let the client give up on SASL and hang up first.
                let mut sink = [0u8; 512];
                let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut sink)).await;
                break;
            }
            Opening::Garbage => break,
        }
    }
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_opening_messages() {
        let ssl = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
        assert_eq!(classify(ssl), Opening::RefuseEncryption);
        let gss = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];
        assert_eq!(classify(gss), Opening::RefuseEncryption);
        let startup = [0, 0, 0, 0x54, 0, 3, 0, 0];
        assert_eq!(classify(startup), Opening::Startup { rest: 0x4c });
        assert_eq!(classify(*b"GET / HT"), Opening::Garbage);
        assert_eq!(
            classify([0, 0, 0, 9, 0x04, 0xd2, 0x16, 0x2f]),
            Opening::Garbage
        );
    }

    #[test]
    fn sasl_reply_matches_the_real_server() {
        assert_eq!(AUTH_SASL.len(), 1 + 0x17);
        assert_eq!(&AUTH_SASL[9..22], b"SCRAM-SHA-256");
    }
}
