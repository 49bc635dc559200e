//! Reading one output stream of a child into batched `Update::LogLines`, never blocking the child.
//!
//! The pipe is drained as fast as the child writes. Lines go to the UI with `try_send`; while
//! the channel is full they wait in a bounded [`Backlog`] that drops (and counts) the oldest.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;

use super::backlog::Backlog;
use super::line_split::LineSplitter;
use crate::message::{Stream, Update};
use crate::plan::EntryId;

/// Bytes asked of the pipe per read.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// A batch is sent as soon as it has this many lines...
const BATCH_LINES: usize = 512;
/// ...or this long after its first line arrived.
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// A per-service log file, shared by the stdout and stderr readers of one child.
pub(super) type LogFile = Arc<Mutex<BufWriter<File>>>;

/// Open (append, create) `<dir>/<name>.log`.
pub(super) fn open_log_file(dir: &Path, name: &str) -> std::io::Result<LogFile> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{}.log", name.replace('/', "_"))))?;
    Ok(Arc::new(Mutex::new(BufWriter::with_capacity(
        64 * 1024,
        file,
    ))))
}

/// Where one stream's lines go.
pub(super) struct LogSink {
    pub entry: EntryId,
    pub stream: Stream,
    pub updates: mpsc::Sender<Update>,
    pub file: Option<LogFile>,
}

enum Flush {
    Sent,
    Full,
    Closed,
}

/// Send the backlog if the channel has room.
fn try_flush(backlog: &mut Backlog, sink: &LogSink) -> Flush {
    if !backlog.has_news() {
        return Flush::Sent;
    }
    match sink.updates.try_reserve() {
        Ok(permit) => {
            permit.send(batch(backlog, sink));
            Flush::Sent
        }
        Err(TrySendError::Full(())) => Flush::Full,
        Err(TrySendError::Closed(())) => Flush::Closed,
    }
}

fn batch(backlog: &mut Backlog, sink: &LogSink) -> Update {
    let (lines, dropped) = backlog.take(sink.stream);
    Update::LogLines {
        entry: sink.entry,
        lines,
        dropped,
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
                feed(&mut splitter, Some(&buf[..n]), &mut backlog, &mut sink, ui_gone);
                let now = Instant::now();
                if backlog.is_empty() {
                    continue;
                }
                let due = flush_at.get_or_insert(now + FLUSH_INTERVAL);
                if backlog.len() >= BATCH_LINES || now >= *due {
                    flush_at = after_flush(&mut backlog, &sink, &mut ui_gone, now);
                }
            }
            () = tokio::time::sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                flush_at = after_flush(&mut backlog, &sink, &mut ui_gone, Instant::now());
            }
        }
    }
    feed(&mut splitter, None, &mut backlog, &mut sink, ui_gone);
    if !ui_gone && backlog.has_news() {
        // The child is done writing, so waiting here costs it nothing.
        let _ = sink.updates.send(batch(&mut backlog, &sink)).await;
    }
}

/// Split `chunk` (`None`: end of stream) into lines for the log file and the backlog.
fn feed(
    splitter: &mut LineSplitter,
    chunk: Option<&[u8]>,
    backlog: &mut Backlog,
    sink: &mut LogSink,
    ui_gone: bool,
) {
    {
        let mut file = lock_file(sink);
        let mut keep = |bytes: &[u8], truncated| {
            if let Some(file) = &mut file {
                // A failed write is noticed (and the file given up) at the flush below.
                let _ = file.write_all(bytes).and_then(|()| file.write_all(b"\n"));
            }
            if !ui_gone {
                backlog.push(bytes, truncated);
            }
        };
        match chunk {
            Some(chunk) => splitter.push(chunk, &mut keep),
            None => splitter.finish(&mut keep),
        }
    }
    flush_file(sink);
}

/// Try to send the backlog; the next flush deadline, if lines are still waiting.
fn after_flush(
    backlog: &mut Backlog,
    sink: &LogSink,
    ui_gone: &mut bool,
    now: Instant,
) -> Option<Instant> {
    match try_flush(backlog, sink) {
        Flush::Sent => None,
        Flush::Full => Some(now + FLUSH_INTERVAL),
        Flush::Closed => {
            *ui_gone = true;
            backlog.clear();
            None
        }
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
        tracing::warn!(
            "log file of entry {}: {e}; no longer writing it",
            sink.entry.0
        );
        sink.file = None;
    }
}
