//! Helpers of the Docker tests: the worker under test with its channels, waiting for a fact,
//! the skip rule, the local test image and a guard that removes every container a test made.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anychat_top::collect::docker::{
    self, DockerCommand, DockerConfig, DockerFact, WantedContainer,
};
use tokio::sync::mpsc;

/// The copied fixtures of `../shared/fixtures/docker`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/docker")
        .join(name)
}

/// Reads a fixture (a missing fixture fails the test).
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|err| panic!("fixture {name}: {err}"))
}

/// A worker running on the test's runtime, with its channels.
pub struct Worker {
    pub facts: mpsc::Receiver<DockerFact>,
    pub commands: mpsc::Sender<DockerCommand>,
    /// Every fact received so far (for failure messages and later checks).
    pub seen: Vec<DockerFact>,
    /// Facts received but not yet picked by a wait, oldest first.
    backlog: std::collections::VecDeque<DockerFact>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    pub fn start(config: DockerConfig, wanted: Vec<WantedContainer>) -> Worker {
        let (fact_tx, facts) = mpsc::channel(256);
        let (commands, command_rx) = mpsc::channel(16);
        let task = tokio::spawn(docker::run(config, wanted, command_rx, fact_tx));
        Worker {
            facts,
            commands,
            seen: Vec::new(),
            backlog: Default::default(),
            task,
        }
    }

    /// Forgets the facts not picked yet: the next waits see only what comes after this.
    pub fn forget(&mut self) {
        self.backlog.clear();
    }

    /// Waits up to `within` for a fact (not picked yet, oldest first) for which `pick` says
    /// Some; fails the test otherwise.
    pub async fn wait_for<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut pick: impl FnMut(&DockerFact) -> Option<T>,
    ) -> T {
        if let Some((i, found)) = self
            .backlog
            .iter()
            .enumerate()
            .find_map(|(i, f)| pick(f).map(|t| (i, t)))
        {
            self.backlog.remove(i);
            return found;
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.facts.recv()).await {
                Ok(Some(fact)) => {
                    self.seen.push(fact.clone());
                    match pick(&fact) {
                        Some(found) => return found,
                        None => self.backlog.push_back(fact),
                    }
                }
                Ok(None) => panic!("the worker ended while waiting for {what}"),
                Err(_) => {
                    let last: Vec<_> = self.seen.iter().rev().take(30).collect();
                    panic!("no {what} within {within:?}; last facts (newest first): {last:#?}");
                }
            }
        }
    }

    /// Receives whatever comes within `within` (into `seen`).
    pub async fn drain(&mut self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(fact)) = tokio::time::timeout_at(deadline, self.facts.recv()).await {
            self.seen.push(fact.clone());
            self.backlog.push_back(fact);
        }
    }

    pub async fn send(&self, command: DockerCommand) {
        self.commands
            .send(command)
            .await
            .expect("the worker takes commands");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A config for tests: short timeouts and retries.
pub fn quick_config(host: Option<String>) -> DockerConfig {
    DockerConfig {
        host,
        request_timeout: Duration::from_millis(1500),
        retry_min: Duration::from_millis(200),
        retry_max: Duration::from_millis(800),
        keepalive: Duration::from_secs(2),
        log_tail: 50,
        compose_timeout: Duration::from_secs(120),
    }
}

/// Outside CI print "SKIP: <reason>" and return false; with CI=true fail the test.
pub fn skip_or_fail(reason: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason} (CI=true, so this is a failure, not a skip)");
    }
    eprintln!("SKIP: {reason}");
    false
}

/// Runs the docker CLI; Err has its stderr.
pub fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("docker: {err}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether the real engine answers (else the skip rule applies).
pub fn engine_or_skip() -> bool {
    match docker(&["version", "--format", "{{.Server.APIVersion}}"]) {
        Ok(_) => true,
        Err(err) => skip_or_fail(&format!("no usable Docker engine: {err}")),
    }
}

/// The real engine and the test image, or `None` after the skip rule (a test returns then).
pub fn image_or_skip() -> Option<&'static str> {
    if !engine_or_skip() {
        return None;
    }
    match test_image() {
        Ok(image) => Some(image),
        Err(err) => {
            skip_or_fail(&format!("cannot build the test image: {err}"));
            None
        }
    }
}

