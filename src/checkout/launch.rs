//! How a checkout's service is started: `bin/<name>` when built, else `go run ./cmd/<name>`
//! when Go is installed, else not at all ("not built"); missing and stale binaries are drift.

use std::path::PathBuf;
use std::time::SystemTime;

use super::drift::{DriftKind, age_between};
use super::merge::{Inputs, Merged};
use super::scan::{Binary, CmdService};

/// What a service says when it can be neither run from `bin/` nor with `go run`.
pub const NOT_BUILT: &str = "not built: run `mage build:all`";

/// `bin/<name>` when built, else `go run ./cmd/<name>` when Go is installed, else `bin/<name>`
/// marked not built; missing and stale binaries are drift.
pub fn command(
    input: &Inputs,
    name: &str,
    cmd: Option<&CmdService>,
    bin_only: Option<&Binary>,
    comments: &mut Vec<String>,
    out: &mut Merged,
) -> Vec<String> {
    let bin_path = PathBuf::from("bin").join(name);
    let binary = cmd.and_then(|c| c.binary.as_ref()).or(bin_only);
    if let Some(b) = binary.filter(|b| b.executable) {
        let sources = [
            cmd.and_then(|c| c.newest.as_ref()),
            input.scan.newest_shared.as_ref(),
        ];
        let newest = sources.into_iter().flatten().max_by_key(|n| n.modified);
        if let (Some(n), Some(built)) = (newest, b.modified)
            && n.modified > built
        {
            let plan = format!(
                "{} changed {} later",
                n.path.display(),
                age_between(built, n.modified)
            );
            let found = format!("built {} ago", age_between(built, SystemTime::now()));
            out.drift(
                DriftKind::BinaryStale,
                name.to_string(),
                plan,
                found,
                &b.path,
                None,
            );
            comments.push(format!(
                "{} is older than {}: rebuild it",
                b.path.display(),
                n.path.display()
            ));
        }
        return vec![format!("bin/{name}")];
    }
    let why = if binary.is_some() {
        "not executable"
    } else {
        "not built"
    };
    if cmd.is_some() {
        let hint = if input.go_available {
            "meanwhile `go run ./cmd/...` is used"
        } else {
            "run `mage build:all`"
        };
        out.drift(
            DriftKind::BinaryMissing,
            name.to_string(),
            hint.into(),
            why.into(),
            &bin_path,
            None,
        );
    }
    if input.go_available && cmd.is_some() {
        comments.push(format!(
            "{} is {why}: `go run` until `mage build:all` builds it",
            bin_path.display()
        ));
        return vec!["go".into(), "run".into(), format!("./cmd/{name}")];
    }
    comments.push(format!("{}: {NOT_BUILT}", bin_path.display()));
    vec![format!("bin/{name}")]
}
