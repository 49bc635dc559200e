//! The plan's targets by distinct (host, port, probe): the real plan puts every service's
//! metrics on one port, and that port is probed once per round, its result fanned out to every
//! target that shares it.

use std::collections::HashMap;

use super::prober::{ProbeConfig, Prober, http_client};
use super::sweep::sweep;
use crate::health::ProbeResult;
use crate::plan::{Plan, ProbeSpec, TargetId};

/// One prober per distinct check, and which targets each one answers for.
pub struct DistinctTargets {
    /// One per distinct (host, port, probe), in order of first appearance.
    pub probers: Vec<Prober>,
    /// The targets each prober answers for (never empty).
    pub members: Vec<Vec<TargetId>>,
    /// For each target: the index of its prober.
    pub prober_of: Vec<usize>,
}

impl DistinctTargets {
    /// The distinct checks of `plan`, sharing one HTTP client.
    pub fn new(plan: &Plan, cfg: &ProbeConfig) -> DistinctTargets {
        let http = http_client(cfg);
        let mut index: HashMap<(&str, u16, &ProbeSpec), usize> = HashMap::new();
        let mut probers = Vec::new();
        let mut members: Vec<Vec<TargetId>> = Vec::new();
        let mut prober_of = Vec::with_capacity(plan.targets.len());
        for (i, t) in plan.targets.iter().enumerate() {
            let key = (t.host.as_str(), t.port, &t.probe);
            let at = *index.entry(key).or_insert_with(|| {
                probers.push(Prober::new(t, &http, cfg));
                members.push(Vec::new());
                probers.len() - 1
            });
            members[at].push(TargetId(i));
            prober_of.push(at);
        }
        DistinctTargets {
            probers,
            members,
            prober_of,
        }
    }
}

/// One concurrent round over the distinct checks of `plan`; results in target order.
pub async fn sweep_plan(plan: &Plan, cfg: &ProbeConfig) -> Vec<ProbeResult> {
    let mut distinct = DistinctTargets::new(plan, cfg);
    let results = sweep(&mut distinct.probers).await;
    distinct
        .prober_of
        .iter()
        .map(|&p| results[p].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PlanOptions, Source, build_plan};

    #[test]
    fn the_shared_metrics_port_is_one_check_for_every_service() {
        let plan = build_plan(&[Source::anychat()], &PlanOptions::default()).unwrap();
        let distinct = DistinctTargets::new(&plan, &ProbeConfig::default());
        let metrics: Vec<usize> = plan
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.port == 2112)
            .map(|(i, _)| distinct.prober_of[i])
            .collect();
        assert!(metrics.len() >= 12, "{metrics:?}");
        assert!(
            metrics.iter().all(|&p| p == metrics[0]),
            "one check for 2112"
        );
        assert_eq!(distinct.members[metrics[0]].len(), metrics.len());
        assert_eq!(
            distinct.probers.len(),
            plan.targets.len() - metrics.len() + 1,
            "every other target has a check of its own"
        );
        for (p, targets) in distinct.members.iter().enumerate() {
            assert!(targets.iter().all(|t| distinct.prober_of[t.0] == p));
        }
    }
}
