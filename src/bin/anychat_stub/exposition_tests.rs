//! Tests of the /metrics text: every line parses, families are declared once before their
//! samples, histograms are cumulative, and a real parser accepts the whole body.

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::go_runtime::simulate;
use crate::registry::Registry;

fn body_after(requests: u64, uptime_secs: f64) -> String {
    let registry = Registry::default();
    for i in 0..requests {
        let path = if i % 3 == 0 {
            "/api/v1/auth/login"
        } else {
            "/health"
        };
        let code = if i % 10 == 0 { 500 } else { 200 };
        registry.http_request(("GET", path), code, i as f64 * 0.0137);
        let key = ("grpc.health.v1.Health", "Check", "unary");
        registry.grpc_started(key);
        registry.grpc_handled(key, "OK");
    }
    let series = registry.scrape();
    let go = simulate(uptime_secs, series.requests_total, 2, 1.8e9);
    let process = ProcessSample::read();
    render(&Snapshot {
        series: &series,
        go: &go,
        process: &process,
        start_time_seconds: 1.79562865264e9,
    })
}

/// `name{labels}` and value of a sample line.
fn split_sample(line: &str) -> (&str, f64) {
    let (series, value) = line.rsplit_once(' ').expect("sample has a value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    (series, value)
}

#[test]
fn every_line_is_help_type_or_a_sample_of_a_declared_family() {
    let body = body_after(50, 120.0);
    assert!(body.ends_with('\n'));
    let mut types: HashMap<&str, &str> = HashMap::new();
    let mut helps = 0;
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(rest.split_once(' ').is_some(), "{line}");
            helps += 1;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert!(["counter", "gauge", "summary", "histogram"].contains(&kind));
            assert!(types.insert(name, kind).is_none(), "second TYPE for {name}");
        } else {
            let (series, value) = split_sample(line);
            assert!(!value.is_nan() && value >= 0.0, "{line}");
            let name = series.split('{').next().unwrap_or_default();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(f)))
                .unwrap_or(name);
            assert!(types.contains_key(family), "sample before its TYPE: {line}");
        }
    }
    assert_eq!(helps, types.len());
    for family in [
        "go_goroutines",
        "go_threads",
        "go_memstats_alloc_bytes",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_start_time_seconds",
        "process_open_fds",
    ] {
        assert!(types.contains_key(family), "{family} missing");
    }
    assert_eq!(types["go_gc_duration_seconds"], "summary");
    assert_eq!(types["http_request_duration_seconds"], "histogram");
    assert_eq!(types["http_requests_total"], "counter");
    assert_eq!(types["grpc_server_handled_total"], "counter");
    assert_eq!(types["grpc_server_started_total"], "counter");
}

#[test]
fn histogram_buckets_are_cumulative_and_inf_equals_count() {
    let body = body_after(90, 30.0);
    let mut buckets: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = split_sample(line);
        if let Some(rest) = series.strip_prefix("http_request_duration_seconds_bucket{") {
            let (labels, le) = rest.split_once(",le=").expect("le is the last label");
            buckets.entry(labels.to_owned()).or_default().push(value);
            if le == "\"+Inf\"}" {
                assert_eq!(Some(&value), buckets[labels].last());
            }
        } else if let Some(rest) = series.strip_prefix("http_request_duration_seconds_count{") {
            counts.insert(rest.trim_end_matches('}').to_owned(), value);
        }
    }
    assert_eq!(buckets.len(), 2, "one histogram per (method, path)");
    for (labels, values) in &buckets {
        assert_eq!(values.len(), BUCKETS_SECONDS.len() + 1);
        assert!(
            values.windows(2).all(|w| w[0] <= w[1]),
            "{labels}: {values:?}"
        );
        assert_eq!(values.last(), counts.get(labels.as_str()), "{labels}");
    }
}

#[test]
fn a_prometheus_parser_accepts_the_body() {
    let body = body_after(20, 5.0);
    let scrape =
        prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    let http_total: f64 = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "http_requests_total")
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            _ => panic!("http_requests_total is a counter"),
        })
        .sum();
    assert_eq!(http_total, 20.0);
}

#[test]
fn floats_are_formatted_like_go() {
    let cases = [
        (38.0, "38"),
        (0.000100791, "0.000100791"),
        (1.4220784e7, "1.4220784e+07"),
        (1.4521e-5, "1.4521e-05"),
        (1.79562865264e9, "1.79562865264e+09"),
        (163746.0, "163746"),
        (1.0e6, "1e+06"),
        (2.5, "2.5"),
        (0.005, "0.005"),
        (f64::INFINITY, "+Inf"),
        (f64::NAN, "NaN"),
        (0.0, "0"),
        (-3.0e-7, "-3e-07"),
    ];
    for (x, want) in cases {
        assert_eq!(go_float(x), want, "{x}");
    }
}
