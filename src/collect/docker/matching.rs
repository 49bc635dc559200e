//! Which container is each entry's: by name, by compose labels, or by compose file under
//! another project name. Containers of other projects are never ours.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

use super::decode::{
    CONFIG_FILES_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, WORKING_DIR_LABEL,
};
use super::facts::{MatchedBy, WantedContainer};
use crate::plan::EntryId;

/// What matching needs to know of one container (from the container list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    /// Names without the leading `/` (links such as `/a/b` left out).
    pub names: Vec<String>,
    pub labels: HashMap<String, String>,
    pub running: bool,
    /// Creation time, seconds since the epoch.
    pub created: i64,
}

impl Candidate {
    /// From one entry of `GET /containers/json`; None without an id.
    pub fn from_summary(summary: &ContainerSummary) -> Option<Candidate> {
        let id = summary.id.clone().filter(|id| !id.is_empty())?;
        let names = summary
            .names
            .iter()
            .flatten()
            .map(|n| n.trim_start_matches('/'))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .map(str::to_string)
            .collect();
        Some(Candidate {
            id,
            names,
            labels: summary.labels.clone().unwrap_or_default(),
            running: summary.state == Some(ContainerSummaryStateEnum::RUNNING),
            created: summary.created.unwrap_or(0),
        })
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// The compose files it was started from, made absolute with the project's working directory.
    fn config_files(&self) -> Vec<PathBuf> {
        let dir = self.label(WORKING_DIR_LABEL).map(Path::new);
        self.label(CONFIG_FILES_LABEL)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| match dir {
                Some(dir) if Path::new(f).is_relative() => dir.join(f),
                _ => PathBuf::from(f),
            })
            .collect()
    }
}

/// The outcome of matching one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub entry: EntryId,
    /// The chosen container (None = missing) and why it is ours.
    pub found: Option<(String, MatchedBy)>,
    /// Names of containers with the entry's service label in other projects: not ours.
    pub foreign: Vec<String>,
}

/// Matches every wanted entry against `candidates`. Per entry the best kind of match wins
/// (name, then project labels, then compose file); among equals a running one, then the newest.
/// `wanted` compose files should be absolute (the worker makes them so).
pub fn match_all(wanted: &[WantedContainer], candidates: &[Candidate]) -> Vec<Match> {
    wanted.iter().map(|w| match_one(w, candidates)).collect()
}

fn match_one(wanted: &WantedContainer, candidates: &[Candidate]) -> Match {
    let mut best: Option<(u8, &Candidate, MatchedBy)> = None;
    let mut foreign = Vec::new();
    for c in candidates {
        let Some((rank, by)) = classify(wanted, c) else {
            if is_foreign(wanted, c) {
                foreign.push(c.names.first().cloned().unwrap_or_else(|| short(&c.id)));
            }
            continue;
        };
        let better = match &best {
            None => true,
            Some((best_rank, b, _)) => {
                (rank, c.running, c.created) > (*best_rank, b.running, b.created)
            }
        };
        if better {
            best = Some((rank, c, by));
        }
    }
    foreign.sort();
    Match {
        entry: wanted.entry,
        found: best.map(|(_, c, by)| (c.id.clone(), by)),
        foreign,
    }
}

/// Whether `c` is the entry's, how strongly (higher is better) and why.
fn classify(wanted: &WantedContainer, c: &Candidate) -> Option<(u8, MatchedBy)> {
    if let Some(name) = &wanted.container_name
        && c.names.iter().any(|n| n == name)
    {
        return Some((3, MatchedBy::Name));
    }
    if c.label(ONEOFF_LABEL)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    let service = wanted.compose_service.as_deref()?;
    if c.label(SERVICE_LABEL) != Some(service) {
        return None;
    }
    let project = c.label(PROJECT_LABEL)?;
    if wanted.compose_project.as_deref() == Some(project) {
        return Some((2, MatchedBy::ComposeLabels));
    }
    let file = wanted.compose_file.as_deref()?;
    if c.config_files().iter().any(|f| f == file) {
        return Some((
            1,
            MatchedBy::ComposeFile {
                project: project.to_string(),
            },
        ));
    }
    None
}

/// A container with the entry's service label in another project (worth naming, never ours).
fn is_foreign(wanted: &WantedContainer, c: &Candidate) -> bool {
    wanted
        .compose_service
        .as_deref()
        .is_some_and(|s| c.label(SERVICE_LABEL) == Some(s))
}

