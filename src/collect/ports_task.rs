//! The port scanner as a collector of the dashboard: scans on its own interval on the blocking
//! pool (never on the loop's thread), sends [`Update::PortsScanned`] when the sockets or their
//! holders changed, scans at once when asked ([`PortScanWakeup`]), and signals a port's holder
//! for the ports panel after checking that the pid still names the same process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};
use tokio::time::MissedTickBehavior;

use super::port_scan::Scanner;
use super::port_scan::process::read_stat;
use crate::message::Update;

/// How often the dashboard scans the ports unless told otherwise.
pub const DEFAULT_PORT_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Asks the scanner task for a scan now; the scan is sent even when nothing changed.
#[derive(Debug, Clone, Default)]
pub struct PortScanWakeup(Arc<Notify>);

impl PortScanWakeup {
    /// Scan as soon as the current scan (if any) is done.
    pub fn scan_now(&self) {
        self.0.notify_one();
    }
}

/// Scans every `interval` until `tx` closes. The first scan is always sent, later ones when
/// their facts differ from the last one sent, or when a scan was asked for.
pub async fn run_port_collector(
    interval: Duration,
    wakeup: PortScanWakeup,
    tx: mpsc::Sender<Update>,
) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut scanner = Some(Scanner::new());
    let mut last: Option<super::port_scan::PortScan> = None;
    loop {
        let asked = tokio::select! {
            _ = ticks.tick() => false,
            _ = wakeup.0.notified() => true,
            _ = tx.closed() => return,
        };
        let Some(mut s) = scanner.take() else { return };
        let Ok((s, scan)) = tokio::task::spawn_blocking(move || {
            let scan = s.scan();
            (s, scan)
        })
        .await
        else {
            return; // the runtime is shutting down
        };
        scanner = Some(s);
        if !asked && last.as_ref().is_some_and(|l| l.same_facts(&scan)) {
            continue;
        }
        last = Some(scan.clone());
        let update = Update::PortsScanned {
            scan: Box::new(scan),
            at: Instant::now(),
        };
        if tx.send(update).await.is_err() {
            return;
        }
    }
}

/// Sends `signal` to `pid` if it still is the process that started at `start_ticks` (a pid
/// reused since the scan is left alone). Returns what happened, for an alert.
pub fn signal_holder(pid: u32, start_ticks: u64, signal: i32) -> Result<(), String> {
    let proc = std::path::Path::new("/proc");
    match read_stat(proc, pid) {
        Some((_, stat)) if stat.start_ticks == start_ticks => {}
        Some(_) => return Err(format!("pid {pid} is now another process: not signalled")),
        None => return Err(format!("pid {pid} has already exited")),
    }
    let Ok(raw) = i32::try_from(pid) else {
        return Err(format!("pid {pid} is out of range"));
    };
    // SAFETY: kill(2) with a checked pid and a signal number; no memory is shared.
    if unsafe { libc::kill(raw, signal) } == 0 {
        Ok(())
    } else {
        Err(format!("pid {pid}: {}", std::io::Error::last_os_error()))
    }
}
