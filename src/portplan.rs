//! The static port-plan check (`ports --check`): two entries on one port, ports that break the
//! plan's own numbering rules, planned ports inside the ephemeral range; and the next free
//! HTTP/gRPC pair for a new service (`ports --next`). Pure over a [`Plan`]; the ephemeral range
//! is read by [`read_ephemeral_range`]. Renderings of `ports` itself are in [`report`].

pub mod command;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::RangeInclusive;

use serde::Serialize;

use crate::plan::{EntryKind, Plan, ProbeKind, Target};

/// How bad a finding is: conflicts fail the check (exit code 1), warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Conflict,
    Warning,
}

/// One problem of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub port: u16,
    /// `entry/label` of every target concerned.
    pub targets: Vec<String>,
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// The result of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanCheck {
    pub ok: bool,
    /// Planned ports checked (distinct).
    pub ports: usize,
    /// The ephemeral range the ports were compared with, when known.
    pub ephemeral: Option<(u16, u16)>,
    /// Conflicts first, then warnings, each by port.
    pub findings: Vec<Finding>,
}

/// A numbering rule of the plan: a role and the ports it may use.
struct Rule {
    role: &'static str,
    allowed: RangeInclusive<u16>,
}

/// Ports kept for infrastructure (MinIO 9000, Prometheus 9090, consoles 909x) and monitoring (91xx).
const RESERVED: [(RangeInclusive<u16>, &str); 3] = [
    (9000..=9000, "infra management (90xx: MinIO 9000)"),
    (
        9090..=9099,
        "infra management (90xx: Prometheus 9090, consoles)",
    ),
    (9100..=9199, "monitoring (91xx)"),
];

/// The first HTTP and gRPC ports a new service may take, as the plan says.
pub const NEXT_HTTP_FROM: u16 = 8012;
/// See [`NEXT_HTTP_FROM`].
pub const NEXT_GRPC_FROM: u16 = 9012;

/// The role a target plays in the plan's numbering rules, if any.
fn rule_for(plan: &Plan, t: &Target) -> Option<Rule> {
    let entry = &plan.entries[t.entry.0];
    let rule = |role, allowed| Some(Rule { role, allowed });
    match (entry.kind, t.kind) {
        (EntryKind::Service, ProbeKind::Grpc) => rule("gRPC (9xxx)", 9001..=9089),
        (EntryKind::Service, ProbeKind::Metrics) => rule("metrics (21xx)", 2100..=2199),
        (EntryKind::Service, ProbeKind::Health | ProbeKind::Http) => {
            rule("HTTP (8xxx)", 8000..=8999)
        }
        (EntryKind::Infra, ProbeKind::Postgres) => rule("database (5xxx)", 5000..=5999),
        (EntryKind::Infra, ProbeKind::Redis) => rule("cache (6xxx)", 6000..=6999),
        (EntryKind::Infra, ProbeKind::Tcp)
            if entry
                .targets
                .iter()
                .any(|o| plan.targets[o.0].kind == ProbeKind::Nats) =>
        {
            rule("message queue (4xxx)", 4000..=4999)
        }
        _ => None,
    }
}

