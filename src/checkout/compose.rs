//! `deployments/docker-compose.yml`: services, container names, published ports and health
//! checks, with Compose's `${VAR:-default}` interpolation and its project naming.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::yaml::{self, Node, YamlError};
use crate::plan::ProbeKind;

/// Where the compose file is looked for, in order (relative to the checkout).
pub const COMPOSE_PATHS: [&str; 6] = [
    "deployments/docker-compose.yml",
    "deployments/docker-compose.yaml",
    "deployments/compose.yml",
    "deployments/compose.yaml",
    "docker-compose.yml",
    "compose.yml",
];

/// One published port: `host_port` is `None` when Docker picks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub udp: bool,
    pub line: usize,
}

/// One compose service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeService {
    pub name: String,
    /// `container_name`, or Compose's `<project>-<service>-1`.
    pub container: String,
    pub ports: Vec<Published>,
    /// The health check's command, joined with spaces.
    pub health: Option<String>,
    pub line: usize,
}

/// What the compose file says.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeFacts {
    /// Relative to the checkout.
    pub path: PathBuf,
    /// `COMPOSE_PROJECT_NAME`, else the file's `name:`, else its directory's name.
    pub project: String,
    pub services: Vec<ComposeService>,
    pub error: Option<YamlError>,
    /// Ports that could not be read, in words.
    pub problems: Vec<String>,
}

impl ComposeFacts {
    /// The first compose file found under `root`, read; `None` when there is none.
    pub fn read(
        root: &Path,
        env: &BTreeMap<String, String>,
    ) -> Option<Result<ComposeFacts, String>> {
        let rel = COMPOSE_PATHS.iter().find(|p| root.join(p).is_file())?;
        let dir = Path::new(rel)
            .parent()
            .and_then(|d| d.file_name())
            .or_else(|| root.file_name())
            .map_or("default".to_string(), |d| d.to_string_lossy().into_owned());
        Some(match std::fs::read_to_string(root.join(rel)) {
            Ok(text) => Ok(ComposeFacts::parse(&text, Path::new(rel), &dir, env)),
            Err(e) => Err(format!("{rel}: cannot read: {e}")),
        })
    }

    /// The facts of `text`, a compose file at `path` in a directory named `dir`.
    pub fn parse(
        text: &str,
        path: &Path,
        dir: &str,
        env: &BTreeMap<String, String>,
    ) -> ComposeFacts {
        let mut facts = ComposeFacts {
            path: path.to_path_buf(),
            project: project_name(dir),
            services: Vec::new(),
            error: None,
            problems: Vec::new(),
        };
        let doc = match yaml::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                facts.error = Some(e);
                return facts;
            }
        };
        let text_of = |node: &Node| node.as_str().map(|s| interpolate(s, env));
        if let Some(name) = env
            .get("COMPOSE_PROJECT_NAME")
            .cloned()
            .or_else(|| doc.get("name").and_then(text_of))
        {
            facts.project = project_name(&name);
        }
        for (name, svc) in doc.get("services").map(Node::entries).unwrap_or_default() {
            let container = svc
                .get("container_name")
                .and_then(text_of)
                .unwrap_or_else(|| format!("{}-{name}-1", facts.project));
            let mut ports = Vec::new();
            for item in svc.get("ports").map(Node::items).unwrap_or_default() {
                match published(item, env) {
                    Ok(found) => ports.extend(found),
                    Err(why) => facts.problems.push(format!(
                        "{}:{}: service {name}: {why}",
                        path.display(),
                        item.line
                    )),
                }
            }
            let health = svc.at(&["healthcheck", "test"]).map(|t| match t.as_str() {
                Some(s) => interpolate(s, env),
                None => t
                    .items()
                    .iter()
                    .filter_map(text_of)
                    .collect::<Vec<_>>()
                    .join(" "),
            });
            facts.services.push(ComposeService {
                name: name.clone(),
                container,
                ports,
                health,
                line: svc.line,
            });
        }
        facts
    }

    /// The service named `name` or running in container `container`.
    pub fn service(&self, name: &str, container: Option<&str>) -> Option<&ComposeService> {
        self.services.iter().find(|s| s.name == name).or_else(|| {
            self.services
                .iter()
                .find(|s| Some(s.container.as_str()) == container)
        })
    }
}

/// Compose's normalisation: lower case, only `a-z 0-9 _ -`, starting with a letter or digit.
fn project_name(raw: &str) -> String {
    let name: String = raw
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let name = name.trim_start_matches(['_', '-']).to_string();
    if name.is_empty() {
        "default".into()
    } else {
        name
    }
}

