//! The NATS panel: server totals and rates (`/varz`), subscriptions (`/subsz`), JetStream
//! (`/jsz`), health, and the busiest connections with the service that owns each.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::figures::{amount, bytes, fit, fit_left, seconds, spark, whole_parts};
use crate::state::Severity;
use crate::state::nats::NatsState;
use crate::view::format;
use crate::view::theme::Theme;

/// Input of the NATS panel.
pub struct NatsPanel<'a> {
    pub nats: &'a NatsState,
    /// Entry names by entry index (to name the service owning a connection).
    pub names: Vec<&'a str>,
    /// Where the monitoring port is ("127.0.0.1:8222").
    pub address: &'a str,
    /// Shown while the server was never reached (e.g. how to install nats-server).
    pub hint: Option<&'a str>,
    /// First connection row shown.
    pub offset: usize,
    pub now: Instant,
    pub focused: bool,
    pub theme: Theme,
}

impl Widget for &NatsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let n = self.nats;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(self.focused))
            .title(format!(
                " NATS {} · sort {} ",
                self.address,
                n.sort.as_str()
            ));
        let inner = block.inner(area);
        block.render(area, buf);
        let width = usize::from(inner.width);
        let mut top: Vec<Line> = Vec::new();
        if let Some((at, e)) = &n.last_error {
            let ago = format::age(self.now.saturating_duration_since(*at));
            let kept = if n.varz.is_some() {
                "; last values below"
            } else {
                ""
            };
            top.push(Line::styled(
                format!("unreachable ({ago} ago): {e}; retrying{kept}"),
                t.severity(Severity::Error),
            ));
        }
        let Some(v) = &n.varz else {
            if n.last_error.is_none() {
                top.push(Line::styled("waiting for the monitoring port…", t.dim()));
            }
            if let Some(hint) = self.hint {
                top.push(Line::styled(
                    hint.to_string(),
                    t.severity(Severity::Warning),
                ));
            }
            Paragraph::new(top)
                .wrap(Wrap { trim: true })
                .render(inner, buf);
            return;
        };
        // The error (if any) wraps over at most two lines; everything below keeps whole values.
        let top_h = if top.is_empty() {
            0
        } else {
            2.min(inner.height)
        };
        Paragraph::new(top).wrap(Wrap { trim: true }).render(
            Rect {
                height: top_h,
                ..inner
            },
            buf,
        );
        let inner = Rect {
            y: inner.y + top_h,
            height: inner.height - top_h,
            ..inner
        };
        let mut lines: Vec<Line> = Vec::new();
        let health = match &n.health {
            Some(Ok(())) => Span::styled("health ok", t.state(crate::health::ProbeState::Up)),
            Some(Err(e)) => Span::styled(format!("health: {e}"), t.severity(Severity::Error)),
            None => Span::styled("health ?", t.dim()),
        };
        let uptime = v.uptime().map_or("?".into(), format::age);
        let part = |s: String| vec![Span::raw(s)];
        lines.push(whole_parts(
            vec![
                vec![Span::styled(
                    format!("nats-server {} ", v.version),
                    t.header(),
                )],
                vec![health, Span::raw(" ")],
                part(format!("· up {uptime} ")),
                part(format!("· conns {} ", v.connections)),
                part(format!("· subs {} ", v.subscriptions)),
                part(format!("· slow {} ", v.slow_consumers)),
                part(format!("· mem {} ", bytes(v.mem as f64))),
                part(format!("· cpu {:.0}% ", v.cpu)),
            ],
            width,
        ));
        let spark_w = (width.saturating_sub(60) / 2).min(40);
        let flow = |label: &str, msgs: Option<f64>, b: Option<f64>, h: usize| {
            let msgs = msgs.map_or("—".into(), amount);
            let b = b.map_or("—".into(), bytes);
            let mut spans = vec![Span::raw(format!(
                "{label} {} msg/s {}/s ",
                fit(&msgs, 6),
                fit(&b, 7)
            ))];
            if spark_w >= 4 {
                spans.push(Span::styled(
                    spark(n.history[h].values(), spark_w),
                    t.accent(),
                ));
            }
            spans.push(Span::raw("  "));
            spans
        };
        let f = n.flow;
        lines.push(whole_parts(
            vec![
                flow("in ", f.map(|f| f.in_msgs), f.map(|f| f.in_bytes), 0),
                flow("out", f.map(|f| f.out_msgs), f.map(|f| f.out_bytes), 1),
            ],
            width,
        ));
        let mut third = vec![part(
            n.jetstream
                .map_or("JetStream ? ".into(), |j| format!("{j} ")),
        )];
        if let Some(s) = &n.subsz {
            third.extend([
                part(format!("· subs {} ", s.num_subscriptions)),
                part(format!("· cache {} ", s.num_cache)),
                part(format!("· hit {:.0}% ", s.cache_hit_rate * 100.0)),
                part(format!(
                    "· fanout max {} avg {:.1} ",
                    s.max_fanout, s.avg_fanout
                )),
            ]);
        }
        lines.push(whole_parts(third, width));
        for e in &n.page_errors {
            lines.push(Line::styled(e.clone(), t.severity(Severity::Warning)));
        }
        // Connections: cid, client name, owner, [address], subs, pending, msgs/s in out, rtt.
        const ADDR_W: usize = 22;
        let numbers = 5 + 6 + 9 + 8 + 8 + 8;
        let show_addr = width >= 100;
        let flexible = width.saturating_sub(numbers + if show_addr { ADDR_W } else { 0 });
        let name_w = (flexible / 2).max(6);
        let owner_w = flexible.saturating_sub(name_w).max(6);
        let addr = |s: &str| {
            if show_addr {
                format!("{} ", fit_left(s, ADDR_W - 1))
            } else {
                String::new()
            }
        };
        let col = |s: &str, w: usize| format!("{} ", fit_left(s, w - 1));
        lines.push(Line::styled(
            format!(
                "{} {}{}{}{}{}{}{}{}",
                fit("cid", 4),
                col("name", name_w),
                col("service", owner_w),
                addr("client"),
                fit("subs", 6),
                fit("pending", 9),
                fit("in/s", 8),
                fit("out/s", 8),
                fit("rtt", 8),
            ),
            t.header(),
        ));
        let room = usize::from(inner.height).saturating_sub(lines.len());
        for c in n.conns.iter().skip(self.offset).take(room) {
            let owner = match (c.entry, c.pid) {
                (Some(e), _) => self.names.get(e.0).copied().unwrap_or("?").to_string(),
                (None, Some(pid)) => format!("pid {pid}"),
                (None, None) => "—".into(),
            };
            let name = if c.name.is_empty() {
                "—"
            } else {
                c.name.as_str()
            };
            let r = c.rates;
            lines.push(Line::raw(format!(
                "{} {}{}{}{}{}{}{}{}",
                fit(&c.cid.to_string(), 4),
                col(name, name_w),
                col(&owner, owner_w),
                addr(&c.addr),
                fit(&c.subs.to_string(), 6),
                fit(&bytes(c.pending_bytes as f64), 9),
                fit(&r.map_or("—".into(), |r| amount(r.in_msgs)), 8),
                fit(&r.map_or("—".into(), |r| amount(r.out_msgs)), 8),
                fit(&c.rtt.map_or("—".into(), |d| seconds(d.as_secs_f64())), 8),
            )));
        }
        if n.conns.is_empty() {
            lines.push(Line::styled("no client connections", t.dim()));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}

#[cfg(test)]
#[path = "nats_tests.rs"]
mod tests;
