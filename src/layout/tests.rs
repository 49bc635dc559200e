//! Tests of layout parsing: the shipped layouts, and broken files rejected at the right place.

use std::path::PathBuf;

use super::builtin::builtin_source;
use super::*;
use crate::manifest::{ManifestError, Source};

fn source(text: &str) -> Source {
    Source {
        path: PathBuf::from("test.toml"),
        text: text.to_string(),
    }
}

fn parse(text: &str) -> Result<Layout, ManifestError> {
    parse_layout(&source(text))
}

/// Parse `text`, expect an error, and return it as `line:column: message`.
fn error(text: &str) -> String {
    match parse(text) {
        Ok(layout) => panic!("accepted a broken layout: {layout:?}"),
        Err(e) => format!("{}:{}: {}", e.line, e.column, e.message),
    }
}

#[test]
fn every_shipped_layout_parses_under_its_file_name() {
    let layouts = builtin_layouts();
    let names: Vec<&str> = layouts.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "default", "compact", "focus", "ports", "metrics", "explorer"
        ]
    );
    assert_eq!(builtin_names().collect::<Vec<_>>(), names);
    for layout in &layouts {
        assert!(
            !layout.description.is_empty(),
            "{} has no description",
            layout.name
        );
        // A way to pick a service: its table, or the metrics panel (which lists them).
        assert!(
            layout.panels().contains(&PanelKind::Services)
                || layout.panels().contains(&PanelKind::Metrics),
            "{}",
            layout.name
        );
        assert!(
            layout.panels().contains(&PanelKind::Status),
            "{}",
            layout.name
        );
    }
}

#[test]
fn a_small_layout_parses_into_the_expected_tree() {
    let layout = parse(
        r#"name = "two"
[root]
direction = "horizontal"
children = [{ panel = "services", percent = 30 }, { panel = "logs", min = 0 }, { panel = "status" }]
"#,
    )
    .unwrap();
    assert_eq!(layout.name, "two");
    assert_eq!(layout.description, "");
    let expected = Node::Split {
        direction: Direction::Horizontal,
        size: Size::Ratio(1),
        children: vec![
            Node::Panel {
                kind: PanelKind::Services,
                size: Size::Percent(30),
            },
            Node::Panel {
                kind: PanelKind::Logs,
                size: Size::Min(0),
            },
            Node::Panel {
                kind: PanelKind::Status,
                size: Size::Ratio(1),
            },
        ],
    };
    assert_eq!(layout.root, expected);
}

#[test]
fn a_root_panel_alone_is_a_layout() {
    let layout = parse("name = \"one\"\nroot = { panel = \"detail\" }\n").unwrap();
    assert_eq!(layout.panels(), [PanelKind::Detail]);
}

#[test]
fn panel_names_round_trip_through_as_str() {
    use PanelKind::*;
    for kind in [Services, Infra, Detail, Alerts, Status, Logs] {
        let text = format!("name = \"x\"\nroot = {{ panel = \"{}\" }}\n", kind.as_str());
        assert_eq!(parse(&text).unwrap().panels(), [kind]);
        assert_eq!(kind.to_string(), kind.as_str());
        assert!(!kind.title().is_empty());
    }
    assert_eq!(Infra.title(), "Infrastructure");
}

const HEAD: &str = "name = \"t\"\n[root]\ndirection = \"vertical\"\n";

#[test]
fn an_unknown_key_is_reported_at_the_key() {
    let text = format!("{HEAD}children = [\n  {{ panel = \"services\", ratoi = 2 }},\n]\n");
    let e = error(&text);
    assert!(e.starts_with("5:25: unknown field `ratoi`"), "{e}");
}

#[test]
fn an_unknown_top_level_key_is_reported_at_the_key() {
    let e = error("name = \"t\"\ntitle = \"x\"\nroot = { panel = \"logs\" }\n");
    assert!(e.starts_with("2:1: unknown field `title`"), "{e}");
}

#[test]
fn an_unknown_panel_is_reported_at_the_name() {
    let text = format!("{HEAD}children = [\n  {{ panel = \"servces\" }},\n]\n");
    let e = error(&text);
    assert!(e.starts_with("5:13: unknown variant `servces`"), "{e}");
    assert!(
        e.contains("`services`"),
        "the message lists the known panels: {e}"
    );
}

#[test]
fn a_node_with_panel_and_children_is_rejected_at_the_panel() {
    let text = format!(
        "{HEAD}children = [\n  {{ panel = \"logs\", direction = \"vertical\", children = [{{ panel = \"status\" }}] }},\n]\n"
    );
    assert_eq!(
        error(&text),
        "5:13: a node has either `panel` or `children`, not both"
    );
}

#[test]
fn a_node_with_neither_panel_nor_children_is_rejected_at_the_node() {
    let text = format!("{HEAD}children = [\n  {{ panel = \"logs\" }},\n  {{ ratio = 2 }},\n]\n");
    let e = error(&text);
    assert!(e.starts_with("6:3: a node needs `panel"), "{e}");
}

#[test]
fn a_duplicate_panel_is_rejected_at_its_second_appearance() {
    let text = format!(
        "{HEAD}children = [\n  {{ panel = \"logs\" }},\n  {{ panel = \"status\" }},\n  {{ panel = \"logs\" }},\n]\n"
    );
    assert_eq!(
        error(&text),
        "7:13: panel `logs` appears twice (first at 5:13)"
    );
}

