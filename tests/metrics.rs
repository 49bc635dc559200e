//! Scraping real endpoints: the bundled stub's /metrics (and its zap lines), a refused port,
//! a JSON page, an oversized page, a hung server and a malformed page served over HTTP.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anychat_top::collect::scrape::{Endpoint, ScrapeError, ScrapeFact, run_scraper, scrape_once};
use anychat_top::collect::{ProbeConfig, http_client};
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::state::metrics::history::Watched;
use anychat_top::state::metrics::logs::LogMetrics;
use anychat_top::state::metrics::{MetricsConfig, MetricsSource, MetricsState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use support::process::{ChildGuard, free_low_port, wait_for_port};

const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");
const SECOND: Duration = Duration::from_secs(1);

/// A stub impersonating `name` with its metrics on `metrics` (and more `args`).
async fn stub(name: &str, metrics: u16, args: &[&str]) -> ChildGuard {
    let port = metrics.to_string();
    let mut cmd = Command::new(STUB);
    cmd.args(["--name", name, "--metrics-port", &port, "--quiet-health"])
        .args(args);
    let guard = ChildGuard::spawn(&mut cmd);
    assert!(
        wait_for_port(metrics, 10 * SECOND).await,
        "stub on {metrics}"
    );
    guard
}

async fn once(port: u16, path: &str, cap: usize, timeout: Duration) -> ScrapeFact {
    let client = http_client(&ProbeConfig { timeout });
    let mut endpoint = Endpoint::new("127.0.0.1", port);
    endpoint.path = path.to_owned();
    scrape_once(&client, &endpoint, timeout, cap).await
}

#[tokio::test]
async fn scrapes_the_stub_and_derives_rates() {
    let port = free_low_port();
    let _stub = stub("auth-service", port, &["--log-interval", "20ms"]).await;
    let (tx, mut rx) = mpsc::channel(8);
    let endpoint = Endpoint::new("127.0.0.1", port);
    // The same endpoint twice: scraped once per interval all the same.
    let endpoints = vec![endpoint.clone(), endpoint.clone()];
    let task = tokio::spawn(run_scraper(
        endpoints,
        Duration::from_millis(300),
        SECOND,
        8 << 20,
        tx,
    ));
    // A state on a one-service plan whose metrics endpoint is this port.
    let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
    let auth = plan.entry_named("auth-service").expect("auth");
    let mut state = MetricsState::new(&plan, MetricsConfig::default());
    let theirs = state
        .claims
        .iter()
        .find(|(_, e)| e.contains(&auth))
        .map(|(k, _)| k.clone())
        .expect("auth endpoint");
    let mut facts = Vec::new();
    while facts.len() < 4 {
        let fact = tokio::time::timeout(5 * SECOND, rx.recv())
            .await
            .expect("a scrape within 5 s")
            .expect("scraper alive");
        assert_eq!(fact.endpoint, endpoint);
        facts.push(fact);
    }
    // One per interval, not two: the duplicate endpoint was scraped once.
    let spread = facts[3].at - facts[0].at;
    assert!(spread >= Duration::from_millis(800), "{spread:?}");
    for mut fact in facts {
        let page = fact.outcome.as_ref().expect("a page");
        assert_eq!(page.dropped, 0, "{:?}", page.first_bad);
        assert!(page.family("go_goroutines").is_some());
        assert!(page.family("process_resident_memory_bytes").is_some());
        fact.endpoint = theirs.clone();
        state.apply(&fact, Instant::now());
    }
    let m = state.service(auth).expect("auth");
    assert_eq!(m.source(), MetricsSource::Endpoint);
    // ~50 simulated calls a second, all gRPC for auth-service.
    let rate = m.current(Watched::RequestRate).expect("a rate");
    assert!(rate > 5.0 && rate < 200.0, "{rate}");
    assert!(m.current(Watched::Rss).is_some_and(|r| r > 1e6));
    assert!(m.current(Watched::Goroutines).is_some_and(|g| g >= 9.0));
    let p95 = m
        .endpoint
        .as_ref()
        .and_then(|e| e.quantiles[1])
        .expect("p95 from the gRPC histogram");
    assert!(p95 > 0.0 && p95 < 0.1, "{p95}");
    // Closing the channel ends the collector.
    drop(rx);
    tokio::time::timeout(5 * SECOND, task)
        .await
        .expect("scraper ends when its channel closes")
        .expect("no panic");
}

#[tokio::test]
async fn failures_are_values() {
    // Nothing listens.
    let refused = once(free_low_port(), "/metrics", 1 << 20, SECOND).await;
    assert!(
        matches!(&refused.outcome, Err(ScrapeError::Connect(e)) if e.contains("refused")),
        "{:?}",
        refused.outcome
    );
    let port = free_low_port();
    let http = free_low_port();
    let _stub = stub(
        "user-service",
        port,
        &["--http-port", &http.to_string(), "--log-interval", "0s"],
    )
    .await;
    // The health endpoint is JSON, not the text format.
    let json = once(http, "/health", 1 << 20, SECOND).await;
    assert!(
        matches!(&json.outcome, Err(ScrapeError::ContentType(t)) if t.starts_with("application/json")),
        "{:?}",
        json.outcome
    );
    // A stub page is a few KiB: a 1 KiB cap stops reading.
    let big = once(port, "/metrics", 1024, SECOND).await;
    assert_eq!(big.outcome.err(), Some(ScrapeError::TooLarge { cap: 1024 }));
    // A 404.
    let missing = once(port, "/nope", 1 << 20, SECOND).await;
    assert_eq!(missing.outcome.err(), Some(ScrapeError::Status(404)));
    // A server that accepts and never answers.
    let hung_port = free_low_port();
    let _hung = stub(
        "hung-service",
        hung_port,
        &["--hang", "--log-interval", "0s"],
    )
    .await;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let hung = once(hung_port, "/metrics", 1 << 20, timeout).await;
    assert_eq!(hung.outcome.err(), Some(ScrapeError::Timeout(timeout)));
    assert!(started.elapsed() < timeout + SECOND);
}

/// Serves `body` as text/plain to every connection (one request each).
async fn serve_text(body: &'static str) -> u16 {
    let port = free_low_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        }
    });
    port
}

