//! The services table and the infrastructure table: one row per entry, each port with its state.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row as TableRow, Table, Widget};

use crate::health::ProbeState;
use crate::layout::PanelKind;
use crate::plan::{EntryId, TargetId};
use crate::state::State;
use crate::state::procs::Lifecycle;
use crate::state::rows::Row;
use crate::view::fit::{Piece, fit, whole, words};
use crate::view::format;
use crate::view::theme::{Theme, symbol};

/// Input of the table panel.
pub struct TablePanel<'a> {
    pub state: &'a State,
    pub kind: PanelKind,
    pub theme: Theme,
}

impl TablePanel<'_> {
    /// The pieces of one port: its state and number (whole, always together), and its label
    /// when `labelled` (giving way first).
    fn port_pieces(&self, target: TargetId, labelled: bool) -> Vec<Piece<'static>> {
        let s = self.state;
        let st = s.targets[target.0].state;
        let t = &s.plan.targets[target.0];
        let mut pieces = vec![Piece::new(
            format!("{} {}", symbol(st), t.port),
            self.theme.state(st),
        )];
        if labelled {
            pieces.push(Piece::new(t.label.clone(), self.theme.dim()).optional(2));
        }
        pieces
    }

    fn port_cell(&self, entry: EntryId, label: &str, width: usize) -> Line<'static> {
        let s = self.state;
        match s.plan.entries[entry.0]
            .targets
            .iter()
            .find(|t| s.plan.targets[t.0].label == label)
        {
            Some(t) => fit(&self.port_pieces(*t, false), width),
            None => fit(&[Piece::new("  -", self.theme.dim())], width),
        }
    }

    fn ports_cell(&self, entry: EntryId, width: usize) -> Line<'static> {
        let s = self.state;
        let mut pieces = Vec::new();
        for (i, t) in s.plan.entries[entry.0].targets.iter().enumerate() {
            let mut port = self.port_pieces(*t, true);
            if i > 0 {
                port[0].gap = "  ";
            }
            pieces.extend(port);
        }
        fit(&pieces, width)
    }
}

/// A column of the table; which ones are shown depends on the width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Group,
    Http,
    Grpc,
    Metrics,
    Ports,
    Proc,
    Latency,
    Since,
    History,
    /// CPU and memory of the container or process group.
    Usage,
}

impl Col {
    fn header(self, services: bool) -> &'static str {
        match self {
            Col::Name if services => "SERVICE",
            Col::Name => "COMPONENT",
            Col::Group if services => "GROUP",
            Col::Group => "CATEGORY",
            Col::Http => "HTTP",
            Col::Grpc => "GRPC",
            Col::Metrics => "METRICS",
            Col::Ports => "PORTS",
            Col::Proc => "PROCESS",
            Col::Latency => "LAT",
            Col::Since => "SINCE",
            Col::History => "LATENCY HISTORY",
            Col::Usage => "CPU   MEM",
        }
    }

    fn width(self, text: TextWidths) -> u16 {
        match self {
            Col::Name => text.name,
            Col::Group => text.group,
            Col::Http | Col::Grpc | Col::Metrics => 7,
            // Ports shrink to what is left (see `render`); 20 is what they need to be worth showing.
            Col::Ports => 20,
            Col::Proc => 13,
            Col::Latency => 6,
            Col::Since => 5,
            Col::History => 12,
            Col::Usage => 15,
        }
    }
}

/// Widths of the columns sized by their contents (names and groups, whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextWidths {
    name: u16,
    group: u16,
}

impl TextWidths {
    /// Wide enough for the longest name (with its state symbol) and group of `kind`'s rows,
    /// within reason: a longer one is shown as `…`.
    fn of(plan: &crate::plan::Plan, kind: crate::plan::EntryKind) -> TextWidths {
        let entries = plan.entries.iter().filter(|e| e.kind == kind);
        let longest = |f: &dyn Fn(&crate::plan::Entry) -> usize| {
            entries.clone().map(f).max().unwrap_or(0) as u16
        };
        TextWidths {
            name: (longest(&|e| e.name.chars().count() + 2)).clamp(11, 28),
            group: (longest(&|e| e.group.chars().count())).clamp(8, 16),
        }
    }
}

