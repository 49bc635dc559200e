//! The dashboard's own CPU and memory, for the status bar.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::message::Update;

/// CPU time used by this process so far (user + system).
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return Duration::ZERO;
    }
    // SAFETY: getrusage returned 0, so the struct is initialised.
    let u = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Resident memory in bytes, from /proc/self/statm (0 when unreadable).
pub fn rss_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096)
}

/// Report CPU (percent of one core over the last `every`) and RSS every `every`, until the receiver goes.
pub async fn watch_self(every: Duration, tx: mpsc::Sender<Update>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ticks.tick().await;
    let mut last = (Instant::now(), cpu_time());
    loop {
        ticks.tick().await;
        let now = (Instant::now(), cpu_time());
        let wall = now.0.duration_since(last.0).as_secs_f64();
        let cpu = (now.1.saturating_sub(last.1)).as_secs_f64();
        last = now;
        let update = Update::SelfUsageMeasured {
            cpu_percent: if wall > 0.0 { cpu / wall * 100.0 } else { 0.0 },
            rss_bytes: rss_bytes(),
        };
        if tx.send(update).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_is_measured() {
        let rss = super::rss_bytes();
        assert!(rss > 1 << 20 && rss < 1 << 34, "rss {rss}");
        assert!(super::cpu_time() > std::time::Duration::ZERO);
    }
}
