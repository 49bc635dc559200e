//! Command line of `anychat-stub`: which AnyChat service to impersonate and how it misbehaves.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// A stand-in for any AnyChat Go service: health endpoints, gRPC health, Prometheus metrics,
/// infra protocol greetings and zap-style JSON logs, with switches to make it fail.
#[derive(Debug, Clone, Parser)]
#[command(name = "anychat-stub", version)]
pub struct Args {
    /// Service name to impersonate, e.g. auth-service.
    #[arg(long)]
    pub name: String,

    /// HTTP port answering /health and the infra health paths (repeatable).
    #[arg(long = "http-port", value_name = "N")]
    pub http_ports: Vec<u16>,

    /// gRPC port serving grpc.health.v1.Health (unless --no-grpc-health).
    #[arg(long, value_name = "N")]
    pub grpc_port: Option<u16>,

    /// Serve gRPC without the health service, so Health/Check answers UNIMPLEMENTED.
    #[arg(long)]
    pub no_grpc_health: bool,

    /// Initial gRPC health status of "" and of the service name.
    #[arg(long, value_enum, default_value_t = GrpcHealthStatus::Serving)]
    pub grpc_health_status: GrpcHealthStatus,

    /// Port serving GET /metrics in the Prometheus text format 0.0.4.
    #[arg(long, value_name = "N")]
    pub metrics_port: Option<u16>,

    /// Port of a minimal Redis answering PING.
    #[arg(long, value_name = "N")]
    pub redis_port: Option<u16>,

    /// Port of a minimal PostgreSQL answering an SSLRequest with `N`.
    #[arg(long, value_name = "N")]
    pub postgres_port: Option<u16>,

    /// Plain TCP port that accepts and holds connections (repeatable).
    #[arg(long = "tcp-port", value_name = "N")]
    pub tcp_ports: Vec<u16>,

    /// Written to every new connection on the --tcp-port listeners; `\r`, `\n`, `\t`, `\\`
    /// escapes are understood (e.g. 'INFO {}\r\n' for a NATS-like greeting).
    #[arg(long, value_name = "STRING")]
    pub tcp_banner: Option<String>,

    /// Address every listener binds to.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Version reported by /health and in the logs.
    #[arg(long, value_name = "V", default_value = "0.1.0-stub")]
    pub version_string: String,

    /// After this long, /health answers 503 and gRPC health turns NOT_SERVING.
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub fail_health_after: Option<Duration>,

    /// After this long, log a fatal line and exit with --crash-code.
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub crash_after: Option<Duration>,

    /// Exit code used by --crash-after.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub crash_code: i32,

    /// Delay every HTTP, gRPC and metrics answer by this long.
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub slow: Option<Duration>,

    /// Accept connections on every port and never answer.
    #[arg(long)]
    pub hang: bool,

    /// Interval between simulated request log lines; "0s" disables them.
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration, default_value = "1s")]
    pub log_interval: Duration,

    /// Log SIGTERM and keep running (SIGINT still exits).
    #[arg(long)]
    pub ignore_sigterm: bool,

    /// Do not log answered HTTP /health and gRPC health checks.
    #[arg(long)]
    pub quiet_health: bool,

    /// Write the environment this process got to FILE as a JSON object (also set by
    /// $ANYCHAT_STUB_PRINT_ENV, for links like bin/auth-service started without flags).
    #[arg(long, value_name = "FILE")]
    pub print_env: Option<std::path::PathBuf>,
    /// Connect to NATS at HOST:PORT, subscribe and publish on notification.<domain>.* subjects
    /// (reconnects quietly when it is away).
    #[arg(long, value_name = "HOST:PORT")]
    pub nats: Option<String>,

    /// Time between two NATS publishes.
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration, default_value = "500ms")]
    pub nats_every: Duration,
}

/// Status the gRPC health service reports until --fail-health-after fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrpcHealthStatus {
    Serving,
    NotServing,
    Unknown,
}

impl GrpcHealthStatus {
    /// The tonic-health equivalent.
    pub fn to_serving_status(self) -> tonic_health::ServingStatus {
        match self {
            Self::Serving => tonic_health::ServingStatus::Serving,
            Self::NotServing => tonic_health::ServingStatus::NotServing,
            Self::Unknown => tonic_health::ServingStatus::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_command_line() {
        let args = Args::try_parse_from([
            "anychat-stub",
            "--name",
            "auth-service",
            "--http-port",
            "8001",
            "--http-port",
            "8002",
            "--grpc-port",
            "9001",
            "--grpc-health-status",
            "not-serving",
            "--fail-health-after",
            "10s",
            "--log-interval",
            "0s",
            "--tcp-port",
            "4222",
        ])
        .expect("valid command line");
        assert_eq!(args.http_ports, vec![8001, 8002]);
        assert_eq!(args.grpc_port, Some(9001));
        assert_eq!(args.grpc_health_status, GrpcHealthStatus::NotServing);
        assert_eq!(args.fail_health_after, Some(Duration::from_secs(10)));
        assert_eq!(args.log_interval, Duration::ZERO);
        assert_eq!(args.bind.to_string(), "127.0.0.1");
        assert_eq!(args.version_string, "0.1.0-stub");
        assert_eq!(args.crash_code, 1);
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            &["anychat-stub"][..],
            &["anychat-stub", "--name", "x", "--http-port", "70000"],
            &["anychat-stub", "--name", "x", "--slow", "soon"],
            &["anychat-stub", "--name", "x", "--grpc-health-status", "ok"],
            &["anychat-stub", "--name", "x", "--bind", "localhost:1"],
        ] {
            assert!(Args::try_parse_from(bad).is_err(), "{bad:?} should fail");
        }
    }
}
