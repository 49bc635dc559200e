//! `configs/config.yaml`: every scalar with `${VAR:default}` resolved against a given
//! environment (as AnyChat's `config.ExpandEnvInConfig` does), and the addresses in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::yaml::{self, Node, YamlError};

/// Where AnyChat services read their configuration, relative to their working directory.
pub const CONFIG_PATH: &str = "configs/config.yaml";

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written as is.
    Literal,
    /// `${VAR:default}` with `VAR` set in the environment.
    Env(String),
    /// `${VAR:default}` with `VAR` unset: the default.
    Default(String),
}

/// One scalar of the file: dotted key, text as written, resolved value, line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue {
    pub key: String,
    pub raw: String,
    pub value: String,
    pub origin: Origin,
    pub line: usize,
}

impl ConfigValue {
    /// The `${VAR...}` variable of the value, if it has one.
    pub fn var(&self) -> Option<&str> {
        match &self.origin {
            Origin::Literal => None,
            Origin::Env(v) | Origin::Default(v) => Some(v),
        }
    }

    /// `key: value` for messages, saying when the environment decided it.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Env(var) => format!("{}: {} (from ${var})", self.key, self.value),
            _ => format!("{}: {}", self.key, self.value),
        }
    }
}

/// What `configs/config.yaml` says, or why it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFacts {
    /// Relative to the checkout.
    pub path: PathBuf,
    pub values: Vec<ConfigValue>,
    /// The file is not YAML: services started with it fail, so this is shown.
    pub error: Option<YamlError>,
}

impl ConfigFacts {
    /// Read `configs/config.yaml` under `root`; `None` when there is no such file.
    pub fn read(
        root: &Path,
        env: &BTreeMap<String, String>,
    ) -> Option<Result<ConfigFacts, String>> {
        let path = root.join(CONFIG_PATH);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("{CONFIG_PATH}: cannot read: {e}"))),
        };
        Some(Ok(ConfigFacts::parse(&text, env)))
    }

    /// The facts of `text` as `configs/config.yaml`.
    pub fn parse(text: &str, env: &BTreeMap<String, String>) -> ConfigFacts {
        let path = PathBuf::from(CONFIG_PATH);
        match yaml::parse(text) {
            Ok(doc) => ConfigFacts {
                path,
                values: doc
                    .leaves()
                    .into_iter()
                    .map(|(key, node)| value(key, node, env))
                    .collect(),
                error: None,
            },
            Err(e) => ConfigFacts {
                path,
                values: Vec::new(),
                error: Some(e),
            },
        }
    }

    /// The value at a dotted key (viper keys are case-insensitive).
    pub fn get(&self, key: &str) -> Option<&ConfigValue> {
        self.values.iter().find(|v| v.key.eq_ignore_ascii_case(key))
    }

    /// `services.<short>.grpc_addr` entries: the short name and the value.
    pub fn peers(&self) -> Vec<(&str, &ConfigValue)> {
        self.values
            .iter()
            .filter_map(|v| {
                let short = v
                    .key
                    .strip_prefix("services.")?
                    .strip_suffix(".grpc_addr")?;
                (!short.contains('.')).then_some((short, v))
            })
            .collect()
    }
}

fn value(key: String, node: &Node, env: &BTreeMap<String, String>) -> ConfigValue {
    let raw = node.as_str().unwrap_or("").to_string();
    let (value, origin) = resolve(&raw, env);
    ConfigValue {
        key,
        raw,
        value,
        origin,
        line: node.line,
    }
}

/// `${VAR:default}` or `${VAR}` as the whole value: the variable when set (even empty), else
/// the default (else ""). Anything else is literal, as in AnyChat's `pkg/config`.
pub fn resolve(raw: &str, env: &BTreeMap<String, String>) -> (String, Origin) {
    let Some(inner) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) else {
        return (raw.to_string(), Origin::Literal);
    };
    let (var, default) = match inner.split_once(':') {
        Some((var, default)) => (var, default),
        None => (inner, ""),
    };
    if var.is_empty() || default.contains('}') || var.contains('}') {
        return (raw.to_string(), Origin::Literal);
    }
    match env.get(var) {
        Some(set) => (set.clone(), Origin::Env(var.to_string())),
        None => (default.to_string(), Origin::Default(var.to_string())),
    }
}

/// `scheme://host:port/rest`, `host:port` or `:port`, split so the port can be swapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Everything before the host (`nats://`), possibly empty.
    pub prefix: String,
    pub host: String,
    pub port: u16,
    /// Everything after the port (`/api/traces`), possibly empty.
    pub rest: String,
}

