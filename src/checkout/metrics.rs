//! The metrics port: `monitoring.prometheus.port` in config.yaml over the plan's, and whether
//! any Go code of the checkout serves it at all.

use super::drift::DriftKind;
use super::merge::{Inputs, Merged};

/// The metrics port: config.yaml's `monitoring.prometheus.port` over the plan's; promised but
/// served by no Go code is drift.
pub fn metrics(input: &Inputs, out: &mut Merged) {
    let configured = input
        .config
        .and_then(|c| c.get("monitoring.prometheus.port").map(|v| (c, v)));
    let planned = out.services.iter().find_map(|s| s.metrics_port);
    let mut port = planned;
    if let Some((config, v)) = configured {
        match v.value.trim().parse::<u16>().ok().filter(|&p| p > 0) {
            Some(p) => {
                if let Some(pp) = planned.filter(|&pp| pp != p) {
                    out.drift(
                        DriftKind::PortDiffers,
                        "metrics port".into(),
                        pp.to_string(),
                        v.describe(),
                        &config.path,
                        Some(v.line),
                    );
                }
                for s in out.services.iter_mut().filter(|s| s.metrics_port.is_some()) {
                    s.metrics_port = Some(p);
                }
                port = Some(p);
            }
            None => out.notes.push(format!(
                "{}:{}: {} is not a port",
                config.path.display(),
                v.line,
                v.describe()
            )),
        }
    }
    let (Some(port), None) = (port, &input.scan.metrics_code) else {
        return;
    };
    let searched = input
        .scan
        .searched
        .iter()
        .map(|d| format!("{d}/"))
        .collect::<Vec<_>>()
        .join(", ");
    let plan = format!("/metrics on {port} for every service");
    match configured {
        Some((config, v)) => out.drift(
            DriftKind::Unconfigured,
            format!("metrics port {port}"),
            plan,
            format!(
                "no Go code in {searched} reads {} or serves promhttp: nothing will answer",
                v.key
            ),
            &config.path,
            Some(v.line),
        ),
        None => out.drift(
            DriftKind::Unconfigured,
            format!("metrics port {port}"),
            plan,
            format!(
                "nothing in the checkout configures it and no Go code in {searched} serves promhttp"
            ),
            std::path::Path::new("cmd"),
            None,
        ),
    }
}
