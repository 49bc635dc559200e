//! The event loop: one task owns the state; input, collectors and a slow clock feed it; it draws
//! only on change, and never waits on the terminal. Every way out (quit, signal, error, a panic
//! in the loop or in any task) goes through one shutdown that stops every child.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::Result;
use crossterm::event::{Event, EventStream};
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use crate::action::Action;
use crate::collect::ports_task::{
    DEFAULT_PORT_SCAN_INTERVAL, PortScanWakeup, run_port_collector, signal_holder,
};
use crate::collect::self_usage::watch_self;
use crate::collect::{ProbeConfig, ProbeWakeups, spawn_watchers_with_wakeups};
use crate::control::{Supervisor, SupervisorOptions};
use crate::keymap::Keymap;
use crate::message::{Command, Update};
use crate::state::State;
use crate::terminal::FrameWriter;
use crate::view::{ViewContext, draw};

/// At most this often a frame is drawn (about 30 frames a second).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// The slow clock for ages.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);
/// Commands queued for the supervisor before the UI reports it as behind.
const COMMAND_QUEUE: usize = 1024;
/// Updates taken from the channel per wake-up.
const UPDATE_BATCH: usize = 256;
/// How often the shutdown looks at process groups it stops itself (the supervisor is gone).
const SHUTDOWN_POLL: Duration = Duration::from_millis(50);
/// Waited beyond the longest stop grace before the shutdown kills what is left.
const SHUTDOWN_SLACK: Duration = Duration::from_secs(2);

/// Everything the loop runs with.
pub struct App {
    pub state: State,
    pub keymap: Keymap,
    pub view: ViewContext,
    pub probe: ProbeConfig,
    /// How the supervisor treats the processes it starts.
    pub supervisor: SupervisorOptions,
    /// Actions to carry out as soon as the loop runs (the demo starts everything).
    pub initial_actions: Vec<Action>,
    /// Quit right after the first frame (for measuring start-up).
    pub exit_after_first_frame: bool,
    /// Make a collector task panic after this long (for testing the exit on a failure).
    pub debug_fail_after: Option<Duration>,
    /// Where commands for the supervisor go (set by `run`).
    commands: Option<mpsc::Sender<Command>>,
    /// Asks the probe collector for early probes (set by `run`).
    wakeups: Option<ProbeWakeups>,
    /// A Prometheus server as the metrics source (`--prometheus`, `[prometheus]`).
    pub prometheus: Option<crate::collect::prometheus_api::PromConfig>,
    /// Tells the Prometheus poller which service is explored (set by `run`).
    explore: Option<tokio::sync::watch::Sender<Option<crate::plan::EntryId>>>,
    /// Where commands for the Docker worker go (set by `run` when the plan has containers).
    docker: Option<mpsc::Sender<crate::collect::docker::DockerCommand>>,
    /// The process groups whose CPU and memory are sampled (set by `run`).
    usage_groups: Option<tokio::sync::watch::Sender<Vec<(crate::plan::EntryId, i32)>>>,
    /// Time between two port scans (`--port-scan-interval`).
    pub port_scan_interval: Duration,
    /// Asks the port scanner for a scan now (set by `run`).
    port_wakeup: Option<PortScanWakeup>,
    /// Run the metrics, NATS and Prometheus collectors (off only for measuring their cost).
    pub live_metrics: bool,
}

/// Where the loop draws: a terminal, and the thread that writes its frames (none in tests,
/// where drawing is immediate).
pub struct Screen<B: Backend> {
    pub terminal: Terminal<B>,
    pub writer: Option<FrameWriter>,
}

impl<B: Backend> Screen<B> {
    /// The previous frame is written: a new one may be drawn.
    fn ready(&self) -> bool {
        self.writer.as_ref().is_none_or(FrameWriter::is_idle)
    }

    async fn wait_ready(&mut self) {
        match &mut self.writer {
            Some(w) => w.wait_idle().await,
            None => std::future::pending().await,
        }
    }
}

/// Why the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The user quit.
    Quit,
    /// A signal asked us to (SIGTERM, SIGHUP, SIGINT).
    Signal(&'static str),
    /// Something failed: the terminal, a task, the loop itself.
    Failed(String),
}

