//! The screen side of the state: focus, selection, filter, layout and size, per-panel scroll,
//! and the geometry that turns keys and clicks into selections. The domain (targets, processes,
//! alerts, logs) lives beside it in [`State`]; nothing here changes the domain.

use std::collections::BTreeMap;

use ratatui::layout::Rect;

use crate::layout::{PanelKind, panel_areas};
use crate::logs::{LogScroll, LogSearch};
use crate::plan::{EntryId, EntryKind};

use super::State;
use super::rows::{Row, scroll_offset};

/// What keys currently mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a filter after `/`.
    Filter,
    Help,
    /// Waiting for y/n before stopping everything.
    ConfirmStopAll,
    /// Waiting for y/n before creating a missing container with compose.
    ConfirmCompose,
    /// Waiting for y/n before stopping or adopting a port's holder (ports panel).
    ConfirmHolder,
}

/// Scroll position and selected row of one panel (a table, a list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PanelView {
    /// First visible row.
    pub offset: usize,
    /// Selected row, for panels that select by position (the entry tables select by entry).
    pub selected: usize,
}

/// UI state: focus, selection, filter, grouping, layout, size, and each panel's scroll.
#[derive(Debug, Clone)]
pub struct Ui {
    pub mode: Mode,
    pub focus: PanelKind,
    pub filter: String,
    pub grouped: bool,
    /// The selected entry (services or infra table); the detail and logs panels follow it.
    pub selected: Option<EntryId>,
    /// The layout shown (an index into the state's layouts).
    pub layout: usize,
    /// The layout the user wants; shown whenever the terminal is large enough for it.
    pub preferred_layout: usize,
    /// The user chose the layout (`L`, `--layout`): no automatic switching.
    pub layout_pinned: bool,
    /// Findings where the checkout disagrees with the plan (said once in the alerts; counted in
    /// the status bar for as long as the dashboard runs).
    pub drift: usize,
    pub size: Rect,
    /// Scroll and selection of each panel that has any, keyed by panel.
    pub panels: BTreeMap<PanelKind, PanelView>,
    pub quit: bool,
    /// The logs panel shows every service merged instead of the selected one.
    pub logs_merged: bool,
    pub log_scroll: LogScroll,
    /// What `/` typed in the logs panel searches for.
    pub log_needle: String,
    pub log_search: Option<LogSearch>,
    /// Log times in UTC instead of the local zone.
    pub utc: bool,
}

impl Default for Ui {
    fn default() -> Self {
        Ui {
            mode: Mode::Normal,
            focus: PanelKind::Services,
            filter: String::new(),
            grouped: false,
            selected: None,
            layout: 0,
            preferred_layout: 0,
            layout_pinned: false,
            drift: 0,
            size: Rect::new(0, 0, 80, 24),
            panels: BTreeMap::new(),
            quit: false,
            logs_merged: false,
            log_scroll: LogScroll::Follow,
            log_needle: String::new(),
            log_search: None,
            utc: false,
        }
    }
}

impl Ui {
    /// Scroll and selection of `panel` (zero when it never moved).
    pub fn panel(&self, panel: PanelKind) -> PanelView {
        self.panels.get(&panel).copied().unwrap_or_default()
    }

    /// Scroll and selection of `panel`, for changing.
    pub fn panel_mut(&mut self, panel: PanelKind) -> &mut PanelView {
        self.panels.entry(panel).or_default()
    }
}

/// The entries a table panel lists, or `None` for panels that are not entry tables.
pub(super) fn table_kind(kind: PanelKind) -> Option<EntryKind> {
    match kind {
        PanelKind::Services => Some(EntryKind::Service),
        PanelKind::Infra => Some(EntryKind::Infra),
        _ => None,
    }
}

impl State {
    /// Screen area of every panel of the current layout at the current size.
    pub fn areas(&self) -> Vec<(PanelKind, Rect)> {
        panel_areas(self.layout(), self.ui.size)
    }

    /// First visible row of a panel.
    pub fn offset(&self, panel: PanelKind) -> usize {
        self.ui.panel(panel).offset
    }

    pub(super) fn table_panels(&self) -> Vec<(PanelKind, Rect)> {
        self.areas()
            .into_iter()
            .filter(|(k, _)| table_kind(*k).is_some())
            .collect()
    }

    /// Rows a table panel can show (inside borders, below the header).
    fn body_height(area: Rect) -> usize {
        usize::from(area.height.saturating_sub(3))
    }

