//! Which layout is shown: the preferred one when the terminal is large enough for it; in a
//! smaller terminal, one that fits (compact at 80×24), said in the status bar, and back to the
//! preferred one when the terminal grows — unless the user chose the layout (`L`, `--layout`).
//! Below every layout's minimum the screen only says how large it needs to be.

use ratatui::layout::Rect;

use super::State;

/// The layout a small terminal falls back to first, when it fits.
const FALLBACK: &str = "compact";

impl State {
    /// The terminal is now `width`×`height`: follow it.
    pub(super) fn resized(&mut self, width: u16, height: u16) {
        self.ui.size = Rect::new(0, 0, width, height);
        self.choose_layout();
    }

    /// Show `index` from now on, as the user's own choice (no automatic switching).
    pub fn pin_layout(&mut self, index: usize) {
        self.ui.preferred_layout = index;
        self.ui.layout_pinned = true;
        self.ui.layout = index;
        self.fix_focus();
    }

    /// The preferred layout if it fits (or is pinned), else the best one that fits.
    pub(super) fn choose_layout(&mut self) {
        let (w, h) = (self.ui.size.width, self.ui.size.height);
        let preferred = self
            .ui
            .preferred_layout
            .min(self.layouts.len().saturating_sub(1));
        let fits = |i: usize| self.layouts.get(i).is_some_and(|l| l.fits(w, h));
        let target = if self.ui.layout_pinned || fits(preferred) {
            preferred
        } else {
            let by_name = self
                .layouts
                .iter()
                .position(|l| l.name == FALLBACK)
                .filter(|&i| fits(i));
            // Else the fitting layout that needs the most room (it shows the most).
            let largest = (0..self.layouts.len())
                .filter(|&i| fits(i))
                .max_by_key(|&i| {
                    let (mw, mh) = self.layouts[i].min_size;
                    u32::from(mw) * u32::from(mh)
                });
            by_name.or(largest).unwrap_or(preferred)
        };
        if target != self.ui.layout {
            self.ui.layout = target;
            self.fix_focus();
        }
    }

    /// Why the layout shown is not the preferred one (for the status bar): "default needs 100×30".
    pub fn layout_note(&self) -> Option<String> {
        let preferred = self.layouts.get(self.ui.preferred_layout)?;
        if self.ui.layout == self.ui.preferred_layout {
            return None;
        }
        let (w, h) = preferred.min_size;
        Some(format!("{} needs {w}×{h}", preferred.name))
    }

    /// The size needed when the terminal is smaller than every layout allows.
    pub fn too_small(&self) -> Option<(u16, u16)> {
        let (w, h) = (self.ui.size.width, self.ui.size.height);
        if self.layout().fits(w, h) || self.layouts.iter().any(|l| l.fits(w, h)) {
            return None;
        }
        self.layouts
            .iter()
            .map(|l| l.min_size)
            .min_by_key(|&(mw, mh)| u32::from(mw) * u32::from(mh))
    }
}
