//! The `anychat-top` binary: parses the command line, loads the plan, and runs `check`, `demo` or the dashboard.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use color_eyre::eyre::eyre;
use ratatui::Viewport;

use anychat_top::action::Action;
use anychat_top::app::{App, Exit, Screen};
use anychat_top::check::Report;
use anychat_top::check_containers::check_containers;
use anychat_top::checkout::{ReadOptions, startup};
use anychat_top::cli::{Cli, Command};
use anychat_top::collect::trouble;
use anychat_top::collect::{ProbeConfig, sweep_plan};
use anychat_top::control::{GroupRegistry, STUB_NAME, SupervisorOptions, resolve_program};
use anychat_top::keymap::Keymap;
use anychat_top::layout::{builtin_layouts, resolve_layout};
use anychat_top::manifest::{ManifestError, Source};
use anychat_top::message;
use anychat_top::metrics;
use anychat_top::plan::Plan;
use anychat_top::portplan::command::{PortsQuery, run_ports};
use anychat_top::portplan::{check_plan, read_ephemeral_range};
use anychat_top::ports::{candidate_offsets, first_free_offset, taken_ports};
use anychat_top::state::State;
use anychat_top::terminal::{self, FrameWriter, TerminalGuard};
use anychat_top::view::ViewContext;
use anychat_top::view::theme::Theme;

