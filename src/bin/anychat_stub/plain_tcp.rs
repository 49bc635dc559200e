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

async fn hold(mut stream: TcpStream, banner: Option<Bytes>) -> std::io::Result<()> {
    if let Some(banner) = banner {
        stream.write_all(&banner).await?;
    }
    let mut sink = [0u8; 4096];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}
