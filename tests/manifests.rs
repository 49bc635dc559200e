//! Manifests as people write them, end to end: commands full of braces that are not
//! placeholders run unchanged (spawned by the supervisor), and a remote entry is probed on its
//! own host (a second loopback address, 127.0.0.2).

mod support;

use std::sync::Arc;
use std::time::Duration;

use anychat_top::collect::{ProbeConfig, probers, sweep};
use anychat_top::control::{Supervisor, SupervisorOptions};
use anychat_top::health::ProbeState;
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::message::{Command, Update};
use anychat_top::plan::Plan;
use support::process::{ChildGuard, free_port, wait_for_port};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

fn plan(text: &str) -> Plan {
    let source = Source {
        path: "people.toml".into(),
        text: text.to_string(),
    };
    build_plan(&[source], &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Starts every entry of `plan` and returns the lines each wrote until it exited.
async fn run_all(plan: Plan) -> Vec<Vec<String>> {
    let plan = Arc::new(plan);
    let (updates_tx, mut updates) = mpsc::channel(256);
    let (commands, commands_rx) = mpsc::channel(16);
    let supervisor = Supervisor::new(Arc::clone(&plan), updates_tx, SupervisorOptions::default());
    let task = tokio::spawn(supervisor.run(commands_rx));
    for i in 0..plan.entries.len() {
        let entry = anychat_top::plan::EntryId(i);
        commands
            .send(Command::Start { entry })
            .await
            .expect("supervisor alive");
    }
    let mut lines = vec![Vec::new(); plan.entries.len()];
    let mut exited = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while exited < plan.entries.len() {
        let update = tokio::time::timeout_at(deadline, updates.recv())
            .await
            .unwrap_or_else(|_| panic!("not every command exited; lines so far: {lines:?}"))
            .expect("updates open");
        match update {
            Update::LogLines {
                entry, lines: l, ..
            } => {
                lines[entry.0].extend(l.into_iter().map(|l| l.text));
            }
            Update::ProcessExited { .. } => exited += 1,
            Update::ProcessSpawnFailed { error, .. } => panic!("spawn failed: {error}"),
            _ => {}
        }
    }
    // The last lines may arrive after the exit.
    while let Ok(Some(update)) =
        tokio::time::timeout(Duration::from_millis(200), updates.recv()).await
    {
        if let Update::LogLines {
            entry, lines: l, ..
        } = update
        {
            lines[entry.0].extend(l.into_iter().map(|l| l.text));
        }
    }
    drop(commands);
    tokio::time::timeout(WAIT, task)
        .await
        .expect("supervisor shut down")
        .expect("no panic");
    lines
}

#[tokio::test]
async fn shell_variables_awk_and_json_arguments_run_unchanged() {
    let home = std::env::var("HOME").unwrap_or_default();
    let plan = plan(
        r#"
[[service]]
name = "shell"
http_port = 18001
command = ["sh", "-c", "echo home=${HOME} port={http_port} literal={{http_port}}"]

[[service]]
name = "awk"
command = ["sh", "-c", "echo 'first second' | awk '{print $1}'"]

[[service]]
name = "json"
command = ["printf", "%s\n", '{"service":{"port":8001},"tags":["a","b"]}']
env = { SHELL_DEFAULT = "${PORT:-8001}" }
"#,
    );
    assert_eq!(plan.entries[2].env["SHELL_DEFAULT"], "${PORT:-8001}");
    let lines = run_all(plan).await;
    assert_eq!(
        lines[0],
        [format!("home={home} port=18001 literal={{http_port}}")]
    );
    assert_eq!(lines[1], ["first"]);
    assert_eq!(lines[2], [r#"{"service":{"port":8001},"tags":["a","b"]}"#]);
}

#[tokio::test]
async fn a_remote_entry_is_probed_on_its_host_not_on_ours() {
    let port = free_port();
    let mut stub = ChildGuard::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_anychat-stub")).args([
            "--name",
            "far-service",
            "--bind",
            "127.0.0.2",
            "--http-port",
            &port.to_string(),
            "--quiet-health",
            "--log-interval",
            "0s",
        ]),
    );
    let plan = plan(&format!(
        "[[service]]\nname = \"far\"\nhost = \"127.0.0.2\"\nhttp_port = {port}\n\n\
         [[service]]\nname = \"near\"\nhttp_port = {port}\n"
    ));
    assert!(plan.entries[0].is_remote());
    assert!(plan.entries[0].command.is_empty());
    let deadline = tokio::time::Instant::now() + WAIT;
    let cfg = ProbeConfig {
        timeout: Duration::from_secs(1),
    };
    loop {
        let mut probes = probers(&plan, &cfg);
        let results = sweep(&mut probes).await;
        if results[0].state == ProbeState::Up {
            // Same port on this host's usual address: nothing there.
            assert_eq!(results[1].state, ProbeState::Down, "{:?}", results[1]);
            break;
        }
        assert!(
            stub.exited().is_none(),
            "the stub could not bind 127.0.0.2:{port}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "127.0.0.2:{port} never answered: {:?}",
            results[0]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!wait_for_port(port, Duration::from_millis(100)).await);
}

/// The README's smallest manifest loads as written.
#[test]
fn the_smallest_manifest_of_the_readme_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, after) = text
        .split_once("The smallest manifest")
        .expect("the README shows the smallest manifest");
    let (_, block) = after.split_once("```toml\n").expect("in a toml block");
    let (block, _) = block.split_once("```").expect("a closed block");
    let plan = plan(block);
    assert_eq!(plan.entries.len(), 1, "{block}");
    let e = &plan.entries[0];
    assert_eq!(e.group, "other");
    assert!(!e.command.is_empty());
    assert_eq!(e.targets.len(), 1);
    assert_eq!(plan.targets[0].label, "http");
}