const IMAGE_REPO: &str = "anychat-top-test/busybox";
const APPLETS: [&str; 12] = [
    "sh", "sleep", "echo", "touch", "test", "cat", "true", "false", "rm", "ls", "httpd", "kill",
];

/// The test image (busybox from Debian's busybox-static, imported under a tag of this test
/// process, removed when the process exits). Err when it cannot be built.
pub fn test_image() -> Result<&'static str, String> {
    static IMAGE: OnceLock<Result<String, String>> = OnceLock::new();
    IMAGE
        .get_or_init(build_image)
        .as_ref()
        .map(String::as_str)
        .map_err(Clone::clone)
}

fn build_image() -> Result<String, String> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("busybox is not installed (Debian package busybox-static)")?;
    remove_stale_images();
    let tag = format!("{IMAGE_REPO}:{}", std::process::id());
    let root = tempfile::tempdir().map_err(|e| e.to_string())?;
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(root.path().join("tmp")).map_err(|e| e.to_string())?;
    std::fs::copy(busybox, bin.join("busybox")).map_err(|e| e.to_string())?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).map_err(|e| e.to_string())?;
    }
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(root.path())
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("tar: {e}"))?;
    let tar_out = tar.stdout.take().ok_or("tar has no stdout")?;
    let import = Command::new("docker")
        .args(["import", "-", &tag])
        .stdin(tar_out)
        .output()
        .map_err(|e| format!("docker import: {e}"))?;
    let _ = tar.wait();
    if !import.status.success() {
        return Err(format!(
            "docker import: {}",
            String::from_utf8_lossy(&import.stderr)
        ));
    }
    let _ = IMAGE_TAG.set(tag.clone());
    // SAFETY: registering a plain extern "C" function with no captured state.
    unsafe { libc::atexit(remove_image_at_exit) };
    Ok(tag)
}

static IMAGE_TAG: OnceLock<String> = OnceLock::new();

extern "C" fn remove_image_at_exit() {
    if let Some(tag) = IMAGE_TAG.get() {
        let _ = Command::new("docker")
            .args(["rmi", "-f", tag])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Images of earlier test processes that are gone (killed before they could clean up).
fn remove_stale_images() {
    let Ok(tags) = docker(&["images", IMAGE_REPO, "--format", "{{.Tag}}"]) else {
        return;
    };
    for tag in tags.lines() {
        let alive = tag
            .parse::<u32>()
            .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = docker(&["rmi", "-f", &format!("{IMAGE_REPO}:{tag}")]);
        }
    }
}

/// The containers of one test: all labelled `anychat-top-test=<label>`, named `<label>-...`;
/// leftovers of an earlier run removed at creation, everything removed on drop.
pub struct Containers {
    pub label: String,
    /// Extra clean-up commands (docker CLI arguments), run on drop.
    pub also: Vec<Vec<String>>,
}

impl Containers {
    pub fn new(label: &str) -> Containers {
        let c = Containers {
            label: label.to_string(),
            also: Vec::new(),
        };
        c.remove_all();
        c
    }

    /// `docker run -d --name <label>-<name> --label ... <args before the image> IMAGE <cmd>`; the id.
    pub fn run(&self, name: &str, options: &[&str], image: &str, cmd: &[&str]) -> String {
        let full = format!("{}-{name}", self.label);
        let label = format!("anychat-top-test={}", self.label);
        let mut args = vec!["run", "-d", "--name", &full, "--label", &label];
        args.extend_from_slice(options);
        args.push(image);
        args.extend_from_slice(cmd);
        docker(&args).unwrap_or_else(|err| panic!("{err}"))
    }

    fn remove_all(&self) {
        let filter = format!("label=anychat-top-test={}", self.label);
        if let Ok(ids) = docker(&["ps", "-aq", "--filter", &filter]) {
            let ids: Vec<&str> = ids.lines().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids);
                let _ = docker(&args);
            }
        }
        for extra in &self.also {
            let args: Vec<&str> = extra.iter().map(String::as_str).collect();
            let _ = docker(&args);
        }
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        self.remove_all();
    }
}

/// `docker inspect -f FORMAT NAME`.
pub fn inspect(name: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, name]).unwrap_or_else(|err| panic!("{err}"))
}

/// A deadline helper for plain loops.
pub fn until(within: Duration) -> Instant {
    Instant::now() + within
}
