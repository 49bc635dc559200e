//! Decode time and throughput of Prometheus pages (node-exporter's real page and a synthetic
//! 1 MB page of client_golang-style families), split into our line check, prometheus-parse and
//! the grouping; plus the metrics sub-state per scrape, zap request lines and NATS pages.
//! Run with `cargo bench --bench metrics`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anychat_top::collect::nats::decode::{Connz, Varz, decode as nats_decode};
use anychat_top::collect::scrape::{Endpoint, ScrapeFact};
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::metrics::exposition::decode;
use anychat_top::metrics::line_check::check_line;
use anychat_top::state::metrics::logs::LogMetrics;
use anychat_top::state::metrics::{MetricsConfig, MetricsState};

const NODE: &str = include_str!("../tests/fixtures/prometheus/node_exporter_metrics.txt");
const VARZ: &[u8] = include_bytes!("../tests/fixtures/nats/varz.json");
const CONNZ: &[u8] = include_bytes!("../tests/fixtures/nats/connz.json");

/// Repeats `f` for at least `budget` (and 5 runs), returning the median time of one run.
fn median(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 5 || started.elapsed() < budget {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// About `bytes` of exposition: counters with method/code labels, histograms, gauges.
fn synthetic(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 4096);
    let mut family = 0;
    while out.len() < bytes {
        let name = format!("anychat_requests_{family}");
        out.push_str(&format!(
            "# HELP {name}_total Requests handled.\n# TYPE {name}_total counter\n"
        ));
        for m in 0..10 {
            for code in ["200", "404", "500"] {
                out.push_str(&format!(
                    "{name}_total{{method=\"/anychat.v1.Service/Method{m}\",code=\"{code}\"}} {}\n",
                    m * 1000 + family
                ));
            }
        }
        out.push_str(&format!(
            "# HELP {name}_seconds Latency.\n# TYPE {name}_seconds histogram\n"
        ));
        for m in 0..3 {
            let mut n = 0;
            for le in [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
                "+Inf",
            ] {
                n += 7;
                out.push_str(&format!(
                    "{name}_seconds_bucket{{method=\"M{m}\",le=\"{le}\"}} {n}\n"
                ));
            }
            out.push_str(&format!("{name}_seconds_sum{{method=\"M{m}\"}} 1.25e+01\n"));
            out.push_str(&format!("{name}_seconds_count{{method=\"M{m}\"}} {n}\n"));
        }
        out.push_str(&format!(
            "# TYPE {name}_inflight gauge\n{name}_inflight 3\n"
        ));
        family += 1;
    }
    out
}

fn report_page(label: &str, body: &str) {
    let budget = Duration::from_secs(2);
    let whole = median(budget, || {
        black_box(decode(black_box(body)));
    });
    let check = median(budget, || {
        for line in body.split('\n') {
            black_box(check_line(line));
        }
    });
    let lines: Vec<String> = body.split('\n').map(str::to_owned).collect();
    let parser = median(budget, || {
        let it = lines.iter().cloned().map(Ok);
        black_box(prometheus_parse::Scrape::parse(it).ok());
    });
    let page = decode(body);
    let mb = body.len() as f64 / 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label}: {:.0} KB, {} samples, {} families: decode {:.2} ms ({:.1} MB/s, {:.2} µs/sample)",
        body.len() as f64 / 1e3,
        page.samples,
        page.families.len(),
        ms(whole),
        mb / whole.as_secs_f64(),
        whole.as_secs_f64() * 1e6 / page.samples.max(1) as f64
    );
    println!(
        "  of which: line check {:.2} ms ({:.0}%), prometheus-parse {:.2} ms ({:.0}%), grouping and copies {:.2} ms",
        ms(check),
        100.0 * check.as_secs_f64() / whole.as_secs_f64(),
        ms(parser),
        100.0 * parser.as_secs_f64() / whole.as_secs_f64(),
        (ms(whole) - ms(check) - ms(parser)).max(0.0)
    );
}

/// CPU time (user + system) this process has used so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A free loopback port below the ephemeral range.
fn low_port(next: &mut u16) -> u16 {
    loop {
        *next += 1;
        if std::net::TcpListener::bind(("127.0.0.1", *next)).is_ok() {
            return *next;
        }
    }
}

