//! One look at the engine for `check`: connect, list, match and inspect once, no streams.

use std::time::{Duration, Instant, SystemTime};

use bollard::query_parameters::ListContainersOptionsBuilder;

use super::connect::{EngineAddress, connect, within};
use super::decode::{container_info, running_for};
use super::facts::{DockerFact, EngineProblem, WantedContainer};
use super::matching::{Candidate, match_all};
use crate::plan::Plan;

/// `Connected` then one `ContainerSeen` or `ContainerMissing` per wanted entry, each request
/// within `timeout`; Err when the engine cannot be used.
pub async fn snapshot(
    host: Option<&str>,
    wanted: &[WantedContainer],
    timeout: Duration,
) -> Result<Vec<DockerFact>, EngineProblem> {
    let address = EngineAddress::parse(host);
    let conn = connect(&address, timeout).await?;
    let mut facts = vec![DockerFact::Connected {
        host: address.display(),
        engine_version: conn.engine_version.clone(),
        api_version: conn.api_version.clone(),
    }];
    let options = ListContainersOptionsBuilder::new().all(true).build();
    let listed = within(
        timeout,
        &address,
        conn.docker.list_containers(Some(options)),
    )
    .await?;
    let candidates: Vec<Candidate> = listed.iter().filter_map(Candidate::from_summary).collect();
    let absolute: Vec<WantedContainer> = wanted
        .iter()
        .map(|w| WantedContainer {
            compose_file: w.compose_file.as_ref().map(|f| {
                std::fs::canonicalize(f)
                    .or_else(|_| std::path::absolute(f))
                    .unwrap_or_else(|_| f.clone())
            }),
            ..w.clone()
        })
        .collect();
    for m in match_all(&absolute, &candidates) {
        let Some((id, by)) = m.found else {
            facts.push(DockerFact::ContainerMissing {
                entry: m.entry,
                foreign: m.foreign,
            });
            continue;
        };
        let inspect = within(timeout, &address, conn.docker.inspect_container(&id, None)).await?;
        let info = container_info(&inspect, by);
        facts.push(DockerFact::ContainerSeen {
            entry: m.entry,
            running_for: running_for(&info, SystemTime::now()),
            info,
            at: Instant::now(),
        });
    }
    Ok(facts)
}

/// The entries of `plan` that run as containers (`runs = "container"`), with their container
/// name and compose fields.
pub fn wanted_from_plan(plan: &Plan) -> Vec<WantedContainer> {
    plan.entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.runs {
            crate::plan::Runs::Container(spec) => Some(WantedContainer {
                entry: crate::plan::EntryId(i),
                container_name: e.container.clone(),
                compose_service: spec.compose_service.clone(),
                compose_project: spec.compose_project.clone(),
                compose_file: spec.compose_file.clone(),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PlanOptions, Source, build_plan};
    use crate::plan::EntryKind;

    #[test]
    fn the_built_in_plan_wants_its_infra_containers() {
        let plan =
            build_plan(&[Source::anychat()], &PlanOptions::default()).expect("built-in plan");
        let wanted = wanted_from_plan(&plan);
        let names: Vec<&str> = wanted
            .iter()
            .filter_map(|w| w.container_name.as_deref())
            .collect();
        assert!(
            names.contains(&"anychat-postgres") && names.contains(&"anychat-livekit"),
            "{names:?}"
        );
        for w in &wanted {
            assert_eq!(plan.entries[w.entry.0].kind, EntryKind::Infra);
        }
        let infra_with_container = plan
            .entries
            .iter()
            .filter(|e| e.container.is_some())
            .count();
        assert_eq!(wanted.len(), infra_with_container);
        let redis = wanted
            .iter()
            .find(|w| w.container_name.as_deref() == Some("anychat-redis"))
            .expect("redis");
        assert_eq!(redis.compose_service.as_deref(), Some("redis"));
        assert_eq!(redis.compose_project.as_deref(), Some("deployments"));
        assert_eq!(
            redis.compose_file.as_deref(),
            Some(std::path::Path::new("deployments/docker-compose.yml"))
        );
        let demo = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
        assert!(
            wanted_from_plan(&demo).is_empty(),
            "the demo's infra are stub processes"
        );
    }
}
