//! Property tests: arbitrary bytes (and mutations of real pages) thrown at the exposition, zap
//! and NATS decoders never panic, and what they return stays consistent.

use anychat_top::collect::nats::decode::{Connz, Healthz, Jsz, Subsz, Varz, decode};
use anychat_top::metrics::exposition;
use anychat_top::metrics::go_duration::parse_go_duration;
use anychat_top::metrics::zap::parse_request;
use anychat_top::state::metrics::logs::LogMetrics;
use proptest::prelude::*;

const NODE: &str = include_str!("fixtures/prometheus/node_exporter_metrics.txt");
const VARZ: &[u8] = include_bytes!("fixtures/nats/varz.json");
const CONNZ: &[u8] = include_bytes!("fixtures/nats/connz.json");
const GRPC_LINE: &str = r#"{"level":"info","ts":1.5,"msg":"gRPC request completed","method":"/a.B/C","duration":0.004,"status":"OK"}"#;
const HTTP_LINE: &str = r#"{"level":"info","ts":1.5,"msg":"HTTP Request","method":"GET","path":"/api/v1/x/1","status":503,"cost":"1.5ms"}"#;

/// Text made of exposition-ish pieces, so the strict checker and the parser are exercised deep.
fn exposition_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("# HELP ".to_string()),
        Just("# TYPE x histogram\n".to_string()),
        Just("# TYPE x summary\n".to_string()),
        Just("x_bucket{le=\"".to_string()),
        Just("x{quantile=\"0.5\"} ".to_string()),
        Just("x_sum ".to_string()),
        Just("x_count ".to_string()),
        Just("\"} ".to_string()),
        Just("+Inf".to_string()),
        Just("NaN".to_string()),
        Just("\n".to_string()),
        Just("\\\"".to_string()),
        "[a-z_:{}=\",.0-9 \\-]{0,12}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn exposition_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let page = exposition::decode(&text);
        let lines = text.split('\n').count();
        prop_assert!(page.samples + page.dropped <= lines);
    }

    #[test]
    fn exposition_like_text_is_accounted(text in exposition_like()) {
        let page = exposition::decode(&text);
        let sample_lines = text
            .split('\n')
            .filter(|l| { let t = l.trim(); !t.is_empty() && !t.starts_with('#') })
            .count();
        // Every sample line is either read or dropped, never lost.
        prop_assert_eq!(page.samples + page.dropped, sample_lines);
        prop_assert_eq!(page.first_bad.is_some(), page.dropped > 0);
    }

    #[test]
    fn zap_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_request(&text);
        let mut m = LogMetrics::default();
        m.observe(&text, std::time::Instant::now());
        prop_assert!(m.requests_total + m.malformed <= 1);
    }

    #[test]
    fn zap_cut_or_mutated_lines(cut in 0usize..GRPC_LINE.len(), at in 0usize..HTTP_LINE.len(), byte in any::<u8>()) {
        let _ = parse_request(&GRPC_LINE[..cut]);
        let mut mutated = HTTP_LINE.as_bytes().to_vec();
        mutated[at] = byte;
        let _ = parse_request(&String::from_utf8_lossy(&mutated));
        // A cut line is never taken for a request.
        if cut < GRPC_LINE.len() {
            prop_assert!(!matches!(parse_request(&GRPC_LINE[..cut]), Ok(Some(_))));
        }
    }

    #[test]
    fn nats_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let _ = decode::<Varz>(&bytes);
        let _ = decode::<Connz>(&bytes);
        let _ = decode::<Subsz>(&bytes);
        let _ = decode::<Jsz>(&bytes);
        let _ = decode::<Healthz>(&bytes);
        let _ = parse_go_duration(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn nats_mutated_pages(at in 0usize..CONNZ.len(), byte in any::<u8>(), cut in 0usize..VARZ.len()) {
        let mut connz = CONNZ.to_vec();
        connz[at] = byte;
        let _ = decode::<Connz>(&connz);
        prop_assert!(decode::<Varz>(&VARZ[..cut]).is_err(), "a cut page is an error");
    }

    #[test]
    fn go_durations_round_trip(ms in 0u64..10_000_000) {
        let d = std::time::Duration::from_millis(ms);
        let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, (ms % 60_000) as f64 / 1000.0);
        let text = format!("{h}h{m}m{s}s");
        prop_assert_eq!(parse_go_duration(&text), Some(d));
    }
}

proptest! {
    // Each case decodes a 57 KB page: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_cut_real_page_loses_at_most_its_last_line(cut in 0usize..NODE.len()) {
        let Some(text) = NODE.get(..cut) else { return Ok(()) };
        let page = exposition::decode(text);
        prop_assert!(page.dropped <= 1, "{:?}", page.first_bad);
    }
}
