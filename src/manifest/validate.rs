//! Turning parsed manifests into a [`Plan`]: names, ports, dependencies and placeholders checked.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::load::{ManifestError, Source, parse};
use super::schema::{InfraSpec, ServiceSpec};
use crate::plan::{Entry, EntryId, EntryKind, Plan, ProbeKind, RestartPolicy, Target, TargetId};

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
    ports: Vec<RawPort>,
}

fn from_service(src: usize, s: ServiceSpec) -> RawEntry {
    let mut ports = vec![RawPort {
        label: "http".into(),
        port: s.http_port,
        kind: ProbeKind::Health,
        path: Some(s.health_path),
        required: s.required,
    }];
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
        group: s.group,
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
        ports,
    }
}

/// Parse and validate `sources` into one plan; the first problem found is returned.
pub fn build_plan(sources: &[Source], opts: &PlanOptions) -> Result<Plan, ManifestError> {
    let mut raw = Vec::new();
    for (src, source) in sources.iter().enumerate() {
        let file = parse(source)?;
        raw.extend(file.service.into_iter().map(|s| from_service(src, s)));
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
        if e.ports.is_empty() {
            return Err(err(
                e,
                e.name.span().start,
                format!("{name:?} has no ports to probe"),
            ));
        }
        by_name.insert(name, i);
    }

    // Ports: in range after the offset, and no two non-metrics targets on the same host:port.
    let mut seen: HashMap<(String, u16), (usize, usize)> = HashMap::new();
    let mut resolved_ports: Vec<Vec<u16>> = Vec::new();
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
            ports.push(port);
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

    let mut plan = Plan::default();
    for (i, e) in raw.iter().enumerate() {
        let ports = &resolved_ports[i];
        let vars = Vars {
            entry: e,
            ports,
            root: opts.root.as_deref(),
        };
        let command = e
            .command
            .iter()
            .map(|a| {
                vars.substitute(a.get_ref())
                    .map_err(|m| err(e, a.span().start, m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let env = e
            .env
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    vars.substitute(v.get_ref())
                        .map_err(|m| err(e, v.span().start, m))?,
                ))
            })
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
        for (p, &port) in e.ports.iter().zip(ports) {
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
            targets,
            source: sources[e.src].path.clone(),
        });
    }
    Ok(plan)
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

/// Placeholder values for one entry's command and env.
struct Vars<'a> {
    entry: &'a RawEntry,
    ports: &'a [u16],
    root: Option<&'a Path>,
}

impl Vars<'_> {
    fn lookup(&self, key: &str) -> Option<String> {
        let port_of = |label: &str| {
            self.entry
                .ports
                .iter()
                .zip(self.ports)
                .find(|(p, _)| p.label == label)
                .map(|(_, port)| port.to_string())
        };
        match key {
            "name" => Some(self.entry.name.get_ref().clone()),
            "root" => Some(
                self.root
                    .map_or(".".into(), |r| r.to_string_lossy().into_owned()),
            ),
            "http_port" => port_of("http"),
            "grpc_port" => port_of("grpc"),
            "metrics_port" => port_of("metrics"),
            _ => key.strip_prefix("port:").and_then(port_of),
        }
    }

    /// Replace `{name}`, `{root}`, `{http_port}`, `{grpc_port}`, `{metrics_port}` and `{port:LABEL}`.
    fn substitute(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("unclosed placeholder in {text:?}"));
            };
            let key = &rest[open + 1..open + close];
            match self.lookup(key) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "unknown placeholder {{{key}}} in {text:?} (known: {{name}}, {{root}}, {{http_port}}, {{grpc_port}}, {{metrics_port}}, {{port:LABEL}})"
                    ));
                }
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
