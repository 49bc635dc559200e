//! Every series of a service's latest page, flattened as Prometheus stores them
//! (`_bucket{le}`, `_sum`, `_count`), with a history each, up to a cap per service.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::Instant;

use super::history::{HISTORY_LEN, History};
use crate::metrics::exposition::{Family, Kind, Page, Value};

/// Series kept per service unless configured otherwise (a page beyond it is cut).
pub const DEFAULT_SERIES_CAP: usize = 2000;

/// One family as the explorer lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyRow {
    pub name: String,
    pub kind: Kind,
    pub help: String,
    /// Keys (`name{labels}`) of its flattened series with their current values.
    pub series: Vec<(String, f64)>,
}

/// The explorer's store for one service.
#[derive(Debug, Clone, Default)]
pub struct SeriesStore {
    pub families: Vec<FamilyRow>,
    /// Some series were not kept because the cap was reached.
    pub capped: bool,
    /// Flattened series on the latest page (kept or not).
    pub total: usize,
    times: VecDeque<Instant>,
    histories: BTreeMap<String, History>,
}

impl SeriesStore {
    /// Replaces the families with `page`'s and appends a sample to every kept series.
    pub fn record(&mut self, page: &Page, at: Instant, cap: usize) {
        let mut kept = 0usize;
        self.total = 0;
        self.capped = false;
        self.families.clear();
        let mut seen: Vec<(String, f64)> = Vec::new();
        for family in &page.families {
            let flat = flatten(family);
            self.total += flat.len();
            let room = cap.saturating_sub(kept);
            if flat.len() > room {
                self.capped = true;
            }
            let series: Vec<(String, f64)> = flat.into_iter().take(room).collect();
            kept += series.len();
            seen.extend(series.iter().cloned());
            self.families.push(FamilyRow {
                name: family.name.clone(),
                kind: family.kind,
                help: family.help.clone(),
                series,
            });
        }
        if self.times.len() == HISTORY_LEN {
            self.times.pop_front();
        }
        self.times.push_back(at);
        let samples = self.times.len();
        // Series gone from the page get a gap; new ones start with gaps before them.
        let mut current: BTreeMap<String, f64> = seen.into_iter().collect();
        for (key, history) in &mut self.histories {
            history.push(current.remove(key));
        }
        for (key, value) in current {
            let mut history = History::default();
            for _ in 1..samples {
                history.push(None);
            }
            history.push(Some(value));
            self.histories.insert(key, history);
        }
        // Forget series absent for a whole history.
        self.histories
            .retain(|_, h| h.values().any(|v| !v.is_nan()));
        while self.histories.len() > cap {
            let Some(key) = self.histories.keys().next().cloned() else {
                break;
            };
            self.histories.remove(&key);
        }
    }

    /// The `(time, value)` points of series `key`, oldest first.
    pub fn points(&self, key: &str) -> Vec<(Instant, f64)> {
        let Some(h) = self.histories.get(key) else {
            return Vec::new();
        };
        let skip = self.times.len().saturating_sub(h.len());
        self.times
            .iter()
            .skip(skip)
            .copied()
            .zip(h.values())
            .filter(|(_, v)| !v.is_nan())
            .collect()
    }

    /// Families whose name or help contains `filter` (case-insensitive), and series matching it.
    pub fn filtered(&self, filter: &str) -> Vec<&FamilyRow> {
        let needle = filter.to_lowercase();
        self.families
            .iter()
            .filter(|f| {
                needle.is_empty()
                    || f.name.to_lowercase().contains(&needle)
                    || f.help.to_lowercase().contains(&needle)
                    || f.series
                        .iter()
                        .any(|(k, _)| k.to_lowercase().contains(&needle))
            })
            .collect()
    }
}

/// `name{a="b",le="0.1"}` keys and values of every flattened series of `family`.
pub fn flatten(family: &Family) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for series in &family.series {
        let labels = &series.labels;
        match &series.value {
            Value::Scalar(v) => out.push((key(&family.name, labels, None), *v)),
            Value::Histogram(h) => {
                let name = format!("{}_bucket", family.name);
                for &(le, n) in &h.buckets {
                    out.push((key(&name, labels, Some(("le", le))), n));
                }
                tails(&mut out, &family.name, labels, h.sum, h.count);
            }
            Value::Summary {
                quantiles,
                sum,
                count,
            } => {
                for &(q, v) in quantiles {
                    out.push((key(&family.name, labels, Some(("quantile", q))), v));
                }
                tails(&mut out, &family.name, labels, *sum, *count);
            }
        }
    }
    out
}

fn tails(
    out: &mut Vec<(String, f64)>,
    name: &str,
    labels: &[(String, String)],
    sum: Option<f64>,
    count: Option<f64>,
) {
    if let Some(sum) = sum {
        out.push((key(&format!("{name}_sum"), labels, None), sum));
    }
    if let Some(count) = count {
        out.push((key(&format!("{name}_count"), labels, None), count));
    }
}

fn key(name: &str, labels: &[(String, String)], extra: Option<(&str, f64)>) -> String {
    let mut s = name.to_owned();
    if labels.is_empty() && extra.is_none() {
        return s;
    }
    s.push('{');
    let mut first = true;
    for (k, v) in labels {
        let _ = write!(s, "{}{k}=\"{v}\"", if first { "" } else { "," });
        first = false;
    }
    if let Some((k, v)) = extra {
        let v = if v == f64::INFINITY {
            "+Inf".to_owned()
        } else {
            v.to_string()
        };
        let _ = write!(s, "{}{k}=\"{v}\"", if first { "" } else { "," });
    }
    s.push('}');
    s
}