/// The columns that fit in `width`, most important first, shown in table order.
fn columns(services: bool, width: u16, text: TextWidths) -> Vec<Col> {
    let by_priority: &[Col] = if services {
        &[
            Col::Name,
            Col::Http,
            Col::Grpc,
            Col::Proc,
            Col::Latency,
            Col::Since,
            Col::Metrics,
            Col::Usage,
            Col::Group,
            Col::History,
        ]
    } else {
        &[
            Col::Name,
            Col::Ports,
            Col::Latency,
            Col::Since,
            Col::Proc,
            Col::Usage,
            Col::Group,
            Col::History,
        ]
    };
    let order: &[Col] = if services {
        &[
            Col::Name,
            Col::Group,
            Col::Http,
            Col::Grpc,
            Col::Metrics,
            Col::Proc,
            Col::Latency,
            Col::Since,
            Col::Usage,
            Col::History,
        ]
    } else {
        &[
            Col::Name,
            Col::Group,
            Col::Ports,
            Col::Proc,
            Col::Latency,
            Col::Since,
            Col::Usage,
            Col::History,
        ]
    };
    let mut used = 0;
    let mut chosen = Vec::new();
    for &c in by_priority {
        let w = c.width(text) + 1;
        if used + w <= width || chosen.is_empty() {
            used += w;
            chosen.push(c);
        }
    }
    order
        .iter()
        .copied()
        .filter(|c| chosen.contains(c))
        .collect()
}

impl TablePanel<'_> {
    fn cell(&self, col: Col, entry: EntryId, width: u16) -> Cell<'static> {
        let s = self.state;
        let w = usize::from(width);
        let e = &s.plan.entries[entry.0];
        let main = e.targets.first().map(|t| &s.targets[t.0]);
        let line = match col {
            Col::Name => {
                let state = s.entry_state(entry);
                let style = self.theme.state(state);
                fit(
                    &[
                        Piece::new(symbol(state), style),
                        Piece::new(e.name.clone(), style),
                    ],
                    w,
                )
            }
            Col::Group => whole(e.group.clone(), Style::default(), w),
            Col::Http => self.port_cell(entry, "http", w),
            Col::Grpc => self.port_cell(entry, "grpc", w),
            Col::Metrics => self.port_cell(entry, "metrics", w),
            Col::Ports => self.ports_cell(entry, w),
            Col::Proc if e.is_remote() => whole(format!("@{}", e.host), self.theme.dim(), w),
            // A port of its own (even of a service not built yet) held by a process that does not answer: taken, by whom.
            Col::Proc
                if !e.is_container()
                    && let Some(taken) = s.taken(entry) =>
            {
                let texts = taken.cell_texts();
                let text = texts
                    .iter()
                    .find(|t| t.chars().count() <= w)
                    .unwrap_or(&texts[texts.len() - 1]);
                whole(text.clone(), self.theme.state(ProbeState::Down), w)
            }
            Col::Proc if e.not_startable.is_some() => words("not built", self.theme.dim(), w),
            // Its container does not run, yet its port is served: by whom.
            Col::Proc if let Some(h) = s.held_elsewhere(entry) => match h.pid() {
                Some(pid) => whole(format!("ext {pid}"), self.theme.dim(), w),
                None => words("held elsewhere", self.theme.dim(), w),
            },
            Col::Proc if e.is_container() => {
                super::container_rows::state_cell(s, entry, self.theme, w)
                    .unwrap_or_else(|| whole("-", self.theme.dim(), w))
            }
            Col::Proc if e.command.is_empty() => whole("-", self.theme.dim(), w),
            Col::Usage => {
                let (cpu, mem) = super::container_rows::usage_cells(s, entry);
                fit(
                    &[
                        Piece::new(format!("{cpu:<5}"), Style::default()),
                        Piece::new(mem, Style::default()),
                    ],
                    w,
                )
            }
            Col::Proc => {
                let p = &s.procs[entry.0];
                let style = match p.lifecycle {
                    Lifecycle::Crashed { .. }
                    | Lifecycle::BackingOff { .. }
                    | Lifecycle::SpawnFailed { .. } => self.theme.state(ProbeState::Down),
                    Lifecycle::Starting { .. } | Lifecycle::Stopping { .. } => {
                        self.theme.state(ProbeState::Unhealthy)
                    }
                    Lifecycle::Running { .. } => self.theme.state(ProbeState::Up),
                    _ => self.theme.dim(),
                };
                words(&format::lifecycle(p, s.now), style, w)
            }
            Col::Latency => whole(
                main.and_then(|m| m.last.as_ref())
                    .map_or_else(String::new, |r| format::latency(r.latency)),
                Style::default(),
                w,
            ),
            Col::Since => whole(
                main.and_then(|m| m.since).map_or_else(String::new, |t| {
                    format::age(s.now.saturating_duration_since(t))
                }),
                Style::default(),
                w,
            ),
            Col::History => Line::from(Span::styled(
                main.map_or_else(String::new, |m| {
                    format::sparkline(m.latencies_us.iter().copied(), w)
                }),
                self.theme.accent(),
            )),
        };
        Cell::from(line)
    }
}

