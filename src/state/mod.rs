//! The single owner of everything the dashboard shows: pure, synchronous, tested without a terminal.

pub mod docker;
pub mod layout_choice;
pub mod live_metrics;
pub mod logs_ui;
pub mod metrics;
pub mod nats;
mod not_startable;
pub mod ports;
pub mod procs;
pub mod rows;
pub mod target;
pub mod ui;
mod wire_docker;
pub mod wire_ports;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::action::Action;
use crate::health::ProbeState;
use crate::layout::{Layout, PanelKind, panel_areas};
use crate::logs::LogStore;
pub use crate::message::Severity;
use crate::message::{Command, Update};
use crate::plan::{EntryId, Plan};
use procs::{Bulk, Proc};
use rows::{Row, visible_rows};
use target::TargetStatus;
use ui::table_kind;
pub use ui::{Mode, PanelView, Ui};

/// How long a changed latency or figure may wait for a frame.
pub const COSMETIC_DELAY: Duration = Duration::from_millis(900);

/// Lines of output kept per service unless configured otherwise.
pub const DEFAULT_LOG_LINES: usize = 10_000;

/// Alerts kept for the alerts strip.
pub const ALERT_HISTORY: usize = 50;

/// A notable event shown in the alerts strip, newest last.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub at: Instant,
    pub severity: Severity,
    pub text: String,
}

/// The exit in progress: children being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown {
    pub since: Instant,
    /// A second signal asked for SIGKILL now.
    pub hurried: bool,
}

/// Everything the dashboard knows.
pub struct State {
    pub plan: Arc<Plan>,
    pub targets: Vec<TargetStatus>,
    pub layouts: Vec<Layout>,
    pub ui: Ui,
    pub alerts: VecDeque<Alert>,
    /// The latest clock reading passed in (ages are computed against it).
    pub now: Instant,
    pub started: Instant,
    pub probe_interval: Duration,
    /// Dashboard's own CPU (percent of one core) and RSS.
    pub self_usage: Option<(f64, u64)>,
    /// Supervision of each entry, by entry index.
    pub procs: Vec<Proc>,
    /// The dashboard is stopping its children before it exits.
    pub shutdown: Option<Shutdown>,
    /// A start-all or stop-all in progress.
    pub bulk: Bulk,
    /// Captured output of the supervised entries.
    pub logs: LogStore,
    /// What the Docker engine says of the container entries.
    pub docker: docker::DockerState,
    /// A compose `up` waiting for the user's y/n.
    pub compose_offer: Option<(EntryId, crate::collect::docker::ComposeUp)>,
    /// CPU (percent of one core) and RSS of each supervised process group, by entry.
    pub proc_usage: std::collections::BTreeMap<EntryId, (Option<f64>, u64)>,
    /// Commands decided while applying facts, taken by the loop with [`State::take_commands`].
    pending: Vec<Command>,
    /// Something changed that can wait for the next clock tick to be drawn (latencies, figures).
    cosmetic: bool,
    /// When the last frame was drawn (see [`State::mark_drawn`]).
    last_drawn: Instant,
    /// Each service's metrics (endpoint, logs, Prometheus).
    pub metrics: metrics::MetricsState,
    /// The NATS server's monitoring figures.
    pub nats: nats::NatsState,
    /// Explorer filter and choice, NATS scrolling, hints.
    pub metrics_ui: live_metrics::MetricsUi,
    /// Every listening socket and its holder, joined with the plan (the port scanner's facts).
    pub ports: ports::PortsState,
    /// The port scanner's wiring: adopted holders, confirmations, conflict alerts.
    pub port_wiring: wire_ports::PortWiring,
}

impl State {
    /// A state for `plan` with `layouts` (the first is shown), at time `now`.
    pub fn new(
        plan: Arc<Plan>,
        layouts: Vec<Layout>,
        probe_interval: Duration,
        now: Instant,
    ) -> Self {
        Self::with_log_capacity(plan, layouts, probe_interval, now, DEFAULT_LOG_LINES)
    }

