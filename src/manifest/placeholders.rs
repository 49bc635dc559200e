//! `{http_port}`-style placeholders in `command` and `env`: only known names are replaced, every
//! other brace (`${HOME}`, `awk '{print $1}'`, JSON) passes through, `{{name}}` is a literal.

use std::collections::HashMap;

/// Placeholder names that take no argument.
pub const KNOWN: [&str; 5] = ["name", "root", "http_port", "grpc_port", "metrics_port"];

/// The words listed in error messages.
const KNOWN_TEXT: &str = "{name}, {root}, {http_port}, {grpc_port}, {metrics_port}, \
                          {port:LABEL}, {port:ENTRY/LABEL}";

/// One entry's ports after the offset, by label, in the entry's order.
pub type Ports = Vec<(String, u16)>;

/// A placeholder problem: the message and the placeholder text as written (to locate it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceholderError {
    pub message: String,
    pub token: String,
}

/// Placeholder values for one entry's command and env.
pub struct Vars<'a> {
    pub name: &'a str,
    pub root: Option<&'a std::path::Path>,
    /// This entry's ports.
    pub ports: &'a Ports,
    /// Every entry's ports, by entry name, for `{port:ENTRY/LABEL}`.
    pub all: &'a HashMap<&'a str, &'a Ports>,
}

impl Vars<'_> {
    /// The value of a well-formed placeholder key: `Ok(None)` when the key is not a placeholder
    /// (it passes through), an error when it is one but names nothing.
    fn lookup(&self, key: &str) -> Result<Option<String>, String> {
        let port_in = |owner: &str, ports: &Ports, label: &str| -> Result<Option<String>, String> {
            match ports.iter().find(|(l, _)| l == label) {
                Some((_, port)) => Ok(Some(port.to_string())),
                None => {
                    let labels: Vec<&str> = ports.iter().map(|(l, _)| l.as_str()).collect();
                    Err(format!(
                        "{{{key}}}: {owner:?} has no {label} port (its ports: {})",
                        if labels.is_empty() {
                            "none".to_string()
                        } else {
                            labels.join(", ")
                        }
                    ))
                }
            }
        };
        match key {
            "name" => Ok(Some(self.name.to_string())),
            "root" => Ok(Some(
                self.root
                    .map_or(".".into(), |r| r.to_string_lossy().into_owned()),
            )),
            "http_port" => port_in(self.name, self.ports, "http"),
            "grpc_port" => port_in(self.name, self.ports, "grpc"),
            "metrics_port" => port_in(self.name, self.ports, "metrics"),
            _ => match key.strip_prefix("port:") {
                Some(rest) => match rest.split_once('/') {
                    Some((entry, label)) => match self.all.get(entry) {
                        Some(ports) => port_in(entry, ports, label),
                        None => Err(format!("{{{key}}}: no entry named {entry:?} in the plan")),
                    },
                    None => port_in(self.name, self.ports, rest),
                },
                None => Ok(None),
            },
        }
    }

    /// `{prot:grpc}`: a `port:` placeholder with its word misspelt, naming one of our labels
    /// (or an `ENTRY/LABEL`), so that `{sort:x}` in a jq filter is left alone.
    fn misspelt_port(&self, key: &str) -> Option<&'static str> {
        let (head, label) = key.split_once(':')?;
        let near = edit_distance(&head.to_ascii_lowercase(), "port") <= 1;
        let ours = self.ports.iter().any(|(l, _)| l == label) || label.contains('/');
        (near && ours).then_some("port:LABEL")
    }

    /// `text` with every known placeholder replaced; other braces are left as they are.
    pub fn substitute(&self, text: &str) -> Result<String, PlaceholderError> {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while let Some(rel) = text[at..].find('{') {
            let open = at + rel;
            out.push_str(&text[at..open]);
            let rest = &text[open..];
            // `{{key}}` around a placeholder key is that text, literally.
            if let Some(inner) = rest.strip_prefix('{')
                && let Some((key, len)) = braced(inner)
                && inner[len..].starts_with('}')
                && is_placeholder_syntax(key)
            {
                out.push_str(&inner[..len]);
                at = open + 1 + len + 1;
                continue;
            }
            // After `$` the braces are the shell's (`${HOME}`).
            let shell = text[..open].ends_with('$');
            if !shell && let Some((key, len)) = braced(rest) {
                let token = &rest[..len];
                let fail = |message: String| PlaceholderError {
                    message,
                    token: token.to_string(),
                };
                match self.lookup(key).map_err(fail)? {
                    Some(value) => {
                        out.push_str(&value);
                        at = open + len;
                        continue;
                    }
                    None => {
                        if let Some(near) = misspelt(key).or_else(|| self.misspelt_port(key)) {
                            return Err(fail(format!(
                                "unknown placeholder {token}: did you mean {{{near}}}? \
                                 (known: {KNOWN_TEXT})"
                            )));
                        }
                    }
                }
            }
            out.push('{');
            at = open + 1;
        }
        out.push_str(&text[at..]);
        Ok(out)
    }
}

