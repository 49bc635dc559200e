//! Finding and parsing manifest files; every error names its file, line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use super::schema::ManifestFile;

/// The AnyChat port plan, embedded in the binary.
pub const ANYCHAT_TOML: &str = include_str!("../../services/anychat.toml");
/// The demo plan (every service and infra component played by `anychat-stub`), embedded.
pub const DEMO_TOML: &str = include_str!("../../services/demo.toml");

/// The text of one manifest and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// The embedded AnyChat plan.
    pub fn anychat() -> Source {
        Source {
            path: PathBuf::from("services/anychat.toml (built in)"),
            text: ANYCHAT_TOML.to_string(),
        }
    }

    /// The embedded demo plan.
    pub fn demo() -> Source {
        Source {
            path: PathBuf::from("services/demo.toml (built in)"),
            text: DEMO_TOML.to_string(),
        }
    }
}

/// A manifest problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub path: PathBuf,
    /// 1-based; 0 when the problem has no position (an unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for ManifestError {}

impl ManifestError {
    /// An error at byte offset `at` of `source`.
    pub fn at(source: &Source, at: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(&source.text, at);
        ManifestError {
            path: source.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }

    fn unpositioned(path: &Path, message: impl Into<String>) -> Self {
        ManifestError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Read the manifests named by `--config`: files as given, directories as their `*.toml` files in name order.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, ManifestError> {
    let mut sources = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                ManifestError::unpositioned(path, format!("cannot read directory: {e}"))
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(ManifestError::unpositioned(
                    path,
                    "directory holds no *.toml manifest",
                ));
            }
            for file in files {
                sources.push(read_file(&file)?);
            }
        } else {
            sources.push(read_file(path)?);
        }
    }
    Ok(sources)
}

fn read_file(path: &Path) -> Result<Source, ManifestError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ManifestError::unpositioned(path, format!("cannot read manifest: {e}")))?;
    Ok(Source {
        path: path.to_path_buf(),
        text,
    })
}

/// Parse one source; syntax errors, unknown keys and wrong types carry their position.
pub fn parse(source: &Source) -> Result<ManifestFile, ManifestError> {
    toml::from_str(&source.text).map_err(|e| {
        let span = e.span();
        let at = span.as_ref().map_or(0, |s| s.start);
        let message = e.message().trim_end();
        let message = match (missing_key(message), span) {
            (Some(key), Some(span)) => missing_key_message(&source.text, span, key),
            _ => message.to_string(),
        };
        ManifestError::at(source, at, message)
    })
}

/// The key of serde's "missing field `key`" message.
fn missing_key(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split('`')
        .next()
        .filter(|k| !k.is_empty())
}

/// A missing key is reported by the toml crate at the table that lacks it: for `[[service]]`
/// that is the header of the entry (so the first entry of a file is "1:1"). Say which table,
/// which entry (by its `name` when it has one) and which key.
fn missing_key_message(text: &str, span: std::ops::Range<usize>, key: &str) -> String {
    let table = text.get(span.clone()).unwrap_or("").trim();
    if let Some(header) = table.strip_prefix("[[").and_then(|t| t.strip_suffix("]]")) {
        let header = header.trim();
        match entry_name_after(text, span.end) {
            Some(name) => format!("[[{header}]] {name:?} lacks the required key `{key}`"),
            None => format!("this [[{header}]] lacks the required key `{key}`"),
        }
    } else if table.starts_with('{') && table.len() <= 60 {
        format!("{table} lacks the required key `{key}`")
    } else {
        format!("this table lacks the required key `{key}`")
    }
}

/// The `name = "..."` of the table whose header ends at `from`, if it has one.
fn entry_name_after(text: &str, from: usize) -> Option<String> {
    let body = text.get(from..)?;
    for line in body.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            return None;
        }
        if trimmed.starts_with("name")
            && let Ok(table) = trimmed.parse::<toml::Table>()
            && let Some(name) = table.get("name").and_then(|v| v.as_str())
        {
            return Some(name.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