    pub(super) fn page(&self) -> usize {
        self.areas()
            .iter()
            .find(|(k, _)| *k == self.ui.focus)
            .map_or(10, |(_, a)| Self::body_height(*a).max(1))
    }

    /// Panels that take the keyboard: the tables, and the logs.
    pub(super) fn focusable_panels(&self) -> Vec<(PanelKind, Rect)> {
        self.areas()
            .into_iter()
            .filter(|(k, _)| {
                table_kind(*k).is_some()
                    || *k == PanelKind::Logs
                    || *k == PanelKind::Ports
                    || super::live_metrics::is_metrics_panel(*k)
            })
            .collect()
    }

    pub(super) fn fix_focus(&mut self) {
        let panels = self.focusable_panels();
        if !panels.iter().any(|(k, _)| *k == self.ui.focus)
            && let Some((k, _)) = panels.first()
        {
            self.ui.focus = *k;
        }
    }

    pub(super) fn cycle_focus(&mut self, step: isize) {
        let panels = self.focusable_panels();
        if panels.is_empty() {
            return;
        }
        let at = panels
            .iter()
            .position(|(k, _)| *k == self.ui.focus)
            .unwrap_or(0) as isize;
        let next = (at + step).rem_euclid(panels.len() as isize) as usize;
        self.ui.focus = panels[next].0;
        self.reselect();
    }

    /// Keep the selection on a visible row of the focused table.
    pub(super) fn reselect(&mut self) {
        if table_kind(self.ui.focus).is_none() {
            return;
        }
        let rows = self.rows(self.ui.focus);
        let visible = |id: EntryId| rows.contains(&Row::Entry(id));
        if !self.ui.selected.is_some_and(visible) {
            self.ui.selected = rows.iter().find_map(|r| match r {
                Row::Entry(id) => Some(*id),
                Row::Group(_) => None,
            });
        }
    }

    pub(super) fn move_selection(&mut self, step: isize) {
        self.reselect();
        let entries: Vec<EntryId> = self
            .rows(self.ui.focus)
            .into_iter()
            .filter_map(|r| match r {
                Row::Entry(id) => Some(id),
                Row::Group(_) => None,
            })
            .collect();
        if entries.is_empty() {
            return;
        }
        let at = self
            .ui
            .selected
            .and_then(|s| entries.iter().position(|e| *e == s))
            .unwrap_or(0) as isize;
        let next = (at.saturating_add(step)).clamp(0, entries.len() as isize - 1) as usize;
        self.ui.selected = Some(entries[next]);
    }

    pub(super) fn keep_visible(&mut self) {
        for (kind, area) in self.table_panels() {
            let rows = self.rows(kind);
            let sel = self
                .ui
                .selected
                .and_then(|s| rows.iter().position(|r| *r == Row::Entry(s)));
            let height = Self::body_height(area);
            let view = self.ui.panel_mut(kind);
            view.offset = match sel {
                Some(sel) => scroll_offset(view.offset, sel, height, rows.len()),
                None => view.offset.min(rows.len().saturating_sub(height)),
            };
        }
    }

    pub(super) fn panel_at(&self, column: u16, row: u16) -> Option<(PanelKind, Rect)> {
        self.areas()
            .into_iter()
            .find(|(_, a)| a.contains(ratatui::layout::Position::new(column, row)))
    }

    pub(super) fn click(&mut self, column: u16, row: u16) {
        let Some((kind, area)) = self.panel_at(column, row) else {
            return;
        };
        if kind == PanelKind::Logs {
            self.ui.focus = kind;
            return;
        }
        if table_kind(kind).is_none() {
            return;
        }
        self.ui.focus = kind;
        // Border line, then the header line, then rows.
        let Some(line) = row.checked_sub(area.y + 2) else {
            return;
        };
        let index = self.offset(kind) + usize::from(line);
        if let Some(Row::Entry(id)) = self.rows(kind).get(index) {
            self.ui.selected = Some(*id);
        }
    }

    pub(super) fn scroll_at(&mut self, column: u16, row: u16, step: isize) {
        if let Some((PanelKind::Logs, _)) = self.panel_at(column, row) {
            return self.scroll_logs(step as i64);
        }
        if let Some((kind, _)) = self.panel_at(column, row)
            && table_kind(kind).is_some()
        {
            if self.ui.focus != kind {
                self.ui.focus = kind;
                self.reselect();
            }
            self.move_selection(step);
        }
    }
}