/// The 12-character id docker shows.
pub fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(name: Option<&str>, service: Option<&str>, project: Option<&str>) -> WantedContainer {
        WantedContainer {
            entry: EntryId(0),
            container_name: name.map(str::to_string),
            compose_service: service.map(str::to_string),
            compose_project: project.map(str::to_string),
            compose_file: Some(PathBuf::from("/src/anychat/deployments/docker-compose.yml")),
        }
    }

    fn candidate(id: &str, name: &str, labels: &[(&str, &str)], running: bool) -> Candidate {
        Candidate {
            id: id.into(),
            names: vec![name.into()],
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            running,
            created: 0,
        }
    }

    #[test]
    fn name_beats_labels_and_labels_beat_the_compose_file() {
        let w = wanted(Some("anychat-redis"), Some("redis"), Some("deployments"));
        let by_file = candidate(
            "f",
            "other_redis_1",
            &[
                (PROJECT_LABEL, "other"),
                (SERVICE_LABEL, "redis"),
                (CONFIG_FILES_LABEL, "docker-compose.yml"),
                (WORKING_DIR_LABEL, "/src/anychat/deployments"),
            ],
            true,
        );
        let by_labels = candidate(
            "l",
            "deployments_redis_1",
            &[(PROJECT_LABEL, "deployments"), (SERVICE_LABEL, "redis")],
            false,
        );
        let by_name = candidate("n", "anychat-redis", &[], false);
        let all = [by_file.clone(), by_labels.clone(), by_name];
        assert_eq!(
            match_one(&w, &all).found,
            Some(("n".into(), MatchedBy::Name))
        );
        let two = [by_file.clone(), by_labels];
        assert_eq!(
            match_one(&w, &two).found,
            Some(("l".into(), MatchedBy::ComposeLabels))
        );
        let m = match_one(&w, &[by_file]);
        let by = MatchedBy::ComposeFile {
            project: "other".into(),
        };
        assert_eq!(m.found, Some(("f".into(), by)));
    }

    #[test]
    fn another_projects_service_is_foreign_not_ours() {
        let w = wanted(Some("anychat-redis"), Some("redis"), Some("deployments"));
        let theirs = candidate(
            "x",
            "shop_redis_1",
            &[
                (PROJECT_LABEL, "shop"),
                (SERVICE_LABEL, "redis"),
                (CONFIG_FILES_LABEL, "/src/shop/docker-compose.yml"),
            ],
            true,
        );
        let oneoff = candidate(
            "o",
            "deployments_redis_run_1",
            &[
                (PROJECT_LABEL, "deployments"),
                (SERVICE_LABEL, "redis"),
                (ONEOFF_LABEL, "True"),
            ],
            true,
        );
        let m = match_one(&w, &[theirs, oneoff]);
        assert_eq!(m.found, None);
        assert_eq!(m.foreign, vec!["deployments_redis_run_1", "shop_redis_1"]);
    }

    #[test]
    fn among_equals_a_running_then_the_newest_wins() {
        let w = wanted(None, Some("redis"), Some("deployments"));
        let labels = [(PROJECT_LABEL, "deployments"), (SERVICE_LABEL, "redis")];
        let mut old_running = candidate("a", "r1", &labels, true);
        old_running.created = 1;
        let mut new_stopped = candidate("b", "r2", &labels, false);
        new_stopped.created = 2;
        let mut newer_running = candidate("c", "r3", &labels, true);
        newer_running.created = 3;
        let found = |cs: &[Candidate]| match_one(&w, cs).found.map(|(id, _)| id);
        assert_eq!(
            found(&[old_running.clone(), new_stopped.clone()]),
            Some("a".into())
        );
        assert_eq!(
            found(&[old_running, new_stopped, newer_running]),
            Some("c".into())
        );
    }

    #[test]
    fn an_entry_without_name_or_service_matches_nothing() {
        let w = wanted(None, None, None);
        let c = candidate("a", "anychat-redis", &[(SERVICE_LABEL, "redis")], true);
        assert_eq!(
            match_one(&w, &[c]),
            Match {
                entry: EntryId(0),
                found: None,
                foreign: vec![]
            }
        );
    }

    #[test]
    fn summaries_drop_slashes_and_links() {
        let summary = ContainerSummary {
            id: Some("abc".into()),
            names: Some(vec!["/anychat-nats".into(), "/gateway/nats".into()]),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            ..Default::default()
        };
        let c = Candidate::from_summary(&summary).expect("has an id");
        assert_eq!(c.names, vec!["anychat-nats"]);
        assert!(c.running);
        assert_eq!(Candidate::from_summary(&ContainerSummary::default()), None);
    }
}
