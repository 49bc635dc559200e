//! The metrics explorer: the selected service's families (type, help, current values),
//! filtered, and a chart of the chosen series; from logs, the per-method figures instead.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Widget};

use super::figures::{amount, fit, fit_left, percent, seconds};
use crate::state::metrics::explorer::SeriesStore;
use crate::state::metrics::{MetricsSource, ServiceMetrics};
use crate::view::theme::Theme;

/// Input of the explorer.
pub struct ExplorerPanel<'a> {
    pub service: &'a str,
    pub metrics: Option<&'a ServiceMetrics>,
    /// Typed after `/`: matches family names, help and series.
    pub filter: &'a str,
    /// Key (`name{labels}`) of the series to chart.
    pub chosen: Option<&'a str>,
    /// First list line shown (scrolling).
    pub offset: usize,
    pub now: Instant,
    pub focused: bool,
    pub theme: Theme,
}

impl Widget for &ExplorerPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let filter = if self.filter.is_empty() {
            String::new()
        } else {
            format!(" /{}", self.filter)
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(self.focused))
            .title(format!(" Explorer: {}{filter} ", self.service));
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(m) = self.metrics else {
            Paragraph::new(Span::styled("no metrics for this entry", t.dim())).render(inner, buf);
            return;
        };
        let prometheus_pending = match (&m.prometheus, m.store()) {
            (Some(p), Some(store)) if m.source() == MetricsSource::Prometheus => {
                store.families.is_empty().then(|| match &p.explore_error {
                    Some(e) => format!("Prometheus did not give its series: {e}"),
                    None => format!(
                        "asking Prometheus for the series of {} {}",
                        p.seen.job, p.seen.instance
                    ),
                })
            }
            _ => None,
        };
        match (m.source(), m.store(), prometheus_pending) {
            (MetricsSource::Prometheus, _, Some(words)) => {
                Paragraph::new(Span::styled(words, t.dim()))
                    .wrap(ratatui::widgets::Wrap { trim: true })
                    .render(inner, buf)
            }
            (MetricsSource::Endpoint | MetricsSource::Prometheus, Some(store), _) => {
                let chart_h = if self.chosen.is_some() {
                    (inner.height / 3)
                        .max(6)
                        .min(inner.height.saturating_sub(3))
                } else {
                    0
                };
                let list = Rect {
                    height: inner.height - chart_h,
                    ..inner
                };
                self.families(store, list, buf);
                if let Some(key) = self.chosen {
                    let area = Rect {
                        y: inner.y + list.height,
                        height: chart_h,
                        ..inner
                    };
                    self.chart(&store.points(key), key, area, buf);
                }
            }
            (MetricsSource::Logs, _, _) => self.methods(m, inner, buf),
            _ => Paragraph::new(Span::styled(
                "no metrics yet: the endpoint has not answered and no request lines were seen",
                t.dim(),
            ))
            .render(inner, buf),
        }
    }
}

