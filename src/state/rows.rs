//! Which rows a table shows: filtered by name, optionally grouped, and scrolled to keep the selection visible.

use crate::plan::{EntryId, EntryKind, Plan};

/// One line of the services or infra table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A group heading (only when grouping is on).
    Group(String),
    Entry(EntryId),
}

/// The visible rows of the table of `kind`.
pub fn visible_rows(plan: &Plan, kind: EntryKind, filter: &str, grouped: bool) -> Vec<Row> {
    let needle = filter.to_lowercase();
    let matching: Vec<EntryId> = plan
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == kind)
        .filter(|(_, e)| needle.is_empty() || e.name.to_lowercase().contains(&needle))
        .map(|(i, _)| EntryId(i))
        .collect();
    if !grouped {
        return matching.into_iter().map(Row::Entry).collect();
    }
    // Groups in order of first appearance in the plan.
    let mut groups: Vec<&str> = Vec::new();
    for e in plan.entries.iter().filter(|e| e.kind == kind) {
        if !groups.contains(&e.group.as_str()) {
            groups.push(&e.group);
        }
    }
    let mut rows = Vec::new();
    for g in groups {
        let members: Vec<EntryId> = matching
            .iter()
            .copied()
            .filter(|id| plan.entries[id.0].group == g)
            .collect();
        if !members.is_empty() {
            rows.push(Row::Group(g.to_string()));
            rows.extend(members.into_iter().map(Row::Entry));
        }
    }
    rows
}

/// The first row to draw so that row `selected` is visible in `height` rows, moving `offset` as little as possible.
pub fn scroll_offset(offset: usize, selected: usize, height: usize, len: usize) -> usize {
    if height == 0 {
        return selected;
    }
    let max_offset = len.saturating_sub(height);
    let offset = offset.min(max_offset);
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PlanOptions, Source, build_plan};

    fn demo() -> Plan {
        build_plan(&[Source::demo()], &PlanOptions::default()).unwrap()
    }

    fn names(plan: &Plan, rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Group(g) => format!("[{g}]"),
                Row::Entry(id) => plan.entries[id.0].name.clone(),
            })
            .collect()
    }

    #[test]
    fn filter_is_a_case_insensitive_substring() {
        let plan = demo();
        let rows = visible_rows(&plan, EntryKind::Service, "SER-s", false);
        assert_eq!(names(&plan, &rows), ["user-service"]);
        let rows = visible_rows(&plan, EntryKind::Infra, "i", false);
        assert_eq!(names(&plan, &rows), ["redis", "minio", "livekit"]);
    }

    #[test]
    fn grouping_puts_headings_in_plan_order_and_skips_empty_groups() {
        let plan = demo();
        let rows = visible_rows(&plan, EntryKind::Service, "", true);
        let n = names(&plan, &rows);
        assert_eq!(
            &n[..4],
            ["[core]", "gateway-service", "auth-service", "user-service"]
        );
        assert_eq!(
            rows.iter().filter(|r| matches!(r, Row::Group(_))).count(),
            4
        );
        assert_eq!(rows.len(), 16);
        let rows = visible_rows(&plan, EntryKind::Service, "sync", true);
        assert_eq!(names(&plan, &rows), ["[message]", "sync-service"]);
    }

    #[test]
    fn scroll_offset_moves_only_as_needed() {
        assert_eq!(scroll_offset(0, 3, 5, 20), 0);
        assert_eq!(scroll_offset(0, 5, 5, 20), 1);
        assert_eq!(scroll_offset(10, 4, 5, 20), 4);
        assert_eq!(scroll_offset(18, 19, 5, 20), 15);
        assert_eq!(scroll_offset(7, 8, 5, 20), 7);
    }
}
