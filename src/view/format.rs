//! Small text formatters shared by the panels: durations, ages, latencies, sparklines, sizes.

use std::time::Duration;

/// "0.4ms", "12ms", "1.2s".
pub fn latency(d: Duration) -> String {
    let us = d.as_micros();
    if us < 10_000 {
        format!("{:.1}ms", us as f64 / 1000.0)
    } else if us < 1_000_000 {
        format!("{}ms", us / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// "5s", "3m", "2h", "4d": coarse age.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// Block characters for values, scaled to the largest, at most `width` newest values.
pub fn sparkline(values: impl ExactSizeIterator<Item = u64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = values.len().saturating_sub(width);
    let values: Vec<u64> = values.skip(skip).collect();
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|v| BARS[((v * 7 + max / 2) / max).min(7) as usize])
        .collect()
}

/// "14.2 MiB".
pub fn bytes(n: u64) -> String {
    let mib = n as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

use crate::message::ExitReason;
use crate::state::procs::{Lifecycle, Proc};

/// "exit 1", "signal 9 (SIGKILL)".
pub fn exit(e: ExitReason) -> String {
    match e {
        ExitReason::Code(c) => format!("exit {c}"),
        ExitReason::Signal(s) => {
            let name = match s {
                1 => " (SIGHUP)",
                2 => " (SIGINT)",
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            format!("signal {s}{name}")
        }
    }
}

/// One cell's worth of a service's supervision: "running 1234", "retry in 4s ×3", "not ours".
pub fn lifecycle(p: &Proc, now: std::time::Instant) -> String {
    match &p.lifecycle {
        Lifecycle::Stopped => "stopped".into(),
        Lifecycle::Starting { .. } => "starting".into(),
        Lifecycle::Running { .. } => p.pid.map_or("running".into(), |pid| format!("run {pid}")),
        Lifecycle::Stopping { .. } => "stopping".into(),
        Lifecycle::Exited { exit: e, .. } => exit(*e),
        Lifecycle::Crashed { exit: e, .. } => format!("crash {}", exit(*e)),
        Lifecycle::BackingOff { until, .. } => {
            format!(
                "retry {}s ×{}",
                until.saturating_duration_since(now).as_secs_f64().ceil(),
                p.crashes
            )
        }
        Lifecycle::SpawnFailed { .. } => "spawn failed".into(),
        Lifecycle::External { owner } => owner
            .as_ref()
            .map_or("not ours".into(), |o| format!("ext {}", o.pid)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(latency(Duration::from_micros(420)), "0.4ms");
        assert_eq!(latency(Duration::from_millis(42)), "42ms");
        assert_eq!(latency(Duration::from_millis(1500)), "1.5s");
        assert_eq!(age(Duration::from_secs(59)), "59s");
        assert_eq!(age(Duration::from_secs(125)), "2m");
        assert_eq!(sparkline([1, 2, 4, 8].into_iter(), 3), "▃▅█");
        assert_eq!(sparkline([0, 0].into_iter(), 10), "▁▁");
        assert_eq!(bytes(15 * 1024 * 1024), "15.0 MiB");
    }
}