/// Kills and reaps its children on drop.
struct Children(Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The collectors and sub-states of this feature, live for `wall`: 12 stub endpoints scraped
/// every 2 s and a real nats-server (when installed) polled every 2 s, facts applied to the
/// metrics and NATS states; prints this process's CPU over that time.
fn collectors_cpu(wall: Duration) {
    use anychat_top::collect::nats::run_nats;
    use anychat_top::collect::scrape::{DEFAULT_BODY_CAP, DEFAULT_SCRAPE_TIMEOUT, run_scraper};
    use anychat_top::state::nats::NatsState;
    use std::process::{Command, Stdio};

    let mut next = 23_000 + (std::process::id() % 500) as u16 * 10;
    let mut children = Children(Vec::new());
    let mut endpoints = Vec::new();
    let nats_client = low_port(&mut next);
    let nats_monitor = low_port(&mut next);
    let store = std::env::temp_dir().join(format!("anychat-bench-nats-{}", std::process::id()));
    let nats = Command::new("nats-server")
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            &nats_client.to_string(),
            "-m",
            &nats_monitor.to_string(),
            "-js",
            "-sd",
        ])
        .arg(&store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let have_nats = match nats {
        Ok(child) => {
            children.0.push(child);
            true
        }
        Err(_) => false,
    };
    for i in 0..12 {
        let port = low_port(&mut next);
        let name = format!("bench{i}-service");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anychat-stub"));
        cmd.args([
            "--name",
            &name,
            "--metrics-port",
            &port.to_string(),
            "--log-interval",
            "0s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if have_nats {
            cmd.args(["--nats", &format!("127.0.0.1:{nats_client}")]);
        }
        if let Ok(child) = cmd.spawn() {
            children.0.push(child);
        }
        endpoints.push(Endpoint::new("127.0.0.1", port));
    }
    std::thread::sleep(Duration::from_millis(500));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (scrapes, applied, polls) = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let (ntx, mut nrx) = tokio::sync::mpsc::channel(4);
        let every = Duration::from_secs(2);
        tokio::spawn(run_scraper(endpoints.clone(), every, DEFAULT_SCRAPE_TIMEOUT, DEFAULT_BODY_CAP, tx));
        tokio::spawn(run_nats("127.0.0.1".into(), nats_monitor, every, Duration::from_secs(1), ntx));
        let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
        let mut metrics = MetricsState::new(&plan, MetricsConfig::default());
        let theirs = metrics.endpoints();
        let mut nats_state = NatsState::default();
        let (mut scrapes, mut applied, mut polls) = (0, 0, 0);
        let before = cpu_time();
        let deadline = tokio::time::Instant::now() + wall;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                Some(mut fact) = rx.recv() => {
                    scrapes += 1;
                    // Map the k-th bench endpoint onto the k-th demo endpoint.
                    if let Some(k) = endpoints.iter().position(|e| *e == fact.endpoint) {
                        fact.endpoint = theirs[k % theirs.len()].clone();
                    }
                    applied += usize::from(fact.outcome.is_ok() && metrics.apply(&fact, Instant::now()));
                }
                Some(fact) = nrx.recv() => {
                    polls += usize::from(fact.outcome.is_ok());
                    nats_state.apply(&fact, Instant::now());
                }
            }
        }
        let used = cpu_time() - before;
        println!(
            "collectors live for {:.0} s: {:.3}% of a core ({:.1} ms CPU) for {scrapes} scrapes ({applied} pages applied) and {polls} NATS polls{}",
            wall.as_secs_f64(),
            100.0 * used.as_secs_f64() / wall.as_secs_f64(),
            used.as_secs_f64() * 1e3,
            if have_nats { "" } else { " (nats-server not installed: none)" }
        );
        (scrapes, applied, polls)
    });
    black_box((scrapes, applied, polls));
    drop(children);
    let _ = std::fs::remove_dir_all(&store);
}

fn main() {
    report_page("node-exporter page", NODE);
    report_page("synthetic page", &synthetic(1 << 20));

    // One scrape applied to the sub-state (rates, quantiles, explorer histories).
    let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
    let mut state = MetricsState::new(&plan, MetricsConfig::default());
    let endpoint: Endpoint = state.endpoints()[0].clone();
    let page = decode(NODE);
    let t0 = Instant::now();
    let mut k = 0u64;
    let apply = median(Duration::from_secs(1), || {
        k += 1;
        let fact = ScrapeFact {
            endpoint: endpoint.clone(),
            at: t0 + Duration::from_secs(2 * k),
            took: Duration::ZERO,
            outcome: Ok(page.clone()),
        };
        black_box(state.apply(&fact, t0));
    });
    println!(
        "metrics state: applying a node-exporter page (incl. clone): {:.2} ms; 12 endpoints every 2 s = {:.3}% of a core",
        apply.as_secs_f64() * 1e3,
        apply.as_secs_f64() * 12.0 / 2.0 * 100.0
    );

    // zap request lines.
    let lines: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                r#"{{"level":"info","ts":1764620000.{i:06},"caller":"interceptor/logging.go:35","msg":"gRPC request completed","service":"auth-service","method":"/anychat.auth.v1.AuthService/M{}","duration":0.00{},"status":"OK"}}"#,
                i % 5,
                1 + i % 9
            )
        })
        .collect();
    let observe = median(Duration::from_secs(1), || {
        let mut m = LogMetrics::default();
        let at = Instant::now();
        for line in &lines {
            m.observe(line, at);
        }
        m.derive(at, Duration::from_secs(60));
        black_box(m.requests_total);
    });
    println!(
        "log metrics: {:.2} µs per request line ({:.0} lines/s), derive included",
        observe.as_secs_f64() * 1e6 / lines.len() as f64,
        lines.len() as f64 / observe.as_secs_f64()
    );

    let nats = median(Duration::from_secs(1), || {
        black_box(nats_decode::<Varz>(VARZ).ok());
        black_box(nats_decode::<Connz>(CONNZ).ok());
    });
    println!(
        "NATS: /varz + /connz (3 clients) decode {:.1} µs",
        nats.as_secs_f64() * 1e6
    );
    collectors_cpu(Duration::from_secs(20));
}
