//! Addresses in `configs/config.yaml`: peers' gRPC addresses and infra endpoints become
//! environment (shifted with the port offset), third-party endpoints become infra, and ports
//! that disagree with the plan or break its rules become drift.

use super::config::{Address, ConfigFacts, ConfigValue};
use super::drift::DriftKind;
use super::merge::{Inputs, Merged, RENAMES};
use super::render::{EnvVar, InfraModel, PortModel};
use crate::manifest::placeholders::KNOWN;
use crate::plan::ProbeKind;

const PEERS: &str = "peers' gRPC addresses (configs/config.yaml services.*.grpc_addr)";
const INFRA: &str = "infrastructure addresses (configs/config.yaml)";
/// The plan's rule for 8xxx/9xxx ports.
const RANGES: &str = "8000-8099 and 9000-9099 are the AnyChat services' HTTP and gRPC ranges";

/// Everything `config.yaml` adds: peer and infra environment for every service, third-party
/// infra, and port drift; then the metrics port check.
pub fn addresses(input: &Inputs, out: &mut Merged) {
    let mut env = Vec::new();
    match input.config {
        Some(config) if config.error.is_none() => {
            shared_server_ports(config, out);
            peers(config, out, &mut env);
            endpoints(config, out, &mut env);
        }
        Some(config) => {
            if let Some(e) = &config.error {
                out.notes.push(format!(
                    "{}: not YAML ({e}): services fail to start with it",
                    config.path.display()
                ));
            }
        }
        None => {
            out.notes
                .push("no configs/config.yaml: services use their built-in defaults".into());
            default_peers(out, &mut env);
        }
    }
    out.env = env;
    super::metrics::metrics(input, out);
}

/// `text` with known placeholders written as literals (`{name}` → `{{name}}`).
fn literal(text: &str) -> String {
    KNOWN.iter().fold(text.to_string(), |t, k| {
        t.replace(&format!("{{{k}}}"), &format!("{{{{{k}}}}}"))
    })
}

/// `addr` with its port replaced by a placeholder, the rest kept literally.
fn template(addr: &Address, placeholder: &str) -> String {
    let literal_addr = Address {
        prefix: literal(&addr.prefix),
        host: literal(&addr.host),
        port: addr.port,
        rest: literal(&addr.rest),
    };
    literal_addr.with_port(placeholder)
}

/// The variables that carry a config value: viper's `KEY.IN.CAPS` and the `${VAR}` it names.
fn vars_for(v: &ConfigValue, value: String, group: &'static str, env: &mut Vec<EnvVar>) {
    let mut keys = vec![v.key.to_uppercase()];
    keys.extend(v.var().map(str::to_string));
    for key in keys {
        if !env.iter().any(|e| e.key == key) {
            env.push(EnvVar {
                key,
                value: value.clone(),
                group,
            });
        }
    }
}

fn shared_server_ports(config: &ConfigFacts, out: &mut Merged) {
    for key in ["server.http_port", "server.grpc_port"] {
        if let Some(v) = config.get(key) {
            out.drift(
                DriftKind::PortBreaksRule,
                key.to_string(),
                "each service has its own port (anychat-top's environment overrides this for the services it starts)".into(),
                format!("{} for every service", v.value),
                &config.path,
                Some(v.line),
            );
        }
    }
}

/// `services.<short>.grpc_addr` → `<short>-service` (or its new name).
fn peers(config: &ConfigFacts, out: &mut Merged, env: &mut Vec<EnvVar>) {
    for (short, v) in config.peers() {
        let plain = format!("{short}-service");
        let name = RENAMES
            .iter()
            .find(|(old, _)| *old == plain)
            .map(|(_, new)| *new);
        let Some(s) = out
            .services
            .iter()
            .find(|s| s.name == plain)
            .or_else(|| name.and_then(|n| out.services.iter().find(|s| s.name == n)))
        else {
            out.notes.push(format!(
                "{}:{}: {}: the checkout has no {plain}",
                config.path.display(),
                v.line,
                v.key
            ));
            continue;
        };
        let (entry, grpc) = (s.name.clone(), s.grpc_port);
        let Some(addr) = Address::parse(&v.value) else {
            out.notes.push(format!(
                "{}:{}: {} is not host:port",
                config.path.display(),
                v.line,
                v.describe()
            ));
            continue;
        };
        let Some(grpc) = grpc else {
            out.notes.push(format!(
                "{}:{}: {entry} has no gRPC port",
                config.path.display(),
                v.line
            ));
            continue;
        };
        if addr.port != grpc {
            out.drift(
                DriftKind::PortDiffers,
                format!("{entry} gRPC address"),
                grpc.to_string(),
                v.describe(),
                &config.path,
                Some(v.line),
            );
        }
        if !addr.is_local() {
            out.notes.push(format!(
                "{}:{}: {} is another host: left as it is",
                config.path.display(),
                v.line,
                v.describe()
            ));
            continue;
        }
        vars_for(
            v,
            template(&addr, &format!("{{port:{entry}/grpc}}")),
            PEERS,
            env,
        );
    }
}

