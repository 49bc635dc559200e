//! What `/proc/PID` says about one process: identity (pid + start time), parent, group, user,
//! command line, executable, ancestors, and docker-proxy's published port. Every read may fail
//! (the process exited, belongs to another user): failures are `None`, never panics.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The fields of `/proc/PID/stat` used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub ppid: u32,
    pub pgid: u32,
    /// Clock ticks after boot; with the pid, identifies the process across pid reuse.
    pub start_ticks: u64,
    /// State letter: `R`, `S`, `Z` (dead, not yet reaped), ...
    pub state: char,
}

/// Parses the text of `/proc/PID/stat`; `comm` may contain spaces and parentheses.
pub fn parse_stat(text: &str) -> Option<(String, Stat)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    Some((
        comm,
        Stat {
            state: rest.first()?.chars().next()?,
            ppid: rest.get(1)?.parse().ok()?,
            pgid: rest.get(2)?.parse().ok()?,
            start_ticks: rest.get(19)?.parse().ok()?,
        },
    ))
}

/// Reads and parses `/proc/PID/stat`.
pub fn read_stat(proc: &Path, pid: u32) -> Option<(String, Stat)> {
    parse_stat(&std::fs::read_to_string(proc.join(pid.to_string()).join("stat")).ok()?)
}

/// A process holding a socket, as far as this user may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    /// Clock ticks after boot (see [`Stat::start_ticks`]).
    pub start_ticks: u64,
    /// Effective uid.
    pub uid: u32,
    /// The user name of `uid` (the number when `/etc/passwd` does not know it).
    pub user: String,
    /// argv; `[comm]` alone for a process without one (a kernel thread, a zombie).
    pub command: Vec<String>,
    /// `/proc/PID/exe`, when readable (not for another user's process unless we are root).
    pub exe: Option<PathBuf>,
    /// Parent, grandparent, ... up to pid 1 (inclusive).
    pub ancestors: Vec<u32>,
    /// Set when the process is Docker's userland proxy for a published port.
    pub docker_proxy: Option<DockerProxy>,
}

impl Owner {
    /// The command line, arguments joined by spaces.
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }

    /// The program's file name: the executable's when readable (without a " (deleted)" mark),
    /// else argv\[0\]'s.
    pub fn program(&self) -> &str {
        let from_exe = self
            .exe
            .as_deref()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .map(|n| n.strip_suffix(" (deleted)").unwrap_or(n));
        from_exe.unwrap_or_else(|| basename(self.command.first().map_or("", String::as_str)))
    }
}

/// The last path component of `path`.
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A port Docker publishes through `docker-proxy`, from the proxy's command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerProxy {
    pub proto: String,
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_ip: Option<IpAddr>,
    pub container_port: u16,
}

/// Recognises `docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 5432 -container-ip
/// 172.17.0.2 -container-port 5432` (Go flags: `-x v`, `--x v`, `-x=v`).
pub fn parse_docker_proxy(argv: &[String]) -> Option<DockerProxy> {
    if basename(argv.first()?) != "docker-proxy" {
        return None;
    }
    let mut flags: HashMap<&str, &str> = HashMap::new();
    let mut args = argv[1..].iter();
    while let Some(arg) = args.next() {
        let Some(name) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            continue;
        };
        match name.split_once('=') {
            Some((name, value)) => flags.insert(name, value),
            None => flags.insert(name, args.next().map_or("", String::as_str)),
        };
    }
    Some(DockerProxy {
        proto: flags.get("proto").unwrap_or(&"tcp").to_string(),
        host_ip: flags.get("host-ip").and_then(|v| v.parse().ok()),
        host_port: flags.get("host-port")?.parse().ok()?,
        container_ip: flags.get("container-ip").and_then(|v| v.parse().ok()),
        container_port: flags.get("container-port")?.parse().ok()?,
    })
}

/// User names by uid, from `/etc/passwd` (read once).
#[derive(Debug, Default)]
pub struct Users {
    names: Option<HashMap<u32, String>>,
}

