//! Plan drift: where the checkout disagrees with the built-in plan, as values with a one-line
//! text naming both values and the file.

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

/// What kind of disagreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// In the checkout, not in the plan (version-service).
    UnknownService,
    /// The plan's service under a new name (session → conversation).
    RenamedService,
    /// In the plan, nowhere in the checkout.
    MissingService,
    /// A port other than the plan's (main.go, config.yaml, compose).
    PortDiffers,
    /// A port against the plan's rules (Zitadel on 8090, one port for every service).
    PortBreaksRule,
    /// A port or component the plan promises that nothing in the checkout provides.
    Unconfigured,
    /// `cmd/<name>` exists, `bin/<name>` does not.
    BinaryMissing,
    /// `bin/<name>` is older than its sources.
    BinaryStale,
}

impl DriftKind {
    /// Short name for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::UnknownService => "unknown service",
            DriftKind::RenamedService => "renamed service",
            DriftKind::MissingService => "missing service",
            DriftKind::PortDiffers => "port differs",
            DriftKind::PortBreaksRule => "port breaks rule",
            DriftKind::Unconfigured => "unconfigured",
            DriftKind::BinaryMissing => "binary missing",
            DriftKind::BinaryStale => "binary stale",
        }
    }
}

/// One finding. `file` is relative to the checkout; `line` is 1-based when known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    pub kind: DriftKind,
    /// What it is about: `auth-service http port`, `version-service`, `zitadel.url`.
    pub subject: String,
    /// What the plan says.
    pub plan_value: String,
    /// What the checkout says.
    pub found_value: String,
    pub file: PathBuf,
    pub line: Option<usize>,
}

impl Drift {
    /// `file:line` (or just the file).
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

impl fmt::Display for Drift {
    /// One line naming both values and the file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.location();
        let (subject, plan, found) = (&self.subject, &self.plan_value, &self.found_value);
        match self.kind {
            DriftKind::UnknownService => write!(
                f,
                "{subject}: not in the plan, but the checkout has it ({found}) in {at}"
            ),
            DriftKind::RenamedService => write!(
                f,
                "{plan} is called {found} in the checkout ({at}); it keeps the plan's role"
            ),
            DriftKind::MissingService => write!(
                f,
                "{subject}: in the plan ({plan}) but the checkout has {found} ({at})"
            ),
            DriftKind::PortDiffers => {
                write!(f, "{subject}: the plan says {plan}, {at} says {found}")
            }
            DriftKind::PortBreaksRule => write!(f, "{subject}: {found} in {at}, but {plan}"),
            DriftKind::Unconfigured => {
                write!(f, "{subject}: the plan promises {plan}, but {found} ({at})")
            }
            DriftKind::BinaryMissing => write!(f, "{subject}: {at} is missing ({found}); {plan}"),
            DriftKind::BinaryStale => write!(
                f,
                "{subject}: {at} ({found}) is older than its sources ({plan}): rebuild with `mage build:all`"
            ),
        }
    }
}

/// "2h 5m" between two times, for stale binaries.
pub fn age_between(older: SystemTime, newer: SystemTime) -> String {
    let d = newer.duration_since(older).unwrap_or_default().as_secs();
    match d {
        0..60 => format!("{d}s"),
        60..3600 => format!("{}m", d / 60),
        3600..86_400 => format!("{}h {}m", d / 3600, d % 3600 / 60),
        _ => format!("{}d {}h", d / 86_400, d % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drift(
        kind: DriftKind,
        subject: &str,
        plan: &str,
        found: &str,
        file: &str,
        line: Option<usize>,
    ) -> String {
        Drift {
            kind,
            subject: subject.into(),
            plan_value: plan.into(),
            found_value: found.into(),
            file: file.into(),
            line,
        }
        .to_string()
    }

    #[test]
    fn every_kind_reads_as_one_line_with_both_values_and_the_file() {
        let cases = [
            drift(
                DriftKind::UnknownService,
                "version-service",
                "no such service",
                "http 8012, gRPC 9012",
                "cmd/version-service/main.go",
                Some(119),
            ),
            drift(
                DriftKind::RenamedService,
                "conversation-service",
                "session-service",
                "conversation-service",
                "cmd/conversation-service",
                None,
            ),
            drift(
                DriftKind::MissingService,
                "rtc-service",
                "http 8009, gRPC 9009",
                "no cmd/rtc-service",
                "cmd",
                None,
            ),
            drift(
                DriftKind::PortDiffers,
                "auth-service http port",
                "8001",
                "8101",
                "cmd/auth-service/main.go",
                Some(189),
            ),
            drift(
                DriftKind::PortBreaksRule,
                "zitadel.url",
                "8001-8099 is the services' HTTP range",
                "port 8090",
                "configs/config.yaml",
                Some(37),
            ),
            drift(
                DriftKind::Unconfigured,
                "metrics port 2112",
                "/metrics on 2112",
                "no Go code serves it",
                "configs/config.yaml",
                Some(66),
            ),
            drift(
                DriftKind::BinaryMissing,
                "auth-service",
                "run `mage build:all`",
                "not built",
                "bin/auth-service",
                None,
            ),
            drift(
                DriftKind::BinaryStale,
                "auth-service",
                "internal/auth/x.go is 2h newer",
                "built 3h ago",
                "bin/auth-service",
                None,
            ),
        ];
        let values = [
            ("not in the plan", "8012", "cmd/version-service/main.go:119"),
            (
                "session-service",
                "conversation-service",
                "cmd/conversation-service",
            ),
            ("8009", "no cmd/rtc-service", "cmd"),
            ("8001", "8101", "cmd/auth-service/main.go:189"),
            ("8001-8099", "8090", "configs/config.yaml:37"),
            ("2112", "no Go code", "configs/config.yaml:66"),
            ("mage build:all", "not built", "bin/auth-service"),
            ("2h newer", "built 3h ago", "bin/auth-service"),
        ];
        for (text, (plan, found, file)) in cases.iter().zip(values) {
            assert!(!text.contains('\n'), "{text}");
            for part in [plan, found, file] {
                assert!(text.contains(part), "{text:?} lacks {part:?}");
            }
        }
    }

    #[test]
    fn ages_read_in_the_largest_units() {
        let t = SystemTime::UNIX_EPOCH;
        assert_eq!(age_between(t, t + Duration::from_secs(42)), "42s");
        assert_eq!(age_between(t, t + Duration::from_secs(7500)), "2h 5m");
        assert_eq!(age_between(t, t + Duration::from_secs(200_000)), "2d 7h");
        assert_eq!(age_between(t + Duration::from_secs(5), t), "0s");
    }
}
