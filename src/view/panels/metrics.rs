//! The metrics panel: per service, request rate, error rate, p95, goroutines, RSS and CPU, each
//! with its value and a sparkline, the source (Prometheus, endpoint or logs), and errors or
//! staleness.

use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::figures::{amount, bytes, fit, fit_left, percent, seconds, spark};
use crate::metrics::attribution::Attribution;
use crate::state::Severity;
use crate::state::metrics::history::Watched;
use crate::state::metrics::{MetricsSource, ServiceMetrics};
use crate::view::format;
use crate::view::theme::Theme;

/// One service's line.
pub struct MetricsRow<'a> {
    pub name: &'a str,
    pub metrics: &'a ServiceMetrics,
    /// For a shared port held by another service: that service's name.
    pub holder: Option<&'a str>,
    /// The shared port was looked up and nothing listens on it.
    pub port_free: bool,
}

/// Input of the metrics panel.
pub struct MetricsPanel<'a> {
    pub rows: Vec<MetricsRow<'a>>,
    /// Index in `rows` of the selected service (its details are shown at the bottom).
    pub selected: Option<usize>,
    pub now: Instant,
    pub stale_after: Duration,
    pub focused: bool,
    pub theme: Theme,
}

const NAME_W: usize = 16;
const SRC_W: usize = 5;
const VALUE_W: usize = 6;

/// `value` of `w` as the column shows it.
pub fn value_text(w: Watched, v: Option<f64>) -> String {
    let Some(v) = v else {
        return "—".into();
    };
    match w {
        Watched::RequestRate | Watched::Goroutines => amount(v),
        Watched::ErrorRate | Watched::Cpu => percent(v),
        Watched::P95 => seconds(v),
        Watched::Rss => bytes(v),
    }
}

/// "prom", "ep", "log", "—", with a `~` when stale or failing; and whether it is stale.
fn source_text(m: &ServiceMetrics, now: Instant, stale_after: Duration) -> (String, bool) {
    let (text, stale) = match m.source() {
        MetricsSource::Prometheus => ("prom", m.prometheus.as_ref().is_none_or(|p| p.stale(now))),
        MetricsSource::Endpoint => (
            "ep",
            m.endpoint
                .as_ref()
                .is_some_and(|e| e.attribution == Attribution::Own && e.stale(now, stale_after)),
        ),
        MetricsSource::Logs => ("log", false),
        MetricsSource::None => ("—", false),
    };
    let text = if stale {
        format!("{text}~")
    } else {
        text.into()
    };
    (text, stale)
}

/// What Prometheus says about the service, when it lists it (or did).
fn prometheus_words(m: &ServiceMetrics, now: Instant, out: &mut Vec<(Severity, String)>) {
    let Some(p) = &m.prometheus else { return };
    if !p.listed {
        let since = p.last_ok.map_or("no values yet".to_owned(), |t| {
            format!(
                "values from {} ago",
                format::age(now.saturating_duration_since(t))
            )
        });
        out.push((
            Severity::Warning,
            format!("Prometheus: not in its latest answer ({since})"),
        ));
    } else if !p.seen.last_error.is_empty() {
        out.push((
            Severity::Error,
            format!("Prometheus: down: {}", p.seen.last_error),
        ));
    }
}

/// The words about one service's metrics: held port, last error, dropped lines, cap.
pub fn status_text(row: &MetricsRow<'_>, now: Instant) -> Vec<(Severity, String)> {
    let mut out = Vec::new();
    let m = row.metrics;
    prometheus_words(m, now, &mut out);
    if let Some(ep) = &m.endpoint {
        match ep.attribution {
            Attribution::HeldBy(_) => out.push((
                Severity::Info,
                format!(
                    "metrics port held by {}",
                    row.holder.unwrap_or("another service")
                ),
            )),
            Attribution::HeldByPid(pid) => {
                out.push((Severity::Warning, format!("metrics port held by pid {pid}")))
            }
            Attribution::Unknown if row.port_free => out.push((
                Severity::Info,
                "metrics port shared; nothing serves it".into(),
            )),
            Attribution::Unknown => out.push((
                Severity::Info,
                "metrics port shared; holder not known yet".into(),
            )),
            Attribution::Own => {}
        }
        if let Some((at, e)) = &ep.last_error {
            let ago = format::age(now.saturating_duration_since(*at));
            let kept = if ep.last_ok.is_some() {
                ", last values kept"
            } else {
                ""
            };
            out.push((
                Severity::Error,
                format!("scrape failed {ago} ago: {e}{kept}"),
            ));
        }
        if ep.dropped > 0 {
            let first = ep
                .first_bad
                .as_ref()
                .map_or(String::new(), |b| match b.number {
                    Some(n) => format!(" (line {n}: {})", b.reason),
                    None => format!(" ({})", b.reason),
                });
            out.push((
                Severity::Warning,
                format!("{} lines dropped{first}", ep.dropped),
            ));
        }
        if ep.store.capped {
            out.push((
                Severity::Warning,
                format!("series cap hit: {} on the page", ep.store.total),
            ));
        }
    }
    if m.logs.malformed > 0 {
        out.push((
            Severity::Warning,
            format!("{} malformed log lines", m.logs.malformed),
        ));
    }
    out
}

