//! Decodes a Prometheus text-format page (0.0.4) with `prometheus-parse`, after a strict line
//! check of our own that counts (and names) the lines the parser would drop or misread.

use std::collections::{BTreeMap, BTreeSet};

use prometheus_parse::{Scrape, Value as PValue};

use super::line_check::{LineVerdict, check_line};

/// A metric family's type, as its `# TYPE` line says (untyped when it has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl Kind {
    /// The exposition keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
        }
    }
}

/// Cumulative histogram buckets `(le, count)` sorted by `le`, with `_sum` and `_count` if sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub sum: Option<f64>,
    pub count: Option<f64>,
}

/// One series' value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Counter, gauge or untyped.
    Scalar(f64),
    Histogram(Histogram),
    /// Quantiles `(q, value)` sorted by `q`, with `_sum` and `_count` if sent.
    Summary {
        quantiles: Vec<(f64, f64)>,
        sum: Option<f64>,
        count: Option<f64>,
    },
}

/// Label pairs sorted by name (as the parser returned them).
pub type Labels = Vec<(String, String)>;

/// One labelled series of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub value: Value,
}

/// A metric family: every series sharing a name.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: Kind,
    pub help: String,
    pub series: Vec<Series>,
}

/// The first line that was dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number; `None` when only the count told us (the parser skipped a line our check let through).
    pub number: Option<usize>,
    pub reason: String,
    /// The line, cut to [`BAD_LINE_CHARS`] characters.
    pub text: String,
}

/// How much of a dropped line is kept for display.
pub const BAD_LINE_CHARS: usize = 80;

/// A decoded page: families sorted by name, and what could not be read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub families: Vec<Family>,
    /// Sample lines that were read.
    pub samples: usize,
    /// Sample lines that were dropped (malformed, or skipped by the parser).
    pub dropped: usize,
    pub first_bad: Option<BadLine>,
}

impl Page {
    /// The family called `name`.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families
            .binary_search_by(|f| f.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.families[i])
    }
}

/// Decodes `body`. Never fails: malformed lines are dropped, counted and the first one named.
pub fn decode(body: &str) -> Page {
    let mut page = Page::default();
    let mut kept: Vec<std::io::Result<String>> = Vec::new();
    let mut sample_lines = 0usize;
    for (i, line) in body.split('\n').enumerate() {
        match check_line(line) {
            LineVerdict::Skip => {}
            LineVerdict::Comment => kept.push(Ok(line.to_owned())),
            LineVerdict::Sample => {
                sample_lines += 1;
                kept.push(Ok(line.to_owned()));
            }
            LineVerdict::Bad(reason) => {
                page.dropped += 1;
                if page.first_bad.is_none() {
                    page.first_bad = Some(BadLine {
                        number: Some(i + 1),
                        reason: reason.to_owned(),
                        text: line.chars().take(BAD_LINE_CHARS).collect(),
                    });
                }
            }
        }
    }
    // parse() only fails when the line iterator yields an error, and ours never does.
    let scrape = match Scrape::parse(kept.into_iter()) {
        Ok(scrape) => scrape,
        Err(_) => return page,
    };
    let read: usize = scrape
        .samples
        .iter()
        .map(|s| match &s.value {
            PValue::Histogram(b) => b.len(),
            PValue::Summary(q) => q.len(),
            _ => 1,
        })
        .sum();
    // Histogram and summary `_sum`/`_count` lines come back as samples of their own, so `read`
    // counts every line the parser kept.
    let skipped = sample_lines.saturating_sub(read);
    if skipped > 0 {
        page.dropped += skipped;
        page.first_bad.get_or_insert(BadLine {
            number: None,
            reason: format!("{skipped} line(s) skipped by the parser"),
            text: String::new(),
        });
    }
    page.samples = sample_lines - skipped;
    page.families = assemble(scrape);
    page
}

/// Groups the parser's flat samples into families, attaching `_sum`/`_count` to their histogram or summary.
fn assemble(scrape: Scrape) -> Vec<Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut tails: Vec<(String, Labels, f64)> = Vec::new();
    let grouped: BTreeSet<String> = scrape
        .samples
        .iter()
        .filter(|s| matches!(s.value, PValue::Histogram(_) | PValue::Summary(_)))
        .map(|s| s.metric.clone())
        .collect();
    for sample in scrape.samples {
        let mut labels: Labels = sample
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.sort();
        let (kind, value) = match sample.value {
            PValue::Counter(v) => (Kind::Counter, Value::Scalar(v)),
            PValue::Gauge(v) => (Kind::Gauge, Value::Scalar(v)),
            PValue::Untyped(v) => {
                let base = sample
                    .metric
                    .strip_suffix("_sum")
                    .or_else(|| sample.metric.strip_suffix("_count"));
                if base.is_some_and(|b| grouped.contains(b)) {
                    tails.push((sample.metric.clone(), labels, v));
                    continue;
                }
                (Kind::Untyped, Value::Scalar(v))
            }
            PValue::Histogram(mut b) => {
                b.sort_by(|x, y| x.less_than.total_cmp(&y.less_than));
                let buckets = b.into_iter().map(|c| (c.less_than, c.count)).collect();
                (
                    Kind::Histogram,
                    Value::Histogram(Histogram {
                        buckets,
                        sum: None,
                        count: None,
                    }),
                )
            }
            PValue::Summary(mut q) => {
                q.sort_by(|x, y| x.quantile.total_cmp(&y.quantile));
                let quantiles = q.into_iter().map(|c| (c.quantile, c.count)).collect();
                (
                    Kind::Summary,
                    Value::Summary {
                        quantiles,
                        sum: None,
                        count: None,
                    },
                )
            }
        };
        let help = scrape.docs.get(&sample.metric).cloned().unwrap_or_default();
        families
            .entry(sample.metric.clone())
            .or_insert_with(|| Family {
                name: sample.metric,
                kind,
                help,
                series: Vec::new(),
            })
            .series
            .push(Series { labels, value });
    }
    for (metric, labels, v) in tails {
        let (base, is_sum) = match metric.strip_suffix("_sum") {
            Some(base) => (base, true),
            None => (metric.strip_suffix("_count").unwrap_or(&metric), false),
        };
        let Some(family) = families.get_mut(base) else {
            continue;
        };
        let Some(series) = family.series.iter_mut().find(|s| s.labels == labels) else {
            continue;
        };
        let (sum, count) = match &mut series.value {
            Value::Histogram(h) => (&mut h.sum, &mut h.count),
            Value::Summary { sum, count, .. } => (sum, count),
            Value::Scalar(_) => continue,
        };
        *(if is_sum { sum } else { count }) = Some(v);
    }
    let mut out: Vec<Family> = families.into_values().collect();
    for family in &mut out {
        family.series.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
    out
}

#[cfg(test)]
#[path = "exposition_tests.rs"]
mod tests;
