//! Plain TCP listeners: `--tcp-port` (optional banner, then hold the connection) and the
//! `--hang` mode of every port (accept, read and discard, never answer).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::shared::{ConnGuard, Shared};

/// Accepts connections forever; each gets `banner` (if any) and is then held until the peer
/// closes. With no banner this is also `--hang`.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, banner: Option<Bytes>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let open = ConnGuard::new(Arc::clone(&shared));
        let banner = banner.clone();
        tokio::spawn(async move {
            let _open = open;
            let _ = hold(stream, banner).await;
        });
    }
}

/// The `--tcp-banner` bytes: `\r`, `\n`, `\t` and `\\` written as escapes become the
/// characters, so `INFO {}\r\n` works from a shell or a TOML literal string.
pub fn banner_bytes(text: &str) -> Bytes {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Bytes::from(out)
}

async fn hold(mut stream: TcpStream, banner: Option<Bytes>) -> std::io::Result<()> {
    if let Some(banner) = banner {
        stream.write_all(&banner).await?;
    }
    let mut sink = [0u8; 4096];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_escapes_become_characters() {
        assert_eq!(banner_bytes(r"INFO {}\r\n"), "INFO {}\r\n");
        assert_eq!(banner_bytes("real\r\n"), "real\r\n");
        assert_eq!(banner_bytes(r"a\\b\q\"), r"a\b\q\");
    }
}
