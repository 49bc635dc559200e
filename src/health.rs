//! Probe outcomes: the facts a probe reports about one port.

use std::time::Duration;

/// What a probe concluded about a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeState {
    /// Not probed yet.
    Pending,
    /// Answered and healthy.
    Up,
    /// The port answers gRPC but has no grpc.health.v1 service (UNIMPLEMENTED); counts as up.
    NoHealthService,
    /// Answered, but says it is not healthy (HTTP 5xx, NOT_SERVING, status != ok, ...).
    Unhealthy,
    /// Refused, timed out, or spoke the wrong protocol.
    Down,
}

impl ProbeState {
    /// Whether `check` counts this state as up.
    pub fn is_up(self) -> bool {
        matches!(self, ProbeState::Up | ProbeState::NoHealthService)
    }

    /// Lower-case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeState::Pending => "pending",
            ProbeState::Up => "up",
            ProbeState::NoHealthService => "no_health_service",
            ProbeState::Unhealthy => "unhealthy",
            ProbeState::Down => "down",
        }
    }
}

/// The outcome of one probe of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub state: ProbeState,
    /// Time from the start of the probe to its answer (or to the timeout).
    pub latency: Duration,
    /// Human-readable reason or answer summary ("HTTP 200", "connection refused", ...).
    pub detail: String,
}

impl ProbeResult {
    pub fn new(state: ProbeState, latency: Duration, detail: impl Into<String>) -> Self {
        ProbeResult {
            state,
            latency,
            detail: detail.into(),
        }
    }
}
