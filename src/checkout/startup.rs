//! Which plan the binary runs on: `--config` manifests, else the AnyChat checkout named by
//! `--root` or found from the working directory, else the built-in plan; and the drift that
//! goes with it (for the alerts, `check` and `ports --check`).

use std::path::{Path, PathBuf};

use super::{Checkout, CheckoutError, Drift, ReadOptions, looks_like_checkout, mark_unbuilt};
use crate::cli::PlanArgs;
use crate::manifest::{ManifestError, PlanOptions, Source, build_plan};
use crate::plan::Plan;

/// The plan to run, and the checkout it was read from (if any).
#[derive(Debug)]
pub struct Loaded {
    pub plan: Plan,
    /// Set when the plan was read from a checkout (no `--config`).
    pub checkout: Option<Checkout>,
}

impl Loaded {
    /// The drift between the checkout and the built-in plan (empty without a checkout).
    pub fn drift(&self) -> &[Drift] {
        self.checkout.as_ref().map_or(&[], |c| c.drift.as_slice())
    }

    /// What reading the checkout could not use (a file that is not YAML, a value not read),
    /// in words; empty without a checkout.
    pub fn notes(&self) -> &[String] {
        self.checkout.as_ref().map_or(&[], |c| c.notes.as_slice())
    }

    /// What the dashboard says once at start-up: the drift ([`drift_alerts`]), then the notes
    /// (newest, so shown first: a file that could not be read matters most).
    pub fn alerts(&self) -> Vec<String> {
        let mut out = drift_alerts(self.drift());
        out.extend(self.notes().iter().map(|n| format!("checkout: {n}")));
        out
    }
}

/// The notes as text for a terminal (`check`, `init`): a heading and one a line.
pub fn notes_text(notes: &[String]) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nreading the checkout:\n");
    for n in notes {
        out.push_str("  - ");
        out.push_str(n);
        out.push('\n');
    }
    out
}

/// The checkout to read: `--root` when it looks like one, else the nearest of `cwd` and its
/// parents that is an AnyChat checkout (`go.mod` naming anychat, or an AnyChat service in
/// `cmd/`, so that any other Go project is left alone).
pub fn discover(root: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    match root {
        Some(root) => looks_like_checkout(root).then(|| absolute(root)),
        None => cwd
            .ancestors()
            .find(|d| looks_like_checkout(d) && is_anychat(d))
            .map(absolute),
    }
}

/// `go.mod` mentions AnyChat, or `cmd/` holds one of its services.
fn is_anychat(dir: &Path) -> bool {
    let module = std::fs::read_to_string(dir.join("go.mod")).unwrap_or_default();
    module.to_ascii_lowercase().contains("anychat")
        || ["auth-service", "gateway-service", "message-service"]
            .iter()
            .any(|s| dir.join("cmd").join(s).is_dir())
}

fn absolute(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// The plan for `check` and the dashboard. With `--config`: those manifests (relative to
/// `--root` when given; missing `bin/` programs marked not built). Without: the checkout read
/// over the built-in plan when there is one ([`discover`]), else the built-in plan as it is.
pub fn load(args: &PlanArgs, cwd: &Path, opts: &ReadOptions) -> Result<Loaded, ManifestError> {
    let root = args.root.as_deref().map(absolute);
    if !args.config.is_empty() {
        let mut plan = build_plan(
            &args.sources(Source::anychat)?,
            &PlanOptions {
                port_offset: args.port_offset,
                root: root.clone(),
            },
        )?;
        if root.is_some() {
            mark_unbuilt(&mut plan);
        }
        return Ok(Loaded {
            plan,
            checkout: None,
        });
    }
    if let Some(dir) = discover(root.as_deref(), cwd) {
        let checkout = read(&dir, opts)?;
        let plan = checkout.plan(args.port_offset)?;
        return Ok(Loaded {
            plan,
            checkout: Some(checkout),
        });
    }
    let mut plan = build_plan(
        &[Source::anychat()],
        &PlanOptions {
            port_offset: args.port_offset,
            root: root.clone(),
        },
    )?;
    if root.is_some() {
        mark_unbuilt(&mut plan);
    }
    Ok(Loaded {
        plan,
        checkout: None,
    })
}

/// Read `dir` over the built-in plan; any error as a manifest error naming the directory.
pub fn read(dir: &Path, opts: &ReadOptions) -> Result<Checkout, ManifestError> {
    super::read(dir, &[Source::anychat()], opts).map_err(|e| match e {
        CheckoutError::Manifest(m) => m,
        e @ CheckoutError::NotACheckout { .. } => ManifestError {
            path: dir.to_path_buf(),
            line: 0,
            column: 0,
            message: e.to_string(),
        },
    })
}

/// One line per finding (what `check` and `ports --check` print).
pub fn drift_lines(drift: &[Drift]) -> Vec<String> {
    drift.iter().map(ToString::to_string).collect()
}

/// The findings as JSON: `[{kind, subject, plan_value, found_value, file, line, text}]`.
pub fn drift_json(drift: &[Drift]) -> serde_json::Value {
    drift
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("text".into(), d.to_string().into());
            }
            v
        })
        .collect()
}

