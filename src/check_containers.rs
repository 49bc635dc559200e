//! `check`'s look at Docker: one snapshot of the engine (no streams) turned into each
//! container entry's name, state and engine health, and the engine's trouble in words.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::collect::docker::{DockerFact, snapshot, wanted_from_plan};
use crate::plan::{EntryId, Plan};
use crate::state::docker::{ContainerCheck, DockerState};

/// What `check` says of Docker: per container entry its check, and the engine's trouble
/// (what is wrong; the fix) when it cannot be used. Empty without container entries.
#[derive(Debug, Default)]
pub struct ContainerChecks {
    pub entries: BTreeMap<EntryId, ContainerCheck>,
    pub engine_problem: Option<String>,
}

/// Asks the engine at `host` (`DOCKER_HOST`; None = the default socket) once, each request
/// within `timeout`.
pub async fn check_containers(
    plan: &Plan,
    host: Option<&str>,
    timeout: Duration,
) -> ContainerChecks {
    let wanted = wanted_from_plan(plan);
    if wanted.is_empty() {
        return ContainerChecks::default();
    }
    let facts = snapshot(host, &wanted, timeout).await;
    let mut state = DockerState::new(&wanted);
    let now = Instant::now();
    let engine_problem = match &facts {
        Ok(facts) => {
            for fact in facts {
                state.apply(fact, now);
            }
            None
        }
        Err(problem) => {
            let fix = problem
                .fix()
                .map_or_else(String::new, |f| format!(" (fix: {f})"));
            state.apply(
                &DockerFact::Unavailable {
                    host: host.unwrap_or(crate::collect::docker::DEFAULT_HOST).into(),
                    problem: problem.clone(),
                    retry_in: Duration::ZERO,
                },
                now,
            );
            Some(format!("{}{fix}", problem.words()))
        }
    };
    let entries = wanted
        .iter()
        .filter_map(|w| Some((w.entry, state.check(w.entry, now)?)))
        .collect();
    ContainerChecks {
        entries,
        engine_problem,
    }
}