impl Address {
    /// Parse a value that names a host and a port; `None` for anything else.
    pub fn parse(value: &str) -> Option<Address> {
        let value = value.trim();
        let scheme_end = value.find("://").map_or(0, |i| i + 3);
        let after = &value[scheme_end..];
        let authority_end = scheme_end + after.find(['/', '?', '#']).unwrap_or(after.len());
        let authority = &value[scheme_end..authority_end];
        let host_start = scheme_end + authority.rfind('@').map_or(0, |i| i + 1);
        let host_port = &value[host_start..authority_end];
        let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
            let (host, tail) = v6.split_once(']')?;
            if !host.contains(':') {
                return None;
            }
            (host, tail.strip_prefix(':')?)
        } else {
            let (host, port) = host_port.rsplit_once(':')?;
            if host.contains(':') {
                return None;
            }
            (host, port)
        };
        if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let port: u16 = port.parse().ok().filter(|&p| p > 0)?;
        Some(Address {
            prefix: value[..host_start].to_string(),
            host: host.to_string(),
            port,
            rest: value[authority_end..].to_string(),
        })
    }

    /// Whether the host is this machine (empty host = all interfaces here).
    pub fn is_local(&self) -> bool {
        matches!(
            self.host.as_str(),
            "" | "localhost" | "127.0.0.1" | "::1" | "0.0.0.0"
        )
    }

    /// The same address with `port` (text, e.g. a placeholder) in place of the port.
    pub fn with_port(&self, port: &str) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}{host}:{port}{}", self.prefix, self.rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn resolves_like_anychat_pkg_config() {
        let none = env(&[]);
        let set = env(&[("AUTH_GRPC_ADDR", "localhost:19001"), ("EMPTY", "")]);
        let cases = [
            (
                "${AUTH_GRPC_ADDR:localhost:9001}",
                &none,
                "localhost:9001",
                Origin::Default("AUTH_GRPC_ADDR".into()),
            ),
            (
                "${AUTH_GRPC_ADDR:localhost:9001}",
                &set,
                "localhost:19001",
                Origin::Env("AUTH_GRPC_ADDR".into()),
            ),
            ("${EMPTY:fallback}", &set, "", Origin::Env("EMPTY".into())),
            (
                "${JPUSH_APP_KEY:}",
                &none,
                "",
                Origin::Default("JPUSH_APP_KEY".into()),
            ),
            ("${NOCOLON}", &none, "", Origin::Default("NOCOLON".into())),
            (
                "x ${AUTH_GRPC_ADDR:a}",
                &set,
                "x ${AUTH_GRPC_ADDR:a}",
                Origin::Literal,
            ),
            ("${:x}", &set, "${:x}", Origin::Literal),
            ("plain", &set, "plain", Origin::Literal),
        ];
        for (raw, env, value, origin) in cases {
            assert_eq!(resolve(raw, env), (value.to_string(), origin), "{raw}");
        }
    }

    #[test]
    fn reads_values_with_lines_and_peers() {
        let text = "zitadel:\n  url: http://localhost:8090\nservices:\n  auth:\n    grpc_addr: ${AUTH_GRPC_ADDR:localhost:9001}\n  user:\n    grpc_addr: \"localhost:9002\"\ngateway:\n  http_port: 8080\n";
        let facts = ConfigFacts::parse(text, &env(&[("AUTH_GRPC_ADDR", "127.0.0.1:19001")]));
        assert_eq!(facts.error, None);
        let peers: Vec<(&str, &str, usize)> = facts
            .peers()
            .iter()
            .map(|(s, v)| (*s, v.value.as_str(), v.line))
            .collect();
        assert_eq!(
            peers,
            [
                ("auth", "127.0.0.1:19001", 5),
                ("user", "localhost:9002", 7)
            ]
        );
        assert_eq!(
            facts.get("GATEWAY.HTTP_PORT").map(|v| v.value.as_str()),
            Some("8080")
        );
        assert_eq!(
            facts
                .get("services.auth.grpc_addr")
                .map(ConfigValue::describe)
                .as_deref(),
            Some("services.auth.grpc_addr: 127.0.0.1:19001 (from $AUTH_GRPC_ADDR)")
        );
        let broken = ConfigFacts::parse("a: [1,\n", &env(&[]));
        assert!(broken.error.is_some());
    }

    #[test]
    fn addresses_split_around_the_port() {
        for (text, prefix, host, port, rest) in [
            ("localhost:9001", "", "localhost", 9001, ""),
            ("nats://localhost:4222", "nats://", "localhost", 4222, ""),
            (
                "http://localhost:14268/api/traces",
                "http://",
                "localhost",
                14268,
                "/api/traces",
            ),
            ("ws://127.0.0.1:7880", "ws://", "127.0.0.1", 7880, ""),
            (":9001", "", "", 9001, ""),
            (
                "nats://user:pw@localhost:4222",
                "nats://user:pw@",
                "localhost",
                4222,
                "",
            ),
            ("http://[::1]:8090/x", "http://", "::1", 8090, "/x"),
        ] {
            let a = Address::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(
                (a.prefix.as_str(), a.host.as_str(), a.port, a.rest.as_str()),
                (prefix, host, port, rest),
                "{text}"
            );
            assert_eq!(a.with_port(&a.port.to_string()), text, "round trip {text}");
        }
        assert_eq!(
            Address::parse("nats://localhost:4222")
                .unwrap()
                .with_port("{port:nats/client}"),
            "nats://localhost:{port:nats/client}"
        );
        for bad in [
            "localhost",
            "8001",
            "http://localhost/x",
            "a:b",
            "host:0",
            "host:70000",
            "::1",
            "",
        ] {
            assert_eq!(Address::parse(bad), None, "{bad}");
        }
        assert!(Address::parse(":1").unwrap().is_local());
        assert!(!Address::parse("db.example:5432").unwrap().is_local());
    }

    proptest::proptest! {
        #[test]
        fn address_parsing_never_panics_and_round_trips(text in "[a-z:/@\\[\\]0-9.]{0,30}") {
            if let Some(a) = Address::parse(&text) {
                proptest::prop_assert_eq!(a.with_port(&a.port.to_string()), text.trim());
            }
        }

        #[test]
        fn any_config_text_reads_without_panicking(text in "( {0,4}([a-z_]{1,8}:|-)( [$]?[{]?[A-Za-z0-9:/._-]{0,14}[}]?)?\n){0,20}") {
            let facts = ConfigFacts::parse(&text, &BTreeMap::new());
            let _ = facts.peers();
        }

        #[test]
        fn resolving_never_panics(raw in "(\\$\\{)?[A-Z_:}{a-z0-9]{0,20}\\}?") {
            let _ = resolve(&raw, &BTreeMap::new());
        }
    }
}
