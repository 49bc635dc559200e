//! One full port scan with 20, 200 and 2 000 listening sockets, without and with 400 extra
//! idle processes: first scan (cold owner cache), steady-state scan (owners cached), the
//! `/proc/net/tcp` fallback, and `ss -ltnpH` and `lsof -nP -iTCP -sTCP:LISTEN` on the same
//! sockets in the same run. Then the CPU cost of the collector scanning every second with 20
//! stubs running (the demo's shape). Run with `cargo bench --bench port_scan`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anychat_top::collect::port_scan::{Scanner, run_port_scanner};

const SOCKETS: [usize; 3] = [20, 200, 2000];
const IDLE_PROCESSES: usize = 400;
const COLD_RUNS: usize = 15;
const STEADY_RUNS: usize = 100;
const TOOL_RUNS: usize = 7;
const DEMO_STUBS: usize = 20;
const COLLECTOR_WINDOW: Duration = Duration::from_secs(20);

/// Children killed and reaped on drop.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max.min(65536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Listeners on `n` free loopback ports below the ephemeral range, from `*next` upwards.
fn listeners(n: usize, next: &mut u16) -> Vec<TcpListener> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n && *next < 32_000 {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", *next)) {
            out.push(l);
        }
        *next += 1;
    }
    assert_eq!(out.len(), n, "not enough free ports below 32000");
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:8.2} ms", d.as_secs_f64() * 1e3)
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid struct.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage with a zeroed struct it fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Median wall time of `cmd`, and whether it succeeded; None when the tool is missing.
fn tool(program: &str, args: &[&str]) -> Option<Duration> {
    let mut times = Vec::new();
    for _ in 0..TOOL_RUNS {
        let t = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        times.push(t.elapsed());
        if !status.success() && program != "lsof" {
            return None;
        }
    }
    Some(median(times))
}

fn measure(label: &str, expected: usize) {
    let mut cold = Vec::new();
    let mut seen = 0;
    for _ in 0..COLD_RUNS {
        let mut s = Scanner::new();
        let t = Instant::now();
        let scan = s.scan();
        cold.push(t.elapsed());
        seen = scan.listeners.len();
    }
    assert!(
        seen >= expected,
        "scan saw {seen} listeners, expected ≥ {expected}"
    );
    let mut s = Scanner::new();
    s.scan();
    let walked = s.walk_stats();
    let mut steady = Vec::new();
    let cpu0 = thread_cpu();
    for _ in 0..STEADY_RUNS {
        let t = Instant::now();
        s.scan();
        steady.push(t.elapsed());
    }
    let cpu = (thread_cpu() - cpu0) / STEADY_RUNS as u32;
    let rewalks = s.walk_stats().fd_tables_walked - walked.fd_tables_walked;
    let mut p = Scanner::proc_net_only();
    p.scan();
    let proc_net = median(
        (0..STEADY_RUNS / 4)
            .map(|_| {
                let t = Instant::now();
                p.scan();
                t.elapsed()
            })
            .collect(),
    );
    let ss = tool("ss", &["-ltnpH"]);
    let lsof = tool("lsof", &["-nP", "-iTCP", "-sTCP:LISTEN"]);
    let show = |d: Option<Duration>| d.map_or("  missing  ".to_string(), ms);
    println!(
        "{label:<28} {} {} {} {} {} {:>9.3}% {rewalks:>7}",
        ms(median(cold)),
        ms(median(steady)),
        ms(proc_net),
        show(ss),
        show(lsof),
        cpu.as_secs_f64() * 100.0,
    );
}

fn idle_processes(n: usize) -> Children {
    Children(
        (0..n)
            .filter_map(|_| {
                Command::new("sleep")
                    .arg("600")
                    .stdin(Stdio::null())
                    .spawn()
                    .ok()
            })
            .collect(),
    )
}

/// 20 stubs with HTTP, gRPC and metrics ports each, like `anychat-top demo`'s services.
fn demo_stubs(next: &mut u16) -> Children {
    let mut children = Vec::new();
    for i in 0..DEMO_STUBS {
        let ports: Vec<u16> = listeners(3, next)
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()).unwrap_or(0))
            .collect();
        let child = Command::new(env!("CARGO_BIN_EXE_anychat-stub"))
            .args(["--name", &format!("svc-{i}"), "--quiet-health"])
            .args(["--log-interval", "0s"])
            .args(["--http-port", &ports[0].to_string()])
            .args(["--grpc-port", &ports[1].to_string()])
            .args(["--metrics-port", &ports[2].to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn anychat-stub");
        children.push(child);
    }
    std::thread::sleep(Duration::from_secs(2));
    Children(children)
}

fn collector_cpu() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let sent = rt.block_on(async move {
        let task = tokio::spawn(run_port_scanner(Duration::from_secs(1), tx));
        tokio::time::sleep(Duration::from_millis(1500)).await; // first scan done
        let cpu0 = process_cpu();
        let t0 = Instant::now();
        let mut sent = 0;
        while t0.elapsed() < COLLECTOR_WINDOW {
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                sent += 1;
            }
        }
        let cpu = process_cpu() - cpu0;
        let wall = t0.elapsed();
        drop(rx);
        let _ = task.await;
        (sent, cpu, wall)
    });
    let (sent, cpu, wall) = sent;
    println!(
        "collector every 1 s with {DEMO_STUBS} stubs running: {:.3}% of one core over {:.0} s ({:.2} ms CPU per second; {sent} scans sent after the first)",
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
        wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e3 / wall.as_secs_f64(),
    );
}

fn main() {
    raise_nofile();
    let mut next = 20_000u16;
    println!(
        "{:<28} {:>11} {:>11} {:>11} {:>11} {:>11} {:>10} {:>7}",
        "sockets", "first scan", "steady", "/proc/net", "ss -ltnpH", "lsof", "CPU/1s", "rewalks"
    );
    for idle in [0, IDLE_PROCESSES] {
        let _idle = idle_processes(idle);
        let mut held = Vec::new();
        let mut have = 0;
        for n in SOCKETS {
            held.extend(listeners(n - have, &mut next));
            have = n;
            measure(&format!("{n} (+{idle} idle processes)"), n);
        }
        drop(held);
        next = 20_000;
    }
    println!(
        "(median wall times; CPU/1s = steady scan CPU time as a share of one core at one scan a second; rewalks = fd tables read again in {STEADY_RUNS} steady scans)"
    );
    let _stubs = demo_stubs(&mut next);
    let mut s = Scanner::new();
    let listening = s.scan().listeners.len();
    let cpu0 = thread_cpu();
    for _ in 0..STEADY_RUNS {
        s.scan();
    }
    let per_scan = (thread_cpu() - cpu0) / STEADY_RUNS as u32;
    println!(
        "steady scan with {DEMO_STUBS} stubs running ({listening} listeners on this machine): {:.3} ms CPU per scan",
        per_scan.as_secs_f64() * 1e3
    );
    collector_cpu();
}
