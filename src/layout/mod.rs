//! Panel layouts as data: TOML files of rows and columns of panels, validated and turned into screen areas.
//!
//! # Schema
//!
//! ```toml
//! name = "default"                  # what `--layout NAME` matches (required)
//! description = "one line for help" # optional
//! min_width = 100                   # the smallest terminal it is readable in (optional): in a
//! min_height = 30                   # smaller one the dashboard picks a layout that fits
//! [root]                            # the node that fills the whole terminal
//! direction = "vertical"            # "vertical" (children top to bottom) or "horizontal" (left to right)
//! children = [
//!   { direction = "horizontal", ratio = 3, children = [
//!       { panel = "services", ratio = 3 },
//!       { panel = "detail", ratio = 2 },
//!   ] },
//!   { panel = "infra", length = 11 },
//!   { panel = "status", length = 1 },
//! ]
//! ```
//!
//! A node is either a panel (`panel = "NAME"`, one of [`PanelKind`]'s names) or a split
//! (`direction` plus a non-empty `children` list), never both. Each panel appears at most once.
//! A node other than the root takes at most one size, measured along its parent's direction:
//!
//! - `ratio = N` (N ≥ 1): a share of the space left after the other sizes (the default, ratio 1);
//! - `length = N` (N ≥ 1): exactly N cells while the space allows;
//! - `min = N`: at least N cells; grows only when no sibling has a ratio;
//! - `percent = N` (1 to 100): N% of the parent; the percentages of siblings add up to 100 at most.
//!
//! The root takes no size: it is the whole terminal. Unknown keys, unknown panel names and
//! every rule above are errors reported as `path:line:column: message`.

mod areas;
mod builtin;
mod panel;
mod parse;

#[cfg(test)]
mod tests;

pub use areas::panel_areas;
pub use builtin::{builtin_layouts, builtin_names, resolve_layout};
pub use panel::PanelKind;
pub use parse::parse_layout;

use ratatui::layout::Constraint;
use serde::Deserialize;

/// A validated layout: a tree of splits whose leaves are panels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub name: String,
    pub description: String,
    pub root: Node,
    /// The smallest terminal (width, height) it is readable in (`min_width`/`min_height`).
    pub min_size: (u16, u16),
}

impl Layout {
    /// Whether a terminal of `width`×`height` is large enough for it.
    pub fn fits(&self, width: u16, height: u16) -> bool {
        width >= self.min_size.0 && height >= self.min_size.1
    }

    /// Every panel of the layout, in reading order (depth first).
    pub fn panels(&self) -> Vec<PanelKind> {
        let mut kinds = Vec::new();
        self.root.collect_panels(&mut kinds);
        kinds
    }
}

/// One node of the layout tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A leaf showing one panel.
    Panel { kind: PanelKind, size: Size },
    /// Children laid out one after another along `direction`.
    Split {
        direction: Direction,
        size: Size,
        children: Vec<Node>,
    },
}

impl Node {
    /// The size of this node along its parent's direction.
    pub fn size(&self) -> Size {
        match self {
            Node::Panel { size, .. } | Node::Split { size, .. } => *size,
        }
    }

    fn collect_panels(&self, kinds: &mut Vec<PanelKind>) {
        match self {
            Node::Panel { kind, .. } => kinds.push(*kind),
            Node::Split { children, .. } => {
                for child in children {
                    child.collect_panels(kinds);
                }
            }
        }
    }
}

/// How a split lays out its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Top to bottom.
    Vertical,
    /// Left to right.
    Horizontal,
}

impl From<Direction> for ratatui::layout::Direction {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Vertical => ratatui::layout::Direction::Vertical,
            Direction::Horizontal => ratatui::layout::Direction::Horizontal,
        }
    }
}

/// The size of a node along its parent's direction, in cells or shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A share of the remaining space (`Constraint::Fill`).
    Ratio(u16),
    /// Exactly this many cells.
    Length(u16),
    /// At least this many cells.
    Min(u16),
    /// This percentage of the parent.
    Percent(u16),
}

impl Default for Size {
    fn default() -> Self {
        Size::Ratio(1)
    }
}

impl Size {
    /// The ratatui constraint that implements this size.
    pub fn constraint(self) -> Constraint {
        match self {
            Size::Ratio(n) => Constraint::Fill(n),
            Size::Length(n) => Constraint::Length(n),
            Size::Min(n) => Constraint::Min(n),
            Size::Percent(n) => Constraint::Percentage(n),
        }
    }
}
