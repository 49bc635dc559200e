//! Probes against real infrastructure servers started on spare ports: redis-server,
//! nats-server and PostgreSQL. A missing binary skips the test (fails it under CI=true).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anychat_top::health::ProbeState;
use anychat_top::plan::{ProbeKind, ProbeSpec};

use super::support::process::{
    ChildGuard, free_port, require_binary, skip_or_fail, wait_for_port, wait_for_port_closed,
};
use super::support::{target, target_with};
use super::{SECOND, probe_once, probe_until, prober};

/// Starts redis-server on `port` with persistence off, plus `extra` arguments.
async fn start_redis(binary: &PathBuf, port: u16, extra: &[&str]) -> ChildGuard {
    let mut cmd = Command::new(binary);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(extra);
    let server = ChildGuard::spawn(&mut cmd);
    assert!(
        wait_for_port(port, 10 * SECOND).await,
        "redis-server on {port}"
    );
    server
}

#[tokio::test]
async fn real_redis_ping_auth_and_restart() {
    let Some(binary) = require_binary("redis-server") else {
        return;
    };
    let port = free_port();
    let server = start_redis(&binary, port, &[]).await;
    let mut p = prober(&target(ProbeKind::Redis, port), SECOND);
    let r = p.probe().await;
    assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "PONG"));

    // Restart: the kept connection breaks, the prober notices and reconnects.
    drop(server);
    assert!(wait_for_port_closed(port, 5 * SECOND).await);
    let r = p.probe().await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Down, "connection refused")
    );
    let _server = start_redis(&binary, port, &[]).await;
    let r = p.probe().await;
    assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "PONG"));

    let locked_port = free_port();
    let _locked = start_redis(&binary, locked_port, &["--requirepass", "secret"]).await;
    let r = probe_once(&target(ProbeKind::Redis, locked_port), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Up, "auth required")
    );
}

#[tokio::test]
async fn real_nats_health_and_ports() {
    let Some(binary) = require_binary("nats-server") else {
        return;
    };
    let (client, monitor) = (free_port(), free_port());
    let mut cmd = Command::new(binary);
    cmd.args([
        "-a",
        "127.0.0.1",
        "-p",
        &client.to_string(),
        "-m",
        &monitor.to_string(),
    ]);
    let _server = ChildGuard::spawn(&mut cmd);
    assert!(
        wait_for_port(monitor, 10 * SECOND).await,
        "nats monitor port"
    );

    let mut health = prober(&target(ProbeKind::Nats, monitor), SECOND);
    let r = probe_until(&mut health, 5 * SECOND, |r| r.state == ProbeState::Up).await;
    assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "HTTP 200"));

    let r = probe_once(&target(ProbeKind::Tcp, client), SECOND).await;
    assert_eq!((r.state, r.detail.as_str()), (ProbeState::Up, "connected"));
    // The client port speaks NATS, not Redis; the probe says so instead of hanging.
    let r = probe_once(&target(ProbeKind::Redis, client), SECOND).await;
    assert_eq!(r.state, ProbeState::Down);
    assert!(r.detail.starts_with("not Redis: \"INFO "), "{r:?}");
    // A path NATS does not serve is an HTTP error, not a dead port.
    let spec = ProbeSpec::Http {
        path: "/no-such-page".to_string(),
        json_status: false,
    };
    let r = probe_once(&target_with(ProbeKind::Http, monitor, spec), SECOND).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Unhealthy, "HTTP 404")
    );
}

/// The newest installed PostgreSQL's bin directory (Debian layout).
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("postgres").is_file())
        .collect();
    dirs.sort_by_key(|d| {
        let version = d.parent().and_then(|v| v.file_name()).unwrap_or_default();
        version.to_string_lossy().parse::<u32>().unwrap_or(0)
    });
    dirs.pop()
}

/// uid and gid of the `postgres` user, via id(1).
fn postgres_user() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

#[tokio::test]
async fn real_postgres_answers_ssl_request() {
    let Some(bin) = postgres_bin_dir() else {
        skip_or_fail("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin");
        return;
    };
    // initdb and postgres refuse to run as root: run them as the postgres user then.
    // SAFETY: geteuid has no preconditions.
    let as_user = if unsafe { libc::geteuid() } == 0 {
        let Some(user) = postgres_user() else {
            skip_or_fail("running as root and there is no postgres user to run PostgreSQL as");
            return;
        };
        Some(user)
    } else {
        None
    };
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some((uid, gid)) = as_user {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
    }
    let command = |program: &str| {
        let mut cmd = Command::new(bin.join(program));
        if let Some((uid, gid)) = as_user {
            cmd.uid(uid).gid(gid).env("HOME", dir.path());
        }
        cmd.current_dir(dir.path());
        cmd
    };
    let data = dir.path().join("data");
    let status = command("initdb")
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run initdb");
    assert!(status.success(), "initdb failed: {status}");

    let port = free_port();
    let mut cmd = command("postgres");
    cmd.arg("-D").arg(&data).arg("-k").arg(dir.path());
    cmd.args([
        "-p",
        &port.to_string(),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
    ]);
    let _server = ChildGuard::spawn(&mut cmd);
    assert!(wait_for_port(port, 30 * SECOND).await, "postgres on {port}");

    let mut p = prober(&target(ProbeKind::Postgres, port), SECOND);
    let r = probe_until(&mut p, 10 * SECOND, |r| r.state == ProbeState::Up).await;
    assert_eq!(
        (r.state, r.detail.as_str()),
        (ProbeState::Up, "accepting connections (SSL: no)")
    );
    assert!(r.latency < Duration::from_millis(500), "{r:?}");
}
