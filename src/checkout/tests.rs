//! Tests of finding a checkout and of marking unbuilt services; reading whole checkouts is
//! tested in `tests/checkout.rs` on synthetic checkouts.

use super::*;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn a_checkout_is_cmd_plus_go_mod_or_configs_found_from_below() {
    let d = dir();
    let root = d.path();
    assert!(!looks_like_checkout(root));
    std::fs::create_dir_all(root.join("cmd/auth-service")).unwrap();
    assert!(!looks_like_checkout(root), "cmd/ alone is not enough");
    std::fs::write(root.join("go.mod"), "module github.com/anychat/server\n").unwrap();
    assert!(looks_like_checkout(root));
    assert_eq!(
        find_root(&root.join("cmd/auth-service")),
        Some(root.to_path_buf())
    );
    let other = dir();
    std::fs::create_dir_all(other.path().join("cmd")).unwrap();
    std::fs::create_dir_all(other.path().join("configs")).unwrap();
    assert!(looks_like_checkout(other.path()));
}

#[test]
fn reading_a_directory_without_cmd_is_an_error_in_words() {
    let d = dir();
    let e = read(d.path(), &[Source::anychat()], &ReadOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("not an AnyChat checkout (no cmd/ directory)"),
        "{e}"
    );
}

#[test]
fn missing_bin_programs_are_not_startable_and_others_are_left_alone() {
    let d = dir();
    std::fs::create_dir_all(d.path().join("bin")).unwrap();
    std::fs::write(d.path().join("bin/built"), "").unwrap();
    let text = "[[service]]\nname = \"built\"\ncommand = [\"bin/built\"]\n\n\
                [[service]]\nname = \"absent\"\ncommand = [\"bin/absent\"]\n\n\
                [[service]]\nname = \"from-path\"\ncommand = [\"go\", \"run\", \"./cmd/x\"]\n";
    let source = Source {
        path: "t.toml".into(),
        text: text.into(),
    };
    let options = PlanOptions {
        port_offset: 0,
        root: Some(d.path().to_path_buf()),
    };
    let mut plan = build_plan(&[source], &options).unwrap();
    mark_unbuilt(&mut plan);
    assert_eq!(plan.entries[0].not_startable, None);
    assert_eq!(plan.entries[0].command.len(), 1);
    assert!(plan.entries[1].command.is_empty());
    assert_eq!(plan.entries[1].not_startable.as_deref(), Some(NOT_BUILT));
    assert_eq!(plan.entries[2].command, ["go", "run", "./cmd/x"]);
}
