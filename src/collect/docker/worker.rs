//! The Docker worker's loop: connect (with backoff), find the wanted containers once, then
//! follow the engine's events, one stats and one logs stream per matched container, and run
//! the commands it is sent.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::DockerConfig;
use super::actions::{absolute, act, refused};
use super::compose::{self, compose_up};
use super::connect::{Connection, EngineAddress, classify, connect, within};
use super::decode::{EventKind, WATCHED_EVENTS, classify_event, container_info, running_for};
use super::facts::{ComposeUp, DockerCommand, DockerFact, EngineProblem, WantedContainer};
use super::matching::{Candidate, match_all, short};
use super::session::{Session, Tracked};
use super::streams::LogCursor;
use crate::plan::EntryId;

/// How a connected session ended.
enum Ended {
    /// The facts receiver is gone: the worker stops.
    Closed,
    /// The engine went away or stopped answering.
    Lost(EngineProblem),
}

pub(super) struct Worker {
    cfg: DockerConfig,
    address: EngineAddress,
    /// As given (compose command lines use these paths).
    wanted: Vec<WantedContainer>,
    /// The same, compose files made absolute for matching.
    wanted_abs: Vec<WantedContainer>,
    commands: mpsc::Receiver<DockerCommand>,
    commands_open: bool,
    facts: mpsc::Sender<DockerFact>,
    compose_program: Option<Vec<String>>,
    /// Where each container's logs were read up to, by container id (kept across sessions).
    cursors: HashMap<String, LogCursor>,
}

impl Worker {
    pub(super) fn new(
        cfg: DockerConfig,
        wanted: Vec<WantedContainer>,
        commands: mpsc::Receiver<DockerCommand>,
        facts: mpsc::Sender<DockerFact>,
    ) -> Worker {
        let wanted_abs = wanted
            .iter()
            .map(|w| WantedContainer {
                compose_file: w.compose_file.as_ref().map(|f| absolute(f)),
                ..w.clone()
            })
            .collect();
        Worker {
            address: EngineAddress::parse(cfg.host.as_deref()),
            cfg,
            wanted,
            wanted_abs,
            commands,
            commands_open: true,
            facts,
            compose_program: None,
            cursors: HashMap::new(),
        }
    }

    /// Runs until the facts receiver is dropped.
    pub(super) async fn run(mut self) {
        if self.wanted.iter().any(|w| w.compose_file.is_some()) {
            self.compose_program = compose::find_program(self.cfg.request_timeout).await;
            let program = self.compose_program.clone();
            if !self.send(DockerFact::ComposeProgramFound { program }).await {
                return;
            }
        }
        let mut retry = self.cfg.retry_min;
        loop {
            let attempt = tokio::select! {
                () = self.facts.closed() => return,
                attempt = connect(&self.address, self.cfg.request_timeout) => attempt,
            };
            let problem = match attempt {
                Ok(conn) => {
                    let connected = DockerFact::Connected {
                        host: self.address.display(),
                        engine_version: conn.engine_version.clone(),
                        api_version: conn.api_version.clone(),
                    };
                    if !self.send(connected).await {
                        return;
                    }
                    retry = self.cfg.retry_min;
                    match self.session(conn).await {
                        Ended::Closed => return,
                        Ended::Lost(problem) => problem,
                    }
                }
                Err(problem) => problem,
            };
            let unavailable = DockerFact::Unavailable {
                host: self.address.display(),
                problem,
                retry_in: retry,
            };
            if !self.send(unavailable).await || !self.wait_refusing(retry).await {
                return;
            }
            retry = (retry * 2).min(self.cfg.retry_max);
        }
    }

    async fn send(&self, fact: DockerFact) -> bool {
        self.facts.send(fact).await.is_ok()
    }

    /// Waits `delay`, refusing commands meanwhile; false when the facts receiver is gone.
    async fn wait_refusing(&mut self, delay: Duration) -> bool {
        let until = tokio::time::sleep(delay);
        tokio::pin!(until);
        loop {
            tokio::select! {
                () = self.facts.closed() => return false,
                () = &mut until => return true,
                command = self.commands.recv(), if self.commands_open => {
                    let Some(command) = command else {
                        self.commands_open = false;
                        continue;
                    };
                    let fact = refused(command, "the Docker engine is not available".into());
                    if !self.send(fact).await {
                        return false;
                    }
                }
            }
        }
    }

