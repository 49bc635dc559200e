//! Turning parsed manifests into a [`Plan`]: names, ports, dependencies and placeholders checked.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::load::{ManifestError, Source, parse};
use super::placeholders::{Ports, Vars};
use super::schema::{DEFAULT_GROUP, InfraSpec, RunsSpec, ServiceSpec};
use crate::plan::{
    ContainerSpec, Entry, EntryId, EntryKind, Plan, ProbeKind, RestartPolicy, Runs, Target,
    TargetId, is_remote_host,
};

/// Default time between SIGTERM and SIGKILL.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(5);
/// Default time a dependent waits for a dependency to become healthy.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings that shape the plan beyond the files themselves.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Added to every port of the plan.
    pub port_offset: i32,
    /// The AnyChat checkout: working directory and base of relative commands.
    pub root: Option<PathBuf>,
}

struct RawPort {
    label: String,
    port: Spanned<i64>,
    kind: ProbeKind,
    path: Option<String>,
    required: bool,
}

struct RawEntry {
    src: usize,
    name: Spanned<String>,
    kind: EntryKind,
    group: String,
    description: String,
    command: Vec<Spanned<String>>,
    cwd: Option<String>,
    host: String,
    env: BTreeMap<String, Spanned<String>>,
    depends_on: Vec<Spanned<String>>,
    required: bool,
    restart: RestartPolicy,
    stop_grace: Option<Duration>,
    ready_timeout: Option<Duration>,
    container: Option<String>,
    runs: Option<RunsSpec>,
    compose: ComposeRaw,
    ports: Vec<RawPort>,
}

/// The compose fields of an infra entry, as written.
#[derive(Default)]
struct ComposeRaw {
    file: Option<Spanned<String>>,
    service: Option<String>,
    project: Option<String>,
}

fn from_service(src: usize, s: ServiceSpec) -> RawEntry {
    let mut ports = Vec::new();
    if let Some(port) = s.http_port {
        ports.push(RawPort {
            label: "http".into(),
            port,
            kind: ProbeKind::Health,
            path: Some(s.health_path),
            required: s.required,
        });
    }
    if let Some(port) = s.grpc_port {
        ports.push(RawPort {
            label: "grpc".into(),
            port,
            kind: ProbeKind::Grpc,
            path: Some(s.grpc_health_service),
            required: s.required,
        });
    }
    if let Some(port) = s.metrics_port {
        // Metrics are informational: the plan puts every service on 2112, so only one can answer.
        ports.push(RawPort {
            label: "metrics".into(),
            port,
            kind: ProbeKind::Metrics,
            path: None,
            required: false,
        });
    }
    RawEntry {
        src,
        name: s.name,
        kind: EntryKind::Service,
        group: s.group.unwrap_or_else(|| DEFAULT_GROUP.to_string()),
        description: s.description,
        command: s.command,
        cwd: s.cwd,
        host: s.host,
        env: s.env,
        depends_on: s.depends_on,
        required: s.required,
        restart: s.restart,
        stop_grace: s.stop_grace,
        ready_timeout: s.ready_timeout,
        container: None,
        runs: None,
        compose: ComposeRaw::default(),
        ports,
    }
}

fn from_infra(src: usize, s: InfraSpec) -> RawEntry {
    let ports = s
        .ports
        .into_iter()
        .map(|p| RawPort {
            label: p.label.unwrap_or_else(|| p.probe.as_str().to_string()),
            port: p.port,
            kind: p.probe,
            path: p.path,
            required: p.required.unwrap_or(s.required),
        })
        .collect();
    RawEntry {
        src,
        name: s.name,
        kind: EntryKind::Infra,
        group: s.category,
        description: s.description,
        command: s.command,
        cwd: s.cwd,
        host: s.host,
        env: s.env,
        depends_on: s.depends_on,
        required: s.required,
        restart: s.restart,
        stop_grace: s.stop_grace,
        ready_timeout: s.ready_timeout,
        container: s.container,
        runs: s.runs,
        compose: ComposeRaw {
            file: s.compose_file,
            service: s.compose_service,
            project: s.compose_project,
        },
        ports,
    }
}

