//! The wiring of metrics and NATS into the state: scrapes, log lines, Prometheus rounds and
//! NATS polls applied to `State::metrics` / `State::nats`, and the keys of the metrics,
//! explorer and NATS panels (selection, `/` filter, chosen series, connection sort).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::action::Action;
use crate::collect::nats::NatsFact;
use crate::collect::prometheus_api::PromFact;
use crate::collect::scrape::{Endpoint, ScrapeFact};
use crate::layout::PanelKind;
use crate::message::{PortOwner, Update};
use crate::metrics::headless::owner_entry;
use crate::plan::{EntryId, EntryKind, ProbeKind};

use super::{Mode, State};

/// Log-derived figures are recomputed at most this often.
pub const DERIVE_EVERY: Duration = Duration::from_secs(2);

/// What the metrics, explorer and NATS panels need besides the domain state.
#[derive(Debug, Clone, Default)]
pub struct MetricsUi {
    /// Typed after `/` in the explorer.
    pub explorer_filter: String,
    /// Index of the chosen series among the filtered ones (the chart shows it).
    pub explorer_chosen: usize,
    /// First explorer line shown.
    pub explorer_offset: usize,
    /// First connection row shown in the NATS panel.
    pub nats_offset: usize,
    /// Where the NATS monitoring port is ("127.0.0.1:8222"), when the plan has one.
    pub nats_address: Option<String>,
    /// Shown in the NATS panel while the server was never reached (how to get nats-server).
    pub nats_hint: Option<String>,
    /// The latest client socket owners of the NATS client port.
    nats_owners: BTreeMap<SocketAddr, u32>,
    /// Shared metrics endpoints looked up with nobody listening.
    free_ports: std::collections::BTreeSet<Endpoint>,
    /// Prometheus' own up/down is being applied (not dropped like the direct probes').
    applying_prometheus: bool,
}

impl MetricsUi {
    /// Nothing typed or chosen yet; the NATS address from the plan.
    pub fn for_plan(plan: &crate::plan::Plan) -> Self {
        Self {
            nats_address: nats_monitor(plan).map(|(h, p)| format!("{h}:{p}")),
            ..Self::default()
        }
    }
}

/// Whether `kind` is one of the panels this module draws.
pub fn is_metrics_panel(kind: PanelKind) -> bool {
    matches!(
        kind,
        PanelKind::Metrics | PanelKind::Explorer | PanelKind::Nats
    )
}

/// The NATS monitoring address of a plan: its first target probed as `nats`.
pub fn nats_monitor(plan: &crate::plan::Plan) -> Option<(String, u16)> {
    plan.targets
        .iter()
        .find(|t| t.kind == ProbeKind::Nats)
        .map(|t| (t.host.clone(), t.port))
}

/// The NATS client port of a plan: the other port of the entry that has the monitoring port
/// (labelled `client`, else the first that is not the monitor).
pub fn nats_client_port(plan: &crate::plan::Plan) -> Option<u16> {
    let monitor = plan.targets.iter().find(|t| t.kind == ProbeKind::Nats)?;
    let others: Vec<_> = plan
        .targets
        .iter()
        .filter(|t| t.entry == monitor.entry && t.kind != ProbeKind::Nats)
        .collect();
    others
        .iter()
        .find(|t| t.label == "client")
        .or(others.first())
        .map(|t| t.port)
}

impl State {
    /// Applies the facts of the metrics and NATS collectors; `None` for other updates.
    pub(super) fn apply_live(&mut self, update: Update) -> bool {
        match update {
            Update::MetricsScraped(fact) => self.scraped(&fact),
            Update::MetricsPortHeld { endpoint, owner } => self.metrics_port_held(&endpoint, owner),
            Update::NatsPolled(fact) => self.nats_polled(&fact),
            Update::NatsClientsFound { owners } => {
                self.metrics_ui.nats_owners = owners;
                let entry_of_pid = self.entry_of_pid();
                let changed = self
                    .nats
                    .set_owners(self.metrics_ui.nats_owners.clone(), entry_of_pid);
                changed && self.panel_shown(PanelKind::Nats)
            }
            Update::PrometheusPolled(fact) => self.prometheus_polled(&fact),
            _ => false,
        }
    }