/// The drift as text for a terminal: a heading and one finding a line; empty without drift.
pub fn drift_text(drift: &[Drift]) -> String {
    if drift.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nplan drift: {} finding{} between the checkout and the built-in plan\n",
        drift.len(),
        if drift.len() == 1 { "" } else { "s" }
    );
    for line in drift_lines(drift) {
        out.push_str("  - ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The alerts said once at start-up: each finding, then (newest, so shown first) how many.
pub fn drift_alerts(drift: &[Drift]) -> Vec<String> {
    if drift.is_empty() {
        return Vec::new();
    }
    let mut out = drift_lines(drift);
    out.push(format!(
        "plan drift: {} finding{} (`anychat-top check` lists them)",
        drift.len(),
        if drift.len() == 1 { "" } else { "s" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::DriftKind;

    fn drift(kind: DriftKind, subject: &str) -> Drift {
        Drift {
            kind,
            subject: subject.into(),
            plan_value: "8001".into(),
            found_value: "8101".into(),
            file: "cmd/auth-service/main.go".into(),
            line: Some(12),
        }
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = d.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    #[test]
    fn the_checkout_is_found_in_the_parents_and_other_go_projects_are_not() {
        let anychat = dir_with(&[
            ("go.mod", "module github.com/AnyChat/server\n"),
            ("cmd/x/main.go", "package main\n"),
            ("internal/auth/a.go", "package auth\n"),
        ]);
        let found = discover(None, &anychat.path().join("internal/auth"));
        assert_eq!(found, Some(absolute(anychat.path())));
        // A module that names no AnyChat, but with its services in cmd/.
        let renamed = dir_with(&[
            ("go.mod", "module example.com/fork\n"),
            ("cmd/auth-service/main.go", "package main\n"),
        ]);
        assert!(discover(None, renamed.path()).is_some());
        let shop = dir_with(&[
            ("go.mod", "module example.com/shop\n"),
            ("cmd/shopd/main.go", "package main\n"),
        ]);
        assert_eq!(discover(None, shop.path()), None);
        // --root is taken at its word when it looks like a checkout, whatever the module.
        assert_eq!(
            discover(Some(shop.path()), Path::new("/")),
            Some(absolute(shop.path()))
        );
        // A --root without cmd/ is no checkout (the built-in plan runs from it).
        let plain = dir_with(&[("bin/auth-service", "#!/bin/sh\n")]);
        assert_eq!(discover(Some(plain.path()), anychat.path()), None);
    }

    #[test]
    fn drift_reads_as_lines_json_text_and_alerts_with_the_count_last() {
        let d = vec![
            drift(DriftKind::PortDiffers, "auth-service http port"),
            drift(DriftKind::UnknownService, "version-service"),
        ];
        let lines = drift_lines(&d);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("8001") && lines[0].contains("8101"));
        assert!(
            lines[0].contains("cmd/auth-service/main.go:12"),
            "{}",
            lines[0]
        );
        let json = drift_json(&d);
        assert_eq!(json[0]["kind"], "port_differs");
        assert_eq!(json[0]["line"], 12);
        assert_eq!(json[1]["text"], lines[1].as_str());
        let text = drift_text(&d);
        assert!(text.starts_with("\nplan drift: 2 findings"), "{text}");
        assert!(text.contains(&format!("  - {}\n", lines[1])), "{text}");
        let alerts = drift_alerts(&d);
        assert_eq!(alerts[..2], lines[..]);
        assert!(alerts[2].starts_with("plan drift: 2 findings"));
        assert!(alerts[2].chars().count() < 72, "{}", alerts[2]);
        assert!(drift_text(&[]).is_empty() && drift_alerts(&[]).is_empty());
    }
}
