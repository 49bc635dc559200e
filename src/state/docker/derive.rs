//! Values derived from the Docker sub-state: an entry's row (with flags against our probe
//! verdict), the command for a key, the compose offer for a missing container, `check`'s
//! fields, and the published ports for the port scanner.

use std::time::Instant;

use super::{
    Connection, ContainerCheck, ContainerRow, DockerFlag, DockerState, EntryContainer, PORT_GRACE,
    PortVerdict,
};
use crate::collect::docker::{
    ComposeUp, ContainerAction, ContainerState, DockerCommand, EngineHealth, PublishedPort,
    compose_up,
};
use crate::plan::EntryId;

impl DockerState {
    /// The row of `entry` at `now`, its flags judged against `probe` (our probes of its
    /// ports); None when the entry is not run by a container.
    pub fn row(&self, entry: EntryId, probe: PortVerdict, now: Instant) -> Option<ContainerRow> {
        let e = self.entries.get(&entry)?;
        let wanted_name = e
            .wanted
            .container_name
            .clone()
            .or_else(|| e.wanted.compose_service.clone())
            .unwrap_or_default();
        let connected = matches!(self.connection, Connection::Connected { .. });
        let mut row = ContainerRow {
            name: wanted_name,
            state: String::new(),
            health: None,
            uptime: None,
            ports: Vec::new(),
            cpu_percent: None,
            memory_bytes: None,
            matched_by: None,
            flags: Vec::new(),
            hint: None,
        };
        if !connected {
            // Why is said once, with the connection.
            row.state = "unknown".into();
            return Some(row);
        }
        if !e.known {
            row.state = "looking".into();
            return Some(row);
        }
        let Some(seen) = &e.seen else {
            row.state = "missing".into();
            row.hint = Some(self.missing_hint(e));
            if matches!(probe, PortVerdict::Up | PortVerdict::Unhealthy) {
                row.flags.push(DockerFlag::PortAnswersWithoutContainer);
            }
            return Some(row);
        };
        let info = &seen.info;
        row.name = info.name.clone();
        row.state = info.state.words();
        row.health = Some(info.health);
        row.uptime = seen
            .running_for
            .filter(|_| info.state.is_live())
            .map(|d| d + now.saturating_duration_since(seen.at));
        row.ports = info.ports.clone();
        row.cpu_percent = e.usage.and_then(|u| u.cpu_percent);
        row.memory_bytes = e.usage.and_then(|u| u.memory_bytes);
        row.matched_by = Some(info.matched_by.clone());
        let past_grace = row.uptime.is_some_and(|u| u >= PORT_GRACE);
        let probe_fails = matches!(probe, PortVerdict::Down | PortVerdict::Unhealthy);
        if info.health == EngineHealth::Healthy && probe_fails {
            row.flags.push(DockerFlag::HealthyButProbeFails);
        } else if info.state == ContainerState::Running
            && info.health != EngineHealth::Starting
            && probe == PortVerdict::Down
            && past_grace
        {
            row.flags.push(DockerFlag::RunningPortSilent);
        }
        row.hint = match &e.action {
            Some((action, Some(Err(why)))) => Some(format!("{} failed: {why}", action.verb())),
            _ => info.error.clone(),
        };
        Some(row)
    }

    fn missing_hint(&self, e: &EntryContainer) -> String {
        let looked = match (&e.wanted.container_name, &e.wanted.compose_service) {
            (Some(name), _) => format!("no container {name}"),
            (None, Some(service)) => format!("no container of compose service {service}"),
            (None, None) => "no container named in the manifest".into(),
        };
        let foreign = if e.foreign.is_empty() {
            String::new()
        } else {
            format!(" ({} of another project, left alone)", e.foreign.join(", "))
        };
        if let Some((up, outcome)) = &e.compose {
            return match outcome {
                None => format!("{looked}: running {}", up.display()),
                Some(Ok(())) => format!("{looked}: {} done, waiting for it", up.display()),
                Some(Err(why)) => format!("{looked}: {why}"),
            };
        }
        let how = match (self.compose_offer(e.wanted.entry), &e.wanted.compose_file) {
            (Some(up), _) => format!("start creates it with: {}", up.display()),
            (None, Some(file)) => format!(
                "create it with docker-compose -f {} up -d (neither docker-compose nor docker compose was found)",
                file.display()
            ),
            (None, None) => {
                "create it (docker run --name ..., or name its compose file in the manifest)".into()
            }
        };
        format!("{looked}{foreign}: {how}")
    }

    /// The command a start, stop or restart key asks for: an action on the matched
    /// container, or (start of a missing container) the compose `up` to confirm first.
    /// Err says in words why there is nothing to do.
    pub fn command(
        &self,
        entry: EntryId,
        action: ContainerAction,
    ) -> Result<DockerCommand, String> {
        let e = self.entries.get(&entry).ok_or("not a container entry")?;
        if !matches!(self.connection, Connection::Connected { .. }) {
            return Err(self.connection_words(Instant::now()).0);
        }
        if let Some(seen) = &e.seen {
            return Ok(DockerCommand::Act {
                entry,
                container_id: seen.info.id.clone(),
                action,
            });
        }
        match (action, self.compose_offer(entry)) {
            (ContainerAction::Start, Some(up)) => Ok(DockerCommand::ComposeUp { entry, up }),
            _ if !e.known => Err("still looking for the container".into()),
            _ => Err(self.missing_hint(e)),
        }
    }

    /// `docker-compose -f FILE up -d SERVICE` for a missing container whose entry names a
    /// compose file and service, when a compose program exists.
    pub fn compose_offer(&self, entry: EntryId) -> Option<ComposeUp> {
        let e = self.entries.get(&entry)?;
        if e.seen.is_some() {
            return None;
        }
        Some(compose_up(
            self.compose_program.as_ref()?,
            e.wanted.compose_file.as_ref()?,
            e.wanted.compose_project.as_deref(),
            e.wanted.compose_service.as_deref()?,
        ))
    }

    /// Container name, state and engine health of `entry` for `check`.
    pub fn check(&self, entry: EntryId, now: Instant) -> Option<ContainerCheck> {
        let row = self.row(entry, PortVerdict::Unknown, now)?;
        Some(ContainerCheck {
            container: row.name,
            state: row.state,
            engine_health: row.health.map(EngineHealth::as_str),
        })
    }

    /// Every published port of a matched container with the container's name: a planned
    /// port held by docker-proxy belongs to that container.
    pub fn published(&self) -> Vec<(EntryId, String, PublishedPort)> {
        self.entries
            .iter()
            .filter_map(|(id, e)| e.seen.as_ref().map(|s| (id, s)))
            .flat_map(|(id, s)| {
                s.info
                    .ports
                    .iter()
                    .map(|p| (*id, s.info.name.clone(), p.clone()))
            })
            .collect()
    }
}
