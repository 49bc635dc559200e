//! Reading `viper.SetDefault("server.http_port", 8001)` lines out of a service's `main.go`:
//! plain literals only (a number, or a number in quotes); anything computed is reported as such.

/// A default as written in Go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoValue {
    Int(i64),
    Str(String),
    /// Not a literal (a constant, an expression): the source text.
    Other(String),
}

/// One `SetDefault(key, value)` call and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoDefault {
    pub key: String,
    pub value: GoValue,
    pub line: usize,
}

impl GoValue {
    /// A port: an integer literal, or a string literal holding one.
    pub fn as_port(&self) -> Option<i64> {
        match self {
            GoValue::Int(n) => Some(*n),
            GoValue::Str(s) => parse_int(s.trim()),
            GoValue::Other(_) => None,
        }
    }

    /// How it reads in a message.
    pub fn describe(&self) -> String {
        match self {
            GoValue::Int(n) => n.to_string(),
            GoValue::Str(s) => format!("{s:?}"),
            GoValue::Other(s) => s.clone(),
        }
    }
}

/// Every `SetDefault` call of `source` outside comments, in order (a later call wins in viper).
pub fn set_defaults(source: &str) -> Vec<GoDefault> {
    let code = blank_comments(source);
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = code[from..].find("SetDefault(") {
        let start = from + rel + "SetDefault(".len();
        from = start;
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[start..];
        let Some((key, after_key)) = string_literal(rest.trim_start()) else {
            continue;
        };
        let Some(value_text) = after_key.trim_start().strip_prefix(',') else {
            continue;
        };
        let value_text = value_text.trim_start();
        let value = match string_literal(value_text) {
            Some((s, after)) if after.trim_start().starts_with(')') => GoValue::Str(s),
            _ => {
                let end = value_text.find(')').unwrap_or(value_text.len());
                let raw = value_text[..end].trim();
                match parse_int(raw) {
                    Some(n) => GoValue::Int(n),
                    None => GoValue::Other(raw.chars().take(60).collect()),
                }
            }
        };
        out.push(GoDefault { key, value, line });
    }
    out
}

/// The last default set for `key` (viper keys are case-insensitive).
pub fn default_for<'a>(defaults: &'a [GoDefault], key: &str) -> Option<&'a GoDefault> {
    defaults
        .iter()
        .rev()
        .find(|d| d.key.eq_ignore_ascii_case(key))
}

/// Go integer literal: decimal with optional `_` separators (`8_001`).
fn parse_int(text: &str) -> Option<i64> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') {
        return None;
    }
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    digits.parse().ok()
}

/// A Go string literal at the start of `s` ("..." with escapes, or `...` raw): its value and
/// the text after it.
fn string_literal(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, quote) = chars.next()?;
    if quote != '"' && quote != '`' {
        return None;
    }
    let mut value = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if quote == '"' && escaped {
            value.push(c);
            escaped = false;
        } else if quote == '"' && c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some((value, &s[i + c.len_utf8()..]));
        } else if c == '\n' && quote == '"' {
            return None;
        } else {
            value.push(c);
        }
    }
    None
}

/// `source` with `//` and `/* */` comments replaced by spaces (newlines kept, so line numbers
/// hold); string and rune literals are respected.
fn blank_comments(source: &str) -> String {
    #[derive(PartialEq)]
    enum In {
        Code,
        Line,
        Block,
        Str(char),
    }
    let mut out = String::with_capacity(source.len());
    let mut state = In::Code;
    let mut chars = source.chars().peekable();
    let mut escaped = false;
    while let Some(c) = chars.next() {
        match state {
            In::Code => match c {
                '/' if chars.peek() == Some(&'/') => {
                    state = In::Line;
                    out.push(' ');
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    state = In::Block;
                    out.push_str("  ");
                }
                '"' | '`' | '\'' => {
                    state = In::Str(c);
                    out.push(c);
                }
                _ => out.push(c),
            },
            In::Line => {
                if c == '\n' {
                    state = In::Code;
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            }
            In::Block => {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    state = In::Code;
                    out.push_str("  ");
                } else {
                    out.push(if c == '\n' { '\n' } else { ' ' });
                }
            }
            In::Str(q) => {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q || (c == '\n' && q != '`') {
                    state = In::Code;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_upstream_spelling_and_lenient_variants() {
        let src = r#"package main

func loadConfig() error {
	viper.SetConfigName("config")
	viper.SetDefault("server.http_port", 8001)
	viper.SetDefault("server.grpc_port", "9001") // quoted
	v.SetDefault( `gateway.http_port` ,  8_080 )
	// viper.SetDefault("server.http_port", 7001)
	/* viper.SetDefault("server.grpc_port", 7002)
	   viper.SetDefault("server.grpc_port", 7003) */
	viper.SetDefault("metrics.port", defaultMetricsPort)
	viper.SetDefault("log.level", "info")
	fmt.Println("SetDefault(\"server.http_port\", 1)")
	return nil
}
"#;
        let d = set_defaults(src);
        let keys: Vec<(&str, usize)> = d.iter().map(|d| (d.key.as_str(), d.line)).collect();
        assert_eq!(
            keys,
            [
                ("server.http_port", 5),
                ("server.grpc_port", 6),
                ("gateway.http_port", 7),
                ("metrics.port", 11),
                ("log.level", 12),
            ]
        );
        assert_eq!(d[0].value, GoValue::Int(8001));
        assert_eq!(d[1].value.as_port(), Some(9001));
        assert_eq!(d[2].value, GoValue::Int(8080));
        assert_eq!(d[3].value, GoValue::Other("defaultMetricsPort".into()));
        assert_eq!(d[3].value.as_port(), None);
        assert_eq!(d[4].value.as_port(), None);
        assert_eq!(default_for(&d, "SERVER.HTTP_PORT").map(|d| d.line), Some(5));
    }

    #[test]
    fn later_calls_win_and_broken_calls_are_skipped() {
        let d = set_defaults(
            "viper.SetDefault(\"server.http_port\", 1)\nviper.SetDefault(\"server.http_port\", 2)\nviper.SetDefault(\nviper.SetDefault(\"x\"",
        );
        assert_eq!(
            default_for(&d, "server.http_port").map(|d| d.value.clone()),
            Some(GoValue::Int(2))
        );
        assert_eq!(d.len(), 2);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_source_never_panics(src in "(?s).{0,400}") {
            let _ = set_defaults(&src);
        }

        #[test]
        fn go_shaped_source_never_panics(src in "((SetDefault\\(|\"|`|'|/\\*|\\*/|//|\\\\|,|\\)|[0-9_]{1,6}|\\n|[a-z. ]{1,5}))*") {
            let _ = set_defaults(&src);
        }
    }
}
