//! The manifest model read from a checkout, written as commented TOML: what `anychat-top init`
//! prints and what the checkout plan is built from (so the two never differ).

use std::fmt::Write as _;
use std::time::Duration;

use crate::plan::{ProbeKind, RestartPolicy};

/// One `[[service]]` to write.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceModel {
    pub name: String,
    pub group: Option<String>,
    pub description: String,
    pub command: Vec<String>,
    pub http_port: Option<u16>,
    pub grpc_port: Option<u16>,
    pub metrics_port: Option<u16>,
    pub health_path: Option<String>,
    pub grpc_health_service: Option<String>,
    pub depends_on: Vec<String>,
    /// Key, value (placeholders allowed), and the comment of the group it starts, if any.
    pub env: Vec<EnvVar>,
    pub required: bool,
    pub restart: RestartPolicy,
    pub stop_grace: Option<Duration>,
    pub ready_timeout: Option<Duration>,
    /// Comment lines written above the entry.
    pub comments: Vec<String>,
}

/// One environment variable of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
    /// Written as a comment line above the first variable of its group.
    pub group: &'static str,
}

/// One `[[infra]]` to write.
#[derive(Debug, Clone, PartialEq)]
pub struct InfraModel {
    pub name: String,
    pub category: String,
    pub description: String,
    pub container: Option<String>,
    /// The compose file (relative to the checkout), project and service that create the
    /// container, when the compose file has it.
    pub compose: Option<ComposeRef>,
    pub required: bool,
    pub ports: Vec<PortModel>,
    pub comments: Vec<String>,
}

/// Where an infra entry's container comes from: `docker compose -f FILE -p PROJECT up -d SERVICE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeRef {
    pub file: String,
    pub project: String,
    pub service: String,
}

/// One probed port of an infra entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortModel {
    pub port: u16,
    pub probe: ProbeKind,
    pub label: String,
    pub path: Option<String>,
}

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Comment lines, each starting with `# ` (text is kept on one line each).
fn comment(out: &mut String, lines: &[String]) {
    for line in lines {
        for part in line.lines() {
            let _ = writeln!(out, "# {part}");
        }
    }
}

/// The whole manifest: a header of comments, the environment every service shares, then
/// services, then infra.
pub fn render(
    header: &[String],
    shared_env: &[EnvVar],
    services: &[ServiceModel],
    infra: &[InfraModel],
) -> String {
    let mut out = String::new();
    comment(&mut out, header);
    if !shared_env.is_empty() {
        out.push('\n');
        comment(
            &mut out,
            &["Environment of every service below (a service's own env wins).".to_string()],
        );
        let _ = writeln!(out, "[env]");
        env_lines(&mut out, shared_env);
    }
    for s in services {
        out.push('\n');
        service(&mut out, s);
    }
    for i in infra {
        out.push('\n');
        infra_entry(&mut out, i);
    }
    out
}

fn service(out: &mut String, s: &ServiceModel) {
    comment(out, &s.comments);
    let _ = writeln!(out, "[[service]]");
    let _ = writeln!(out, "name = {}", quote(&s.name));
    if let Some(group) = &s.group {
        let _ = writeln!(out, "group = {}", quote(group));
    }
    if !s.description.is_empty() {
        let _ = writeln!(out, "description = {}", quote(&s.description));
    }
    let _ = writeln!(out, "command = {}", list(&s.command));
    for (key, port) in [
        ("http_port", s.http_port),
        ("grpc_port", s.grpc_port),
        ("metrics_port", s.metrics_port),
    ] {
        if let Some(port) = port {
            let _ = writeln!(out, "{key} = {port}");
        }
    }
    if let Some(path) = &s.health_path {
        let _ = writeln!(out, "health_path = {}", quote(path));
    }
    if let Some(name) = &s.grpc_health_service {
        let _ = writeln!(out, "grpc_health_service = {}", quote(name));
    }
    if !s.depends_on.is_empty() {
        let _ = writeln!(out, "depends_on = {}", list(&s.depends_on));
    }
    if !s.required {
        let _ = writeln!(out, "required = false");
    }
    if s.restart != RestartPolicy::Never {
        let policy = match s.restart {
            RestartPolicy::Never => "never",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Always => "always",
        };
        let _ = writeln!(out, "restart = {}", quote(policy));
    }
    for (key, value) in [
        ("stop_grace", s.stop_grace),
        ("ready_timeout", s.ready_timeout),
    ] {
        if let Some(d) = value {
            let _ = writeln!(
                out,
                "{key} = {}",
                quote(&humantime::format_duration(d).to_string())
            );
        }
    }
    if !s.env.is_empty() {
        let _ = writeln!(out, "[service.env]");
        env_lines(out, &s.env);
    }
}

/// `"KEY" = "value"` lines, with a comment above each group.
fn env_lines(out: &mut String, env: &[EnvVar]) {
    let mut group = "";
    for var in env {
        if var.group != group && !var.group.is_empty() {
            let _ = writeln!(out, "# {}", var.group);
        }
        group = var.group;
        let _ = writeln!(out, "{} = {}", quote(&var.key), quote(&var.value));
    }
}

fn infra_entry(out: &mut String, i: &InfraModel) {
    comment(out, &i.comments);
    let _ = writeln!(out, "[[infra]]");
    let _ = writeln!(out, "name = {}", quote(&i.name));
    let _ = writeln!(out, "category = {}", quote(&i.category));
    if !i.description.is_empty() {
        let _ = writeln!(out, "description = {}", quote(&i.description));
    }
    if let Some(c) = &i.container {
        let _ = writeln!(out, "container = {}", quote(c));
    }
    if let Some(c) = &i.compose {
        let _ = writeln!(out, "compose_file = {}", quote(&c.file));
        let _ = writeln!(out, "compose_project = {}", quote(&c.project));
        let _ = writeln!(out, "compose_service = {}", quote(&c.service));
    }
    let _ = writeln!(out, "required = {}", i.required);
    let _ = writeln!(out, "ports = [");
    for p in &i.ports {
        let path = p
            .path
            .as_ref()
            .map_or(String::new(), |path| format!(", path = {}", quote(path)));
        let _ = writeln!(
            out,
            "  {{ port = {}, probe = {}, label = {}{path} }},",
            p.port,
            quote(p.probe.as_str()),
            quote(&p.label)
        );
    }
    let _ = writeln!(out, "]");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_toml_round_trip() {
        for s in [
            "plain",
            "with \"quotes\" and \\",
            "tab\tnew\nline",
            "bell\u{7}",
            "{http_port}",
        ] {
            let doc = format!("v = {}", quote(s));
            let table: toml::Table = doc.parse().unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert_eq!(table["v"].as_str(), Some(s));
        }
    }
}
