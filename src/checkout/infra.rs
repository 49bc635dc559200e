//! The plan's infrastructure over the compose file: containers and published ports from
//! `deployments/docker-compose.yml`, compose services the plan does not know added as infra.

use std::collections::HashSet;

use super::compose::{ComposeService, probe_hint};
use super::drift::DriftKind;
use super::merge::{Inputs, Merged, port};
use super::render::{ComposeRef, InfraModel, PortModel};
use crate::plan::ProbeKind;

/// Every plan infra entry (with the compose file's container and host ports where it has
/// them), then the compose file's other services.
pub fn infra(input: &Inputs, out: &mut Merged) {
    let mut matched: HashSet<&str> = HashSet::new();
    for p in &input.plan_infra {
        let name = p.name.get_ref().as_str();
        let found = input
            .compose
            .and_then(|c| c.service(name, p.container.as_deref()));
        let mut model = InfraModel {
            name: name.to_string(),
            category: p.category.clone(),
            description: p.description.clone(),
            container: p.container.clone(),
            compose: None,
            required: p.required,
            ports: p
                .ports
                .iter()
                .filter_map(|pp| {
                    Some(PortModel {
                        port: port(&Some(pp.port.clone()))?,
                        probe: pp.probe,
                        label: pp
                            .label
                            .clone()
                            .unwrap_or_else(|| pp.probe.as_str().to_string()),
                        path: pp.path.clone(),
                    })
                })
                .collect(),
            comments: Vec::new(),
        };
        match (found, input.compose) {
            (Some(svc), Some(compose)) => {
                matched.insert(svc.name.as_str());
                model.container = Some(svc.container.clone());
                model.compose = Some(ComposeRef {
                    file: compose.path.display().to_string(),
                    project: compose.project.clone(),
                    service: svc.name.clone(),
                });
                published_ports(&mut model, svc, &compose.path, out);
                model.comments.push(format!(
                    "from {} service {:?}",
                    compose.path.display(),
                    svc.name
                ));
            }
            (None, Some(compose)) => {
                let ports: Vec<String> = model.ports.iter().map(|p| p.port.to_string()).collect();
                let container = p.container.as_deref().unwrap_or(name);
                out.drift(
                    DriftKind::Unconfigured,
                    name.to_string(),
                    format!("{container} on {}", ports.join(", ")),
                    "there is no such compose service".to_string(),
                    &compose.path,
                    None,
                );
                model.comments.push(format!(
                    "not in {}: kept from the built-in plan",
                    compose.path.display()
                ));
            }
            _ => {}
        }
        out.infra.push(model);
    }
    let Some(compose) = input.compose else { return };
    for svc in &compose.services {
        if matched.contains(svc.name.as_str()) {
            continue;
        }
        let tcp: Vec<u16> = svc
            .ports
            .iter()
            .filter(|p| !p.udp)
            .filter_map(|p| p.host_port)
            .collect();
        if tcp.is_empty() {
            out.notes.push(format!(
                "{}:{}: compose service {} publishes no TCP port: not probed",
                compose.path.display(),
                svc.line,
                svc.name
            ));
            continue;
        }
        let hint = svc.health.as_deref().and_then(probe_hint);
        let ports = svc
            .ports
            .iter()
            .filter(|p| !p.udp)
            .filter_map(|p| {
                let host_port = p.host_port?;
                let (probe, path) = match &hint {
                    Some((kind, None, _)) if host_port == tcp[0] => (*kind, None),
                    Some((kind, Some(c), path)) if *c == p.container_port => (*kind, path.clone()),
                    _ => (ProbeKind::Tcp, None),
                };
                Some(PortModel {
                    port: host_port,
                    probe,
                    label: format!("tcp-{}", p.container_port),
                    path,
                })
            })
            .collect();
        out.drift(
            DriftKind::UnknownService,
            format!("compose service {}", svc.name),
            "no such infra".into(),
            format!("container {} on {}", svc.container, join(&tcp)),
            &compose.path,
            Some(svc.line),
        );
        out.infra.push(InfraModel {
            name: svc.name.clone(),
            category: "infrastructure".into(),
            description: format!("compose service {} (not in the built-in plan)", svc.name),
            container: Some(svc.container.clone()),
            compose: Some(ComposeRef {
                file: compose.path.display().to_string(),
                project: compose.project.clone(),
                service: svc.name.clone(),
            }),
            required: false,
            ports,
            comments: vec![format!(
                "from {} (not in the built-in plan)",
                compose.path.display()
            )],
        });
    }
}

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plan's ports as the compose file publishes them: matched by container port (images
/// listen on their standard port) or host port; a different host port is drift, other
/// published TCP ports are probed too.
fn published_ports(
    model: &mut InfraModel,
    svc: &ComposeService,
    file: &std::path::Path,
    out: &mut Merged,
) {
    let mut used = vec![false; svc.ports.len()];
    for p in &mut model.ports {
        let at = svc
            .ports
            .iter()
            .position(|c| !c.udp && c.container_port == p.port)
            .or_else(|| {
                svc.ports
                    .iter()
                    .position(|c| !c.udp && c.host_port == Some(p.port))
            });
        let Some(at) = at else {
            out.drift(
                DriftKind::Unconfigured,
                format!("{} {} port", model.name, p.label),
                p.port.to_string(),
                format!("service {} publishes no such port", svc.name),
                file,
                Some(svc.line),
            );
            continue;
        };
        used[at] = true;
        let c = &svc.ports[at];
        match c.host_port {
            Some(host) if host != p.port => {
                out.drift(
                    DriftKind::PortDiffers,
                    format!("{} {} port", model.name, p.label),
                    p.port.to_string(),
                    format!("{host} (container port {})", c.container_port),
                    file,
                    Some(c.line),
                );
                p.port = host;
            }
            Some(_) => {}
            None => out.notes.push(format!(
                "{}:{}: {} publishes container port {} on a port Docker picks; probing {}",
                file.display(),
                c.line,
                svc.name,
                c.container_port,
                p.port
            )),
        }
    }
    for (c, _) in svc
        .ports
        .iter()
        .zip(used)
        .filter(|(c, used)| !used && !c.udp)
    {
        if let Some(host) = c.host_port
            && !model.ports.iter().any(|p| p.port == host)
        {
            model.ports.push(PortModel {
                port: host,
                probe: ProbeKind::Tcp,
                label: format!("tcp-{}", c.container_port),
                path: None,
            });
        }
    }
}