/// Parse and validate `sources` into one plan; the first problem found is returned.
pub fn build_plan(sources: &[Source], opts: &PlanOptions) -> Result<Plan, ManifestError> {
    let mut raw = Vec::new();
    for (src, source) in sources.iter().enumerate() {
        let file = parse(source)?;
        let shared = file.env;
        raw.extend(file.service.into_iter().map(|s| {
            let mut entry = from_service(src, s);
            for (key, value) in &shared {
                entry
                    .env
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
            }
            entry
        }));
        raw.extend(file.infra.into_iter().map(|s| from_infra(src, s)));
    }
    let err = |e: &RawEntry, at: usize, msg: String| ManifestError::at(&sources[e.src], at, msg);

    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, e) in raw.iter().enumerate() {
        let name = e.name.get_ref();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(
                e,
                e.name.span().start,
                format!("invalid name {name:?}: use letters, digits and dashes"),
            ));
        }
        if let Some(&first) = by_name.get(name.as_str()) {
            let f = &raw[first];
            let (line, _) = super::load::line_column(&sources[f.src].text, f.name.span().start);
            return Err(err(
                e,
                e.name.span().start,
                format!(
                    "duplicate name {name:?} (first defined in {} line {line})",
                    sources[f.src].path.display()
                ),
            ));
        }
        let remote = is_remote_host(&e.host);
        if e.ports.is_empty() && (e.kind == EntryKind::Infra || remote) {
            let why = if remote { " on its remote host" } else { "" };
            return Err(err(
                e,
                e.name.span().start,
                format!("{name:?} has no ports to probe{why}"),
            ));
        }
        if remote && let Some(program) = e.command.first() {
            return Err(err(
                e,
                program.span().start,
                format!(
                    "{name:?} is on host {:?}: anychat-top probes remote entries but never \
                     starts them; remove `command` (or run it on {:?} yourself)",
                    e.host, e.host
                ),
            ));
        }
        by_name.insert(name, i);
    }

    // Ports: in range after the offset, and no two non-metrics targets on the same host:port.
    let mut seen: HashMap<(String, u16), (usize, usize)> = HashMap::new();
    let mut resolved_ports: Vec<Ports> = Vec::new();
    for (i, e) in raw.iter().enumerate() {
        let mut ports = Vec::new();
        for (j, p) in e.ports.iter().enumerate() {
            let base = *p.port.get_ref();
            let at = p.port.span().start;
            if !(1..=65535).contains(&base) {
                return Err(err(e, at, format!("port {base} is out of range (1-65535)")));
            }
            let shifted = base + i64::from(opts.port_offset);
            let Ok(port) = u16::try_from(shifted)
                .map_err(|_| ())
                .and_then(|p| if p == 0 { Err(()) } else { Ok(p) })
            else {
                return Err(err(
                    e,
                    at,
                    format!(
                        "port {base} with --port-offset {} becomes {shifted}, out of range (1-65535)",
                        opts.port_offset
                    ),
                ));
            };
            if let Some(&(oi, oj)) = seen.get(&(e.host.clone(), port)) {
                let other = &raw[oi];
                let both_metrics =
                    other.ports[oj].kind == ProbeKind::Metrics && p.kind == ProbeKind::Metrics;
                if !both_metrics {
                    return Err(err(
                        e,
                        at,
                        format!(
                            "port {base} is already the {} port of {:?}",
                            other.ports[oj].label,
                            other.name.get_ref()
                        ),
                    ));
                }
            } else {
                seen.insert((e.host.clone(), port), (i, j));
            }
            ports.push((p.label.clone(), port));
        }
        resolved_ports.push(ports);
    }

    // Dependencies: every name exists, and no cycles.
    let mut deps: Vec<Vec<usize>> = Vec::new();
    for e in &raw {
        let mut d = Vec::new();
        for dep in &e.depends_on {
            match by_name.get(dep.get_ref().as_str()) {
                Some(&k) => d.push(k),
                None => {
                    return Err(err(
                        e,
                        dep.span().start,
                        format!(
                            "{:?} depends on {:?}, which is not in the plan",
                            e.name.get_ref(),
                            dep.get_ref()
                        ),
                    ));
                }
            }
        }
        deps.push(d);
    }
    if let Err(cycle) = crate::deps::dependency_order(&deps) {
        let first = &raw[cycle[0]];
        let closing = cycle[1 % cycle.len()];
        let dep = first
            .depends_on
            .iter()
            .find(|d| by_name.get(d.get_ref().as_str()) == Some(&closing))
            .map_or(first.name.span().start, |d| d.span().start);
        let names: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&cycle[0]))
            .map(|&i| raw[i].name.get_ref().as_str())
            .collect();
        return Err(err(
            first,
            dep,
            format!("dependency cycle: {}", names.join(" -> ")),
        ));
    }

    let all: HashMap<&str, &Ports> = raw
        .iter()
        .zip(&resolved_ports)
        .map(|(e, ports)| (e.name.get_ref().as_str(), ports))
        .collect();
    let mut plan = Plan::default();
    for (i, e) in raw.iter().enumerate() {
        let ports = &resolved_ports[i];
        let vars = Vars {
            name: e.name.get_ref(),
            root: opts.root.as_deref(),
            ports,
            all: &all,
        };
        let source = &sources[e.src];
        let substitute = |value: &Spanned<String>| {
            vars.substitute(value.get_ref())
                .map_err(|p| placeholder_error(source, value, &p.token, p.message))
        };
        let command = e
            .command
            .iter()
            .map(substitute)
            .collect::<Result<Vec<_>, _>>()?;
        let env = e
            .env
            .iter()
            .map(|(k, v)| Ok((k.clone(), substitute(v)?)))
            .collect::<Result<BTreeMap<_, _>, ManifestError>>()?;
        let root = opts.root.clone();
        let cwd = match (&e.cwd, &root) {
            (Some(c), Some(r)) => Some(r.join(c)),
            (Some(c), None) => Some(PathBuf::from(c)),
            (None, r) => r.clone(),
        };
        let command = resolve_program(command, root.as_deref());
        let id = EntryId(i);
        let mut targets = Vec::new();
        for (p, &(_, port)) in e.ports.iter().zip(ports) {
            targets.push(TargetId(plan.targets.len()));
            plan.targets.push(Target {
                entry: id,
                label: p.label.clone(),
                host: e.host.clone(),
                port,
                kind: p.kind,
                probe: p.kind.spec(p.path.as_deref()),
                required: p.required,
            });
        }
        let not_startable = is_remote_host(&e.host)
            .then(|| format!("runs on {}: probed, never started here", e.host));
        let runs = runs_of(e, opts.root.as_deref()).map_err(|(at, msg)| err(e, at, msg))?;
        plan.entries.push(Entry {
            name: e.name.get_ref().clone(),
            kind: e.kind,
            group: e.group.clone(),
            description: e.description.clone(),
            command,
            cwd,
            env,
            depends_on: deps[i].iter().map(|&k| EntryId(k)).collect(),
            required: e.required,
            restart: e.restart,
            stop_grace: e.stop_grace.unwrap_or(DEFAULT_STOP_GRACE),
            ready_timeout: e.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
            container: e.container.clone(),
            runs,
            targets,
            source: source.path.clone(),
            host: e.host.clone(),
            not_startable,
        });
    }
    Ok(plan)
}

