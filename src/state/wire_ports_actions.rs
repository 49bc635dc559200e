//! The ports panel's actions: selecting a port, stopping its holder after a confirmation
//! (SIGTERM, then SIGKILL when asked again; never a process we may not signal) and adopting it
//! as the running instance of its entry.

use crate::layout::{PanelKind, panel_areas};
use crate::message::Command;
use crate::plan::EntryId;
use crate::state::ports::{Holder, HolderKind, OurProcess};
use crate::state::{Mode, Severity, State};

/// What the ports panel asks to confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderVerb {
    /// Send this signal (SIGTERM first, SIGKILL when asked again).
    Stop { signal: i32 },
    /// Treat the holder as the running instance of this entry.
    Adopt { entry: EntryId },
}

/// A holder action waiting for y/n, with what the confirmation names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderAction {
    pub verb: HolderVerb,
    pub pid: u32,
    pub start_ticks: u64,
    pub user: String,
    pub command: String,
    pub port: u16,
}

impl HolderAction {
    /// The question for the status bar, what matters first (the command may be cut):
    /// "y/n? SIGTERM pid 4242 (user root) on port 8001: python3 -m http.server".
    pub fn question(&self, entry_name: impl Fn(EntryId) -> String) -> String {
        let who = format!(
            "pid {} (user {}) on port {}",
            self.pid, self.user, self.port
        );
        let verb = match &self.verb {
            HolderVerb::Stop { signal } if *signal == libc::SIGKILL => format!("SIGKILL {who}"),
            HolderVerb::Stop { .. } => format!("SIGTERM {who}"),
            HolderVerb::Adopt { entry } => {
                format!("adopt {who} as the running {}", entry_name(*entry))
            }
        };
        format!("y/n? {verb}: {}", self.command)
    }
}

impl State {
    /// Lines of the ports panel: planned ports, then unplanned listeners.
    pub fn port_lines(&self) -> usize {
        self.ports.rows().len() + self.ports.unplanned().len()
    }

    /// The holder on the selected line of the ports panel, with the entry of a planned row.
    pub fn selected_holder(&self) -> Option<(Option<EntryId>, &Holder)> {
        let at = self.ui.panel(PanelKind::Ports).selected;
        let rows = self.ports.rows();
        match rows.get(at) {
            Some(r) => r.holder().map(|h| ((!r.shared).then_some(r.entry), h)),
            None => self
                .ports
                .unplanned()
                .get(at - rows.len())
                .map(|u| (None, &u.holder)),
        }
    }

    /// Whether we may signal `h`'s process: visible, not ours, not a container's proxy, and of
    /// our uid (or we are root).
    pub fn may_signal(&self, h: &Holder) -> bool {
        let Some(o) = &h.owner else { return false };
        // An adopted process is ours to watch, not our child: it is stopped from here.
        let adopted = self.port_wiring.adopted.iter().any(|a| a.pid == o.pid);
        let ours = matches!(h.kind, HolderKind::Ours { .. }) && !adopted;
        let container = matches!(h.kind, HolderKind::Container { .. });
        !ours && !container && (self.port_wiring.our_uid == 0 || o.uid == self.port_wiring.our_uid)
    }

