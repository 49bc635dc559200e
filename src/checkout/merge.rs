//! The checkout's services over the built-in plan: names (renames included), ports from
//! `main.go` and `config.yaml`, commands, dependencies, and the drift found on the way.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::compose::ComposeFacts;
use super::config::ConfigFacts;
use super::drift::{Drift, DriftKind};
use super::go_main::default_for;
use super::render::{EnvVar, InfraModel, ServiceModel};
use super::scan::{Binary, CmdService, Scan};
use crate::manifest::schema::{InfraSpec, ServiceSpec};

/// Services renamed upstream: the plan's name, the checkout's name.
pub const RENAMES: [(&str, &str); 2] = [
    ("session-service", "conversation-service"),
    ("rtc-service", "calling-service"),
];

/// Infra a backend exits without (zap Fatal at start).
const BACKEND_NEEDS: [&str; 3] = ["postgres", "redis", "nats"];

/// Everything the merge reads.
pub struct Inputs<'a> {
    pub scan: &'a Scan,
    pub config: Option<&'a ConfigFacts>,
    pub compose: Option<&'a ComposeFacts>,
    pub plan_services: Vec<&'a ServiceSpec>,
    pub plan_infra: Vec<&'a InfraSpec>,
    pub go_available: bool,
}

/// The merged model and what was found on the way.
#[derive(Default)]
pub struct Merged {
    /// Environment every service gets (peers' and infra addresses).
    pub env: Vec<EnvVar>,
    pub services: Vec<ServiceModel>,
    pub infra: Vec<InfraModel>,
    pub drift: Vec<Drift>,
    pub notes: Vec<String>,
}

/// A port of the plan as a `u16` (the built-in plan is validated).
pub fn port(p: &Option<Spanned<i64>>) -> Option<u16> {
    p.as_ref().and_then(|p| u16::try_from(*p.get_ref()).ok())
}

impl Merged {
    /// Record one finding.
    pub fn drift(
        &mut self,
        kind: DriftKind,
        subject: String,
        plan: String,
        found: String,
        file: &Path,
        line: Option<usize>,
    ) {
        self.drift.push(Drift {
            kind,
            subject,
            plan_value: plan,
            found_value: found,
            file: file.to_path_buf(),
            line,
        });
    }
}

/// The services: the plan's (renamed where the checkout renamed them) in plan order, then
/// the checkout's own, sorted.
pub fn services(input: &Inputs, out: &mut Merged) {
    let cmd: HashMap<&str, &CmdService> = input
        .scan
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let plan_names: HashSet<&str> = input
        .plan_services
        .iter()
        .map(|s| s.name.get_ref().as_str())
        .collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut renamed: HashMap<&str, &str> = HashMap::new();
    for p in &input.plan_services {
        let plan_name = p.name.get_ref().as_str();
        let rename = RENAMES.iter().find(|(old, new)| {
            *old == plan_name && cmd.contains_key(new) && !plan_names.contains(new)
        });
        let bin_only = input.scan.bin_only.iter().find(|(n, _)| n == plan_name);
        let (name, found) = if let Some(c) = cmd.get(plan_name) {
            (plan_name, Some(*c))
        } else if let Some((old, new)) = rename {
            let dir = PathBuf::from("cmd").join(new);
            out.drift(
                DriftKind::RenamedService,
                new.to_string(),
                old.to_string(),
                new.to_string(),
                &dir,
                None,
            );
            renamed.insert(old, new);
            (*new, cmd.get(new).copied())
        } else if let Some((_, bin)) = bin_only {
            out.notes.push(format!(
                "{plan_name}: {} is built but the checkout has no cmd/{plan_name} (left from an older build?)",
                bin.path.display()
            ));
            (plan_name, None)
        } else {
            let ports = describe_ports(port(&p.http_port), port(&p.grpc_port));
            out.drift(
                DriftKind::MissingService,
                plan_name.to_string(),
                ports,
                format!("no cmd/{plan_name}"),
                Path::new("cmd"),
                None,
            );
            continue;
        };
        used.insert(name.to_string());
        let model = service(input, Some(p), name, found, bin_only.map(|(_, b)| b), out);
        out.services.push(model);
    }
    for c in &input.scan.services {
        if used.contains(&c.name) {
            continue;
        }
        let model = service(input, None, &c.name, Some(c), None, out);
        let file = c
            .main_go
            .clone()
            .unwrap_or_else(|| PathBuf::from("cmd").join(&c.name));
        let line = default_for(&c.defaults, "server.http_port")
            .or_else(|| default_for(&c.defaults, "gateway.http_port"))
            .map(|d| d.line);
        out.drift(
            DriftKind::UnknownService,
            c.name.clone(),
            "no such service".into(),
            describe_ports(model.http_port, model.grpc_port),
            &file,
            line,
        );
        out.services.push(model);
    }
    for (name, bin) in &input.scan.bin_only {
        if used.contains(name) {
            continue;
        }
        match renamed.get(name.as_str()) {
            Some(new) => out.notes.push(format!(
                "{}: left from before {name} became {new}; not used",
                bin.path.display()
            )),
            None => out.notes.push(format!(
                "{}: not a service of the plan and no cmd/{name}: not used",
                bin.path.display()
            )),
        }
    }
    let renamed: Vec<(String, String)> = renamed
        .iter()
        .map(|(o, n)| (o.to_string(), n.to_string()))
        .collect();
    depends_on(input, &renamed, out);
}

