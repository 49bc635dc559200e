//! anychat-top: a terminal dashboard for developing the AnyChat chat backend.

pub mod action;
pub mod app;
pub mod check;
pub mod check_containers;
pub mod checkout;
pub mod cli;
pub mod collect;
pub mod control;
pub mod deps;
pub mod health;
pub mod keymap;
pub mod layout;
pub mod logs;
pub mod manifest;
pub mod message;
pub mod metrics;
pub mod plan;
pub mod portplan;
pub mod ports;
pub mod state;
pub mod terminal;
pub mod view;