#[test]
fn a_zero_ratio_is_rejected_at_the_value() {
    let text = format!("{HEAD}children = [\n  {{ panel = \"logs\", ratio = 0 }},\n]\n");
    assert_eq!(
        error(&text),
        "5:29: `ratio` must be between 1 and 65535, not 0"
    );
}

#[test]
fn out_of_range_sizes_are_rejected() {
    for (size, message) in [
        ("length = 0", "`length` must be between 1 and 65535, not 0"),
        (
            "length = 70000",
            "`length` must be between 1 and 65535, not 70000",
        ),
        ("min = -1", "`min` must be between 0 and 65535, not -1"),
        (
            "percent = 101",
            "`percent` must be between 1 and 100, not 101",
        ),
    ] {
        let text = format!("{HEAD}children = [{{ panel = \"logs\", {size} }}]\n");
        let e = error(&text);
        assert!(e.starts_with("4:"), "{e}");
        assert!(e.ends_with(message), "{e}");
    }
}

#[test]
fn two_sizes_on_one_node_are_rejected_at_the_second() {
    let text = format!("{HEAD}children = [\n  {{ panel = \"logs\", ratio = 2, length = 5 }},\n]\n");
    assert_eq!(
        error(&text),
        "5:41: a node takes one size, but both `ratio` and `length` are given"
    );
}

#[test]
fn empty_children_are_rejected() {
    assert_eq!(
        error(&format!("{HEAD}children = []\n")),
        "4:12: `children` is empty"
    );
}

#[test]
fn children_without_direction_are_rejected() {
    let e = error("name = \"t\"\n[root]\nchildren = [{ panel = \"logs\" }]\n");
    assert!(
        e.starts_with("3:12: a node with `children` needs `direction"),
        "{e}"
    );
}

#[test]
fn direction_on_a_panel_is_rejected() {
    let text = format!("{HEAD}children = [{{ panel = \"logs\", direction = \"vertical\" }}]\n");
    let e = error(&text);
    assert!(
        e.starts_with("4:43: `direction` applies to a node with `children`"),
        "{e}"
    );
}

#[test]
fn a_size_on_the_root_is_rejected() {
    let e = error("name = \"t\"\n[root]\npanel = \"logs\"\nlength = 3\n");
    assert_eq!(
        e,
        "4:10: the root fills the whole terminal; remove `length`"
    );
}

#[test]
fn percentages_over_100_are_rejected_at_the_children() {
    let text = format!(
        "{HEAD}children = [{{ panel = \"logs\", percent = 60 }}, {{ panel = \"status\", percent = 50 }}]\n"
    );
    assert_eq!(
        error(&text),
        "4:12: the `percent` of these children add up to 110, over 100"
    );
}

#[test]
fn a_syntax_error_is_reported_with_its_position() {
    let text = format!("{HEAD}children = [\n  {{ panel = \"logs\" \n]\n");
    let e = error(&text);
    assert!(e.starts_with("6:1: invalid inline table"), "{e}");
    let missing = error("name = \"t\"\n");
    assert!(missing.contains("missing field `root`"), "{missing}");
}

#[test]
fn resolve_finds_built_ins_then_files() {
    assert_eq!(resolve_layout("compact").unwrap().name, "compact");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, "name = \"mine\"\nroot = { panel = \"logs\" }\n").unwrap();
    assert_eq!(resolve_layout(path.to_str().unwrap()).unwrap().name, "mine");

    std::fs::write(&path, "name = \"mine\"\nroot = { panel = \"nope\" }\n").unwrap();
    let e = resolve_layout(path.to_str().unwrap()).unwrap_err();
    assert_eq!(
        (e.path.as_path(), e.line, e.column),
        (path.as_path(), 2, 18)
    );

    let e = resolve_layout("compcat").unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.to_string().starts_with("compcat: no such layout"), "{e}");
    assert!(e.message.contains("default, compact, focus"), "{e}");
}

#[test]
fn built_in_sources_are_named_like_their_files() {
    let source = builtin_source("focus", "");
    assert_eq!(source.path, PathBuf::from("layouts/focus.toml (built in)"));
}

#[test]
fn a_layout_may_say_the_smallest_terminal_it_needs() {
    let l = parse("name = \"x\"\nmin_width = 90\nmin_height = 25\n[root]\npanel = \"services\"\n")
        .unwrap();
    assert_eq!(l.min_size, (90, 25));
    assert!(l.fits(90, 25) && l.fits(200, 60));
    assert!(!l.fits(89, 25) && !l.fits(90, 24));
    let none = parse("name = \"x\"\n[root]\npanel = \"services\"\n").unwrap();
    assert_eq!(none.min_size, (0, 0));
    assert_eq!(
        error("name = \"x\"\nmin_width = 0\n[root]\npanel = \"services\"\n"),
        "2:13: `min_width` must be 1 to 1000"
    );
    assert_eq!(
        error("name = \"x\"\nmin_height = 70000\n[root]\npanel = \"services\"\n"),
        "2:14: `min_height` must be 1 to 1000"
    );
    let shipped = builtin_layouts();
    let compact = shipped.iter().find(|l| l.name == "compact").unwrap();
    let default = shipped.iter().find(|l| l.name == "default").unwrap();
    assert!(compact.fits(80, 24), "compact fits 80×24");
    assert!(!default.fits(80, 24), "default does not");
}
