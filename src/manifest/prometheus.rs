//! The `[prometheus]` table of the manifests, checked, and the plan's own Prometheus: where
//! the metrics come from when no `--prometheus URL` is given (the command line wins).

use std::path::PathBuf;
use std::time::Duration;

use super::load::{ManifestError, Source, parse};
use crate::collect::prometheus_api::PromConfig;
use crate::collect::prometheus_api::client::normalize_url;
use crate::plan::{Plan, ProbeKind};

/// A Prometheus server named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusSetting {
    /// Normalized base URL.
    pub url: String,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    /// The manifest that named it.
    pub source: PathBuf,
}

impl PrometheusSetting {
    /// The collector's configuration: defaults where the table says nothing.
    pub fn config(&self) -> PromConfig {
        let mut c = PromConfig::new(&self.url);
        c.interval = self.interval.unwrap_or(c.interval);
        c.timeout = self.timeout.unwrap_or(c.timeout);
        c
    }
}

/// The `[prometheus]` table of the last source that has one; a URL that is not http(s) or a
/// zero interval or timeout is an error at the table's position.
pub fn prometheus_setting(sources: &[Source]) -> Result<Option<PrometheusSetting>, ManifestError> {
    let mut found = None;
    for source in sources {
        let Some(table) = parse(source)?.prometheus else {
            continue;
        };
        let at = table.span().start;
        let spec = table.into_inner();
        let url_at = spec.url.span().start;
        let url = normalize_url(spec.url.get_ref())
            .map_err(|e| ManifestError::at(source, url_at, format!("prometheus.url: {e}")))?;
        for (key, value) in [("interval", spec.interval), ("timeout", spec.timeout)] {
            if value == Some(Duration::ZERO) {
                return Err(ManifestError::at(
                    source,
                    at,
                    format!("prometheus.{key} must be longer than 0s"),
                ));
            }
        }
        found = Some(PrometheusSetting {
            url,
            interval: spec.interval,
            timeout: spec.timeout,
            source: source.path.clone(),
        });
    }
    Ok(found)
}

/// The plan's Prometheus (its first target probed as `prometheus`) as a URL, for a
/// `--prometheus` given without one.
pub fn plan_prometheus_url(plan: &Plan) -> Option<String> {
    plan.targets
        .iter()
        .find(|t| t.kind == ProbeKind::Prometheus)
        .map(|t| {
            let host = if t.host.contains(':') {
                format!("[{}]", t.host)
            } else {
                t.host.clone()
            };
            format!("http://{host}:{}", t.port)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PlanOptions, build_plan};

    fn src(name: &str, text: &str) -> Source {
        Source {
            path: PathBuf::from(name),
            text: text.to_owned(),
        }
    }

    const SERVICE: &str = "[[service]]\nname = \"a\"\ngroup = \"g\"\nhttp_port = 8001\n";

    #[test]
    fn the_table_is_read_and_checked() {
        let with = src(
            "team.toml",
            &format!("{SERVICE}\n[prometheus]\nurl = \"prom.internal:9090/\"\ninterval = \"5s\"\n"),
        );
        let setting = prometheus_setting(&[src("a.toml", SERVICE), with.clone()])
            .expect("valid")
            .expect("set");
        assert_eq!(setting.url, "http://prom.internal:9090");
        assert_eq!(setting.interval, Some(Duration::from_secs(5)));
        assert_eq!(setting.source, PathBuf::from("team.toml"));
        let config = setting.config();
        assert_eq!(
            (config.interval, config.timeout),
            (Duration::from_secs(5), Duration::from_secs(3))
        );
        // The plan is built from the same file as before.
        assert!(build_plan(&[with], &PlanOptions::default()).is_ok());
        // The last file that names one wins; none named: none.
        let later = src("later.toml", "[prometheus]\nurl = \"https://p2\"\n");
        let got = prometheus_setting(&[src("t.toml", "[prometheus]\nurl = \"p1\"\n"), later]);
        assert_eq!(
            got.expect("valid").map(|s| s.url),
            Some("https://p2".into())
        );
        assert_eq!(prometheus_setting(&[src("a.toml", SERVICE)]), Ok(None));
    }

    #[test]
    fn mistakes_point_at_the_table() {
        let err = prometheus_setting(&[src("t.toml", "\n[prometheus]\nurl = \"ftp://x\"\n")])
            .expect_err("not http");
        assert_eq!((err.line, err.column), (3, 7));
        assert!(
            err.message.starts_with("prometheus.url: bad URL: ftp://x"),
            "{}",
            err.message
        );
        let err = prometheus_setting(&[src(
            "t.toml",
            "[prometheus]\nurl = \"p\"\ninterval = \"0s\"\n",
        )])
        .expect_err("zero");
        assert_eq!(err.message, "prometheus.interval must be longer than 0s");
        let err = prometheus_setting(&[src(
            "t.toml",
            "[prometheus]\nurl = \"p\"\nintervall = \"1s\"\n",
        )])
        .expect_err("typo");
        assert_eq!(err.line, 3);
        assert!(
            err.message.contains("unknown field `intervall`"),
            "{}",
            err.message
        );
        let err = prometheus_setting(&[src("t.toml", "[prometheus]\ninterval = \"1s\"\n")])
            .expect_err("no url");
        assert!(
            err.message.contains("lacks the required key `url`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_plans_own_prometheus() {
        let anychat = build_plan(&[Source::anychat()], &PlanOptions::default()).expect("plan");
        assert_eq!(
            plan_prometheus_url(&anychat).as_deref(),
            Some("http://127.0.0.1:9090")
        );
        let bare = build_plan(&[src("a.toml", SERVICE)], &PlanOptions::default()).expect("plan");
        assert_eq!(plan_prometheus_url(&bare), None);
    }
}
