//! Time to draw one frame of a 200-service plan: the default layout at 200×50 and the compact
//! layout at 80×24, with full latency histories, some targets down, and logs on screen.
//! Prints figures (median, p90, min); asserts nothing about time. Run with
//! `cargo bench --bench frame`; add `-- --frames N` to change the number of measured frames,
//! `-- --show` to print the screens being drawn.

use std::cell::Cell;
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anychat_top::action::Action;
use anychat_top::health::{ProbeResult, ProbeState};
use anychat_top::keymap::Keymap;
use anychat_top::layout::builtin_layouts;
use anychat_top::manifest::{PlanOptions, Source, build_plan};
use anychat_top::message::{Command, LogLine, Stream, Update};
use anychat_top::plan::{EntryId, TargetId};
use anychat_top::state::State;
use anychat_top::view::theme::Theme;
use anychat_top::view::{ViewContext, draw};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{TerminalOptions, Viewport};

const SERVICES: usize = 200;
const GROUPS: [&str; 8] = [
    "core",
    "social",
    "message",
    "media",
    "search",
    "billing",
    "ops",
    "extension",
];
/// Probe results fed to every target: enough to fill the 60-sample latency history.
const ROUNDS: u64 = 60;
/// Lines written by the selected service (three others write 100 each).
const LOG_LINES: usize = 2_000;
const WARMUP_FRAMES: usize = 200;
const DEFAULT_FRAMES: usize = 2_000;
/// Frames drawn one at a time after a pause, as the idle dashboard draws them.
const COLD_FRAMES: usize = 20;
const COLD_GAP: Duration = Duration::from_millis(250);
/// The target for one frame of the default layout at 200×50.
const TARGET: Duration = Duration::from_millis(1);

/// A manifest with `SERVICES` services (HTTP, gRPC and metrics ports each) in eight groups,
/// and six infra entries.
fn manifest() -> String {
    let mut text = String::new();
    for i in 0..SERVICES {
        let group = GROUPS[i % GROUPS.len()];
        let depends = match i % 4 {
            0 => r#"["postgres", "redis"]"#,
            1 => r#"["nats"]"#,
            2 => r#"["postgres", "minio"]"#,
            _ => "[]",
        };
        let _ = write!(
            text,
            r#"
[[service]]
name = "{group}-svc-{i:03}"
group = "{group}"
description = "Generated service number {i} of the {group} group"
command = ["anychat-stub", "--name", "{{name}}", "--http-port", "{{http_port}}", "--grpc-port", "{{grpc_port}}", "--metrics-port", "{{metrics_port}}"]
http_port = {http}
grpc_port = {grpc}
metrics_port = {metrics}
depends_on = {depends}
restart = "on-failure"
"#,
            http = 20_000 + i,
            grpc = 21_000 + i,
            metrics = 22_000 + i,
        );
    }
    let infra = [
        (
            "postgres",
            "infrastructure",
            true,
            r#"{ port = 5432, probe = "postgres" }"#,
        ),
        (
            "redis",
            "infrastructure",
            true,
            r#"{ port = 6379, probe = "redis" }"#,
        ),
        (
            "nats",
            "infrastructure",
            true,
            r#"{ port = 4222, probe = "tcp", label = "client" }, { port = 8222, probe = "nats", label = "monitor" }"#,
        ),
        (
            "minio",
            "infrastructure",
            true,
            r#"{ port = 9000, probe = "minio", label = "api" }, { port = 9091, probe = "http", label = "console" }"#,
        ),
        (
            "prometheus",
            "monitoring",
            false,
            r#"{ port = 9090, probe = "prometheus" }"#,
        ),
        (
            "grafana",
            "monitoring",
            false,
            r#"{ port = 3000, probe = "grafana" }"#,
        ),
    ];
    for (name, category, required, ports) in infra {
        let _ = write!(
            text,
            r#"
[[infra]]
name = "{name}"
category = "{category}"
description = "{name}, generated"
container = "anychat-{name}"
required = {required}
ports = [{ports}]
"#
        );
    }
    text
}

/// What target `t` of entry `e` answers in probe round `k` (1-based): mostly up, a few
/// services down or unhealthy near the end, some metrics ports never up, grafana gone.
fn result(state: &State, t: usize, k: u64) -> ProbeResult {
    let target = &state.plan.targets[t];
    let e = target.entry.0;
    let name = state.plan.entries[e].name.as_str();
    let latency = Duration::from_micros(200 + ((t as u64 * 7 + k * 13) % 97) * 37);
    let metrics_never_up = target.label == "metrics" && e.is_multiple_of(11);
    let (probe_state, detail) = if metrics_never_up || (e % 23 == 5 && k > 50) {
        (ProbeState::Down, "connect: connection refused".to_string())
    } else if e % 31 == 7 && k > 55 {
        (
            ProbeState::Unhealthy,
            r#"HTTP 503 {"status":"degraded"}"#.to_string(),
        )
    } else if name == "grafana" && k > 40 {
        (ProbeState::Down, "timed out after 1s".to_string())
    } else {
        (ProbeState::Up, "HTTP 200".to_string())
    };
    ProbeResult::new(probe_state, latency, detail)
}

