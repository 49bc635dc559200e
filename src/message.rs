//! The messages between collectors, controllers, input and the state owner.

use std::time::Instant;

use crate::health::ProbeResult;
use crate::plan::TargetId;

/// Facts from collectors and controllers, past tense; errors are values inside them.
#[derive(Debug, Clone)]
pub enum Update {
    /// A probe of `target` finished at `at`.
    HealthChecked {
        target: TargetId,
        result: ProbeResult,
        at: Instant,
    },
}