impl Widget for &TablePanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let focused = s.ui.focus == self.kind;
        let rows = s.rows(self.kind);
        let services = self.kind == PanelKind::Services;
        let entries = rows.iter().filter(|r| matches!(r, Row::Entry(_))).count();
        let offset = s.offset(self.kind);
        let notice = if services {
            Vec::new()
        } else {
            // Room for the header and at least one row above it.
            let room = usize::from(area.height.saturating_sub(4)).min(4);
            super::container_rows::engine_notice(s, usize::from(area.width.saturating_sub(2)), room)
        };
        let height = usize::from(area.height.saturating_sub(3)).saturating_sub(notice.len());
        let (above, below) = hidden_rows(&rows, offset, height);
        let mut title = format!(" {} ({entries})", self.kind.title());
        if above > 0 {
            title.push_str(&format!(" ↑{above}"));
        }
        if below > 0 {
            title.push_str(&format!(" ↓{below}"));
        }
        if !s.ui.filter.is_empty() {
            title.push_str(&format!(" /{}", s.ui.filter));
        }
        if !services && let Some(engine) = super::container_rows::engine_title(s) {
            title.push_str(&format!(" · {engine}"));
        }
        title.push(' ');
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(self.theme.border(focused))
            .title(title);
        let inner_width = area.width.saturating_sub(2);
        let kind = if services {
            crate::plan::EntryKind::Service
        } else {
            crate::plan::EntryKind::Infra
        };
        let text = TextWidths::of(&s.plan, kind);
        let cols = columns(services, inner_width, text);
        let others: u16 = cols
            .iter()
            .filter(|c| !matches!(c, Col::History | Col::Ports))
            .map(|c| c.width(text) + 1)
            .sum();
        let ports_width = inner_width
            .saturating_sub(others + 1)
            .clamp(Col::Ports.width(text), 34);
        // A taken row's holder (`✗ taken by python3 (pid 4242)`) takes what room is spare.
        let taken_width = rows
            .iter()
            .filter_map(|r| match r {
                Row::Entry(id) => s.taken(*id),
                Row::Group(_) => None,
            })
            .map(|t| t.cell_texts()[0].chars().count() as u16)
            .max()
            .unwrap_or(0);
        let proc_width = if taken_width > Col::Proc.width(text) && cols.contains(&Col::Proc) {
            // What the other columns and their spacing take (the sparkline gives way).
            let rest: u16 = cols
                .iter()
                .map(|c| match c {
                    Col::History => 1,
                    Col::Proc => 0,
                    Col::Ports => ports_width + 1,
                    c => c.width(text) + 1,
                })
                .sum();
            inner_width
                .saturating_sub(rest)
                .saturating_sub(1)
                .clamp(Col::Proc.width(text), taken_width)
        } else {
            Col::Proc.width(text)
        };
        let width_of = |c: Col| match c {
            Col::Ports => ports_width,
            Col::Proc => proc_width,
            c => c.width(text),
        };
        let fixed: u16 = cols
            .iter()
            .filter(|c| **c != Col::History)
            .map(|c| width_of(*c) + 1)
            .sum();
        let spark_width = inner_width.saturating_sub(fixed).min(60);
        let widths: Vec<Constraint> = cols
            .iter()
            .map(|c| match c {
                Col::History => Constraint::Fill(1),
                c => Constraint::Length(width_of(*c)),
            })
            .collect();
        let body: Vec<TableRow> = rows
            .iter()
            .skip(offset)
            .take(height)
            .map(|r| match r {
                Row::Group(g) => TableRow::new(vec![Cell::from(Span::styled(
                    format!("▸ {g}"),
                    self.theme.header(),
                ))]),
                Row::Entry(id) => {
                    let row = TableRow::new(
                        cols.iter()
                            .map(|c| {
                                let w = if *c == Col::History {
                                    spark_width
                                } else {
                                    width_of(*c)
                                };
                                self.cell(*c, *id, w)
                            })
                            .collect::<Vec<_>>(),
                    );
                    if focused && s.ui.selected == Some(*id) {
                        row.style(self.theme.selected())
                    } else {
                        row
                    }
                }
            })
            .collect();
        let empty = body.is_empty();
        let header: Vec<&str> = cols.iter().map(|c| c.header(services)).collect();
        let table = Table::new(body, widths)
            .header(TableRow::new(header).style(self.theme.header()))
            .block(block);
        Widget::render(table, area, buf);
        // The engine's trouble, in words with the fix, on the panel's last lines.
        let inner = area.height.saturating_sub(2);
        for (i, text) in notice.iter().enumerate() {
            let Some(y) = (inner as usize).checked_sub(notice.len() - i) else {
                continue;
            };
            Line::from(Span::styled(
                text.clone(),
                self.theme.severity(crate::state::Severity::Error),
            ))
            .render(
                Rect::new(
                    area.x + 1,
                    area.y + 1 + y as u16,
                    area.width.saturating_sub(2),
                    1,
                ),
                buf,
            );
        }
        if empty && area.height > 3 {
            let msg = if s.ui.filter.is_empty() {
                "nothing in this plan"
            } else {
                "no row matches the filter"
            };
            Line::from(Span::styled(msg, self.theme.dim())).render(
                Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1),
                buf,
            );
        }
    }
}

