//! `--log-dir`: each service's output appended to `<dir>/<name>.log` by a thread of its own, so
//! that a slow or full disk never holds up the loop or the readers (and so the children). What
//! the disk cannot take in time is dropped, counted and said; a file that fails is given up and
//! said once.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self as std_mpsc, TrySendError};

/// Chunks queued for the disk before new ones are dropped (each is at most one pipe read).
const QUEUE_CHUNKS: usize = 256;

/// One service's lines for its log file.
struct Chunk {
    file: Arc<str>,
    bytes: Vec<u8>,
    lines: u64,
}

/// Hands chunks of one service's output to the log-file thread. Cloning shares the thread.
#[derive(Clone)]
pub(super) struct LogFile {
    name: Arc<str>,
    to_disk: std_mpsc::SyncSender<Chunk>,
    dropped: Arc<AtomicU64>,
}

impl LogFile {
    /// Queue `bytes` (`lines` whole lines) for the file; never waits.
    pub(super) fn append(&self, bytes: Vec<u8>, lines: u64) {
        if bytes.is_empty() {
            return;
        }
        let chunk = Chunk {
            file: Arc::clone(&self.name),
            bytes,
            lines,
        };
        match self.to_disk.try_send(chunk) {
            Ok(()) => {}
            Err(TrySendError::Full(chunk)) => {
                let before = self.dropped.fetch_add(chunk.lines, Ordering::Relaxed);
                if before == 0 {
                    tracing::warn!(
                        "--log-dir: the disk is not keeping up; lines of {} are missing from its log file",
                        self.name
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// The log-file thread's door: one per supervisor.
pub(super) struct LogFiles {
    to_disk: std_mpsc::SyncSender<Chunk>,
    dropped: Arc<AtomicU64>,
}

impl LogFiles {
    /// Start the thread writing into `dir`.
    pub(super) fn start(dir: PathBuf) -> std::io::Result<LogFiles> {
        let (to_disk, chunks) = std_mpsc::sync_channel::<Chunk>(QUEUE_CHUNKS);
        std::thread::Builder::new()
            .name("anychat-log-files".into())
            .spawn(move || write_chunks(&dir, chunks))?;
        Ok(LogFiles {
            to_disk,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The file of the service `name`.
    pub(super) fn file(&self, name: &str) -> LogFile {
        LogFile {
            name: Arc::from(file_name(name).as_str()),
            to_disk: self.to_disk.clone(),
            dropped: Arc::clone(&self.dropped),
        }
    }
}

/// `<name>.log`, with slashes (which a name may hold) made harmless.
pub fn file_name(name: &str) -> String {
    format!("{}.log", name.replace('/', "_"))
}

/// The thread: append every chunk to its file; flush when the queue is empty.
fn write_chunks(dir: &Path, chunks: std_mpsc::Receiver<Chunk>) {
    let mut files: HashMap<Arc<str>, Option<BufWriter<File>>> = HashMap::new();
    let mut dirty: Vec<Arc<str>> = Vec::new();
    let mut next = chunks.recv().ok();
    while let Some(chunk) = next {
        let slot = files
            .entry(Arc::clone(&chunk.file))
            .or_insert_with(|| open(dir, &chunk.file));
        if let Some(file) = slot {
            if let Err(e) = file.write_all(&chunk.bytes) {
                give_up(dir, &chunk.file, &e);
                *slot = None;
            } else if !dirty.contains(&chunk.file) {
                dirty.push(Arc::clone(&chunk.file));
            }
        }
        next = match chunks.try_recv() {
            Ok(chunk) => Some(chunk),
            Err(_) => {
                for name in dirty.drain(..) {
                    if let Some(slot) = files.get_mut(&name)
                        && let Some(file) = slot
                        && let Err(e) = file.flush()
                    {
                        give_up(dir, &name, &e);
                        *slot = None;
                    }
                }
                chunks.recv().ok()
            }
        };
    }
    for file in files.values_mut().flatten() {
        let _ = file.flush();
    }
}

fn open(dir: &Path, name: &str) -> Option<BufWriter<File>> {
    let opened = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
    });
    match opened {
        Ok(file) => Some(BufWriter::with_capacity(64 * 1024, file)),
        Err(e) => {
            tracing::warn!("--log-dir: cannot open {}: {e}", dir.join(name).display());
            None
        }
    }
}

fn give_up(dir: &Path, name: &str, e: &std::io::Error) {
    tracing::warn!(
        "--log-dir: writing {}: {e}; no longer writing it",
        dir.join(name).display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_appended_in_order_per_service() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogFiles::start(dir.path().to_path_buf()).unwrap();
        let a = files.file("auth-service");
        let b = files.file("odd/name");
        a.append(b"one\ntwo\n".to_vec(), 2);
        b.append(b"x\n".to_vec(), 1);
        a.append(b"three\n".to_vec(), 1);
        drop((a, b, files));
        // The thread ends when every sender is gone; wait for the files to hold everything.
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while read("auth-service.log") != "one\ntwo\nthree\n" {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                read("auth-service.log")
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(read("odd_name.log"), "x\n");
    }
}
