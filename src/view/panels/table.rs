//! The services table and the infrastructure table: one row per entry, each port with its state.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row as TableRow, Table, Widget};

use crate::layout::PanelKind;
use crate::plan::{EntryId, EntryKind};
use crate::state::State;
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

    fn entry_row(&self, entry: EntryId, width: u16) -> TableRow<'static> {
        let s = self.state;
        let e = &s.plan.entries[entry.0];
        let main = e.targets.first().map(|t| &s.targets[t.0]);
        let latency = main
            .and_then(|m| m.last.as_ref())
            .map_or_else(String::new, |r| format::latency(r.latency));
        let since = main.and_then(|m| m.since).map_or_else(String::new, |t| {
            format::age(s.now.saturating_duration_since(t))
        });
        let spark = main.map_or_else(String::new, |m| {
            format::sparkline(m.latencies_us.iter().copied(), usize::from(width))
        });
        let state = s.entry_state(entry);
        let name = Span::styled(
            format!("{} {}", symbol(state), e.name),
            self.theme.state(state),
        );
        let mut cells = vec![Cell::from(name), Cell::from(e.group.clone())];
        if e.kind == EntryKind::Service {
            cells.push(self.port_cell(entry, "http"));
            cells.push(self.port_cell(entry, "grpc"));
            cells.push(self.port_cell(entry, "metrics"));
        } else {
            cells.push(self.ports_cell(entry));
        }
        cells.push(Cell::from(latency));
        cells.push(Cell::from(since));
        cells.push(Cell::from(Span::styled(spark, self.theme.accent())));
        TableRow::new(cells)
    }
}

impl Widget for &TablePanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let focused = s.ui.focus == self.kind;
        let rows = s.rows(self.kind);
        let services = self.kind == PanelKind::Services;
        let title = if s.ui.filter.is_empty() {
            format!(
                " {} ({}) ",
                self.kind.title(),
                rows.iter().filter(|r| matches!(r, Row::Entry(_))).count()
            )
        } else {
            format!(" {} /{} ", self.kind.title(), s.ui.filter)
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(self.theme.border(focused))
            .title(title);
        let (header, widths): (Vec<&str>, Vec<Constraint>) = if services {
            (
                vec![
                    "SERVICE",
                    "GROUP",
                    "HTTP",
                    "GRPC",
                    "METRICS",
                    "LAT",
                    "SINCE",
                    "LATENCY HISTORY",
                ],
                vec![
                    Constraint::Length(18),
                    Constraint::Length(9),
                    Constraint::Length(7),
                    Constraint::Length(7),
                    Constraint::Length(7),
                    Constraint::Length(6),
                    Constraint::Length(5),
                    Constraint::Fill(1),
                ],
            )
        } else {
            (
                vec![
                    "COMPONENT",
                    "CATEGORY",
                    "PORTS",
                    "LAT",
                    "SINCE",
                    "LATENCY HISTORY",
                ],
                vec![
                    Constraint::Length(13),
                    Constraint::Length(14),
                    Constraint::Length(34),
                    Constraint::Length(6),
                    Constraint::Length(5),
                    Constraint::Fill(1),
                ],
            )
        };
        let fixed: u16 = widths
            .iter()
            .map(|c| match c {
                Constraint::Length(n) => n + 1,
                _ => 0,
            })
            .sum();
        let spark_width = area.width.saturating_sub(fixed + 2).min(60);
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
                    let row = self.entry_row(*id, spark_width);
                    if focused && s.ui.selected == Some(*id) {
                        row.style(self.theme.selected())
                    } else {
                        row
                    }
                }
            })
            .collect();
        let empty = body.is_empty();
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
