//! `anychat-top check`: one sweep of every probe, printed as a table or JSON, and its verdict.

use serde::Serialize;

use crate::health::{ProbeResult, ProbeState};
use crate::plan::{EntryKind, Plan};

/// One row of the check report.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub name: &'a str,
    pub kind: EntryKind,
    pub label: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub probe: &'static str,
    pub required: bool,
    pub state: ProbeState,
    pub latency_ms: f64,
    pub detail: &'a str,
    /// The entry's container (name, state, engine health), for entries run by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<crate::state::docker::ContainerCheck>,
    #[serde(skip)]
    pub entry: crate::plan::EntryId,
}

impl Row<'_> {
    /// `name/label`, and `@host` for a target on another machine.
    fn target(&self) -> String {
        self.with_host(format!("{}/{}", self.name, self.label))
    }

    /// `text@host` for a target on another machine, else `text`.
    fn with_host(&self, text: String) -> String {
        if crate::plan::is_remote_host(self.host) {
            format!("{text}@{}", self.host)
        } else {
            text
        }
    }
}

/// The whole report: the verdict and every target.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Every required target is up.
    pub ok: bool,
    pub up: usize,
    pub total: usize,
    pub required_down: Vec<String>,
    pub targets: Vec<Row<'a>>,
    /// Why the Docker engine could not be asked (with the fix), when the plan has containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<String>,
}

impl<'a> Report<'a> {
    /// Pair each target of `plan` with its result (same order as `plan.targets`).
    pub fn new(plan: &'a Plan, results: &'a [ProbeResult]) -> Self {
        let targets: Vec<Row<'a>> = plan
            .targets
            .iter()
            .zip(results)
            .map(|(t, r)| {
                let entry = &plan.entries[t.entry.0];
                Row {
                    name: &entry.name,
                    kind: entry.kind,
                    label: &t.label,
                    host: &t.host,
                    port: t.port,
                    probe: t.kind.as_str(),
                    required: t.required,
                    state: r.state,
                    latency_ms: (r.latency.as_secs_f64() * 1e6).round() / 1e3,
                    detail: &r.detail,
                    container: None,
                    entry: t.entry,
                }
            })
            .collect();
        let required_down: Vec<String> = targets
            .iter()
            .filter(|r| r.required && !r.state.is_up())
            .map(|r| format!("{}/{}", r.name, r.label))
            .collect();
        Report {
            ok: required_down.is_empty(),
            up: targets.iter().filter(|r| r.state.is_up()).count(),
            total: targets.len(),
            required_down,
            targets,
            docker: None,
        }
    }

    /// Adds each container entry's container name, state and engine health to its rows.
    pub fn with_containers(mut self, checks: crate::check_containers::ContainerChecks) -> Self {
        for row in &mut self.targets {
            row.container = checks.entries.get(&row.entry).cloned();
        }
        self.docker = checks.engine_problem;
        self
    }

    /// Process exit code: 0 when every required target is up, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.ok { 0 } else { 1 }
    }

    /// Pretty JSON, one object with `ok` and `targets`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A plain-text table for people, `*` marking required targets.
    pub fn to_table(&self) -> String {
        let name_w = self
            .targets
            .iter()
            .map(|r| r.target().len())
            .max()
            .unwrap_or(6)
            .max(6);
        let mut out = format!(
            "  {:<name_w$}  {:>5}  {:<10}  {:<17}  {:>9}  DETAIL\n",
            "TARGET", "PORT", "PROBE", "STATE", "LATENCY"
        );
        let mut shown = None;
        for r in &self.targets {
            if let Some(c) = r.container.as_ref().filter(|_| shown != Some(r.entry)) {
                shown = Some(r.entry);
                let health = match c.engine_health {
                    Some(h) if h != "none" => format!(", engine health {h}"),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "  {}: container {} {}{health}\n",
                    r.name, c.container, c.state
                ));
            }
            let target = format!("{}/{}", r.name, r.label);
            let mark = if r.required { '*' } else { ' ' };
            let target = r.with_host(target);
            out.push_str(&format!(
                "{mark} {target:<name_w$}  {:>5}  {:<10}  {:<17}  {:>6.1} ms  {}\n",
                r.port,
                r.probe,
                r.state.as_str(),
                r.latency_ms,
                r.detail
            ));
        }
        if let Some(docker) = &self.docker {
            out.push_str(&format!("\nDocker: {docker}\n"));
        }
        out.push_str(&format!(
            "\n{} of {} targets up; {}\n",
            self.up,
            self.total,
            if self.ok {
                "every required (*) target is up".to_string()
            } else {
                format!("required targets down: {}", self.required_down.join(", "))
            }
        ));
        out
    }
}
