//! Builds the input of the metrics, explorer and NATS panels from the state and draws them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::layout::PanelKind;
use crate::metrics::attribution::Attribution;
use crate::state::State;
use crate::view::panels::explorer::ExplorerPanel;
use crate::view::panels::metrics::{MetricsPanel, MetricsRow};
use crate::view::panels::nats::NatsPanel;
use crate::view::theme::Theme;

/// Draws one of the three panels in `area`.
pub fn render_live(kind: PanelKind, state: &State, theme: Theme, area: Rect, buf: &mut Buffer) {
    let focused = state.ui.focus == kind;
    let now = state.now;
    match kind {
        PanelKind::Metrics => {
            let entries = state.metrics_rows();
            let selected = state
                .explored()
                .and_then(|s| entries.iter().position(|e| *e == s));
            // Rows shown: the inner height less the header and the two lines of details.
            let room = usize::from(area.height.saturating_sub(5)).max(1);
            let first = selected.map_or(0, |s| (s + 1).saturating_sub(room));
            let rows = entries
                .iter()
                .skip(first)
                .filter_map(|&e| {
                    let metrics = state.metrics.service(e)?;
                    let holder = metrics
                        .endpoint
                        .as_ref()
                        .and_then(|ep| match ep.attribution {
                            Attribution::HeldBy(h) => {
                                state.plan.entries.get(h.0).map(|x| x.name.as_str())
                            }
                            _ => None,
                        });
                    Some(MetricsRow {
                        name: &state.plan.entries[e.0].name,
                        metrics,
                        holder,
                        port_free: state.metrics_port_free(e),
                    })
                })
                .collect();
            (&MetricsPanel {
                rows,
                selected: selected.map(|s| s - first),
                now,
                stale_after: state.metrics.config.stale_after,
                focused,
                theme,
            })
                .render(area, buf);
            // The source in full on the bottom border (the status bar may have to cut it).
            let (sev, words) = state.metrics.source_words(now);
            if area.height > 2 && area.width > 6 {
                let line = crate::view::fit::words(
                    &format!(" {words} "),
                    theme.severity(sev),
                    usize::from(area.width - 4),
                );
                buf.set_line(area.x + 2, area.bottom() - 1, &line, area.width - 4);
            }
        }
        PanelKind::Explorer => {
            let entry = state.explored();
            let chosen = state.explorer_chosen_key();
            (&ExplorerPanel {
                service: entry.map_or("—", |e| state.plan.entries[e.0].name.as_str()),
                metrics: entry.and_then(|e| state.metrics.service(e)),
                filter: &state.metrics_ui.explorer_filter,
                chosen: chosen.as_deref(),
                offset: state.metrics_ui.explorer_offset,
                now,
                focused,
                theme,
            })
                .render(area, buf);
        }
        PanelKind::Nats => {
            let names = state.plan.entries.iter().map(|e| e.name.as_str()).collect();
            (&NatsPanel {
                nats: &state.nats,
                names,
                address: state
                    .metrics_ui
                    .nats_address
                    .as_deref()
                    .unwrap_or("(no NATS in the plan)"),
                hint: state.metrics_ui.nats_hint.as_deref(),
                offset: state.metrics_ui.nats_offset,
                now,
                focused,
                theme,
            })
                .render(area, buf);
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "live_panels_tests.rs"]
mod tests;
