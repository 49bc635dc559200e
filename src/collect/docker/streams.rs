//! The long-lived streams of one container: stats frames (CPU%, memory) and its logs (both
//! streams, demultiplexed by bollard, cut into lines, resumed after a restart without repeats).

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::{LogsOptionsBuilder, StatsOptionsBuilder};
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use super::decode::{parse_time, usage};
use super::facts::DockerFact;
use crate::message::{LogLine, MAX_LINE_BYTES, Stream};
use crate::plan::EntryId;

/// Most lines sent in one [`DockerFact::LogLines`].
const BATCH_LINES: usize = 256;

/// Timestamp of the last log line read from a container: where a new follow resumes.
pub type LogCursor = Arc<Mutex<Option<SystemTime>>>;

/// Sends a [`DockerFact::UsageSampled`] for every stats frame of container `id` until the
/// stream ends (the container stopped), fails, or `tx` closes.
pub async fn follow_stats(
    docker: Docker,
    entry: EntryId,
    id: String,
    tx: mpsc::Sender<DockerFact>,
) {
    let options = StatsOptionsBuilder::new().stream(true).build();
    let mut frames = docker.stats(&id, Some(options));
    while let Some(Ok(frame)) = frames.next().await {
        let fact = DockerFact::UsageSampled {
            entry,
            container_id: id.clone(),
            usage: usage(&frame),
            at: Instant::now(),
        };
        if tx.send(fact).await.is_err() {
            return;
        }
    }
}

/// Follows container `id`'s stdout and stderr from now on, first sending its last `tail`
/// lines, or, if `cursor` holds the time of a line already read, every line after it.
/// Ends when the container stops, the stream fails, or `tx` closes.
pub async fn follow_logs(
    docker: Docker,
    entry: EntryId,
    id: String,
    tail: usize,
    cursor: LogCursor,
    tx: mpsc::Sender<DockerFact>,
) {
    let resume_after = cursor.lock().ok().and_then(|c| *c);
    let mut options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .timestamps(true);
    options = match resume_after {
        Some(after) => {
            let secs = after
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            options
                .since(i32::try_from(secs).unwrap_or(i32::MAX))
                .tail("all")
        }
        None => options.tail(&tail.to_string()),
    };
    let mut frames = LogFrames::new(resume_after);
    let mut stream = docker.logs(&id, Some(options.build()));
    let send = |lines: Vec<LogLine>| {
        tx.send(DockerFact::LogLines {
            entry,
            container_id: id.clone(),
            lines,
        })
    };
    loop {
        let mut lines = Vec::new();
        let Some(Ok(first)) = stream.next().await else {
            break;
        };
        frames.push(&first, &mut lines);
        // Take what is already there, in one fact.
        while lines.len() < BATCH_LINES {
            match stream.next().now_or_never() {
                Some(Some(Ok(more))) => frames.push(&more, &mut lines),
                _ => break,
            }
        }
        if let (Some(last), Ok(mut c)) = (frames.last, cursor.lock()) {
            *c = Some(last);
        }
        if !lines.is_empty() && send(lines).await.is_err() {
            return;
        }
    }
    let mut rest = Vec::new();
    frames.finish(&mut rest);
    if !rest.is_empty() {
        let _ = send(rest).await;
    }
}

/// Cuts timestamped log frames into lines per stream.
#[derive(Debug, Default)]
pub struct LogFrames {
    /// Lines stamped at or before this were read by an earlier follow.
    resume_after: Option<SystemTime>,
    /// Stamp of the last frame taken.
    pub last: Option<SystemTime>,
    partial: [Partial; 2],
}

#[derive(Debug, Default)]
struct Partial {
    bytes: Vec<u8>,
    cut: bool,
}

impl LogFrames {
    /// A splitter that drops frames stamped at or before `resume_after`.
    pub fn new(resume_after: Option<SystemTime>) -> LogFrames {
        LogFrames {
            resume_after,
            ..LogFrames::default()
        }
    }

