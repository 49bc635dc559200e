//! Which plan entry a Prometheus target is: by its `instance` (`host:port`) when exactly one
//! entry has a port there, else by its `job` (or `service`) label naming the entry.
//!
//! Names compare loosely: case, `_` for `-`, an `anychat-` prefix and a `-service` suffix do not
//! count (`job="auth"`, `"anychat_auth_service"` and `"auth-service"` are all auth-service).
//! Hosts compare as written, except that `localhost`, `127.0.0.1`, `::1`, `0.0.0.0` and `::` are
//! one host. When several targets are the same entry, one is kept: matched by instance before
//! matched by name, up before down, then the first in Prometheus' order.

use std::collections::BTreeMap;

use super::decode::{Health, LabelSet, ScrapeTarget};
use crate::plan::{EntryId, Plan, ProbeKind, TargetId};

/// How a Prometheus target was tied to a plan entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// Its `instance` is a `host:port` of this entry and of no other.
    Instance,
    /// Its `job` or `service` label names the entry.
    Name,
}

/// A Prometheus target tied to a plan entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub entry: EntryId,
    /// The plan target whose health Prometheus' answers: the one at the instance's address,
    /// else (matched by name) the entry's metrics target, if it has one.
    pub target: Option<TargetId>,
    pub by: MatchedBy,
}

/// The plan, indexed for matching.
#[derive(Debug, Clone, Default)]
pub struct PlanMatcher {
    names: Vec<(String, EntryId)>,
    /// `(host, port)` → targets there, metrics targets first.
    by_addr: BTreeMap<(String, u16), Vec<(EntryId, TargetId)>>,
    metrics_target: BTreeMap<EntryId, TargetId>,
}

/// A name with case, `_`, `anychat-` and `-service` ignored.
pub fn loose_name(name: &str) -> String {
    let n = name.trim().to_lowercase().replace('_', "-");
    let n = n.strip_prefix("anychat-").unwrap_or(&n);
    n.strip_suffix("-service").unwrap_or(n).to_owned()
}

/// A host as compared: lower case, without brackets, every loopback spelling as one.
pub fn host_key(host: &str) -> String {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let h = h.to_lowercase();
    match h.as_str() {
        "localhost" | "127.0.0.1" | "::1" | "0.0.0.0" | "::" => "loopback".into(),
        _ => h,
    }
}

/// `host:port` (or `[v6]:port`) split, when the port is a number.
pub fn split_instance(instance: &str) -> Option<(String, u16)> {
    let (host, port) = instance.rsplit_once(':')?;
    let port = port.parse().ok()?;
    if host.contains(':') && !host.starts_with('[') {
        return None;
    }
    let host = host_key(host);
    (!host.is_empty()).then_some((host, port))
}

impl PlanMatcher {
    /// Indexes `plan`'s entries by name and its targets by address.
    pub fn new(plan: &Plan) -> Self {
        let mut m = PlanMatcher {
            names: plan
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (loose_name(&e.name), EntryId(i)))
                .collect(),
            ..Default::default()
        };
        for (i, t) in plan.targets.iter().enumerate() {
            let id = TargetId(i);
            let at = m.by_addr.entry((host_key(&t.host), t.port)).or_default();
            if t.kind == ProbeKind::Metrics {
                at.insert(0, (t.entry, id));
                m.metrics_target.entry(t.entry).or_insert(id);
            } else {
                at.push((t.entry, id));
            }
        }
        m
    }

    fn named(&self, labels: &LabelSet, among: Option<&[(EntryId, TargetId)]>) -> Option<EntryId> {
        ["job", "service"].iter().find_map(|key| {
            let wanted = loose_name(labels.get(*key)?);
            self.names
                .iter()
                .filter(|(n, _)| *n == wanted)
                .map(|(_, e)| *e)
                .find(|e| among.is_none_or(|a| a.iter().any(|(x, _)| x == e)))
        })
    }

    /// The entry a target with `labels` is, if any.
    pub fn find(&self, labels: &LabelSet) -> Option<Match> {
        let at = labels
            .get("instance")
            .and_then(|i| split_instance(i))
            .and_then(|addr| self.by_addr.get(&addr))
            .filter(|at| !at.is_empty());
        match at {
            Some(at) if at.iter().all(|(e, _)| *e == at[0].0) => Some(Match {
                entry: at[0].0,
                target: Some(at[0].1),
                by: MatchedBy::Instance,
            }),
            Some(at) => {
                // A shared address (the plan's 2112): the name decides among those there.
                let entry = self.named(labels, Some(at))?;
                let target = at.iter().find(|(e, _)| *e == entry).map(|(_, t)| *t);
                Some(Match {
                    entry,
                    target,
                    by: MatchedBy::Name,
                })
            }
            None => {
                let entry = self.named(labels, None)?;
                Some(Match {
                    entry,
                    target: self.metrics_target.get(&entry).copied(),
                    by: MatchedBy::Name,
                })
            }
        }
    }

    /// Matches every target, one per entry (see the module doc); returns `(index in
    /// targets, match)` in entry order, and how many targets are not the plan's.
    pub fn match_all(&self, targets: &[ScrapeTarget]) -> (Vec<(usize, Match)>, usize) {
        let mut best: BTreeMap<EntryId, (usize, Match)> = BTreeMap::new();
        let mut unmatched = 0;
        let rank = |i: usize, m: &Match| (m.by, targets[i].health != Health::Up, i);
        for (i, t) in targets.iter().enumerate() {
            let Some(m) = self.find(&t.labels) else {
                unmatched += 1;
                continue;
            };
            match best.get(&m.entry) {
                Some((j, old)) if rank(*j, old) <= rank(i, &m) => {}
                _ => {
                    best.insert(m.entry, (i, m));
                }
            }
        }
        (best.into_values().collect(), unmatched)
    }
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