impl ExplorerPanel<'_> {
    fn families(&self, store: &SeriesStore, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let width = usize::from(area.width);
        let value_w = 10;
        let mut lines = Vec::new();
        for family in store.filtered(self.filter) {
            let kind = family.kind.as_str();
            let head = format!("{} {kind} ", family.name);
            let help = fit_left(&family.help, width.saturating_sub(head.chars().count()));
            lines.push(Line::from(vec![
                Span::styled(family.name.clone(), t.header()),
                Span::styled(format!(" {kind} "), t.accent()),
                Span::styled(help, t.dim()),
            ]));
            for (key, value) in &family.series {
                let label = key.strip_prefix(family.name.as_str()).unwrap_or(key);
                let label = if label.is_empty() {
                    key.as_str()
                } else {
                    label
                };
                let text = format!(
                    "  {}{}",
                    fit_left(label, width.saturating_sub(value_w + 3)),
                    fit(&value_text(*value), value_w + 1)
                );
                let style = if self.chosen == Some(key.as_str()) {
                    t.selected()
                } else {
                    ratatui::style::Style::default()
                };
                lines.push(Line::styled(text, style));
            }
        }
        if store.capped {
            lines.push(Line::styled(
                format!(
                    "series cap reached: {} of {} series kept",
                    store.families.iter().map(|f| f.series.len()).sum::<usize>(),
                    store.total
                ),
                t.severity(crate::state::Severity::Warning),
            ));
        }
        if lines.is_empty() {
            lines.push(Line::styled("no family matches", t.dim()));
        }
        let lines: Vec<Line> = lines.into_iter().skip(self.offset).collect();
        Paragraph::new(lines).render(area, buf);
    }

    fn chart(&self, points: &[(Instant, f64)], key: &str, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let data: Vec<(f64, f64)> = points
            .iter()
            .map(|(at, v)| (-(self.now.saturating_duration_since(*at).as_secs_f64()), *v))
            .filter(|(_, v)| v.is_finite())
            .collect();
        let (lo, hi) = data
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.1), hi.max(p.1))
            });
        let (lo, hi) = if lo.is_finite() {
            // From zero to the highest value (seconds stay seconds: no 0..1 for 0.004).
            let lo = lo.min(0.0);
            (lo, if hi > lo { hi } else { lo + 1.0 })
        } else {
            (0.0, 1.0)
        };
        let span = data.first().map_or(60.0, |p| -p.0).max(10.0);
        let dataset = Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.accent())
            .data(&data);
        Chart::new(vec![dataset])
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(format!(" {key} ")),
            )
            .x_axis(
                Axis::default()
                    .bounds([-span, 0.0])
                    .labels([format!("-{span:.0}s"), "now".to_string()])
                    .style(t.dim()),
            )
            .y_axis(
                Axis::default()
                    .bounds([lo, hi])
                    .labels([value_text(lo), value_text(hi)])
                    .style(t.dim()),
            )
            .render(area, buf);
    }

    fn methods(&self, m: &ServiceMetrics, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let name_w = usize::from(area.width).saturating_sub(5 * 8 + 1).max(12);
        let mut lines = vec![Line::styled(
            format!(
                "{:<name_w$}{}{}{}{}{}",
                "method (from logs)",
                fit("req/s", 8),
                fit("err%", 8),
                fit("p50", 8),
                fit("p95", 8),
                fit("p99", 8)
            ),
            t.header(),
        )];
        let needle = self.filter.to_lowercase();
        for mf in m
            .logs
            .by_method
            .iter()
            .filter(|mf| mf.method.to_lowercase().contains(&needle))
            .skip(self.offset)
        {
            let f = &mf.figures;
            let q = |i: usize| f.quantiles[i].map_or("—".into(), seconds);
            lines.push(Line::raw(format!(
                "{}{}{}{}{}{}",
                fit_left(&mf.method, name_w),
                fit(&amount(f.rate), 8),
                fit(&f.error_pct.map_or("—".into(), percent), 8),
                fit(&q(0), 8),
                fit(&q(1), 8),
                fit(&q(2), 8)
            )));
        }
        Paragraph::new(lines).render(area, buf);
    }
}

/// A sample value: tiny ones in scientific notation (`4.5e-5`), small fractions with up to 4
/// decimals, the rest as [`amount`].
fn value_text(v: f64) -> String {
    if v.is_finite() && v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.1e}")
    } else if v.is_finite() && v.abs() < 1e4 && v != v.trunc() {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        amount(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::panels::metrics::tests::{scene, text};

    #[test]
    fn sample_values_never_end_in_a_bare_point() {
        assert_eq!(value_text(0.000045), "4.5e-5");
        assert_eq!(value_text(0.00012), "1.2e-4");
        assert_eq!(value_text(0.0012), "0.0012");
        assert_eq!(value_text(0.5), "0.5");
        assert_eq!(value_text(0.0), "0");
        assert_eq!(value_text(389.0), "389");
    }

    #[test]
    fn explorer_snapshots() {
        let (plan, state, now) = scene();
        // Endpoint, logs, Prometheus with its series, Prometheus not yet explored.
        for name in [
            "auth-service",
            "gateway-service",
            "friend-service",
            "group-service",
        ] {
            let entry = plan.entry_named(name).expect(name);
            for (w, h) in [(80u16, 24u16), (160, 48)] {
                let panel = ExplorerPanel {
                    service: name,
                    metrics: state.service(entry),
                    filter: if name == "gateway-service" { "" } else { "go_" },
                    chosen: Some("go_goroutines"),
                    offset: 0,
                    now,
                    focused: true,
                    theme: Theme { color: false },
                };
                let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                (&panel).render(buf.area, &mut buf);
                insta::assert_snapshot!(format!("explorer_{name}_{w}x{h}"), text(&buf));
            }
        }
    }
}
