//! The Go runtime and process numbers of client_golang's default registry: a simulated heap,
//! GC and goroutines driven by uptime and traffic, and real RSS, CPU and fds of this process.

/// Heap bytes allocated per second of uptime, even without traffic (tickers, timers).
const IDLE_ALLOC_BYTES_PER_SEC: f64 = 1.2e6;
/// Heap bytes allocated per request served.
const ALLOC_BYTES_PER_REQUEST: f64 = 6144.0;
/// Bytes allocated before the program reached `main`.
const STARTUP_ALLOC_BYTES: f64 = 2.5e6;
/// Bytes allocated between two GC cycles.
const GC_CYCLE_BYTES: f64 = 6.0e6;
/// Heap bytes still live after a GC.
const LIVE_BYTES: f64 = 3.2e6;
const BYTES_PER_OBJECT: f64 = 112.0;

/// Simulated `go_*` values at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct GoSample {
    pub goroutines: f64,
    pub threads: f64,
    pub alloc_bytes: f64,
    pub alloc_bytes_total: f64,
    pub heap_objects: f64,
    pub mallocs_total: f64,
    pub frees_total: f64,
    pub sys_bytes: f64,
    pub next_gc_bytes: f64,
    pub last_gc_time_seconds: f64,
    pub gc_count: u64,
    pub gc_sum_seconds: f64,
    /// Pause quantiles 0, 0.25, 0.5, 0.75, 1.
    pub gc_quantiles: [f64; 5],
}

/// Quantile labels of `go_gc_duration_seconds`, matching [`GoSample::gc_quantiles`].
pub const GC_QUANTILES: [&str; 5] = ["0", "0.25", "0.5", "0.75", "1"];

/// The runtime numbers after `uptime_secs`, `requests_total` served and `open_conns` open.
/// Every counter is non-decreasing in both `uptime_secs` and `requests_total`.
pub fn simulate(uptime_secs: f64, requests_total: u64, open_conns: u64, now_unix: f64) -> GoSample {
    let uptime_secs = uptime_secs.max(0.0);
    let alloc_total = STARTUP_ALLOC_BYTES
        + IDLE_ALLOC_BYTES_PER_SEC * uptime_secs
        + ALLOC_BYTES_PER_REQUEST * requests_total as f64;
    let gc_count = (alloc_total / GC_CYCLE_BYTES).floor() as u64;
    let since_gc = (alloc_total % GC_CYCLE_BYTES).floor();
    let alloc_bytes = if gc_count == 0 {
        alloc_total.floor()
    } else {
        LIVE_BYTES + since_gc
    };
    let mallocs_total = (alloc_total / BYTES_PER_OBJECT).floor();
    // Everything allocated before the last GC, except what stayed live, has been freed.
    let freed_bytes = (gc_count as f64 * GC_CYCLE_BYTES - LIVE_BYTES).max(0.0);
    let frees_total = (freed_bytes / BYTES_PER_OBJECT).floor().min(mallocs_total);
    let wobble = mix(uptime_secs as u64) % 4;
    let goroutines = 9 + 2 * open_conns + wobble;
    let (last_gc_time_seconds, gc_sum_seconds, gc_quantiles) = if gc_count == 0 {
        (0.0, 0.0, [0.0; 5])
    } else {
        let ago = (since_gc / IDLE_ALLOC_BYTES_PER_SEC).min(uptime_secs);
        // Jitter (< 5e-5) stays below the per-cycle step, so the sum never decreases.
        let sum = gc_count as f64 * 3.1e-4 + unit(mix(gc_count)) * 5e-5;
        let j = |salt: u64| 1.0 + 0.4 * unit(mix(gc_count ^ salt));
        let quantiles = [
            1.2e-5 * j(1),
            6.1e-5 * j(2),
            1.1e-4 * j(3),
            2.4e-4 * j(4),
            6.2e-4 * j(5),
        ];
        (now_unix - ago, sum, quantiles)
    };
    GoSample {
        goroutines: goroutines as f64,
        threads: (7 + (goroutines / 12).min(12)) as f64,
        alloc_bytes,
        alloc_bytes_total: alloc_total.floor(),
        heap_objects: mallocs_total - frees_total,
        mallocs_total,
        frees_total,
        // Grows by a 64 KiB span now and then, never shrinks (as in a real Go program).
        sys_bytes: 2.2e7 + 65536.0 * gc_count.min(64) as f64,
        next_gc_bytes: LIVE_BYTES + GC_CYCLE_BYTES,
        last_gc_time_seconds,
        gc_count,
        gc_sum_seconds,
        gc_quantiles,
    }
}

/// splitmix64: a cheap deterministic scramble.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Real `process_*` values of this process (zero where /proc or libc cannot say).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds_total: f64,
    pub resident_memory_bytes: f64,
    pub virtual_memory_bytes: f64,
    pub open_fds: f64,
    pub max_fds: f64,
}

impl ProcessSample {
    pub fn read() -> Self {
        // SAFETY: sysconf only reads a configuration value.
        let page_bytes = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as f64;
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let mut pages = statm
            .split_whitespace()
            .map(|p| p.parse::<f64>().unwrap_or(0.0));
        let virtual_pages = pages.next().unwrap_or(0.0);
        let resident_pages = pages.next().unwrap_or(0.0);
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .map(|dir| dir.count().saturating_sub(1))
            .unwrap_or(0);
        Self {
            cpu_seconds_total: cpu_seconds(),
            resident_memory_bytes: resident_pages * page_bytes,
            virtual_memory_bytes: virtual_pages * page_bytes,
            open_fds: open_fds as f64,
            max_fds: max_fds(),
        }
    }
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the zero-initialised struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn max_fds() -> f64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0.0;
    }
    limit.rlim_cur as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_never_decrease_as_time_and_traffic_advance() {
        let mut prev = simulate(0.0, 0, 0, 1.0e9);
        for step in 1..2000u64 {
            let next = simulate(step as f64 * 0.37, step * 3, step % 7, 1.0e9 + step as f64);
            assert!(next.alloc_bytes_total >= prev.alloc_bytes_total);
            assert!(next.mallocs_total >= prev.mallocs_total);
            assert!(next.frees_total >= prev.frees_total, "step {step}");
            assert!(next.gc_count >= prev.gc_count);
            assert!(next.gc_sum_seconds >= prev.gc_sum_seconds, "step {step}");
            assert!(next.gc_quantiles.windows(2).all(|w| w[0] <= w[1]));
            assert!(next.alloc_bytes <= next.next_gc_bytes);
            assert!(next.alloc_bytes <= next.alloc_bytes_total);
            assert_eq!(next.heap_objects, next.mallocs_total - next.frees_total);
            prev = next;
        }
        assert!(prev.gc_count > 50, "GC runs while time passes");
    }

    #[test]
    fn traffic_moves_the_heap() {
        let idle = simulate(10.0, 0, 0, 0.0);
        let busy = simulate(10.0, 100, 0, 0.0);
        assert!(busy.alloc_bytes_total > idle.alloc_bytes_total);
    }

    #[test]
    fn reads_this_process() {
        let p = ProcessSample::read();
        assert!(p.resident_memory_bytes > 0.0);
        assert!(p.virtual_memory_bytes >= p.resident_memory_bytes);
        assert!(p.open_fds >= 3.0);
        assert!(p.max_fds >= p.open_fds);
    }
}
