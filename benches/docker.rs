//! What following Docker costs: this process's CPU (percent of one core) idle, with the
//! worker connected but following no container, and with 5 running containers streamed
//! (events, one stats stream and one logs stream each), beside the engine's (dockerd) CPU;
//! and the time of one /proc usage sample of the supervised groups. Prints figures; needs a
//! Docker engine and busybox-static for the Docker part (else says SKIP).

#[path = "../tests/docker/support.rs"]
mod support;

use std::time::{Duration, Instant};

use anychat_top::collect::docker::{self, DockerFact, WantedContainer};
use anychat_top::collect::proc_usage::{ProcUsageSampler, parse_stat};
use anychat_top::plan::EntryId;
use tokio::sync::mpsc;

const WINDOW: Duration = Duration::from_secs(10);
const CONTAINERS: usize = 5;

fn main() {
    sample_cost();
    if let Err(reason) = docker_cost() {
        println!("SKIP: docker part: {reason}");
    }
}

fn sample_cost() {
    let mut sampler = ProcUsageSampler::new();
    // SAFETY: getpgrp has no preconditions.
    let own = unsafe { libc::getpgrp() };
    let groups: Vec<(EntryId, i32)> = (0..12).map(|i| (EntryId(i), own + i as i32)).collect();
    let processes = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count()
        })
        .unwrap_or(0);
    sampler.sample(&groups, Instant::now());
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(sampler.sample(&groups, Instant::now()));
    }
    let each = start.elapsed() / rounds;
    println!(
        "proc_usage: one sample of 12 groups among {processes} processes: {each:?} (once a second: {:.2}% of a core)",
        each.as_secs_f64() * 100.0
    );
}

/// CPU time of this process so far.
fn own_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct; RUSAGE_SELF is valid.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return Duration::ZERO;
    }
    // SAFETY: getrusage returned 0.
    let u = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// dockerd's CPU ticks so far.
fn dockerd_ticks() -> Option<u64> {
    let dir = std::fs::read_dir("/proc").ok()?;
    dir.flatten().find_map(|e| {
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        if comm.trim() != "dockerd" {
            return None;
        }
        parse_stat(&std::fs::read_to_string(e.path().join("stat")).ok()?)
            .ok()
            .map(|s| s.cpu_ticks)
    })
}

/// (our CPU %, dockerd CPU %) over `WINDOW`.
fn measure(rt: &tokio::runtime::Runtime) -> (f64, Option<f64>) {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let (cpu0, d0, t0) = (own_cpu(), dockerd_ticks(), Instant::now());
    rt.block_on(async { tokio::time::sleep(WINDOW).await });
    let (cpu1, d1, wall) = (own_cpu(), dockerd_ticks(), t0.elapsed().as_secs_f64());
    let ours = (cpu1 - cpu0).as_secs_f64() / wall * 100.0;
    let engine = d0
        .zip(d1)
        .map(|(a, b)| b.saturating_sub(a) as f64 / hz / wall * 100.0);
    (ours, engine)
}

/// Starts a worker for `wanted`; facts are drained and counted by a task.
fn start_worker(
    rt: &tokio::runtime::Runtime,
    wanted: Vec<WantedContainer>,
    ready_after: usize,
) -> (
    mpsc::Sender<docker::DockerCommand>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let (fact_tx, mut facts) = mpsc::channel(1024);
    let (commands, command_rx) = mpsc::channel(8);
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    rt.spawn(docker::run(
        support::quick_config(None),
        wanted,
        command_rx,
        fact_tx,
    ));
    rt.spawn(async move {
        let mut sampled = std::collections::HashSet::new();
        let mut ready = Some(ready_tx);
        while let Some(fact) = facts.recv().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match fact {
                DockerFact::Connected { .. } if ready_after == 0 => {}
                DockerFact::UsageSampled { entry, .. } => {
                    sampled.insert(entry);
                }
                _ => continue,
            }
            if sampled.len() >= ready_after
                && let Some(tx) = ready.take()
            {
                let _ = tx.send(());
            }
        }
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(60));
    (commands, count)
}

fn docker_cost() -> Result<(), String> {
    support::docker(&["version"]).map_err(|e| format!("no engine: {e}"))?;
    let image = support::test_image()?;
    let containers = support::Containers::new("att-bench");
    let script = "while true; do echo tick; sleep 1; done";
    for i in 0..CONTAINERS {
        containers.run(&i.to_string(), &[], image, &["sh", "-c", script]);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (idle, idle_engine) = measure(&rt);
    let (_cmd0, count0) = start_worker(&rt, Vec::new(), 0);
    let before0 = count0.load(std::sync::atomic::Ordering::Relaxed);
    let (connected, connected_engine) = measure(&rt);
    let facts0 = count0.load(std::sync::atomic::Ordering::Relaxed) - before0;
    let wanted = (0..CONTAINERS)
        .map(|i| WantedContainer {
            entry: EntryId(i),
            container_name: Some(format!("att-bench-{i}")),
            compose_service: None,
            compose_project: None,
            compose_file: None,
        })
        .collect();
    let (_cmd, count) = start_worker(&rt, wanted, CONTAINERS);
    let before = count.load(std::sync::atomic::Ordering::Relaxed);
    let (streamed, streamed_engine) = measure(&rt);
    let facts = count.load(std::sync::atomic::Ordering::Relaxed) - before;
    let pct = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2}%"));
    println!("docker worker, {:?} windows (percent of one core):", WINDOW);
    println!(
        "  {:<44} {:>8}  dockerd {:>8}",
        "no worker (baseline)",
        format!("{idle:.2}%"),
        pct(idle_engine)
    );
    println!(
        "  {:<44} {:>8}  dockerd {:>8}  ({facts0} facts)",
        "worker connected, no container followed",
        format!("{connected:.2}%"),
        pct(connected_engine)
    );
    println!(
        "  {:<44} {:>8}  dockerd {:>8}  ({:.1} facts/s)",
        format!("+ worker following {CONTAINERS} running containers"),
        format!("{streamed:.2}%"),
        pct(streamed_engine),
        facts as f64 / WINDOW.as_secs_f64()
    );
    drop(rt);
    drop(containers);
    Ok(())
}
