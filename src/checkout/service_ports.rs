//! A service's ports as the checkout says them: `config.yaml` (for `gateway.*` keys) over the
//! `main.go` default over the plan, each difference from the plan a drift.

use super::drift::DriftKind;
use super::go_main::default_for;
use super::merge::{Inputs, Merged};
use super::scan::CmdService;

/// A port of a service: `config.yaml` (`gateway.*` keys only: `server.*` there would be one
/// port for every service) over the `main.go` default over the plan; differences are drift.
pub fn checkout_port(
    input: &Inputs,
    name: &str,
    cmd: Option<&CmdService>,
    key: &str,
    what: &str,
    plan: Option<u16>,
    out: &mut Merged,
) -> Option<u16> {
    let mut main_go = None;
    if let Some(c) = cmd
        && let Some(d) = default_for(&c.defaults, key)
    {
        let file = c.main_go.clone().unwrap_or_default();
        match d
            .value
            .as_port()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|&p| p > 0)
        {
            Some(p) => {
                if let Some(pp) = plan.filter(|&pp| pp != p) {
                    out.drift(
                        DriftKind::PortDiffers,
                        format!("{name} {what} port"),
                        pp.to_string(),
                        p.to_string(),
                        &file,
                        Some(d.line),
                    );
                }
                main_go = Some(p);
            }
            None => out.notes.push(format!(
                "{}:{}: the {key} default is not a plain port ({}); using {}",
                file.display(),
                d.line,
                d.value.describe(),
                plan.map_or("none".to_string(), |p| p.to_string())
            )),
        }
    }
    let mut config = None;
    if key.starts_with("gateway.")
        && let Some(facts) = input.config
        && let Some(v) = facts.get(key)
    {
        match v.value.trim().parse::<u16>().ok().filter(|&p| p > 0) {
            Some(p) => {
                if let Some(pp) = plan.filter(|&pp| pp != p) {
                    out.drift(
                        DriftKind::PortDiffers,
                        format!("{name} {what} port"),
                        pp.to_string(),
                        v.describe(),
                        &facts.path,
                        Some(v.line),
                    );
                }
                config = Some(p);
            }
            None => out.notes.push(format!(
                "{}:{}: {} is not a port",
                facts.path.display(),
                v.line,
                v.describe()
            )),
        }
    }
    config.or(main_go).or(plan)
}
