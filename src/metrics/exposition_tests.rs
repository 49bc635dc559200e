//! Decoding real exposition (node-exporter, Prometheus itself) and the malformed fixtures.

use super::*;

const NODE: &str = include_str!("../../tests/fixtures/prometheus/node_exporter_metrics.txt");
const PROM: &str = include_str!("../../tests/fixtures/prometheus/prometheus_self_metrics.txt");

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/prometheus/malformed/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn scalar(page: &Page, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = page.family(name)?;
    family.series.iter().find_map(|s| {
        let matches = labels.len() == s.labels.len()
            && labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(a, b)| a == k && b == v));
        match (&s.value, matches) {
            (Value::Scalar(x), true) => Some(*x),
            _ => None,
        }
    })
}

#[test]
fn node_exporter_page_reads_whole() {
    let page = decode(NODE);
    assert_eq!(page.dropped, 0, "{:?}", page.first_bad);
    // 507 sample lines in the capture (grep -v '^#' | grep -c .).
    assert_eq!(page.samples, 507);
    let cpu = page.family("node_cpu_seconds_total").expect("cpu family");
    assert_eq!(cpu.kind, Kind::Counter);
    assert_eq!(cpu.series.len(), 16);
    assert_eq!(cpu.help, "Seconds the CPUs spent in each mode.");
    assert_eq!(
        scalar(
            &page,
            "node_cpu_seconds_total",
            &[("cpu", "0"), ("mode", "idle")]
        ),
        Some(243.05)
    );
    assert_eq!(scalar(&page, "go_goroutines", &[]), Some(7.0));
    assert_eq!(
        scalar(&page, "process_resident_memory_bytes", &[]),
        Some(1.5446016e7)
    );
    let gc = page.family("go_gc_duration_seconds").expect("gc summary");
    assert_eq!(gc.kind, Kind::Summary);
    match &gc.series[0].value {
        Value::Summary {
            quantiles,
            sum,
            count,
        } => {
            assert_eq!(quantiles.len(), 5);
            assert_eq!(quantiles[4].0, 1.0);
            assert_eq!((*sum, *count), (Some(0.0), Some(0.0)));
        }
        other => panic!("not a summary: {other:?}"),
    }
    // _sum and _count were attached, not left as families of their own.
    assert!(page.family("go_gc_duration_seconds_sum").is_none());
    let names: Vec<&str> = page.families.iter().map(|f| f.name.as_str()).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
}

#[test]
fn prometheus_histograms_keep_buckets_sum_and_count() {
    let page = decode(PROM);
    assert_eq!(page.dropped, 0, "{:?}", page.first_bad);
    let h = page
        .family("prometheus_http_request_duration_seconds")
        .expect("histogram family");
    assert_eq!(h.kind, Kind::Histogram);
    assert!(h.help.starts_with("Histogram of latencies"));
    let series = h
        .series
        .iter()
        .find(|s| s.labels == [("handler".to_string(), "/metrics".to_string())])
        .expect("the /metrics handler series");
    let Value::Histogram(hist) = &series.value else {
        panic!("not a histogram");
    };
    let les: Vec<f64> = hist.buckets.iter().map(|b| b.0).collect();
    assert_eq!(
        les,
        [
            0.1,
            0.2,
            0.4,
            1.0,
            3.0,
            8.0,
            20.0,
            60.0,
            120.0,
            f64::INFINITY
        ]
    );
    assert_eq!(hist.sum, Some(0.01757412));
    assert_eq!(hist.count, Some(10.0));
}

#[test]
fn malformed_pages_name_their_first_bad_line() {
    // (file, dropped, first bad line number, reason)
    let cases = [
        ("bad_float.txt", 4, 3, "bad value"),
        ("bad_labels_and_names.txt", 4, 1, "bad label set"),
        ("truncated_mid_line.txt", 1, 5, "bad label set"),
    ];
    for (file, dropped, line, reason) in cases {
        let page = decode(&fixture(file));
        assert_eq!(page.dropped, dropped, "{file}");
        let bad = page.first_bad.as_ref().expect(file);
        assert_eq!(bad.number, Some(line), "{file}");
        assert_eq!(bad.reason, reason, "{file}");
    }
    // The good lines around the bad ones still count.
    let page = decode(&fixture("bad_float.txt"));
    assert_eq!(
        scalar(&page, "anychat_messages_total", &[("room", "ok")]),
        Some(42.0)
    );
    let page = decode(&fixture("truncated_mid_line.txt"));
    assert_eq!(page.samples, 2);
}

#[test]
fn pages_prometheus_accepts_read_whole() {
    let page = decode(&fixture("duplicate_help_type.txt"));
    assert_eq!((page.samples, page.dropped), (2, 0));
    assert_eq!(
        page.family("anychat_ws_connections")
            .map(|f| f.series.len()),
        Some(2)
    );
    let page = decode(&fixture("non_contiguous_family.txt"));
    assert_eq!(page.family("anychat_up").map(|f| f.series.len()), Some(2));
    let page = decode(&fixture("empty_body.txt"));
    assert_eq!(page, Page::default());
    // CRLF: Prometheus refuses it; the values are unambiguous, so we read them.
    let page = decode(&fixture("crlf_line_endings.txt"));
    assert_eq!(
        (page.dropped, scalar(&page, "a_metric", &[])),
        (0, Some(1.0))
    );
}

#[test]
fn special_values_survive() {
    let page = decode(&fixture("special_values_valid.txt"));
    assert_eq!(page.dropped, 0, "{:?}", page.first_bad);
    let get = |pct| scalar(&page, "anychat_latency_seconds", &[("pct", pct)]);
    assert!(get("0.5").is_some_and(f64::is_nan));
    assert_eq!(get("0.99"), Some(f64::INFINITY));
    assert_eq!(get("0.999"), Some(f64::NEG_INFINITY));
    assert_eq!(get("1"), Some(1.5e-7));
    assert_eq!(
        scalar(&page, "untyped_metric_without_help", &[]),
        Some(17.0)
    );
    assert_eq!(
        page.family("untyped_metric_without_help").map(|f| f.kind),
        Some(Kind::Untyped)
    );
    let h = page
        .family("anychat_requests_bucket_example")
        .expect("histogram");
    let Value::Histogram(hist) = &h.series[0].value else {
        panic!("not a histogram");
    };
    assert_eq!(hist.buckets, [(0.1, 3.0), (1.0, 7.0), (f64::INFINITY, 9.0)]);
    assert_eq!((hist.sum, hist.count), (Some(4.2), Some(9.0)));
}

#[test]
fn lines_the_parser_skips_are_counted_too() {
    // Valid text format, but prometheus-parse's `\w+` name pattern skips names with colons
    // and its label pattern skips an empty label set.
    let page = decode("job:rate5m 1\nempty_labels{} 2\nfine 3\n");
    assert_eq!((page.samples, page.dropped), (1, 2));
    let bad = page.first_bad.expect("named");
    assert_eq!(bad.number, None);
    assert!(bad.reason.contains("2 line(s) skipped"), "{}", bad.reason);
}
