//! A small YAML tree with line numbers (over yaml-rust2's event parser): every scalar is kept as
//! written text, anchors, aliases and `<<` merge keys are resolved, and size and depth are bounded.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Nesting deeper than this is refused (a hostile file must not exhaust the stack).
const MAX_DEPTH: usize = 128;
/// More nodes than this (after expanding aliases) is refused.
const MAX_NODES: usize = 200_000;

/// One YAML value and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub value: Value,
}

/// A YAML value; scalars stay text (`8001`, `"8001"` and `'8001'` all read as "8001").
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys in file order; non-scalar keys are dropped.
    Map(Vec<(String, Node)>),
}

/// A file that is not YAML, or too big or deep to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}: {}", self.line, self.column, self.message)
    }
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a sequence (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// Every scalar leaf under this node with its dotted key path (`services.auth.grpc_addr`).
    pub fn leaves(&self) -> Vec<(String, &Node)> {
        let mut out = Vec::new();
        let mut stack: Vec<(String, &Node)> = vec![(String::new(), self)];
        while let Some((path, node)) = stack.pop() {
            match &node.value {
                Value::Map(entries) => {
                    for (k, v) in entries.iter().rev() {
                        let key = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        stack.push((key, v));
                    }
                }
                Value::Scalar(_) => out.push((path, node)),
                Value::Seq(_) | Value::Null => {}
            }
        }
        out
    }
}

/// Parse the first document of `text`; an empty file is `Null`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        let mark = e.marker();
        return Err(YamlError {
            line: mark.line(),
            column: mark.col() + 1,
            message: e.info().to_string(),
        });
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Node {
        line: 1,
        value: Value::Null,
    }))
}

/// An open collection: its node, and for mappings a key waiting for its value.
struct Open {
    node: Node,
    anchor: usize,
    key: Option<String>,
    /// Set when a key was not a scalar: its value is skipped.
    skip_value: bool,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    nodes: usize,
    error: Option<YamlError>,
    /// Depth of a non-scalar key being skipped (its events are ignored).
    skipping: usize,
}

impl Builder {
    fn fail(&mut self, mark: Marker, message: &str) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line: mark.line(),
                column: mark.col() + 1,
                message: message.to_string(),
            });
        }
    }

    /// A finished value: into the open collection, or the document root.
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(top) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return;
        };
        match &mut top.node.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match top.key.take() {
                Some(key) => entries.push((key, node)),
                None if top.skip_value => top.skip_value = false,
                None => match node.value {
                    Value::Scalar(s) => top.key = Some(s),
                    Value::Null => top.key = Some(String::new()),
                    _ => top.skip_value = true,
                },
            },
            _ => {}
        }
    }

    fn open(&mut self, mark: Marker, anchor: usize, value: Value) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(mark, "nested too deeply");
            self.skipping = 1;
            return;
        }
        let node = Node {
            line: mark.line(),
            value,
        };
        self.stack.push(Open {
            node,
            anchor,
            key: None,
            skip_value: false,
        });
    }

    fn close(&mut self) {
        if let Some(mut open) = self.stack.pop() {
            merge_keys(&mut open.node);
            self.push(open.node, open.anchor);
        }
    }
}

/// `<<: *base` (or a list of them): the base's keys that the mapping does not set itself.
fn merge_keys(node: &mut Node) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let Some(at) = entries.iter().position(|(k, _)| k == "<<") else {
        return;
    };
    let (_, merged) = entries.remove(at);
    let bases: Vec<Node> = match merged.value {
        Value::Seq(items) => items,
        other => vec![Node {
            line: merged.line,
            value: other,
        }],
    };
    for base in bases {
        if let Value::Map(base_entries) = base.value {
            for (k, v) in base_entries {
                if !entries.iter().any(|(have, _)| *have == k) {
                    entries.push((k, v));
                }
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        if self.skipping > 0 {
            match ev {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skipping += 1,
                Event::SequenceEnd | Event::MappingEnd => self.skipping -= 1,
                _ => {}
            }
            return;
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.fail(mark, "too many values");
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let plain_null = style == TScalarStyle::Plain
                    && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL");
                let value = if plain_null {
                    Value::Null
                } else {
                    Value::Scalar(text)
                };
                let line = mark.line();
                self.push(Node { line, value }, anchor);
            }
            Event::SequenceStart(anchor, _) => self.open(mark, anchor, Value::Seq(Vec::new())),
            Event::MappingStart(anchor, _) => self.open(mark, anchor, Value::Map(Vec::new())),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => {
                    self.nodes += count(&node);
                    if self.nodes > MAX_NODES {
                        self.fail(mark, "too many values (aliases expand too far)");
                        return;
                    }
                    self.push(node, 0);
                }
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            // Only the first document counts.
            Event::DocumentEnd if self.root.is_some() => self.skipping = usize::MAX / 2,
            _ => {}
        }
    }
}

/// Nodes in a tree (iteratively).
fn count(node: &Node) -> usize {
    let mut n = 0;
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        n += 1;
        match &node.value {
            Value::Seq(items) => stack.extend(items),
            Value::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_their_text_and_line() {
        let doc = parse("a:\n  b: 8001\n  c: \"8001\" # quoted\n  d: '8001'\n  e:\n  f: ~\nlist:\n  - x\n  - 'y'\n")
            .unwrap();
        for key in ["b", "c", "d"] {
            assert_eq!(doc.at(&["a", key]).and_then(Node::as_str), Some("8001"));
        }
        assert_eq!(doc.at(&["a", "c"]).map(|n| n.line), Some(3));
        assert_eq!(doc.at(&["a", "e"]).map(|n| &n.value), Some(&Value::Null));
        assert_eq!(doc.at(&["a", "f"]).map(|n| &n.value), Some(&Value::Null));
        let items: Vec<_> = doc
            .at(&["list"])
            .unwrap()
            .items()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert_eq!(items, ["x", "y"]);
        let leaves: Vec<String> = doc.leaves().into_iter().map(|(k, _)| k).collect();
        assert_eq!(leaves, ["a.b", "a.c", "a.d"]);
    }

    #[test]
    fn anchors_aliases_and_merge_keys_are_resolved() {
        let doc = parse(
            "x-base: &base\n  restart: always\n  image: one\nsvc:\n  <<: *base\n  image: two\nother: *base\n",
        )
        .unwrap();
        assert_eq!(
            doc.at(&["svc", "restart"]).and_then(Node::as_str),
            Some("always")
        );
        assert_eq!(
            doc.at(&["svc", "image"]).and_then(Node::as_str),
            Some("two")
        );
        assert_eq!(
            doc.at(&["other", "image"]).and_then(Node::as_str),
            Some("one")
        );
        assert!(doc.at(&["svc", "<<"]).is_none());
    }

    #[test]
    fn malformed_deep_and_exploding_files_are_errors() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line >= 1, "{e}");
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse(&deep).unwrap_err().message, "nested too deeply");
        let block: String = (0..300)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert_eq!(parse(&block).unwrap_err().message, "nested too deeply");
        assert!(parse(&format!("{}1{}", "[".repeat(300), "]".repeat(300))).is_err());
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in ["b", "c", "d", "e", "f", "g"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f"][i];
            laughs.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert!(
            parse(&laughs)
                .unwrap_err()
                .message
                .contains("too many values")
        );
        assert_eq!(parse("").unwrap().value, Value::Null);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn yaml_shaped_text_never_panics(text in "([a-z]{1,3}: ?(\\[|\\{|&a |\\*a|<<|-|'|\"|[0-9]{1,4}|\\n  )*\\n){0,12}") {
            let _ = parse(&text);
        }
    }
}
