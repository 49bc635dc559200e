//! From the engine's answers (bollard's models) to our facts: container state, health, ports,
//! start time, CPU% and memory from a stats frame, and which events matter.

use std::time::{Duration, SystemTime};

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerStatsResponse, EventMessage,
    EventMessageTypeEnum, HealthStatusEnum,
};

use super::facts::{
    ContainerInfo, ContainerState, ContainerUsage, EngineHealth, MatchedBy, PublishedPort,
};

/// Label set by compose on every container of a project.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// Label set by compose: the service the container runs.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
/// Label set by compose: the files the project was started from (comma-separated).
pub const CONFIG_FILES_LABEL: &str = "com.docker.compose.project.config_files";
/// Label set by compose: the project's working directory.
pub const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";
/// Label set by compose on `run` containers (one-off, never the service itself).
pub const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";

/// Parses the engine's RFC 3339 times (`2026-11-25T17:46:58.590583434Z`); the zero time
/// `0001-01-01T00:00:00Z` ("never") and anything malformed give None.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(text.trim()).ok()
}

/// What an inspect answer says about a container; `matched_by` says why it is ours.
pub fn container_info(inspect: &ContainerInspectResponse, matched_by: MatchedBy) -> ContainerInfo {
    let state = inspect.state.as_ref();
    let exit_code = state.and_then(|s| s.exit_code).unwrap_or(0);
    let status = state.and_then(|s| s.status);
    let container_state = match status {
        Some(ContainerStateStatusEnum::CREATED) => ContainerState::Created,
        // "stopping" (newer engines): still running until it has stopped.
        Some(ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::STOPPING) => {
            ContainerState::Running
        }
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited(exit_code),
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
        // No status word: fall back on the flags.
        Some(ContainerStateStatusEnum::EMPTY) | None => match state {
            Some(s) if s.dead == Some(true) => ContainerState::Dead,
            Some(s) if s.paused == Some(true) => ContainerState::Paused,
            Some(s) if s.restarting == Some(true) => ContainerState::Restarting,
            Some(s) if s.running == Some(true) => ContainerState::Running,
            _ => ContainerState::Exited(exit_code),
        },
    };
    let health = match state.and_then(|s| s.health.as_ref()).and_then(|h| h.status) {
        Some(HealthStatusEnum::STARTING) => EngineHealth::Starting,
        Some(HealthStatusEnum::HEALTHY) => EngineHealth::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => EngineHealth::Unhealthy,
        Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) | None => EngineHealth::None,
    };
    let started_at = match container_state {
        ContainerState::Created => None,
        _ => state
            .and_then(|s| s.started_at.as_deref())
            .and_then(parse_time),
    };
    let labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
    let label = |key: &str| labels.and_then(|l| l.get(key)).cloned();
    let error = state
        .and_then(|s| s.error.clone())
        .filter(|e| !e.is_empty());
    ContainerInfo {
        id: inspect.id.clone().unwrap_or_default(),
        name: inspect
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        matched_by,
        image: inspect
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .or_else(|| inspect.image.clone())
            .unwrap_or_default(),
        state: container_state,
        health,
        started_at,
        ports: published_ports(inspect),
        compose_project: label(PROJECT_LABEL),
        compose_service: label(SERVICE_LABEL),
        oom_killed: state.and_then(|s| s.oom_killed).unwrap_or(false),
        restart_count: inspect.restart_count.unwrap_or(0),
        error,
    }
}

/// The live port bindings (`NetworkSettings.Ports`), or the configured ones
/// (`HostConfig.PortBindings`) when the container is not running; sorted, without duplicates.
pub fn published_ports(inspect: &ContainerInspectResponse) -> Vec<PublishedPort> {
    let live = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref());
    let configured = inspect
        .host_config
        .as_ref()
        .and_then(|h| h.port_bindings.as_ref());
    let mut ports = Vec::new();
    for map in [live, configured].into_iter().flatten() {
        for (key, bindings) in map {
            let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(container_port) = port.parse::<u16>() else {
                continue;
            };
            for binding in bindings.iter().flatten() {
                let host_port = binding.host_port.as_deref().and_then(|p| p.parse().ok());
                let Some(host_port) = host_port else { continue };
                ports.push(PublishedPort {
                    host_ip: binding
                        .host_ip
                        .clone()
                        .filter(|ip| !ip.is_empty())
                        .unwrap_or_else(|| "0.0.0.0".into()),
                    host_port,
                    container_port,
                    protocol: protocol.to_string(),
                });
            }
        }
        if !ports.is_empty() {
            break;
        }
    }
    ports.sort();
    ports.dedup();
    ports
}

/// How long the container has been running at `now`, if it is live and its start is known.
pub fn running_for(info: &ContainerInfo, now: SystemTime) -> Option<Duration> {
    if !info.state.is_live() {
        return None;
    }
    let started = info.started_at?;
    Some(now.duration_since(started).unwrap_or(Duration::ZERO))
}

