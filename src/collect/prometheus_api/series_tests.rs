//! Pages rebuilt from Prometheus' series: a stub's page as Prometheus stored it matches the
//! page the stub served directly (families, types, help, series), with and without metadata.

use super::*;
use crate::collect::prometheus_api::decode::decode_vector;
use crate::metrics::exposition::decode;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/prometheus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn target() -> LabelSet {
    [("instance", "127.0.0.1:21501"), ("job", "auth-service")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Family name, kind, help and the label sets (with bucket bounds) of each series.
fn shape(page: &Page, with_help: bool) -> Vec<(String, Kind, String, Vec<String>)> {
    page.families
        .iter()
        .map(|f| {
            let series = f
                .series
                .iter()
                .map(|s| match &s.value {
                    Value::Scalar(_) => format!("{:?}", s.labels),
                    Value::Histogram(h) => {
                        let les: Vec<f64> = h.buckets.iter().map(|b| b.0).collect();
                        format!(
                            "{:?} le={les:?} {:?}",
                            s.labels,
                            (h.sum.is_some(), h.count.is_some())
                        )
                    }
                    Value::Summary {
                        quantiles,
                        sum,
                        count,
                    } => {
                        let qs: Vec<f64> = quantiles.iter().map(|q| q.0).collect();
                        format!(
                            "{:?} q={qs:?} {:?}",
                            s.labels,
                            (sum.is_some(), count.is_some())
                        )
                    }
                })
                .collect();
            let help = if with_help {
                f.help.clone()
            } else {
                String::new()
            };
            (f.name.clone(), f.kind, help, series)
        })
        .collect()
}

#[test]
fn the_stored_page_is_the_served_page() {
    let samples =
        decode_vector(200, &fixture("api_v1_query_all_series_stub.json")).expect("series");
    let meta =
        decode_metadata(200, &fixture("api_v1_targets_metadata_stub.json")).expect("metadata");
    assert_eq!(meta.len(), 24);
    assert_eq!(
        meta.get("grpc_server_handled_total").map(|m| m.kind),
        Some(Kind::Counter)
    );
    let page = page_from_samples(&samples, &target(), &meta);
    let direct = decode(&String::from_utf8(fixture("stub_auth_metrics.txt")).expect("utf-8"));
    assert_eq!(shape(&page, true), shape(&direct, true));
    // Every sample but Prometheus' own five (up, scrape_*) was used.
    assert_eq!(page.samples, samples.len() - 5);
    assert_eq!(page.samples, direct.samples);
    // Families can be found by name as on a scraped page.
    let h = page
        .family("grpc_server_handling_seconds")
        .expect("the gRPC histogram");
    assert_eq!(h.kind, Kind::Histogram);
}

#[test]
fn without_metadata_the_labels_tell() {
    let samples =
        decode_vector(200, &fixture("api_v1_query_all_series_stub.json")).expect("series");
    let page = page_from_samples(&samples, &target(), &Metadata::new());
    let direct = decode(&String::from_utf8(fixture("stub_auth_metrics.txt")).expect("utf-8"));
    let kinds = |p: &Page| -> Vec<(String, Kind)> {
        p.families
            .iter()
            .map(|f| {
                let k = match f.kind {
                    Kind::Counter | Kind::Gauge => Kind::Untyped,
                    k => k,
                };
                (f.name.clone(), k)
            })
            .collect()
    };
    // Histograms and summaries are recognised; counters and gauges are untyped.
    assert_eq!(kinds(&page), kinds(&direct));
    assert_eq!(shape(&page, false), {
        let mut d = shape(&direct, false);
        for f in &mut d {
            if matches!(f.1, Kind::Counter | Kind::Gauge) {
                f.1 = Kind::Untyped;
            }
        }
        d
    });
}

#[test]
fn odd_series_are_skipped_not_fatal() {
    let sample = |pairs: &[(&str, &str)], value: f64| Sample {
        labels: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        at_unix: 1.0,
        value,
    };
    let samples = vec![
        sample(&[("le", "0.1")], 1.0),                               // no name
        sample(&[("__name__", "x_bucket"), ("le", "abc")], 1.0),     // bad bound
        sample(&[("__name__", "x_bucket"), ("le", "+Inf")], 3.0),    // fine
        sample(&[("__name__", "x_count")], 3.0),                     // fine
        sample(&[("__name__", "s"), ("quantile", "x")], 1.0),        // bad quantile
        sample(&[("__name__", "up"), ("job", "auth-service")], 1.0), // Prometheus' own
        sample(&[("__name__", "g"), ("job", "other")], 2.0),         // a job label of its own stays
    ];
    let page = page_from_samples(&samples, &target(), &Metadata::new());
    assert_eq!(page.samples, 3);
    let names: Vec<&str> = page.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["g", "x"]);
    let x = page.family("x").expect("x");
    assert_eq!(
        x.series[0].value,
        Value::Histogram(Histogram {
            buckets: vec![(f64::INFINITY, 3.0)],
            sum: None,
            count: Some(3.0)
        })
    );
    let g = page.family("g").expect("g");
    assert_eq!(
        g.series[0].labels,
        vec![("job".to_string(), "other".to_string())]
    );
    assert!(decode_metadata(200, br#"{"status":"success","data":{}}"#).is_err());
}
