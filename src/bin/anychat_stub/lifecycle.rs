//! How the stub's life ends or changes: SIGTERM/SIGINT, --ignore-sigterm, --crash-after and
//! --fail-health-after.

use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::shared::Shared;
use crate::zap_log::{Field, Level};

/// Blocks (`hold`) or unblocks SIGTERM and SIGINT for this thread and the threads it starts
/// later: a signal that arrives before the handlers exist then waits instead of killing us.
pub fn hold_signals(hold: bool) {
    let how = if hold {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: plain signal-mask calls on a zeroed set we own; no handler is involved.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// Signal streams, registered before any port is served so an early SIGTERM is not fatal.
pub struct Signals {
    term: Option<Signal>,
    int: Option<Signal>,
}

impl Signals {
    /// Installs the handlers, then lets signals held by [`hold_signals`] through.
    pub fn register() -> Self {
        let signals = Self {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        };
        hold_signals(false);
        signals
    }
}

async fn next(signal: &mut Option<Signal>) {
    match signal {
        Some(signal) => {
            if signal.recv().await.is_none() {
                pending::<()>().await;
            }
        }
        None => pending().await,
    }
}

/// Waits for the end: a signal (exit code 0) or `crash_after` (exit code `crash_code`).
pub async fn wait_for_exit(
    shared: &Shared,
    mut signals: Signals,
    ignore_sigterm: bool,
    crash_after: Option<Duration>,
    crash_code: i32,
) -> i32 {
    let crash = async {
        match crash_after {
            Some(after) => tokio::time::sleep(after).await,
            None => pending().await,
        }
    };
    tokio::pin!(crash);
    let log = &shared.log;
    loop {
        tokio::select! {
            () = next(&mut signals.term) => {
                if ignore_sigterm {
                    let fields = [("signal", Field::Str("terminated"))];
                    log.log(Level::Warn, "cmd/server/main.go:88", "received SIGTERM, ignoring it", &fields);
                    continue;
                }
                log.info("cmd/server/main.go:91", "shutting down", &[("signal", Field::Str("terminated"))]);
                return 0;
            }
            () = next(&mut signals.int) => {
                log.info("cmd/server/main.go:91", "shutting down", &[("signal", Field::Str("interrupt"))]);
                return 0;
            }
            () = &mut crash => {
                let error = format!("simulated crash after {}", humantime::format_duration(crash_after.unwrap_or_default()));
                let fields = [("error", Field::Str(&error)), ("exit_code", Field::Int(i64::from(crash_code)))];
                log.log(Level::Fatal, "cmd/server/main.go:64", "unrecoverable error", &fields);
                return crash_code;
            }
        }
    }
}

/// After `after`, turns /health to 503 and the gRPC health statuses to NOT_SERVING.
pub async fn fail_health_after(
    shared: Arc<Shared>,
    reporter: Option<HealthReporter>,
    after: Duration,
) {
    tokio::time::sleep(after).await;
    shared.mark_unhealthy();
    if let Some(reporter) = reporter {
        for service in ["", shared.name.as_str()] {
            reporter
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
    }
    let fields = [(
        "error",
        Field::Str("dependency check failed: postgres: connection refused"),
    )];
    shared.log.log(
        Level::Error,
        "health/checker.go:52",
        "health check failing",
        &fields,
    );
}
