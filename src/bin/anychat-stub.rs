//! `anychat-stub`: impersonates one AnyChat Go service (health, gRPC health, metrics, zap
//! logs) or an infra server's health endpoint, with switches to make it slow, hang or die.

#[path = "anychat_stub/as_service.rs"]
mod as_service;
#[path = "anychat_stub/cli.rs"]
mod cli;
#[path = "anychat_stub/exposition.rs"]
mod exposition;
#[path = "anychat_stub/go_runtime.rs"]
mod go_runtime;
#[path = "anychat_stub/grpc_server.rs"]
mod grpc_server;
#[path = "anychat_stub/http_server.rs"]
mod http_server;
#[path = "anychat_stub/lifecycle.rs"]
mod lifecycle;
#[path = "anychat_stub/listeners.rs"]
mod listeners;
#[path = "anychat_stub/nats_client.rs"]
mod nats_client;
#[path = "anychat_stub/plain_tcp.rs"]
mod plain_tcp;
#[path = "anychat_stub/postgres.rs"]
mod postgres;
#[path = "anychat_stub/redis.rs"]
mod redis;
#[path = "anychat_stub/registry.rs"]
mod registry;
#[path = "anychat_stub/request_log.rs"]
mod request_log;
#[path = "anychat_stub/shared.rs"]
mod shared;
#[path = "anychat_stub/traffic.rs"]
mod traffic;
#[path = "anychat_stub/zap_log.rs"]
mod zap_log;

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio::task::JoinSet;

use crate::cli::Args;
use crate::grpc_server::Health;
use crate::http_server::Site;
use crate::listeners::{Bound, Role};
use crate::shared::Shared;
use crate::zap_log::{Field, Level, Logger};

/// How long the last log lines may take to reach stdout before the process exits.
const FINAL_FLUSH: Duration = Duration::from_millis(100);
/// Exit code of a Go program whose goroutine panicked.
const GO_PANIC_EXIT_CODE: i32 = 2;

fn main() {
    // Before any thread exists, so none of them can take a SIGTERM the default way.
    lifecycle::hold_signals(true);
    let argv = as_service::service_argv(std::env::args_os().collect(), |k| std::env::var(k).ok());
    let args = Args::parse_from(argv);
    if let Some(path) = &args.print_env
        && let Err(message) = as_service::print_env(path)
    {
        eprintln!("anychat-stub: {message}");
        std::process::exit(1);
    }
    let log = Logger::start(&args.name);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let code = match runtime {
        Ok(runtime) => runtime.block_on(run(args, log.clone())),
        Err(err) => {
            eprintln!("anychat-stub: cannot start the async runtime: {err}");
            1
        }
    };
    log.flush(FINAL_FLUSH);
    // Exit now: open keep-alive connections must not delay the shutdown.
    std::process::exit(code);
}

async fn run(args: Args, log: Logger) -> i32 {
    let signals = lifecycle::Signals::register();
    let bound = match listeners::bind_all(args.bind, &listeners::requested(&args)) {
        Ok(bound) => bound,
        Err(message) => return fatal(&log, &message),
    };
    let shared = Arc::new(Shared::new(
        &args.name,
        &args.version_string,
        log.clone(),
        args.slow,
        args.quiet_health,
    ));
    log_start(&shared, &args, &bound);

    let mut servers = JoinSet::new();
    let mut reporter = None;
    let banner = args.tcp_banner.as_deref().map(plain_tcp::banner_bytes);
    for Bound {
        role,
        addr,
        listener,
    } in bound
    {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(err) => return fatal(&log, &format!("listen tcp {addr}: {err}")),
        };
        let addr = addr.to_string();
        let msg = format!("{} server listening", role.label());
        log.info(
            "cmd/server/main.go:51",
            &msg,
            &[("addr", Field::Str(&addr))],
        );
        let shared = Arc::clone(&shared);
        if args.hang {
            servers.spawn(plain_tcp::serve(listener, shared, None));
            continue;
        }
        match role {
            Role::Http => servers.spawn(http_server::serve(listener, shared, Site::Service)),
            Role::Metrics => servers.spawn(http_server::serve(listener, shared, Site::Metrics)),
            Role::Grpc => {
                let health = if args.no_grpc_health {
                    None
                } else {
                    let status = args.grpc_health_status.to_serving_status();
                    let health = Health::new(&args.name, status).await;
                    reporter = Some(health.reporter.clone());
                    Some(health)
                };
                servers.spawn(grpc_server::serve(listener, shared, health))
            }
            Role::Redis => servers.spawn(redis::serve(listener, shared)),
            Role::Postgres => servers.spawn(postgres::serve(listener, shared)),
            Role::Tcp => servers.spawn(plain_tcp::serve(listener, shared, banner.clone())),
        };
    }
    let api = traffic::Api::for_service(&args.name);
    servers.spawn(traffic::run(Arc::clone(&shared), api, args.log_interval));
    if let Some(addr) = args.nats.clone() {
        servers.spawn(nats_client::run(Arc::clone(&shared), addr, args.nats_every));
    }
    if let Some(after) = args.fail_health_after {
        let task = lifecycle::fail_health_after(Arc::clone(&shared), reporter, after);
        tokio::spawn(task);
    }

    let exit = lifecycle::wait_for_exit(
        &shared,
        signals,
        args.ignore_sigterm,
        args.crash_after,
        args.crash_code,
    );
    tokio::select! {
        code = exit => code,
        Some(ended) = servers.join_next() => {
            // Servers loop forever; ending means a panic. Go would die with exit code 2.
            let error = match ended {
                Err(err) => err.to_string(),
                Ok(()) => "server stopped".to_owned(),
            };
            log.log(Level::Fatal, "cmd/server/main.go:70", "server failed", &[("error", Field::Str(&error))]);
            GO_PANIC_EXIT_CODE
        }
    }
}

/// Go's net.Listen failure: the message on stderr and as a zap fatal line, exit code 1.
fn fatal(log: &Logger, message: &str) -> i32 {
    eprintln!("{message}");
    let fields = [("error", Field::Str(message))];
    log.log(
        Level::Fatal,
        "cmd/server/main.go:57",
        "failed to listen",
        &fields,
    );
    1
}

/// The "starting" line: version, pid and every bound port by role.
fn log_start(shared: &Shared, args: &Args, bound: &[Bound]) {
    let ports = |role| -> Vec<String> {
        bound
            .iter()
            .filter(|b| b.role == role)
            .map(|b| b.addr.port().to_string())
            .collect()
    };
    let keys = [
        ("http_ports", Role::Http, true),
        ("grpc_port", Role::Grpc, false),
        ("metrics_port", Role::Metrics, false),
        ("redis_port", Role::Redis, false),
        ("postgres_port", Role::Postgres, false),
        ("tcp_ports", Role::Tcp, true),
    ];
    let rendered: Vec<(&str, String)> = keys
        .into_iter()
        .filter_map(|(key, role, many)| {
            let ports = ports(role);
            let first = ports.first()?.clone();
            Some((
                key,
                if many {
                    format!("[{}]", ports.join(","))
                } else {
                    first
                },
            ))
        })
        .collect();
    let bind = args.bind.to_string();
    let mut fields = vec![
        ("version", Field::Str(&shared.version)),
        ("pid", Field::Int(i64::from(std::process::id()))),
        ("bind", Field::Str(&bind)),
    ];
    fields.extend(rendered.iter().map(|(key, json)| (*key, Field::Json(json))));
    if args.hang {
        fields.push(("mode", Field::Str("hang")));
    }
    shared
        .log
        .info("cmd/server/main.go:42", "starting", &fields);
}
