//! The one PromQL expression that yields every watched value of every matched instance (each
//! part tagged with a label), and the assembly of its answer into the panel's six values.
//!
//! The parts mirror the direct scrape's derivation: request and CPU counters as `irate` (the
//! rate between the last two scrapes, resets handled, as two direct scrapes give it), a failed
//! request being a series whose gRPC code is not `OK` or whose HTTP code is 5xx, latency
//! quantiles from the first request-duration histogram present over the window, gauges summed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::decode::{LabelSet, RangeSeries, Sample};
use crate::state::metrics::WatchNames;

/// The label that tells the parts of the answer apart.
pub const PART_LABEL: &str = "anychat_part";
/// The latency quantiles asked for (p50, p95, p99), as the direct scrape computes them.
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// One tagged part of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// Requests per second of the n-th request family.
    Requests(usize),
    /// Failed requests per second of the n-th request family.
    Errors(usize),
    /// The n-th of [`QUANTILES`], in seconds.
    Quantile(usize),
    Goroutines,
    Rss,
    /// Percent of one core.
    Cpu,
}

impl Part {
    /// The value of [`PART_LABEL`] for this part.
    pub fn tag(self) -> String {
        match self {
            Part::Requests(n) => format!("req{n}"),
            Part::Errors(n) => format!("err{n}"),
            Part::Quantile(n) => format!("q{n}"),
            Part::Goroutines => "gor".into(),
            Part::Rss => "rss".into(),
            Part::Cpu => "cpu".into(),
        }
    }

    /// The part a tag names.
    pub fn parse(tag: &str) -> Option<Part> {
        let num = |rest: &str| rest.parse::<usize>().ok();
        match tag {
            "gor" => Some(Part::Goroutines),
            "rss" => Some(Part::Rss),
            "cpu" => Some(Part::Cpu),
            _ => {
                if let Some(n) = tag.strip_prefix("req").and_then(num) {
                    Some(Part::Requests(n))
                } else if let Some(n) = tag.strip_prefix("err").and_then(num) {
                    Some(Part::Errors(n))
                } else {
                    tag.strip_prefix('q')
                        .and_then(num)
                        .filter(|&n| n < QUANTILES.len())
                        .map(Part::Quantile)
                }
            }
        }
    }
}

/// The values of one instance at one time, by part.
pub type Parts = BTreeMap<Part, f64>;

/// A Prometheus target as the answer groups it: `(instance, job)`.
pub type InstanceJob = (String, String);

/// The six values the metrics panel shows (in `Watched::ALL` order) and the three quantiles.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WatchedValues {
    pub values: [Option<f64>; 6],
    pub quantiles: [Option<f64>; 3],
}

/// The panel's values from the parts: request rates summed over the families, failures as a
/// percentage of them (unknown without requests), non-finite values unknown.
pub fn combine(parts: &Parts) -> WatchedValues {
    let finite = |p: Part| parts.get(&p).copied().filter(|v| v.is_finite());
    let sum = |pick: fn(&Part) -> bool| {
        parts
            .iter()
            .filter(|(p, v)| pick(p) && v.is_finite())
            .map(|(_, v)| *v)
            .reduce(|a, b| a + b)
    };
    let requests = sum(|p| matches!(p, Part::Requests(_)));
    let errors = sum(|p| matches!(p, Part::Errors(_))).unwrap_or(0.0);
    let error_pct = requests.and_then(|r| (r > 0.0).then(|| errors / r * 100.0));
    let quantiles = [0, 1, 2].map(|n| finite(Part::Quantile(n)));
    WatchedValues {
        values: [
            requests,
            error_pct,
            quantiles[1],
            finite(Part::Goroutines),
            finite(Part::Rss),
            finite(Part::Cpu),
        ],
        quantiles,
    }
}

/// The windows of the expression, from the targets' scrape interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Range of `irate`: long enough to hold the last two scrapes.
    pub rate: Duration,
    /// Range of the latency `rate` (the direct scrape's window, or longer).
    pub quantile: Duration,
}

impl Windows {
    /// Windows for targets scraped every `interval` (60 s when unknown) and quantiles over `window`.
    pub fn new(interval: Option<Duration>, window: Duration) -> Self {
        let rate = interval.map_or(Duration::from_secs(60), |i| {
            (i * 4).max(Duration::from_secs(10))
        });
        Windows {
            rate,
            quantile: window.max(rate),
        }
    }
}

