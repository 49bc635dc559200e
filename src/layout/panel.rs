//! The kinds of panel a layout can place; adding a panel is one variant here (plus its title).

use std::fmt;

use serde::Deserialize;

/// A panel a layout can place, named in layout files by [`PanelKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// The table of AnyChat services.
    Services,
    /// The table of infrastructure (databases, brokers, monitoring).
    Infra,
    /// Everything known about the selected row.
    Detail,
    /// Active alerts, newest first.
    Alerts,
    /// The one-line status bar.
    Status,
    /// Output of the selected process.
    Logs,
    /// Each service's request rate, errors, p95, goroutines, memory and CPU, with sparklines.
    Metrics,
    /// Every metric family of the selected service, filterable, with a chart.
    Explorer,
    /// The NATS server's monitoring figures and its busiest connections.
    Nats,
    /// Every planned port with its state and holder.
    Ports,
    /// The Docker engine and every container entry (state, health, uptime, usage, ports,
    /// flags and hints).
    Containers,
}

impl PanelKind {
    /// The name used in layout files (`"services"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PanelKind::Services => "services",
            PanelKind::Infra => "infra",
            PanelKind::Detail => "detail",
            PanelKind::Alerts => "alerts",
            PanelKind::Status => "status",
            PanelKind::Logs => "logs",
            PanelKind::Metrics => "metrics",
            PanelKind::Explorer => "explorer",
            PanelKind::Nats => "nats",
            PanelKind::Ports => "ports",
            PanelKind::Containers => "containers",
        }
    }

    /// The title shown on the panel's border.
    pub fn title(self) -> &'static str {
        match self {
            PanelKind::Services => "Services",
            PanelKind::Infra => "Infrastructure",
            PanelKind::Detail => "Detail",
            PanelKind::Alerts => "Alerts",
            PanelKind::Status => "Status",
            PanelKind::Logs => "Logs",
            PanelKind::Metrics => "Metrics",
            PanelKind::Explorer => "Explorer",
            PanelKind::Nats => "NATS",
            PanelKind::Ports => "Ports",
            PanelKind::Containers => "Docker",
        }
    }
}

impl fmt::Display for PanelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
