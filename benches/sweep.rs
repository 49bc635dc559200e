//! Wall time of one probe sweep over 300 loopback targets (100 HTTP health, 100 gRPC health,
//! 100 TCP) with connections reused, then of a sweep in which 50 targets hang.
//! Run with `cargo bench --bench sweep`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use anychat_top::collect::{ProbeConfig, Prober, probers, sweep};
use anychat_top::health::ProbeState;
use anychat_top::plan::{Plan, ProbeKind};
use support::servers::{Listening, ServerRuntime, listener};
use support::target;
use tonic_health::ServingStatus;

const TARGETS_PER_KIND: usize = 100;
const HUNG_TARGETS: usize = 50;
const WARMUP_SWEEPS: usize = 3;
const MEASURED_SWEEPS: usize = 50;
const HUNG_SWEEPS: usize = 3;
const TIMEOUT: Duration = Duration::from_secs(1);

/// 100 HTTP health, 100 gRPC health and 100 TCP targets; the first `hung` HTTP and gRPC
/// targets (half each) point at servers that accept and never answer. Also returns the
/// HTTP and gRPC servers that do answer, to check that their connections were reused.
fn plan(servers: &ServerRuntime, hung: usize) -> (Plan, Vec<Listening>) {
    let mut plan = Plan::default();
    let mut answering = Vec::new();
    for i in 0..TARGETS_PER_KIND {
        let port = if i < hung / 2 {
            servers.hang(listener(0)).port
        } else {
            let server = servers.http(listener(0), 200, r#"{"status":"ok"}"#);
            answering.push(server.clone());
            server.port
        };
        plan.targets.push(target(ProbeKind::Health, port));
    }
    for i in 0..TARGETS_PER_KIND {
        let port = if i < hung - hung / 2 {
            servers.hang(listener(0)).port
        } else {
            let server = servers.grpc_health(listener(0), ServingStatus::Serving);
            answering.push(server.clone());
            server.port
        };
        plan.targets.push(target(ProbeKind::Grpc, port));
    }
    for _ in 0..TARGETS_PER_KIND {
        plan.targets
            .push(target(ProbeKind::Tcp, servers.hang(listener(0)).port));
    }
    (plan, answering)
}

/// Runs one sweep, checks how many targets came back up, and returns its wall time.
async fn timed_sweep(probers: &mut [Prober], expected_up: usize) -> Duration {
    let started = Instant::now();
    let results = sweep(probers).await;
    let took = started.elapsed();
    let up = results.iter().filter(|r| r.state == ProbeState::Up).count();
    if up != expected_up {
        let bad = results.iter().find(|r| r.state != ProbeState::Up);
        panic!(
            "{up} of {} targets up, expected {expected_up}; e.g. {bad:?}",
            results.len()
        );
    }
    took
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// CPU time (user + system) used so far by this process, servers included.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills a zeroed local struct.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn main() {
    raise_fd_limit();
    // The servers get a runtime (and thread) of their own, as a separate process would.
    let servers = ServerRuntime::new(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("probe runtime");
    let cfg = ProbeConfig { timeout: TIMEOUT };
    let total = 3 * TARGETS_PER_KIND;

    runtime.block_on(async {
        let (plan_all, answering) = plan(&servers, 0);
        let mut all = probers(&plan_all, &cfg);
        for _ in 0..WARMUP_SWEEPS {
            timed_sweep(&mut all, total).await;
        }
        let mut times = Vec::with_capacity(MEASURED_SWEEPS);
        let cpu_before = cpu_time();
        for _ in 0..MEASURED_SWEEPS {
            times.push(timed_sweep(&mut all, total).await);
        }
        let cpu = (cpu_time() - cpu_before) / MEASURED_SWEEPS as u32;
        let connections: usize = answering.iter().map(Listening::accepted).sum();
        assert_eq!(
            connections,
            answering.len(),
            "every HTTP and gRPC server saw exactly one connection over all sweeps"
        );
        times.sort();
        let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "sweep of {total} targets ({TARGETS_PER_KIND} HTTP, {TARGETS_PER_KIND} gRPC, \
             {TARGETS_PER_KIND} TCP), connections reused, {MEASURED_SWEEPS} sweeps:"
        );
        println!(
            "  median {}   p90 {}   min {}   max {}",
            ms(pick(0.5)),
            ms(pick(0.9)),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
        println!("  CPU per sweep (probes and servers, both cores) {}", ms(cpu));
        println!("  {connections} HTTP and gRPC connections in all, one per server: reused");
        drop(all);

        let mut hung = probers(&plan(&servers, HUNG_TARGETS).0, &cfg);
        timed_sweep(&mut hung, total - HUNG_TARGETS).await;
        let mut times = Vec::with_capacity(HUNG_SWEEPS);
        for _ in 0..HUNG_SWEEPS {
            times.push(timed_sweep(&mut hung, total - HUNG_TARGETS).await);
        }
        times.sort();
        println!(
            "sweep of {total} targets of which {HUNG_TARGETS} hang, timeout {}, {HUNG_SWEEPS} sweeps:",
            humantime::format_duration(TIMEOUT)
        );
        println!(
            "  median {}   min {}   max {}",
            ms(times[HUNG_SWEEPS / 2]),
            ms(times[0]),
            ms(times[HUNG_SWEEPS - 1])
        );
    });
}