/// CPU% and memory from one stats frame, as `docker stats` computes them: CPU% is
/// `Δcontainer / Δsystem × online CPUs × 100` against the frame's previous sample (None when
/// there is none: the first frame, one-shot, a stopped container); memory is usage minus
/// the inactive page cache (cgroup v1 `total_inactive_file`, v2 `inactive_file`).
pub fn usage(stats: &ContainerStatsResponse) -> ContainerUsage {
    ContainerUsage {
        cpu_percent: cpu_percent(stats),
        memory_bytes: memory_bytes(stats),
        memory_limit_bytes: stats
            .memory_stats
            .as_ref()
            .and_then(|m| m.limit)
            .filter(|&l| l > 0),
    }
}

fn cpu_percent(stats: &ContainerStatsResponse) -> Option<f64> {
    let cur = stats.cpu_stats.as_ref()?;
    let pre = stats.precpu_stats.as_ref()?;
    let total = cur.cpu_usage.as_ref()?.total_usage?;
    let pre_total = pre.cpu_usage.as_ref()?.total_usage?;
    let system = cur.system_cpu_usage?;
    let pre_system = pre.system_cpu_usage?;
    // No previous sample (first frame, one-shot): the engine leaves these at zero.
    if pre_system == 0 || system <= pre_system {
        return None;
    }
    let online = cur
        .online_cpus
        .filter(|&n| n > 0)
        .map(u64::from)
        .or_else(|| {
            cur.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as u64)
                .filter(|&n| n > 0)
        })
        .unwrap_or(1);
    let cpu_delta = total.saturating_sub(pre_total) as f64;
    let system_delta = (system - pre_system) as f64;
    Some(cpu_delta / system_delta * online as f64 * 100.0)
}

fn memory_bytes(stats: &ContainerStatsResponse) -> Option<u64> {
    let mem = stats.memory_stats.as_ref()?;
    let used = mem.usage?;
    let cache = mem.stats.as_ref().and_then(|s| {
        s.get("total_inactive_file")
            .or_else(|| s.get("inactive_file"))
            .copied()
    });
    Some(match cache {
        Some(cache) if cache < used => used - cache,
        _ => used,
    })
}

/// What an engine event means for the containers we watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A container appeared, vanished or was renamed: match again.
    Membership { id: String },
    /// A container's state or health changed: inspect it again.
    Changed { id: String },
    /// Nothing for us (exec runs of health checks, images, networks).
    Ignored,
}

/// The container events asked of the engine (health checks' `exec_*` events are not).
pub const WATCHED_EVENTS: [&str; 13] = [
    "create",
    "destroy",
    "rename",
    "start",
    "restart",
    "die",
    "stop",
    "kill",
    "pause",
    "unpause",
    "oom",
    "update",
    "health_status",
];

/// Sorts one event.
pub fn classify_event(event: &EventMessage) -> EventKind {
    if event.typ != Some(EventMessageTypeEnum::CONTAINER) {
        return EventKind::Ignored;
    }
    let Some(id) = event.actor.as_ref().and_then(|a| a.id.clone()) else {
        return EventKind::Ignored;
    };
    let action = event.action.as_deref().unwrap_or_default();
    // "health_status: healthy", "exec_start: /bin/sh -c ..."
    let verb = action.split(':').next().unwrap_or_default().trim();
    match verb {
        "create" | "destroy" | "rename" => EventKind::Membership { id },
        "start" | "restart" | "die" | "stop" | "kill" | "pause" | "unpause" | "oom" | "update"
        | "health_status" => EventKind::Changed { id },
        _ => EventKind::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_the_zero_time_is_never() {
        let t = parse_time("2026-11-25T17:46:58.590583434Z").expect("valid time");
        let secs = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after epoch");
        assert_eq!(secs.as_secs(), 1_795_628_818);
        assert_eq!(secs.subsec_nanos(), 590_583_434);
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn events_are_sorted_by_what_they_mean() {
        let event = |typ, action: &str| EventMessage {
            typ: Some(typ),
            action: Some(action.to_string()),
            actor: Some(bollard::models::EventActor {
                id: Some("abc".into()),
                attributes: None,
            }),
            ..Default::default()
        };
        let changed = EventKind::Changed { id: "abc".into() };
        let member = EventKind::Membership { id: "abc".into() };
        let c = EventMessageTypeEnum::CONTAINER;
        assert_eq!(classify_event(&event(c, "health_status: healthy")), changed);
        assert_eq!(classify_event(&event(c, "die")), changed);
        assert_eq!(classify_event(&event(c, "destroy")), member);
        assert_eq!(
            classify_event(&event(c, "exec_start: /bin/sh -c true")),
            EventKind::Ignored
        );
        assert_eq!(
            classify_event(&event(EventMessageTypeEnum::NETWORK, "connect")),
            EventKind::Ignored
        );
    }
}
