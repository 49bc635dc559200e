//! Parsing a layout file and checking its rules; every error names its file, line and column.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use super::{Direction, Layout, Node, PanelKind, Size};
use crate::manifest::load::line_column;
use crate::manifest::{ManifestError, Source};

/// A layout file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutFile {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    min_width: Option<Spanned<i64>>,
    #[serde(default)]
    min_height: Option<Spanned<i64>>,
    root: Spanned<NodeSpec>,
}

/// One node as written: a panel or a split, with at most one size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeSpec {
    panel: Option<Spanned<PanelKind>>,
    direction: Option<Spanned<Direction>>,
    children: Option<Spanned<Vec<Spanned<NodeSpec>>>>,
    ratio: Option<Spanned<i64>>,
    length: Option<Spanned<i64>>,
    min: Option<Spanned<i64>>,
    percent: Option<Spanned<i64>>,
}

/// Parse and validate one layout file.
pub fn parse_layout(source: &Source) -> Result<Layout, ManifestError> {
    let file: LayoutFile = toml::from_str(&source.text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        ManifestError::at(source, at, e.message().trim_end().to_string())
    })?;
    if file.name.get_ref().trim().is_empty() {
        return Err(ManifestError::at(
            source,
            file.name.span().start,
            "`name` is empty",
        ));
    }
    let mut checker = Checker {
        source,
        seen: HashMap::new(),
    };
    let root = checker.node(file.root, true)?;
    let dimension = |v: Option<Spanned<i64>>, what: &str| -> Result<u16, ManifestError> {
        match v {
            None => Ok(0),
            Some(v) => u16::try_from(*v.get_ref())
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    checker.error(v.span().start, format!("`{what}` must be 1 to 1000"))
                }),
        }
    };
    let min_size = (
        dimension(file.min_width, "min_width")?,
        dimension(file.min_height, "min_height")?,
    );
    Ok(Layout {
        name: file.name.into_inner(),
        description: file.description,
        root,
        min_size,
    })
}

struct Checker<'a> {
    source: &'a Source,
    /// Byte offset of each panel's first appearance.
    seen: HashMap<PanelKind, usize>,
}

impl Checker<'_> {
    fn error(&self, at: usize, message: impl Into<String>) -> ManifestError {
        ManifestError::at(self.source, at, message)
    }

    fn node(&mut self, spec: Spanned<NodeSpec>, is_root: bool) -> Result<Node, ManifestError> {
        let at = spec.span().start;
        let spec = spec.into_inner();
        let size = self.size(&spec, is_root)?;
        match (spec.panel, spec.children) {
            (Some(panel), Some(_)) => Err(self.error(
                panel.span().start,
                "a node has either `panel` or `children`, not both",
            )),
            (None, None) => Err(self.error(
                at,
                "a node needs `panel = \"NAME\"` or `direction` and `children = [...]`",
            )),
            (Some(panel), None) => {
                if let Some(direction) = spec.direction {
                    return Err(self.error(
                        direction.span().start,
                        "`direction` applies to a node with `children`, not to a panel",
                    ));
                }
                let kind = *panel.get_ref();
                let here = panel.span().start;
                if let Some(&first) = self.seen.get(&kind) {
                    let (line, column) = line_column(&self.source.text, first);
                    return Err(self.error(
                        here,
                        format!("panel `{kind}` appears twice (first at {line}:{column})"),
                    ));
                }
                self.seen.insert(kind, here);
                Ok(Node::Panel { kind, size })
            }
            (None, Some(children)) => {
                let children_at = children.span().start;
                let Some(direction) = spec.direction else {
                    return Err(self.error(
                        children_at,
                        "a node with `children` needs `direction = \"vertical\"` or `\"horizontal\"`",
                    ));
                };
                let children = children.into_inner();
                if children.is_empty() {
                    return Err(self.error(children_at, "`children` is empty"));
                }
                let children = children
                    .into_iter()
                    .map(|child| self.node(child, false))
                    .collect::<Result<Vec<_>, _>>()?;
                let percent: u32 = children
                    .iter()
                    .filter_map(|c| match c.size() {
                        Size::Percent(p) => Some(u32::from(p)),
                        _ => None,
                    })
                    .sum();
                if percent > 100 {
                    return Err(self.error(
                        children_at,
                        format!("the `percent` of these children add up to {percent}, over 100"),
                    ));
                }
                Ok(Node::Split {
                    direction: direction.into_inner(),
                    size,
                    children,
                })
            }
        }
    }

    fn size(&self, spec: &NodeSpec, is_root: bool) -> Result<Size, ManifestError> {
        const MAX: i64 = u16::MAX as i64;
        let keys: [SizeKey; 4] = [
            ("ratio", &spec.ratio, Size::Ratio, 1, MAX),
            ("length", &spec.length, Size::Length, 1, MAX),
            ("min", &spec.min, Size::Min, 0, MAX),
            ("percent", &spec.percent, Size::Percent, 1, 100),
        ];
        let mut given = keys
            .into_iter()
            .filter_map(|(key, value, make, low, high)| {
                value.as_ref().map(|v| (key, v, make, low, high))
            });
        let Some((key, value, make, low, high)) = given.next() else {
            return Ok(Size::default());
        };
        if let Some((second, second_value, ..)) = given.next() {
            return Err(self.error(
                second_value.span().start,
                format!("a node takes one size, but both `{key}` and `{second}` are given"),
            ));
        }
        let at = value.span().start;
        if is_root {
            return Err(self.error(
                at,
                format!("the root fills the whole terminal; remove `{key}`"),
            ));
        }
        let n = *value.get_ref();
        match u16::try_from(n) {
            Ok(cells) if (low..=high).contains(&n) => Ok(make(cells)),
            _ => Err(self.error(
                at,
                format!("`{key}` must be between {low} and {high}, not {n}"),
            )),
        }
    }
}

/// A size key: its name, its value if given, the size it makes, and its bounds.
type SizeKey<'a> = (
    &'static str,
    &'a Option<Spanned<i64>>,
    fn(u16) -> Size,
    i64,
    i64,
);