/// Entry rows above and below the `height` rows shown from `offset`.
fn hidden_rows(rows: &[Row], offset: usize, height: usize) -> (usize, usize) {
    let entries = |rows: &[Row]| rows.iter().filter(|r| matches!(r, Row::Entry(_))).count();
    let offset = offset.min(rows.len());
    let end = (offset + height).min(rows.len());
    (entries(&rows[..offset]), entries(&rows[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: TextWidths = TextWidths { name: 18, group: 9 };

    #[test]
    fn narrow_tables_drop_the_least_important_columns() {
        assert_eq!(columns(true, 200, TEXT).len(), 10);
        assert_eq!(
            columns(true, 44, TEXT),
            [Col::Name, Col::Http, Col::Grpc, Col::Latency]
        );
        assert_eq!(columns(true, 10, TEXT), [Col::Name]);
        let infra = TextWidths {
            name: 13,
            group: 14,
        };
        assert_eq!(
            columns(false, 44, infra),
            [Col::Name, Col::Ports, Col::Latency]
        );
    }

    #[test]
    fn rows_out_of_sight_are_counted_without_group_headings() {
        let rows = vec![
            Row::Group("core".into()),
            Row::Entry(EntryId(0)),
            Row::Entry(EntryId(1)),
            Row::Group("social".into()),
            Row::Entry(EntryId(2)),
            Row::Entry(EntryId(3)),
        ];
        assert_eq!(hidden_rows(&rows, 0, 10), (0, 0));
        assert_eq!(hidden_rows(&rows, 0, 3), (0, 2));
        assert_eq!(hidden_rows(&rows, 2, 2), (1, 2));
        assert_eq!(hidden_rows(&rows, 4, 5), (2, 0));
        assert_eq!(hidden_rows(&rows, 0, 0), (0, 4));
    }
}