impl Users {
    /// The name of `uid`, or the number as text.
    pub fn name(&mut self, uid: u32) -> String {
        let names = self.names.get_or_insert_with(|| {
            parse_passwd(&std::fs::read_to_string("/etc/passwd").unwrap_or_default())
        });
        names.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

/// `name:x:uid:...` lines; the first name of a uid wins.
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(uid) = uid.parse() {
            names.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    names
}

/// The effective uid in the text of `/proc/PID/status`.
fn parse_status_uid(text: &str) -> Option<u32> {
    let line = text.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_ascii_whitespace().nth(2)?.parse().ok()
}

/// Reads everything about `pid`; `None` when it is gone (or its stat is unreadable).
pub fn read_owner(proc: &Path, pid: u32, users: &mut Users) -> Option<Owner> {
    let dir = proc.join(pid.to_string());
    let (comm, stat) = read_stat(proc, pid)?;
    let uid = std::fs::read_to_string(dir.join("status"))
        .ok()
        .and_then(|t| parse_status_uid(&t))
        .or_else(|| {
            use std::os::unix::fs::MetadataExt;
            dir.metadata().ok().map(|m| m.uid())
        })?;
    let raw = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    let mut command: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    if command.is_empty() {
        command.push(format!("[{comm}]"));
    }
    Some(Owner {
        pid,
        ppid: stat.ppid,
        pgid: stat.pgid,
        start_ticks: stat.start_ticks,
        uid,
        user: users.name(uid),
        docker_proxy: parse_docker_proxy(&command),
        command,
        exe: std::fs::read_link(dir.join("exe")).ok(),
        ancestors: ancestors(proc, stat.ppid),
    })
}

/// `ppid`, its parent, ... up to pid 1; stops at an unreadable or looping link.
pub fn ancestors(proc: &Path, mut ppid: u32) -> Vec<u32> {
    let mut chain = Vec::new();
    while ppid != 0 && !chain.contains(&ppid) && chain.len() < 256 {
        chain.push(ppid);
        match read_stat(proc, ppid) {
            Some((_, stat)) => ppid = stat.ppid,
            None => break,
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STAT: &str = "4242 (my (odd) prog) S 17 4242 17 34816 4242 4194560 120 0 0 0 1 0 0 0 20 0 1 0 987654 1234 56 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn stat_fields_are_found_after_the_last_parenthesis() {
        let (comm, stat) = parse_stat(STAT).unwrap();
        assert_eq!(comm, "my (odd) prog");
        assert_eq!(
            stat,
            Stat {
                ppid: 17,
                pgid: 4242,
                start_ticks: 987654,
                state: 'S'
            }
        );
        assert_eq!(parse_stat("4242 (x) S 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn our_own_process_is_read_whole() {
        let proc = Path::new("/proc");
        let me = std::process::id();
        let owner = read_owner(proc, me, &mut Users::default()).expect("our own /proc entry");
        assert_eq!(owner.pid, me);
        // SAFETY: getuid/getppid cannot fail.
        let (uid, ppid) = unsafe { (libc::geteuid(), libc::getppid()) };
        assert_eq!(owner.uid, uid);
        assert_eq!(owner.ppid, ppid as u32);
        assert_eq!(owner.ancestors.first(), Some(&(ppid as u32)));
        assert_eq!(owner.ancestors.last(), Some(&1));
        let exe = std::env::current_exe().unwrap();
        assert_eq!(owner.exe.as_deref(), Some(exe.as_path()));
        assert_eq!(owner.program(), exe.file_name().unwrap().to_str().unwrap());
        assert!(read_owner(proc, u32::MAX, &mut Users::default()).is_none());
    }

    #[test]
    fn docker_proxy_command_lines_are_recognised() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let proxy = parse_docker_proxy(&argv(
            "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 5432 -container-ip 172.17.0.2 -container-port 5432",
        ))
        .unwrap();
        assert_eq!(proxy.host_port, 5432);
        assert_eq!(proxy.container_ip, Some("172.17.0.2".parse().unwrap()));
        assert_eq!(proxy.host_ip, Some("0.0.0.0".parse().unwrap()));
        let eq = parse_docker_proxy(&argv(
            "docker-proxy --proto=tcp --host-ip=:: --host-port=8222 --container-ip=172.18.0.3 --container-port=8222",
        ))
        .unwrap();
        assert_eq!((eq.host_port, eq.container_port), (8222, 8222));
        assert_eq!(eq.host_ip, Some("::".parse().unwrap()));
        assert!(parse_docker_proxy(&argv("python3 -host-port 1 -container-port 2")).is_none());
        assert!(parse_docker_proxy(&argv("docker-proxy -host-port x -container-port 2")).is_none());
        assert!(parse_docker_proxy(&argv("docker-proxy -host-port")).is_none());
    }

    #[test]
    fn passwd_names_uids() {
        let names = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nbroken\nnobody:x:65534:65534::/:/x\nalias:x:0:0::/:/x\n",
        );
        assert_eq!(names.get(&0).map(String::as_str), Some("root"));
        assert_eq!(names.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(names.len(), 2);
        assert_eq!(
            parse_status_uid("Name:\tx\nUid:\t1000\t1001\t1001\t1001\n"),
            Some(1001)
        );
        assert_eq!(parse_status_uid("Uid: x"), None);
    }

    #[test]
    fn program_prefers_the_executable_and_drops_the_deleted_mark() {
        let mut owner = read_owner(
            Path::new("/proc"),
            std::process::id(),
            &mut Users::default(),
        )
        .unwrap();
        owner.exe = Some(PathBuf::from("/src/bin/auth-service (deleted)"));
        assert_eq!(owner.program(), "auth-service");
        owner.exe = None;
        owner.command = vec!["/usr/bin/python3".into(), "-c".into()];
        assert_eq!(owner.program(), "python3");
    }

    proptest! {
        #[test]
        fn arbitrary_stat_text_never_panics(text in "\\PC*") {
            let _ = parse_stat(&text);
        }

        #[test]
        fn arbitrary_argv_never_panics(argv in proptest::collection::vec("(-{0,2}[a-z-]{0,12}(=[0-9.:]{0,8})?|[0-9]{1,6})", 0..10)) {
            let mut argv = argv;
            argv.insert(0, "docker-proxy".into());
            let _ = parse_docker_proxy(&argv);
        }
    }
}
