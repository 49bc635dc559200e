//! Controllers: the process supervisor that starts and stops the plan's commands.
//!
//! Never imports ratatui or crossterm; it executes `Command`s and reports `Update`s.

mod backlog;
mod child;
mod line_split;
pub mod log_files;
mod log_reader;
pub mod port_owner;
mod process_group;
mod spawn;
mod supervisor;
mod watchdog;

pub use backlog::{MAX_PENDING_BYTES, MAX_PENDING_LINES};
pub use spawn::{STUB_NAME, resolve_program};
pub use supervisor::{Supervisor, SupervisorOptions};
pub use watchdog::{GroupRegistry, WATCHDOG_GRACE, stop_groups};
