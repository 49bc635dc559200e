//! A target's series as Prometheus stores them (`{instance=…,job=…}`), turned back into the
//! page the service served, so the explorer lists the same families whichever source feeds it.
//!
//! Types and help come from `/api/v1/targets/metadata`; without them, `_bucket` series with an
//! `le` label make a histogram, series with a `quantile` label a summary, the rest untyped.
//! The series Prometheus adds itself (`up`, `scrape_*`) and the target's labels are left out.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::decode::{LabelSet, PromError, Sample, answer};
use crate::metrics::exposition::{Family, Histogram, Kind, Labels, Page, Series, Value};

/// A family's type and help, as the target's metadata says.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyMeta {
    pub kind: Kind,
    pub help: String,
}

/// Metadata by family name.
pub type Metadata = BTreeMap<String, FamilyMeta>;

#[derive(Deserialize)]
struct RawMeta {
    #[serde(default)]
    metric: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    help: String,
}

/// Decodes `/api/v1/targets/metadata` (one target's families).
pub fn decode_metadata(http: u16, body: &[u8]) -> Result<Metadata, PromError> {
    let raw: Vec<RawMeta> = answer(http, body)?;
    Ok(raw
        .into_iter()
        .filter(|m| !m.metric.is_empty())
        .map(|m| {
            let kind = match m.kind.as_str() {
                "counter" => Kind::Counter,
                "gauge" => Kind::Gauge,
                "histogram" => Kind::Histogram,
                "summary" => Kind::Summary,
                _ => Kind::Untyped,
            };
            let meta = FamilyMeta { kind, help: m.help };
            (m.metric, meta)
        })
        .collect())
}

/// Which part of a family a series is.
enum Role {
    Scalar,
    Bucket(f64),
    Quantile(f64),
    Sum,
    Count,
}

#[derive(Default)]
struct Builder {
    scalar: Option<f64>,
    points: Vec<(f64, f64)>,
    sum: Option<f64>,
    count: Option<f64>,
}

fn number(s: Option<&String>) -> Option<f64> {
    s.and_then(|s| super::decode::parse_value(s))
}

/// The page `samples` (one target's series) stand for; `target` are the labels Prometheus
/// gave the target (left out of every series).
pub fn page_from_samples(samples: &[Sample], target: &LabelSet, meta: &Metadata) -> Page {
    let kind_of = |name: &str| meta.get(name).map(|m| m.kind);
    // Families told by their labels alone, for targets without metadata.
    let mut guessed: BTreeMap<String, Kind> = BTreeMap::new();
    for s in samples {
        let Some(name) = s.labels.get("__name__") else {
            continue;
        };
        if let Some(base) = name.strip_suffix("_bucket")
            && s.labels.contains_key("le")
            && kind_of(base).is_none()
        {
            guessed.insert(base.to_owned(), Kind::Histogram);
        } else if s.labels.contains_key("quantile") && kind_of(name).is_none() {
            guessed.insert(name.clone(), Kind::Summary);
        }
    }
    let kind_of = |name: &str| kind_of(name).or_else(|| guessed.get(name).copied());
    let mut families: BTreeMap<String, BTreeMap<Labels, Builder>> = BTreeMap::new();
    let mut used = 0;
    for s in samples {
        let Some(name) = s.labels.get("__name__") else {
            continue;
        };
        if meta.get(name).is_none() && (name == "up" || name.starts_with("scrape_")) {
            continue;
        }
        let split = |suffix: &str| {
            let base = name.strip_suffix(suffix)?;
            matches!(kind_of(base), Some(Kind::Histogram | Kind::Summary)).then_some(base)
        };
        let (family, role) = if let Some(base) = split("_bucket") {
            match number(s.labels.get("le")) {
                Some(le) => (base, Role::Bucket(le)),
                None => continue,
            }
        } else if let Some(base) = split("_sum") {
            (base, Role::Sum)
        } else if let Some(base) = split("_count") {
            (base, Role::Count)
        } else if kind_of(name) == Some(Kind::Summary) {
            match number(s.labels.get("quantile")) {
                Some(q) => (name.as_str(), Role::Quantile(q)),
                None => continue,
            }
        } else {
            (name.as_str(), Role::Scalar)
        };
        let labels: Labels = s
            .labels
            .iter()
            .filter(|(k, v)| {
                !(k.as_str() == "__name__"
                    || target.get(*k) == Some(*v)
                    || (k.as_str() == "le" && matches!(role, Role::Bucket(_)))
                    || (k.as_str() == "quantile" && matches!(role, Role::Quantile(_))))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let b = families
            .entry(family.to_owned())
            .or_default()
            .entry(labels)
            .or_default();
        match role {
            Role::Scalar => b.scalar = Some(s.value),
            Role::Bucket(at) | Role::Quantile(at) => b.points.push((at, s.value)),
            Role::Sum => b.sum = Some(s.value),
            Role::Count => b.count = Some(s.value),
        }
        used += 1;
    }
    let mut page = Page {
        samples: used,
        ..Page::default()
    };
    for (name, series) in families {
        let kind = kind_of(&name).unwrap_or(Kind::Untyped);
        let help = meta.get(&name).map_or(String::new(), |m| m.help.clone());
        let series = series
            .into_iter()
            .filter_map(|(labels, mut b)| {
                b.points.sort_by(|a, b| a.0.total_cmp(&b.0));
                let value = match kind {
                    Kind::Histogram => Value::Histogram(Histogram {
                        buckets: b.points,
                        sum: b.sum,
                        count: b.count,
                    }),
                    Kind::Summary => Value::Summary {
                        quantiles: b.points,
                        sum: b.sum,
                        count: b.count,
                    },
                    _ => Value::Scalar(b.scalar?),
                };
                Some(Series { labels, value })
            })
            .collect();
        page.families.push(Family {
            name,
            kind,
            help,
            series,
        });
    }
    page
}

#[cfg(test)]
#[path = "series_tests.rs"]
mod tests;
