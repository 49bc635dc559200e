//! The port scanner and the ports state against real processes: a foreign Python listener,
//! a stale copy of the stub, IPv6-only / wildcard / specific-address binds, a real
//! docker-proxy, and an unprivileged scan (setpriv nobody) of a port root holds.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anychat_top::collect::port_scan::{PortScan, ScanSource, Scanner};
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::plan::Plan;
use anychat_top::portplan::report::{ports_json_text, ports_table};
use anychat_top::state::ports::{HolderKind, OurProcess, PortsState};
use support::process::{
    ChildGuard, PYTHON, free_low_ports_on, python_with_first_line, skip_or_fail,
};

const STUB: &str = env!("CARGO_BIN_EXE_anychat-stub");
/// Set in the environment of this test binary when it runs as the unprivileged helper.
const HELPER_ENV: &str = "ANYCHAT_PORT_SCAN_HELPER_MANIFEST";

/// `n` ports free on every address right now, below the ephemeral range; never the same
/// port twice in this test binary (the tests run in parallel).
fn free_low_ports(n: usize) -> Vec<u16> {
    free_low_ports_on(n, &["0.0.0.0", "::", "127.0.0.2"])
}

/// Python (the real interpreter, not a shim) listening on each `family/host/port`
/// (`v4`, `v6`, or `v6only` for an IPv6 socket with IPV6_V6ONLY).
fn python_listener(binds: &[String]) -> Option<ChildGuard> {
    let script = r#"
import socket, sys, time
socks = []
for spec in sys.argv[1:]:
    fam, host, port = spec.split('/')
    s = socket.socket(socket.AF_INET if fam == 'v4' else socket.AF_INET6)
    if fam == 'v6only':
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, int(port)))
    s.listen()
    socks.append(s)
print('ready', flush=True)
time.sleep(600)
"#;
    let mut args = vec!["-c".to_string(), script.to_string()];
    args.extend_from_slice(binds);
    let (child, line) = python_with_first_line(&args)?;
    assert_eq!(line, "ready", "python3 did not bind {binds:?}");
    Some(child)
}

