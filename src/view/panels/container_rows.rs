//! What the services/infra tables and the detail panel show of a container entry: its state
//! cell, the engine's connection in the infra panel, and the container's lines in the detail.
//! Formats what `state::docker` derived; computes nothing.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::collect::docker::{EngineHealth, MatchedBy};
use crate::health::ProbeState;
use crate::plan::EntryId;
use crate::state::docker::{Connection, ContainerRow, PortVerdict};
use crate::state::{Severity, State};
use crate::view::fit::{Piece, fit};
use crate::view::format;
use crate::view::theme::Theme;

/// Our probes' verdict on the entry's ports.
pub fn port_verdict(s: &State, entry: EntryId) -> PortVerdict {
    PortVerdict::from_states(
        s.plan.entries[entry.0]
            .targets
            .iter()
            .map(|t| s.targets[t.0].state),
    )
}

/// The derived row of a container entry (None for other entries).
pub fn row(s: &State, entry: EntryId) -> Option<ContainerRow> {
    s.docker.row(entry, port_verdict(s, entry), s.now)
}

fn state_style(row: &ContainerRow, t: Theme) -> Style {
    if !row.flags.is_empty() {
        return t.severity(Severity::Warning);
    }
    match row.state.as_str() {
        "running" if row.health != Some(EngineHealth::Unhealthy) => t.state(ProbeState::Up),
        "running" | "missing" | "dead" => t.state(ProbeState::Down),
        s if s.starts_with("exited") => t.state(ProbeState::Down),
        "unknown" | "looking" => t.dim(),
        _ => t.state(ProbeState::Unhealthy),
    }
}

/// The table cell of a container entry: `running healthy 5m`, `exited (1)`, `missing`; a `!`
/// marks a flag (see the detail).
pub fn state_cell(s: &State, entry: EntryId, t: Theme, width: usize) -> Option<Line<'static>> {
    let row = row(s, entry)?;
    let style = state_style(&row, t);
    let mut pieces = Vec::new();
    if !row.flags.is_empty() {
        pieces.push(Piece::new("!", style));
    }
    pieces.push(Piece::new(row.state.clone(), style));
    // The engine's verdict on a container that does not run is stale: not shown.
    match row.health.filter(|_| row.uptime.is_some()) {
        Some(EngineHealth::Healthy) => pieces.push(Piece::new("healthy", style).optional(2)),
        Some(h @ (EngineHealth::Starting | EngineHealth::Unhealthy)) => {
            pieces.push(Piece::new(h.as_str(), style).optional(1))
        }
        _ => {}
    }
    if let Some(up) = row.uptime {
        pieces.push(Piece::new(format::age(up), t.dim()).optional(3));
    }
    Some(fit(&pieces, width))
}

/// The CPU and memory cells of any entry: its container's, or its process group's.
pub fn usage_cells(s: &State, entry: EntryId) -> (String, String) {
    match s.usage(entry) {
        Some((cpu, mem)) => (
            cpu.map_or_else(|| "-".into(), |c| format!("{c:.1}%")),
            mem.map_or_else(|| "-".into(), format::bytes),
        ),
        None => ("-".into(), "-".into()),
    }
}

/// A short word on the engine for the infra panel's title (`Docker 20.10.24`), when the plan
/// has container entries.
pub fn engine_title(s: &State) -> Option<String> {
    if s.docker.is_empty() {
        return None;
    }
    Some(match &s.docker.connection {
        Connection::Connecting => "Docker: connecting".into(),
        Connection::Connected { engine_version, .. } => format!("Docker {engine_version}"),
        Connection::Unavailable { .. } => "Docker unavailable".into(),
    })
}

/// What the infra panel says when the engine cannot be used: what is wrong, then the fix,
/// wrapped at spaces into lines of at most `width` characters (at most `max_lines`).
pub fn engine_notice(s: &State, width: usize, max_lines: usize) -> Vec<String> {
    if s.docker.is_empty() || !matches!(s.docker.connection, Connection::Unavailable { .. }) {
        return Vec::new();
    }
    let (words, fix) = s.docker.connection_words(s.now);
    let mut lines = wrap(&words, width);
    lines.extend(
        fix.map(|f| wrap(&format!("fix: {f}"), width))
            .unwrap_or_default(),
    );
    lines.truncate(max_lines);
    lines
}

