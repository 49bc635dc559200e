//! The checkout's files: services under `cmd/`, binaries in `bin/`, the newest Go source (for
//! stale binaries) and whether any Go code serves Prometheus metrics.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::go_main::{GoDefault, set_defaults};

/// Files visited at most under `internal/` and `pkg/` (a checkout has a few hundred).
const MAX_FILES: usize = 50_000;
/// Directory depth visited at most.
const MAX_DEPTH: usize = 24;
/// Go files larger than this are not searched for metrics code.
const MAX_GO_BYTES: u64 = 4 << 20;

/// A built binary in `bin/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// Relative to the checkout: `bin/<name>`.
    pub path: PathBuf,
    pub modified: Option<SystemTime>,
    pub executable: bool,
}

/// A file and when it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    /// Relative to the checkout.
    pub path: PathBuf,
    pub modified: SystemTime,
}

/// One directory under `cmd/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdService {
    pub name: String,
    /// The Go file the defaults came from (`cmd/<name>/main.go`), relative.
    pub main_go: Option<PathBuf>,
    pub defaults: Vec<GoDefault>,
    pub binary: Option<Binary>,
    /// Newest file under `cmd/<name>/`.
    pub newest: Option<Newest>,
}

/// Everything read from the file system, before any plan is involved.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub services: Vec<CmdService>,
    /// Executables in `bin/` with no `cmd/<name>/`.
    pub bin_only: Vec<(String, Binary)>,
    /// Newest file under `internal/` and `pkg/` (shared by every service).
    pub newest_shared: Option<Newest>,
    /// A Go file that reads `monitoring.prometheus` or serves `promhttp`, if any.
    pub metrics_code: Option<PathBuf>,
    /// Directories searched for metrics code (those that exist).
    pub searched: Vec<String>,
    /// Unreadable files and the like, in words.
    pub problems: Vec<String>,
}

/// Read `cmd/`, `bin/`, `internal/` and `pkg/` of the checkout at `root`.
pub fn scan(root: &Path) -> Scan {
    let mut out = Scan::default();
    let mut names: Vec<String> = list_dir(&root.join("cmd"))
        .into_iter()
        .filter(|(_, is_dir)| *is_dir)
        .map(|(name, _)| name)
        .collect();
    names.sort();
    let mut metrics = MetricsSearch::default();
    for name in names {
        let dir = Path::new("cmd").join(&name);
        let mut walk = Walk::new(root, &mut metrics);
        walk.visit(&dir, 0);
        let Walk {
            mut go_files,
            newest,
            mut problems,
            ..
        } = walk;
        out.problems.append(&mut problems);
        go_files.sort_by_key(|p| p.file_name().is_none_or(|f| f != "main.go"));
        let mut main_go = None;
        let mut defaults = Vec::new();
        for file in &go_files {
            match std::fs::read_to_string(root.join(file)) {
                Ok(text) => {
                    let found = set_defaults(&text);
                    if !found.is_empty() || main_go.is_none() {
                        main_go = Some(file.clone());
                    }
                    if !found.is_empty() {
                        defaults = found;
                        break;
                    }
                }
                Err(e) => out
                    .problems
                    .push(format!("{}: cannot read: {e}", file.display())),
            }
        }
        out.services.push(CmdService {
            binary: binary(root, &name),
            name,
            main_go,
            defaults,
            newest,
        });
    }
    let mut bin: Vec<String> = list_dir(&root.join("bin"))
        .into_iter()
        .filter(|(name, is_dir)| !is_dir && !name.starts_with('.'))
        .map(|(name, _)| name)
        .collect();
    bin.sort();
    for name in bin {
        if !out.services.iter().any(|s| s.name == name)
            && let Some(b) = binary(root, &name)
        {
            out.bin_only.push((name, b));
        }
    }
    let mut shared = Walk::new(root, &mut metrics);
    for dir in ["internal", "pkg"] {
        if root.join(dir).is_dir() {
            out.searched.push(dir.to_string());
            shared.visit(Path::new(dir), 0);
        }
    }
    out.newest_shared = shared.newest;
    out.problems.append(&mut shared.problems);
    out.metrics_code = metrics.found;
    if root.join("cmd").is_dir() {
        out.searched.insert(0, "cmd".to_string());
    }
    out
}

/// `bin/<name>` when it exists.
fn binary(root: &Path, name: &str) -> Option<Binary> {
    use std::os::unix::fs::PermissionsExt;
    let path = Path::new("bin").join(name);
    // Follows symlinks: a link to a built binary is a built binary.
    let meta = std::fs::metadata(root.join(&path)).ok()?;
    meta.is_file().then(|| Binary {
        path,
        modified: meta.modified().ok(),
        executable: meta.permissions().mode() & 0o111 != 0,
    })
}

/// Names in `dir` and whether each is a directory (symlinks followed); empty when unreadable.
fn list_dir(dir: &Path) -> Vec<(String, bool)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            (e.file_name().to_string_lossy().into_owned(), is_dir)
        })
        .collect()
}

/// Looks for Go code that serves metrics, once across every walk.
#[derive(Default)]
struct MetricsSearch {
    found: Option<PathBuf>,
    files: usize,
}

/// A bounded walk: the newest file, the Go files, metrics code; symlinked directories are not
/// followed (no loops).
struct Walk<'a> {
    root: &'a Path,
    metrics: &'a mut MetricsSearch,
    newest: Option<Newest>,
    go_files: Vec<PathBuf>,
    problems: Vec<String>,
}

impl<'a> Walk<'a> {
    fn new(root: &'a Path, metrics: &'a mut MetricsSearch) -> Self {
        Walk {
            root,
            metrics,
            newest: None,
            go_files: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn visit(&mut self, rel: &Path, depth: usize) {
        if depth > MAX_DEPTH || self.metrics.files >= MAX_FILES {
            return;
        }
        let Ok(entries) = std::fs::read_dir(self.root.join(rel)) else {
            self.problems
                .push(format!("{}: cannot read", rel.display()));
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = rel.join(&name);
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                self.visit(&path, depth + 1);
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            self.metrics.files += 1;
            if let Ok(modified) = meta.modified()
                && self.newest.as_ref().is_none_or(|n| modified > n.modified)
            {
                self.newest = Some(Newest {
                    path: path.clone(),
                    modified,
                });
            }
            if path.extension().is_some_and(|e| e == "go") {
                if depth == 0 {
                    self.go_files.push(path.clone());
                }
                if self.metrics.found.is_none() && meta.len() <= MAX_GO_BYTES {
                    let text = std::fs::read_to_string(self.root.join(&path)).unwrap_or_default();
                    if text.contains("monitoring.prometheus") || text.contains("promhttp") {
                        self.metrics.found = Some(path);
                    }
                }
            }
        }
    }
}
