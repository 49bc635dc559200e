//! `anychat-top ports [--json]`: every planned port with its holder, the unplanned listeners
//! in the plan's port blocks, and the runtime conflicts, as a text table or JSON.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::collect::port_scan::{DockerProxy, PortScan, ScanSource};
use crate::state::Severity;
use crate::state::ports::{Holder, HolderKind, PortRow, PortsState};

/// Exit code of `ports`: the scan failed.
pub const EXIT_SCAN_FAILED: i32 = 2;

/// One socket holding a port, for JSON.
#[derive(Debug, Serialize)]
pub struct HolderJson<'a> {
    pub addr: String,
    /// ours, stale, container, foreign, hidden.
    pub kind: &'static str,
    /// The entry for `ours` and `stale`.
    pub entry: Option<&'a str>,
    pub uid: u32,
    pub user: Option<&'a str>,
    pub pid: Option<u32>,
    pub command: Option<String>,
    pub exe: Option<&'a Path>,
    pub docker_proxy: Option<&'a DockerProxy>,
    /// The container that publishes the port, when the Docker worker named it.
    pub container: Option<&'a str>,
}

/// One planned port, for JSON.
#[derive(Debug, Serialize)]
pub struct PortJson<'a> {
    pub port: u16,
    pub entry: &'a str,
    pub label: &'a str,
    pub host: &'a str,
    /// Planned for other entries too.
    pub shared: bool,
    /// unknown, free, or the kind of the first holder.
    pub state: &'static str,
    pub holders: Vec<HolderJson<'a>>,
}

/// One runtime conflict, for JSON.
#[derive(Debug, Serialize)]
pub struct ConflictJson<'a> {
    pub key: String,
    pub severity: &'static str,
    pub entry: &'a str,
    pub text: &'a str,
}

/// The whole `ports --json` document.
#[derive(Debug, Serialize)]
pub struct PortsJson<'a> {
    /// No error conflict and the scan succeeded.
    pub ok: bool,
    pub source: Option<&'a ScanSource>,
    pub scan_ms: Option<f64>,
    pub error: Option<&'a str>,
    pub ports: Vec<PortJson<'a>>,
    pub unplanned: Vec<HolderJson<'a>>,
    pub conflicts: Vec<ConflictJson<'a>>,
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

/// The state word of a planned port.
pub fn row_state(state: &PortsState, row: &PortRow) -> &'static str {
    match row.holder() {
        _ if !state.known() => "unknown",
        None => "free",
        Some(h) => h.kind.label(),
    }
}

fn holder_json<'a>(state: &'a PortsState, h: &'a Holder) -> HolderJson<'a> {
    let entry = match &h.kind {
        HolderKind::Ours { entry } | HolderKind::Stale { entry } => {
            Some(state.plan().entries[entry.0].name.as_str())
        }
        _ => None,
    };
    HolderJson {
        addr: h.addr.to_string(),
        kind: h.kind.label(),
        entry,
        uid: h.uid,
        user: h.owner.as_ref().map(|o| o.user.as_str()),
        pid: h.pid(),
        command: h.owner.as_ref().map(|o| o.command_line()),
        exe: h.owner.as_ref().and_then(|o| o.exe.as_deref()),
        docker_proxy: match &h.kind {
            HolderKind::Container { proxy, .. } => Some(proxy),
            _ => None,
        },
        container: match &h.kind {
            HolderKind::Container { name, .. } => name.as_deref(),
            _ => None,
        },
    }
}

