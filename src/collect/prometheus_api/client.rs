//! An HTTP client for one Prometheus server's API: every call has a timeout over the whole
//! exchange and a cap on the answer; queries are POSTed as forms (long expressions fit).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::decode::{
    PromError, RangeSeries, Sample, ScrapeTarget, decode_matrix, decode_targets, decode_vector,
};
use super::promql::quote;
use super::series::{Metadata, decode_metadata};
use crate::collect::{ProbeConfig, http_client};

/// Answers larger than this are refused (a range query over thousands of series).
pub const DEFAULT_ANSWER_CAP: usize = 16 << 20;
/// Answers larger than this are decoded on a blocking thread (a 300 KiB one takes ~5 ms).
pub const BLOCKING_DECODE_BYTES: usize = 64 << 10;

/// A Prometheus server at a base URL (`http://host:9090`, or with a route prefix).
#[derive(Debug, Clone)]
pub struct PromClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    cap: usize,
}

/// `url` with `http://` added when it has no scheme and without a trailing `/`.
pub fn normalize_url(url: &str) -> Result<String, PromError> {
    let url = url.trim();
    let full = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let parsed =
        reqwest::Url::parse(&full).map_err(|e| PromError::BadUrl(format!("{url}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(PromError::BadUrl(format!("{url}: not an http(s) URL")));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(PromError::BadUrl(format!(
            "{url}: no query or fragment, please"
        )));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Unix seconds of `t` (0 before 1970).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl PromClient {
    /// A client for `url`; `timeout` bounds every call.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, PromError> {
        Ok(PromClient {
            http: http_client(&ProbeConfig { timeout }),
            base: normalize_url(url)?,
            timeout,
            cap: DEFAULT_ANSWER_CAP,
        })
    }

    /// The base URL, normalized.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Active targets with their health (`GET /api/v1/targets?state=active`).
    pub async fn targets(&self) -> Result<Vec<ScrapeTarget>, PromError> {
        let request = self
            .http
            .get(format!("{}/api/v1/targets", self.base))
            .query(&[("state", "active")]);
        let (status, body) = self.call(request).await?;
        decoded(status, body, decode_targets).await
    }

    /// The types and help of one target's families (`/api/v1/targets/metadata`).
    pub async fn metadata(&self, instance: &str, job: &str) -> Result<Metadata, PromError> {
        let target = format!("{{instance={},job={}}}", quote(instance), quote(job));
        let request = self
            .http
            .get(format!("{}/api/v1/targets/metadata", self.base))
            .query(&[("match_target", target.as_str())]);
        let (status, body) = self.call(request).await?;
        decode_metadata(status, &body)
    }

    /// An instant query evaluated now; its result must be a vector.
    pub async fn query(&self, expr: &str) -> Result<Vec<Sample>, PromError> {
        let request = self
            .http
            .post(format!("{}/api/v1/query", self.base))
            .form(&[("query", expr)]);
        let (status, body) = self.call(request).await?;
        decoded(status, body, decode_vector).await
    }

    /// A range query from `start_unix` to `end_unix` (seconds, to the millisecond) every `step`.
    pub async fn query_range(
        &self,
        expr: &str,
        start_unix: f64,
        end_unix: f64,
        step: Duration,
    ) -> Result<Vec<RangeSeries>, PromError> {
        let (start, end, step) = (
            format!("{start_unix:.3}"),
            format!("{end_unix:.3}"),
            format!("{:.3}", step.as_secs_f64()),
        );
        let request = self
            .http
            .post(format!("{}/api/v1/query_range", self.base))
            .form(&[
                ("query", expr),
                ("start", &start),
                ("end", &end),
                ("step", &step),
            ]);
        let (status, body) = self.call(request).await?;
        decoded(status, body, decode_matrix).await
    }

    /// Sends `request`; the status and at most `cap` bytes of body, within the timeout.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), PromError> {
        let exchange = async {
            let mut response = request
                .send()
                .await
                .map_err(|e| PromError::Connect(root_cause(&e)))?;
            let status = response.status().as_u16();
            if response
                .content_length()
                .is_some_and(|n| n > self.cap as u64)
            {
                return Err(PromError::TooLarge { cap: self.cap });
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| PromError::Body(root_cause(&e)))?
            {
                if body.len() + chunk.len() > self.cap {
                    return Err(PromError::TooLarge { cap: self.cap });
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(PromError::Timeout(self.timeout)))
    }
}

/// `decode(status, body)`, on a blocking thread when the body is large.
async fn decoded<T: Send + 'static>(
    status: u16,
    body: Vec<u8>,
    decode: fn(u16, &[u8]) -> Result<T, PromError>,
) -> Result<T, PromError> {
    if body.len() < BLOCKING_DECODE_BYTES {
        return decode(status, &body);
    }
    tokio::task::spawn_blocking(move || decode(status, &body))
        .await
        .unwrap_or_else(|e| Err(PromError::Decode(format!("decoder failed: {e}"))))
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
    fn urls() {
        assert_eq!(
            normalize_url("127.0.0.1:9090").as_deref(),
            Ok("http://127.0.0.1:9090")
        );
        assert_eq!(
            normalize_url(" https://prom.example/prometheus/ ").as_deref(),
            Ok("https://prom.example/prometheus")
        );
        assert!(matches!(
            normalize_url("ftp://x"),
            Err(PromError::BadUrl(_))
        ));
        assert!(matches!(
            normalize_url("http://"),
            Err(PromError::BadUrl(_))
        ));
        assert!(matches!(
            normalize_url("http://h:9090/?x=1"),
            Err(PromError::BadUrl(_))
        ));
        assert!(matches!(
            normalize_url("http://h:99999"),
            Err(PromError::BadUrl(_))
        ));
    }
}
