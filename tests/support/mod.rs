//! Helpers shared by the probe tests and the sweep benchmark: free ports, child-process
//! guards, the skip rule for missing server binaries, and in-process servers on loopback.
#![allow(dead_code)]

pub mod checkout;
pub mod process;
pub mod prometheus;
pub mod servers;
pub mod tmux;

use anychat_top::plan::{EntryId, ProbeKind, ProbeSpec, Target};

/// A loopback target of `kind` on `port`, with the kind's default probe.
pub fn target(kind: ProbeKind, port: u16) -> Target {
    target_with(kind, port, kind.spec(None))
}

/// A loopback target with an explicit probe (e.g. a gRPC service name).
pub fn target_with(kind: ProbeKind, port: u16, probe: ProbeSpec) -> Target {
    Target {
        entry: EntryId(0),
        label: kind.as_str().to_string(),
        host: "127.0.0.1".to_string(),
        port,
        kind,
        probe,
        required: true,
    }
}