    /// Like [`State::new`], keeping `log_capacity` lines of output per service.
    pub fn with_log_capacity(
        plan: Arc<Plan>,
        layouts: Vec<Layout>,
        probe_interval: Duration,
        now: Instant,
        log_capacity: usize,
    ) -> Self {
        let targets = vec![TargetStatus::default(); plan.targets.len()];
        let plan_len = plan.entries.len();
        let metrics = metrics::MetricsState::new(&plan, metrics::MetricsConfig::default());
        let metrics_ui = live_metrics::MetricsUi::for_plan(&plan);
        let wanted_containers = crate::collect::docker::wanted_from_plan(&plan);
        let port_state = ports::PortsState::new(Arc::clone(&plan));
        let mut state = State {
            plan,
            targets,
            layouts,
            ui: Ui::default(),
            alerts: VecDeque::new(),
            now,
            started: now,
            probe_interval,
            self_usage: None,
            procs: vec![Proc::default(); plan_len],
            shutdown: None,
            bulk: Bulk::None,
            logs: LogStore::new(plan_len, log_capacity),
            docker: docker::DockerState::new(&wanted_containers),
            compose_offer: None,
            proc_usage: std::collections::BTreeMap::new(),
            pending: Vec::new(),
            cosmetic: false,
            last_drawn: now,
            metrics,
            nats: nats::NatsState::default(),
            metrics_ui,
            ports: port_state,
            port_wiring: wire_ports::PortWiring::new(),
        };
        state.ui.selected = state
            .rows(PanelKind::Services)
            .iter()
            .find_map(|r| match r {
                Row::Entry(id) => Some(*id),
                Row::Group(_) => None,
            });
        state.fix_focus();
        state
    }

    /// The layout in use.
    pub fn layout(&self) -> &Layout {
        &self.layouts[self.ui.layout.min(self.layouts.len().saturating_sub(1))]
    }

    /// The rows of a table panel (empty for other panels).
    pub fn rows(&self, panel: PanelKind) -> Vec<Row> {
        match table_kind(panel) {
            Some(kind) => visible_rows(&self.plan, kind, &self.ui.filter, self.ui.grouped),
            None => Vec::new(),
        }
    }

    /// Worst state among an entry's required targets (all targets when none is required).
    pub fn entry_state(&self, entry: EntryId) -> ProbeState {
        let e = &self.plan.entries[entry.0];
        let any_required = e.targets.iter().any(|t| self.plan.targets[t.0].required);
        let rank = |s: ProbeState| match s {
            ProbeState::Up | ProbeState::NoHealthService => 0,
            ProbeState::Pending => 1,
            ProbeState::Unhealthy => 2,
            ProbeState::Down => 3,
        };
        e.targets
            .iter()
            .filter(|t| !any_required || self.plan.targets[t.0].required)
            .map(|t| self.targets[t.0].state)
            .max_by_key(|s| rank(*s))
            .unwrap_or(ProbeState::Pending)
    }

    /// Entries up and entries not up (pending excluded).
    pub fn counts(&self) -> (usize, usize) {
        let mut up = 0;
        let mut down = 0;
        for i in 0..self.plan.entries.len() {
            match self.entry_state(EntryId(i)) {
                ProbeState::Up | ProbeState::NoHealthService => up += 1,
                ProbeState::Pending => {}
                _ => down += 1,
            }
        }
        (up, down)
    }

    fn alert(&mut self, at: Instant, severity: Severity, text: String) {
        if self.alerts.len() == ALERT_HISTORY {
            self.alerts.pop_front();
        }
        self.alerts.push_back(Alert { at, severity, text });
    }

    /// Something the user should know from the start (an alert at `Info`).
    pub fn notice(&mut self, text: String) {
        let now = self.now;
        self.alert(now, Severity::Info, text);
    }

    /// A command could not be queued because the worker is behind.
    pub fn note_dropped_command(&mut self) {
        let now = self.now;
        self.alert(
            now,
            Severity::Error,
            "a command was dropped: the supervisor is not keeping up".into(),
        );
    }

