//! CPU% and resident memory of the supervised process groups, from `/proc`: each group's
//! processes (the child and its descendants that kept its group) summed, CPU% from the
//! ticks between two samples. Hand-written: two fields of one file per process did not
//! justify the `procfs` crate and its dependencies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use crate::plan::EntryId;

/// The fields of `/proc/PID/stat` we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    /// The state letter (`R`, `S`, `Z`, ...).
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

/// Parses one `/proc/PID/stat` line; the command name may hold spaces and parentheses.
pub fn parse_stat(line: &str) -> Result<ProcStat, String> {
    let open = line.find('(').ok_or("no '(' before the command name")?;
    let close = line.rfind(')').ok_or("no ')' after the command name")?;
    if close < open {
        return Err("')' before '('".into());
    }
    let pid = line[..open].trim().parse().map_err(|_| "bad pid")?;
    // Fields after the name, numbered from 3 (state) as in proc(5).
    let rest: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).copied().ok_or(format!("field {n} missing"));
    let number = |n: usize| -> Result<u64, String> {
        field(n)?
            .parse::<u64>()
            .map_err(|_| format!("field {n} is not a number"))
    };
    let signed = |n: usize| -> Result<i32, String> {
        field(n)?
            .parse::<i32>()
            .map_err(|_| format!("field {n} is not a number"))
    };
    let state = field(3)?.chars().next().ok_or("empty state")?;
    Ok(ProcStat {
        pid,
        state,
        ppid: signed(4)?,
        pgrp: signed(5)?,
        cpu_ticks: number(14)?.saturating_add(number(15)?),
        // A negative RSS (never seen, but signed in the kernel) counts as none.
        rss_pages: field(24)?
            .parse::<i64>()
            .map_err(|_| "field 24 is not a number")?
            .max(0) as u64,
    })
}

/// CPU and memory of one process group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupUsage {
    /// Percent of one CPU since the previous sample (None on the first).
    pub cpu_percent: Option<f64>,
    pub rss_bytes: u64,
    /// Processes counted (zombies included, at 0 bytes).
    pub processes: usize,
}

/// CPU% and RSS of every supervised group, one sample after another.
#[derive(Debug)]
pub struct ProcUsageSampler {
    root: PathBuf,
    ticks_per_second: f64,
    page_bytes: u64,
    /// Ticks of every process seen at the last sample, and when.
    last: Option<(Instant, HashMap<i32, u64>)>,
}

impl Default for ProcUsageSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcUsageSampler {
    /// A sampler of this machine's `/proc`.
    pub fn new() -> ProcUsageSampler {
        // SAFETY: sysconf has no preconditions.
        let (tck, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        ProcUsageSampler::with_root(
            "/proc",
            if tck > 0 { tck as f64 } else { 100.0 },
            u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096),
        )
    }

    /// A sampler of another proc tree (tests), with its tick rate and page size.
    pub fn with_root(root: impl Into<PathBuf>, ticks_per_second: f64, page_bytes: u64) -> Self {
        ProcUsageSampler {
            root: root.into(),
            ticks_per_second,
            page_bytes,
            last: None,
        }
    }

    /// Reads every process once (blocking, a few ms) and sums each `(entry, pgid)` group.
    pub fn sample(&mut self, groups: &[(EntryId, i32)], at: Instant) -> Vec<(EntryId, GroupUsage)> {
        let procs = read_all(&self.root);
        let usage = self.compute(&procs, groups, at);
        let ticks = procs.iter().map(|p| (p.pid, p.cpu_ticks)).collect();
        self.last = Some((at, ticks));
        usage
    }

    /// Sums `procs` per group against the previous sample (pure).
    pub fn compute(
        &self,
        procs: &[ProcStat],
        groups: &[(EntryId, i32)],
        at: Instant,
    ) -> Vec<(EntryId, GroupUsage)> {
        let elapsed = self
            .last
            .as_ref()
            .map(|(then, _)| at.saturating_duration_since(*then))
            .filter(|d| *d > Duration::ZERO);
        groups
            .iter()
            .map(|&(entry, pgid)| {
                let members: Vec<&ProcStat> = procs.iter().filter(|p| p.pgrp == pgid).collect();
                let rss_pages: u64 = members.iter().map(|p| p.rss_pages).sum();
                let cpu_percent = elapsed
                    .zip(self.last.as_ref())
                    .map(|(elapsed, (_, before))| {
                        // A process born since the last sample used all its ticks in between.
                        let ticks: u64 = members
                            .iter()
                            .map(|p| {
                                p.cpu_ticks
                                    .saturating_sub(before.get(&p.pid).copied().unwrap_or(0))
                            })
                            .sum();
                        ticks as f64 / self.ticks_per_second / elapsed.as_secs_f64() * 100.0
                    });
                let usage = GroupUsage {
                    cpu_percent,
                    rss_bytes: rss_pages * self.page_bytes,
                    processes: members.len(),
                };
                (entry, usage)
            })
            .collect()
    }
}