/// Whether two targets' hosts can collide: services bind the wildcard address, so only two
/// different specific (non-loopback) addresses keep the same port apart.
fn hosts_overlap(a: &str, b: &str) -> bool {
    let specific = |h: &str| {
        h.parse::<IpAddr>()
            .ok()
            .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
    };
    match (specific(a), specific(b)) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

fn name(plan: &Plan, t: &Target) -> String {
    format!("{}/{}", plan.entries[t.entry.0].name, t.label)
}

/// Checks `plan` (its ports shifted by `port_offset`, which the numbering rules undo) against
/// itself, its rules and the `ephemeral` port range.
pub fn check_plan(
    plan: &Plan,
    port_offset: i32,
    ephemeral: Option<RangeInclusive<u16>>,
) -> PlanCheck {
    let mut findings = Vec::new();
    let mut by_port: BTreeMap<u16, Vec<&Target>> = BTreeMap::new();
    for t in &plan.targets {
        by_port.entry(t.port).or_default().push(t);
    }
    for (&port, targets) in &by_port {
        let entries: BTreeSet<usize> = targets.iter().map(|t| t.entry.0).collect();
        let collide = targets.iter().enumerate().any(|(i, a)| {
            targets[i + 1..]
                .iter()
                .any(|b| a.entry != b.entry && hosts_overlap(&a.host, &b.host))
        });
        if entries.len() > 1 && collide {
            findings.push(collision(plan, port, targets, entries.len()));
        }
    }
    for t in &plan.targets {
        let base = i32::from(t.port) - port_offset;
        let Ok(base) = u16::try_from(base) else {
            continue;
        };
        let service = plan.entries[t.entry.0].kind == EntryKind::Service;
        if let Some((_, what)) = RESERVED.iter().find(|(r, _)| service && r.contains(&base)) {
            findings.push(Finding {
                level: Level::Warning,
                port: t.port,
                targets: vec![name(plan, t)],
                message: format!("{} uses {base}, kept for {what}", name(plan, t)),
                fix: "pick another port; `anychat-top ports --next` gives a free HTTP/gRPC pair"
                    .into(),
            });
        } else if let Some(rule) = rule_for(plan, t).filter(|r| !r.allowed.contains(&base)) {
            findings.push(Finding {
                level: Level::Warning,
                port: t.port,
                targets: vec![name(plan, t)],
                message: format!(
                    "{} is a {} port but {base} is outside {}–{}",
                    name(plan, t),
                    rule.role,
                    rule.allowed.start(),
                    rule.allowed.end()
                ),
                fix: "renumber it by the plan's rules (8xxx HTTP, 9xxx gRPC, 5xxx databases, 6xxx caches, 4xxx message queues)".into(),
            });
        }
    }
    if let Some(range) = &ephemeral {
        for (&port, targets) in by_port.iter().filter(|(p, _)| range.contains(p)) {
            findings.push(Finding {
                level: Level::Warning,
                port,
                targets: targets.iter().map(|t| name(plan, t)).collect(),
                message: format!(
                    "port {port} is inside this machine's ephemeral range {}–{}: any outgoing connection may take it",
                    range.start(),
                    range.end()
                ),
                fix: format!(
                    "keep planned ports below {} (a smaller --port-offset)",
                    range.start()
                ),
            });
        }
    }
    findings.sort_by_key(|f| (f.level, f.port));
    PlanCheck {
        ok: findings.iter().all(|f| f.level != Level::Conflict),
        ports: by_port.len(),
        ephemeral: ephemeral.map(|r| (*r.start(), *r.end())),
        findings,
    }
}

fn collision(plan: &Plan, port: u16, targets: &[&Target], entries: usize) -> Finding {
    let names: Vec<String> = targets.iter().map(|t| name(plan, t)).collect();
    let all_metrics = targets.iter().all(|t| t.kind == ProbeKind::Metrics);
    let (message, fix) = if all_metrics {
        (
            format!(
                "port {port} is the metrics port of {entries} entries: on one host only one of them can listen on it, the others fail to bind (or run without metrics)"
            ),
            format!(
                "give each service its own metrics port ({port}, {}, {}, … as services/demo.toml does), or run each service in its own container",
                port.saturating_add(1),
                port.saturating_add(2)
            ),
        )
    } else {
        (
            format!(
                "port {port} is planned for {}: only one of them can listen on it",
                names.join(" and ")
            ),
            "move all but one of them; `anychat-top ports --next` gives a free HTTP/gRPC pair"
                .into(),
        )
    };
    Finding {
        level: Level::Conflict,
        port,
        targets: names,
        message,
        fix,
    }
}

impl PlanCheck {
    /// 1 when there is a conflict, else 0 (warnings alone pass).
    pub fn exit_code(&self) -> i32 {
        if self.ok { 0 } else { 1 }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// For people: one paragraph per finding, then the verdict.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let level = match f.level {
                Level::Conflict => "CONFLICT",
                Level::Warning => "warning ",
            };
            out.push_str(&format!(
                "{level} {:>5}  {}\n               fix: {}\n",
                f.port, f.message, f.fix
            ));
        }
        let count = |l| self.findings.iter().filter(|f| f.level == l).count();
        let range = self
            .ephemeral
            .map_or("ephemeral range unknown".to_string(), |(a, b)| {
                format!("ephemeral range {a}–{b}")
            });
        out.push_str(&format!(
            "{} planned ports; {} conflicts, {} warnings; {range}\n",
            self.ports,
            count(Level::Conflict),
            count(Level::Warning)
        ));
        out
    }

    /// The text (or JSON) and the exit code.
    pub fn render(&self, json: bool) -> (String, i32) {
        let text = if json { self.to_json() } else { self.to_text() };
        (text, self.exit_code())
    }
}

/// The text of `/proc/sys/net/ipv4/ip_local_port_range` ("32768\t60999").
pub fn parse_ephemeral_range(text: &str) -> Option<RangeInclusive<u16>> {
    let mut parts = text.split_ascii_whitespace().map(|p| p.parse::<u16>());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(lo)), Some(Ok(hi)), None) if lo <= hi => Some(lo..=hi),
        _ => None,
    }
}

/// This machine's ephemeral port range.
pub fn read_ephemeral_range() -> Result<RangeInclusive<u16>, String> {
    let path = "/proc/sys/net/ipv4/ip_local_port_range";
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    parse_ephemeral_range(&text).ok_or_else(|| format!("{path}: unexpected {:?}", text.trim()))
}

/// The next HTTP/gRPC pair with the same last digits (8012/9012, 8013/9013, ...) where neither
/// port is planned, in `in_use`, or kept for infrastructure; shifted by `port_offset`.
pub fn next_free_pair(plan: &Plan, port_offset: i32, in_use: &BTreeSet<u16>) -> Option<(u16, u16)> {
    let planned: BTreeSet<u16> = plan.targets.iter().map(|t| t.port).collect();
    let shift = |base: u16| u16::try_from(i32::from(base) + port_offset).ok();
    let free = |port: u16| !planned.contains(&port) && !in_use.contains(&port);
    (0..=(9089 - NEXT_GRPC_FROM)).find_map(|n| {
        let (http, grpc) = (shift(NEXT_HTTP_FROM + n)?, shift(NEXT_GRPC_FROM + n)?);
        (free(http) && free(grpc)).then_some((http, grpc))
    })
}

/// `ports --next`: the manifest lines for a new service, and the exit code (1: none free).
pub fn render_next(pair: Option<(u16, u16)>, json: bool) -> (String, i32) {
    match (pair, json) {
        (Some((http, grpc)), false) => (format!("http_port = {http}\ngrpc_port = {grpc}\n"), 0),
        (Some((http, grpc)), true) => (
            format!("{{\"http_port\": {http}, \"grpc_port\": {grpc}}}\n"),
            0,
        ),
        (None, false) => ("no free HTTP/gRPC pair below 8090/9090\n".into(), 1),
        (None, true) => ("{\"http_port\": null, \"grpc_port\": null}\n".into(), 1),
    }
}

#[cfg(test)]
mod tests;
