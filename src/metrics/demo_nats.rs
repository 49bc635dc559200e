//! The demo's NATS: a real `nats-server` with monitoring and JetStream on the plan's (shifted)
//! ports when one is installed, and the service stubs connected to it with `--nats`; otherwise
//! the stub stays and the NATS panel says how to get nats-server.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::control::STUB_NAME;
use crate::plan::{EntryKind, Plan};
use crate::state::live_metrics::{nats_client_port, nats_monitor};

/// The program run in place of the NATS stub.
pub const NATS_SERVER: &str = "nats-server";

/// What the NATS panel says when the demo could not start a real server.
pub const MISSING_HINT: &str = "nats-server is not installed, so the demo's NATS is a stub without monitoring. \
Install it (apt install nats-server, brew install nats-server, or a release from \
github.com/nats-io/nats-server/releases) and start the demo again.";

/// `nats-server` on `path_var`, if there.
pub fn find_nats_server(path_var: Option<&OsStr>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .map(|dir| dir.join(NATS_SERVER))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `server` as the plan's NATS entry (client and monitoring ports as planned, JetStream
/// stored under `store_dir`) and makes every service stub connect to it; false when the plan
/// has no NATS entry with a monitoring and a client port.
pub fn use_nats_server(plan: &mut Plan, server: &Path, store_dir: &Path) -> bool {
    let (Some((_, monitor)), Some(client)) = (nats_monitor(plan), nats_client_port(plan)) else {
        return false;
    };
    let Some(entry) = plan
        .targets
        .iter()
        .find(|t| t.port == monitor && t.kind == crate::plan::ProbeKind::Nats)
        .map(|t| t.entry)
    else {
        return false;
    };
    let host = "127.0.0.1";
    let e = &mut plan.entries[entry.0];
    e.command = vec![
        server.display().to_string(),
        "--addr".into(),
        host.into(),
        "--port".into(),
        client.to_string(),
        "--http_port".into(),
        monitor.to_string(),
        "--jetstream".into(),
        "--store_dir".into(),
        store_dir.display().to_string(),
        "--server_name".into(),
        "anychat-demo".into(),
    ];
    let address = format!("{host}:{client}");
    for e in plan
        .entries
        .iter_mut()
        .filter(|e| e.kind == EntryKind::Service)
    {
        let program = e.command.first().map(|c| c.rsplit('/').next().unwrap_or(c));
        if program == Some(STUB_NAME) && !e.command.iter().any(|a| a == "--nats") {
            e.command.push("--nats".into());
            e.command.push(address.clone());
        }
    }
    true
}

/// Whether the plan's NATS entry runs a real nats-server.
pub fn runs_nats_server(plan: &Plan) -> bool {
    nats_monitor(plan).is_some_and(|(_, monitor)| {
        plan.targets.iter().filter(|t| t.port == monitor).any(|t| {
            plan.entries[t.entry.0]
                .command
                .first()
                .is_some_and(|c| c.rsplit('/').next() == Some(NATS_SERVER))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PlanOptions, Source, build_plan};

    #[test]
    fn the_demo_plan_runs_nats_server_and_connects_the_stubs() {
        let mut plan = build_plan(&[Source::demo()], &PlanOptions::default()).expect("demo plan");
        assert!(!runs_nats_server(&plan));
        let (_, monitor) = nats_monitor(&plan).expect("monitor");
        let client = nats_client_port(&plan).expect("client");
        assert_eq!((monitor, client), (8222, 4222));
        assert!(use_nats_server(
            &mut plan,
            Path::new("/usr/bin/nats-server"),
            Path::new("/tmp/x")
        ));
        assert!(runs_nats_server(&plan));
        let nats = &plan.entries[plan.entry_named("nats").expect("nats").0];
        let cmd = nats.command.join(" ");
        assert!(
            cmd.contains("--port 4222 --http_port 8222 --jetstream"),
            "{cmd}"
        );
        for e in plan.entries.iter().filter(|e| e.kind == EntryKind::Service) {
            let cmd = e.command.join(" ");
            assert!(cmd.ends_with("--nats 127.0.0.1:4222"), "{}: {cmd}", e.name);
        }
        // Twice does not add the flag twice.
        use_nats_server(
            &mut plan,
            Path::new("/usr/bin/nats-server"),
            Path::new("/tmp/x"),
        );
        let gw = &plan.entries[plan.entry_named("gateway-service").expect("gw").0];
        assert_eq!(gw.command.iter().filter(|a| *a == "--nats").count(), 1);
    }

    #[test]
    fn finds_nats_server_on_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(find_nats_server(Some(dir.path().as_os_str())), None);
        let exe = dir.path().join(NATS_SERVER);
        std::fs::write(&exe, "#!/bin/sh\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(find_nats_server(Some(dir.path().as_os_str())), Some(exe));
    }
}