    /// One frame as bollard decoded it (`timestamps=1`: each starts with an RFC 3339 stamp).
    pub fn push(&mut self, frame: &LogOutput, out: &mut Vec<LogLine>) {
        let (stream, bytes) = match frame {
            LogOutput::StdErr { message } => (Stream::Stderr, message),
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (Stream::Stdout, message)
            }
            LogOutput::StdIn { .. } => return,
        };
        let mut body: &[u8] = bytes;
        if let Some(space) = body.iter().take(40).position(|&b| b == b' ')
            && let Some(stamp) = std::str::from_utf8(&body[..space])
                .ok()
                .and_then(parse_time)
        {
            if self.resume_after.is_some_and(|after| stamp <= after) {
                return;
            }
            self.last = Some(stamp);
            body = &body[space + 1..];
        }
        let partial = &mut self.partial[stream as usize];
        for piece in body.split_inclusive(|&b| b == b'\n') {
            let (text, complete) = match piece.strip_suffix(b"\n") {
                Some(text) => (text, true),
                None => (piece, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(partial.bytes.len());
            if text.len() > room {
                partial.bytes.extend_from_slice(&text[..room]);
                partial.cut = true;
            } else {
                partial.bytes.extend_from_slice(text);
            }
            if complete {
                out.push(line(stream, partial));
            }
        }
    }

    /// End of the stream: the unterminated last lines.
    pub fn finish(&mut self, out: &mut Vec<LogLine>) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = &mut self.partial[stream as usize];
            if !partial.bytes.is_empty() || partial.cut {
                out.push(line(stream, partial));
            }
        }
    }
}

fn line(stream: Stream, partial: &mut Partial) -> LogLine {
    let mut bytes = std::mem::take(&mut partial.bytes);
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let truncated = std::mem::take(&mut partial.cut);
    // A cut may split a character: lossy conversion keeps what can be kept.
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    };
    LogLine {
        stream,
        text,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn out(text: &str) -> LogOutput {
        LogOutput::StdOut {
            message: Bytes::copy_from_slice(text.as_bytes()),
        }
    }

    fn err(text: &str) -> LogOutput {
        LogOutput::StdErr {
            message: Bytes::copy_from_slice(text.as_bytes()),
        }
    }

    fn texts(lines: &[LogLine]) -> Vec<(Stream, &str)> {
        lines.iter().map(|l| (l.stream, l.text.as_str())).collect()
    }

    #[test]
    fn stamps_are_removed_and_streams_kept_apart() {
        let mut frames = LogFrames::new(None);
        let mut lines = Vec::new();
        frames.push(&out("2026-11-25T17:47:22.609192831Z tick 13\n"), &mut lines);
        frames.push(&err("2026-11-25T17:47:22.609242505Z half a "), &mut lines);
        frames.push(
            &out("2026-11-25T17:47:23.000000000Z tick 14\r\n"),
            &mut lines,
        );
        frames.push(&err("2026-11-25T17:47:23.100000000Z line\n"), &mut lines);
        assert_eq!(
            texts(&lines),
            vec![
                (Stream::Stdout, "tick 13"),
                (Stream::Stdout, "tick 14"),
                (Stream::Stderr, "half a line")
            ]
        );
        assert_eq!(frames.last, parse_time("2026-11-25T17:47:23.100000000Z"));
    }

    #[test]
    fn a_resumed_follow_skips_what_was_read() {
        let after = parse_time("2026-11-25T17:47:22.5Z");
        let mut frames = LogFrames::new(after);
        let mut lines = Vec::new();
        frames.push(&out("2026-11-25T17:47:22.000000000Z old\n"), &mut lines);
        frames.push(&out("2026-11-25T17:47:22.500000000Z same\n"), &mut lines);
        frames.push(&out("2026-11-25T17:47:22.600000000Z new\n"), &mut lines);
        assert_eq!(texts(&lines), vec![(Stream::Stdout, "new")]);
    }

    #[test]
    fn unstamped_and_long_and_unterminated_lines() {
        let mut frames = LogFrames::new(None);
        let mut lines = Vec::new();
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        frames.push(&out(&format!("{long}\nplain\nrest")), &mut lines);
        frames.finish(&mut lines);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].truncated && lines[0].text.len() == MAX_LINE_BYTES);
        assert_eq!(
            (lines[1].text.as_str(), lines[1].truncated),
            ("plain", false)
        );
        assert_eq!(lines[2].text, "rest");
    }
}
