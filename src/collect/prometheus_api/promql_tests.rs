//! The expression's text for the default and custom names, quoting, and the assembly of
//! instant and range answers into the six values.

use std::time::Duration;

use super::*;

fn labels(part: &str, instance: &str, job: &str) -> LabelSet {
    [(PART_LABEL, part), ("instance", instance), ("job", job)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sample(part: &str, instance: &str, value: f64) -> Sample {
    Sample {
        labels: labels(part, instance, "j"),
        at_unix: 1000.0,
        value,
    }
}

#[test]
fn parts_round_trip_through_tags() {
    let all = [
        Part::Requests(0),
        Part::Requests(12),
        Part::Errors(1),
        Part::Quantile(0),
        Part::Quantile(2),
        Part::Goroutines,
        Part::Rss,
        Part::Cpu,
    ];
    for p in all {
        assert_eq!(Part::parse(&p.tag()), Some(p));
    }
    for bad in ["", "req", "errx", "q3", "q-1", "cpu2", "REQ0"] {
        assert_eq!(Part::parse(bad), None, "{bad}");
    }
}

#[test]
fn the_default_expression() {
    let w = Windows::new(Some(Duration::from_secs(1)), Duration::from_secs(60));
    assert_eq!(w.rate, Duration::from_secs(10));
    assert_eq!(w.quantile, Duration::from_secs(60));
    let q = watched_query(
        &WatchNames::default(),
        &["127.0.0.1:2112", "host-b:9000"],
        &w,
    );
    let scope = r#"instance=~"127\\.0\\.0\\.1:2112|host-b:9000""#;
    // Requests of the first family, all codes.
    assert!(q.contains(&format!(
        r#"label_replace(sum by (instance, job) (irate({{__name__="grpc_server_handled_total",{scope}}}[10000ms])), "anychat_part", "req0", "", "")"#
    )), "{q}");
    // Failures of the second family: any of the three code labels, each series once.
    assert!(q.contains(&format!(
        r#"sum by (instance, job) (irate({{__name__="http_requests_total",{scope},grpc_code!="",grpc_code!="OK"}}[10000ms]) or irate({{__name__="http_requests_total",{scope},code=~"5.*"}}[10000ms]) or irate({{__name__="http_requests_total",{scope},status=~"5.*"}}[10000ms]))"#
    )), "{q}");
    // p95 from the first histogram present.
    assert!(q.contains(&format!(
        r#"label_replace(histogram_quantile(0.95, sum by (instance, job, le) (rate({{__name__="http_request_duration_seconds_bucket",{scope}}}[60000ms]))) or histogram_quantile(0.95, sum by (instance, job, le) (rate({{__name__="grpc_server_handling_seconds_bucket",{scope}}}[60000ms]))), "anychat_part", "q1", "", "")"#
    )), "{q}");
    assert!(q.contains(&format!(
        r#"label_replace(100 * sum by (instance, job) (irate({{__name__="process_cpu_seconds_total",{scope}}}[10000ms])), "anychat_part", "cpu", "", "")"#
    )), "{q}");
    for tag in [
        "req0", "req1", "err0", "err1", "q0", "q1", "q2", "gor", "rss", "cpu",
    ] {
        assert_eq!(q.matches(&format!("\"{tag}\"")).count(), 1, "{tag}");
    }
}

#[test]
fn custom_names_are_quoted() {
    let names = WatchNames {
        requests: vec!["my\"odd\\family".into()],
        grpc_code_labels: vec![],
        http_code_labels: vec![],
        latency: vec![],
        ..WatchNames::default()
    };
    let w = Windows::new(None, Duration::from_secs(30));
    // Unknown interval: a minute, and the quantile window never shorter.
    assert_eq!(w.rate, Duration::from_secs(60));
    assert_eq!(w.quantile, Duration::from_secs(60));
    let q = watched_query(&names, &["a:1"], &w);
    assert!(
        q.contains(r#"{__name__="my\"odd\\family",instance=~"a:1"}"#),
        "{q}"
    );
    // No error labels, no histograms: those parts are not asked.
    assert!(!q.contains("\"err0\"") && !q.contains("\"q1\""), "{q}");
    assert_eq!(quote("a\nb"), r#""a\nb""#);
    assert_eq!(any_of(&["[::1]:9090", "a.b+c"]), r"\[::1\]:9090|a\.b\+c");
}

#[test]
fn values_combine_like_the_direct_scrape() {
    let now = parts_now(&[
        sample("req0", "a:1", 20.0),
        sample("req1", "a:1", 10.0),
        sample("err0", "a:1", 1.5),
        sample("err1", "a:1", 1.5),
        sample("q0", "a:1", 0.01),
        sample("q1", "a:1", 0.05),
        sample("q2", "a:1", f64::NAN),
        sample("gor", "a:1", 14.0),
        sample("rss", "a:1", 2e7),
        sample("cpu", "a:1", 3.5),
        // Another instance with no traffic at all.
        sample("req0", "b:2", 0.0),
        sample("gor", "b:2", 9.0),
        // Not ours.
        sample("bogus", "a:1", 1.0),
    ]);
    assert_eq!(now.len(), 2);
    let a = combine(&now[&("a:1".to_owned(), "j".to_owned())]);
    assert_eq!(
        a.values,
        [
            Some(30.0),
            Some(10.0),
            Some(0.05),
            Some(14.0),
            Some(2e7),
            Some(3.5)
        ]
    );
    assert_eq!(a.quantiles, [Some(0.01), Some(0.05), None]);
    let b = combine(&now[&("b:2".to_owned(), "j".to_owned())]);
    // No requests: the error rate is unknown, not 0 %.
    assert_eq!(b.values, [Some(0.0), None, None, Some(9.0), None, None]);
    // No request series at all: the rate is unknown too; errors without requests are ignored.
    let lone: Parts = [(Part::Errors(0), 2.0)].into_iter().collect();
    assert_eq!(combine(&lone).values[..2], [None, None]);
}

#[test]
fn history_lands_on_the_grid() {
    let start = 1000.0;
    let step = Duration::from_secs(2);
    let series = vec![
        RangeSeries {
            labels: labels("gor", "a:1", "j"),
            // Steps 0, 1 and 3; 1010 is past a 5-step grid, 1003 is off it.
            points: vec![
                (1000.0, 9.0),
                (1002.0, 10.0),
                (1003.0, 99.0),
                (1006.0, 11.0),
                (1010.0, 12.0),
            ],
        },
        RangeSeries {
            labels: labels("req0", "a:1", "j"),
            points: vec![(1008.0, 50.0)],
        },
        RangeSeries {
            labels: labels("nope", "a:1", "j"),
            points: vec![(1000.0, 1.0)],
        },
    ];
    let h = parts_history(&series, start, step, 5);
    let rows = &h[&("a:1".to_owned(), "j".to_owned())];
    assert_eq!(rows.len(), 5);
    let gor: Vec<Option<f64>> = rows
        .iter()
        .map(|r| r.get(&Part::Goroutines).copied())
        .collect();
    assert_eq!(gor, [Some(9.0), Some(10.0), None, Some(11.0), None]);
    assert_eq!(rows[4].get(&Part::Requests(0)), Some(&50.0));
    assert!(parts_history(&series, start, Duration::ZERO, 5).is_empty());
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/prometheus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn key(instance: &str, job: &str) -> InstanceJob {
    (instance.to_owned(), job.to_owned())
}

#[test]
fn our_expression_is_what_was_sent_to_prometheus() {
    // The captured answers below came from this very text.
    let w = Windows::new(Some(Duration::from_secs(1)), Duration::from_secs(60));
    let q = watched_query(
        &WatchNames::default(),
        &["127.0.0.1:21501", "127.0.0.1:21502"],
        &w,
    );
    let sent = String::from_utf8(fixture("watched_query.promql")).expect("utf-8");
    assert_eq!(q, sent.trim_end());
}

#[test]
fn a_captured_answer_combines() {
    let samples = super::super::decode::decode_vector(200, &fixture("api_v1_query_watched.json"))
        .expect("decodes");
    let parts = parts_now(&samples);
    assert_eq!(parts.len(), 2);
    // auth-service: 50 gRPC calls a second, 5 of them failed; no HTTP family at all.
    let auth = combine(&parts[&key("127.0.0.1:21501", "auth-service")]);
    assert_eq!(auth.values[0], Some(50.0));
    assert_eq!(auth.values[1], Some(10.0));
    assert_eq!(auth.values[3], Some(13.0));
    assert_eq!(auth.values[4], Some(9_383_936.0));
    assert!(auth.values[5].is_some_and(|c| (c - 2.2171).abs() < 1e-3));
    assert!(auth.quantiles[0] < auth.quantiles[1] && auth.quantiles[1] < auth.quantiles[2]);
    assert_eq!(auth.values[2], auth.quantiles[1]);
    // The stub named gateway: HTTP only (gRPC families present, all zero); 1 of 50 failed.
    let gateway = combine(&parts[&key("127.0.0.1:21502", "anychat")]);
    assert_eq!(gateway.values[0], Some(50.0));
    assert_eq!(gateway.values[1], Some(2.0));
}

#[test]
fn a_captured_range_lands_on_its_grid() {
    let series =
        super::super::decode::decode_matrix(200, &fixture("api_v1_query_range_watched.json"))
            .expect("decodes");
    let h = parts_history(&series, 1_796_166_543.0, Duration::from_secs(2), 11);
    let auth = &h[&key("127.0.0.1:21501", "auth-service")];
    assert_eq!(auth.len(), 11);
    let rows: Vec<WatchedValues> = auth.iter().map(combine).collect();
    // Every step has every value, and the rate stays near 50/s.
    for r in &rows {
        assert!(r.values.iter().all(Option::is_some), "{r:?}");
        assert!(
            r.values[0].is_some_and(|v| (40.0..=60.0).contains(&v)),
            "{r:?}"
        );
    }
    // The same answer on a grid shifted by half a step lands nowhere.
    let off = parts_history(&series, 1_796_166_544.0, Duration::from_secs(2), 11);
    assert!(off.values().flatten().all(Parts::is_empty));
}