#[tokio::test]
async fn a_malformed_page_over_http_names_its_bad_line() {
    let body = include_str!("fixtures/prometheus/malformed/bad_float.txt");
    let port = serve_text(body).await;
    let fact = once(port, "/metrics", 1 << 20, SECOND).await;
    let page = fact.outcome.expect("a page, with its bad lines counted");
    assert_eq!((page.samples, page.dropped), (1, 4));
    assert_eq!(page.first_bad.and_then(|b| b.number), Some(3));
    let node = include_str!("fixtures/prometheus/node_exporter_metrics.txt");
    let port = serve_text(node).await;
    let page = once(port, "/metrics", 1 << 20, SECOND)
        .await
        .outcome
        .expect("page");
    assert_eq!((page.samples, page.dropped), (507, 0));
}

/// A child killed and reaped on drop, whatever happens in the test.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_stubs_request_lines_feed_log_metrics() {
    let metrics = free_low_port();
    let grpc = free_low_port();
    let http = free_low_port();
    let mut gateway = Killed(
        Command::new(STUB)
            .args([
                "--name",
                "gateway-service",
                "--quiet-health",
                "--log-interval",
                "10ms",
            ])
            .args([
                "--http-port",
                &http.to_string(),
                "--metrics-port",
                &metrics.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the stub"),
    );
    let mut auth = Killed(
        Command::new(STUB)
            .args([
                "--name",
                "auth-service",
                "--quiet-health",
                "--log-interval",
                "10ms",
            ])
            .args(["--grpc-port", &grpc.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the stub"),
    );
    let read = |child: &mut std::process::Child| {
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            use std::io::BufRead;
            std::io::BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .take(150)
                .collect::<Vec<String>>()
        })
    };
    let (gw_lines, auth_lines) = (read(&mut gateway.0), read(&mut auth.0));
    let gw_lines = gw_lines.join().expect("reader");
    let auth_lines = auth_lines.join().expect("reader");
    drop((gateway, auth));
    let t0 = Instant::now();
    let derive = |lines: &[String]| {
        let mut m = LogMetrics::default();
        for line in lines {
            m.observe(line, t0);
        }
        m.derive(t0 + 10 * SECOND, 60 * SECOND);
        m
    };
    let gw = derive(&gw_lines);
    assert_eq!(gw.malformed, 0);
    assert!(gw.requests_total > 100, "{}", gw.requests_total);
    assert!(
        gw.by_method.iter().all(|m| m.method.contains(" /api/v1/")),
        "HTTP only"
    );
    assert!(gw.total.quantiles[1].is_some());
    let auth = derive(&auth_lines);
    assert_eq!(auth.malformed, 0);
    assert!(auth.requests_total > 100);
    assert!(
        auth.by_method
            .iter()
            .all(|m| m.method.starts_with("/anychat.auth.v1.AuthService/"))
    );
    assert!(auth.total.error_pct.is_some_and(|e| e < 50.0));
}