/// What the loop listens to besides the state.
struct Inputs {
    updates: mpsc::Receiver<Update>,
    updates_open: bool,
    events: mpsc::Receiver<std::io::Result<Event>>,
    input: JoinHandle<()>,
    signals: Signals,
    tasks: JoinSet<()>,
    supervisor: JoinHandle<()>,
    supervisor_done: bool,
    batch: Vec<Update>,
}

struct Signals {
    term: Signal,
    hup: Signal,
    int: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next of our three signals, by name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

impl App {
    /// A loop over `state`, not yet running.
    pub fn new(
        state: State,
        keymap: Keymap,
        view: ViewContext,
        probe: ProbeConfig,
        supervisor: SupervisorOptions,
    ) -> App {
        App {
            state,
            keymap,
            view,
            probe,
            supervisor,
            initial_actions: Vec::new(),
            exit_after_first_frame: false,
            debug_fail_after: None,
            commands: None,
            wakeups: None,
            prometheus: None,
            explore: None,
            docker: None,
            usage_groups: None,
            port_scan_interval: DEFAULT_PORT_SCAN_INTERVAL,
            port_wakeup: None,
            live_metrics: true,
        }
    }

    fn send(&mut self, commands: Vec<Command>) {
        for c in commands {
            if let Command::ProbeSoon { target } = c {
                if let Some(w) = &self.wakeups {
                    w.probe_soon(target);
                }
                continue;
            }
            if let Command::Docker(c) = c {
                // Never await the worker either; without one the state says why already.
                if let Some(tx) = &self.docker
                    && tx.try_send(c).is_err()
                {
                    self.state.note_dropped_command();
                }
                continue;
            }
            if let Command::ScanPortsNow = c {
                if let Some(w) = &self.port_wakeup {
                    w.scan_now();
                }
                continue;
            }
            if let Command::SignalHolder {
                pid,
                start_ticks,
                signal,
            } = c
            {
                let result = signal_holder(pid, start_ticks, signal);
                self.state.holder_signalled(pid, signal, result);
                continue;
            }
            let Some(tx) = &self.commands else { return };
            // Never await a full channel from the UI loop.
            if tx.try_send(c).is_err() {
                self.state.note_dropped_command();
            }
        }
    }