    /// One connected session; log cursors outlive it, so that a reconnection resumes each
    /// container's logs where they were instead of sending its last lines again.
    async fn session(&mut self, conn: Connection) -> Ended {
        let mut session = Session {
            docker: conn.docker,
            tracked: HashMap::new(),
            cursors: std::mem::take(&mut self.cursors),
            streams: JoinSet::new(),
            listed: false,
        };
        let ended = self.follow_engine(&mut session).await;
        self.cursors = std::mem::take(&mut session.cursors);
        ended
    }

    async fn follow_engine(&mut self, session: &mut Session) -> Ended {
        let docker = session.docker.clone();
        // Events from a second ago: nothing between the list below and the subscription is lost.
        let since = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs().saturating_sub(1))
            .unwrap_or(0)
            .to_string();
        let filters = HashMap::from([
            ("type", vec!["container"]),
            ("event", WATCHED_EVENTS.to_vec()),
        ]);
        let options = EventsOptionsBuilder::new()
            .since(&since)
            .filters(&filters)
            .build();
        let mut events = docker.events(Some(options));
        if let Err(ended) = self.rematch(session).await {
            return ended;
        }
        let mut actions: JoinSet<DockerFact> = JoinSet::new();
        let mut keepalive = tokio::time::interval(self.cfg.keepalive);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        keepalive.tick().await;
        loop {
            tokio::select! {
                () = self.facts.closed() => return Ended::Closed,
                event = events.next() => {
                    let kind = match event {
                        Some(Ok(event)) => classify_event(&event),
                        Some(Err(err)) => {
                            return Ended::Lost(classify(&err, &self.address, self.cfg.request_timeout));
                        }
                        None => {
                            let message = "the engine closed its event stream".into();
                            return Ended::Lost(EngineProblem::Other { message });
                        }
                    };
                    if let Err(ended) = self.on_event(session, kind).await {
                        return ended;
                    }
                }
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => {
                        if let Some(fact) = self.dispatch(session, command, &mut actions)
                            && !self.send(fact).await
                        {
                            return Ended::Closed;
                        }
                    }
                    None => self.commands_open = false,
                },
                Some(done) = actions.join_next() => {
                    if let Ok(fact) = done
                        && !self.send(fact).await
                    {
                        return Ended::Closed;
                    }
                }
                Some(_) = session.streams.join_next() => {}
                _ = keepalive.tick() => {
                    if let Err(problem) = within(self.cfg.request_timeout, &self.address, docker.ping()).await {
                        return Ended::Lost(problem);
                    }
                }
            }
        }
    }

    async fn on_event(&self, session: &mut Session, kind: EventKind) -> Result<(), Ended> {
        match kind {
            EventKind::Ignored => Ok(()),
            EventKind::Membership { .. } => self.rematch(session).await,
            EventKind::Changed { id } => {
                let entry = session
                    .tracked
                    .iter()
                    .find_map(|(entry, t)| (t.id == id).then_some(*entry));
                match entry {
                    Some(entry) => self.refresh(session, entry).await,
                    None => Ok(()),
                }
            }
        }
    }

    /// Lists every container, matches the entries again and reports each entry whose
    /// container changed (every entry on the first call).
    async fn rematch(&self, session: &mut Session) -> Result<(), Ended> {
        let options = ListContainersOptionsBuilder::new().all(true).build();
        let listed = within(
            self.cfg.request_timeout,
            &self.address,
            session.docker.list_containers(Some(options)),
        )
        .await
        .map_err(Ended::Lost)?;
        let candidates: Vec<Candidate> =
            listed.iter().filter_map(Candidate::from_summary).collect();
        let first = !session.listed;
        session.listed = true;
        for m in match_all(&self.wanted_abs, &candidates) {
            let current = session
                .tracked
                .get(&m.entry)
                .map(|t| (t.id.clone(), t.by.clone()));
            match m.found {
                Some(found) if Some(&found) == current.as_ref() && !first => {}
                Some((id, by)) => {
                    if let Some(mut old) = session.tracked.remove(&m.entry) {
                        old.stop_streams();
                    }
                    let tracked = Tracked {
                        id,
                        by,
                        started_at: None,
                        stats: None,
                        logs: None,
                    };
                    session.tracked.insert(m.entry, tracked);
                    self.refresh(session, m.entry).await?;
                }
                None if current.is_some() || first => {
                    if let Some(mut old) = session.tracked.remove(&m.entry) {
                        old.stop_streams();
                    }
                    let missing = DockerFact::ContainerMissing {
                        entry: m.entry,
                        foreign: m.foreign,
                    };
                    if !self.send(missing).await {
                        return Err(Ended::Closed);
                    }
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Inspects the entry's container, reports it, and opens or closes its streams.
    async fn refresh(&self, session: &mut Session, entry: EntryId) -> Result<(), Ended> {
        let Some(tracked) = session.tracked.get(&entry) else {
            return Ok(());
        };
        let inspected = within(
            self.cfg.request_timeout,
            &self.address,
            session.docker.inspect_container(&tracked.id, None),
        )
        .await;
        let inspect = match inspected {
            Ok(inspect) => inspect,
            // Removed meanwhile: its destroy event makes us match again.
            Err(EngineProblem::Other { .. }) => return Ok(()),
            Err(problem) => return Err(Ended::Lost(problem)),
        };
        let info = container_info(&inspect, tracked.by.clone());
        let id = tracked.id.clone();
        let live = info.state.is_live();
        let started_at = info.started_at;
        let seen = DockerFact::ContainerSeen {
            entry,
            running_for: running_for(&info, SystemTime::now()),
            info,
            at: Instant::now(),
        };
        if !self.send(seen).await {
            return Err(Ended::Closed);
        }
        session.follow(entry, &id, live, started_at, self.cfg.log_tail, &self.facts);
        Ok(())
    }

    /// Starts a command as a task; Some is the refusal to report at once.
    fn dispatch(
        &self,
        session: &Session,
        command: DockerCommand,
        actions: &mut JoinSet<DockerFact>,
    ) -> Option<DockerFact> {
        match command {
            DockerCommand::Act {
                entry,
                container_id,
                action,
            } => {
                let ours = session.tracked.get(&entry).map(|t| t.id.as_str());
                if ours != Some(container_id.as_str()) {
                    let why = format!(
                        "container {} is not this entry's container: left alone",
                        short(&container_id)
                    );
                    return Some(refused(
                        DockerCommand::Act {
                            entry,
                            container_id,
                            action,
                        },
                        why,
                    ));
                }
                let docker = session.docker.clone();
                let timeout = self.cfg.request_timeout;
                let address = self.address.clone();
                actions.spawn(async move {
                    let outcome = act(&docker, &container_id, action, timeout, &address).await;
                    DockerFact::ActionFinished {
                        entry,
                        action,
                        outcome,
                    }
                });
                None
            }
            DockerCommand::ComposeUp { entry, up } => {
                let expected = self.compose_command(entry);
                if expected.as_ref() != Some(&up) {
                    let why = match expected {
                        Some(expected) => format!("not the entry's compose command ({})", expected.display()),
                        None => "the entry names no compose file and service, or no compose program exists".into(),
                    };
                    return Some(refused(DockerCommand::ComposeUp { entry, up }, why));
                }
                let timeout = self.cfg.compose_timeout;
                actions.spawn(async move {
                    let outcome = compose::run(&up, timeout).await;
                    DockerFact::ComposeFinished { entry, up, outcome }
                });
                None
            }
        }
    }

    /// The only compose command the worker runs for `entry`.
    fn compose_command(&self, entry: EntryId) -> Option<ComposeUp> {
        let wanted = self.wanted.iter().find(|w| w.entry == entry)?;
        let program = self.compose_program.as_ref()?;
        Some(compose_up(
            program,
            wanted.compose_file.as_ref()?,
            wanted.compose_project.as_deref(),
            wanted.compose_service.as_deref()?,
        ))
    }
}
