//! The status bar: counts, probe timing, the dashboard's own CPU and memory, key hints or the filter prompt.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::health::ProbeState;
use crate::layout::PanelKind;
use crate::state::{Mode, Severity, State};
use crate::view::format;
use crate::view::theme::Theme;

/// Input of the status bar.
pub struct StatusBar<'a> {
    pub state: &'a State,
    pub theme: Theme,
}

impl Widget for &StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let t = self.theme;
        let (up, down) = s.counts();
        let slowest = s
            .targets
            .iter()
            .filter_map(|x| x.last.as_ref().map(|r| r.latency))
            .max()
            .unwrap_or_default();
        let sep = || Span::styled("│ ", t.dim());
        // Segments in order of importance; those that do not fit are left out.
        let mut segments: Vec<Vec<Span>> = vec![vec![
            Span::styled(format!("✓ {up} up "), t.state(ProbeState::Up)),
            Span::styled(
                format!("✗ {down} down "),
                t.state(if down > 0 {
                    ProbeState::Down
                } else {
                    ProbeState::Pending
                }),
            ),
        ]];
        if let Some(shutdown) = s.shutdown {
            let live = s.live_processes();
            let text = if shutdown.hurried {
                format!("killing {live} processes… ")
            } else {
                format!("stopping {live} processes… Ctrl-C again kills them now ")
            };
            segments.push(vec![
                sep(),
                Span::styled(text, t.severity(Severity::Warning)),
            ]);
            Line::from(segments.concat()).render(area, buf);
            return;
        }
        match s.ui.mode {
            Mode::Filter => {
                let (what, text) = if s.ui.focus == PanelKind::Logs {
                    ("search logs ", &s.ui.log_needle)
                } else if s.ui.focus == PanelKind::Explorer {
                    ("filter families ", &s.metrics_ui.explorer_filter)
                } else {
                    ("filter ", &s.ui.filter)
                };
                segments.push(vec![
                    sep(),
                    Span::styled(what, t.dim()),
                    Span::styled(format!("/{text}█ "), t.accent()),
                    Span::styled("enter keep · esc clear ", t.dim()),
                ]);
            }
            Mode::ConfirmStopAll => segments.push(vec![
                sep(),
                Span::styled("Stop every service? y/n ", t.severity(Severity::Warning)),
            ]),
            Mode::ConfirmCompose => segments.push(vec![
                sep(),
                Span::styled(
                    crate::view::panels::container_rows::compose_question(s),
                    t.severity(Severity::Warning),
                ),
            ]),
            Mode::ConfirmHolder => {
                // The question first, whole as far as the width allows.
                if let Some(action) = &s.port_wiring.confirm {
                    let question = action.question(|e| s.plan.entries[e.0].name.clone());
                    segments.insert(
                        0,
                        vec![Span::styled(
                            format!("{question} "),
                            t.severity(Severity::Warning),
                        )],
                    );
                }
            }
            _ => {}
        }
        if s.ui.drift > 0 {
            let n = s.ui.drift;
            segments.push(vec![
                sep(),
                Span::styled(format!("drift {n} "), t.severity(Severity::Warning)),
            ]);
        }
        let conflicts = s.unacknowledged_conflicts();
        if conflicts > 0 {
            segments.push(vec![
                sep(),
                Span::styled(
                    format!("! {conflicts} port conflicts (A: seen) "),
                    t.severity(Severity::Warning),
                ),
            ]);
        }
        if s.live_panels_shown() || s.metrics.prometheus.is_some() {
            let (sev, words) = s.metrics.source_words(s.now);
            // Cut at whole words to what the counts and the key hints leave (a long Prometheus
            // error would otherwise drop the whole segment).
            let room = usize::from(area.width)
                .saturating_sub(44 + s.layout().name.len())
                .max(24);
            let words = if words.chars().count() <= room || s.metrics.prometheus.is_none() {
                words
            } else {
                // The short form; the metrics panel's border has the rest.
                match sev {
                    Severity::Error => "metrics: Prometheus down".into(),
                    Severity::Warning => "metrics: Prometheus (!)".into(),
                    Severity::Info => "metrics: Prometheus".into(),
                }
            };
            let mut seg = vec![sep()];
            seg.extend(crate::view::fit::words(&words, t.severity(sev), room).spans);
            seg.push(Span::raw(" "));
            segments.push(seg);
        }
        segments.push(vec![
            sep(),
            Span::raw(format!(
                "probe every {} slowest {} ",
                humantime::format_duration(s.probe_interval),
                format::latency(slowest)
            )),
        ]);
        if let Some((cpu, rss)) = s.self_usage {
            segments.push(vec![
                sep(),
                Span::raw(format!("self {cpu:.1}% {} ", format::bytes(rss))),
            ]);
        }
        if matches!(s.ui.mode, Mode::Normal | Mode::Help) {
            let mut hints = vec![sep(), Span::styled(s.layout().name.clone(), t.dim())];
            // A layout that replaces the preferred one in a small terminal says why.
            if let Some(note) = s.layout_note() {
                hints.push(Span::styled(format!(" ({note})"), t.accent()));
            }
            hints.push(Span::styled(" · ? help · q quit", t.dim()));
            segments.push(hints);
        }
        // Keep the key hints (last) before the figures when space is short.
        let hints = matches!(s.ui.mode, Mode::Normal | Mode::Help)
            .then(|| segments.pop())
            .flatten();
        let hint_width: usize = hints.iter().flatten().map(|s| s.width()).sum();
        let room = usize::from(area.width).saturating_sub(hint_width);
        let mut used = 0usize;
        let mut spans = Vec::new();
        for seg in segments {
            let width: usize = seg.iter().map(|s| s.width()).sum();
            if used + width <= room || spans.is_empty() {
                used += width;
                spans.extend(seg);
            }
        }
        spans.extend(hints.into_iter().flatten());
        Line::from(spans).render(area, buf);
    }
}
