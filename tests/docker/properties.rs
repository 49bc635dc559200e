//! Property tests of the parsers that read untrusted input: /proc stat lines, engine times,
//! log frames, `DOCKER_HOST` values.

use anychat_top::collect::docker::{EngineAddress, LogFrames, parse_time};
use anychat_top::collect::proc_usage::parse_stat;
use anychat_top::message::{MAX_LINE_BYTES, Stream};
use bollard::container::LogOutput;
use bytes::Bytes;
use proptest::prelude::*;

proptest! {
    #[test]
    fn stat_lines_never_panic(line in ".{0,300}") {
        let _ = parse_stat(&line);
    }

    #[test]
    fn stat_lines_round_trip(
        pid in 1i32..4_000_000,
        name in "[^\n]{0,20}",
        state in "[RSDZTI]",
        ppid in 0i32..4_000_000,
        pgrp in 0i32..4_000_000,
        utime in 0u64..1u64 << 40,
        stime in 0u64..1u64 << 40,
        rss in 0u64..1u64 << 30,
    ) {
        let line = format!("{pid} ({name}) {state} {ppid} {pgrp} 0 0 -1 0 0 0 0 0 {utime} {stime} 0 0 20 0 1 0 1 1000 {rss} 0 0");
        let stat = parse_stat(&line).expect("a well-formed line parses");
        prop_assert_eq!(stat.pid, pid);
        prop_assert_eq!(stat.pgrp, pgrp);
        prop_assert_eq!(stat.ppid, ppid);
        prop_assert_eq!(stat.cpu_ticks, utime + stime);
        prop_assert_eq!(stat.rss_pages, rss);
    }

    #[test]
    fn engine_times_never_panic(text in ".{0,40}") {
        let _ = parse_time(&text);
    }

    #[test]
    fn log_frames_keep_every_line_and_bound_each(frames in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200)), 0..40)) {
        let mut splitter = LogFrames::new(None);
        let mut lines = Vec::new();
        let mut newlines = [0usize; 2];
        for (stderr, bytes) in &frames {
            // Unstamped frames (timestamps off, or garbage before the first space).
            let message = Bytes::copy_from_slice(bytes);
            let frame = if *stderr { LogOutput::StdErr { message } } else { LogOutput::StdOut { message } };
            newlines[usize::from(*stderr)] += bytes.iter().filter(|&&b| b == b'\n').count();
            splitter.push(&frame, &mut lines);
        }
        let complete = [Stream::Stdout, Stream::Stderr].map(|s| lines.iter().filter(|l| l.stream == s).count());
        splitter.finish(&mut lines);
        for line in &lines {
            prop_assert!(line.text.len() <= MAX_LINE_BYTES * 3, "a line of {} bytes", line.text.len());
            prop_assert!(!line.text.contains('\n'));
        }
        // A frame starting with a parseable stamp loses it, so count only stamp-free runs.
        let stamped = frames.iter().any(|(_, b)| b.iter().take(40).any(|&c| c == b' '));
        if !stamped {
            prop_assert_eq!(complete, newlines);
        }
    }

    #[test]
    fn docker_host_values_never_panic(host in ".{0,60}") {
        let address = EngineAddress::parse(Some(&host));
        prop_assert!(!address.display().is_empty());
    }
}
