//! HTTP probe: GET on the shared keep-alive client; 2xx is up, and with `json_status` a JSON
//! `status` field must also read healthy.

use std::error::Error;
use std::time::Duration;

use super::prober::Verdict;
use super::reason;

/// Bytes of body kept for the JSON status check.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Bytes read (and thrown away past [`MAX_BODY_BYTES`]) so the connection can be reused;
/// a longer body makes us drop the connection instead.
const MAX_DRAIN_BYTES: usize = 1024 * 1024;
/// Longest `status` value quoted in a detail.
const MAX_STATUS_CHARS: usize = 60;

/// Checks one URL with the shared client.
pub(crate) struct HttpCheck {
    client: reqwest::Client,
    /// Built once; an unusable host or path is reported on every probe.
    url: Result<reqwest::Url, String>,
    json_status: bool,
    timeout: Duration,
}

impl HttpCheck {
    pub fn new(
        client: &reqwest::Client,
        host: &str,
        port: u16,
        path: &str,
        json_status: bool,
        timeout: Duration,
    ) -> Self {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let slash = if path.starts_with('/') { "" } else { "/" };
        let url = reqwest::Url::parse(&format!("http://{host}:{port}{slash}{path}"))
            .map_err(|err| format!("invalid URL: {err}"));
        HttpCheck {
            client: client.clone(),
            url,
            json_status,
            timeout,
        }
    }

    pub async fn run(&mut self) -> Verdict {
        let url = match &self.url {
            Ok(url) => url.clone(),
            Err(err) => return Verdict::down(err.clone()),
        };
        let mut response = match self.client.get(url).send().await {
            Ok(response) => response,
            Err(err) => return Verdict::down(self.describe(&err)),
        };
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut read = 0;
        while read <= MAX_DRAIN_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if self.json_status && body.len() < MAX_BODY_BYTES {
                        let room = MAX_BODY_BYTES - body.len();
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                }
                Ok(None) => break,
                Err(err) => return Verdict::down(self.describe(&err)),
            }
        }
        classify(status, &body, self.json_status)
    }

    /// Why a request got no usable answer, in words.
    fn describe(&self, err: &reqwest::Error) -> String {
        if err.is_timeout() {
            return reason::timed_out(self.timeout);
        }
        if let Some(words) = reason::io_reason_in_chain(err) {
            return words;
        }
        let mut source: Option<&(dyn Error + 'static)> = err.source();
        while let Some(e) = source {
            if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
                if hyper.is_incomplete_message() || hyper.is_closed() {
                    return "connection closed before a response".to_string();
                }
                if hyper.is_parse() {
                    return format!("not HTTP: {hyper}");
                }
                // hyper has no predicate for this one: bytes arrived before the request was
                // written (an SSH or NATS banner), which no HTTP server does.
                if hyper.to_string().contains("unexpected message") {
                    return "not HTTP: the server spoke before being asked".to_string();
                }
            }
            source = e.source();
        }
        reason::root_message(err)
    }
}

/// The `status` field of a JSON health body, when there is one.
#[derive(serde::Deserialize)]
struct StatusField {
    status: Option<serde_json::Value>,
}

/// Judges an HTTP status code and, with `json_status`, the body's `status` field.
fn classify(code: u16, body: &[u8], json_status: bool) -> Verdict {
    let reported = if json_status {
        serde_json::from_slice::<StatusField>(body)
            .ok()
            .and_then(|b| b.status)
    } else {
        None
    };
    let healthy_status = reported.as_ref().is_none_or(is_healthy);
    let success = (200..300).contains(&code);
    let mut detail = format!("HTTP {code}");
    if let Some(status) = &reported
        && !(success && healthy_status)
    {
        let text = match status {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let text: String = text.chars().take(MAX_STATUS_CHARS).collect();
        detail.push_str(&format!(", status {text:?}"));
    }
    if success && healthy_status {
        Verdict::up(detail)
    } else {
        Verdict::unhealthy(detail)
    }
}

/// Whether a JSON `status` value means healthy: "ok", "up", "healthy", "pass" (any case), or `true`.
fn is_healthy(status: &serde_json::Value) -> bool {
    match status {
        serde_json::Value::String(s) => ["ok", "up", "healthy", "pass"]
            .iter()
            .any(|word| s.eq_ignore_ascii_case(word)),
        serde_json::Value::Bool(b) => *b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::ProbeState;

    #[test]
    fn success_without_status_field_is_up() {
        // Grafana's /api/health: no "status", only "database".
        let grafana = br#"{"commit":"abc","database":"ok","version":"11.0.0"}"#;
        assert_eq!(classify(200, grafana, true), Verdict::up("HTTP 200"));
        assert_eq!(classify(204, b"", true), Verdict::up("HTTP 204"));
        assert_eq!(
            classify(200, b"not json at all", true),
            Verdict::up("HTTP 200")
        );
    }

    #[test]
    fn healthy_words_in_any_case_are_up() {
        for body in [
            r#"{"status":"ok"}"#,
            r#"{"status":"UP"}"#,
            r#"{"status":"Healthy"}"#,
            r#"{"status":"pass","checks":{}}"#,
            r#"{"status":true}"#,
        ] {
            assert_eq!(
                classify(200, body.as_bytes(), true),
                Verdict::up("HTTP 200"),
                "{body}"
            );
        }
    }

    #[test]
    fn other_status_is_unhealthy_even_on_200() {
        let v = classify(200, br#"{"status":"degraded"}"#, true);
        assert_eq!(v, Verdict::unhealthy(r#"HTTP 200, status "degraded""#));
        let v = classify(200, br#"{"status":false}"#, true);
        assert_eq!(v, Verdict::unhealthy(r#"HTTP 200, status "false""#));
    }

    #[test]
    fn non_2xx_is_unhealthy_with_status_if_any() {
        assert_eq!(classify(503, b"", true), Verdict::unhealthy("HTTP 503"));
        assert_eq!(
            classify(503, br#"{"status":"unavailable"}"#, true),
            Verdict::unhealthy(r#"HTTP 503, status "unavailable""#)
        );
        assert_eq!(classify(404, b"", false).state, ProbeState::Unhealthy);
    }

    #[test]
    fn status_field_ignored_without_json_status() {
        assert_eq!(
            classify(200, br#"{"status":"degraded"}"#, false),
            Verdict::up("HTTP 200")
        );
    }

    #[test]
    fn long_status_values_are_cut() {
        let long = format!(r#"{{"status":"{}"}}"#, "x".repeat(500));
        let v = classify(200, long.as_bytes(), true);
        assert_eq!(
            v.detail.len(),
            r#"HTTP 200, status """#.len() + MAX_STATUS_CHARS
        );
    }

    #[test]
    fn ipv6_hosts_get_brackets_and_paths_a_slash() {
        let client = reqwest::Client::new();
        let c = HttpCheck::new(
            &client,
            "::1",
            8080,
            "health",
            false,
            Duration::from_secs(1),
        );
        assert_eq!(
            c.url.as_ref().map(|u| u.as_str()),
            Ok("http://[::1]:8080/health")
        );
    }
}
