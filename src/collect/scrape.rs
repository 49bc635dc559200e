//! Scrapes Prometheus `/metrics` endpoints, each on its own interval, with a timeout and a body
//! cap, decoding off the async threads; every outcome (errors included) is a [`ScrapeFact`].

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::collect::{ProbeConfig, http_client};
use crate::metrics::exposition::{Page, decode};

/// Time between two scrapes of one endpoint unless configured otherwise.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(2);
/// Time after which a scrape (connect, headers and body) gives up.
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Bodies longer than this are not read further.
pub const DEFAULT_BODY_CAP: usize = 8 << 20;
/// What we ask for: the text format, never protobuf.
pub const ACCEPT: &str = "text/plain;version=0.0.4";

/// One metrics endpoint: several plan entries may share it (the plan's 2112).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// `/metrics` unless the manifest says otherwise.
    pub path: String,
}

impl Endpoint {
    /// `host:port` with the default path `/metrics`.
    pub fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_owned(),
            port,
            path: "/metrics".to_owned(),
        }
    }

    /// The URL scraped.
    pub fn url(&self) -> String {
        format!("http://{}:{}{}", self.host, self.port, self.path)
    }
}

/// Why a scrape produced no page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScrapeError {
    /// Connection refused, reset, DNS...: nothing serves the endpoint.
    Connect(String),
    /// No complete answer within the timeout.
    Timeout(Duration),
    /// An HTTP status other than 200.
    Status(u16),
    /// Not the Prometheus text format (JSON, HTML, protobuf...).
    ContentType(String),
    /// The body passed the cap; reading stopped there.
    TooLarge { cap: usize },
    /// The connection broke while reading the body.
    Body(String),
    /// The body is not UTF-8.
    NotUtf8,
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "{e}"),
            Self::Timeout(d) => write!(f, "no answer in {}", humantime::format_duration(*d)),
            Self::Status(s) => write!(f, "HTTP {s}"),
            Self::ContentType(t) => write!(f, "not Prometheus text: {t}"),
            Self::TooLarge { cap } => write!(f, "page over {} KiB", cap / 1024),
            Self::Body(e) => write!(f, "body: {e}"),
            Self::NotUtf8 => write!(f, "body is not UTF-8"),
        }
    }
}

/// One scrape of one endpoint.
#[derive(Debug, Clone)]
pub struct ScrapeFact {
    pub endpoint: Endpoint,
    /// When the scrape started.
    pub at: Instant,
    /// How long fetching (not decoding) took.
    pub took: Duration,
    pub outcome: Result<Page, ScrapeError>,
}

/// Scrapes every distinct endpoint once per `interval` until `tx` closes; a slow endpoint
/// delays no other, and two scrapes of one endpoint never overlap.
pub async fn run_scraper(
    endpoints: Vec<Endpoint>,
    interval: Duration,
    timeout: Duration,
    cap: usize,
    tx: mpsc::Sender<ScrapeFact>,
) {
    let client = http_client(&ProbeConfig { timeout });
    let distinct: BTreeSet<Endpoint> = endpoints.into_iter().collect();
    let mut tasks = JoinSet::new();
    for endpoint in distinct {
        let (client, tx) = (client.clone(), tx.clone());
        tasks.spawn(async move {
            let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = ticker.tick() => {}
                }
                let fact = scrape_once(&client, &endpoint, timeout, cap).await;
                if tx.send(fact).await.is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    while let Some(ended) = tasks.join_next().await {
        if let Err(err) = ended
            && err.is_panic()
        {
            std::panic::resume_unwind(err.into_panic());
        }
    }
}

/// Fetches and decodes `endpoint` once.
pub async fn scrape_once(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    timeout: Duration,
    cap: usize,
) -> ScrapeFact {
    let at = Instant::now();
    let fetched = tokio::time::timeout(timeout, fetch(client, endpoint, cap))
        .await
        .unwrap_or(Err(ScrapeError::Timeout(timeout)));
    let took = at.elapsed();
    let outcome = match fetched {
        Ok(body) => tokio::task::spawn_blocking(move || decode(&body))
            .await
            .map_err(|e| ScrapeError::Body(format!("decoder failed: {e}"))),
        Err(e) => Err(e),
    };
    ScrapeFact {
        endpoint: endpoint.clone(),
        at,
        took,
        outcome,
    }
}

/// GETs the page: status 200, a text content type, at most `cap` bytes of UTF-8.
pub async fn fetch(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    cap: usize,
) -> Result<String, ScrapeError> {
    let mut response = client
        .get(endpoint.url())
        .header(reqwest::header::ACCEPT, ACCEPT)
        .send()
        .await
        .map_err(|e| ScrapeError::Connect(root_cause(&e)))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(ScrapeError::Status(status));
    }
    if let Some(kind) = response.headers().get(reqwest::header::CONTENT_TYPE) {
        let kind = String::from_utf8_lossy(kind.as_bytes()).into_owned();
        if !is_text_format(&kind) {
            return Err(ScrapeError::ContentType(kind));
        }
    }
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ScrapeError::TooLarge { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ScrapeError::Body(root_cause(&e)))?
    {
        if body.len() + chunk.len() > cap {
            return Err(ScrapeError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| ScrapeError::NotUtf8)
}

/// `text/plain` (any version, charset) or OpenMetrics text; not JSON, HTML or protobuf.
pub fn is_text_format(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "text/plain" || media == "application/openmetrics-text"
}

/// The innermost error message ("connection refused"), which is what a person needs.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_text_format("text/plain; version=0.0.4; charset=utf-8"));
        assert!(is_text_format("Text/Plain"));
        assert!(is_text_format(
            "application/openmetrics-text; version=1.0.0"
        ));
        assert!(!is_text_format("application/json"));
        assert!(!is_text_format("text/html; charset=utf-8"));
        assert!(!is_text_format(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        ));
    }

    #[test]
    fn endpoint_url() {
        assert_eq!(
            Endpoint::new("127.0.0.1", 2112).url(),
            "http://127.0.0.1:2112/metrics"
        );
    }
}
