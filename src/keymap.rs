//! Keys to actions: the default bindings, overrides from a keymap file, and terminal-event translation.

use std::collections::BTreeMap;
use std::path::Path;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use crate::action::Action;
use crate::manifest::{ManifestError, Source};
use crate::state::Mode;

/// The shipped bindings, as a keymap file would write them.
pub const DEFAULT_KEYMAP: &str = r#"
q = "quit"
ctrl-c = "quit"
up = "up"
k = "up"
down = "down"
j = "down"
pageup = "page_up"
pagedown = "page_down"
home = "top"
end = "bottom"
tab = "next_panel"
backtab = "prev_panel"
"/" = "filter"
g = "toggle_groups"
enter = "detail"
"?" = "help"
L = "cycle_layout"
s = "start"
x = "stop"
r = "restart"
S = "start_all"
X = "stop_all"
m = "merged_logs"
z = "toggle_utc"
o = "nats_sort"
esc = "back"
p = "ports"
a = "adopt"
A = "acknowledge_conflicts"
"#;

/// A key with its modifiers, normalised so that `S` and `shift-s` are the same binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub code: KeyCodeName,
    pub ctrl: bool,
    pub alt: bool,
}

/// The key codes a keymap can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyCodeName {
    Char(char),
    Named(&'static str),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("space", KeyCode::Char(' ')),
];

impl Key {
    fn from_event(key: &KeyEvent) -> Option<Key> {
        let code = match key.code {
            KeyCode::Char(' ') => KeyCodeName::Named("space"),
            KeyCode::Char(c) => KeyCodeName::Char(c),
            other => KeyCodeName::Named(NAMED.iter().find(|(_, k)| *k == other)?.0),
        };
        Some(Key {
            code,
            ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
            alt: key.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parse `q`, `S`, `ctrl-c`, `alt-x`, `pagedown`, `?`.
    pub fn parse(text: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeName::Char(c),
            _ => KeyCodeName::Named(NAMED.iter().find(|(n, _)| *n == rest)?.0),
        };
        Some(Key { code, ctrl, alt })
    }

    /// How the help overlay writes the key.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.ctrl {
            s.push_str("ctrl-");
        }
        if self.alt {
            s.push_str("alt-");
        }
        match self.code {
            KeyCodeName::Char(c) => s.push(c),
            KeyCodeName::Named(n) => s.push_str(n),
        }
        s
    }
}

/// Key bindings.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: BTreeMap<Key, Action>,
}

impl Keymap {
    /// The shipped bindings.
    pub fn default_keymap() -> Keymap {
        let source = Source {
            path: "keymap (built in)".into(),
            text: DEFAULT_KEYMAP.to_string(),
        };
        let mut map = Keymap {
            bindings: BTreeMap::new(),
        };
        // The built-in keymap is tested to parse.
        let _ = map.merge(&source);
        map
    }