/// A zap JSON line, a plain line, or a line with colour escapes, as services write them.
fn log_line(entry: &str, n: usize) -> LogLine {
    let text = match n % 10 {
        0 => format!("\x1b[32mINFO\x1b[0m {entry}: flushed {n} rows in 3.2ms"),
        1 => format!("plain text line {n} from {entry} without structure"),
        2 => format!(
            r#"{{"level":"error","ts":1732536000.{n:06},"caller":"server/grpc.go:88","msg":"call failed","service":"{entry}","method":"/anychat.user.v1.UserService/GetUser","code":"Unavailable","stacktrace":"main.run\n\t/app/server/grpc.go:88"}}"#
        ),
        3 | 7 => format!(
            r#"{{"level":"warn","ts":1732536000.{n:06},"caller":"cache/redis.go:41","msg":"slow cache read","service":"{entry}","key":"session:{n}","elapsed":"41.5ms"}}"#
        ),
        _ => format!(
            r#"{{"level":"info","ts":1732536000.{n:06},"caller":"server/http.go:57","msg":"request handled","service":"{entry}","method":"GET","path":"/api/v1/users/{n}","status":200,"latency":"1.2ms","request_id":"req-{n:08}"}}"#
        ),
    };
    LogLine {
        stream: if n % 10 == 2 {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        text,
        truncated: false,
    }
}

/// The scene: every service started, `rounds` probe rounds of every target one second apart,
/// the selection on a service that went down, logs for it and a few others.
fn scene(rounds: u64) -> State {
    let plan = build_plan(
        &[Source {
            path: "generated-200.toml".into(),
            text: manifest(),
        }],
        &PlanOptions::default(),
    )
    .unwrap_or_else(|e| panic!("generated manifest is invalid: {e}"));
    let t0 = Instant::now();
    let mut state = State::new(
        Arc::new(plan),
        builtin_layouts(),
        Duration::from_secs(1),
        t0,
    );
    state.handle(Action::Resize {
        width: 200,
        height: 50,
    });
    let started: Vec<EntryId> = state
        .handle(Action::StartEverything)
        .into_iter()
        .filter_map(|c| match c {
            Command::Start { entry } => Some(entry),
            _ => None,
        })
        .collect();
    assert!(started.len() >= SERVICES, "every service was started");
    for (i, entry) in started.into_iter().enumerate() {
        state.apply(Update::ProcessStarted {
            entry,
            pid: 40_000 + i as u32,
            at: t0,
        });
    }
    for k in 1..=rounds {
        let at = t0 + Duration::from_secs(k);
        for t in 0..state.plan.targets.len() {
            let result = result(&state, t, k);
            state.apply(Update::HealthChecked {
                target: TargetId(t),
                result,
                at,
            });
        }
    }
    // Down to the sixth service (index 5), which went down in round 51.
    for _ in 0..5 {
        state.handle(Action::Down);
    }
    let selected = state.ui.selected.expect("a service is selected");
    let batches = std::iter::repeat_n(selected, LOG_LINES / 100).chain(
        [EntryId(0), EntryId(1), EntryId(2)]
            .into_iter()
            .cycle()
            .take(3),
    );
    for (b, entry) in batches.enumerate() {
        let name = state.plan.entries[entry.0].name.clone();
        state.apply(Update::LogLines {
            entry,
            lines: (b * 100..(b + 1) * 100)
                .map(|n| log_line(&name, n))
                .collect(),
            dropped: 0,
        });
    }
    state.apply(Update::SelfUsageMeasured {
        cpu_percent: 0.4,
        rss_bytes: 14 << 20,
    });
    state.apply(Update::Tick {
        at: t0 + Duration::from_secs(rounds) + Duration::from_millis(400),
    });
    state
}

/// Median, p90, min and max of a set of frame times.
struct Stats {
    median: Duration,
    p90: Duration,
    min: Duration,
    max: Duration,
}

impl Stats {
    fn of(mut times: Vec<Duration>) -> Stats {
        times.sort_unstable();
        let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        Stats {
            median: pick(0.5),
            p90: pick(0.9),
            min: times[0],
            max: times[times.len() - 1],
        }
    }

    fn line(&self) -> String {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        format!(
            "median {:7.1} µs   p90 {:7.1} µs   min {:7.1} µs   max {:8.1} µs",
            us(self.median),
            us(self.p90),
            us(self.min),
            us(self.max)
        )
    }
}

/// Time `frames` calls of `frame` after `WARMUP_FRAMES` unmeasured ones.
fn measure(frames: usize, mut frame: impl FnMut(usize)) -> Stats {
    for i in 0..WARMUP_FRAMES {
        frame(i);
    }
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let started = Instant::now();
        frame(i);
        times.push(started.elapsed());
    }
    Stats::of(times)
}