fn main() -> color_eyre::Result<ExitCode> {
    color_eyre::install()?;
    let cli = Cli::parse();
    let bad = |e: ManifestError| {
        eprintln!("anychat-top: {e}");
        Ok(ExitCode::from(2))
    };
    match cli.command {
        Some(Command::Check { json }) => {
            let loaded = match load_plan(&cli) {
                Ok(loaded) => loaded,
                Err(e) => return bad(e),
            };
            let plan = &loaded.plan;
            let runtime = tokio::runtime::Runtime::new()?;
            let cfg = ProbeConfig {
                timeout: cli.plan.timeout,
            };
            let results = runtime.block_on(sweep_plan(plan, &cfg));
            let host = std::env::var("DOCKER_HOST").ok();
            let containers = runtime.block_on(check_containers(plan, host.as_deref(), cfg.timeout));
            let report = Report::new(plan, &results).with_containers(containers);
            if json {
                let text = runtime.block_on(metrics::commands::with_nats_stats(
                    with_drift(report.to_json(), &loaded),
                    plan,
                    cli.plan.timeout,
                ));
                println!("{text}");
            } else {
                print!("{}", report.to_table());
                print!("{}", startup::drift_text(loaded.drift()));
                print!("{}", startup::notes_text(loaded.notes()));
            }
            Ok(ExitCode::from(report.exit_code() as u8))
        }
        Some(Command::Metrics { ref service, json }) => {
            let loaded = match load_plan(&cli) {
                Ok(loaded) => loaded,
                Err(e) => return bad(e),
            };
            let plan = &loaded.plan;
            let prometheus = match prometheus_for(&cli, plan, Source::anychat) {
                Ok(p) => p,
                Err(code) => return Ok(code),
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let timeout = cli.plan.timeout.max(std::time::Duration::from_millis(1500));
            match runtime.block_on(metrics::commands::metrics_command(
                plan,
                service,
                json,
                prometheus.as_ref(),
                timeout,
                cli.ui.log_dir.as_deref(),
            )) {
                Ok(text) => {
                    print!("{text}");
                    if !text.ends_with('\n') {
                        println!();
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(why) => {
                    eprintln!("anychat-top: {why}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Some(Command::Ports { json, check, next }) => {
            let loaded = match load_plan(&cli) {
                Ok(loaded) => loaded,
                Err(e) => return bad(e),
            };
            let query = match (check, next) {
                (true, _) => PortsQuery::Check,
                (_, true) => PortsQuery::Next,
                _ => PortsQuery::Holders,
            };
            let (text, code) = run_ports(loaded.plan.clone(), cli.plan.port_offset, query, json);
            // The checkout's drift belongs to the plan check too.
            if check && json {
                println!("{}", with_drift(text, &loaded));
            } else {
                print!("{text}");
                if check {
                    print!("{}", startup::drift_text(loaded.drift()));
                    print!("{}", startup::notes_text(loaded.notes()));
                }
            }
            Ok(ExitCode::from(code as u8))
        }
        Some(Command::Demo) => {
            if !stub_available() {
                eprintln!(
                    "anychat-top: the demo needs `{STUB_NAME}` beside anychat-top or on PATH; \
                     build both with `cargo build --release` (or install them with `cargo install --path .`)"
                );
                return Ok(ExitCode::from(2));
            }
            let (mut plan, moved, moved_by) = match demo_plan(&cli) {
                Ok(found) => found,
                Err(e) => return bad(e),
            };
            let nats_store = demo_nats(&mut plan);
            if let Some(text) = &moved {
                eprintln!("anychat-top: {text}");
            }
            let code = dashboard(&cli, plan, Some(moved_by), moved.into_iter().collect(), 0);
            if let Some(dir) = nats_store {
                let _ = std::fs::remove_dir_all(dir);
            }
            code
        }
        Some(Command::Init { ref output }) => init(&cli, output.as_deref()),
        None => {
            let loaded = match load_plan(&cli) {
                Ok(loaded) => loaded,
                Err(e) => return bad(e),
            };
            let alerts = loaded.alerts();
            let drift = loaded.drift().len();
            dashboard(&cli, loaded.plan, None, alerts, drift)
        }
    }
}

/// The plan of `check` and the dashboard: `--config`, else the checkout (`--root` or found
/// from the current directory), else the built-in plan.
fn load_plan(cli: &Cli) -> Result<startup::Loaded, ManifestError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    startup::load(&cli.plan, &cwd, &ReadOptions::from_process())
}

/// `check --json` with the checkout's drift and notes added as `"drift": [...]`, `"notes": [...]`.
fn with_drift(report: String, loaded: &startup::Loaded) -> String {
    match serde_json::from_str::<serde_json::Value>(&report) {
        Ok(serde_json::Value::Object(mut obj)) => {
            obj.insert("drift".into(), startup::drift_json(loaded.drift()));
            obj.insert("notes".into(), loaded.notes().into());
            serde_json::to_string_pretty(&obj).unwrap_or(report)
        }
        _ => report,
    }
}

/// `anychat-top init [-o FILE]`: the manifest read from the checkout, to stdout or a new file.
fn init(cli: &Cli, output: Option<&std::path::Path>) -> color_eyre::Result<ExitCode> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let Some(root) = startup::discover(cli.plan.root.as_deref(), &cwd) else {
        let why = match &cli.plan.root {
            Some(root) => format!(
                "{} is not an AnyChat checkout (it needs cmd/ and go.mod or configs/)",
                root.display()
            ),
            None => format!(
                "no AnyChat checkout in {} or its parents; name one with --root DIR",
                cwd.display()
            ),
        };
        eprintln!("anychat-top: {why}");
        return Ok(ExitCode::from(2));
    };
    let checkout = match startup::read(&root, &ReadOptions::from_process()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("anychat-top: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    eprint!("{}", startup::notes_text(&checkout.notes));
    let Some(path) = output else {
        print!("{}", checkout.manifest);
        return Ok(ExitCode::SUCCESS);
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, checkout.manifest.as_bytes()));
    match written {
        Ok(()) => {
            eprintln!(
                "anychat-top: wrote {} ({} drift finding{}); use it with: anychat-top --root {} --config {}",
                path.display(),
                checkout.drift.len(),
                if checkout.drift.len() == 1 { "" } else { "s" },
                root.display(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "anychat-top: {} exists; not overwriting it (remove it or choose another -o)",
                path.display()
            );
            Ok(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("anychat-top: cannot write {}: {e}", path.display());
            Ok(ExitCode::from(2))
        }
    }
}

/// The demo's NATS: a real nats-server when installed; returns its JetStream directory (of
/// this run, removed at exit).
fn demo_nats(plan: &mut Plan) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH");
    let server = metrics::demo_nats::find_nats_server(path.as_deref())?;
    let store = std::env::temp_dir().join(format!("anychat-top-demo-nats-{}", std::process::id()));
    metrics::demo_nats::use_nats_server(plan, &server, &store).then_some(store)
}

/// The Prometheus source from `--prometheus` or the manifests; a bad one is said (exit 2).
fn prometheus_for(
    cli: &Cli,
    plan: &Plan,
    default: fn() -> Source,
) -> Result<Option<anychat_top::collect::prometheus_api::PromConfig>, ExitCode> {
    let sources = match cli.plan.sources(default) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("anychat-top: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let flag = cli.plan.prometheus.as_ref().map(|o| o.as_deref());
    metrics::commands::prometheus_config(flag, plan, &sources).map_err(|e| {
        eprintln!("anychat-top: {e}");
        ExitCode::from(2)
    })
}

/// Whether the bundled stub can be found the way the supervisor will look for it.
fn stub_available() -> bool {
    let exe = std::env::current_exe().ok();
    let path = std::env::var_os("PATH");
    let program = resolve_program(STUB_NAME, exe.as_deref(), path.as_deref());
    if program.components().count() > 1 {
        return program.is_file();
    }
    path.is_some_and(|p| std::env::split_paths(&p).any(|dir| dir.join(STUB_NAME).is_file()))
}

/// The demo plan at the first offset whose ports are all free, and what to say when it moved.
/// The demo plan, moved to free ports when its own are taken: the plan, what to say about the
/// move, and the offset it was moved by (beyond `--port-offset`).
fn demo_plan(cli: &Cli) -> Result<(Plan, Option<String>, i32), ManifestError> {
    let base = cli.plan.load(Source::demo, 0)?;
    let max_port = base.targets.iter().map(|t| t.port).max().unwrap_or(0);
    let taken = taken_ports(&base);
    if taken.is_empty() {
        return Ok((base, None, 0));
    }
    let offsets = candidate_offsets(max_port).into_iter().skip(1);
    if let Some((offset, plan)) = first_free_offset(offsets, |o| cli.plan.load(Source::demo, o))? {
        let text = format!(
            "ports {} are taken; the demo runs with --port-offset {}",
            join_ports(&taken),
            cli.plan.port_offset + offset
        );
        return Ok((plan, Some(text), offset));
    }
    Err(ManifestError {
        path: "services/demo.toml".into(),
        line: 0,
        column: 0,
        message: format!(
            "no free set of ports for the demo (taken: {})",
            join_ports(&taken)
        ),
    })
}

fn join_ports(ports: &[u16]) -> String {
    let shown: Vec<String> = ports.iter().take(8).map(u16::to_string).collect();
    let more = ports.len().saturating_sub(8);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Everything validated before the terminal goes full screen; then run the loop and restore.
fn dashboard(
    cli: &Cli,
    plan: Plan,
    // For the demo: how far it was moved to free ports (beyond --port-offset).
    demo: Option<i32>,
    notices: Vec<String>,
    drift: usize,
) -> color_eyre::Result<ExitCode> {
    let prometheus = match prometheus_for(
        cli,
        &plan,
        if demo.is_some() {
            Source::demo
        } else {
            Source::anychat
        },
    ) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let sources = cli.plan.sources(if demo.is_some() {
        Source::demo
    } else {
        Source::anychat
    });
    let watch = match sources.and_then(|s| metrics::commands::watch_names(&s)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("anychat-top: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let layout = match resolve_layout(cli.ui.layout.as_deref().unwrap_or("default")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("anychat-top: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let keymap_file = cli.ui.keymap.clone().or_else(default_keymap_file);
    let keymap = match &keymap_file {
        Some(path) => match Keymap::load(path) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("anychat-top: {e}");
                return Ok(ExitCode::from(2));
            }
        },
        None => Keymap::default_keymap(),
    };
    if let Some(dir) = &cli.ui.log_dir
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("anychat-top: --log-dir {}: {e}", dir.display());
        return Ok(ExitCode::from(2));
    }
    if !terminal::is_terminal() {
        eprintln!("anychat-top needs a terminal; use `anychat-top check` for scripts");
        return Ok(ExitCode::from(2));
    }
    // The chosen layout first, then the built-in ones it is not, for the cycle key.
    let chosen = layout.name.clone();
    let mut layouts = vec![layout];
    layouts.extend(builtin_layouts().into_iter().filter(|l| l.name != chosen));
    let plan = Arc::new(plan);
    let mut state = State::with_log_capacity(
        Arc::clone(&plan),
        layouts,
        cli.plan.interval,
        Instant::now(),
        cli.ui.log_lines,
    );
    for text in notices {
        state.notice(text);
    }
    state.ui.drift = drift;
    // The static port-plan check, as alerts; the demo may have been moved to free ports.
    let moved_by = demo.unwrap_or(0);
    state.plan_check_alerts(&check_plan(
        &plan,
        cli.plan.port_offset + moved_by,
        read_ephemeral_range().ok(),
    ));
    state.ui.utc = cli.ui.utc;
    if demo.is_some() && !metrics::demo_nats::runs_nats_server(&plan) {
        state.metrics_ui.nats_hint = Some(metrics::demo_nats::MISSING_HINT.into());
    }
    if let Some(p) = &prometheus {
        state.metrics.use_prometheus(&p.url, p.interval);
    }
    if let Some(watch) = watch {
        state.metrics.config.watch = watch;
    }
    // A layout named on the command line is the user's choice: shown whatever the size.
    state.ui.layout_pinned = cli.ui.layout.is_some();
    let local_zone = anychat_top::view::local_zone();
    let view = ViewContext::new(Theme::from_env(), keymap.help(), local_zone);
    // The watchdog is a fork of this process: made now, while it has a single thread.
    let groups = if cli.ui.leave_running {
        None
    } else {
        match GroupRegistry::with_watchdog() {
            Ok(groups) => Some(groups),
            Err(e) => {
                state.notice(format!(
                    "no watchdog process ({e}): if anychat-top is killed, what the services started may outlive it"
                ));
                Some(GroupRegistry::default())
            }
        }
    };
    let (updates_tx, updates_rx) = tokio::sync::mpsc::channel::<message::Update>(1024);
    trouble::install(updates_tx.clone());
    // One thread: the loop, the probe collector and the supervisor's readers wake each other
    // without crossing threads (measured: ~0.9 % of a core idle instead of ~1.15 %). Frames are
    // written by a thread of their own, and spawning happens on the supervisor's own
    // long-lived thread, so PR_SET_PDEATHSIG is unaffected.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let supervisor = SupervisorOptions {
        log_dir: cli.ui.log_dir.clone(),
        leave_running: cli.ui.leave_running,
        groups: groups.clone(),
    };
    let probe = ProbeConfig {
        timeout: cli.plan.timeout,
    };
    let mut app = App::new(state, keymap, view, probe, supervisor);
    app.exit_after_first_frame = cli.ui.exit_after_first_frame;
    app.debug_fail_after = cli.ui.debug_fail_after;
    app.prometheus = prometheus;
    app.port_scan_interval = cli.ui.port_scan_interval;
    app.live_metrics = !cli.ui.no_live_metrics;
    if demo.is_some() {
        // The stubs have no real dependencies on each other: start them all at once.
        app.initial_actions.push(Action::StartEverything);
    }
    let mut guard = TerminalGuard::new();
    let exit = (|| -> color_eyre::Result<Exit> {
        guard.enter()?;
        let (terminal, writer) = FrameWriter::spawn(std::io::stdout(), Viewport::Fullscreen)?;
        let mut screen = Screen {
            terminal,
            writer: Some(writer),
        };
        let exit = runtime.block_on(app.run(&mut screen, (updates_tx, updates_rx)));
        let Screen { terminal, writer } = screen;
        drop(terminal);
        if let Some(writer) = writer {
            writer.finish();
        }
        exit
    })();
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    drop(guard);
    match exit {
        Ok(Exit::Quit | Exit::Signal(_)) => Ok(ExitCode::SUCCESS),
        Ok(Exit::Failed(why)) => {
            eprintln!("anychat-top: {why}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            // The terminal could not be set up: nothing was started, so nothing to stop; the
            // watchdog is told goodbye so it does not linger.
            if let Some(groups) = &groups {
                groups.goodbye(false);
            }
            Err(eyre!(e))
        }
    }
}

/// `$XDG_CONFIG_HOME/anychat-top/keymap.toml` (or `~/.config/...`) when it exists.
fn default_keymap_file() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    let path = base.join("anychat-top").join("keymap.toml");
    path.is_file().then_some(path)
}