    /// The defaults overridden by the keymap file at `path`.
    pub fn load(path: &Path) -> Result<Keymap, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read keymap: {e}"),
        })?;
        let mut map = Keymap::default_keymap();
        map.merge(&Source {
            path: path.to_path_buf(),
            text,
        })?;
        Ok(map)
    }

    /// Add the bindings of a keymap file (`"key" = "action"` lines); `"none"` unbinds a key.
    pub fn merge(&mut self, source: &Source) -> Result<(), ManifestError> {
        let table: toml::Spanned<BTreeMap<toml::Spanned<String>, toml::Spanned<String>>> =
            toml::from_str(&source.text).map_err(|e| {
                ManifestError::at(
                    source,
                    e.span().map_or(0, |s| s.start),
                    e.message().trim_end(),
                )
            })?;
        for (key, action) in table.into_inner() {
            let k = Key::parse(key.get_ref()).ok_or_else(|| {
                ManifestError::at(
                    source,
                    key.span().start,
                    format!("unknown key {:?}", key.get_ref()),
                )
            })?;
            if action.get_ref() == "none" {
                self.bindings.remove(&k);
                continue;
            }
            let a: Action = serde::Deserialize::deserialize(serde::de::value::StrDeserializer::<
                serde::de::value::Error,
            >::new(action.get_ref()))
            .map_err(|_| {
                ManifestError::at(
                    source,
                    action.span().start,
                    format!("unknown action {:?}", action.get_ref()),
                )
            })?;
            self.bindings.insert(k, a);
        }
        Ok(())
    }

    /// Help lines: every action with the keys bound to it, in the order of the default keymap.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        let mut out: Vec<(Action, Vec<String>)> = Vec::new();
        for (key, action) in &self.bindings {
            match out.iter_mut().find(|(a, _)| a == action) {
                Some((_, keys)) => keys.push(key.label()),
                None => out.push((*action, vec![key.label()])),
            }
        }
        let order = |a: &Action| {
            Keymap::default_keymap()
                .bindings
                .values()
                .position(|b| b == a)
                .unwrap_or(usize::MAX)
        };
        out.sort_by_key(|(a, _)| order(a));
        out.into_iter()
            .map(|(a, keys)| (keys.join(" "), a.describe()))
            .collect()
    }

    /// Translate a terminal event, given what keys mean in `mode`.
    pub fn translate(&self, event: &Event, mode: Mode) -> Option<Action> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                if mode == Mode::Filter {
                    return match key.code {
                        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                            Some(Action::Quit)
                        }
                        KeyCode::Char(c) => Some(Action::FilterChar(c)),
                        KeyCode::Backspace => Some(Action::FilterBackspace),
                        KeyCode::Enter => Some(Action::FilterDone),
                        KeyCode::Esc => Some(Action::Back),
                        _ => None,
                    };
                }
                if matches!(
                    mode,
                    Mode::ConfirmStopAll | Mode::ConfirmCompose | Mode::ConfirmHolder
                ) {
                    return match key.code {
                        KeyCode::Char('y' | 'Y') | KeyCode::Enter => Some(Action::Confirm(true)),
                        _ => Some(Action::Confirm(false)),
                    };
                }
                let mut k = Key::from_event(key)?;
                // Shifted letters arrive as upper-case chars; the shift itself is not part of the binding.
                if let KeyCodeName::Char(_) = k.code {
                    k.alt = key.modifiers.contains(KeyModifiers::ALT);
                }
                self.bindings.get(&k).copied()
            }
            Event::Mouse(MouseEvent {
                kind, column, row, ..
            }) => {
                let (column, row) = (*column, *row);
                match kind {
                    MouseEventKind::Down(_) => Some(Action::Click { column, row }),
                    MouseEventKind::ScrollUp => Some(Action::ScrollUp { column, row }),
                    MouseEventKind::ScrollDown => Some(Action::ScrollDown { column, row }),
                    _ => None,
                }
            }
            Event::Resize(width, height) => Some(Action::Resize {
                width: *width,
                height: *height,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEventState, MouseButton};

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        })
    }

    fn src(text: &str) -> Source {
        Source {
            path: "keys.toml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn the_builtin_keymap_parses_completely() {
        let mut map = Keymap {
            bindings: BTreeMap::new(),
        };
        map.merge(&src(DEFAULT_KEYMAP)).expect("built-in keymap");
        assert_eq!(
            map.bindings.len(),
            DEFAULT_KEYMAP.lines().filter(|l| l.contains('=')).count()
        );
    }

    #[test]
    fn default_bindings_translate_keys_mouse_and_resize() {
        let map = Keymap::default_keymap();
        let n = Mode::Normal;
        assert_eq!(
            map.translate(&key(KeyCode::Char('q'), KeyModifiers::NONE), n),
            Some(Action::Quit)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('c'), KeyModifiers::CONTROL), n),
            Some(Action::Quit)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('j'), KeyModifiers::NONE), n),
            Some(Action::Down)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Down, KeyModifiers::NONE), n),
            Some(Action::Down)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('S'), KeyModifiers::SHIFT), n),
            Some(Action::StartAll)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('s'), KeyModifiers::NONE), n),
            Some(Action::Start)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Tab, KeyModifiers::NONE), n),
            Some(Action::NextPanel)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('?'), KeyModifiers::SHIFT), n),
            Some(Action::Help)
        );
        // While filtering, letters are text (q does not quit), ctrl-c still quits.
        let f = Mode::Filter;
        assert_eq!(
            map.translate(&key(KeyCode::Char('q'), KeyModifiers::NONE), f),
            Some(Action::FilterChar('q'))
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('c'), KeyModifiers::CONTROL), f),
            Some(Action::Quit)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Esc, KeyModifiers::NONE), f),
            Some(Action::Back)
        );
        let confirm = Mode::ConfirmStopAll;
        assert_eq!(
            map.translate(&key(KeyCode::Char('y'), KeyModifiers::NONE), confirm),
            Some(Action::Confirm(true))
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('x'), KeyModifiers::NONE), confirm),
            Some(Action::Confirm(false))
        );
        let click = Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        });
        assert_eq!(
            map.translate(&click, n),
            Some(Action::Click { column: 3, row: 4 })
        );
        assert_eq!(
            map.translate(&Event::Resize(100, 30), n),
            Some(Action::Resize {
                width: 100,
                height: 30
            })
        );
    }

    #[test]
    fn a_keymap_file_overrides_and_unbinds() {
        let mut map = Keymap::default_keymap();
        map.merge(&src(
            "q = \"none\"\nctrl-q = \"quit\"\nalt-s = \"start_all\"\n",
        ))
        .unwrap();
        let n = Mode::Normal;
        assert_eq!(
            map.translate(&key(KeyCode::Char('q'), KeyModifiers::NONE), n),
            None
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('q'), KeyModifiers::CONTROL), n),
            Some(Action::Quit)
        );
        assert_eq!(
            map.translate(&key(KeyCode::Char('s'), KeyModifiers::ALT), n),
            Some(Action::StartAll)
        );
        let help = map.help();
        let quit = help
            .iter()
            .find(|(_, d)| *d == Action::Quit.describe())
            .unwrap();
        assert_eq!(quit.0, "ctrl-c ctrl-q", "help is generated from the keymap");
    }

    #[test]
    fn bad_keymaps_name_line_and_column() {
        let mut map = Keymap::default_keymap();
        let e = map
            .merge(&src("q = \"quit\"\nz = \"explode\"\n"))
            .unwrap_err();
        assert_eq!((e.line, e.column), (2, 5), "{e}");
        assert!(e.message.contains("unknown action \"explode\""), "{e}");
        let e = map.merge(&src("hyper-q = \"quit\"\n")).unwrap_err();
        assert!(e.message.contains("unknown key \"hyper-q\""), "{e}");
        // Input-only actions cannot be bound by name.
        assert!(map.merge(&src("a = \"filter_char\"\n")).is_err());
    }
}