/// Scans until `ready` holds for the scan (at most 10 s).
fn scan_until(scanner: &mut Scanner, ready: impl Fn(&PortScan) -> bool) -> PortScan {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let scan = scanner.scan();
        assert_eq!(scan.error, None);
        if ready(&scan) {
            return scan;
        }
        assert!(
            Instant::now() < deadline,
            "not ready: {:#?}",
            scan.listeners
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

fn held_by(scan: &PortScan, addr: &str, pid: u32) -> bool {
    let addr: SocketAddr = addr.parse().unwrap();
    scan.on_port(addr.port())
        .any(|l| l.addr == addr && l.pids.contains(&pid))
}

fn plan(toml: &str) -> Arc<Plan> {
    let source = Source {
        path: "test.toml".into(),
        text: toml.into(),
    };
    Arc::new(build_plan(&[source], &PlanOptions::default()).expect("valid manifest"))
}

fn stub_service(name: &str, http: u16, grpc: u16) -> String {
    format!(
        "[[service]]\nname = \"{name}\"\ngroup = \"g\"\n\
command = [\"anychat-stub\", \"--name\", \"{{name}}\", \"--http-port\", \"{{http_port}}\", \"--grpc-port\", \"{{grpc_port}}\"]\n\
http_port = {http}\ngrpc_port = {grpc}\n\n"
    )
}

#[test]
fn wildcard_ipv6_only_and_specific_address_binds_are_attributed() {
    let ports = free_low_ports(3);
    let binds = [
        format!("v4/0.0.0.0/{}", ports[0]),
        format!("v6only/::/{}", ports[1]),
        format!("v4/127.0.0.2/{}", ports[2]),
    ];
    let Some(py) = python_listener(&binds) else {
        return;
    };
    let pid = py.id();
    let addrs = [
        format!("0.0.0.0:{}", ports[0]),
        format!("[::]:{}", ports[1]),
        format!("127.0.0.2:{}", ports[2]),
    ];
    for mut scanner in [Scanner::new(), Scanner::proc_net_only()] {
        let scan = scan_until(&mut scanner, |s| addrs.iter().all(|a| held_by(s, a, pid)));
        let owner = &scan.owners[&pid];
        assert_eq!(owner.command[0], PYTHON);
        assert!(owner.program().starts_with("python3"), "{owner:?}");
        let v6 = scan.on_port(ports[1]).next().unwrap();
        assert_eq!(v6.v6only, scan.source == ScanSource::Netlink, "{v6:?}");
        // SAFETY: geteuid cannot fail.
        assert_eq!(v6.uid, unsafe { libc::geteuid() });
    }
}

#[test]
fn a_foreign_listener_is_named_with_pid_and_command_in_scan_state_table_and_json() {
    let ports = free_low_ports(2);
    let Some(py) = python_listener(&[format!("v4/0.0.0.0/{}", ports[0])]) else {
        return;
    };
    let pid = py.id();
    let mut scanner = Scanner::new();
    let addr = format!("0.0.0.0:{}", ports[0]);
    let scan = scan_until(&mut scanner, |s| held_by(s, &addr, pid));
    let mut state = PortsState::new(plan(&stub_service("svc", ports[0], ports[1])));
    state.apply(scan, Instant::now());
    let svc = state.plan().entry_named("svc").unwrap();
    let blocker = state.start_blocker(svc).expect("the port is taken");
    assert_eq!(blocker.kind, HolderKind::Foreign);
    assert_eq!(blocker.pid(), Some(pid));
    assert!(
        blocker.describe().starts_with("/usr/bin/python3 -c"),
        "{}",
        blocker.describe()
    );
    let (table, code) = ports_table(&state);
    assert_eq!(code, 1, "{table}");
    assert!(
        table.contains(&format!("{pid}  /usr/bin/python3 -c")),
        "{table}"
    );
    let (json, _) = ports_json_text(&state);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ports"][0]["state"], "foreign");
    assert_eq!(v["ports"][0]["holders"][0]["pid"], pid);
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("root reads any exe");
    assert_eq!(
        v["ports"][0]["holders"][0]["exe"],
        exe.to_string_lossy().as_ref()
    );
    drop(py);
    let scan = scan_until(&mut scanner, |s| s.on_port(ports[0]).next().is_none());
    state.apply(scan, Instant::now());
    assert_eq!(
        state.start_blocker(svc),
        None,
        "free once the squatter is gone"
    );
    assert_eq!(state.conflicts().count(), 0);
}

#[test]
fn a_stale_copy_of_the_stub_is_told_apart_from_a_foreign_process_and_from_ours() {
    let ports = free_low_ports(4);
    let manifest = stub_service("auth-service", ports[0], ports[1])
        + &stub_service("user-service", ports[2], ports[3]);
    let stub = ChildGuard::adopt(
        Command::new(STUB)
            .args([
                "--name",
                "auth-service",
                "--quiet-health",
                "--log-interval",
                "0s",
            ])
            .args(["--http-port", &ports[0].to_string()])
            .args(["--grpc-port", &ports[1].to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn anychat-stub"),
        "anychat-stub",
    );
    let Some(py) = python_listener(&[format!("v4/127.0.0.1/{}", ports[2])]) else {
        return;
    };
    let mut scanner = Scanner::new();
    let (stub_pid, py_pid) = (stub.id(), py.id());
    let scan = scan_until(&mut scanner, |s| {
        held_by(s, &format!("127.0.0.1:{}", ports[0]), stub_pid)
            && held_by(s, &format!("127.0.0.1:{}", ports[1]), stub_pid)
            && held_by(s, &format!("127.0.0.1:{}", ports[2]), py_pid)
    });
    let mut state = PortsState::new(plan(&manifest));
    let auth = state.plan().entry_named("auth-service").unwrap();
    let user = state.plan().entry_named("user-service").unwrap();
    let t0 = Instant::now();
    state.apply(scan.clone(), t0);
    let stale = state.start_blocker(auth).expect("auth's port is held");
    assert_eq!(stale.kind, HolderKind::Stale { entry: auth });
    assert_eq!(stale.pid(), Some(stub_pid));
    let foreign = state.start_blocker(user).expect("user's port is held");
    assert_eq!(foreign.kind, HolderKind::Foreign);
    // The same stub, once the supervisor says it is ours, is the running instance.
    state.set_ours(
        vec![OurProcess {
            entry: auth,
            pid: stub_pid,
            since: t0,
        }],
        t0,
    );
    assert_eq!(state.start_blocker(auth), None);
    let held = state.holder_of_entry_ports(user);
    assert_eq!(held[0].pid(), Some(py_pid));
}

#[test]
fn a_real_docker_proxy_is_recognised_with_its_container_address() {
    let proxy = "/usr/sbin/docker-proxy";
    if !std::path::Path::new(proxy).exists() {
        skip_or_fail("docker-proxy is not installed");
        return;
    }
    let ports = free_low_ports(2);
    // docker-proxy reports readiness on fd 3 and closes it: give it one.
    let child = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 3>/dev/null")
        .arg(proxy)
        .args(["-proto", "tcp", "-host-ip", "127.0.0.1"])
        .args(["-host-port", &ports[0].to_string()])
        .args(["-container-ip", "127.0.0.1"])
        .args(["-container-port", &ports[1].to_string()])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn docker-proxy");
    let guard = ChildGuard::adopt(child, "docker-proxy");
    let mut scanner = Scanner::new();
    let addr = format!("127.0.0.1:{}", ports[0]);
    let scan = scan_until(&mut scanner, |s| held_by(s, &addr, guard.id()));
    let found = scan.owners[&guard.id()]
        .docker_proxy
        .clone()
        .expect("recognised as docker-proxy");
    assert_eq!(found.host_port, ports[0]);
    assert_eq!(found.container_port, ports[1]);
    assert_eq!(found.container_ip, Some("127.0.0.1".parse().unwrap()));
}

/// As the helper (run by the test below under setpriv): prints `ports --json` for the
/// manifest in the environment. As the test: holds a planned port as root and checks that
/// nobody sees it as held by uid 0, process not visible — not free.
#[test]
fn unprivileged_scan_sees_a_port_root_holds_as_hidden_not_free() {
    if let Ok(manifest) = std::env::var(HELPER_ENV) {
        let mut state = PortsState::new(plan(&manifest));
        state.apply(Scanner::new().scan(), Instant::now());
        println!("BEGIN-JSON\n{}\nEND-JSON", ports_json_text(&state).0);
        return;
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("not root: cannot hold a port as root and scan as nobody");
        return;
    }
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        skip_or_fail("setpriv is not installed");
        return;
    };
    let ports = free_low_ports(2);
    let held = TcpListener::bind(("0.0.0.0", ports[0])).expect("bind the planned port");
    let manifest = stub_service("svc", ports[0], ports[1]);
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(setpriv)
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .arg(&exe)
        .args([
            "--exact",
            "unprivileged_scan_sees_a_port_root_holds_as_hidden_not_free",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, &manifest)
        .output()
        .expect("run setpriv");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout
        .split_once("BEGIN-JSON\n")
        .and_then(|(_, rest)| rest.split_once("\nEND-JSON"))
        .map(|(json, _)| json)
        .unwrap_or_else(|| panic!("no JSON in {stdout}"));
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let http = &v["ports"][0];
    assert_eq!(http["port"], ports[0]);
    assert_eq!(http["state"], "hidden", "{json}");
    assert_eq!(http["holders"][0]["uid"], 0);
    assert_eq!(http["holders"][0]["pid"], serde_json::Value::Null);
    assert_eq!(v["ports"][1]["state"], "free");
    assert_eq!(v["conflicts"][0]["key"], format!("taken:{}:uid0", ports[0]));
    drop(held);
}