    /// Whether a metrics, explorer or NATS panel is on screen.
    pub fn live_panels_shown(&self) -> bool {
        self.layout().panels().iter().any(|k| is_metrics_panel(*k))
    }

    fn panel_shown(&self, kind: PanelKind) -> bool {
        self.layout().panels().contains(&kind)
    }

    fn metrics_shown(&self) -> bool {
        self.panel_shown(PanelKind::Metrics) || self.panel_shown(PanelKind::Explorer)
    }

    /// Whether `entry`'s shared metrics port was looked up and nothing listens on it.
    pub fn metrics_port_free(&self, entry: EntryId) -> bool {
        self.metrics
            .claims
            .iter()
            .any(|(ep, c)| c.contains(&entry) && self.metrics_ui.free_ports.contains(ep))
    }

    /// Supervised processes by pid.
    pub fn entry_of_pid(&self) -> BTreeMap<u32, EntryId> {
        self.procs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.pid.map(|pid| (pid, EntryId(i))))
            .collect()
    }

    fn scraped(&mut self, fact: &ScrapeFact) -> bool {
        self.now = self.now.max(fact.at);
        let now = self.now;
        let changed = self.metrics.apply(fact, now);
        // Twelve endpoints every 2 s: drawn with the next clock tick, not one frame each.
        self.cosmetic |= changed && self.metrics_shown();
        false
    }

    fn metrics_port_held(&mut self, endpoint: &Endpoint, owner: Option<PortOwner>) -> bool {
        let was_free = if owner.is_none() {
            !self.metrics_ui.free_ports.insert(endpoint.clone())
        } else {
            self.metrics_ui.free_ports.remove(endpoint)
        };
        let mut entry_of_pid = self.entry_of_pid();
        if let Some(o) = &owner
            && !entry_of_pid.contains_key(&o.pid)
            && let Some(claimants) = self.metrics.claims.get(endpoint)
            && let Some(e) = owner_entry(&self.plan, claimants, o)
        {
            // Not started by us, but its command line names the service.
            entry_of_pid.insert(o.pid, e);
        }
        let now_free = owner.is_none();
        let changed = self
            .metrics
            .port_held(endpoint, owner.map(|o| o.pid), &entry_of_pid);
        (changed || was_free != now_free) && self.metrics_shown()
    }

    fn nats_polled(&mut self, fact: &NatsFact) -> bool {
        self.now = self.now.max(fact.at);
        let now = self.now;
        // A service started since the owners were found is named now.
        let entry_of_pid = self.entry_of_pid();
        self.nats
            .set_owners(self.metrics_ui.nats_owners.clone(), entry_of_pid);
        let changed = self.nats.apply(fact, now);
        self.cosmetic |= changed && self.panel_shown(PanelKind::Nats);
        false
    }

    fn prometheus_polled(&mut self, fact: &PromFact) -> bool {
        self.now = self.now.max(fact.at);
        let now = self.now;
        let mut changed = self.metrics.apply_prometheus(fact, now);
        if let Ok(round) = &fact.outcome {
            self.metrics_ui.applying_prometheus = true;
            for (target, result) in round.probe_results() {
                changed |= self.apply_fact(Update::HealthChecked {
                    target,
                    result,
                    at: fact.at,
                });
            }
            self.metrics_ui.applying_prometheus = false;
        }
        changed
    }

    /// Whether a direct probe result of `target` is to be dropped: Prometheus reports it.
    pub(super) fn prometheus_owns(&self, target: crate::plan::TargetId) -> bool {
        !self.metrics_ui.applying_prometheus
            && self.metrics.prometheus.is_some()
            && self.metrics.prometheus_targets().contains(&target)
    }

    /// Log lines of `entry`, for its log-derived metrics.
    pub(super) fn observe_lines(&mut self, entry: EntryId, lines: &[crate::message::LogLine]) {
        let now = self.now;
        self.metrics
            .observe(entry, lines.iter().map(|l| l.text.as_str()), now);
    }

    /// The clock: log-derived figures recomputed; true when a metrics panel shows them.
    pub(super) fn derive_tick(&mut self, at: Instant) -> bool {
        self.metrics.tick(at, DERIVE_EVERY) && self.metrics_shown()
    }

    /// The entries listed in the metrics panel: the services (infra has no metrics).
    pub fn metrics_rows(&self) -> Vec<EntryId> {
        self.plan
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == EntryKind::Service)
            .map(|(i, _)| EntryId(i))
            .collect()
    }

    /// The service the explorer (and Prometheus' series reading) is about.
    pub fn explored(&self) -> Option<EntryId> {
        let rows = self.metrics_rows();
        self.ui
            .selected
            .filter(|s| rows.contains(s))
            .or(rows.first().copied())
    }

    /// The keys of the explorer's series after the filter, in the order shown.
    pub fn explorer_keys(&self) -> Vec<String> {
        let Some(store) = self
            .explored()
            .and_then(|e| self.metrics.service(e))
            .and_then(|m| m.store())
        else {
            return Vec::new();
        };
        store
            .filtered(&self.metrics_ui.explorer_filter)
            .iter()
            .flat_map(|f| f.series.iter().map(|(k, _)| k.clone()))
            .collect()
    }

    /// The chosen series' key, if any.
    pub fn explorer_chosen_key(&self) -> Option<String> {
        let keys = self.explorer_keys();
        keys.get(
            self.metrics_ui
                .explorer_chosen
                .min(keys.len().saturating_sub(1)),
        )
        .cloned()
    }

    /// Keys for the metrics, explorer and NATS panels; true when taken.
    pub(super) fn handle_live(&mut self, action: &Action) -> bool {
        if self.ui.mode == Mode::Normal && *action == Action::NatsSort {
            // Whichever panel has the keyboard.
            let next = self.nats.sort.next();
            self.nats.set_sort(next);
            return true;
        }
        let focus = self.ui.focus;
        if !is_metrics_panel(focus) {
            return false;
        }
        match (self.ui.mode, focus, action) {
            (Mode::Filter, PanelKind::Explorer, Action::FilterChar(c)) => {
                self.metrics_ui.explorer_filter.push(*c);
                self.explorer_moved(0, true);
            }
            (Mode::Filter, PanelKind::Explorer, Action::FilterBackspace) => {
                self.metrics_ui.explorer_filter.pop();
                self.explorer_moved(0, true);
            }
            (Mode::Filter, PanelKind::Explorer, Action::FilterDone) => self.ui.mode = Mode::Normal,
            (Mode::Filter, PanelKind::Explorer, Action::Back) => {
                self.metrics_ui.explorer_filter.clear();
                self.ui.mode = Mode::Normal;
                self.explorer_moved(0, true);
            }
            (Mode::Normal, PanelKind::Explorer, Action::Back)
                if !self.metrics_ui.explorer_filter.is_empty() =>
            {
                self.metrics_ui.explorer_filter.clear();
                self.explorer_moved(0, true);
            }
            (Mode::Normal, PanelKind::Metrics, Action::Up) => self.metrics_select(-1),
            (Mode::Normal, PanelKind::Metrics, Action::Down) => self.metrics_select(1),
            (Mode::Normal, PanelKind::Metrics, Action::Top) => self.metrics_select(isize::MIN / 2),
            (Mode::Normal, PanelKind::Metrics, Action::Bottom) => {
                self.metrics_select(isize::MAX / 2)
            }
            (Mode::Normal, PanelKind::Metrics, Action::Detail) => {
                // Enter opens the explorer on the selected service.
                if let Some(i) = self
                    .layouts
                    .iter()
                    .position(|l| l.panels().contains(&PanelKind::Explorer))
                {
                    self.pin_layout(i);
                    self.ui.focus = PanelKind::Explorer;
                }
            }
            (Mode::Normal, PanelKind::Explorer, Action::Up) => self.explorer_moved(-1, false),
            (Mode::Normal, PanelKind::Explorer, Action::Down) => self.explorer_moved(1, false),
            (Mode::Normal, PanelKind::Explorer, Action::PageUp) => self.explorer_moved(-10, false),
            (Mode::Normal, PanelKind::Explorer, Action::PageDown) => self.explorer_moved(10, false),
            (Mode::Normal, PanelKind::Explorer, Action::Top) => {
                self.explorer_moved(isize::MIN / 2, false)
            }
            (Mode::Normal, PanelKind::Explorer, Action::Bottom) => {
                self.explorer_moved(isize::MAX / 2, false)
            }
            (Mode::Normal, PanelKind::Nats, Action::Up) => {
                self.metrics_ui.nats_offset = self.metrics_ui.nats_offset.saturating_sub(1)
            }
            (Mode::Normal, PanelKind::Nats, Action::Down) => {
                let most = self.nats.conns.len().saturating_sub(1);
                self.metrics_ui.nats_offset = (self.metrics_ui.nats_offset + 1).min(most);
            }
            (Mode::Normal, PanelKind::Nats, Action::Top) => self.metrics_ui.nats_offset = 0,
            _ => return false,
        }
        true
    }

    fn metrics_select(&mut self, step: isize) {
        let rows = self.metrics_rows();
        if rows.is_empty() {
            return;
        }
        let at = self
            .ui
            .selected
            .and_then(|s| rows.iter().position(|r| *r == s))
            .unwrap_or(0) as isize;
        let to = (at.saturating_add(step)).clamp(0, rows.len() as isize - 1) as usize;
        self.ui.selected = Some(rows[to]);
        self.metrics_ui.explorer_chosen = 0;
        self.metrics_ui.explorer_offset = 0;
    }

    /// Moves the chosen series by `step` (or back to the first when `reset`), keeping it in view.
    fn explorer_moved(&mut self, step: isize, reset: bool) {
        let keys = self.explorer_keys();
        let ui = &mut self.metrics_ui;
        ui.explorer_chosen = if reset || keys.is_empty() {
            0
        } else {
            (ui.explorer_chosen as isize)
                .saturating_add(step)
                .clamp(0, keys.len() as isize - 1) as usize
        };
        if reset {
            ui.explorer_offset = 0;
        }
        let Some(line) = self.explorer_line_of_chosen() else {
            return;
        };
        let height = self.explorer_list_height();
        let ui = &mut self.metrics_ui;
        if line < ui.explorer_offset {
            ui.explorer_offset = line.saturating_sub(1);
        } else if height > 0 && line >= ui.explorer_offset + height {
            ui.explorer_offset = line + 1 - height;
        }
    }

    /// The explorer line (family headers count) of the chosen series.
    fn explorer_line_of_chosen(&self) -> Option<usize> {
        let store = self
            .explored()
            .and_then(|e| self.metrics.service(e))
            .and_then(|m| m.store())?;
        let mut line = 0;
        let mut index = 0;
        for f in store.filtered(&self.metrics_ui.explorer_filter) {
            line += 1;
            for _ in &f.series {
                if index == self.metrics_ui.explorer_chosen {
                    return Some(line);
                }
                line += 1;
                index += 1;
            }
        }
        None
    }

    /// Lines of the explorer's list above its chart, as the panel splits it.
    fn explorer_list_height(&self) -> usize {
        self.areas()
            .iter()
            .find(|(k, _)| *k == PanelKind::Explorer)
            .map_or(10, |(_, a)| {
                let inner = a.height.saturating_sub(2);
                let chart = (inner / 3).max(6).min(inner.saturating_sub(3));
                usize::from(inner - chart)
            })
    }
}

#[cfg(test)]
#[path = "live_metrics_tests.rs"]
mod tests;