/// A PromQL string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An RE2 pattern matching exactly one of `values`.
pub fn any_of(values: &[&str]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        for c in v.chars() {
            if "\\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

fn range(d: Duration) -> String {
    format!("[{}ms]", d.as_millis().max(1))
}

/// The expression for `instances` (`host:port` as Prometheus labels them).
pub fn watched_query(names: &WatchNames, instances: &[&str], w: &Windows) -> String {
    let scope = format!("instance=~{}", quote(&any_of(instances)));
    let sel = |name: &str, extra: &str| {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(",{extra}")
        };
        format!("{{__name__={},{scope}{extra}}}", quote(name))
    };
    let by = "sum by (instance, job)";
    let mut parts: Vec<(Part, String)> = Vec::new();
    for (n, family) in names.requests.iter().enumerate() {
        let all = format!("{by} (irate({}{}))", sel(family, ""), range(w.rate));
        parts.push((Part::Requests(n), all));
        let mut failed: Vec<String> = Vec::new();
        for label in &names.grpc_code_labels {
            let m = format!("{label}!=\"\",{label}!=\"OK\"");
            failed.push(format!("irate({}{})", sel(family, &m), range(w.rate)));
        }
        for label in &names.http_code_labels {
            let m = format!("{label}=~\"5.*\"");
            failed.push(format!("irate({}{})", sel(family, &m), range(w.rate)));
        }
        if !failed.is_empty() {
            // `or` keeps a series matched by two alternatives once.
            parts.push((Part::Errors(n), format!("{by} ({})", failed.join(" or "))));
        }
    }
    for (n, q) in QUANTILES.iter().enumerate() {
        let alternatives: Vec<String> = names
            .latency
            .iter()
            .map(|family| {
                let buckets = sel(&format!("{family}_bucket"), "");
                format!(
                    "histogram_quantile({q}, sum by (instance, job, le) (rate({buckets}{})))",
                    range(w.quantile)
                )
            })
            .collect();
        if !alternatives.is_empty() {
            // The first family present wins, per instance.
            parts.push((Part::Quantile(n), alternatives.join(" or ")));
        }
    }
    parts.push((
        Part::Goroutines,
        format!("{by} ({})", sel(&names.goroutines, "")),
    ));
    parts.push((Part::Rss, format!("{by} ({})", sel(&names.rss, ""))));
    let cpu = format!(
        "100 * {by} (irate({}{}))",
        sel(&names.cpu, ""),
        range(w.rate)
    );
    parts.push((Part::Cpu, cpu));
    let mut out = String::new();
    for (i, (part, expr)) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        let _ = write!(
            out,
            "label_replace({expr}, \"{PART_LABEL}\", \"{}\", \"\", \"\")",
            part.tag()
        );
    }
    out
}

fn key_of(labels: &LabelSet) -> Option<(InstanceJob, Part)> {
    let part = Part::parse(labels.get(PART_LABEL)?)?;
    let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
    Some(((get("instance"), get("job")), part))
}

/// An instant answer sorted by instance and job; series without a known part are ignored.
pub fn parts_now(samples: &[Sample]) -> BTreeMap<InstanceJob, Parts> {
    let mut out: BTreeMap<InstanceJob, Parts> = BTreeMap::new();
    for s in samples {
        if let Some((key, part)) = key_of(&s.labels) {
            out.entry(key).or_default().insert(part, s.value);
        }
    }
    out
}

/// A range answer on the grid `start_unix + k * step` (k < `len`), sorted by instance and job;
/// points off the grid or outside it are ignored, steps without a point stay empty.
pub fn parts_history(
    series: &[RangeSeries],
    start_unix: f64,
    step: Duration,
    len: usize,
) -> BTreeMap<InstanceJob, Vec<Parts>> {
    let step = step.as_secs_f64();
    let mut out: BTreeMap<InstanceJob, Vec<Parts>> = BTreeMap::new();
    if step <= 0.0 {
        return out;
    }
    for s in series {
        let Some((key, part)) = key_of(&s.labels) else {
            continue;
        };
        let rows = out.entry(key).or_insert_with(|| vec![Parts::new(); len]);
        for &(t, v) in &s.points {
            let k = ((t - start_unix) / step).round();
            if k >= 0.0 && (k as usize) < len && ((t - start_unix) / step - k).abs() < 0.01 {
                rows[k as usize].insert(part, v);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "promql_tests.rs"]
mod tests;
