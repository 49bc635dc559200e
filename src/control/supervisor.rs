//! The supervisor worker: executes Start/Stop commands and reports what happened.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::child::{Reaped, Watched, watch};
use super::log_files::LogFiles;
use super::log_reader::{LogSink, read_log};
use super::spawn::{build_command, spawn};
use super::watchdog::GroupRegistry;
use crate::message::{Command, Stream, Update};
use crate::plan::{EntryId, Plan};

/// Grace period for entries the plan does not know (never expected; a bad `EntryId`).
const FALLBACK_STOP_GRACE: Duration = Duration::from_secs(5);

/// How the supervisor treats its children beyond what the plan says.
#[derive(Debug, Clone, Default)]
pub struct SupervisorOptions {
    /// Append every line each child writes to `<log_dir>/<name>.log`.
    pub log_dir: Option<PathBuf>,
    /// Leave children running when the supervisor shuts down (and do not tie their life to ours).
    pub leave_running: bool,
    /// Where the process groups it starts are registered, for the watchdog (not with
    /// `leave_running`).
    pub groups: Option<GroupRegistry>,
}

/// Starts and stops the plan's processes; holds no UI state and makes no policy decisions.
pub struct Supervisor {
    plan: Arc<Plan>,
    updates: mpsc::Sender<Update>,
    opts: SupervisorOptions,
    running: HashMap<EntryId, Running>,
    reaped_tx: mpsc::UnboundedSender<Reaped>,
    reaped_rx: mpsc::UnboundedReceiver<Reaped>,
    next_generation: u64,
    /// The `--log-dir` writer thread, if asked for.
    log_files: Option<LogFiles>,
}

/// A child that has not been reaped yet.
struct Running {
    generation: u64,
    stop: mpsc::UnboundedSender<Duration>,
    stopping: bool,
    /// A Start arrived while stopping: start again once reaped (a restart).
    start_when_reaped: bool,
    _watch: JoinHandle<()>,
}

impl Supervisor {
    /// A supervisor for `plan`'s entries, reporting on `updates`.
    pub fn new(plan: Arc<Plan>, updates: mpsc::Sender<Update>, opts: SupervisorOptions) -> Self {
        let (reaped_tx, reaped_rx) = mpsc::unbounded_channel();
        let log_files = opts.log_dir.clone().and_then(|dir| {
            LogFiles::start(dir)
                .inspect_err(|e| tracing::warn!("--log-dir: no writer thread: {e}"))
                .ok()
        });
        Self {
            log_files,
            plan,
            updates,
            opts,
            running: HashMap::new(),
            reaped_tx,
            reaped_rx,
            next_generation: 0,
        }
    }

    /// Run until `commands` closes; then stop every child it started (unless
    /// `leave_running`) and return once they are reaped.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            tokio::select! {
                biased;
                Some(reaped) = self.reaped_rx.recv() => self.on_reaped(reaped).await,
                command = commands.recv() => match command {
                    Some(command) => self.execute(command).await,
                    None => break,
                },
            }
        }
        if !self.opts.leave_running {
            self.stop_all().await;
        }
    }

    /// Carry out one command.
    pub async fn execute(&mut self, command: Command) {
        match command {
            Command::Start { entry } => match self.running.get_mut(&entry) {
                Some(running) if running.stopping => running.start_when_reaped = true,
                Some(_) => {}
                None => self.start(entry).await,
            },
            Command::Stop { entry, grace } => {
                if let Some(running) = self.running.get_mut(&entry) {
                    running.stopping = true;
                    running.start_when_reaped = false;
                    let _ = running.stop.send(grace);
                }
            }
            // Probing is not the supervisor's job: the loop hands these to the watchers.
            Command::ProbeSoon { .. } => {}
            // The loop hands these to the Docker worker.
            Command::Docker(_) => {}
            // The port scanner and its holders are the loop's too (see `collect::ports_task`).
            Command::ScanPortsNow | Command::SignalHolder { .. } => {}
        }
    }

    /// Stop every running child (TERM its group, KILL after the entry's grace) and wait until
    /// all are reaped. Pending restarts are cancelled.
    pub async fn stop_all(&mut self) {
        for (entry, running) in &mut self.running {
            let grace = self
                .plan
                .entries
                .get(entry.0)
                .map_or(FALLBACK_STOP_GRACE, |e| e.stop_grace);
            running.stopping = true;
            running.start_when_reaped = false;
            let _ = running.stop.send(grace);
        }
        while !self.running.is_empty() {
            let Some(reaped) = self.reaped_rx.recv().await else {
                break;
            };
            self.on_reaped(reaped).await;
        }
    }

    async fn on_reaped(&mut self, reaped: Reaped) {
        let current = self.running.get(&reaped.entry);
        if current.is_none_or(|r| r.generation != reaped.generation) {
            return;
        }
        if let Some(running) = self.running.remove(&reaped.entry)
            && running.start_when_reaped
        {
            self.start(reaped.entry).await;
        }
    }

    async fn start(&mut self, entry: EntryId) {
        let plan = Arc::clone(&self.plan);
        let Some(spec) = plan.entries.get(entry.0) else {
            let error = format!("entry #{} is not in the plan", entry.0);
            return self.spawn_failed(entry, error).await;
        };
        let die_with_us = !self.opts.leave_running;
        let command = match build_command(spec, die_with_us) {
            Ok(command) => command,
            Err(error) => return self.spawn_failed(entry, error).await,
        };
        let program = command
            .as_std()
            .get_program()
            .to_string_lossy()
            .into_owned();
        let mut child = match spawn(command).await {
            Ok(child) => child,
            Err(e) => return self.spawn_failed(entry, format!("{program}: {e}")).await,
        };
        let Some(pid) = child.id() else {
            let error = format!("{program}: exited before it could be watched");
            return self.spawn_failed(entry, error).await;
        };
        let groups = self.opts.groups.clone().filter(|_| die_with_us);
        if let Some(groups) = &groups {
            groups.register(pid);
        }
        let at = Instant::now();
        let _ = self
            .updates
            .send(Update::ProcessStarted { entry, pid, at })
            .await;

        let file = self.log_files.as_ref().map(|files| files.file(&spec.name));
        let sink = |stream| LogSink {
            entry,
            stream,
            updates: self.updates.clone(),
            file: file.clone(),
        };
        let mut log_readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            log_readers.push(tokio::spawn(read_log(stdout, sink(Stream::Stdout))));
        }
        if let Some(stderr) = child.stderr.take() {
            log_readers.push(tokio::spawn(read_log(stderr, sink(Stream::Stderr))));
        }

        self.next_generation += 1;
        let reaped = Reaped {
            entry,
            generation: self.next_generation,
        };
        let (stop_tx, stop_rx) = mpsc::unbounded_channel();
        let watched = Watched {
            reaped,
            child,
            pid,
            stop: stop_rx,
            log_readers,
            updates: self.updates.clone(),
            reaped_to: self.reaped_tx.clone(),
            grace: spec.stop_grace,
            groups,
        };
        let running = Running {
            generation: reaped.generation,
            stop: stop_tx,
            stopping: false,
            start_when_reaped: false,
            _watch: tokio::spawn(watch(watched)),
        };
        self.running.insert(entry, running);
    }

    async fn spawn_failed(&self, entry: EntryId, error: String) {
        let at = Instant::now();
        let failed = Update::ProcessSpawnFailed { entry, error, at };
        let _ = self.updates.send(failed).await;
    }
}
