//! The ports panel: every planned port with its entry, label, state and holder, then the
//! unplanned listeners inside the plan's port blocks. Numbers are never cut: a port or pid
//! that does not fit its column is shown as `…` whole.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::health::ProbeState;
use crate::state::ports::{Holder, HolderKind, PortsState};
use crate::view::theme::{Theme, symbol};

/// Input of the ports panel.
pub struct PortsPanel<'a> {
    pub ports: &'a PortsState,
    /// Index of the selected line: planned ports first, then unplanned listeners.
    pub selected: Option<usize>,
    pub focused: bool,
    pub theme: Theme,
}

/// Widths of the columns, fitted to the area in order; 0 = column left out.
struct Columns {
    port: usize,
    entry: usize,
    label: usize,
    state: usize,
    pid: usize,
    holder: usize,
}

impl Columns {
    fn fit(width: usize, entry_w: usize, label_w: usize) -> Columns {
        let mut left = width;
        let mut take = |want: usize| {
            let got = want.min(left);
            left = left.saturating_sub(got + 1);
            got
        };
        Columns {
            port: take(5),
            entry: take(entry_w),
            label: take(label_w),
            state: take(11),
            pid: take(7),
            holder: take(usize::MAX),
        }
    }
}

/// `text` cut to `width` characters, ending in `…` when cut; control characters shown as `?`.
fn cut(text: &str, width: usize) -> String {
    let clean = text.chars().map(|c| if c.is_control() { '?' } else { c });
    if text.chars().count() <= width {
        return clean.collect();
    }
    if width == 0 {
        return String::new();
    }
    clean.take(width - 1).chain(['…']).collect()
}

/// A number right-aligned in `width`, or `…` whole when it does not fit.
fn number(n: Option<u32>, width: usize) -> String {
    let text = n.map_or(String::new(), |n| n.to_string());
    if text.chars().count() <= width {
        format!("{text:>width$}")
    } else if width == 0 {
        String::new()
    } else {
        format!("{:>width$}", "…")
    }
}

/// The state word, the symbol that tells it without colour, and its colour.
fn state_look(kind: Option<&HolderKind>, known: bool) -> (&'static str, &'static str, ProbeState) {
    let probe = |p: ProbeState| (symbol(p), p);
    let ((sym, look), word) = match kind {
        _ if !known => (probe(ProbeState::Pending), "unknown"),
        None => (("·", ProbeState::Pending), "free"),
        Some(HolderKind::Ours { .. }) => (probe(ProbeState::Up), "ours"),
        Some(HolderKind::Stale { .. }) => (probe(ProbeState::Unhealthy), "stale"),
        Some(HolderKind::Container { .. }) => (probe(ProbeState::NoHealthService), "container"),
        Some(HolderKind::Foreign) => (probe(ProbeState::Down), "taken"),
        Some(HolderKind::Hidden) => (probe(ProbeState::Down), "hidden"),
    };
    (sym, word, look)
}

/// The command line with argv[0] shortened to its file name (the full path is in the JSON).
fn short_command(argv: &[String]) -> String {
    let mut parts = argv.iter().map(String::as_str);
    let first = parts
        .next()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .unwrap_or_default();
    std::iter::once(first)
        .chain(parts)
        .collect::<Vec<_>>()
        .join(" ")
}

