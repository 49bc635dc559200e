//! Reading one output stream of a child into batched `Update::LogLines`, never blocking the child.
//!
//! The pipe is drained as fast as the child writes. Lines go to the UI with `try_send`; while
//! the channel is full, only the newest [`MAX_PENDING_LINES`] (at most [`MAX_PENDING_BYTES`])
//! are kept and older ones are counted in the next batch's `dropped`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;

use super::line_split::LineSplitter;
use crate::message::{LogLine, Stream, Update};
use crate::plan::EntryId;

/// Bytes asked of the pipe per read.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// A batch is sent as soon as it has this many lines...
const BATCH_LINES: usize = 512;
/// ...or this long after its first line arrived.
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// Lines kept per stream while the UI is behind; older ones are dropped and counted.
pub const MAX_PENDING_LINES: usize = 2_000;
/// Bytes of text kept per stream while the UI is behind.
pub const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

/// A per-service log file, shared by the stdout and stderr readers of one child.
pub(super) type LogFile = Arc<Mutex<BufWriter<File>>>;

/// Open (append, create) `<dir>/<name>.log`.
pub(super) fn open_log_file(dir: &Path, name: &str) -> std::io::Result<LogFile> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{}.log", name.replace('/', "_"))))?;
    Ok(Arc::new(Mutex::new(BufWriter::with_capacity(64 * 1024, file))))
}

/// Where one stream's lines go.
pub(super) struct LogSink {
    pub entry: EntryId,
    pub stream: Stream,
    pub updates: mpsc::Sender<Update>,
    pub file: Option<LogFile>,
}

/// Lines waiting for room in the update channel.
#[derive(Default)]
struct Backlog {
    lines: VecDeque<LogLine>,
    bytes: usize,
    dropped: u64,
}

enum Flush {
    Sent,
    Full,
    Closed,
}

impl Backlog {
    fn push(&mut self, line: LogLine) {
        self.bytes += line.text.len();
        self.lines.push_back(line);
        while self.lines.len() > MAX_PENDING_LINES || self.bytes > MAX_PENDING_BYTES {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= old.text.len();
            self.dropped += 1;
        }
    }

    fn try_flush(&mut self, sink: &LogSink) -> Flush {
        if self.lines.is_empty() && self.dropped == 0 {
            return Flush::Sent;
        }
        match sink.updates.try_reserve() {
            Ok(permit) => {
                permit.send(self.take(sink.entry));
                Flush::Sent
            }
            Err(TrySendError::Full(())) => Flush::Full,
            Err(TrySendError::Closed(())) => Flush::Closed,
        }
    }

    fn take(&mut self, entry: EntryId) -> Update {
        self.bytes = 0;
        Update::LogLines {
            entry,
            lines: self.lines.drain(..).collect(),
            dropped: std::mem::take(&mut self.dropped),
        }
    }
}

/// Read `source` to its end, sending its lines to `sink`.
pub(super) async fn read_log(mut source: impl AsyncRead + Unpin, mut sink: LogSink) {
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut splitter = LineSplitter::default();
    let mut backlog = Backlog::default();
    let mut ui_gone = false;
    let mut flush_at: Option<Instant> = None;
    loop {
        tokio::select! {
            read = source.read(&mut buf) => {
                let n = match read {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!("reading {:?} of entry {}: {e}", sink.stream, sink.entry.0);
                        break;
                    }
                };
                let mut file = lock_file(&sink);
                splitter.push(&buf[..n], &mut |bytes, truncated| {
                    keep_line(bytes, truncated, &mut file, &mut backlog, &sink, ui_gone);
                });
                drop(file);
                flush_file(&mut sink);
                let now = Instant::now();
                if backlog.lines.is_empty() {
                    continue;
                }
                let due = flush_at.get_or_insert(now + FLUSH_INTERVAL);
                if backlog.lines.len() >= BATCH_LINES || now >= *due {
                    flush_at = after_flush(&mut backlog, &sink, &mut ui_gone, now);
                }
            }
            () = tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                flush_at = after_flush(&mut backlog, &sink, &mut ui_gone, Instant::now());
            }
        }
    }
    let mut file = lock_file(&sink);
    splitter.finish(&mut |bytes, truncated| {
        keep_line(bytes, truncated, &mut file, &mut backlog, &sink, ui_gone);
    });
    drop(file);
    flush_file(&mut sink);
    if !ui_gone && (!backlog.lines.is_empty() || backlog.dropped > 0) {
        // The child is done writing, so waiting here costs it nothing.
        let _ = sink.updates.send(backlog.take(sink.entry)).await;
    }
}

/// Try to send the backlog; the next flush deadline, if lines are still waiting.
fn after_flush(
    backlog: &mut Backlog,
    sink: &LogSink,
    ui_gone: &mut bool,
    now: Instant,
) -> Option<Instant> {
    match backlog.try_flush(sink) {
        Flush::Sent => None,
        Flush::Full => Some(now + FLUSH_INTERVAL),
        Flush::Closed => {
            *ui_gone = true;
            backlog.lines.clear();
            None
        }
    }
}

fn keep_line(
    bytes: &[u8],
    truncated: bool,
    file: &mut Option<std::sync::MutexGuard<'_, BufWriter<File>>>,
    backlog: &mut Backlog,
    sink: &LogSink,
    ui_gone: bool,
) {
    if let Some(file) = file {
        // A failed write is noticed (and the file given up) at the flush after this chunk.
        let _ = file.write_all(bytes).and_then(|()| file.write_all(b"\n"));
    }
    if !ui_gone {
        backlog.push(LogLine {
            stream: sink.stream,
            text: String::from_utf8_lossy(bytes).into_owned(),
            truncated,
        });
    }
}

fn lock_file(sink: &LogSink) -> Option<std::sync::MutexGuard<'_, BufWriter<File>>> {
    sink.file.as_ref().and_then(|file| file.lock().ok())
}

/// Push buffered log-file lines to the OS so the file is current; give the file up on error.
fn flush_file(sink: &mut LogSink) {
    let failed = match lock_file(&*sink) {
        Some(mut file) => file.flush().err(),
        None => None,
    };
    if let Some(e) = failed {
        tracing::warn!("log file of entry {}: {e}; no longer writing it", sink.entry.0);
        sink.file = None;
    }
}