/// How an entry runs: as written (`runs`), or by default a process when it has a command, a
/// container when it names one (on this machine), else external. Err: where and what is wrong.
fn runs_of(e: &RawEntry, root: Option<&Path>) -> Result<Runs, (usize, String)> {
    let name = e.name.get_ref();
    let at = e.name.span().start;
    let named = e.container.is_some() || e.compose.service.is_some();
    let runs = e.runs.unwrap_or(if !e.command.is_empty() {
        RunsSpec::Process
    } else if named && !is_remote_host(&e.host) {
        RunsSpec::Container
    } else {
        RunsSpec::External
    });
    if runs != RunsSpec::Container
        && let Some(file) = &e.compose.file
        && e.runs.is_some()
    {
        return Err((
            file.span().start,
            format!("{name:?} has a compose_file but does not run as a container"),
        ));
    }
    match runs {
        RunsSpec::Process if e.command.is_empty() => Err((
            at,
            format!("{name:?} runs as a process but has no `command`"),
        )),
        RunsSpec::Process => Ok(Runs::Process),
        RunsSpec::External => Ok(Runs::External),
        RunsSpec::Container if !e.command.is_empty() => Err((
            e.command[0].span().start,
            format!("{name:?} runs as a container: remove `command` (or say runs = \"process\")"),
        )),
        RunsSpec::Container if !named => Err((
            at,
            format!("{name:?} runs as a container: name it with `container` or `compose_service`"),
        )),
        RunsSpec::Container if is_remote_host(&e.host) => Err((
            at,
            format!(
                "{name:?} is on host {:?}: only containers of this machine's engine are managed; say runs = \"external\"",
                e.host
            ),
        )),
        RunsSpec::Container => {
            let compose_file = e.compose.file.as_ref().map(|f| match root {
                Some(r) => r.join(f.get_ref()),
                None => PathBuf::from(f.get_ref()),
            });
            Ok(Runs::Container(ContainerSpec {
                compose_file,
                compose_service: e.compose.service.clone(),
                compose_project: e.compose.project.clone(),
            }))
        }
    }
}

/// A placeholder error at the placeholder itself when it can be found in the raw TOML string,
/// else at the string.
fn placeholder_error(
    source: &Source,
    value: &Spanned<String>,
    token: &str,
    message: String,
) -> ManifestError {
    let span = value.span();
    let raw = source.text.get(span.clone()).unwrap_or("");
    let at = raw.find(token).map_or(span.start, |i| span.start + i);
    ManifestError::at(source, at, message)
}

/// A relative program path with a slash (`bin/auth-service`) is taken from the AnyChat checkout.
fn resolve_program(mut command: Vec<String>, root: Option<&Path>) -> Vec<String> {
    if let (Some(first), Some(root)) = (command.first_mut(), root) {
        let p = Path::new(first.as_str());
        if p.is_relative() && first.contains('/') {
            *first = root.join(p).to_string_lossy().into_owned();
        }
    }
    command
}