impl PortsPanel<'_> {
    fn holder_text(&self, h: &Holder, row_entry: Option<usize>) -> String {
        let plan = self.ports.plan();
        match (&h.kind, &h.owner) {
            (HolderKind::Ours { entry }, _) if Some(entry.0) != row_entry => {
                format!("our {}", plan.entries[entry.0].name)
            }
            (HolderKind::Container { proxy, name }, _) => format!(
                "{} → {}:{}",
                name.as_deref().unwrap_or("docker-proxy"),
                proxy
                    .container_ip
                    .map_or_else(|| "?".to_string(), |ip| ip.to_string()),
                proxy.container_port
            ),
            (_, Some(o)) => format!("{} ({})", short_command(&o.command), o.user),
            (_, None) => format!("uid {}, process not visible", h.uid),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn line(
        &self,
        c: &Columns,
        port: u16,
        entry: &str,
        label: &str,
        holder: Option<&Holder>,
        holder_text: String,
        selected: bool,
    ) -> Line<'static> {
        let t = self.theme;
        let (sym, word, look) = state_look(holder.map(|h| &h.kind), self.ports.known());
        let mut spans = vec![
            Span::raw(format!("{} ", number(Some(u32::from(port)), c.port))),
            Span::raw(format!("{:<w$} ", cut(entry, c.entry), w = c.entry)),
            Span::styled(
                format!("{:<w$} ", cut(label, c.label), w = c.label),
                t.dim(),
            ),
        ];
        if c.state > 0 {
            let state = cut(&format!("{sym} {word}"), c.state);
            spans.push(Span::styled(
                format!("{state:<w$} ", w = c.state),
                t.state(look),
            ));
        }
        if c.pid > 0 {
            spans.push(Span::raw(format!(
                "{} ",
                number(holder.and_then(Holder::pid), c.pid)
            )));
        }
        if c.holder > 0 {
            spans.push(Span::raw(cut(&holder_text, c.holder)));
        }
        let line = Line::from(spans);
        if selected {
            line.style(t.selected())
        } else {
            line
        }
    }
}

impl Widget for &PortsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let s = self.ports;
        let plan = s.plan();
        let conflicts = s.conflicts().count();
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(self.focused))
            .title(match s.scan().and_then(|scan| scan.error.as_deref()) {
                // A failed scan is said where its facts would be: every port is unknown.
                Some(error) => format!(" Ports: scan failed: {} ", cut(error, 200)),
                None => format!(
                    " Ports ({} planned, {conflicts} conflicts) ",
                    s.rows().len()
                ),
            })
            .title_style(match s.scan().and_then(|scan| scan.error.as_ref()) {
                Some(_) => t.state(ProbeState::Down),
                None => Style::default(),
            });
        let inner = block.inner(area);
        block.render(area, buf);
        let entry_w = plan.entries.iter().map(|e| e.name.len()).max().unwrap_or(5);
        let label_w = plan
            .targets
            .iter()
            .map(|t| t.label.len())
            .max()
            .unwrap_or(5);
        let c = Columns::fit(usize::from(inner.width), entry_w.min(16), label_w.min(9));
        let header = Line::from(Span::styled(
            [
                format!("{:>w$}", cut("PORT", c.port), w = c.port),
                format!("{:<w$}", cut("ENTRY", c.entry), w = c.entry),
                format!("{:<w$}", cut("LABEL", c.label), w = c.label),
                format!("{:<w$}", cut("STATE", c.state), w = c.state),
                format!("{:>w$}", cut("PID", c.pid), w = c.pid),
                cut("HOLDER", c.holder),
            ]
            .join(" "),
            t.header(),
        ));
        let mut lines: Vec<Line> = Vec::with_capacity(s.rows().len() + s.unplanned().len() + 1);
        for (i, r) in s.rows().iter().enumerate() {
            let holder = r.holder();
            let mut text = holder
                .map(|h| self.holder_text(h, Some(r.entry.0)))
                .unwrap_or_default();
            if r.shared {
                text = if text.is_empty() {
                    "shared".to_string()
                } else {
                    format!("shared · {text}")
                };
            }
            lines.push(self.line(
                &c,
                r.port,
                &plan.entries[r.entry.0].name,
                &plan.targets[r.target.0].label,
                holder,
                text,
                self.selected == Some(i),
            ));
        }
        let unplanned_at = lines.len();
        for (i, u) in s.unplanned().iter().enumerate() {
            lines.push(self.line(
                &c,
                u.holder.addr.port(),
                &u.holder.addr.ip().to_string(),
                "unplanned",
                Some(&u.holder),
                self.holder_text(&u.holder, None),
                self.selected == Some(unplanned_at + i),
            ));
        }
        let rows = usize::from(inner.height.saturating_sub(1));
        let offset = self
            .selected
            .map_or(0, |sel| (sel + 1).saturating_sub(rows))
            .min(lines.len().saturating_sub(rows));
        let visible: Vec<Line> = std::iter::once(header)
            .chain(lines.into_iter().skip(offset).take(rows))
            .collect();
        Paragraph::new(visible)
            .style(Style::default())
            .render(inner, buf);
    }
}

#[cfg(test)]
#[path = "ports_tests.rs"]
mod tests;
