//! Decoders for nats-server's monitoring JSON: `/varz`, `/connz`, `/subsz`, `/jsz`, `/healthz`.
//! Fields we do not read are ignored; missing ones default, so other server versions decode too.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::metrics::go_duration::parse_go_duration;

/// `/varz`: the server's identity and totals.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Varz {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    /// A Go duration string ("1m2s"); see [`Varz::uptime`].
    #[serde(rename = "uptime")]
    pub uptime_text: String,
    /// Resident memory in bytes.
    pub mem: u64,
    /// CPU in percent (of one core, as `ps` says it).
    pub cpu: f64,
    pub cores: u32,
    pub connections: u64,
    pub total_connections: u64,
    pub subscriptions: u64,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub slow_consumers: u64,
    /// Client port (4222 by default).
    pub port: u16,
}

impl Varz {
    /// The uptime, when the server's string parses.
    pub fn uptime(&self) -> Option<Duration> {
        parse_go_duration(&self.uptime_text)
    }
}

/// One client connection of `/connz`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Conn {
    pub cid: u64,
    /// The client's address as the server sees it (its local address: the key to its process).
    pub ip: String,
    pub port: u16,
    /// Set only by clients that name their connection (AnyChat: message-service only).
    pub name: String,
    pub lang: String,
    pub version: String,
    /// Round-trip time, a Go duration string.
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    pub pending_bytes: u64,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub subscriptions: u32,
}

/// `/connz`: the connections (the first `limit` of `total`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Connz {
    pub num_connections: u64,
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    /// `null` when there are none.
    #[serde(deserialize_with = "null_as_empty")]
    pub connections: Vec<Conn>,
}

/// `/subsz`: the subscription index.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Subsz {
    pub num_subscriptions: u64,
    pub num_cache: u64,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    pub cache_hit_rate: f64,
    pub max_fanout: u64,
    pub avg_fanout: f64,
}

/// `/jsz`: JetStream totals.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Jsz {
    /// True when the server runs without `-js`.
    pub disabled: bool,
    pub streams: u64,
    pub consumers: u64,
    pub messages: u64,
    pub bytes: u64,
    pub memory: u64,
    pub storage: u64,
}

/// What JetStream holds, in words the panel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JetStream {
    Disabled,
    /// Enabled, no streams yet (AnyChat today).
    NoStreams,
    Streams {
        streams: u64,
        consumers: u64,
        messages: u64,
        bytes: u64,
    },
}

impl Jsz {
    /// The summary shown.
    pub fn summary(&self) -> JetStream {
        if self.disabled {
            JetStream::Disabled
        } else if self.streams == 0 {
            JetStream::NoStreams
        } else {
            JetStream::Streams {
                streams: self.streams,
                consumers: self.consumers,
                messages: self.messages,
                bytes: self.bytes,
            }
        }
    }
}

impl std::fmt::Display for JetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JetStream::Disabled => write!(f, "JetStream disabled"),
            JetStream::NoStreams => write!(f, "JetStream enabled, no streams"),
            JetStream::Streams {
                streams,
                consumers,
                messages,
                ..
            } => write!(
                f,
                "JetStream: {streams} stream(s), {consumers} consumer(s), {messages} msgs"
            ),
        }
    }
}

/// `/healthz`: `{"status":"ok"}`, or an error with a reason.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Healthz {
    pub status: String,
    pub error: String,
}

impl Healthz {
    pub fn ok(&self) -> bool {
        self.status == "ok"
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Conn>, D::Error> {
    Ok(Option::<Vec<Conn>>::deserialize(d)?.unwrap_or_default())
}

/// Decodes one monitoring page; the error says what was wrong, never panics.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("not the expected JSON: {e}"))
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
