//! Prometheus as the source: time to decode and use its answers (targets of a big server, the
//! watched values of 13 services now and over 120 steps, the explored service's 2,000 series),
//! then live rounds against a real Prometheus scraping 13 stubs: wall time per round and this
//! process's CPU. Run with `cargo bench --bench prometheus` (`-- --quick`: 10 s live).

use std::fmt::Write as _;
use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anychat_top::collect::prometheus_api::decode::{
    Health, decode_matrix, decode_targets, decode_vector,
};
use anychat_top::collect::prometheus_api::matching::{MatchedBy, PlanMatcher};
use anychat_top::collect::prometheus_api::promql::{
    Windows, combine, parts_history, parts_now, watched_query,
};
use anychat_top::collect::prometheus_api::series::{Metadata, page_from_samples};
use anychat_top::collect::prometheus_api::{
    Poller, PromConfig, PromFact, PromRound, PromValues, TargetSeen,
};
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::plan::{EntryKind, Plan};
use anychat_top::state::metrics::explorer::SeriesStore;
use anychat_top::state::metrics::{MetricsConfig, MetricsState, WatchNames};

/// Median of repeated runs of `f` for at least `budget` (and 5 runs).
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

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// `/api/v1/targets` of a server with `n` targets, AnyChat's 13 among them.
fn targets_json(plan: &Plan, n: usize) -> String {
    let names: Vec<&str> = plan.entries.iter().map(|e| e.name.as_str()).collect();
    let mut out = String::from(r#"{"status":"success","data":{"activeTargets":["#);
    for i in 0..n {
        let job = if i < names.len() {
            names[i].to_owned()
        } else {
            format!("other-{i}")
        };
        let instance = format!("10.0.{}.{}:2112", i / 250, i % 250);
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"discoveredLabels":{{"__address__":"{instance}","job":"{job}"}},"labels":{{"instance":"{instance}","job":"{job}"}},"scrapePool":"{job}","scrapeUrl":"http://{instance}/metrics","globalUrl":"http://{instance}/metrics","lastError":"","lastScrape":"2026-11-25T17:45:06.742079686Z","lastScrapeDuration":0.008635837,"health":"up","scrapeInterval":"15s","scrapeTimeout":"10s"}}"#
        );
    }
    out.push_str(r#"],"droppedTargets":[]}}"#);
    out
}

const TAGS: [&str; 10] = [
    "req0", "req1", "err0", "err1", "q0", "q1", "q2", "gor", "rss", "cpu",
];

