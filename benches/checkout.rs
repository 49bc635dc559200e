//! Time to read an AnyChat checkout into a plan (`checkout::read` + `Checkout::plan`): the
//! upstream-shaped synthetic checkout (13 services, config.yaml, compose file), then the same
//! with a large `internal/` tree (every file's time and every Go file's text are read, for
//! stale binaries and metrics code). It runs once at start-up, before the terminal opens.
//! Run with `cargo bench --bench checkout`.

#[allow(dead_code)]
#[path = "../tests/support/checkout.rs"]
mod checkout_support;

use std::time::{Duration, Instant};

use anychat_top::checkout::{self, ReadOptions};
use anychat_top::manifest::Source;
use checkout_support::SyntheticCheckout;

const RUNS: usize = 40;
const LARGE_FILES: usize = 3000;

fn measure(c: &SyntheticCheckout) -> Vec<Duration> {
    let opts = ReadOptions::from_process();
    let base = [Source::anychat()];
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS + 3 {
        let started = Instant::now();
        let read = checkout::read(c.root(), &base, &opts).expect("a checkout");
        let plan = read.plan(0).expect("a valid plan");
        times.push(started.elapsed());
        assert!(plan.entries.len() > 20, "the whole plan was read");
    }
    times.drain(..3);
    times.sort();
    times
}

fn report(what: &str, times: &[Duration]) {
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what:<58} median {:>8.2?}  p90 {:>8.2?}  min {:>8.2?}  max {:>8.2?}  ({} runs)",
        pick(0.5),
        pick(0.9),
        times[0],
        times[times.len() - 1],
        times.len()
    );
}

fn main() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    report(
        "upstream-shaped checkout (13 services), read + plan",
        &measure(&c),
    );
    for i in 0..LARGE_FILES {
        c.write(
            &format!("internal/mod{}/pkg{}/file{i}.go", i % 20, i % 7),
            "package x\n\n// A source file of a realistic size.\nfunc F() int { return 1 }\n",
        );
    }
    report(
        &format!("the same with {LARGE_FILES} more Go files under internal/"),
        &measure(&c),
    );
    println!(
        "target: well under the ~30 ms start-up budget of `anychat-top` for the upstream checkout"
    );
}
