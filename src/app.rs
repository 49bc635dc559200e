//! The event loop: one task owns the state; input, collectors and a slow clock feed it; it draws only on change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::Result;
use crossterm::event::EventStream;
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::action::Action;
use crate::collect::self_usage::watch_self;
use crate::collect::{ProbeConfig, spawn_watchers};
use crate::keymap::Keymap;
use crate::message::{Command, Update};
use crate::state::State;
use crate::view::{ViewContext, draw};

/// At most this often a frame is drawn (about 30 frames a second).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// The slow clock for ages.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);
/// Updates taken from the channel per wake-up.
const UPDATE_BATCH: usize = 256;

/// Everything the loop runs with.
pub struct App {
    pub state: State,
    pub keymap: Keymap,
    pub view: ViewContext,
    pub probe: ProbeConfig,
    /// Where commands for the supervisor go (none: nothing is started).
    pub commands: Option<mpsc::Sender<Command>>,
    /// Commands to send as soon as the loop runs (the demo starts everything).
    pub initial_commands: Vec<Command>,
}

impl App {
    fn send(&mut self, commands: Vec<Command>) {
        let Some(tx) = &self.commands else { return };
        for c in commands {
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
        let mut tasks: JoinSet<()> =
            spawn_watchers(&plan, &self.probe, self.state.probe_interval, tx.clone());
        tasks.spawn(watch_self(Duration::from_secs(2), tx.clone()));
        drop(tx);
        let initial = std::mem::take(&mut self.initial_commands);
        self.send(initial);

        let mut events = EventStream::new();
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
        let mut last_draw = Instant::now();
        let mut dirty = false;
        let mut updates_open = true;

        while !self.state.ui.quit {
            let frame_due = last_draw + FRAME_INTERVAL;
            tokio::select! {
                _ = sigterm.recv() => break,
                _ = sighup.recv() => break,
                _ = sigint.recv() => break,
                event = events.next() => match event {
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
                    if let Err(e) = joined
                        && e.is_panic() {
                            self.state.note_task_failure(format!("a collector task panicked: {e}"), Instant::now());
                            dirty = true;
                        }
                }
                _ = tokio::time::sleep_until(frame_due.into()), if dirty => {}
            }
            if dirty && Instant::now() >= last_draw + FRAME_INTERVAL {
                terminal.draw(|f| draw(f, &self.state, &self.view))?;
                last_draw = Instant::now();
                dirty = false;
            }
        }
        tasks.abort_all();
        Ok(())
    }
}
