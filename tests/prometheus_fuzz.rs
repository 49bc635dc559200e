//! Property tests: arbitrary bytes, truncations and mutations of real Prometheus API answers
//! never panic the decoders, the assembly of parts, or the metrics state they feed.

use std::time::{Duration, Instant};

use anychat_top::collect::prometheus_api::decode::{
    PromError, decode_matrix, decode_targets, decode_vector,
};
use anychat_top::collect::prometheus_api::matching::{PlanMatcher, split_instance};
use anychat_top::collect::prometheus_api::promql::{combine, parts_history, parts_now};
use anychat_top::collect::prometheus_api::{PromFact, PromRound, PromValues, TargetSeen};
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::state::metrics::{MetricsConfig, MetricsState};
use proptest::prelude::*;

const TARGETS: &[u8] = include_bytes!("fixtures/prometheus/api_v1_targets.json");
const VECTOR: &[u8] = include_bytes!("fixtures/prometheus/api_v1_query_watched.json");
const MATRIX: &[u8] = include_bytes!("fixtures/prometheus/api_v1_query_range_watched.json");

/// `base` with some bytes replaced, some cut out, and maybe truncated.
fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(move |(flips, cuts, truncate)| {
            let mut b = base.to_vec();
            for (i, byte) in flips {
                let at = i.index(b.len());
                b[at] = byte;
            }
            for i in cuts {
                if !b.is_empty() {
                    let at = i.index(b.len());
                    b.remove(at);
                }
            }
            if let Some(i) = truncate {
                b.truncate(i.index(b.len() + 1));
            }
            b
        })
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![Just(200u16), Just(400), Just(422), Just(503), 100u16..600]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_are_errors_or_answers(bytes in prop::collection::vec(any::<u8>(), 0..512), http in status()) {
        let results = [
            decode_targets(http, &bytes).err(),
            decode_vector(http, &bytes).err(),
            decode_matrix(http, &bytes).err(),
        ];
        for e in results.into_iter().flatten() {
            // Every error has words.
            prop_assert!(!e.to_string().is_empty());
            if let PromError::Status(s) = e {
                prop_assert_eq!(s, http);
                prop_assert!(http != 200);
            }
        }
    }

    #[test]
    fn mutated_targets_never_panic(bytes in mutated(TARGETS), http in status()) {
        if let Ok(targets) = decode_targets(http, &bytes) {
            let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo");
            let (matched, unmatched) = PlanMatcher::new(&plan).match_all(&targets);
            prop_assert!(matched.len() + unmatched <= targets.len());
        }
    }

    #[test]
    fn mutated_answers_feed_the_state(vector in mutated(VECTOR), matrix in mutated(MATRIX)) {
        let plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo");
        let auth = plan.entry_named("auth-service").expect("auth");
        let mut state = MetricsState::new(&plan, MetricsConfig::default());
        let seen = TargetSeen {
            entry: auth,
            target: None,
            by: anychat_top::collect::prometheus_api::matching::MatchedBy::Name,
            instance: "127.0.0.1:21501".into(),
            job: "auth-service".into(),
            labels: Default::default(),
            health: anychat_top::collect::prometheus_api::decode::Health::Up,
            last_error: String::new(),
            last_scrape: None,
            last_scrape_duration: None,
            scrape_interval: None,
        };
        let at = Instant::now();
        if let Ok(series) = decode_matrix(200, &matrix) {
            let rows = parts_history(&series, 1_796_166_543.0, Duration::from_secs(2), 120);
            let rows = rows.values().map(|r| (auth, r.iter().map(combine).collect())).collect();
            let round = PromRound { targets: vec![seen.clone()], other_targets: 0, explored: None, values: PromValues::History { step: Duration::from_secs(2), rows } };
            let fact = PromFact { url: "http://x".into(), at, took: Duration::ZERO, outcome: Ok(round) };
            prop_assert!(state.apply_prometheus(&fact, at));
        }
        if let Ok(samples) = decode_vector(200, &vector) {
            let values = parts_now(&samples).values().map(|p| (auth, combine(p))).collect();
            let round = PromRound { targets: vec![seen], other_targets: 0, explored: None, values: PromValues::Now(values) };
            let fact = PromFact { url: "http://x".into(), at, took: Duration::ZERO, outcome: Ok(round) };
            prop_assert!(state.apply_prometheus(&fact, at));
            let history = state.service(auth).and_then(|m| m.prometheus.as_ref()).map(|p| p.watched.history(anychat_top::state::metrics::history::Watched::Rss).len());
            prop_assert!(history.is_some_and(|n| n <= 120));
        }
    }

    #[test]
    fn instances_split_or_not(s in "[\\[\\]a-z0-9:.]{0,24}") {
        if let Some((host, _port)) = split_instance(&s) {
            prop_assert!(!host.is_empty());
        }
    }
}
