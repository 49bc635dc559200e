//! anychat-top: a terminal dashboard for developing the AnyChat chat backend.

pub mod collect;
pub mod health;
pub mod manifest;
pub mod message;
pub mod plan;
pub mod check;
pub mod cli;
