//! Which service a shared metrics port belongs to: the one whose process holds the port.

use std::collections::BTreeMap;

use crate::plan::EntryId;

/// How a service relates to the metrics page served on its configured port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// The page is this service's.
    Own,
    /// The port is held by another supervised service's process.
    HeldBy(EntryId),
    /// The port is held by a process that is none of the claimants.
    HeldByPid(u32),
    /// Several services share the port and nobody knows who holds it (yet).
    Unknown,
}

/// Attributes one endpoint's page among the entries configured with it (`claimants`), given
/// the pid holding the port (from the port scanner or `/proc`) and which entry owns which pid.
pub fn attribute(
    claimants: &[EntryId],
    holder_pid: Option<u32>,
    entry_of_pid: &BTreeMap<u32, EntryId>,
) -> Vec<(EntryId, Attribution)> {
    let holder = holder_pid.map(|pid| (pid, entry_of_pid.get(&pid).copied()));
    claimants
        .iter()
        .map(|&entry| {
            let verdict = match holder {
                Some((_, Some(owner))) if owner == entry => Attribution::Own,
                Some((_, Some(owner))) if claimants.contains(&owner) => Attribution::HeldBy(owner),
                // A single claimant with no known process of its own (not supervised):
                // whoever holds its port is taken to be it.
                Some(_) if claimants.len() == 1 && !pid_known(entry, entry_of_pid) => {
                    Attribution::Own
                }
                Some((pid, _)) => Attribution::HeldByPid(pid),
                None if claimants.len() == 1 => Attribution::Own,
                None => Attribution::Unknown,
            };
            (entry, verdict)
        })
        .collect()
}

fn pid_known(entry: EntryId, entry_of_pid: &BTreeMap<u32, EntryId>) -> bool {
    entry_of_pid.values().any(|&e| e == entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: EntryId = EntryId(1);
    const B: EntryId = EntryId(2);
    const C: EntryId = EntryId(3);

    fn pids() -> BTreeMap<u32, EntryId> {
        BTreeMap::from([(100, A), (200, B), (300, C)])
    }

    #[test]
    fn shared_port_goes_to_the_holder_only() {
        let got = attribute(&[A, B, C], Some(200), &pids());
        assert_eq!(
            got,
            [
                (A, Attribution::HeldBy(B)),
                (B, Attribution::Own),
                (C, Attribution::HeldBy(B)),
            ]
        );
    }

    #[test]
    fn unknown_or_foreign_holder() {
        assert_eq!(
            attribute(&[A, B], None, &pids()),
            [(A, Attribution::Unknown), (B, Attribution::Unknown)]
        );
        assert_eq!(
            attribute(&[A, B], Some(999), &pids()),
            [
                (A, Attribution::HeldByPid(999)),
                (B, Attribution::HeldByPid(999))
            ]
        );
        // Held by a supervised service that does not claim this endpoint.
        assert_eq!(
            attribute(&[A], Some(300), &pids()),
            [(A, Attribution::HeldByPid(300))]
        );
    }

    #[test]
    fn a_lone_claimant() {
        assert_eq!(attribute(&[A], None, &pids()), [(A, Attribution::Own)]);
        assert_eq!(attribute(&[A], Some(100), &pids()), [(A, Attribution::Own)]);
        // Not supervised (no pid of its own): the holder is taken to be it.
        assert_eq!(
            attribute(&[A], Some(555), &BTreeMap::new()),
            [(A, Attribution::Own)]
        );
        // Supervised as pid 100, but 555 holds the port: someone else answers.
        assert_eq!(
            attribute(&[A], Some(555), &pids()),
            [(A, Attribution::HeldByPid(555))]
        );
    }
}
