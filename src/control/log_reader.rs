//! Reading one output stream of a child into batched `Update::LogLines`, never blocking the child.
//!
//! The pipe is drained as fast as the child writes. Lines go to the UI with `try_send`; while
//! the channel is full they wait in a bounded [`Backlog`] that drops (and counts) the oldest.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;

use super::backlog::Backlog;
use super::line_split::LineSplitter;
use super::log_files::LogFile;
use crate::message::{Stream, Update};
use crate::plan::EntryId;

/// Bytes asked of the pipe per read.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// A batch is sent as soon as it has this many lines...
const BATCH_LINES: usize = 512;
/// ...or this long after its first line arrived.
const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

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
pub(super) async fn read_log(mut source: impl AsyncRead + Unpin, sink: LogSink) {
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
                feed(&mut splitter, Some(&buf[..n]), &mut backlog, &sink, ui_gone);
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
    feed(&mut splitter, None, &mut backlog, &sink, ui_gone);
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
    sink: &LogSink,
    ui_gone: bool,
) {
    let mut for_file = Vec::new();
    let mut lines = 0u64;
    let writing = sink.file.is_some();
    let mut keep = |bytes: &[u8], truncated| {
        if writing {
            for_file.extend_from_slice(bytes);
            for_file.push(b'\n');
            lines += 1;
        }
        if !ui_gone {
            backlog.push(bytes, truncated);
        }
    };
    match chunk {
        Some(chunk) => splitter.push(chunk, &mut keep),
        None => splitter.finish(&mut keep),
    }
    if let Some(file) = &sink.file {
        file.append(for_file, lines);
    }
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