/// Without config.yaml the gateway's viper defaults name its peers; `SERVICES.X.GRPC_ADDR`
/// overrides them.
fn default_peers(out: &Merged, env: &mut Vec<EnvVar>) {
    for s in out.services.iter().filter(|s| s.grpc_port.is_some()) {
        let short = s.name.strip_suffix("-service").unwrap_or(&s.name);
        env.push(EnvVar {
            key: format!("SERVICES.{}.GRPC_ADDR", short.to_uppercase()),
            value: format!("localhost:{{port:{}/grpc}}", s.name),
            group: PEERS,
        });
    }
}

/// Whether the value is handled elsewhere (peers, the services' own and metrics ports).
fn handled_elsewhere(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    (lower.starts_with("services.") && lower.ends_with(".grpc_addr"))
        || lower.starts_with("server.")
        || lower.starts_with("gateway.")
        || lower.starts_with("monitoring.prometheus.")
}

/// Every other local address: an infra port of the plan (drift when it differs) or a new
/// third-party entry (drift when it breaks the plan's ranges).
fn endpoints(config: &ConfigFacts, out: &mut Merged, env: &mut Vec<EnvVar>) {
    for v in config.values.iter().filter(|v| !handled_elsewhere(&v.key)) {
        let (addr, port_only) = match Address::parse(&v.value) {
            Some(a) => (a, false),
            None => match port_with_local_host(config, v) {
                Some(a) => (a, true),
                None => continue,
            },
        };
        if !addr.is_local() {
            continue;
        }
        let segments: Vec<&str> = v.key.split('.').collect();
        let known = segments
            .iter()
            .find_map(|seg| out.infra.iter().position(|i| i.name == *seg));
        let (entry, label) = match known {
            Some(i) => {
                let infra = &out.infra[i];
                let Some(p) = infra
                    .ports
                    .iter()
                    .find(|p| p.port == addr.port)
                    .or(infra.ports.first())
                else {
                    continue;
                };
                let (name, label, planned) = (infra.name.clone(), p.label.clone(), p.port);
                if planned != addr.port {
                    let subject = format!("{name} {label} port");
                    out.drift(
                        DriftKind::PortDiffers,
                        subject,
                        planned.to_string(),
                        v.describe(),
                        &config.path,
                        Some(v.line),
                    );
                }
                (name, label)
            }
            None => third_party(config, v, &addr, segments[0], out),
        };
        let placeholder = format!("{{port:{entry}/{label}}}");
        let value = if port_only {
            placeholder
        } else {
            template(&addr, &placeholder)
        };
        vars_for(v, value, INFRA, env);
    }
}

/// `*.port: 5432` beside `*.host: localhost` reads as an address.
fn port_with_local_host(config: &ConfigFacts, v: &ConfigValue) -> Option<Address> {
    let parent = v.key.strip_suffix(".port")?;
    let host = config.get(&format!("{parent}.host"))?;
    let port = v.value.trim().parse::<u16>().ok().filter(|&p| p > 0)?;
    Some(Address {
        prefix: String::new(),
        host: host.value.trim().to_string(),
        port,
        rest: String::new(),
    })
}

/// A third-party endpoint (Zitadel): probed over TCP, never required; returns entry and label.
fn third_party(
    config: &ConfigFacts,
    v: &ConfigValue,
    addr: &Address,
    name: &str,
    out: &mut Merged,
) -> (String, String) {
    let label = addr
        .prefix
        .strip_suffix("://")
        .filter(|s| !s.is_empty())
        .unwrap_or("tcp")
        .to_string();
    let in_range = (8000..=8099).contains(&addr.port) || (9000..=9099).contains(&addr.port);
    let owner = out
        .services
        .iter()
        .find(|s| [s.http_port, s.grpc_port].contains(&Some(addr.port)))
        .map(|s| s.name.clone());
    if let Some(owner) = owner {
        let plan = format!("{} is {owner}'s port", addr.port);
        out.drift(
            DriftKind::PortBreaksRule,
            v.key.clone(),
            plan,
            format!("port {}", addr.port),
            &config.path,
            Some(v.line),
        );
    } else if in_range {
        out.drift(
            DriftKind::PortBreaksRule,
            v.key.clone(),
            RANGES.into(),
            format!("port {}", addr.port),
            &config.path,
            Some(v.line),
        );
    }
    let port = PortModel {
        port: addr.port,
        probe: ProbeKind::Tcp,
        label: label.clone(),
        path: None,
    };
    match out.infra.iter_mut().find(|i| i.name == name) {
        Some(existing) => {
            if !existing.ports.iter().any(|p| p.port == addr.port) {
                existing.ports.push(port);
            }
        }
        None => out.infra.push(InfraModel {
            name: name.to_string(),
            category: "third-party".into(),
            description: format!("{} (from {})", v.value, config.path.display()),
            container: None,
            compose: None,
            required: false,
            ports: vec![port],
            comments: vec![format!(
                "from {}:{} {}: no container runs it",
                config.path.display(),
                v.line,
                v.key
            )],
        }),
    }
    (name.to_string(), label)
}