    /// Run until the user quits, a signal asks to, or something fails; then stop every child
    /// started (unless `leave_running`) and return why it ended. The caller restores the
    /// terminal.
    pub async fn run<B: Backend>(
        mut self,
        screen: &mut Screen<B>,
        updates: (mpsc::Sender<Update>, mpsc::Receiver<Update>),
    ) -> Result<Exit> {
        let (tx, rx) = updates;
        let plan = Arc::clone(&self.state.plan);
        let (mut tasks, wakeups) =
            spawn_watchers_with_wakeups(&plan, &self.probe, self.state.probe_interval, tx.clone());
        self.wakeups = Some(wakeups);
        tasks.spawn(watch_self(Duration::from_secs(2), tx.clone()));
        self.docker = crate::collect::docker_task::spawn_docker(&plan, &mut tasks, tx.clone());
        self.usage_groups = Some(crate::collect::docker_task::spawn_proc_usage(
            &mut tasks,
            tx.clone(),
        ));
        if self.live_metrics {
            self.explore = Some(crate::collect::live_metrics::spawn_for_state(
                &mut tasks,
                &self.state,
                self.prometheus.clone(),
                tx.clone(),
            ));
        }
        let port_wakeup = PortScanWakeup::default();
        tasks.spawn(run_port_collector(
            self.port_scan_interval,
            port_wakeup.clone(),
            tx.clone(),
        ));
        self.port_wakeup = Some(port_wakeup);
        if let Some(after) = self.debug_fail_after {
            tasks.spawn(async move {
                tokio::time::sleep(after).await;
                panic!("--debug-fail-after: a collector task fails on purpose");
            });
        }
        let (command_tx, command_rx) = mpsc::channel::<Command>(COMMAND_QUEUE);
        let supervisor = Supervisor::new(Arc::clone(&plan), tx.clone(), self.supervisor.clone());
        let supervisor = tokio::spawn(supervisor.run(command_rx));
        self.commands = Some(command_tx);
        drop(tx);

        // Terminal input in a task of its own, so that the loop polls a cheap channel: polling
        // crossterm's EventStream on every wake-up spins on its reader lock (sched_yield).
        let (event_tx, events) = mpsc::channel::<std::io::Result<Event>>(64);
        let input = tokio::spawn(async move {
            let mut stream = EventStream::new();
            while let Some(event) = stream.next().await {
                if event_tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        let mut io = Inputs {
            updates: rx,
            updates_open: true,
            events,
            input,
            signals: Signals::new()?,
            tasks,
            supervisor,
            supervisor_done: false,
            batch: Vec::with_capacity(UPDATE_BATCH),
        };
        let outcome = AssertUnwindSafe(self.serve(screen, &mut io))
            .catch_unwind()
            .await;
        let (exit, drawable) = match outcome {
            Ok(exit) => (exit, true),
            // The panic hook has restored the terminal and printed the report: stop the
            // children without drawing a state that may be half-changed.
            Err(panic) => (Exit::Failed(panic_text(panic.as_ref())), false),
        };
        self.shut_down(screen, &mut io, drawable).await;
        Ok(exit)
    }

    /// The loop proper: returns why it ended, never early with `?`.
    async fn serve<B: Backend>(&mut self, screen: &mut Screen<B>, io: &mut Inputs) -> Exit {
        for action in std::mem::take(&mut self.initial_actions) {
            let commands = self.state.handle(action);
            self.send(commands);
        }
        let mut clock = tokio::time::interval(TICK_INTERVAL);
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        match screen.terminal.size() {
            Ok(size) => {
                self.state.handle(Action::Resize {
                    width: size.width,
                    height: size.height,
                });
            }
            Err(e) => return Exit::Failed(format!("reading the terminal's size: {e}")),
        }
        if let Err(e) = self.draw(screen) {
            return e;
        }
        if self.exit_after_first_frame {
            return Exit::Quit;
        }
        let mut last_draw = Instant::now();
        let mut dirty = false;

        while !self.state.ui.quit {
            let frame_due = last_draw + FRAME_INTERVAL;
            tokio::select! {
                name = io.signals.next() => return Exit::Signal(name),
                event = io.events.recv() => match event {
                    Some(Ok(event)) => {
                        if let Some(action) = self.keymap.translate(&event, self.state.ui.mode) {
                            let commands = self.state.handle(action);
                            self.send(commands);
                            dirty = true;
                        }
                    }
                    Some(Err(e)) => return Exit::Failed(format!("reading the terminal: {e}")),
                    None => return Exit::Failed("the terminal input closed".into()),
                },
                n = io.updates.recv_many(&mut io.batch, UPDATE_BATCH), if io.updates_open => {
                    // Zero means every sender is gone: keep the screen, stop listening.
                    io.updates_open = n > 0;
                    for update in io.batch.drain(..) {
                        dirty |= self.state.apply(update);
                    }
                }
                _ = clock.tick() => {
                    dirty |= self.state.apply(Update::Tick { at: Instant::now() });
                }
                Some(joined) = io.tasks.join_next() => {
                    if let Err(e) = joined
                        && e.is_panic() {
                            return Exit::Failed(format!("a collector task panicked: {e}"));
                        }
                }
                done = &mut io.supervisor, if !io.supervisor_done => {
                    io.supervisor_done = true;
                    return Exit::Failed(match done {
                        Err(e) => format!("the supervisor task failed: {e}"),
                        Ok(()) => "the supervisor stopped".into(),
                    });
                }
                _ = tokio::time::sleep_until(frame_due.into()), if dirty => {}
                // The terminal caught up: the frame that waited for it can be drawn.
                _ = screen.wait_ready(), if dirty && !screen.ready() => {}
                _ = sleep_until_opt(self.state.next_deadline()) => {
                    dirty |= self.state.apply(Update::Tick { at: Instant::now() });
                }
            }
            let commands = self.state.take_commands();
            self.send(commands);
            crate::collect::live_metrics::note_explored(self.explore.as_ref(), &self.state);
            if let Some(groups) = &self.usage_groups {
                let live = self.state.usage_groups();
                groups.send_if_modified(|g| {
                    let changed = *g != live;
                    *g = live;
                    changed
                });
            }
            if dirty && Instant::now() >= last_draw + FRAME_INTERVAL && screen.ready() {
                if let Err(e) = self.draw(screen) {
                    return e;
                }
                last_draw = Instant::now();
                dirty = false;
            }
        }
        Exit::Quit
    }

    fn draw<B: Backend>(&mut self, screen: &mut Screen<B>) -> Result<(), Exit> {
        self.state.before_draw();
        screen
            .terminal
            .draw(|f| draw(f, &self.state, &self.view))
            .map_err(|e| Exit::Failed(format!("drawing: {e}")))?;
        self.state.mark_drawn(Instant::now());
        Ok(())
    }

    /// Stop every child and wait for them, whatever ended the loop. Closing the command channel
    /// makes the supervisor stop every child it started; meanwhile its updates are applied (and
    /// drawn, when `drawable`) so that it never waits on a full channel. A second signal hurries
    /// it: SIGKILL to every group now. A supervisor that is gone leaves its groups to us.
    async fn shut_down<B: Backend>(
        &mut self,
        screen: &mut Screen<B>,
        io: &mut Inputs,
        drawable: bool,
    ) {
        io.tasks.abort_all();
        self.commands = None;
        self.docker = None;
        self.usage_groups = None;
        self.wakeups = None;
        self.port_wakeup = None;
        let groups = self.supervisor.groups.clone();
        let leave = self.supervisor.leave_running;
        let longest_grace = self
            .state
            .plan
            .entries
            .iter()
            .map(|e| e.stop_grace)
            .max()
            .unwrap_or_default();
        let started = Instant::now();
        let deadline = started + longest_grace + SHUTDOWN_SLACK;
        let mut killed = false;
        let mut orphaned = false;
        let mut poll = tokio::time::interval(SHUTDOWN_POLL);
        self.state.begin_shutdown(started);
        let mut dirty = drawable;
        loop {
            if io.supervisor_done && !leave {
                // Nobody reaps for us any more: stop the groups directly.
                let Some(groups) = &groups else { break };
                if !orphaned {
                    orphaned = true;
                    groups.signal_all(libc::SIGTERM);
                }
                if !groups.any_alive() {
                    break;
                }
            } else if io.supervisor_done {
                break;
            }
            if dirty && drawable && screen.ready() {
                let _ = self.draw(screen);
                dirty = false;
            }
            tokio::select! {
                done = &mut io.supervisor, if !io.supervisor_done => {
                    io.supervisor_done = true;
                    if done.is_err() {
                        // Its children lost their reaper: go on with the groups above.
                        continue;
                    }
                    break;
                }
                // In raw mode Ctrl-C is a key, not a signal: the quit key again hurries too.
                hurry = hurry_asked(&mut io.signals, &mut io.events, &self.keymap, self.state.ui.mode) => {
                    if hurry {
                        if let Some(groups) = &groups {
                            groups.signal_all(libc::SIGKILL);
                        }
                        killed = true;
                        self.state.hurry_shutdown();
                        dirty = true;
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()), if !killed => {
                    if let Some(groups) = &groups {
                        groups.signal_all(libc::SIGKILL);
                    }
                    killed = true;
                }
                n = io.updates.recv_many(&mut io.batch, UPDATE_BATCH), if io.updates_open => {
                    io.updates_open = n > 0;
                    for update in io.batch.drain(..) {
                        dirty |= self.state.apply(update);
                    }
                }
                _ = screen.wait_ready(), if dirty && drawable && !screen.ready() => {}
                _ = poll.tick() => {
                    if killed && Instant::now() >= deadline + SHUTDOWN_SLACK {
                        // SIGKILL sent long ago: what remains is a zombie or not ours.
                        break;
                    }
                }
            }
        }
        io.input.abort();
        if let Some(groups) = &groups {
            groups.goodbye(leave);
        }
    }
}

/// Wait for a signal, or a key that means quit: true. Other keys: false.
async fn hurry_asked(
    signals: &mut Signals,
    events: &mut mpsc::Receiver<std::io::Result<Event>>,
    keymap: &Keymap,
    mode: crate::state::Mode,
) -> bool {
    tokio::select! {
        _ = signals.next() => true,
        event = events.recv() => match event {
            Some(Ok(event)) => keymap.translate(&event, mode) == Some(Action::Quit),
            // No more input: wait for signals only.
            _ => {
                signals.next().await;
                true
            }
        },
    }
}

/// The message of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    format!("the dashboard panicked: {what}")
}

/// Sleep until `at`, or forever when there is nothing to wait for.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
