//! Command-line interface, and the one place where command line, files and defaults are resolved.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::manifest::{ManifestError, PlanOptions, Source, build_plan, read_sources};
use crate::plan::Plan;

/// A terminal dashboard for developing the AnyChat chat backend.
#[derive(Debug, Parser)]
#[command(name = "anychat-top", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// Which manifests, shifted how, probed how often.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Manifest file or directory of *.toml manifests (repeatable); default: the AnyChat checkout (--root, or found from the current directory) over the built-in plan, else the built-in plan.
    #[arg(short, long = "config", value_name = "FILE|DIR", global = true)]
    pub config: Vec<PathBuf>,
    /// Add N to every port of the plan (run a second copy beside the first).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true,
        global = true
    )]
    pub port_offset: i32,
    /// The AnyChat checkout (default: the one the current directory is in): its services, ports and infra are read, services run from here, commands like bin/auth-service are relative to it.
    #[arg(long, value_name = "DIR", value_parser = existing_dir, global = true)]
    pub root: Option<PathBuf>,
    /// Time between two probes of the same target.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = positive_duration, global = true)]
    pub interval: Duration,
    /// Time after which a probe gives up and reports the target down.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = positive_duration, global = true)]
    pub timeout: Duration,
    /// Take up/down and the metrics from this Prometheus server's HTTP API (without a URL: the
    /// plan's own Prometheus); overrides a manifest's [prometheus] table.
    #[arg(long, value_name = "URL", num_args = 0..=1, global = true)]
    pub prometheus: Option<Option<String>>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe every target of the plan once and print the result; exit 0 when every required target is up, 1 otherwise, 2 on a bad manifest.
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a service's current metrics (request rate, errors, p95, goroutines, memory, CPU)
    /// from its endpoint (two scrapes 2 s apart) or from Prometheus (--prometheus).
    Metrics {
        /// The service's name in the plan (auth-service).
        service: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start the bundled stub for every entry of the demo plan (shifted to free ports if needed) and open the dashboard on them.
    Demo,
    /// Print the manifest anychat-top would use for the AnyChat checkout (`--root`, or found from the current directory), commented, for you to edit.
    Init {
        /// Write it to FILE instead of stdout (an existing file is left alone).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Every planned port with its state and holder (from the kernel's socket tables), the unplanned listeners in the plan's port blocks, and the conflicts; exit 0 when no error conflict, 1 when one, 2 when the scan failed or the manifest is bad.
    Ports {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Check the plan itself instead: two entries on one port (exit 1), ports against the plan's numbering rules and inside the ephemeral range (warnings).
        #[arg(long, conflicts_with = "next")]
        check: bool,
        /// Print the next free HTTP/gRPC pair for a new service.
        #[arg(long)]
        next: bool,
    },
}

/// Dashboard settings (ignored by `check`).
#[derive(Debug, Clone, clap::Args)]
pub struct UiArgs {
    /// Panel layout: a built-in name (default, compact, focus, ports, metrics, explorer) or a layout file. Without it the
    /// dashboard shows `default`, or a layout that fits a small terminal.
    #[arg(long, value_name = "NAME|FILE", global = true)]
    pub layout: Option<String>,
    /// Keymap file overriding the default bindings (`"key" = "action"` lines).
    #[arg(long, value_name = "FILE", global = true)]
    pub keymap: Option<PathBuf>,
    /// Also append each service's output to DIR/<name>.log.
    #[arg(long, value_name = "DIR", global = true)]
    pub log_dir: Option<PathBuf>,
    /// On quit, leave the services anychat-top started running instead of stopping them.
    #[arg(long, global = true)]
    pub leave_running: bool,
    /// Lines of output kept per service.
    #[arg(long, value_name = "N", default_value_t = crate::state::DEFAULT_LOG_LINES, value_parser = positive_count, global = true)]
    pub log_lines: usize,
    /// Show log times in UTC (default: the local zone, from TZ or the system's); `z` switches.
    #[arg(long, global = true)]
    pub utc: bool,
    /// Time between two scans of the listening sockets (who holds each planned port).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = positive_duration, global = true)]
    pub port_scan_interval: Duration,
    /// Draw the first frame and quit (for measuring start-up time).
    #[arg(long, hide = true, global = true)]
    pub exit_after_first_frame: bool,
    /// Run no metrics, NATS or Prometheus collector (for measuring what they cost).
    #[arg(long, hide = true, global = true)]
    pub no_live_metrics: bool,
    /// Make a collector task panic after this long (for testing the exit on a failure).
    #[arg(long, hide = true, value_name = "DURATION", value_parser = positive_duration, global = true)]
    pub debug_fail_after: Option<Duration>,
}

/// A humantime duration greater than zero (`250ms`, `1s`, `1m`).
fn positive_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e} (e.g. 250ms, 1s, 2m)"))?;
    if d.is_zero() {
        return Err("must be more than zero (e.g. 250ms, 1s)".into());
    }
    Ok(d)
}

/// A count of at least one.
fn positive_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}")),
    }
}

impl PlanArgs {
    /// The manifests selected: `--config` files, or `default` when none is given.
    pub fn sources(&self, default: fn() -> Source) -> Result<Vec<Source>, ManifestError> {
        if self.config.is_empty() {
            Ok(vec![default()])
        } else {
            read_sources(&self.config)
        }
    }

    /// Load and validate the selected plan, shifted by `--port-offset` plus `extra_offset`.
    pub fn load(&self, default: fn() -> Source, extra_offset: i32) -> Result<Plan, ManifestError> {
        let options = PlanOptions {
            port_offset: self.port_offset + extra_offset,
            root: self.root.clone(),
        };
        build_plan(&self.sources(default)?, &options)
    }
}

/// A path that names an existing directory.
fn existing_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(path),
        Ok(_) => Err("not a directory".into()),
        Err(e) => Err(e.to_string()),
    }
}
