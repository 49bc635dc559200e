//! Service metrics: Prometheus exposition decoding, request metrics derived from zap logs,
//! histogram quantiles, the shared-port attribution rule and the headless renderings.

pub mod attribution;
pub mod commands;
pub mod demo_nats;
pub mod exposition;
pub mod go_duration;
pub mod headless;
pub mod line_check;
pub mod quantile;
pub mod render;
pub mod zap;
