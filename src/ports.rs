//! Which of the plan's ports are free on this host, and the offset that frees them all.

use std::net::TcpListener;

use crate::plan::{Plan, is_remote_host};

/// Ports of `plan` that cannot be bound on their host right now (remote hosts are not ours
/// to bind, so their ports never count as taken).
pub fn taken_ports(plan: &Plan) -> Vec<u16> {
    let mut taken: Vec<u16> = plan
        .targets
        .iter()
        .filter(|t| !is_remote_host(&t.host))
        .filter(|t| TcpListener::bind((t.host.as_str(), t.port)).is_err())
        .map(|t| t.port)
        .collect();
    taken.sort_unstable();
    taken.dedup();
    taken
}

/// The first of `offsets` at which every port of the plan is free, with the plan loaded there.
pub fn first_free_offset<E>(
    offsets: impl IntoIterator<Item = i32>,
    plan_at: impl Fn(i32) -> Result<Plan, E>,
) -> Result<Option<(i32, Plan)>, E> {
    for offset in offsets {
        let plan = plan_at(offset)?;
        if taken_ports(&plan).is_empty() {
            return Ok(Some((offset, plan)));
        }
    }
    Ok(None)
}

/// Lowest port of Linux's default ephemeral range: shifted ports stay below it, where no
/// outgoing connection (or its TIME_WAIT) can hold them.
pub const EPHEMERAL_START: i32 = 32768;

/// Offsets tried, in order, when the plan's own ports are taken: 0, then 10000, 11000, ...
/// while `max_port` stays below the ephemeral range, then 1000 ... 9000.
pub fn candidate_offsets(max_port: u16) -> Vec<i32> {
    let room = (EPHEMERAL_START - 1 - i32::from(max_port)).max(0);
    let mut offsets = vec![0];
    offsets.extend((10..=room / 1000).map(|k| k * 1000));
    offsets.extend((1..10).map(|k| k * 1000).filter(|o| *o <= room));
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_keep_every_port_valid() {
        let offsets = candidate_offsets(16686);
        assert_eq!(&offsets[..3], [0, 10000, 11000]);
        assert_eq!(offsets.iter().max(), Some(&16000));
        assert!(offsets.contains(&1000));
        assert_eq!(offsets.len(), 17);
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let plan_at = |port_offset| {
            crate::manifest::build_plan(
                &[crate::manifest::Source {
                    path: "t.toml".into(),
                    text: format!("[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = {port}\n"),
                }],
                &crate::manifest::PlanOptions {
                    port_offset,
                    root: None,
                },
            )
        };
        let plan = plan_at(0).unwrap();
        assert_eq!(taken_ports(&plan), [port]);
        // The taken offset is skipped; the next one with every port free is chosen.
        let (offset, moved) = first_free_offset([0, -1], plan_at).unwrap().unwrap();
        assert_eq!(offset, -1);
        assert_eq!(moved.targets[0].port, port - 1);
        drop(taken);
        assert!(taken_ports(&plan).is_empty());
        assert_eq!(
            first_free_offset([0], plan_at).unwrap().map(|(o, _)| o),
            Some(0)
        );
    }
}