/// The document behind `ports --json`.
pub fn ports_json(state: &PortsState) -> PortsJson<'_> {
    let plan = state.plan();
    let scan: Option<&PortScan> = state.scan();
    PortsJson {
        ok: exit_code(state) == 0,
        source: scan.map(|s| &s.source),
        scan_ms: scan.map(|s| (s.took.as_secs_f64() * 1e6).round() / 1e3),
        error: scan.and_then(|s| s.error.as_deref()),
        ports: state
            .rows()
            .iter()
            .map(|r| {
                let t = &plan.targets[r.target.0];
                PortJson {
                    port: r.port,
                    entry: &plan.entries[r.entry.0].name,
                    label: &t.label,
                    host: &t.host,
                    shared: r.shared,
                    state: row_state(state, r),
                    holders: r.holders.iter().map(|h| holder_json(state, h)).collect(),
                }
            })
            .collect(),
        unplanned: state
            .unplanned()
            .iter()
            .map(|u| holder_json(state, &u.holder))
            .collect(),
        conflicts: state
            .conflicts()
            .map(|c| ConflictJson {
                key: c.key.id(),
                severity: severity(c.severity),
                entry: &plan.entries[c.entry.0].name,
                text: &c.text,
            })
            .collect(),
    }
}

/// 0: every port known and no error conflict; 1: an error conflict; 2: the scan failed.
pub fn exit_code(state: &PortsState) -> i32 {
    if !state.known() {
        EXIT_SCAN_FAILED
    } else if state.conflicts().any(|c| c.severity == Severity::Error) {
        1
    } else {
        0
    }
}

fn holder_text(state: &PortsState, h: &Holder) -> (String, String) {
    let pid = h.pid().map_or(String::new(), |p| p.to_string());
    let text = match (&h.kind, &h.owner) {
        (HolderKind::Ours { entry }, Some(o)) => {
            format!(
                "{} ({}, ours)",
                o.command_line(),
                state.plan().entries[entry.0].name
            )
        }
        (_, Some(o)) => format!("{} (user {})", o.command_line(), o.user),
        (_, None) => format!("uid {}, process not visible", h.uid),
    };
    (pid, text)
}

/// `ports` for people, and its exit code (see [`exit_code`]).
pub fn ports_table(state: &PortsState) -> (String, i32) {
    let plan = state.plan();
    let mut out = String::new();
    if let Some(err) = state.scan().and_then(|s| s.error.as_deref()) {
        out.push_str(&format!("scan failed: {err}\n"));
    }
    let name_w = plan
        .entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "{:>5}  {:<name_w$}  {:<9}  {:<9}  {:>7}  HOLDER\n",
        "PORT", "ENTRY", "LABEL", "STATE", "PID"
    ));
    let mut seen_shared = BTreeSet::new();
    for r in state.rows() {
        let first_of_shared = r.shared && seen_shared.insert(r.port);
        let (pid, holder) = r
            .holder()
            .map(|h| holder_text(state, h))
            .unwrap_or_default();
        let holder = match (r.shared, first_of_shared) {
            (true, false) if !holder.is_empty() => "(as above: shared port)".to_string(),
            _ => holder,
        };
        out.push_str(&format!(
            "{:>5}  {:<name_w$}  {:<9}  {:<9}  {:>7}  {holder}\n",
            r.port,
            plan.entries[r.entry.0].name,
            plan.targets[r.target.0].label,
            row_state(state, r),
            pid
        ));
    }
    if !state.unplanned().is_empty() {
        out.push_str("\nUnplanned listeners in the plan's port blocks:\n");
        for u in state.unplanned() {
            let (pid, holder) = holder_text(state, &u.holder);
            out.push_str(&format!(
                "{:>5}  {:<name_w$}  {:<9}  {:<9}  {pid:>7}  {holder}\n",
                u.holder.addr.port(),
                u.holder.addr.ip().to_string(),
                "",
                u.holder.kind.label(),
            ));
        }
    }
    let conflicts: Vec<_> = state.conflicts().collect();
    if !conflicts.is_empty() {
        out.push_str("\nConflicts:\n");
        for c in conflicts {
            out.push_str(&format!("  {:<7}  {}\n", severity(c.severity), c.text));
        }
    }
    (out, exit_code(state))
}

/// `ports --json`, and its exit code (see [`exit_code`]).
pub fn ports_json_text(state: &PortsState) -> (String, i32) {
    let text = serde_json::to_string_pretty(&ports_json(state))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    (text, exit_code(state))
}

/// Every port someone listens on (for [`super::next_free_pair`]).
pub fn listening_ports(scan: &PortScan) -> BTreeSet<u16> {
    scan.listeners.iter().map(|l| l.addr.port()).collect()
}
