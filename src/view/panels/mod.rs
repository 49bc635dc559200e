//! One file per panel; each takes a small input struct and implements `Widget` for a reference to it.

pub mod alerts;
pub mod container_rows;
pub mod containers;
pub mod detail;
pub mod explorer;
pub mod figures;
pub mod help;
pub mod logs;
pub mod metrics;
pub mod nats;
pub mod ports;
pub mod status;
pub mod table;
