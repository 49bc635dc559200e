//! The event loop: one task owns the state; input, collectors and a slow clock feed it; it draws only on change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::Result;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::collect::self_usage::watch_self;
use crate::collect::{ProbeConfig, ProbeWakeups, spawn_watchers_with_wakeups};
use crate::control::{Supervisor, SupervisorOptions};
use crate::keymap::Keymap;
use crate::message::{Command, Update};
use crate::state::State;
use crate::view::{ViewContext, draw};

/// At most this often a frame is drawn (about 30 frames a second).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// The slow clock for ages.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);
/// Commands queued for the supervisor before the UI reports it as behind.
const COMMAND_QUEUE: usize = 1024;
/// Updates taken from the channel per wake-up.
const UPDATE_BATCH: usize = 256;

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
    /// Where commands for the supervisor go (set by `run`).
    commands: Option<mpsc::Sender<Command>>,
    /// Asks the probe collector for early probes (set by `run`).
    wakeups: Option<ProbeWakeups>,
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
            commands: None,
            wakeups: None,
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
            let Some(tx) = &self.commands else { return };
            // Never await a full channel from the UI loop.
            if tx.try_send(c).is_err() {
                self.state.note_dropped_command();
            }
        }
    }

    /// Run until the user quits or a signal asks to; the caller restores the terminal.
    pub async fn run(
        mut self,
        terminal: &mut DefaultTerminal,
        updates: (mpsc::Sender<Update>, mpsc::Receiver<Update>),
    ) -> Result<()> {
        let (tx, mut rx) = updates;
        let plan = Arc::clone(&self.state.plan);
        let (mut tasks, wakeups) =
            spawn_watchers_with_wakeups(&plan, &self.probe, self.state.probe_interval, tx.clone());
        self.wakeups = Some(wakeups);
        tasks.spawn(watch_self(Duration::from_secs(2), tx.clone()));
        let (command_tx, command_rx) = mpsc::channel::<Command>(COMMAND_QUEUE);
        let supervisor = Supervisor::new(Arc::clone(&plan), tx.clone(), self.supervisor.clone());
        let mut supervisor = tokio::spawn(supervisor.run(command_rx));
        self.commands = Some(command_tx);
        drop(tx);
        for action in std::mem::take(&mut self.initial_actions) {
            let commands = self.state.handle(action);
            self.send(commands);
        }

        // Terminal input in a task of its own, so that the loop polls a cheap channel: polling
        // crossterm's EventStream on every wake-up spins on its reader lock (sched_yield).
        let (event_tx, mut events) = mpsc::channel::<std::io::Result<Event>>(64);
        let input = tokio::spawn(async move {
            let mut stream = EventStream::new();
            while let Some(event) = stream.next().await {
                if event_tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sighup = signal(SignalKind::hangup())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut clock = tokio::time::interval(TICK_INTERVAL);
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut batch = Vec::with_capacity(UPDATE_BATCH);

        let size = terminal.size()?;
        self.state.handle(Action::Resize {
            width: size.width,
            height: size.height,
        });
        terminal.draw(|f| draw(f, &self.state, &self.view))?;
        self.state.mark_drawn(Instant::now());
        self.state.ui.quit |= self.exit_after_first_frame;
        let mut last_draw = Instant::now();
        let mut dirty = false;
        let mut updates_open = true;
        let mut failure: Option<String> = None;
        let mut supervisor_done = false;

        while !self.state.ui.quit {
            let frame_due = last_draw + FRAME_INTERVAL;
            tokio::select! {
                _ = sigterm.recv() => break,
                _ = sighup.recv() => break,
                _ = sigint.recv() => break,
                event = events.recv() => match event {
                    Some(Ok(event)) => {
                        if let Some(action) = self.keymap.translate(&event, self.state.ui.mode) {
                            let commands = self.state.handle(action);
                            self.send(commands);
                            dirty = true;
                        }
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                },
                n = rx.recv_many(&mut batch, UPDATE_BATCH), if updates_open => {
                    // Zero means every sender is gone: keep the screen, stop listening.
                    updates_open = n > 0;
                    for update in batch.drain(..) {
                        dirty |= self.state.apply(update);
                    }
                }
                _ = clock.tick() => {
                    dirty |= self.state.apply(Update::Tick { at: Instant::now() });
                }
                Some(joined) = tasks.join_next() => {
                    // The panic hook has already restored the terminal: leave in order.
                    if let Err(e) = joined
                        && e.is_panic() {
                            failure = Some(format!("a collector task panicked: {e}"));
                            break;
                        }
                }
                done = &mut supervisor, if !supervisor_done => {
                    supervisor_done = true;
                    if let Err(e) = done {
                        failure = Some(format!("the supervisor task failed: {e}"));
                        break;
                    }
                }
                _ = tokio::time::sleep_until(frame_due.into()), if dirty => {}
                _ = sleep_until_opt(self.state.next_deadline()) => {
                    dirty |= self.state.apply(Update::Tick { at: Instant::now() });
                }
            }
            let commands = self.state.take_commands();
            self.send(commands);
            if dirty && Instant::now() >= last_draw + FRAME_INTERVAL {
                self.state.before_draw();
                terminal.draw(|f| draw(f, &self.state, &self.view))?;
                self.state.mark_drawn(Instant::now());
                last_draw = Instant::now();
                dirty = false;
            }
        }
        tasks.abort_all();
        input.abort();
        // Closing the command channel makes the supervisor stop every child it started; keep
        // draining its updates meanwhile so that it never waits on a full channel.
        self.commands = None;
        let longest_grace = plan
            .entries
            .iter()
            .map(|e| e.stop_grace)
            .max()
            .unwrap_or_default();
        let deadline = tokio::time::sleep(longest_grace + Duration::from_secs(2));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut supervisor, if !supervisor_done => break,
                _ = &mut deadline => break,
                n = rx.recv_many(&mut batch, UPDATE_BATCH), if updates_open => {
                    updates_open = n > 0;
                    batch.clear();
                }
            }
        }
        match failure {
            Some(f) => Err(color_eyre::eyre::eyre!(f)),
            None => Ok(()),
        }
    }
}

/// Sleep until `at`, or forever when there is nothing to wait for.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
