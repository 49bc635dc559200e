//! A fake engine on a unix socket, answering from the captured fixtures: the whole worker
//! (negotiation, list, inspect, multiplexed logs, stats stream) through bollard's real code
//! paths, and an engine that refuses our API version.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anychat_top::collect::docker::{
    ContainerState, DockerFact, EngineProblem, MatchedBy, WantedContainer,
};
use anychat_top::message::Stream;
use anychat_top::plan::EntryId;
use bollard::models::ContainerSummary;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::support::{Worker, fixture, fixture_bytes, quick_config};

type Body = BoxBody<Bytes, Infallible>;
type Route = Arc<dyn Fn(&str) -> Response<Body> + Send + Sync>;

/// An HTTP/1.1 server on a unix socket, recording every request; dropping it closes the
/// socket and every connection (like an engine that died).
pub struct FakeEngine {
    pub socket: PathBuf,
    pub requests: Arc<Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeEngine {
    /// On a socket in a new temporary directory.
    pub fn start(route: Route) -> FakeEngine {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut engine = FakeEngine::start_at(dir.path().join("docker.sock"), route);
        engine._dir = Some(dir);
        engine
    }

    /// On `socket` (a stale socket file there is replaced).
    pub fn start_at(socket: PathBuf, route: Route) -> FakeEngine {
        let _ = std::fs::remove_file(&socket);
        let listener =
            tokio::net::UnixListener::bind(&socket).expect("bind the fake engine's socket");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let task = tokio::spawn(async move {
            // Owned here: aborting the accept loop drops every connection with it.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let route = route.clone();
                let log = log.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let path = req
                            .uri()
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default();
                        log.lock().expect("request log").push(path.clone());
                        let reply = route(&path);
                        async move { Ok::<_, Infallible>(reply) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeEngine {
            socket,
            requests,
            _dir: None,
            task,
        }
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("api-version", "1.41")
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("valid response")
}

/// A body that never ends (the event stream of an idle engine).
fn endless() -> Response<Body> {
    let body =
        StreamBody::new(futures::stream::pending::<Result<Frame<Bytes>, Infallible>>()).boxed();
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .expect("valid response")
}

/// `/v1.41/containers/json` → (`Some(41)`, `/containers/json`).
fn split_version(path: &str) -> (Option<u32>, &str) {
    let path = path.split('?').next().unwrap_or(path);
    if let Some(rest) = path.strip_prefix("/v1.")
        && let Some((minor, tail)) = rest.split_once('/')
    {
        return (
            minor.parse().ok(),
            path.get(path.len() - tail.len() - 1..).unwrap_or(path),
        );
    }
    (None, path)
}

/// Answers like the engine the fixtures were captured from.
fn fixture_engine() -> Route {
    let list: Vec<ContainerSummary> =
        serde_json::from_slice(&fixture_bytes("containers_json_all.json")).expect("list decodes");
    let names: Vec<(String, String)> = list
        .iter()
        .filter_map(|c| {
            Some((
                c.id.clone()?,
                c.names
                    .as_ref()?
                    .first()?
                    .trim_start_matches('/')
                    .to_string(),
            ))
        })
        .collect();
    Arc::new(move |raw: &str| {
        let (version, path) = split_version(raw);
        if version.is_some_and(|minor| minor > 41) {
            return reply(400, "application/json", br#"{"message":"client version is too new. Maximum supported API version is 1.41"}"#.to_vec());
        }
        let name_of = |key: &str| {
            names
                .iter()
                .find(|(id, name)| id == key || name == key)
                .map(|(_, name)| name.clone())
        };
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["_ping"] => reply(200, "text/plain", b"OK".to_vec()),
            ["version"] => reply(200, "application/json", fixture_bytes("version.json")),
            ["events"] => endless(),
            ["containers", "json"] => reply(
                200,
                "application/json",
                fixture_bytes("containers_json_all.json"),
            ),
            ["containers", key, what] => {
                let Some(name) = name_of(key) else {
                    let body = format!(r#"{{"message":"No such container: {key}"}}"#);
                    return reply(404, "application/json", body.into_bytes());
                };
                let file = match *what {
                    "json" => format!("inspect_{name}.json"),
                    "logs" => format!("logs_{name}_multiplexed.raw"),
                    "stats" if name == "anychat-nats" => {
                        "stats_anychat-nats_stream_3frames.ndjson".into()
                    }
                    "stats" => format!("stats_{name}_stream_false.json"),
                    _ => {
                        return reply(
                            404,
                            "application/json",
                            b"{\"message\":\"page not found\"}".to_vec(),
                        );
                    }
                };
                if !fixture(&file).exists() {
                    return reply(200, "application/vnd.docker.raw-stream", Vec::new());
                }
                reply(200, "application/json", fixture_bytes(&file))
            }
            _ => reply(
                404,
                "application/json",
                b"{\"message\":\"page not found\"}".to_vec(),
            ),
        }
    })
}

fn by_name(entry: usize, name: &str) -> WantedContainer {
    WantedContainer {
        entry: EntryId(entry),
        container_name: Some(name.into()),
        compose_service: None,
        compose_project: None,
        compose_file: None,
    }
}

#[tokio::test]
async fn a_fixture_session_through_bollard() {
    let engine = FakeEngine::start(fixture_engine());
    let wanted = vec![
        by_name(0, "anychat-nats"),
        by_name(1, "anychat-crashed"),
        by_name(2, "anychat-postgres"),
    ];
    let mut worker = Worker::start(quick_config(Some(engine.host())), wanted);
    let wait = Duration::from_secs(10);
    let (engine_version, api) = worker
        .wait_for(wait, "Connected", |f| match f {
            DockerFact::Connected {
                engine_version,
                api_version,
                ..
            } => Some((engine_version.clone(), api_version.clone())),
            _ => None,
        })
        .await;
    assert_eq!(
        (engine_version.as_str(), api.as_str()),
        ("20.10.24+dfsg1", "1.41"),
        "negotiated down from bollard's 1.53"
    );
    let nats = worker
        .wait_for(wait, "the nats container", |f| match f {
            DockerFact::ContainerSeen {
                entry: EntryId(0),
                info,
                ..
            } => Some(info.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (nats.state, nats.matched_by, nats.ports.len()),
        (ContainerState::Running, MatchedBy::Name, 2)
    );
    worker
        .wait_for(wait, "postgres missing", |f| {
            matches!(
                f,
                DockerFact::ContainerMissing {
                    entry: EntryId(2),
                    ..
                }
            )
            .then_some(())
        })
        .await;
    // The crashed container's last lines, demultiplexed by bollard: one per stream.
    let mut lines = Vec::new();
    while lines.len() < 2 {
        let more = worker
            .wait_for(wait, "the crashed container's logs", |f| match f {
                DockerFact::LogLines {
                    entry: EntryId(1),
                    lines,
                    ..
                } => Some(lines.clone()),
                _ => None,
            })
            .await;
        lines.extend(more);
    }
    let got: Vec<(Stream, &str)> = lines.iter().map(|l| (l.stream, l.text.as_str())).collect();
    assert_eq!(
        got,
        [
            (Stream::Stdout, "starting"),
            (Stream::Stderr, "fatal: config missing")
        ]
    );
    // The nats stats stream: the first frame has no CPU figure, the next ones do.
    let cpu = worker
        .wait_for(wait, "a CPU figure for nats", |f| match f {
            DockerFact::UsageSampled {
                entry: EntryId(0),
                usage,
                ..
            } => usage.cpu_percent,
            _ => None,
        })
        .await;
    assert!(cpu > 0.0 && cpu < 200.0, "{cpu}");
    let requests = engine.requests.lock().expect("request log").clone();
    assert!(
        requests.iter().any(|r| r.contains("/containers/json")),
        "{requests:?}"
    );
    for r in &requests {
        assert!(
            split_version(r).0.is_none_or(|minor| minor <= 41),
            "a request above the engine's API version: {r}"
        );
    }
}

#[tokio::test]
async fn an_engine_refusing_our_version_is_reported_in_its_words() {
    let raw = String::from_utf8(fixture_bytes("error_api_version_too_new.http")).expect("utf-8");
    let body = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .map(|(_, b)| b.to_string())
        .expect("a body");
    let engine = FakeEngine::start(Arc::new(move |_: &str| {
        reply(400, "application/json", body.clone().into_bytes())
    }));
    let mut worker = Worker::start(
        quick_config(Some(engine.host())),
        vec![by_name(0, "anychat-nats")],
    );
    let problem = worker
        .wait_for(Duration::from_secs(10), "Unavailable", |f| match f {
            DockerFact::Unavailable { problem, .. } => Some(problem.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        problem,
        EngineProblem::ApiTooNew {
            message: "client version 1.45 is too new. Maximum supported API version is 1.41".into()
        }
    );
    assert!(
        problem
            .words()
            .starts_with("Docker engine refused us: client version 1.45"),
        "{}",
        problem.words()
    );
}

#[tokio::test]
async fn the_worker_reconnects_when_the_engine_dies_hangs_and_comes_back() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let socket = dir.path().join("docker.sock");
    let silent = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let route = {
        let inner = fixture_engine();
        let silent = silent.clone();
        Arc::new(move |path: &str| {
            if silent.load(std::sync::atomic::Ordering::SeqCst) {
                endless()
            } else {
                inner(path)
            }
        }) as Route
    };
    let mut config = quick_config(Some(format!("unix://{}", socket.display())));
    config.keepalive = Duration::from_millis(300);
    // No engine yet: the worker says so and keeps trying.
    let mut worker = Worker::start(
        config,
        vec![by_name(0, "anychat-nats"), by_name(1, "anychat-crashed")],
    );
    let wait = Duration::from_secs(10);
    let unavailable = |f: &DockerFact| match f {
        DockerFact::Unavailable { problem, .. } => Some(problem.clone()),
        _ => None,
    };
    let connected = |f: &DockerFact| matches!(f, DockerFact::Connected { .. }).then_some(());
    let nats_seen = |f: &DockerFact| {
        matches!(
            f,
            DockerFact::ContainerSeen {
                entry: EntryId(0),
                ..
            }
        )
        .then_some(())
    };
    assert!(matches!(
        worker.wait_for(wait, "no engine", unavailable).await,
        EngineProblem::NoSocket { .. }
    ));
    // The engine comes up: connected, and the containers looked at again.
    let engine = FakeEngine::start_at(socket.clone(), route.clone());
    worker.wait_for(wait, "connected", connected).await;
    worker.wait_for(wait, "nats seen", nats_seen).await;
    let crashed_logs = |f: &DockerFact| {
        matches!(
            f,
            DockerFact::LogLines {
                entry: EntryId(1),
                ..
            }
        )
        .then_some(())
    };
    worker
        .wait_for(wait, "the crashed container's lines", crashed_logs)
        .await;
    // The engine dies: its event stream ends, the worker notices and retries.
    worker.forget();
    drop(engine);
    let problem = worker.wait_for(wait, "the engine gone", unavailable).await;
    assert!(
        matches!(
            problem,
            EngineProblem::Other { .. } | EngineProblem::NoSocket { .. }
        ),
        "{problem:?}"
    );
    let engine = FakeEngine::start_at(socket.clone(), route.clone());
    worker.wait_for(wait, "connected again", connected).await;
    worker.wait_for(wait, "nats seen again", nats_seen).await;
    // The engine hangs: the keepalive ping times out.
    worker.forget();
    silent.store(true, std::sync::atomic::Ordering::SeqCst);
    let problem = worker
        .wait_for(wait, "the engine silent", unavailable)
        .await;
    assert!(
        matches!(problem, EngineProblem::NotAnswering { .. }),
        "{problem:?}"
    );
    silent.store(false, std::sync::atomic::Ordering::SeqCst);
    worker
        .wait_for(wait, "connected after the hang", connected)
        .await;
    worker
        .wait_for(wait, "nats seen after the hang", nats_seen)
        .await;
    // Three sessions, but the stopped container's last lines were sent once (a second
    // sending would have arrived within this second).
    worker.drain(Duration::from_secs(1)).await;
    drop(engine);
    let crashed_lines: usize = worker
        .seen
        .iter()
        .map(|f| match f {
            DockerFact::LogLines {
                entry: EntryId(1),
                lines,
                ..
            } => lines.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(crashed_lines, 2);
}

#[tokio::test]
async fn a_snapshot_for_check() {
    let engine = FakeEngine::start(fixture_engine());
    let wanted = [
        by_name(0, "anychat-unhealthy"),
        by_name(1, "anychat-postgres"),
    ];
    let facts = anychat_top::collect::docker::snapshot(
        Some(&engine.host()),
        &wanted,
        Duration::from_secs(5),
    )
    .await
    .expect("the fake engine answers");
    assert!(
        matches!(&facts[0], DockerFact::Connected { api_version, .. } if api_version == "1.41"),
        "{:?}",
        facts[0]
    );
    assert!(
        matches!(&facts[1], DockerFact::ContainerSeen { entry: EntryId(0), info, .. } if info.health == anychat_top::collect::docker::EngineHealth::Unhealthy)
    );
    assert!(matches!(
        &facts[2],
        DockerFact::ContainerMissing {
            entry: EntryId(1),
            ..
        }
    ));
    assert_eq!(facts.len(), 3);
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = format!("unix://{}", dir.path().join("none.sock").display());
    let problem =
        anychat_top::collect::docker::snapshot(Some(&missing), &wanted, Duration::from_secs(5))
            .await;
    assert!(
        matches!(problem, Err(EngineProblem::NoSocket { .. })),
        "{problem:?}"
    );
}
