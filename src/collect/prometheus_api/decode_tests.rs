//! Decoder tests on answers captured from Prometheus 2.42, and on malformed answers.

use std::time::{Duration, UNIX_EPOCH};

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/prometheus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn targets_up_and_down_with_their_errors() {
    let targets = decode_targets(200, &fixture("api_v1_targets.json")).expect("decodes");
    assert_eq!(targets.len(), 4);
    let down = &targets[0];
    assert_eq!(down.job(), "anychat-service-down");
    assert_eq!(down.instance(), "127.0.0.1:2112");
    assert_eq!(down.health, Health::Down);
    assert!(down.last_error.ends_with("connect: connection refused"));
    assert_eq!(down.scrape_url, "http://127.0.0.1:2112/metrics");
    assert_eq!(down.scrape_interval, Some(Duration::from_secs(5)));
    // 2026-11-25T17:45:10.940039733Z
    let at = down.last_scrape.expect("a scrape time");
    let secs = at
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    assert!((secs - 1_795_628_710.940_039_7).abs() < 1e-3, "{secs}");
    assert!(
        down.last_scrape_duration
            .is_some_and(|d| d.as_micros() == 695)
    );
    let up: Vec<&str> = targets
        .iter()
        .filter(|t| t.health == Health::Up)
        .map(|t| t.job())
        .collect();
    assert_eq!(up, ["node", "prometheus"]);
    assert!(
        targets
            .iter()
            .all(|t| t.health != Health::Up || t.last_error.is_empty())
    );
}

#[test]
fn targets_of_malformed_pages_keep_prometheus_words() {
    let targets = decode_targets(200, &fixture("api_v1_targets_with_malformed_fixtures.json"))
        .expect("decodes");
    let bad_float = targets
        .iter()
        .find(|t| t.job() == "fixture-bad_float")
        .expect("bad_float job");
    assert_eq!(bad_float.health, Health::Down);
    assert_eq!(
        bad_float.last_error,
        "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax"
    );
    let empty = targets
        .iter()
        .find(|t| t.job() == "fixture-empty_body")
        .expect("empty_body job");
    assert_eq!(empty.health, Health::Up);
}

#[test]
fn never_scraped_and_unknown_health() {
    let body =
        br#"{"status":"success","data":{"activeTargets":[{"labels":{"job":"j","instance":"h:1"},
        "health":"unknown","lastScrape":"0001-01-01T00:00:00Z","lastScrapeDuration":0,
        "scrapeInterval":"1m30s","lastError":""}],"droppedTargets":[]}}"#;
    let targets = decode_targets(200, body).expect("decodes");
    assert_eq!(targets[0].health, Health::Unknown);
    assert_eq!(targets[0].last_scrape, None);
    assert_eq!(targets[0].scrape_interval, Some(Duration::from_secs(90)));
    // A health word of a later version is unknown too, not an error.
    let body =
        br#"{"status":"success","data":{"activeTargets":[{"labels":{},"health":"degraded"}]}}"#;
    assert_eq!(
        decode_targets(200, body).expect("decodes")[0].health,
        Health::Unknown
    );
}

#[test]
fn instant_vector_with_string_values() {
    let samples = decode_vector(200, &fixture("api_v1_query_up.json")).expect("decodes");
    assert_eq!(samples.len(), 4);
    let prom = samples
        .iter()
        .find(|s| s.labels.get("job").is_some_and(|j| j == "prometheus"))
        .expect("prometheus' own up");
    assert_eq!(prom.value, 1.0);
    assert_eq!(prom.at_unix, 1_795_628_711.225);
    assert_eq!(prom.labels.get("__name__").map(String::as_str), Some("up"));
    assert_eq!(samples.iter().filter(|s| s.value == 0.0).count(), 2);
}