/// Where the in-memory terminal writes: counts the bytes and drops them.
#[derive(Clone, Default)]
struct Sink {
    bytes: Rc<Cell<usize>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        black_box(buf);
        self.bytes.set(self.bytes.get() + buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A terminal that turns frames into escape sequences, as the real one does, into `sink`.
fn crossterm_terminal(width: u16, height: u16, sink: Sink) -> Terminal<CrosstermBackend<Sink>> {
    Terminal::with_options(
        CrosstermBackend::new(sink),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, width, height)),
        },
    )
    .expect("in-memory terminal")
}

/// Every figure for one size and layout: two scenes one probe round apart, so that
/// alternating between them changes the screen the way one second of probing does.
fn bench_size(width: u16, height: u16, layout: &str, frames: usize, show: bool) -> Duration {
    let ctx = ViewContext::new(
        Theme { color: true },
        Keymap::default_keymap().help(),
        jiff::tz::TimeZone::UTC,
    );
    let mut scenes = [scene(ROUNDS), scene(ROUNDS + 1)];
    for s in &mut scenes {
        let index = s
            .layouts
            .iter()
            .position(|l| l.name == layout)
            .unwrap_or_else(|| panic!("no built-in layout {layout}"));
        s.ui.layout = index;
        s.ui.preferred_layout = index;
        s.ui.layout_pinned = true;
        s.handle(Action::Resize { width, height });
    }
    let rows = scenes[0].plan.entries.len();
    let targets = scenes[0].plan.targets.len();
    println!(
        "{width}×{height}, layout {layout}, {rows} entries, {targets} targets, {frames} frames \
         after {WARMUP_FRAMES} warm-up:"
    );

    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    if show {
        terminal.draw(|f| draw(f, &scenes[0], &ctx)).expect("draw");
        let buf = terminal.backend().buffer();
        for y in 0..height {
            let line: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            println!("  |{}", line.trim_end());
        }
    }
    let unchanged = measure(frames, |_| {
        terminal.draw(|f| draw(f, &scenes[0], &ctx)).expect("draw");
    });
    println!(
        "  terminal.draw, same screen every frame (TestBackend) {}",
        unchanged.line()
    );

    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    let changing = measure(frames, |i| {
        let s = &mut scenes[i % 2];
        s.before_draw();
        terminal.draw(|f| draw(f, s, &ctx)).expect("draw");
    });
    println!(
        "  before_draw + terminal.draw, screen changes (TestBackend) {}",
        changing.line()
    );

    let sink = Sink::default();
    let mut terminal = crossterm_terminal(width, height, sink.clone());
    let escapes = measure(frames, |i| {
        let s = &mut scenes[i % 2];
        s.before_draw();
        terminal.draw(|f| draw(f, s, &ctx)).expect("draw");
    });
    let bytes = sink.bytes.get() / (frames + WARMUP_FRAMES);
    println!(
        "  before_draw + terminal.draw, screen changes (crossterm to memory, {bytes} bytes/frame) {}",
        escapes.line()
    );

    // The panels alone: render into the frame, no diff, no backend.
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    let render = measure(frames, |i| {
        let mut frame = terminal.get_frame();
        draw(&mut frame, &scenes[i % 2], &ctx);
        black_box(&frame);
    });
    println!("  draw() alone, no diff, no backend {}", render.line());

    // As the idle dashboard draws: a frame or two a second, caches cold in between.
    let mut terminal = crossterm_terminal(width, height, Sink::default());
    let mut times = Vec::with_capacity(COLD_FRAMES);
    for i in 0..COLD_FRAMES {
        std::thread::sleep(COLD_GAP);
        let started = Instant::now();
        let s = &mut scenes[i % 2];
        // A service logging steadily: one new zap line since the last frame.
        if let Some(entry) = s.ui.selected {
            let name = s.plan.entries[entry.0].name.clone();
            s.apply(Update::LogLines {
                entry,
                lines: vec![log_line(&name, 10_000 + i * 10 + 4)],
                dropped: 0,
            });
        }
        s.before_draw();
        terminal.draw(|f| draw(f, s, &ctx)).expect("draw");
        times.push(started.elapsed());
    }
    println!(
        "  the same, one frame every {} ms ({COLD_FRAMES} frames, cold caches, {LOG_LINES} zap lines in the logs panel, one new line per frame) {}",
        COLD_GAP.as_millis(),
        Stats::of(times).line()
    );
    changing.median
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let frames = args
        .iter()
        .position(|a| a == "--frames")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_FRAMES);
    let started = Instant::now();
    let show = args.iter().any(|a| a == "--show");
    let big = bench_size(200, 50, "default", frames, show);
    bench_size(80, 24, "compact", frames, show);
    println!(
        "target: under {} µs per frame at 200×50 (before_draw + draw, screen changes): {}",
        TARGET.as_micros(),
        if big < TARGET { "met" } else { "NOT met" }
    );
    println!("(bench took {:.1} s)", started.elapsed().as_secs_f64());
}
