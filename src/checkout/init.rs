//! `anychat-top init [--root DIR] [-o FILE]`: the manifest read from the checkout, printed or
//! written to a new file (never over an existing one), with what could not be read on stderr.

use std::io::Write as _;
use std::path::Path;

use super::ReadOptions;
use super::startup::{discover, notes_text, read};

/// Run `init`; returns the exit code (0 done, 2 no checkout, unreadable, or file exists).
pub fn init(root: Option<&Path>, output: Option<&Path>) -> u8 {
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let Some(dir) = discover(root, &cwd) else {
        let why = match root {
            Some(root) => format!(
                "{} is not an AnyChat checkout (it needs cmd/ and go.mod or configs/)",
                root.display()
            ),
            None => format!(
                "no AnyChat checkout in {} or its parents; name one with --root DIR",
                cwd.display()
            ),
        };
        eprintln!("anychat-top: {why}");
        return 2;
    };
    let checkout = match read(&dir, &ReadOptions::from_process()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("anychat-top: {e}");
            return 2;
        }
    };
    eprint!("{}", notes_text(&checkout.notes));
    let Some(path) = output else {
        print!("{}", checkout.manifest);
        return 0;
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(checkout.manifest.as_bytes()));
    let n = checkout.drift.len();
    match written {
        Ok(()) => {
            eprintln!(
                "anychat-top: wrote {} ({n} drift finding{}); use it with: anychat-top --root {} --config {}",
                path.display(),
                if n == 1 { "" } else { "s" },
                dir.display(),
                path.display()
            );
            0
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "anychat-top: {} exists; not overwriting it (remove it or choose another -o)",
                path.display()
            );
            2
        }
        Err(e) => {
            eprintln!("anychat-top: cannot write {}: {e}", path.display());
            2
        }
    }
}