/// `{key}` at the start of `s`: the key and the length through the closing brace, when the key
/// looks like a placeholder name (letters, digits, `_ : / . -`; no spaces, quotes or braces).
fn braced(s: &str) -> Option<(&str, usize)> {
    let body = s.strip_prefix('{')?;
    let close = body.find('}')?;
    let key = &body[..close];
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '/' | '.' | '-'));
    plain.then_some((key, close + 2))
}

/// Whether `key` is spelt like a placeholder (a known name or `port:...`).
fn is_placeholder_syntax(key: &str) -> bool {
    KNOWN.contains(&key) || key.starts_with("port:")
}

/// The known name `key` is probably a misspelling of (case ignored; one edit for short names,
/// two for longer ones).
pub fn misspelt(key: &str) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    if lower != key && (KNOWN.contains(&lower.as_str()) || lower.starts_with("port:")) {
        return KNOWN
            .iter()
            .copied()
            .find(|k| *k == lower)
            .or(Some("port:LABEL"));
    }
    KNOWN.iter().copied().find(|known| {
        let allowed = if known.len() <= 4 { 1 } else { 2 };
        edit_distance(&lower, known) <= allowed
    })
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 {
        return 3;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<T>(f: impl FnOnce(&Vars) -> T) -> T {
        let own: Ports = vec![("http".into(), 18001), ("grpc".into(), 19001)];
        let user: Ports = vec![("grpc".into(), 19002)];
        let all: HashMap<&str, &Ports> = [("auth-service", &own), ("user-service", &user)]
            .into_iter()
            .collect();
        let vars = Vars {
            name: "auth-service",
            root: Some(std::path::Path::new("/src/anychat")),
            ports: &own,
            all: &all,
        };
        f(&vars)
    }

    fn sub(text: &str) -> Result<String, PlaceholderError> {
        with(|v| v.substitute(text))
    }

    #[test]
    fn known_placeholders_are_replaced() {
        assert_eq!(
            sub("{name} {root} {http_port} {grpc_port} {port:grpc}").unwrap(),
            "auth-service /src/anychat 18001 19001 19001"
        );
        assert_eq!(
            sub("localhost:{port:user-service/grpc}").unwrap(),
            "localhost:19002"
        );
    }

    #[test]
    fn other_braces_pass_through_unchanged() {
        for text in [
            "exec bin/x --home ${HOME} --port ${PORT}",
            "awk '{print $1}'",
            r#"{"a":{"b":[1,2]},"c":"}"}"#,
            "{ spaced }",
            "{}",
            "{",
            "}",
            "{unclosed",
            "{print}",
            "{HOME}",
            "${http_port}",
            "jq '{sort:.x}'",
        ] {
            assert_eq!(sub(text).unwrap(), text, "{text:?}");
        }
    }

    #[test]
    fn doubled_braces_around_a_known_name_are_literal() {
        assert_eq!(
            sub("{{http_port}}={http_port}").unwrap(),
            "{http_port}=18001"
        );
        assert_eq!(sub("{{port:grpc}}").unwrap(), "{port:grpc}");
        // Not around a known name: left alone, both braces (Go templates keep working).
        assert_eq!(sub("{{print}}").unwrap(), "{{print}}");
        assert_eq!(
            sub("-f '{{.State.Status}}'").unwrap(),
            "-f '{{.State.Status}}'"
        );
    }

    #[test]
    fn misspelt_and_missing_placeholders_are_errors_naming_the_token() {
        for (text, token, hint) in [
            (
                "--port={http_prot}",
                "{http_prot}",
                "did you mean {http_port}",
            ),
            ("{htp_port}", "{htp_port}", "did you mean {http_port}"),
            ("{HTTP_PORT}", "{HTTP_PORT}", "did you mean {http_port}"),
            ("{nam}", "{nam}", "did you mean {name}"),
            ("{prot:grpc}", "{prot:grpc}", "did you mean {port:LABEL}"),
            ("{metrics_port}", "{metrics_port}", "has no metrics port"),
            (
                "{port:redis}",
                "{port:redis}",
                "has no redis port (its ports: http, grpc)",
            ),
            (
                "{port:ghost/grpc}",
                "{port:ghost/grpc}",
                "no entry named \"ghost\"",
            ),
        ] {
            let e = sub(text).unwrap_err();
            assert_eq!(e.token, token, "{text}");
            assert!(e.message.contains(hint), "{text}: {}", e.message);
        }
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("http_prot", "http_port"), 1);
        assert_eq!(edit_distance("name", "name"), 0);
        assert_eq!(edit_distance("home", "name"), 2);
        assert_eq!(edit_distance("x", "metrics_port"), 3);
    }

    proptest::proptest! {
        #[test]
        fn text_without_known_names_is_never_changed(text in "[^{}]{0,8}(\\{[^{}]{0,6}\\}?[^{}]{0,4}){0,4}") {
            if let Ok(out) = sub(&text) {
                let has_known = KNOWN.iter().any(|k| text.contains(&format!("{{{k}}}")))
                    || text.contains("{port:");
                if !has_known {
                    proptest::prop_assert_eq!(out, text);
                }
            }
        }
    }
}