/// The watched answer for `instances` instances: one point each (`steps` = None) or a matrix.
fn watched_json(instances: usize, steps: Option<usize>) -> String {
    let kind = if steps.is_some() { "matrix" } else { "vector" };
    let mut out = format!(r#"{{"status":"success","data":{{"resultType":"{kind}","result":["#);
    let mut first = true;
    for i in 0..instances {
        for (k, tag) in TAGS.iter().enumerate() {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(
                out,
                r#"{{"metric":{{"anychat_part":"{tag}","instance":"10.0.0.{i}:2112","job":"svc-{i}"}},"#
            );
            match steps {
                None => {
                    let _ = write!(out, r#""value":[1796166560.5,"{}.25"]}}"#, k + i);
                }
                Some(n) => {
                    out.push_str(r#""values":["#);
                    for s in 0..n {
                        let sep = if s > 0 { "," } else { "" };
                        let _ = write!(out, r#"{sep}[{},"{}.5"]"#, 1_796_166_000 + 2 * s, k + s);
                    }
                    out.push_str("]}");
                }
            }
        }
    }
    out.push_str("]}}");
    out
}

/// One target's series: 2,000 of them (counters, histograms of 12 buckets), as Prometheus
/// answers `{instance=…,job=…}`.
fn explored_json() -> String {
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
    let mut n = 0;
    let mut push = |name: &str, extra: &str, v: usize| {
        if n > 0 {
            out.push(',');
        }
        n += 1;
        let _ = write!(
            out,
            r#"{{"metric":{{"__name__":"{name}","instance":"10.0.0.1:2112","job":"auth-service"{extra}}},"value":[1796166560.5,"{v}"]}}"#
        );
    };
    for m in 0..100 {
        for code in ["OK", "NotFound", "Internal", "Unavailable"] {
            push(
                "grpc_server_handled_total",
                &format!(r#","grpc_method":"M{m}","grpc_code":"{code}""#),
                m,
            );
        }
        for le in [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
        ] {
            push(
                "grpc_server_handling_seconds_bucket",
                &format!(r#","grpc_method":"M{m}","le":"{le}""#),
                m,
            );
        }
        push(
            "grpc_server_handling_seconds_sum",
            &format!(r#","grpc_method":"M{m}""#),
            m,
        );
        push(
            "grpc_server_handling_seconds_count",
            &format!(r#","grpc_method":"M{m}""#),
            m,
        );
        for k in 0..2 {
            push("anychat_cache_items", &format!(r#","cache":"c{m}_{k}""#), m);
        }
    }
    out.push_str("]}}");
    out
}

fn synthetic(plan: &Plan) {
    let budget = Duration::from_secs(1);
    let matcher = PlanMatcher::new(plan);
    for n in [13, 500] {
        let body = targets_json(plan, n);
        let decode = median(budget, || {
            black_box(decode_targets(200, body.as_bytes()).ok());
        });
        let targets = decode_targets(200, body.as_bytes()).unwrap_or_default();
        let matching = median(budget, || {
            black_box(matcher.match_all(&targets));
        });
        println!(
            "/api/v1/targets, {n} targets ({} KiB): decode {}, match to the plan {}",
            body.len() / 1024,
            ms(decode),
            ms(matching)
        );
    }
    let instances: Vec<String> = (0..13).map(|i| format!("10.0.0.{i}:2112")).collect();
    let refs: Vec<&str> = instances.iter().map(String::as_str).collect();
    let w = Windows::new(Some(Duration::from_secs(15)), Duration::from_secs(60));
    let query = watched_query(&WatchNames::default(), &refs, &w);
    println!("watched query for 13 instances: {} bytes", query.len());

    let now = watched_json(13, None);
    let t = median(budget, || {
        let samples = decode_vector(200, now.as_bytes()).unwrap_or_default();
        black_box(parts_now(&samples).values().map(combine).count());
    });
    println!(
        "values now, 13 services x {} parts ({} KiB): decode + combine {}",
        TAGS.len(),
        now.len() / 1024,
        ms(t)
    );
    let range = watched_json(13, Some(120));
    let t = median(budget, || {
        let series = decode_matrix(200, range.as_bytes()).unwrap_or_default();
        let h = parts_history(&series, 1_796_166_000.0, Duration::from_secs(2), 120);
        black_box(
            h.values()
                .map(|rows| rows.iter().map(combine).count())
                .sum::<usize>(),
        );
    });
    println!(
        "history, 13 services x {} parts x 120 steps ({} KiB): decode + grid + combine {}",
        TAGS.len(),
        range.len() / 1024,
        ms(t)
    );
    let series = decode_matrix(200, range.as_bytes()).unwrap_or_default();
    let rows = parts_history(&series, 1_796_166_000.0, Duration::from_secs(2), 120);
    let services: Vec<_> = plan
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == EntryKind::Service)
        .map(|(i, _)| anychat_top::plan::EntryId(i))
        .collect();
    let targets: Vec<TargetSeen> = services
        .iter()
        .enumerate()
        .map(|(i, e)| TargetSeen {
            entry: *e,
            target: None,
            by: MatchedBy::Name,
            instance: format!("10.0.0.{i}:2112"),
            job: format!("svc-{i}"),
            labels: Default::default(),
            health: Health::Up,
            last_error: String::new(),
            last_scrape: None,
            last_scrape_duration: None,
            scrape_interval: None,
        })
        .collect();
    let round = |values| PromRound {
        targets: targets.clone(),
        other_targets: 0,
        values,
        explored: None,
    };
    let history = round(PromValues::History {
        step: Duration::from_secs(2),
        rows: services
            .iter()
            .zip(rows.values())
            .map(|(e, r)| (*e, r.iter().map(combine).collect()))
            .collect(),
    });
    let mut state = MetricsState::new(plan, MetricsConfig::default());
    let fact = PromFact {
        url: "http://x".into(),
        at: Instant::now(),
        took: Duration::ZERO,
        outcome: Ok(history),
    };
    let t = median(budget, || {
        black_box(state.apply_prometheus(&fact, Instant::now()));
    });
    let loaded = state
        .services
        .iter()
        .filter_map(|m| m.prometheus.as_ref())
        .map(|p| p.loaded)
        .sum::<usize>();
    println!(
        "metrics state: applying that history ({loaded} samples) {}",
        ms(t)
    );
    let values = parts_now(&decode_vector(200, now.as_bytes()).unwrap_or_default())
        .values()
        .map(combine)
        .collect::<Vec<_>>();
    let now_round = round(PromValues::Now(
        services.iter().copied().zip(values).collect(),
    ));
    let fact = PromFact {
        url: "http://x".into(),
        at: Instant::now(),
        took: Duration::ZERO,
        outcome: Ok(now_round),
    };
    let t = median(budget, || {
        black_box(state.apply_prometheus(&fact, Instant::now()));
    });
    println!("metrics state: applying one round of values now {}", ms(t));

    let explored = explored_json();
    let meta = Metadata::new();
    let mut store = SeriesStore::default();
    let target = decode_vector(200, explored.as_bytes())
        .ok()
        .and_then(|s| s.first().map(|s| s.labels.clone()))
        .unwrap_or_default();
    let decode = median(budget, || {
        black_box(decode_vector(200, explored.as_bytes()).ok());
    });
    let samples = decode_vector(200, explored.as_bytes()).unwrap_or_default();
    let rebuild = median(budget, || {
        black_box(page_from_samples(&samples, &target, &meta));
    });
    let page = page_from_samples(&samples, &target, &meta);
    let record = median(budget, || {
        store.record(&page, Instant::now(), 2000);
        black_box(store.total);
    });
    println!(
        "explored service, {} series ({} KiB): decode {} (collector, on a blocking thread), page {} (collector), explorer store {} (state)",
        store.total,
        explored.len() / 1024,
        ms(decode),
        ms(rebuild),
        ms(record)
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
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A real Prometheus scraping one stub per AnyChat service every second; rounds every 2 s.
fn live(wall: Duration) {
    let Some(prometheus) = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        println!("live rounds: prometheus is not installed, skipped");
        return;
    };
    let plan = build_plan(&[Source::anychat()], &PlanOptions::default()).expect("plan");
    let names: Vec<String> = plan
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Service)
        .map(|e| e.name.clone())
        .collect();
    let mut next = 24_000 + (std::process::id() % 500) as u16 * 10;
    let mut children = Children(Vec::new());
    let mut jobs = String::new();
    for name in &names {
        let port = low_port(&mut next);
        let spawned = Command::new(env!("CARGO_BIN_EXE_anychat-stub"))
            .args(["--name", name, "--metrics-port", &port.to_string()])
            .args(["--quiet-health", "--log-interval", "20ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(child) = spawned {
            children.0.push(child);
        }
        let _ = write!(
            jobs,
            "  - job_name: {name}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        );
    }
    let port = low_port(&mut next);
    let dir = std::env::temp_dir().join(format!("anychat-bench-prom-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let config = dir.join("prometheus.yml");
    let text =
        format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{jobs}");
    if std::fs::write(&config, text).is_err() {
        println!("live rounds: cannot write {}, skipped", config.display());
        return;
    }
    let server = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match server {
        Ok(child) => children.0.push(child),
        Err(e) => {
            println!("live rounds: prometheus did not start ({e}), skipped");
            return;
        }
    }
    std::thread::sleep(Duration::from_secs(6));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut config = PromConfig::new(&format!("127.0.0.1:{port}"));
        config.interval = Duration::from_secs(2);
        let Ok(mut poller) = Poller::new(config, PlanMatcher::new(&plan)) else {
            return;
        };
        poller.explore(plan.entry_named("auth-service"));
        let mut state = MetricsState::new(&plan, MetricsConfig::default());
        let mut times = Vec::new();
        let mut first = None;
        let before = cpu_time();
        let started = Instant::now();
        while started.elapsed() < wall {
            let t = Instant::now();
            let fact = poller.round().await;
            let took = t.elapsed();
            let matched = fact.outcome.as_ref().map_or(0, |r| r.targets.len());
            state.apply_prometheus(&fact, Instant::now());
            if first.is_none() {
                first = Some((took, matched));
            } else {
                times.push(took);
            }
            tokio::time::sleep(Duration::from_secs(2).saturating_sub(t.elapsed())).await;
        }
        let used = cpu_time() - before;
        times.sort();
        let (first_took, matched) = first.unwrap_or_default();
        println!(
            "live rounds against Prometheus 2.42 ({matched} services matched, explorer on auth): first round (history) {}, then median {} over {} rounds; this process {:.3}% of a core",
            ms(first_took),
            ms(times.get(times.len() / 2).copied().unwrap_or_default()),
            times.len(),
            100.0 * used.as_secs_f64() / started.elapsed().as_secs_f64()
        );
    });
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let plan = build_plan(&[Source::anychat()], &PlanOptions::default()).expect("plan");
    synthetic(&plan);
    let quick = std::env::args().any(|a| a == "--quick");
    live(Duration::from_secs(if quick { 10 } else { 30 }));
}
