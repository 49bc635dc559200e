//! What the user wants (`Action`), named in keymap files, each with a description for the help overlay.

use serde::Deserialize;

/// A user intention. The named ones can be bound in a keymap file (`"q" = "quit"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPanel,
    PrevPanel,
    Filter,
    ToggleGroups,
    Detail,
    Help,
    CycleLayout,
    Start,
    Stop,
    Restart,
    StartAll,
    StopAll,
    MergedLogs,
    /// Log times in the local zone or in UTC.
    ToggleUtc,
    /// Leave a mode: close help, clear the filter, cancel a confirmation.
    Back,
    /// The NATS panel's connections: next sort order (like nats-top's `o`).
    NatsSort,
    /// Focus the ports panel (switching to a layout that has one).
    Ports,
    /// Ports panel: adopt the selected port's holder as its entry's running instance.
    Adopt,
    /// Mark every current port conflict as seen.
    AcknowledgeConflicts,
    // Actions produced by the program itself, never bound by name.
    /// Start every entry with a command at once, ignoring dependencies (the demo's stubs).
    #[serde(skip)]
    StartEverything,
    #[serde(skip)]
    FilterChar(char),
    #[serde(skip)]
    FilterBackspace,
    #[serde(skip)]
    FilterDone,
    #[serde(skip)]
    Confirm(bool),
    #[serde(skip)]
    Click {
        column: u16,
        row: u16,
    },
    #[serde(skip)]
    ScrollUp {
        column: u16,
        row: u16,
    },
    #[serde(skip)]
    ScrollDown {
        column: u16,
        row: u16,
    },
    #[serde(skip)]
    Resize {
        width: u16,
        height: u16,
    },
}

impl Action {
    /// One line for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit (stops the services it started)",
            Action::Up => "select the previous row",
            Action::Down => "select the next row",
            Action::PageUp => "one page up",
            Action::PageDown => "one page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::NextPanel => "focus the next panel",
            Action::PrevPanel => "focus the previous panel",
            Action::Filter => "filter rows by name (search in the logs panel)",
            Action::ToggleGroups => "group services by service group",
            Action::Detail => "open the detail of the selected row",
            Action::Help => "show or hide this help",
            Action::CycleLayout => "switch to the next layout",
            Action::Start => "start the selected service or container",
            Action::Stop => "stop the selected service or container",
            Action::Restart => "restart the selected service or container",
            Action::StartAll => "start every service in dependency order",
            Action::StopAll => "stop every service (asks first)",
            Action::MergedLogs => "logs: selected service / all services merged",
            Action::ToggleUtc => "log times: local zone / UTC",
            Action::Back => "close help, clear the filter, cancel",
            Action::NatsSort => "NATS connections: next sort order",
            Action::Ports => "ports panel (x there stops a port's holder, asks first)",
            Action::Adopt => "ports panel: adopt the selected holder as the entry's instance",
            Action::AcknowledgeConflicts => "acknowledge the port conflicts",
            Action::StartEverything
            | Action::FilterChar(_)
            | Action::FilterBackspace
            | Action::FilterDone
            | Action::Confirm(_)
            | Action::Click { .. }
            | Action::ScrollUp { .. }
            | Action::ScrollDown { .. }
            | Action::Resize { .. } => "",
        }
    }
}