#[test]
fn special_values_survive() {
    let samples = decode_vector(
        200,
        &fixture("malformed/prometheus_parsed_special_values.json"),
    )
    .expect("decodes");
    let pct = |p: &str| {
        samples
            .iter()
            .find(|s| s.labels.get("pct").is_some_and(|v| v == p))
            .map(|s| s.value)
            .expect("series")
    };
    assert!(pct("0.5").is_nan());
    assert_eq!(pct("0.99"), f64::INFINITY);
    assert_eq!(pct("0.999"), f64::NEG_INFINITY);
    assert_eq!(pct("1"), 1.5e-7);
    // Label values come back unescaped.
    assert!(
        samples
            .iter()
            .any(|s| s.labels.values().any(|v| v == "say \"hi\""))
    );
}

#[test]
fn range_matrix() {
    let series = decode_matrix(200, &fixture("api_v1_query_range_up.json")).expect("decodes");
    assert_eq!(series.len(), 4);
    for s in &series {
        let times: Vec<f64> = s.points.iter().map(|p| p.0).collect();
        assert_eq!(
            times,
            [
                1795628691.0,
                1795628696.0,
                1795628701.0,
                1795628706.0,
                1795628711.0
            ]
        );
    }
    let node = series
        .iter()
        .find(|s| s.labels.get("job").is_some_and(|j| j == "node"))
        .expect("node");
    assert!(node.points.iter().all(|p| p.1 == 1.0));
}

#[test]
fn error_json_is_said() {
    let err = decode_vector(400, &fixture("api_v1_query_bad_expr.json")).expect_err("an error");
    assert_eq!(
        err,
        PromError::Api {
            status: 400,
            error_type: "bad_data".into(),
            error: "invalid parameter \"query\": 1:4: parse error: unexpected end of input inside braces"
                .into()
        }
    );
    assert!(
        err.to_string()
            .starts_with("HTTP 400 bad_data: invalid parameter")
    );
    // The same body decoded as a matrix or as targets says the same.
    assert_eq!(
        decode_matrix(400, &fixture("api_v1_query_bad_expr.json")),
        Err(err.clone())
    );
    assert_eq!(
        decode_targets(400, &fixture("api_v1_query_bad_expr.json")),
        Err(err)
    );
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    // A vector where a matrix was expected, and the other way round.
    let vector = fixture("api_v1_query_up.json");
    assert!(
        matches!(decode_matrix(200, &vector), Err(PromError::Decode(e)) if e.contains("got a vector"))
    );
    let matrix = fixture("api_v1_query_range_up.json");
    assert!(
        matches!(decode_vector(200, &matrix), Err(PromError::Decode(e)) if e.contains("got a matrix"))
    );
    // Build info is a success with another data shape.
    let info = fixture("api_v1_status_buildinfo.json");
    assert!(matches!(
        decode_vector(200, &info),
        Err(PromError::Decode(_))
    ));
    let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#;
    assert!(
        matches!(decode_vector(200, scalar), Err(PromError::Decode(e)) if e.contains("scalar"))
    );
    // An HTML 404 of another server, a 502 of a proxy, a truncated answer, a bad number.
    assert_eq!(
        decode_targets(404, b"404 page not found\n"),
        Err(PromError::Status(404))
    );
    assert_eq!(
        decode_vector(502, b"<html>bad gateway</html>"),
        Err(PromError::Status(502))
    );
    let cut = &vector[..vector.len() / 2];
    assert!(matches!(decode_vector(200, cut), Err(PromError::Decode(_))));
    let bad = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#;
    assert!(matches!(decode_vector(200, bad), Err(PromError::Decode(e)) if e.contains("\"abc\"")));
    let odd = br#"{"status":"maybe"}"#;
    assert!(matches!(decode_vector(200, odd), Err(PromError::Decode(_))));
    let no_data = br#"{"status":"success"}"#;
    assert!(matches!(
        decode_targets(200, no_data),
        Err(PromError::Decode(_))
    ));
}

#[test]
fn value_spellings() {
    assert_eq!(parse_value("42"), Some(42.0));
    assert_eq!(parse_value("1.5e-07"), Some(1.5e-7));
    assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
    assert!(parse_value("NaN").is_some_and(f64::is_nan));
    assert_eq!(parse_value("infinity"), None);
    assert_eq!(parse_value("0x1F"), None);
    assert_eq!(parse_value(""), None);
}
