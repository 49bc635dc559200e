//! NATS monitoring against a real nats-server on free ports (`-js`, monitoring on): two stub
//! processes connect with `--nats`, each connection is attributed to its own pid, and a
//! JetStream stream created over the text protocol shows up in /jsz.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use anychat_top::collect::nats::decode::JetStream;
use anychat_top::collect::nats::{NatsFact, poll_once, run_nats};
use anychat_top::collect::sockets::client_owners;
use anychat_top::collect::{ProbeConfig, http_client};
use anychat_top::metrics::headless::nats_stats;
use anychat_top::plan::EntryId;
use anychat_top::state::nats::NatsState;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use support::process::{ChildGuard, free_low_port, require_binary, wait_for_port};

const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");
const SECOND: Duration = Duration::from_secs(1);

/// Polls until `check` holds for a poll of `base`, or panics after `within`.
async fn poll_until(
    base: &str,
    within: Duration,
    what: &str,
    check: impl Fn(&NatsFact) -> bool,
) -> NatsFact {
    let client = http_client(&ProbeConfig { timeout: SECOND });
    let deadline = Instant::now() + within;
    loop {
        let fact = poll_once(&client, base, SECOND).await;
        if check(&fact) {
            return fact;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: last poll {:?}",
            fact.outcome
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a memory stream over the text protocol and waits for the API's answer.
async fn create_stream(client_port: u16, name: &str, subjects: &str) -> String {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", client_port))
        .await
        .expect("connect to NATS");
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    read.read_line(&mut line).await.expect("INFO");
    assert!(line.starts_with("INFO "), "{line}");
    let config = format!(r#"{{"name":"{name}","subjects":["{subjects}"],"storage":"memory"}}"#);
    let frames = format!(
        "CONNECT {{\"verbose\":false}}\r\nSUB _INBOX.test 1\r\nPUB $JS.API.STREAM.CREATE.{name} _INBOX.test {}\r\n{config}\r\nPING\r\n",
        config.len()
    );
    write.write_all(frames.as_bytes()).await.expect("send");
    // Skip PONG and find the MSG carrying the API's JSON reply.
    loop {
        line.clear();
        let n = tokio::time::timeout(5 * SECOND, read.read_line(&mut line))
            .await
            .expect("an answer within 5 s")
            .expect("read");
        assert!(n > 0, "NATS closed the connection");
        if line.starts_with("MSG ") {
            let mut reply = String::new();
            read.read_line(&mut reply).await.expect("payload");
            return reply;
        }
        assert!(!line.starts_with("-ERR"), "{line}");
    }
}

#[tokio::test]
async fn real_nats_server_connections_attributed_and_jetstream() {
    let Some(binary) = require_binary("nats-server") else {
        return;
    };
    let (client_port, monitor) = (free_low_port(), free_low_port());
    let store = tempfile::tempdir().expect("a store dir");
    let mut cmd = Command::new(binary);
    cmd.args(["-a", "127.0.0.1", "-p", &client_port.to_string()])
        .args(["-m", &monitor.to_string(), "-js", "-sd"])
        .arg(store.path());
    let _server = ChildGuard::spawn(&mut cmd);
    assert!(wait_for_port(monitor, 10 * SECOND).await, "nats monitor up");
    let base = format!("http://127.0.0.1:{monitor}");
    let addr = format!("127.0.0.1:{client_port}");

    // JetStream is on but holds nothing yet, as in AnyChat's deployment.
    let fact = poll_until(&base, 10 * SECOND, "jsz", |f| {
        f.outcome.as_ref().is_ok_and(|s| s.jsz.is_ok())
    })
    .await;
    let mut state = NatsState::default();
    state.apply(&fact, Instant::now());
    assert_eq!(state.jetstream, Some(JetStream::NoStreams));
    assert_eq!(
        state.jetstream.map(|j| j.to_string()).as_deref(),
        Some("JetStream enabled, no streams")
    );

    // Two processes connect: message-service (names its connection) and push-service.
    let stub = |name: &str| {
        let mut cmd = Command::new(STUB);
        cmd.args(["--name", name, "--log-interval", "0s", "--nats", &addr])
            .args(["--nats-every", "50ms"]);
        ChildGuard::spawn(&mut cmd)
    };
    let message = stub("message-service");
    let push = stub("push-service");
    let fact = poll_until(&base, 10 * SECOND, "two clients publishing", |f| {
        f.outcome.as_ref().is_ok_and(|s| {
            s.connz.as_ref().is_ok_and(|c| {
                c.connections.len() == 2 && c.connections.iter().all(|c| c.in_msgs > 0)
            })
        })
    })
    .await;
    let t1 = Instant::now();
    state.apply(&fact, t1);
    let owners = client_owners(client_port);
    let entries = BTreeMap::from([(message.id(), EntryId(7)), (push.id(), EntryId(9))]);
    state.set_owners(owners, entries);
    let by_entry = |state: &NatsState, e: usize| {
        state
            .conns
            .iter()
            .find(|c| c.entry == Some(EntryId(e)))
            .cloned()
            .unwrap_or_else(|| panic!("no connection attributed to entry {e}: {:?}", state.conns))
    };
    let m = by_entry(&state, 7);
    assert_eq!(m.pid, Some(message.id()));
    assert_eq!(m.name, "anychat-message-service");
    let p = by_entry(&state, 9);
    assert_eq!(p.pid, Some(push.id()));
    assert_eq!(p.name, "", "only message-service names its connection");
    assert!(p.subs >= 1);

    // Rates from a second poll.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fact = poll_until(&base, 5 * SECOND, "second poll", |f| f.outcome.is_ok()).await;
    state.apply(&fact, Instant::now());
    let flow = state.flow.expect("server-wide rates");
    assert!(flow.in_msgs > 5.0, "two publishers at 20/s: {flow:?}");
    assert!(by_entry(&state, 7).rates.is_some_and(|r| r.in_msgs > 5.0));

    // A stream created by the test shows up.
    let reply = create_stream(client_port, "CHAT", "chat.>").await;
    assert!(reply.contains("\"config\""), "stream created: {reply}");
    let fact = poll_until(&base, 5 * SECOND, "jsz shows the stream", |f| {
        f.outcome
            .as_ref()
            .is_ok_and(|s| s.jsz.as_ref().is_ok_and(|j| j.streams == 1))
    })
    .await;
    state.apply(&fact, Instant::now());
    assert!(matches!(
        state.jetstream,
        Some(JetStream::Streams { streams: 1, .. })
    ));

    // check --json's object.
    let stats = nats_stats("127.0.0.1", monitor, SECOND)
        .await
        .expect("stats");
    assert_eq!(stats["healthz"], "ok");
    assert_eq!(stats["connections"].as_u64(), Some(2));
    assert!(stats["version"].as_str().is_some_and(|v| !v.is_empty()));

    // The poller delivers facts until its channel closes.
    let (tx, mut rx) = mpsc::channel(4);
    let task = tokio::spawn(run_nats(
        "127.0.0.1".into(),
        monitor,
        Duration::from_millis(200),
        SECOND,
        tx,
    ));
    let got = tokio::time::timeout(5 * SECOND, rx.recv())
        .await
        .expect("a poll")
        .expect("alive");
    assert!(got.outcome.is_ok());
    drop(rx);
    tokio::time::timeout(5 * SECOND, task)
        .await
        .expect("ends")
        .expect("no panic");
}

#[tokio::test]
async fn unreachable_monitoring_is_an_error_value() {
    let client = http_client(&ProbeConfig { timeout: SECOND });
    let port = free_low_port();
    let started = Instant::now();
    let fact = poll_once(&client, &format!("http://127.0.0.1:{port}"), SECOND).await;
    assert!(
        fact.outcome.as_ref().is_err_and(|e| e.contains("refused")),
        "{:?}",
        fact.outcome.as_ref().err()
    );
    assert!(started.elapsed() < 2 * SECOND);
    assert!(nats_stats("127.0.0.1", port, SECOND).await.is_none());
    let mut state = NatsState::default();
    state.apply(&fact, Instant::now());
    assert!(state.last_error.is_some() && state.varz.is_none());
}