/// `text` wrapped at spaces into lines of at most `width` characters (a longer word is cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: String = word.to_string();
        loop {
            let used = line.chars().count();
            let need = word.chars().count() + usize::from(used > 0);
            if used + need <= width {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The container part of the detail panel.
pub fn detail_lines(s: &State, entry: EntryId, t: Theme) -> Vec<Line<'static>> {
    let Some(row) = row(s, entry) else {
        return Vec::new();
    };
    let mut head = vec![
        Span::styled("container ", t.dim()),
        Span::styled(row.name.clone(), t.header()),
        Span::raw(" "),
        Span::styled(row.state.clone(), state_style(&row, t)),
    ];
    if let Some(h) = row
        .health
        .filter(|h| *h != EngineHealth::None && row.uptime.is_some())
    {
        head.push(Span::raw(format!(" · engine health {}", h.as_str())));
    }
    if let Some(up) = row.uptime {
        head.push(Span::raw(format!(" · up {}", format::age(up))));
    }
    let mut lines = vec![Line::from(head)];
    let mut figures = Vec::new();
    if let Some(cpu) = row.cpu_percent {
        figures.push(format!("cpu {cpu:.1}%"));
    }
    if let Some(mem) = row.memory_bytes {
        figures.push(format!("mem {}", format::bytes(mem)));
    }
    if !row.ports.is_empty() {
        let ports: Vec<String> = row
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{}:{}→{}/{}",
                    p.host_ip, p.host_port, p.container_port, p.protocol
                )
            })
            .collect();
        figures.push(format!("ports {}", ports.join(" ")));
    }
    if let Some(by) = &row.matched_by {
        figures.push(match by {
            MatchedBy::Name => "found by name".into(),
            MatchedBy::ComposeLabels => "found by compose labels".into(),
            MatchedBy::ComposeFile { project } => {
                format!("found by compose file (project {project})")
            }
        });
    }
    if !figures.is_empty() {
        lines.push(Line::from(Span::raw(format!("  {}", figures.join(" · ")))));
    }
    for flag in &row.flags {
        lines.push(Line::from(Span::styled(
            format!("  ! {}", flag.words()),
            t.severity(Severity::Warning),
        )));
    }
    if let Some(hint) = &row.hint {
        lines.push(Line::from(Span::styled(format!("  {hint}"), t.dim())));
    }
    for notice in engine_notice(s, usize::MAX, 2) {
        lines.push(Line::from(Span::styled(
            format!("  {notice}"),
            t.severity(Severity::Error),
        )));
    }
    lines
}

/// The status bar's question before a compose `up`, short enough for 80 columns
/// (`Create redis: docker-compose ... up -d redis? y/n`); the whole command is in the alert.
pub fn compose_question(s: &State) -> String {
    let Some((entry, up)) = &s.compose_offer else {
        return String::new();
    };
    let program = up.argv.first().map_or("docker-compose", String::as_str);
    let service = up.argv.last().map_or("", String::as_str);
    format!(
        "Create {}: {program} ... up -d {service}? y/n ",
        s.plan.entries[entry.0].name
    )
}

/// The `containers` panel of layout files: the engine and every container entry in plan order.
pub fn containers_panel(s: &State, theme: Theme) -> super::containers::ContainersPanel<'_> {
    let entries = s
        .plan
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_container())
        .map(|(i, e)| (EntryId(i), e.name.as_str(), port_verdict(s, EntryId(i))))
        .collect();
    super::containers::ContainersPanel {
        docker: &s.docker,
        entries,
        now: s.now,
        focused: false,
        theme,
    }
}

#[cfg(test)]
#[path = "container_rows_tests.rs"]
mod tests;
