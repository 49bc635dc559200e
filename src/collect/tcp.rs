//! TCP probe: up when a connection to the port can be opened.

use tokio::net::TcpStream;

use super::prober::Verdict;
use super::reason;

/// Connects and closes again; nothing is sent.
pub(crate) struct TcpCheck {
    host: String,
    port: u16,
}

impl TcpCheck {
    pub fn new(host: &str, port: u16) -> Self {
        TcpCheck {
            host: host.to_string(),
            port,
        }
    }

    pub async fn run(&mut self) -> Verdict {
        match connect(&self.host, self.port).await {
            Ok(_stream) => Verdict::up("connected"),
            Err(err) => Verdict::down(reason::io_reason(&err)),
        }
    }
}

/// Opens a TCP connection. Nagle is left on: a probe writes one small request and then
/// waits for the answer, so nothing is ever held back.
pub(crate) async fn connect(host: &str, port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect((host, port)).await
}