    /// `x` in the ports panel: ask to stop the selected holder (SIGKILL when it was sent
    /// SIGTERM already). Never offered for a process we may not signal: an alert says why.
    pub(in crate::state) fn ask_stop_holder(&mut self) {
        let now = self.now;
        let Some((_, h)) = self.selected_holder() else {
            return self.alert(now, Severity::Info, "nobody holds that port".into());
        };
        if !self.may_signal(h) {
            let why = match (&h.kind, &h.owner) {
                (HolderKind::Ours { .. }, _) => {
                    "it is ours: stop it from the services table".to_string()
                }
                (HolderKind::Container { .. }, _) => {
                    "it is Docker's proxy for a container: stop the container".to_string()
                }
                (_, None) => format!("{}: run as root to see and stop it", h.describe()),
                (_, Some(o)) => format!("it belongs to user {} (pid {})", o.user, o.pid),
            };
            return self.alert(now, Severity::Warning, format!("cannot stop it: {why}"));
        }
        let Some(o) = h.owner.clone() else { return };
        let signal = if self.port_wiring.termed.contains(&(o.pid, o.start_ticks)) {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        self.port_wiring.confirm = Some(HolderAction {
            verb: HolderVerb::Stop { signal },
            pid: o.pid,
            start_ticks: o.start_ticks,
            user: o.user.clone(),
            command: o.command_line(),
            port: h.addr.port(),
        });
        self.ui.mode = Mode::ConfirmHolder;
    }

    /// `a` in the ports panel: ask to adopt the selected holder as its entry's instance.
    pub(in crate::state) fn ask_adopt_holder(&mut self) {
        let now = self.now;
        let Some((entry, h)) = self.selected_holder() else {
            return self.alert(now, Severity::Info, "nobody holds that port".into());
        };
        let (Some(entry), Some(o), HolderKind::Stale { .. } | HolderKind::Foreign) =
            (entry, &h.owner, &h.kind)
        else {
            return self.alert(
                now,
                Severity::Warning,
                "only a visible process on a port of one entry alone can be adopted".into(),
            );
        };
        self.port_wiring.confirm = Some(HolderAction {
            verb: HolderVerb::Adopt { entry },
            pid: o.pid,
            start_ticks: o.start_ticks,
            user: o.user.clone(),
            command: o.command_line(),
            port: h.addr.port(),
        });
        self.ui.mode = Mode::ConfirmHolder;
    }

    /// y/n to the holder action.
    pub(in crate::state) fn confirm_holder(&mut self, yes: bool) {
        self.ui.mode = Mode::Normal;
        let Some(action) = self.port_wiring.confirm.take() else {
            return;
        };
        if !yes {
            return;
        }
        let now = self.now;
        match action.verb {
            HolderVerb::Stop { signal } => {
                if signal == libc::SIGTERM {
                    self.port_wiring
                        .termed
                        .push((action.pid, action.start_ticks));
                }
                self.queue(Command::SignalHolder {
                    pid: action.pid,
                    start_ticks: action.start_ticks,
                    signal,
                });
            }
            HolderVerb::Adopt { entry } => {
                self.port_wiring.adopted.retain(|o| o.entry != entry);
                self.port_wiring.adopted.push(OurProcess {
                    entry,
                    pid: action.pid,
                    since: now,
                });
                let name = self.plan.entries[entry.0].name.clone();
                self.alert(
                    now,
                    Severity::Info,
                    format!(
                        "adopted pid {} ({}) as the running {name}",
                        action.pid, action.command
                    ),
                );
                self.port_wiring.resync = true;
                self.sync_ports();
            }
        }
    }

    /// What came of a signal sent to a holder.
    pub fn holder_signalled(&mut self, pid: u32, signal: i32, result: Result<(), String>) {
        let now = self.now;
        let name = if signal == libc::SIGKILL {
            "SIGKILL"
        } else {
            "SIGTERM"
        };
        match result {
            Ok(()) => self.alert(now, Severity::Info, format!("sent {name} to pid {pid}")),
            Err(e) => self.alert(now, Severity::Warning, format!("{name} not sent: {e}")),
        }
    }

    /// `p`: focus the ports panel, switching to a layout that has one when needed.
    pub(in crate::state) fn show_ports(&mut self) {
        if !self.areas().iter().any(|(k, _)| *k == PanelKind::Ports)
            && let Some(i) = self.layouts.iter().position(|l| {
                panel_areas(l, self.ui.size)
                    .iter()
                    .any(|(k, _)| *k == PanelKind::Ports)
            })
        {
            self.pin_layout(i);
        }
        if self.areas().iter().any(|(k, _)| *k == PanelKind::Ports) {
            self.ui.focus = PanelKind::Ports;
        }
    }

    /// The entry of the selected planned port becomes the selected entry.
    pub(in crate::state) fn select_port_entry(&mut self) {
        let at = self.ui.panel(PanelKind::Ports).selected;
        if let Some(r) = self.ports.rows().get(at) {
            self.ui.selected = Some(r.entry);
        }
    }

    /// Moves the ports panel's selection by `step` lines.
    pub(in crate::state) fn move_port_selection(&mut self, step: isize) {
        let last = self.port_lines().saturating_sub(1) as isize;
        let view = self.ui.panel_mut(PanelKind::Ports);
        view.selected = (view.selected as isize)
            .saturating_add(step)
            .clamp(0, last.max(0)) as usize;
    }
}
