//! `--port-offset` on real services: `bin/<name>` links to the stub (not shell scripts, which
//! would drop the dotted names) are started by the supervisor from a checkout plan, and the
//! environment they received is read back from `--print-env`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anychat_top::checkout::{self, ReadOptions};
use anychat_top::control::{Supervisor, SupervisorOptions};
use anychat_top::manifest::Source;
use anychat_top::message::{Command, Update};
use anychat_top::plan::{EntryId, Plan};
use anychat_top::ports::first_free_offset;
use tokio::sync::mpsc;

use crate::support::checkout::SyntheticCheckout;
use crate::support::process::wait_for_port;

const WAIT: Duration = Duration::from_secs(10);

/// Reads the JSON environment file the stub wrote, waiting for it to appear.
async fn env_written(path: &std::path::Path) -> BTreeMap<String, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(env) = serde_json::from_str(&text)
        {
            return env;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} not written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_second_copy_gets_shifted_ports_and_peer_addresses_with_dots_intact() {
    let c = SyntheticCheckout::upstream();
    c.bin_all_stubs();
    let read = checkout::read(
        c.root(),
        &[Source::anychat()],
        &ReadOptions {
            env: BTreeMap::new(),
            go_available: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // An offset at which every port of the plan is free and below the ephemeral range.
    let offsets = (1..=14).map(|k| k * 1000 + 100 * (std::process::id() as i32 % 10));
    let (offset, mut plan): (i32, Plan) = first_free_offset(offsets, |o| read.plan(o))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("a free offset");
    let names = ["auth-service", "gateway-service"];
    for name in names {
        let id = plan.entry_named(name).expect("in the plan");
        let file = c.root().join(format!("env-{name}.json"));
        plan.entries[id.0].env.insert(
            "ANYCHAT_STUB_PRINT_ENV".into(),
            file.to_string_lossy().into_owned(),
        );
    }
    let plan = Arc::new(plan);
    let (updates_tx, mut updates) = mpsc::channel(1024);
    let (commands, commands_rx) = mpsc::channel(16);
    let task = tokio::spawn(
        Supervisor::new(Arc::clone(&plan), updates_tx, SupervisorOptions::default())
            .run(commands_rx),
    );
    for name in names {
        let entry = plan.entry_named(name).expect("in the plan");
        commands
            .send(Command::Start { entry })
            .await
            .expect("supervisor alive");
    }
    let n = offset as u16;
    let auth = env_written(&c.root().join("env-auth-service.json")).await;
    let gateway = env_written(&c.root().join("env-gateway-service.json")).await;
    assert_eq!(auth.get("SERVER.HTTP_PORT"), Some(&(8001 + n).to_string()));
    assert_eq!(auth.get("SERVER.GRPC_PORT"), Some(&(9001 + n).to_string()));
    assert_eq!(
        gateway.get("GATEWAY.HTTP_PORT"),
        Some(&(8080 + n).to_string())
    );
    assert_eq!(gateway.get("SERVER.HTTP_PORT"), None);
    for (short, grpc) in [
        ("AUTH", 9001),
        ("USER", 9002),
        ("CONVERSATION", 9006),
        ("CALLING", 9009),
        ("ADMIN", 9011),
    ] {
        let want = format!("localhost:{}", grpc + n);
        assert_eq!(
            gateway.get(&format!("{short}_GRPC_ADDR")),
            Some(&want),
            "{short}"
        );
        assert_eq!(
            gateway.get(&format!("SERVICES.{short}.GRPC_ADDR")),
            Some(&want),
            "{short}"
        );
    }
    assert_eq!(
        gateway.get("NATS.URL"),
        Some(&format!("nats://localhost:{}", 4222 + n))
    );
    assert_eq!(
        auth.get("DATABASE.POSTGRES.PORT"),
        Some(&(5432 + n).to_string())
    );
    // The stub, started as bin/<name>, serves on what it was given: as a real service would.
    for port in [8001 + n, 9001 + n, 8080 + n] {
        assert!(wait_for_port(port, WAIT).await, "nothing listens on {port}");
    }
    drop(commands);
    tokio::time::timeout(WAIT, task)
        .await
        .expect("supervisor stops its children")
        .expect("no panic");
    let mut exited = 0;
    while let Ok(update) = updates.try_recv() {
        if let Update::ProcessExited {
            entry: EntryId(_), ..
        } = update
        {
            exited += 1;
        }
    }
    assert_eq!(exited, 2, "both services were stopped and reaped");
}
