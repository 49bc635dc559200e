//! `anychat-top ports [--json] [--check] [--next]`: one scan of the listening sockets joined
//! with the plan, the static plan check, or the next free HTTP/gRPC pair, as text or JSON.

use std::sync::Arc;
use std::time::Instant;

use super::report::{listening_ports, ports_json_text, ports_table};
use super::{check_plan, next_free_pair, read_ephemeral_range, render_next};
use crate::collect::port_scan::Scanner;
use crate::plan::Plan;
use crate::state::ports::PortsState;

/// What `ports` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortsQuery {
    /// Every planned port and its holder (the default).
    Holders,
    /// The static plan check.
    Check,
    /// The next free HTTP/gRPC pair.
    Next,
}

/// Runs the query on `plan` (shifted by `port_offset`): the text to print and the exit code.
/// Blocking: reads the kernel's socket tables and `/proc`.
pub fn run_ports(plan: Plan, port_offset: i32, query: PortsQuery, json: bool) -> (String, i32) {
    match query {
        PortsQuery::Check => {
            let ephemeral = read_ephemeral_range().ok();
            check_plan(&plan, port_offset, ephemeral).render(json)
        }
        PortsQuery::Next => {
            let scan = Scanner::new().scan();
            let in_use = listening_ports(&scan);
            render_next(next_free_pair(&plan, port_offset, &in_use), json)
        }
        PortsQuery::Holders => {
            let mut state = PortsState::new(Arc::new(plan));
            state.apply(Scanner::new().scan(), Instant::now());
            let (mut text, code) = if json {
                ports_json_text(&state)
            } else {
                ports_table(&state)
            };
            if !text.ends_with('\n') {
                text.push('\n');
            }
            (text, code)
        }
    }
}
