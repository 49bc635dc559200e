//! A terminal that stops reading (a slow ssh link, a suspended emulator) must not stall the
//! supervised services: anychat-top runs on a pseudo-terminal that this test stops reading after
//! the first frame, beside a service that writes lines without pause and records its progress
//! every 1 000 lines; the progress must never stall for 5 s, and the dashboard must quit cleanly
//! once the terminal is read again.

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::process::free_low_port;

const TOP: &str = env!("CARGO_BIN_EXE_anychat-top");
/// How long the terminal is not read.
const STALL: Duration = Duration::from_secs(30);
/// The longest the service's progress may stand still meanwhile.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// A pseudo-terminal of 120x40: (master, slave).
fn open_pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Kills the dashboard's process group (and so its watchdog's charges) if the test fails.
struct Dashboard(std::process::Child);

impl Drop for Dashboard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn read_progress(path: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[test]
fn a_terminal_that_stops_reading_does_not_stall_the_services() {
    let dir = tempfile::tempdir().unwrap();
    let progress = dir.path().join("progress");
    let script = format!(
        "i=0; while :; do echo \"line $i of a service that writes without pause\"; i=$((i+1)); \
         if [ $((i % 1000)) -eq 0 ]; then echo $i > {}; fi; done",
        progress.display()
    );
    let manifest = dir.path().join("flood.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[service]]\nname = \"flood\"\ngroup = \"test\"\nhttp_port = {}\ncommand = [\"sh\", \"-c\", {script:?}]\n",
            free_low_port()
        ),
    )
    .unwrap();

    let (master, slave) = open_pty();
    let mut command = Command::new(TOP);
    command
        .args(["-c", &manifest.to_string_lossy(), "--layout", "default"])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut top = Dashboard(command.spawn().expect("start anychat-top on the pty"));

    // A reader of the terminal that can be paused; it counts what it read.
    let mut reader = File::from(master.try_clone().unwrap());
    let mut writer = File::from(master);
    let paused = Arc::new(AtomicBool::new(false));
    let read_bytes = Arc::new(AtomicUsize::new(0));
    let screen = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    {
        let (paused, read_bytes, screen) = (paused.clone(), read_bytes.clone(), screen.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            loop {
                if paused.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        read_bytes.fetch_add(n, Ordering::SeqCst);
                        let mut s = screen.lock().unwrap();
                        s.extend_from_slice(&buf[..n]);
                        let len = s.len();
                        if len > 1 << 20 {
                            s.drain(..len - (1 << 20));
                        }
                    }
                }
            }
        });
    }
    let seen = |needle: &str| String::from_utf8_lossy(&screen.lock().unwrap()).contains(needle);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen("Services (") {
        assert!(
            Instant::now() < deadline,
            "no first frame: {}",
            String::from_utf8_lossy(&screen.lock().unwrap())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.write_all(b"S").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while read_progress(&progress).is_none() {
        assert!(Instant::now() < deadline, "the flood never started");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Stop reading the terminal; watch the service's progress.
    paused.store(true, Ordering::SeqCst);
    let stalled_at = Instant::now();
    let mut last = read_progress(&progress).unwrap_or(0);
    let mut last_move = Instant::now();
    let mut longest = Duration::ZERO;
    while stalled_at.elapsed() < STALL {
        std::thread::sleep(Duration::from_millis(100));
        let now = read_progress(&progress).unwrap_or(last);
        if now != last {
            last = now;
            last_move = Instant::now();
        }
        longest = longest.max(last_move.elapsed());
        assert!(
            longest < MAX_PAUSE,
            "the service's progress stalled for {longest:?} at line {last} while the terminal was not read"
        );
    }
    println!(
        "stalled terminal: the service wrote {last} lines; longest pause {longest:?}; {} bytes read before the stall",
        read_bytes.load(Ordering::SeqCst)
    );
    assert!(top.0.try_wait().unwrap().is_none(), "still running");

    // Read again, and quit: a clean exit.
    paused.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    writer.write_all(b"q").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = top.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit after q once the terminal reads again"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let _ = writer.as_raw_fd();
}
