//! Starting as `bin/<name>` (a link to anychat-stub) the way a real AnyChat service starts: the
//! name from argv[0], the ports from `SERVER.HTTP_PORT` / `SERVER.GRPC_PORT` /
//! `GATEWAY.HTTP_PORT`, and `--print-env` from `ANYCHAT_STUB_PRINT_ENV`. Flags given win.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// Environment variable naming the file `--print-env` writes (for links started with no flags).
pub const PRINT_ENV_VAR: &str = "ANYCHAT_STUB_PRINT_ENV";

/// `argv` with the flags the environment and argv[0] imply added, unless given already.
pub fn service_argv(argv: Vec<OsString>, env: impl Fn(&str) -> Option<String>) -> Vec<OsString> {
    let given = |flag: &str| {
        argv.iter().skip(1).any(|a| {
            a.to_str()
                .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
        })
    };
    let mut extra: Vec<OsString> = Vec::new();
    let program = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(OsStr::to_os_string);
    if !given("--name")
        && let Some(program) = program.filter(|p| p != "anychat-stub" && !p.is_empty())
    {
        extra.extend(["--name".into(), program]);
    }
    let http = env("SERVER.HTTP_PORT").or_else(|| env("GATEWAY.HTTP_PORT"));
    for (flag, value) in [
        ("--http-port", http),
        ("--grpc-port", env("SERVER.GRPC_PORT")),
        ("--print-env", env(PRINT_ENV_VAR)),
    ] {
        if let Some(value) = value.filter(|v| !v.is_empty())
            && !given(flag)
        {
            extra.extend([flag.into(), value.into()]);
        }
    }
    let mut out = argv;
    let at = out.len().min(1);
    out.splice(at..at, extra);
    out
}

/// Write this process's environment to `path` as one JSON object (names with dots included).
pub fn print_env(path: &Path) -> Result<(), String> {
    let env: std::collections::BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let json = serde_json::to_string_pretty(&env).map_err(|e| e.to_string())?;
    std::fs::write(path, json).map_err(|e| format!("--print-env {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<OsString> {
        items.iter().map(OsString::from).collect()
    }

    fn strings(v: Vec<OsString>) -> Vec<String> {
        v.into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_link_named_like_a_service_takes_name_and_ports_from_its_environment() {
        let env = |k: &str| match k {
            "SERVER.HTTP_PORT" => Some("18001".to_string()),
            "SERVER.GRPC_PORT" => Some("19001".to_string()),
            PRINT_ENV_VAR => Some("/tmp/env.json".to_string()),
            _ => None,
        };
        assert_eq!(
            strings(service_argv(argv(&["/x/bin/auth-service"]), env)),
            [
                "/x/bin/auth-service",
                "--name",
                "auth-service",
                "--http-port",
                "18001",
                "--grpc-port",
                "19001",
                "--print-env",
                "/tmp/env.json"
            ]
        );
    }

    #[test]
    fn the_gateway_port_and_given_flags() {
        let env = |k: &str| (k == "GATEWAY.HTTP_PORT").then(|| "18080".to_string());
        assert_eq!(
            strings(service_argv(argv(&["bin/gateway-service"]), env)),
            [
                "bin/gateway-service",
                "--name",
                "gateway-service",
                "--http-port",
                "18080"
            ]
        );
        let env = |k: &str| (k == "SERVER.HTTP_PORT").then(|| "1".to_string());
        assert_eq!(
            strings(service_argv(
                argv(&["anychat-stub", "--name=x", "--http-port", "2"]),
                env
            )),
            ["anychat-stub", "--name=x", "--http-port", "2"]
        );
        assert!(service_argv(Vec::new(), |_| None).is_empty());
    }
}
