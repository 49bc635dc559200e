//! The terminal: full-screen mode entered and left by one guard (also on a panic), and frames
//! written by a thread of their own, so that a terminal that stops reading (a slow ssh link, a
//! suspended emulator) stalls only that thread, never the loop, the probes or the children.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::backend::CrosstermBackend;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::mpsc;

/// Whether the terminal is in full-screen mode right now (for the panic hook).
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Whether standard input and output are both a terminal.
pub fn is_terminal() -> bool {
    use std::io::IsTerminal;
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

/// Leave full-screen mode: mouse off, main screen, cursor shown, cooked mode. Best effort, and
/// harmless when nothing was changed.
pub fn restore() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = crossterm::execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// Restores the terminal when dropped, on every way out; exists before the first change.
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Install the panic hook (restore first, then the previous hook: color-eyre's report) and
    /// return the guard; the terminal is not changed yet.
    pub fn new() -> TerminalGuard {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        TerminalGuard { _private: () }
    }

    /// Raw mode, alternate screen, hidden cursor, mouse capture. On an error, whatever was
    /// already changed is undone by the guard.
    pub fn enter(&mut self) -> io::Result<()> {
        ENTERED.store(true, Ordering::SeqCst);
        enable_raw_mode()?;
        crossterm::execute!(
            io::stdout(),
            EnterAlternateScreen,
            crossterm::cursor::Hide,
            EnableMouseCapture
        )
    }
}

impl Default for TerminalGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// The bytes of a frame, collected by ratatui and handed to the writer thread at each flush.
pub struct FrameSink {
    bytes: Vec<u8>,
    to_writer: std_mpsc::Sender<Vec<u8>>,
    pending: Arc<AtomicUsize>,
}

impl Write for FrameSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.bytes.is_empty() {
            return Ok(());
        }
        self.pending.fetch_add(1, Ordering::SeqCst);
        let bytes = std::mem::take(&mut self.bytes);
        self.to_writer
            .send(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the terminal writer is gone"))
    }
}

/// The thread that writes frames to the terminal, and how far behind it is.
pub struct FrameWriter {
    pending: Arc<AtomicUsize>,
    idle: mpsc::UnboundedReceiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl FrameWriter {
    /// A terminal whose output goes through a new writer thread to `out`.
    /// `viewport` is `Viewport::Fullscreen` for the real terminal.
    pub fn spawn(
        mut out: impl Write + Send + 'static,
        viewport: Viewport,
    ) -> io::Result<(Terminal<CrosstermBackend<FrameSink>>, FrameWriter)> {
        let (tx, rx) = std_mpsc::channel::<Vec<u8>>();
        let (idle_tx, idle) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let written = Arc::clone(&pending);
        let thread = std::thread::Builder::new()
            .name("anychat-terminal".into())
            .spawn(move || {
                for frame in rx {
                    // A terminal that fails is not retried; the loop notices nothing but
                    // silence, and the restore on exit reports nothing either.
                    let _ = out.write_all(&frame).and_then(|()| out.flush());
                    written.fetch_sub(1, Ordering::SeqCst);
                    let _ = idle_tx.send(());
                }
            })?;
        let sink = FrameSink {
            bytes: Vec::with_capacity(64 * 1024),
            to_writer: tx,
            pending: Arc::clone(&pending),
        };
        let terminal =
            Terminal::with_options(CrosstermBackend::new(sink), TerminalOptions { viewport })?;
        let writer = FrameWriter {
            pending,
            idle,
            thread: Some(thread),
        };
        Ok((terminal, writer))
    }

    /// Every frame handed over has been written.
    pub fn is_idle(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }

    /// Wait until the writer has written everything handed over.
    pub async fn wait_idle(&mut self) {
        while !self.is_idle() {
            if self.idle.recv().await.is_none() {
                return;
            }
        }
    }

    /// Wait for the thread to write what it was given (call after dropping the terminal).
    pub fn finish(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer that blocks until released, recording what it wrote.
    #[derive(Clone, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (lock, cvar) = &*self.open;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = cvar.wait(open).unwrap();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_stalled_terminal_blocks_the_writer_not_the_caller() {
        let gate = Gate::default();
        let (mut terminal, mut writer) = FrameWriter::spawn(
            gate.clone(),
            Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 20, 3)),
        )
        .unwrap();
        assert!(writer.is_idle());
        // Drawing returns at once although nothing can be written.
        terminal
            .draw(|f| {
                f.render_widget(ratatui::widgets::Paragraph::new("hello"), f.area());
            })
            .unwrap();
        assert!(!writer.is_idle(), "the frame waits in the writer");
        assert!(gate.written.lock().unwrap().is_empty());
        // Released, the frame is written and the writer says so.
        *gate.open.0.lock().unwrap() = true;
        gate.open.1.notify_all();
        tokio::time::timeout(std::time::Duration::from_secs(5), writer.wait_idle())
            .await
            .expect("idle once the terminal reads again");
        let written = String::from_utf8_lossy(&gate.written.lock().unwrap()).into_owned();
        assert!(written.contains("hello"), "{written:?}");
        drop(terminal);
        writer.finish();
    }
}
