//! The layouts embedded in the binary, and `--layout NAME|FILE` resolution.

use std::path::{Path, PathBuf};

use super::{Layout, parse_layout};
use crate::manifest::{ManifestError, Source};

/// The built-in layouts as (name, text), in the order `builtin_layouts` returns them.
const BUILTIN: [(&str, &str); 6] = [
    ("default", include_str!("../../layouts/default.toml")),
    ("compact", include_str!("../../layouts/compact.toml")),
    ("focus", include_str!("../../layouts/focus.toml")),
    ("ports", include_str!("../../layouts/ports.toml")),
    ("metrics", include_str!("../../layouts/metrics.toml")),
    ("explorer", include_str!("../../layouts/explorer.toml")),
];

/// The source of a built-in layout, named like its file.
pub(super) fn builtin_source(name: &str, text: &str) -> Source {
    Source {
        path: PathBuf::from(format!("layouts/{name}.toml (built in)")),
        text: text.to_string(),
    }
}

/// Names of the built-in layouts: default, compact, focus, ports.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _)| *name)
}

/// The built-in layouts in a fixed order: default, compact, focus, ports.
pub fn builtin_layouts() -> Vec<Layout> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            // Embedded and checked by a test, so a failure here is a bug in this crate.
            parse_layout(&builtin_source(name, text))
                .unwrap_or_else(|e| panic!("built-in layout is broken: {e}"))
        })
        .collect()
}

/// The layout named by `--layout`: a built-in name, else the path of a layout file.
pub fn resolve_layout(arg: &str) -> Result<Layout, ManifestError> {
    if let Some((name, text)) = BUILTIN.iter().find(|(name, _)| *name == arg) {
        return parse_layout(&builtin_source(name, text));
    }
    let path = Path::new(arg);
    let text = std::fs::read_to_string(path).map_err(|e| {
        let message = if e.kind() == std::io::ErrorKind::NotFound {
            let names: Vec<&str> = builtin_names().collect();
            format!(
                "no such layout: neither a built-in ({}) nor a file",
                names.join(", ")
            )
        } else {
            format!("cannot read layout: {e}")
        };
        ManifestError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message,
        }
    })?;
    parse_layout(&Source {
        path: path.to_path_buf(),
        text,
    })
}