impl Widget for &MetricsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(self.focused))
            .title(" Metrics ");
        let inner = block.inner(area);
        block.render(area, buf);
        let width = usize::from(inner.width);
        // Columns: name, source, then six of (value + sparkline).
        let fixed = NAME_W + 1 + SRC_W;
        let per = (width.saturating_sub(fixed) / 6).max(VALUE_W + 1);
        let spark_w = per.saturating_sub(VALUE_W + 2);
        let spark_w = if spark_w >= 3 { spark_w } else { 0 };
        let cell_w = VALUE_W + 1 + if spark_w > 0 { spark_w + 1 } else { 0 };
        let mut lines = Vec::new();
        let mut header = format!("{:<NAME_W$} {:<SRC_W$}", "service", "src");
        for w in Watched::ALL {
            header.push_str(&fit(w.title(), VALUE_W + 1));
            header.push_str(&" ".repeat(cell_w - VALUE_W - 1));
        }
        lines.push(Line::from(Span::styled(header, t.header())));
        let details = usize::from(self.selected.is_some()) * 2;
        let room = usize::from(inner.height).saturating_sub(1 + details);
        for (i, row) in self.rows.iter().enumerate().take(room) {
            let (src, stale) = source_text(row.metrics, self.now, self.stale_after);
            let value_style = if stale { t.dim() } else { Style::default() };
            let mut spans = vec![
                Span::raw(format!("{} ", fit_left(row.name, NAME_W))),
                Span::styled(
                    format!("{:<SRC_W$}", src),
                    if stale {
                        t.severity(Severity::Warning)
                    } else {
                        t.dim()
                    },
                ),
            ];
            let set = row.metrics.watched();
            for w in Watched::ALL {
                let v = set.and_then(|s| s.current(w));
                spans.push(Span::styled(
                    fit(&value_text(w, v), VALUE_W + 1),
                    value_style,
                ));
                if spark_w > 0 {
                    let line = set.map_or(" ".repeat(spark_w), |s| {
                        spark(s.history(w).values(), spark_w)
                    });
                    spans.push(Span::raw(" "));
                    spans.push(Span::styled(line, t.accent()));
                }
            }
            let mut line = Line::from(spans);
            if self.selected == Some(i) {
                line = line.style(t.selected());
            }
            lines.push(line);
        }
        let table_h = inner.height.saturating_sub(details as u16);
        Paragraph::new(lines).render(
            Rect {
                height: table_h,
                ..inner
            },
            buf,
        );
        if let Some(row) = self.selected.and_then(|i| self.rows.get(i)) {
            let words = status_text(row, self.now);
            let mut spans = vec![Span::styled(format!("{}: ", row.name), t.header())];
            if words.is_empty() {
                let src = match (row.metrics.source(), &row.metrics.prometheus) {
                    (MetricsSource::Prometheus, Some(p)) => format!(
                        "from Prometheus: job {}, instance {}",
                        p.seen.job, p.seen.instance
                    ),
                    (MetricsSource::Endpoint, _) => "from its /metrics endpoint".into(),
                    (MetricsSource::Logs, _) => "from its request log lines".into(),
                    _ => "no metrics yet (no endpoint answer, no request lines)".into(),
                };
                spans.push(Span::styled(src, t.dim()));
            }
            for (k, (sev, text)) in words.into_iter().enumerate() {
                if k > 0 {
                    spans.push(Span::styled(" · ", t.dim()));
                }
                spans.push(Span::styled(text, t.severity(sev)));
            }
            let area = Rect {
                y: inner.y + table_h,
                height: inner.height - table_h,
                ..inner
            };
            Paragraph::new(Line::from(spans))
                .wrap(Wrap { trim: true })
                .render(area, buf);
        }
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
pub(crate) mod tests;
