//! The detail panel: every probe of the selected entry with its last result and its history of state changes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use crate::state::State;
use crate::view::format;
use crate::view::theme::{Theme, symbol};

/// Input of the detail panel.
pub struct DetailPanel<'a> {
    pub state: &'a State,
    pub theme: Theme,
}

impl Widget for &DetailPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let t = self.theme;
        let Some(id) = s.ui.selected else {
            Paragraph::new("nothing selected")
                .block(Block::default().borders(Borders::ALL).title(" Detail "))
                .render(area, buf);
            return;
        };
        let e = &s.plan.entries[id.0];
        let mut lines = vec![Line::from(vec![
            Span::styled(e.name.clone(), t.header()),
            Span::styled(format!("  {}  ", e.group), t.dim()),
            Span::raw(e.description.clone()),
        ])];
        if !e.command.is_empty() {
            lines.push(Line::from(vec![
                Span::styled("command ", t.dim()),
                Span::raw(e.command.join(" ")),
            ]));
        }
        if let Some(c) = &e.container {
            lines.push(Line::from(vec![
                Span::styled("container ", t.dim()),
                Span::raw(c.clone()),
            ]));
        }
        if let Some(why) = &e.not_startable {
            let (label, text) = if e.is_remote() {
                ("host ", format!("{}: probed, never started here", e.host))
            } else {
                ("command ", why.clone())
            };
            lines.push(Line::from(vec![
                Span::styled(label, t.dim()),
                Span::raw(text),
            ]));
        }
        if !e.command.is_empty() {
            process_lines(s, id, t, &mut lines);
        }
        lines.extend(super::container_rows::detail_lines(s, id, t));
        lines.push(Line::from(Span::styled("probes", t.header())));
        for tid in &e.targets {
            let target = &s.plan.targets[tid.0];
            let status = &s.targets[tid.0];
            let (latency, detail) = status
                .last
                .as_ref()
                .map_or(("-".to_string(), "not probed yet".to_string()), |r| {
                    (format::latency(r.latency), r.detail.clone())
                });
            let since = status.since.map_or_else(String::new, |at| {
                format!(" for {}", format::age(s.now.saturating_duration_since(at)))
            });
            lines.push(Line::from(vec![
                Span::styled(format!(" {} ", symbol(status.state)), t.state(status.state)),
                Span::raw(format!(
                    "{} :{} {} ",
                    target.label,
                    target.port,
                    target.kind.as_str()
                )),
                Span::styled(status.state.as_str().to_string(), t.state(status.state)),
                Span::raw(format!(" {latency}{since}")),
            ]));
            lines.push(Line::from(Span::styled(format!("   {detail}"), t.dim())));
        }
        let mut changes: Vec<_> = e
            .targets
            .iter()
            .flat_map(|tid| s.targets[tid.0].changes.iter().map(move |c| (tid, c)))
            .collect();
        changes.sort_by_key(|(_, c)| std::cmp::Reverse(c.at));
        if !changes.is_empty() {
            lines.push(Line::from(Span::styled("state changes", t.header())));
        }
        for (tid, c) in changes.into_iter().take(12) {
            let target = &s.plan.targets[tid.0];
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        " {:>4} ago ",
                        format::age(s.now.saturating_duration_since(c.at))
                    ),
                    t.dim(),
                ),
                Span::raw(format!("{:<8} ", target.label)),
                Span::styled(c.from.as_str().to_string(), t.state(c.from)),
                Span::raw(" → "),
                Span::styled(c.to.as_str().to_string(), t.state(c.to)),
                Span::styled(format!("  {}", c.detail), t.dim()),
            ]));
        }
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border(false))
                    .title(format!(" Detail: {} ", e.name)),
            )
            .render(area, buf);
    }
}

/// The supervision part: lifecycle, pid, restarts, last exit with its reason and last lines.
fn process_lines(s: &State, id: crate::plan::EntryId, t: Theme, lines: &mut Vec<Line<'static>>) {
    use crate::state::procs::Lifecycle;
    let p = &s.procs[id.0];
    let ago = |at: std::time::Instant| format::age(s.now.saturating_duration_since(at));
    let mut head = vec![
        Span::styled("process ", t.dim()),
        Span::styled(p.lifecycle.label().to_string(), t.header()),
    ];
    if let Some(pid) = p.pid {
        head.push(Span::raw(format!(" pid {pid}")));
    }
    if let Some(at) = p.started_at.filter(|_| p.lifecycle.is_live()) {
        head.push(Span::raw(format!(" up {}", ago(at))));
    }
    match &p.lifecycle {
        Lifecycle::BackingOff { until, .. } => head.push(Span::styled(
            format!(
                " · crash loop: {} in a row, next try in {}s",
                p.crashes,
                until.saturating_duration_since(s.now).as_secs_f64().ceil()
            ),
            t.state(crate::health::ProbeState::Down),
        )),
        Lifecycle::SpawnFailed { error, .. } => head.push(Span::styled(
            format!(" · {error}"),
            t.state(crate::health::ProbeState::Down),
        )),
        Lifecycle::External { owner } => head.push(Span::raw(match owner {
            Some(o) => format!(" · pid {} {}", o.pid, o.command),
            None => " · its port is held by a process this user may not see".to_string(),
        })),
        _ => {}
    }
    if p.restarts > 0 {
        head.push(Span::raw(format!(" · {} restarts", p.restarts)));
    }
    lines.push(Line::from(head));
    if let Some(taken) = s.taken(id) {
        lines.push(Line::from(Span::styled(
            format!("✗ taken: port {} is held by {}", taken.port, taken.holder),
            t.state(crate::health::ProbeState::Down),
        )));
    }
    if let Some((exit, at)) = p.last_exit {
        let mut why = vec![
            Span::styled("last exit ", t.dim()),
            Span::raw(format!("{} {} ago", format::exit(exit), ago(at))),
        ];
        if let Some(port) = p.bind_failure {
            let owner = p.port_owner.as_ref().map_or(String::new(), |o| {
                format!(": held by pid {} ({})", o.pid, o.command)
            });
            why.push(Span::styled(
                format!(" · address already in use: port {port}{owner}"),
                t.state(crate::health::ProbeState::Down),
            ));
        }
        lines.push(Line::from(why));
        if !p.lifecycle.is_live() {
            for line in s.logs.last_lines(id, 5) {
                lines.push(Line::from(Span::styled(format!("   {line}"), t.dim())));
            }
        }
    }
}