    /// The loop ended: children are being stopped (the status bar says so).
    pub fn begin_shutdown(&mut self, at: Instant) {
        self.shutdown = Some(Shutdown {
            since: at,
            hurried: false,
        });
    }

    /// A second signal during the shutdown: what is left is being killed.
    pub fn hurry_shutdown(&mut self) {
        if let Some(s) = &mut self.shutdown {
            s.hurried = true;
        }
    }

    /// Supervised processes still alive (starting, running or stopping).
    pub fn live_processes(&self) -> usize {
        self.procs.iter().filter(|p| p.lifecycle.is_live()).count()
    }

    /// A frame showing the current state was drawn at `at`.
    pub fn mark_drawn(&mut self, at: Instant) {
        self.cosmetic = false;
        self.last_drawn = at;
    }

    /// Some age on screen is counted in seconds (a change, alert or start less than a minute ago).
    fn seconds_ages_shown(&self) -> bool {
        let recent = |at: Instant| self.now.saturating_duration_since(at) < Duration::from_secs(61);
        self.targets.iter().any(|t| t.since.is_some_and(recent))
            || self.alerts.iter().any(|a| recent(a.at))
            || self.procs.iter().any(|p| p.started_at.is_some_and(recent))
    }

    /// Commands decided since the last call (restarts, start-all progress, port lookups).
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.pending)
    }

    /// Apply a fact; returns whether anything visible changed.
    pub fn apply(&mut self, update: Update) -> bool {
        let changed = self.apply_fact(update);
        let changed = self.sync_ports() || changed;
        let now = self.now;
        let before = self.pending.len();
        self.advance(now);
        changed || self.pending.len() != before
    }

    fn apply_fact(&mut self, update: Update) -> bool {
        match update {
            Update::HealthChecked { target, result, at } => {
                if self.prometheus_owns(target) {
                    return false;
                }
                self.now = self.now.max(at);
                let Some(status) = self.targets.get_mut(target.0) else {
                    return false;
                };
                let probe_state = result.state;
                let change = status.record(result, at);
                let entry = self.plan.targets[target.0].entry;
                self.health_seen(entry, target, probe_state, at);
                if let Some(change) = change {
                    let t = &self.plan.targets[target.0];
                    let name = &self.plan.entries[t.entry.0].name;
                    let (severity, verb) = match change.to {
                        ProbeState::Up => (Severity::Info, "is up"),
                        ProbeState::NoHealthService => {
                            (Severity::Info, "is up (no health service)")
                        }
                        ProbeState::Unhealthy => (Severity::Warning, "is unhealthy"),
                        ProbeState::Down => (Severity::Error, "is down"),
                        ProbeState::Pending => (Severity::Info, "is pending"),
                    };
                    if self.targets[target.0].is_news(&change) {
                        let text =
                            format!("{name} {} :{} {verb}: {}", t.label, t.port, change.detail);
                        self.alert(at, severity, text);
                    }
                    return true;
                }
                // Latency figures and sparklines move with every result: shown at the next
                // clock tick, so that an idle dashboard draws about once a second.
                self.cosmetic = true;
                false
            }
            Update::HealthBatch { results } => {
                let mut changed = false;
                for (target, result, at) in results {
                    changed |= self.apply_fact(Update::HealthChecked { target, result, at });
                }
                changed
            }
            Update::SelfUsageMeasured {
                cpu_percent,
                rss_bytes,
            } => {
                let old = self.self_usage;
                self.self_usage = Some((cpu_percent, rss_bytes));
                self.cosmetic |= old.is_none_or(|(c, r)| {
                    (c * 10.0).round() != (cpu_percent * 10.0).round() || r >> 20 != rss_bytes >> 20
                });
                false
            }
            Update::Tick { at } => {
                let before = self.now;
                self.now = self.now.max(at);
                // Ages under a minute are shown in seconds: redraw when one rolls over.
                let rolled = self.now.duration_since(self.started).as_secs()
                    != before.duration_since(self.started).as_secs();
                // Latencies and figures that changed are drawn with it, or on their own when
                // no frame showed them for a while.
                let stale = self.cosmetic
                    && self.now.saturating_duration_since(self.last_drawn) >= COSMETIC_DELAY;
                let derived = self.derive_tick(at);
                (rolled && self.seconds_ages_shown()) || stale || derived
            }
            Update::ProcessStarted { entry, pid, at } => {
                self.now = self.now.max(at);
                self.process_started(entry, pid, at);
                true
            }
            Update::ProcessSpawnFailed { entry, error, at } => {
                self.now = self.now.max(at);
                self.spawn_failed(entry, error, at);
                true
            }
            Update::ProcessExited {
                entry, exit, at, ..
            } => {
                self.now = self.now.max(at);
                self.process_exited(entry, exit, at);
                true
            }
            Update::LogLines {
                entry,
                lines,
                dropped,
            } => {
                self.observe_lines(entry, &lines);
                self.logs.push(entry, lines, dropped);
                // Only lines the logs panel shows now are worth a frame of their own.
                let shown = match self.log_view() {
                    crate::logs::LogView::Merged => true,
                    crate::logs::LogView::Entry(e) => e == entry,
                };
                shown && self.layout().panels().contains(&PanelKind::Logs)
            }
            Update::Trouble { severity, text } => {
                let now = self.now;
                self.alert(now, severity, text);
                true
            }
            Update::PortsScanned { scan, at } => self.ports_scanned(*scan, at),
            update @ (Update::MetricsScraped(_)
            | Update::MetricsPortHeld { .. }
            | Update::NatsPolled(_)
            | Update::NatsClientsFound { .. }
            | Update::PrometheusPolled(_)) => self.apply_live(update),
            Update::Docker(fact) => {
                let changed = self.docker_fact(*fact);
                changed | self.feed_container_names()
            }
            Update::ProcUsage(sampled) => self.proc_usage_sampled(sampled),
        }
    }

    /// Act on what the user wants; returns the side effects to carry out.
    pub fn handle(&mut self, action: Action) -> Vec<Command> {
        if self.handle_live(&action) {
            return self.take_commands();
        }
        match (self.ui.mode, action) {
            (_, Action::Resize { width, height }) => self.resized(width, height),
            (
                Mode::Filter | Mode::ConfirmStopAll | Mode::ConfirmHolder | Mode::Normal,
                Action::Quit,
            ) => self.ui.quit = true,
            (Mode::Help, Action::Help | Action::Back | Action::Quit) => self.ui.mode = Mode::Normal,
            (Mode::Help, _) => {}
            (Mode::Filter, Action::FilterChar(c)) if self.ui.focus == PanelKind::Logs => {
                self.ui.log_needle.push(c);
                self.research();
            }
            (Mode::Filter, Action::FilterBackspace) if self.ui.focus == PanelKind::Logs => {
                self.ui.log_needle.pop();
                self.research();
            }
            (Mode::Filter, Action::Back) if self.ui.focus == PanelKind::Logs => {
                self.ui.log_needle.clear();
                self.ui.mode = Mode::Normal;
                self.research();
            }
            (Mode::Filter, Action::FilterChar(c)) => {
                self.ui.filter.push(c);
                self.reselect();
            }
            (Mode::Filter, Action::FilterBackspace) => {
                self.ui.filter.pop();
                self.reselect();
            }
            (Mode::Filter, Action::FilterDone) => self.ui.mode = Mode::Normal,
            (Mode::Filter, Action::Back) => {
                self.ui.filter.clear();
                self.ui.mode = Mode::Normal;
                self.reselect();
            }
            (Mode::Filter, _) => {}
            (Mode::ConfirmStopAll, Action::Confirm(yes)) => {
                self.ui.mode = Mode::Normal;
                if yes {
                    let now = self.now;
                    self.stop_all(now);
                }
            }
            (Mode::ConfirmStopAll, _) => self.ui.mode = Mode::Normal,
            (Mode::ConfirmCompose, action) => {
                self.compose_answered(action == Action::Confirm(true))
            }
            (Mode::ConfirmHolder, Action::Confirm(yes)) => self.confirm_holder(yes),
            (Mode::ConfirmHolder, _) => self.confirm_holder(false),
            (Mode::Normal, action) => self.handle_normal(action),
        }
        self.keep_visible();
        self.take_commands()
    }

    fn handle_normal(&mut self, action: Action) {
        if self.ui.focus == PanelKind::Logs {
            match action {
                Action::Up => return self.scroll_logs(-1),
                Action::Down => return self.scroll_logs(1),
                Action::PageUp => return self.scroll_logs(-self.log_page()),
                Action::PageDown => return self.scroll_logs(self.log_page()),
                Action::Top => return self.logs_to_top(),
                Action::Bottom => return self.logs_follow(),
                Action::Back if !self.ui.log_needle.is_empty() => {
                    self.ui.log_needle.clear();
                    return self.research();
                }
                _ => {}
            }
        }
        if self.ui.focus == PanelKind::Ports {
            match action {
                Action::Up => return self.move_port_selection(-1),
                Action::Down => return self.move_port_selection(1),
                Action::PageUp => return self.move_port_selection(-10),
                Action::PageDown => return self.move_port_selection(10),
                Action::Top => return self.move_port_selection(isize::MIN / 2),
                Action::Bottom => return self.move_port_selection(isize::MAX / 2),
                Action::Stop => return self.ask_stop_holder(),
                Action::Adopt => return self.ask_adopt_holder(),
                // s / r on a planned port: start or restart its entry.
                Action::Start | Action::Restart => self.select_port_entry(),
                _ => {}
            }
        }
        match action {
            Action::Ports => self.show_ports(),
            Action::AcknowledgeConflicts => {
                self.acknowledge_conflicts();
            }
            Action::MergedLogs => self.toggle_merged(),
            Action::ToggleUtc => self.ui.utc = !self.ui.utc,
            Action::Quit => self.ui.quit = true,
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-(self.page() as isize)),
            Action::PageDown => self.move_selection(self.page() as isize),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::NextPanel => self.cycle_focus(1),
            Action::PrevPanel => self.cycle_focus(-1),
            Action::Filter => self.ui.mode = Mode::Filter,
            Action::ToggleGroups => self.ui.grouped = !self.ui.grouped,
            Action::Detail => {
                // Open the detail: in a layout without a detail panel, switch to one that has it.
                if !self.areas().iter().any(|(k, _)| *k == PanelKind::Detail)
                    && let Some(i) = self.layouts.iter().position(|l| {
                        panel_areas(l, self.ui.size)
                            .iter()
                            .any(|(k, _)| *k == PanelKind::Detail)
                    })
                {
                    self.pin_layout(i);
                }
            }
            Action::Help => self.ui.mode = Mode::Help,
            Action::CycleLayout => {
                self.pin_layout((self.ui.layout + 1) % self.layouts.len().max(1));
            }
            Action::Back if !self.ui.filter.is_empty() => {
                self.ui.filter.clear();
                self.reselect();
            }
            Action::StopAll => self.ui.mode = Mode::ConfirmStopAll,
            Action::StartEverything => {
                let now = self.now;
                for entry in self.start_order() {
                    self.start(entry, now);
                }
            }
            Action::StartAll => {
                let now = self.now;
                self.start_all(now);
            }
            Action::Start | Action::Stop | Action::Restart => {
                let Some(entry) = self.ui.selected else {
                    return;
                };
                let now = self.now;
                if self.refuse_not_startable(entry, now) {
                    return;
                }
                if self.plan.entries[entry.0].is_container() {
                    return self.container_key(entry, action, now);
                }
                let live = self.procs[entry.0].lifecycle.is_live();
                match action {
                    Action::Stop => self.stop(entry, now),
                    Action::Restart if live => {
                        self.stop(entry, now);
                        // Started again when the exit arrives.
                        self.procs[entry.0].restart_after_stop = true;
                    }
                    _ => self.start(entry, now),
                }
            }
            Action::Click { column, row } => self.click(column, row),
            Action::ScrollUp { column, row } => self.scroll_at(column, row, -3),
            Action::ScrollDown { column, row } => self.scroll_at(column, row, 3),
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
pub(crate) mod procs_tests;
