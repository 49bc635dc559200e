//! Reading a real AnyChat checkout (`--root DIR`, or the current directory): services from
//! `cmd/` and `bin/`, ports from `main.go`, addresses from `configs/config.yaml`, infra from
//! the compose file, over the built-in plan; the result is a manifest (what `init` writes), the
//! plan built from it, and the drift between checkout and plan.

pub mod addresses;
pub mod compose;
pub mod config;
pub mod drift;
pub mod go_main;
pub mod infra;
pub mod launch;
pub mod merge;
pub mod metrics;
pub mod render;
pub mod scan;
pub mod service_ports;
pub mod startup;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::manifest::load::parse;
use crate::manifest::{ManifestError, PlanOptions, Source, build_plan};
use crate::plan::{EntryKind, Plan};

pub use drift::{Drift, DriftKind};
pub use launch::NOT_BUILT;

/// What reading depends on besides the files: the environment `${VAR:default}` and compose
/// interpolation resolve against, and whether `go` can run services from source.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub env: BTreeMap<String, String>,
    pub go_available: bool,
}

impl ReadOptions {
    /// This process's environment, and `go` looked up on its `PATH`.
    pub fn from_process() -> ReadOptions {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let go_available = env.get("PATH").is_some_and(|path| {
            std::env::split_paths(path).any(|dir| is_executable(&dir.join("go")))
        });
        ReadOptions { env, go_available }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A directory that is not an AnyChat checkout, or a base manifest that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutError {
    NotACheckout { root: PathBuf, why: String },
    Manifest(ManifestError),
}

impl fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckoutError::NotACheckout { root, why } => {
                write!(f, "{}: not an AnyChat checkout ({why})", root.display())
            }
            CheckoutError::Manifest(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CheckoutError {}

/// A checkout as read: the manifest written from it, drift, and notes in words.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub root: PathBuf,
    /// The commented manifest TOML (`anychat-top init` writes this).
    pub manifest: String,
    pub drift: Vec<Drift>,
    /// Things worth knowing that are not drift (unreadable values, defaults used).
    pub notes: Vec<String>,
}

/// `cmd/` plus `go.mod` or `configs/`.
pub fn looks_like_checkout(dir: &Path) -> bool {
    dir.join("cmd").is_dir() && (dir.join("go.mod").is_file() || dir.join("configs").is_dir())
}

/// `start` or the nearest of its parents that looks like a checkout.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| looks_like_checkout(d))
        .map(Path::to_path_buf)
}

/// Read the checkout at `root` over the `base` plan (the built-in one: `Source::anychat()`).
pub fn read(root: &Path, base: &[Source], opts: &ReadOptions) -> Result<Checkout, CheckoutError> {
    if !root.join("cmd").is_dir() {
        return Err(CheckoutError::NotACheckout {
            root: root.to_path_buf(),
            why: "no cmd/ directory".into(),
        });
    }
    let files = base
        .iter()
        .map(parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(CheckoutError::Manifest)?;
    let scan = scan::scan(root);
    let mut notes = scan.problems.clone();
    let config = match config::ConfigFacts::read(root, &opts.env) {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            notes.push(e);
            None
        }
        None => None,
    };
    let compose = match compose::ComposeFacts::read(root, &opts.env) {
        Some(Ok(c)) => {
            notes.extend(c.problems.iter().cloned());
            if let Some(e) = &c.error {
                notes.push(format!(
                    "{}: not YAML ({e}): infra kept from the plan",
                    c.path.display()
                ));
            }
            Some(c).filter(|c| c.error.is_none())
        }
        Some(Err(e)) => {
            notes.push(e);
            None
        }
        None => {
            notes.push(
                "no deployments/docker-compose.yml: infra kept from the built-in plan".into(),
            );
            None
        }
    };
    let input = merge::Inputs {
        scan: &scan,
        config: config.as_ref(),
        compose: compose.as_ref(),
        plan_services: files.iter().flat_map(|f| &f.service).collect(),
        plan_infra: files.iter().flat_map(|f| &f.infra).collect(),
        go_available: opts.go_available,
    };
    let mut merged = merge::Merged::default();
    infra::infra(&input, &mut merged);
    merge::services(&input, &mut merged);
    addresses::addresses(&input, &mut merged);
    merged.notes.splice(0..0, notes);
    // Grouped by kind, in the order found within a kind.
    merged.drift.sort_by_key(|d| d.kind);
    let header = header(root, &merged);
    Ok(Checkout {
        root: root.to_path_buf(),
        manifest: render::render(&header, &merged.env, &merged.services, &merged.infra),
        drift: merged.drift,
        notes: merged.notes,
    })
}

fn header(root: &Path, merged: &merge::Merged) -> Vec<String> {
    let mut lines = vec![
        format!("anychat-top manifest for the AnyChat checkout at {}", root.display()),
        "written by `anychat-top init`: what anychat-top reads from the checkout over its built-in plan."
            .to_string(),
        format!("Use it with: anychat-top --root {} --config THIS_FILE", root.display()),
        "Ports: cmd/*/main.go defaults and configs/config.yaml; infra: deployments/docker-compose.yml."
            .to_string(),
        "Placeholders ({http_port}, {port:ENTRY/LABEL}, ...) are filled in after --port-offset.".to_string(),
    ];
    if !merged.drift.is_empty() {
        lines.push(String::new());
        lines.push("Drift between the checkout and the built-in plan:".into());
        lines.extend(merged.drift.iter().map(|d| format!("  - {d}")));
    }
    lines
}

impl Checkout {
    /// The manifest as a source, named after the checkout.
    pub fn source(&self) -> Source {
        Source {
            path: self
                .root
                .join("(read from the checkout; `anychat-top init` prints it)"),
            text: self.manifest.clone(),
        }
    }

    /// The plan: the manifest validated with the checkout as root and working directory,
    /// shifted by `port_offset`, unbuilt services marked.
    pub fn plan(&self, port_offset: i32) -> Result<Plan, ManifestError> {
        let options = PlanOptions {
            port_offset,
            root: Some(self.root.clone()),
        };
        let mut plan = build_plan(&[self.source()], &options)?;
        mark_unbuilt(&mut plan);
        Ok(plan)
    }
}

/// Services whose program is a missing `…/bin/<name>` cannot start: their command is cleared
/// and [`NOT_BUILT`] says why (for any plan loaded with `--root`).
pub fn mark_unbuilt(plan: &mut Plan) {
    for e in plan
        .entries
        .iter_mut()
        .filter(|e| e.kind == EntryKind::Service)
    {
        let Some(program) = e.command.first().map(Path::new) else {
            continue;
        };
        let in_bin = program
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "bin");
        if program.is_absolute() && in_bin && !program.exists() {
            e.command.clear();
            e.not_startable = Some(NOT_BUILT.to_string());
        }
    }
}

#[cfg(test)]
mod tests;
