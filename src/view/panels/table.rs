//! The services table and the infrastructure table: one row per entry, each port with its state.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row as TableRow, Table, Widget};

use crate::health::ProbeState;
use crate::layout::PanelKind;
use crate::plan::EntryId;
use crate::state::State;
use crate::state::procs::Lifecycle;
use crate::state::rows::Row;
use crate::view::format;
use crate::view::theme::{Theme, symbol};

/// Input of the table panel.
pub struct TablePanel<'a> {
    pub state: &'a State,
    pub kind: PanelKind,
    pub theme: Theme,
}

impl TablePanel<'_> {
    fn port_cell(&self, entry: EntryId, label: &str) -> Cell<'static> {
        let s = self.state;
        let e = &s.plan.entries[entry.0];
        match e
            .targets
            .iter()
            .find(|t| s.plan.targets[t.0].label == label)
        {
            Some(t) => {
                let st = s.targets[t.0].state;
                Cell::from(Span::styled(
                    format!("{} {}", symbol(st), s.plan.targets[t.0].port),
                    self.theme.state(st),
                ))
            }
            None => Cell::from(Span::styled("  -", self.theme.dim())),
        }
    }

    fn ports_cell(&self, entry: EntryId) -> Cell<'static> {
        let s = self.state;
        let spans: Vec<Span> = s.plan.entries[entry.0]
            .targets
            .iter()
            .flat_map(|t| {
                let st = s.targets[t.0].state;
                let target = &s.plan.targets[t.0];
                [
                    Span::styled(
                        format!("{} {}", symbol(st), target.port),
                        self.theme.state(st),
                    ),
                    Span::styled(format!(" {}  ", target.label), self.theme.dim()),
                ]
            })
            .collect();
        Cell::from(Line::from(spans))
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
        }
    }

    fn width(self, services: bool) -> u16 {
        match self {
            Col::Name if services => 18,
            Col::Name => 13,
            Col::Group if services => 9,
            Col::Group => 14,
            Col::Http | Col::Grpc | Col::Metrics => 7,
            // Ports shrink to what is left (see `render`); 20 is what they need to be worth showing.
            Col::Ports => 20,
            Col::Proc => 13,
            Col::Latency => 6,
            Col::Since => 5,
            Col::History => 12,
        }
    }
}

/// The columns that fit in `width`, most important first, shown in table order.
fn columns(services: bool, width: u16) -> Vec<Col> {
    let by_priority: &[Col] = if services {
        &[
            Col::Name,
            Col::Http,
            Col::Grpc,
            Col::Proc,
            Col::Latency,
            Col::Since,
            Col::Metrics,
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
            Col::History,
        ]
    };
    let mut used = 0;
    let mut chosen = Vec::new();
    for &c in by_priority {
        let w = c.width(services) + 1;
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
    fn cell(&self, col: Col, entry: EntryId, spark_width: u16) -> Cell<'static> {
        let s = self.state;
        let e = &s.plan.entries[entry.0];
        let main = e.targets.first().map(|t| &s.targets[t.0]);
        match col {
            Col::Name => {
                let state = s.entry_state(entry);
                Cell::from(Span::styled(
                    format!("{} {}", symbol(state), e.name),
                    self.theme.state(state),
                ))
            }
            Col::Group => Cell::from(e.group.clone()),
            Col::Http => self.port_cell(entry, "http"),
            Col::Grpc => self.port_cell(entry, "grpc"),
            Col::Metrics => self.port_cell(entry, "metrics"),
            Col::Ports => self.ports_cell(entry),
            Col::Proc if e.command.is_empty() => Cell::from(Span::styled("-", self.theme.dim())),
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
                Cell::from(Span::styled(format::lifecycle(p, s.now), style))
            }
            Col::Latency => Cell::from(
                main.and_then(|m| m.last.as_ref())
                    .map_or_else(String::new, |r| format::latency(r.latency)),
            ),
            Col::Since => Cell::from(main.and_then(|m| m.since).map_or_else(String::new, |t| {
                format::age(s.now.saturating_duration_since(t))
            })),
            Col::History => Cell::from(Span::styled(
                main.map_or_else(String::new, |m| {
                    format::sparkline(m.latencies_us.iter().copied(), usize::from(spark_width))
                }),
                self.theme.accent(),
            )),
        }
    }
}

impl Widget for &TablePanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let focused = s.ui.focus == self.kind;
        let rows = s.rows(self.kind);
        let services = self.kind == PanelKind::Services;
        let entries = rows.iter().filter(|r| matches!(r, Row::Entry(_))).count();
        let title = if s.ui.filter.is_empty() {
            format!(" {} ({entries}) ", self.kind.title())
        } else {
            format!(" {} ({entries}) /{} ", self.kind.title(), s.ui.filter)
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(self.theme.border(focused))
            .title(title);
        let inner_width = area.width.saturating_sub(2);
        let cols = columns(services, inner_width);
        let others: u16 = cols
            .iter()
            .filter(|c| !matches!(c, Col::History | Col::Ports))
            .map(|c| c.width(services) + 1)
            .sum();
        let ports_width = inner_width
            .saturating_sub(others + 1)
            .clamp(Col::Ports.width(false), 34);
        let width_of = |c: Col| {
            if c == Col::Ports {
                ports_width
            } else {
                c.width(services)
            }
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
        let offset = s.offset(self.kind);
        let height = usize::from(area.height.saturating_sub(3));
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
                            .map(|c| self.cell(*c, *id, spark_width))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_tables_drop_the_least_important_columns() {
        assert_eq!(columns(true, 200).len(), 9);
        assert_eq!(
            columns(true, 44),
            [Col::Name, Col::Http, Col::Grpc, Col::Latency]
        );
        assert_eq!(columns(true, 10), [Col::Name]);
        assert_eq!(columns(false, 44), [Col::Name, Col::Ports, Col::Latency]);
    }
}