/// A `ports:` item, short (`"127.0.0.1:5432:5432/tcp"`, ranges) or long (`target:`/`published:`).
fn published(item: &Node, env: &BTreeMap<String, String>) -> Result<Vec<Published>, String> {
    if let Some(text) = item.as_str() {
        return parse_port(&interpolate(text, env), item.line);
    }
    let field = |k: &str| {
        item.get(k)
            .and_then(Node::as_str)
            .map(|s| interpolate(s, env))
    };
    let target = field("target").ok_or("a long-syntax port without `target`")?;
    let container_port = port_number(&target)?;
    let host_port = match field("published").filter(|p| !p.is_empty()) {
        Some(p) => Some(port_number(p.split('-').next().unwrap_or(&p))?),
        None => None,
    };
    Ok(vec![Published {
        host_port,
        container_port,
        udp: field("protocol").is_some_and(|p| p.eq_ignore_ascii_case("udp")),
        line: item.line,
    }])
}

/// Short syntax: `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]`.
pub fn parse_port(spec: &str, line: usize) -> Result<Vec<Published>, String> {
    let spec = spec.trim();
    let (body, proto) = spec.rsplit_once('/').unwrap_or((spec, "tcp"));
    let udp = proto.eq_ignore_ascii_case("udp");
    // An IPv6 host address is in brackets: drop it, it does not change the port.
    let body = match body.strip_prefix('[') {
        Some(v6) => v6.split_once("]:").map_or(body, |(_, rest)| rest),
        None => body,
    };
    let parts: Vec<&str> = body.split(':').collect();
    let (host, container) = match parts.as_slice() {
        [container] => (None, *container),
        [host, container] => (Some(*host), *container),
        [_ip, host, container] => (Some(*host), *container),
        _ => {
            return Err(format!(
                "port {spec:?} is not [IP:][HOST:]CONTAINER[/PROTOCOL]"
            ));
        }
    };
    let containers = range(container)?;
    let hosts = match host.filter(|h| !h.is_empty()) {
        Some(h) => range(h)?.into_iter().map(Some).collect(),
        None => vec![None; containers.len()],
    };
    if hosts.len() != containers.len() {
        return Err(format!("port {spec:?}: the two ranges differ in length"));
    }
    Ok(hosts
        .into_iter()
        .zip(containers)
        .map(|(host_port, container_port)| Published {
            host_port,
            container_port,
            udp,
            line,
        })
        .collect())
}

/// `8000` or `8000-8002` (at most 1000 ports).
fn range(text: &str) -> Result<Vec<u16>, String> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port_number(a)?, port_number(b)?);
            if b < a || b - a >= 1000 {
                return Err(format!("port range {text:?} is empty or too long"));
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![port_number(text)?]),
    }
}

fn port_number(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("{text:?} is not a port number"))
}

/// Compose interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`
/// (`:?`/`?` forms resolve to the variable or empty).
pub fn interpolate(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{')
            && let Some(close) = braced.find('}')
        {
            let expr = &braced[..close];
            let name_end = expr
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(expr.len());
            let (name, op) = expr.split_at(name_end);
            let value = env.get(name);
            let fallback = |default: &str| default.to_string();
            let resolved = if let Some(default) = op.strip_prefix(":-") {
                value
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .unwrap_or_else(|| fallback(default))
            } else if let Some(default) = op.strip_prefix('-') {
                value.cloned().unwrap_or_else(|| fallback(default))
            } else {
                value.cloned().unwrap_or_default()
            };
            out.push_str(&resolved);
            rest = &braced[close + 1..];
        } else {
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if name_len == 0 {
                out.push('$');
            } else {
                out.push_str(env.get(&after[..name_len]).map_or("", String::as_str));
            }
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    out
}

/// What a compose health check says about the protocol: the probe kind, and for HTTP checks
/// the container port and path it fetches.
pub fn probe_hint(health: &str) -> Option<(ProbeKind, Option<u16>, Option<String>)> {
    if health.contains("pg_isready") {
        return Some((ProbeKind::Postgres, None, None));
    }
    if health.contains("redis-cli") && health.to_lowercase().contains("ping") {
        return Some((ProbeKind::Redis, None, None));
    }
    if health.contains("curl") || health.contains("wget") {
        let url = health
            .split_whitespace()
            .find(|w| w.starts_with("http://"))?;
        let address = super::config::Address::parse(url)?;
        let path = if address.rest.is_empty() {
            "/".into()
        } else {
            address.rest
        };
        return Some((ProbeKind::Http, Some(address.port), Some(path)));
    }
    None
}

#[cfg(test)]
#[path = "compose_tests.rs"]
mod tests;
