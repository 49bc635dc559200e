//! Headless renderings: `metrics SERVICE` as a table or JSON, and the NATS stats object that
//! `check --json` includes.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::collect::nats::NatsSnapshot;
use crate::metrics::attribution::Attribution;
use crate::state::metrics::history::Watched;
use crate::state::metrics::{MetricsSource, ServiceMetrics};

fn source_name(s: MetricsSource) -> &'static str {
    match s {
        MetricsSource::Prometheus => "prometheus",
        MetricsSource::Endpoint => "endpoint",
        MetricsSource::Logs => "logs",
        MetricsSource::None => "none",
    }
}

fn unit(w: Watched) -> &'static str {
    match w {
        Watched::RequestRate => "per second",
        Watched::ErrorRate | Watched::Cpu => "percent",
        Watched::P95 => "seconds",
        Watched::Goroutines => "",
        Watched::Rss => "bytes",
    }
}

fn json_name(w: Watched) -> &'static str {
    match w {
        Watched::RequestRate => "request_rate",
        Watched::ErrorRate => "error_percent",
        Watched::P95 => "p95_seconds",
        Watched::Goroutines => "goroutines",
        Watched::Rss => "resident_memory_bytes",
        Watched::Cpu => "cpu_percent",
    }
}

fn num(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite()).map_or(Value::Null, Value::from)
}

/// Problems worth printing: scrape error, port held by someone else, dropped lines, cap.
fn problems(
    m: &ServiceMetrics,
    holder: Option<&str>,
    now: Instant,
    stale_after: Duration,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &m.prometheus {
        if !p.seen.last_error.is_empty() {
            out.push(format!("Prometheus: {}", p.seen.last_error));
        } else if !p.listed {
            out.push("Prometheus: not in its latest answer".into());
        }
    }
    if let Some(ep) = &m.endpoint {
        match ep.attribution {
            Attribution::HeldBy(e) => out.push(format!(
                "metrics port held by {}",
                holder.map_or_else(|| format!("entry #{}", e.0), str::to_owned)
            )),
            Attribution::HeldByPid(pid) => out.push(format!("metrics port held by pid {pid}")),
            Attribution::Unknown => out.push("metrics port shared; holder unknown".into()),
            Attribution::Own => {}
        }
        if let Some((_, e)) = &ep.last_error {
            out.push(format!("scrape failed: {e}"));
        } else if ep.last_ok.is_some() && ep.stale(now, stale_after) {
            out.push("stale".into());
        }
        if ep.dropped > 0 {
            out.push(format!("{} lines dropped", ep.dropped));
        }
        if ep.store.capped {
            out.push(format!("series cap hit ({} on the page)", ep.store.total));
        }
    }
    if m.logs.malformed > 0 {
        out.push(format!("{} malformed log lines", m.logs.malformed));
    }
    out
}

/// `anychat-top metrics SERVICE`: one line per watched value, then per method (from logs);
/// `holder` names the service holding a shared metrics port.
pub fn metrics_text(
    name: &str,
    m: &ServiceMetrics,
    holder: Option<&str>,
    now: Instant,
    stale_after: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{name}  (source: {})", source_name(m.source()));
    for w in Watched::ALL {
        let v = m.current(w).map_or("—".to_owned(), |v| format!("{v:.6}"));
        let v = if v.contains('.') {
            v.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            v
        };
        let _ = writeln!(out, "  {:<22} {v:>14} {}", json_name(w), unit(w));
    }
    if m.source() == MetricsSource::Logs && !m.logs.by_method.is_empty() {
        let _ = writeln!(
            out,
            "  {:<48} {:>8} {:>7} {:>9} {:>9} {:>9}",
            "method", "req/s", "err%", "p50 s", "p95 s", "p99 s"
        );
        for mf in &m.logs.by_method {
            let f = &mf.figures;
            let q = |i: usize| f.quantiles[i].map_or("—".into(), |v| format!("{v:.6}"));
            let _ = writeln!(
                out,
                "  {:<48} {:>8.3} {:>7} {:>9} {:>9} {:>9}",
                mf.method,
                f.rate,
                f.error_pct.map_or("—".into(), |e| format!("{e:.1}")),
                q(0),
                q(1),
                q(2)
            );
        }
    }
    for p in problems(m, holder, now, stale_after) {
        let _ = writeln!(out, "  ! {p}");
    }
    out
}

/// `anychat-top metrics SERVICE --json`.
pub fn metrics_json(
    name: &str,
    m: &ServiceMetrics,
    holder: Option<&str>,
    now: Instant,
    stale_after: Duration,
) -> Value {
    let mut values = serde_json::Map::new();
    for w in Watched::ALL {
        values.insert(json_name(w).into(), num(m.current(w)));
    }
    let quantiles = match m.source() {
        MetricsSource::Prometheus => m.prometheus.as_ref().map(|p| p.quantiles),
        MetricsSource::Endpoint => m.endpoint.as_ref().map(|e| e.quantiles),
        MetricsSource::Logs => Some(m.logs.total.quantiles),
        MetricsSource::None => None,
    }
    .unwrap_or([None; 3]);
    let methods: Vec<Value> = m
        .logs
        .by_method
        .iter()
        .map(|mf| {
            json!({
                "method": mf.method,
                "request_rate": mf.figures.rate,
                "error_percent": num(mf.figures.error_pct),
                "p50_seconds": num(mf.figures.quantiles[0]),
                "p95_seconds": num(mf.figures.quantiles[1]),
                "p99_seconds": num(mf.figures.quantiles[2]),
            })
        })
        .collect();
    json!({
        "service": name,
        "source": source_name(m.source()),
        "values": values,
        "latency_seconds": {"p50": num(quantiles[0]), "p95": num(quantiles[1]), "p99": num(quantiles[2])},
        "methods": methods,
        "problems": problems(m, holder, now, stale_after),
    })
}

/// The `nats` object of `check --json` from one poll of the monitoring port.
pub fn nats_stats_json(s: &NatsSnapshot) -> Value {
    let v = &s.varz;
    let connections: Vec<Value> = s
        .connz
        .as_ref()
        .map(|c| {
            c.connections
                .iter()
                .map(|c| {
                    json!({
                        "cid": c.cid, "name": c.name, "ip": c.ip, "port": c.port,
                        "subscriptions": c.subscriptions, "pending_bytes": c.pending_bytes,
                        "in_msgs": c.in_msgs, "out_msgs": c.out_msgs,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let err = |e: &String| Value::from(e.as_str());
    json!({
        "version": v.version,
        "uptime_seconds": v.uptime().map(|d| d.as_secs_f64()),
        "connections": v.connections,
        "total_connections": v.total_connections,
        "subscriptions": v.subscriptions,
        "in_msgs": v.in_msgs, "out_msgs": v.out_msgs,
        "in_bytes": v.in_bytes, "out_bytes": v.out_bytes,
        "slow_consumers": v.slow_consumers,
        "mem_bytes": v.mem, "cpu_percent": v.cpu,
        "healthz": match &s.healthz { Ok(h) if h.ok() => Value::from("ok"), Ok(h) => Value::from(h.error.as_str()), Err(e) => err(e) },
        "jetstream": match &s.jsz { Ok(j) => Value::from(j.summary().to_string()), Err(e) => err(e) },
        "clients": connections,
    })
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