fn describe_ports(http: Option<u16>, grpc: Option<u16>) -> String {
    match (http, grpc) {
        (Some(h), Some(g)) => format!("http {h}, gRPC {g}"),
        (Some(h), None) => format!("http {h}"),
        (None, Some(g)) => format!("gRPC {g}"),
        (None, None) => "no ports".into(),
    }
}

/// One service: its ports (checkout over plan), own-port environment, command.
fn service(
    input: &Inputs,
    plan: Option<&ServiceSpec>,
    name: &str,
    cmd: Option<&CmdService>,
    bin_only: Option<&Binary>,
    out: &mut Merged,
) -> ServiceModel {
    let gateway = name.starts_with("gateway")
        || cmd.is_some_and(|c| default_for(&c.defaults, "gateway.http_port").is_some());
    let http_key = if gateway {
        "gateway.http_port"
    } else {
        "server.http_port"
    };
    let grpc_key = if gateway {
        "gateway.grpc_port"
    } else {
        "server.grpc_port"
    };
    let plan_http = plan.and_then(|p| port(&p.http_port));
    let plan_grpc = plan.and_then(|p| port(&p.grpc_port));
    let http =
        super::service_ports::checkout_port(input, name, cmd, http_key, "http", plan_http, out);
    let grpc =
        super::service_ports::checkout_port(input, name, cmd, grpc_key, "gRPC", plan_grpc, out);
    let mut env = Vec::new();
    const OWN: &str =
        "its own ports, shifted by --port-offset (viper's automatic env keeps the dot)";
    if http.is_some() {
        env.push(EnvVar {
            key: http_key.to_uppercase(),
            value: "{http_port}".into(),
            group: OWN,
        });
    }
    if grpc.is_some() {
        env.push(EnvVar {
            key: grpc_key.to_uppercase(),
            value: "{grpc_port}".into(),
            group: OWN,
        });
    }
    let mut comments = Vec::new();
    let command = super::launch::command(input, name, cmd, bin_only, &mut comments, out);
    let description = match plan {
        Some(p) => p.description.clone(),
        None => format!("in the checkout (cmd/{name}), not in the built-in plan"),
    };
    ServiceModel {
        name: name.to_string(),
        group: plan.and_then(|p| p.group.clone()),
        description,
        command,
        http_port: http,
        grpc_port: grpc,
        metrics_port: plan
            .and_then(|p| port(&p.metrics_port))
            .or_else(|| common_metrics_port(input)),
        health_path: plan
            .map(|p| p.health_path.clone())
            .filter(|p| p != "/health"),
        grpc_health_service: plan
            .map(|p| p.grpc_health_service.clone())
            .filter(|s| !s.is_empty()),
        depends_on: plan
            .map(|p| p.depends_on.iter().map(|d| d.get_ref().clone()).collect())
            .unwrap_or_default(),
        env,
        required: plan.is_none_or(|p| p.required),
        restart: plan.map_or(crate::plan::RestartPolicy::OnFailure, |p| p.restart),
        stop_grace: plan.and_then(|p| p.stop_grace),
        ready_timeout: plan.and_then(|p| p.ready_timeout),
        comments,
    }
}

/// The metrics port every plan service shares, for services the plan does not know.
fn common_metrics_port(input: &Inputs) -> Option<u16> {
    let ports: HashSet<u16> = input
        .plan_services
        .iter()
        .filter_map(|s| port(&s.metrics_port))
        .collect();
    (ports.len() == 1)
        .then(|| ports.into_iter().next())
        .flatten()
}

/// Plan dependencies under their new names and only to what exists; every backend also needs
/// PostgreSQL, Redis and NATS, the gateway NATS.
fn depends_on(input: &Inputs, renamed: &[(String, String)], out: &mut Merged) {
    let mut names: HashSet<String> = out.services.iter().map(|s| s.name.clone()).collect();
    names.extend(input.plan_infra.iter().map(|i| i.name.get_ref().clone()));
    for s in &mut out.services {
        let gateway = s.env.iter().any(|e| e.key.starts_with("GATEWAY."));
        let needs: &[&str] = if gateway {
            &BACKEND_NEEDS[2..]
        } else {
            &BACKEND_NEEDS
        };
        let mut deps: Vec<String> = needs
            .iter()
            .map(|n| n.to_string())
            .filter(|n| names.contains(n))
            .collect();
        for d in &s.depends_on {
            let d = renamed
                .iter()
                .find(|(old, _)| old == d)
                .map_or(d.clone(), |(_, new)| new.clone());
            if names.contains(&d) && !deps.contains(&d) && d != s.name {
                deps.push(d);
            }
        }
        s.depends_on = deps;
    }
}