/// Every process under `root` whose stat could be read and parsed (processes vanish mid-scan).
fn read_all(root: &Path) -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|line| parse_stat(&line).ok())
        .collect()
}

/// One sample of the supervised groups.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcUsageSampled {
    pub usage: Vec<(EntryId, GroupUsage)>,
    pub at: Instant,
}

/// Samples the groups in `groups` (entry, process group id; the supervisor keeps it current)
/// every `every` off the runtime's threads, until `tx` closes.
pub async fn watch_proc_usage(
    mut groups: watch::Receiver<Vec<(EntryId, i32)>>,
    every: Duration,
    tx: mpsc::Sender<ProcUsageSampled>,
) {
    let mut sampler = Some(ProcUsageSampler::new());
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = tx.closed() => return,
            _ = ticks.tick() => {}
        }
        let wanted = groups.borrow_and_update().clone();
        if wanted.is_empty() {
            // Nothing of ours runs: no reading of /proc, no wake-up of the loop.
            continue;
        }
        let Some(mut s) = sampler.take() else { return };
        let Ok((s, usage)) = tokio::task::spawn_blocking(move || {
            let at = Instant::now();
            let usage = s.sample(&wanted, at);
            (s, ProcUsageSampled { usage, at })
        })
        .await
        else {
            return;
        };
        sampler = Some(s);
        if tx.send(usage).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_awkward_names() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 9999 123456789 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let stat = parse_stat(line).expect("valid line");
        assert_eq!(
            stat,
            ProcStat {
                pid: 4242,
                state: 'S',
                ppid: 1,
                pgrp: 4242,
                cpu_ticks: 300,
                rss_pages: 321
            }
        );
        assert!(parse_stat("12 (cut) S 1").is_err());
        assert!(parse_stat("no parens at all").is_err());
        assert!(parse_stat("x (a) S 1 2 3").is_err());
        assert!(parse_stat(")(").is_err());
    }

    #[test]
    fn groups_are_summed_and_cpu_comes_from_two_samples() {
        let p = |pid, pgrp, cpu_ticks, rss_pages| ProcStat {
            pid,
            state: 'R',
            ppid: 1,
            pgrp,
            cpu_ticks,
            rss_pages,
        };
        let mut sampler = ProcUsageSampler::with_root("/nonexistent", 100.0, 4096);
        let t0 = Instant::now();
        let groups = [(EntryId(0), 10), (EntryId(1), 20)];
        let first = sampler.compute(
            &[p(10, 10, 100, 10), p(11, 10, 50, 5), p(20, 20, 7, 1)],
            &groups,
            t0,
        );
        assert_eq!(
            first[0].1,
            GroupUsage {
                cpu_percent: None,
                rss_bytes: 15 * 4096,
                processes: 2
            }
        );
        sampler.last = Some((t0, HashMap::from([(10, 100), (11, 50), (20, 7)])));
        // 2 s later: pid 10 used 150 ticks, 11 exited, 12 was born with 30; group 20 idle.
        let t1 = t0 + Duration::from_secs(2);
        let second = sampler.compute(
            &[p(10, 10, 250, 10), p(12, 10, 30, 2), p(20, 20, 7, 1)],
            &groups,
            t1,
        );
        assert_eq!(second[0].1.cpu_percent, Some(90.0)); // (150 + 30) ticks / 100 Hz / 2 s
        assert_eq!(second[0].1.rss_bytes, 12 * 4096);
        assert_eq!(second[1].1.cpu_percent, Some(0.0));
        let none = sampler.compute(&[], &[(EntryId(2), 99)], t1);
        assert_eq!(none[0].1.processes, 0);
    }
}
