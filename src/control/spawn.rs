//! Spawning an entry's command: program resolution, its own process group, the parent-death signal.
//!
//! Linux delivers `PR_SET_PDEATHSIG` when the *thread* that forked the child exits, not the
//! process. A tokio worker thread can stop being a worker (`block_in_place`) and a blocking-pool
//! thread exits after 10 s idle, so every spawn happens on one dedicated spawner thread that is
//! never joined and lives until the process ends; the child then dies exactly when we do.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{OnceLock, mpsc as std_mpsc};

use tokio::process::{Child, Command};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::plan::Entry;

/// Name of the bundled stand-in service, looked up next to our own executable.
pub const STUB_NAME: &str = "anychat-stub";

/// Where to find `program`: the bundled stub (or a name missing from `PATH`) resolves to the file
/// of that name beside `exe` (or beside `exe`'s `deps/` parent, for test binaries) when it exists;
/// everything else is returned unchanged for the usual `PATH` lookup.
pub fn resolve_program(program: &str, exe: Option<&Path>, path_var: Option<&OsStr>) -> PathBuf {
    let as_given = PathBuf::from(program);
    if program.is_empty() || program.contains('/') {
        return as_given;
    }
    let on_path = path_var.is_some_and(|paths| {
        std::env::split_paths(paths).any(|dir| is_executable(&dir.join(program)))
    });
    if program != STUB_NAME && on_path {
        return as_given;
    }
    exe.and_then(|exe| beside(exe, program)).unwrap_or(as_given)
}

/// The executable `name` in `exe`'s directory, or in its parent when that directory is `deps`.
fn beside(exe: &Path, name: &str) -> Option<PathBuf> {
    let dir = exe.parent()?;
    let mut candidates = vec![dir.join(name)];
    if dir.file_name() == Some(OsStr::new("deps")) {
        candidates.extend(dir.parent().map(|up| up.join(name)));
    }
    candidates.into_iter().find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command for `entry`: argv, env and cwd from the plan, stdin null, stdout/stderr piped, its
/// own process group. With `die_with_us`, the child is SIGKILLed when this process dies (and when
/// the `Child` handle is dropped); without, it ignores SIGPIPE so it can outlive our pipes. The
/// error is already in words.
pub(super) fn build_command(entry: &Entry, die_with_us: bool) -> Result<Command, String> {
    let Some((program, args)) = entry.command.split_first() else {
        return Err(format!("{} has no command to run", entry.name));
    };
    if let Some(cwd) = &entry.cwd
        && !cwd.is_dir()
    {
        return Err(format!(
            "working directory {}: not a directory",
            cwd.display()
        ));
    }
    let exe = std::env::current_exe().ok();
    let path_var = std::env::var_os("PATH");
    let mut command = Command::new(resolve_program(
        program,
        exe.as_deref(),
        path_var.as_deref(),
    ));
    command
        .args(args)
        .envs(&entry.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(die_with_us);
    if let Some(cwd) = &entry.cwd {
        command.current_dir(cwd);
    }
    if die_with_us {
        set_parent_death_signal(&mut command);
    } else {
        ignore_broken_pipes(&mut command);
    }
    Ok(command)
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe functions
    // (prctl, getppid, _exit); it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // We may have died between fork and prctl; then nobody will ever signal this child.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_command: &mut Command) {}

/// A child meant to outlive us would die of SIGPIPE at its first log line after we exit (its
/// stdout is our pipe); ignored, its writes fail with EPIPE instead. The disposition survives
/// exec, and Go programs respect an inherited SIG_IGN for SIGPIPE.
fn ignore_broken_pipes(command: &mut Command) {
    // SAFETY: runs between fork and exec (after std reset SIGPIPE to the default); signal(2) is
    // async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::signal(libc::SIGPIPE, libc::SIG_IGN) == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

struct SpawnRequest {
    command: Command,
    runtime: Handle,
    reply: oneshot::Sender<io::Result<Child>>,
}

/// The long-lived spawner thread's inbox (`None` if the thread could not be created).
fn spawner() -> Option<&'static std_mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Option<std_mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = std_mpsc::channel::<SpawnRequest>();
            let thread = std::thread::Builder::new()
                .name("anychat-spawner".into())
                .spawn(move || {
                    for mut request in rx {
                        let _runtime = request.runtime.enter();
                        let _ = request.reply.send(request.command.spawn());
                    }
                });
            match thread {
                Ok(_) => Some(tx),
                Err(e) => {
                    tracing::warn!("no spawner thread ({e}); spawning from runtime threads");
                    None
                }
            }
        })
        .as_ref()
}

/// Spawn `command` on the spawner thread, registered with the current tokio runtime.
pub(super) async fn spawn(mut command: Command) -> io::Result<Child> {
    let Some(inbox) = spawner() else {
        return command.spawn();
    };
    let (reply, answer) = oneshot::channel();
    let request = SpawnRequest {
        command,
        runtime: Handle::current(),
        reply,
    };
    if let Err(std_mpsc::SendError(mut request)) = inbox.send(request) {
        return request.command.spawn();
    }
    answer
        .await
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(path: &Path) {
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn resolves_the_stub_beside_the_executable_even_when_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let (bin, path) = (dir.path().join("bin"), dir.path().join("path"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&path).unwrap();
        executable(&bin.join(STUB_NAME));
        executable(&path.join(STUB_NAME));
        let exe = bin.join("anychat-top");
        let got = resolve_program(STUB_NAME, Some(&exe), Some(path.as_os_str()));
        assert_eq!(got, bin.join(STUB_NAME));
    }

    #[test]
    fn test_binaries_in_deps_find_the_stub_one_level_up() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path().join("deps");
        std::fs::create_dir_all(&deps).unwrap();
        executable(&dir.path().join(STUB_NAME));
        let got = resolve_program(STUB_NAME, Some(&deps.join("supervisor-1234")), None);
        assert_eq!(got, dir.path().join(STUB_NAME));
    }

    #[test]
    fn names_on_path_and_paths_with_a_slash_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        executable(&dir.path().join("sleep"));
        executable(&dir.path().join("tool"));
        let exe = dir.path().join("anychat-top");
        let path = dir.path().join("elsewhere");
        std::fs::create_dir_all(&path).unwrap();
        executable(&path.join("sleep"));
        let path = Some(path.as_os_str());
        assert_eq!(
            resolve_program("sleep", Some(&exe), path),
            PathBuf::from("sleep")
        );
        assert_eq!(
            resolve_program("bin/tool", Some(&exe), path),
            PathBuf::from("bin/tool")
        );
        // Not on PATH, but beside us: found there.
        assert_eq!(
            resolve_program("tool", Some(&exe), path),
            dir.path().join("tool")
        );
        // Neither: unchanged, so the spawn error names it as configured.
        assert_eq!(
            resolve_program("nope", Some(&exe), path),
            PathBuf::from("nope")
        );
    }
}
