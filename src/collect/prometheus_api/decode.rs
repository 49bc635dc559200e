//! Decoders for Prometheus' HTTP API answers: `/api/v1/targets`, instant vectors of
//! `/api/v1/query`, matrices of `/api/v1/query_range`, and the error JSON of any of them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use crate::metrics::go_duration::parse_go_duration;

/// Label name → value of one series or target.
pub type LabelSet = BTreeMap<String, String>;

/// Why Prometheus gave us nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromError {
    /// The configured URL is not an http(s) URL.
    BadUrl(String),
    /// Connection refused, reset, DNS...: nothing answers at the URL.
    Connect(String),
    /// No complete answer within the timeout.
    Timeout(Duration),
    /// Prometheus refused the request and said why (its error JSON).
    Api {
        status: u16,
        error_type: String,
        error: String,
    },
    /// An HTTP status without Prometheus' error JSON (a proxy, another server).
    Status(u16),
    /// The answer passed the size cap; reading stopped there.
    TooLarge { cap: usize },
    /// The connection broke while reading the answer.
    Body(String),
    /// The answer is not the JSON the API documents.
    Decode(String),
}

impl fmt::Display for PromError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadUrl(e) => write!(f, "bad URL: {e}"),
            Self::Connect(e) => write!(f, "unreachable: {e}"),
            Self::Timeout(d) => write!(f, "no answer in {}", humantime::format_duration(*d)),
            Self::Api {
                status,
                error_type,
                error,
            } => write!(f, "HTTP {status} {error_type}: {error}"),
            Self::Status(s) => write!(f, "HTTP {s}, not a Prometheus API answer"),
            Self::TooLarge { cap } => write!(f, "answer over {} KiB", cap / 1024),
            Self::Body(e) => write!(f, "answer cut: {e}"),
            Self::Decode(e) => write!(f, "not a Prometheus API answer: {e}"),
        }
    }
}

/// What Prometheus last concluded about a scrape target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Down,
    #[default]
    #[serde(other)]
    Unknown,
}

/// One active target of `/api/v1/targets`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScrapeTarget {
    /// Labels after relabelling: `instance`, `job` and whatever the config adds.
    pub labels: LabelSet,
    pub scrape_pool: String,
    pub scrape_url: String,
    pub health: Health,
    /// Empty when the last scrape succeeded.
    pub last_error: String,
    /// `None` before the first scrape.
    pub last_scrape: Option<SystemTime>,
    pub last_scrape_duration: Option<Duration>,
    pub scrape_interval: Option<Duration>,
}

impl ScrapeTarget {
    /// The `instance` label (`host:port` unless relabelled), or "".
    pub fn instance(&self) -> &str {
        self.labels.get("instance").map_or("", String::as_str)
    }

    /// The `job` label, or "".
    pub fn job(&self) -> &str {
        self.labels.get("job").map_or("", String::as_str)
    }
}

/// One series of an instant vector: its value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: LabelSet,
    /// Evaluation time, Unix seconds.
    pub at_unix: f64,
    pub value: f64,
}

/// One series of a range query: `(Unix seconds, value)` at each step that had a value.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: LabelSet,
    pub points: Vec<(f64, f64)>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(default, rename = "errorType")]
    error_type: String,
    #[serde(default)]
    error: String,
}

#[derive(Deserialize)]
struct ErrorOnly {
    status: String,
    #[serde(default, rename = "errorType")]
    error_type: String,
    #[serde(default)]
    error: String,
}

/// Reads an API answer of HTTP status `http`: the `data` of a success, else the error as said.
pub(super) fn answer<T: DeserializeOwned>(http: u16, body: &[u8]) -> Result<T, PromError> {
    let api_error = |error_type: String, error: String| PromError::Api {
        status: http,
        error_type,
        error,
    };
    match serde_json::from_slice::<Envelope<T>>(body) {
        Ok(e) if e.status == "success" => e
            .data
            .ok_or_else(|| PromError::Decode("\"success\" without \"data\"".into())),
        Ok(e) if e.status == "error" => Err(api_error(e.error_type, e.error)),
        Ok(e) => Err(PromError::Decode(format!("status {:?}", e.status))),
        Err(shape) => match serde_json::from_slice::<ErrorOnly>(body) {
            Ok(e) if e.status == "error" => Err(api_error(e.error_type, e.error)),
            _ if http != 200 => Err(PromError::Status(http)),
            _ => Err(PromError::Decode(shape.to_string())),
        },
    }
}

#[derive(Deserialize)]
struct TargetsData {
    #[serde(default, rename = "activeTargets")]
    active: Vec<RawTarget>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawTarget {
    labels: LabelSet,
    scrape_pool: String,
    scrape_url: String,
    health: Health,
    last_error: String,
    last_scrape: String,
    last_scrape_duration: Option<f64>,
    scrape_interval: String,
}

/// Decodes `/api/v1/targets` (active targets only).
pub fn decode_targets(http: u16, body: &[u8]) -> Result<Vec<ScrapeTarget>, PromError> {
    let data: TargetsData = answer(http, body)?;
    Ok(data
        .active
        .into_iter()
        .map(|t| ScrapeTarget {
            labels: t.labels,
            scrape_pool: t.scrape_pool,
            scrape_url: t.scrape_url,
            health: t.health,
            last_error: t.last_error,
            // Never scraped: Go's zero time, year 1, which is no SystemTime.
            last_scrape: humantime::parse_rfc3339_weak(&t.last_scrape).ok(),
            last_scrape_duration: t
                .last_scrape_duration
                .and_then(|s| Duration::try_from_secs_f64(s).ok()),
            scrape_interval: parse_go_duration(&t.scrape_interval),
        })
        .collect())
}

/// A sample value as Prometheus writes it: a string, `"NaN"`, `"+Inf"` and `"-Inf"` included.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_value(&text)
            .map(Number)
            .ok_or_else(|| D::Error::custom(format!("sample value {text:?} is not a number")))
    }
}

/// Parses Prometheus' spelling of a float.
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
        {
            None
        }
        _ => text.parse().ok(),
    }
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: LabelSet,
    value: (f64, Number),
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: LabelSet,
    #[serde(default)]
    values: Vec<(f64, Number)>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<RawSample>),
    Matrix(Vec<RawSeries>),
    Scalar(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

impl QueryData {
    fn kind(&self) -> &'static str {
        match self {
            QueryData::Vector(_) => "vector",
            QueryData::Matrix(_) => "matrix",
            QueryData::Scalar(_) => "scalar",
            QueryData::String(_) => "string",
        }
    }
}

/// Decodes an instant query whose result must be a vector.
pub fn decode_vector(http: u16, body: &[u8]) -> Result<Vec<Sample>, PromError> {
    match answer::<QueryData>(http, body)? {
        QueryData::Vector(v) => Ok(v
            .into_iter()
            .map(|s| Sample {
                labels: s.metric,
                at_unix: s.value.0,
                value: s.value.1.0,
            })
            .collect()),
        other => Err(PromError::Decode(format!(
            "expected a vector, got a {}",
            other.kind()
        ))),
    }
}

/// Decodes a range query (always a matrix).
pub fn decode_matrix(http: u16, body: &[u8]) -> Result<Vec<RangeSeries>, PromError> {
    match answer::<QueryData>(http, body)? {
        QueryData::Matrix(m) => Ok(m
            .into_iter()
            .map(|s| RangeSeries {
                labels: s.metric,
                points: s.values.into_iter().map(|(t, v)| (t, v.0)).collect(),
            })
            .collect()),
        other => Err(PromError::Decode(format!(
            "expected a matrix, got a {}",
            other.kind()
        ))),
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
