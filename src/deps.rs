//! Dependency order, in one place: the manifest validation (cycles) and start-all/stop-all use it.

use crate::plan::{EntryId, Plan};

/// Nodes `0..deps.len()` ordered so that each comes after everything it depends on (`deps[n]`
/// lists what `n` depends on), stable in index order among nodes that are ready together; or the
/// first cycle found, as node indices each depending on the next.
pub fn dependency_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    if let Some(cycle) = find_cycle(deps) {
        return Err(cycle);
    }
    let n = deps.len();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let before = order.len();
        for i in 0..n {
            if !placed[i] && deps[i].iter().all(|&d| d < n && placed[d]) {
                placed[i] = true;
                order.push(i);
            }
        }
        if order.len() == before {
            // Only a dependency outside 0..n can stop progress here (no cycles): leave the rest
            // in index order rather than lose them.
            order.extend((0..n).filter(|&i| !placed[i]));
            break;
        }
    }
    Ok(order)
}

/// The first dependency cycle found, as a list of node indices (each depends on the next).
fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: usize,
        deps: &[Vec<usize>],
        mark: &mut [Mark],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        mark[n] = Mark::Open;
        stack.push(n);
        for &d in deps[n].iter().filter(|&&d| d < deps.len()) {
            match mark[d] {
                Mark::Open => {
                    let start = stack.iter().position(|&s| s == d).unwrap_or(0);
                    return Some(stack[start..].to_vec());
                }
                Mark::New => {
                    if let Some(c) = visit(d, deps, mark, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        mark[n] = Mark::Done;
        None
    }
    let mut mark = vec![Mark::New; deps.len()];
    for n in 0..deps.len() {
        if mark[n] == Mark::New
            && let Some(c) = visit(n, deps, &mut mark, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

impl Plan {
    /// Every entry, dependencies first (validation guarantees there is no cycle).
    pub fn dependency_order(&self) -> Vec<EntryId> {
        let deps: Vec<Vec<usize>> = self
            .entries
            .iter()
            .map(|e| e.depends_on.iter().map(|d| d.0).collect())
            .collect();
        match dependency_order(&deps) {
            Ok(order) => order.into_iter().map(EntryId).collect(),
            Err(_) => (0..self.entries.len()).map(EntryId).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first_and_ties_keep_index_order() {
        // 0 needs 2, 1 needs nothing, 2 needs 1, 3 needs 0 and 1.
        let deps = vec![vec![2], vec![], vec![1], vec![0, 1]];
        assert_eq!(dependency_order(&deps), Ok(vec![1, 2, 0, 3]));
        assert_eq!(dependency_order(&[vec![], vec![]]), Ok(vec![0, 1]));
        assert_eq!(dependency_order(&[]), Ok(vec![]));
    }

    #[test]
    fn a_cycle_is_named_in_order() {
        let deps = vec![vec![1], vec![2], vec![0], vec![]];
        assert_eq!(dependency_order(&deps), Err(vec![0, 1, 2]));
        assert_eq!(dependency_order(&[vec![0]]), Err(vec![0]));
    }
}
