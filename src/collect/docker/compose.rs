//! `docker-compose -f FILE up -d SERVICE` (or `docker compose ...`, whichever exists) for a
//! missing container: finding the program, building the command line, running it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::facts::ComposeUp;

/// Lines of output kept for the outcome of a failed `up`.
const OUTCOME_LINES: usize = 5;

/// The compose command line for creating `service` from `file` (in `project` when given).
pub fn compose_up(
    program: &[String],
    file: &Path,
    project: Option<&str>,
    service: &str,
) -> ComposeUp {
    let mut argv = program.to_vec();
    argv.push("-f".into());
    argv.push(file.display().to_string());
    if let Some(project) = project {
        argv.push("-p".into());
        argv.push(project.to_string());
    }
    argv.extend(["up", "-d", service].map(String::from));
    ComposeUp { argv }
}

/// `["docker-compose"]` if it runs, else `["docker", "compose"]` if that runs, else None.
pub async fn find_program(timeout: Duration) -> Option<Vec<String>> {
    for program in [vec!["docker-compose"], vec!["docker", "compose"]] {
        let mut cmd = Command::new(program[0]);
        cmd.args(&program[1..])
            .arg("version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let Ok(mut child) = cmd.spawn() else { continue };
        if let Ok(Ok(status)) = tokio::time::timeout(timeout, child.wait()).await
            && status.success()
        {
            return Some(program.into_iter().map(String::from).collect());
        }
    }
    None
}

/// Runs `up` (killed after `timeout`); Err has the exit status and the last lines it printed.
pub async fn run(up: &ComposeUp, timeout: Duration) -> Result<(), String> {
    let Some((program, args)) = up.argv.split_first() else {
        return Err("empty compose command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|err| format!("{program}: {err}"))?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => return Err(format!("{program}: {err}")),
        Err(_) => {
            return Err(format!(
                "{} gave no result in {}",
                up.display(),
                humantime::format_duration(timeout)
            ));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(OUTCOME_LINES)..].join(" / ");
    Err(format!(
        "{} failed ({}): {tail}",
        up.display(),
        output.status
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let v1 = compose_up(
            &["docker-compose".into()],
            Path::new("deployments/docker-compose.yml"),
            None,
            "redis",
        );
        assert_eq!(
            v1.display(),
            "docker-compose -f deployments/docker-compose.yml up -d redis"
        );
        let v2 = compose_up(
            &["docker".into(), "compose".into()],
            Path::new("/c.yml"),
            Some("deployments"),
            "nats",
        );
        assert_eq!(
            v2.argv,
            [
                "docker",
                "compose",
                "-f",
                "/c.yml",
                "-p",
                "deployments",
                "up",
                "-d",
                "nats"
            ]
        );
    }

    #[tokio::test]
    async fn failures_say_status_and_last_lines() {
        let up = ComposeUp {
            argv: ["sh", "-c", "echo one; echo two >&2; exit 4"]
                .map(String::from)
                .to_vec(),
        };
        let err = run(&up, Duration::from_secs(10))
            .await
            .expect_err("exit 4 fails");
        assert!(
            err.contains("exit status: 4") && err.contains("two") && err.contains("one"),
            "{err}"
        );
        let missing = ComposeUp {
            argv: vec!["/nonexistent/compose".into()],
        };
        assert!(run(&missing, Duration::from_secs(10)).await.is_err());
        let ok = ComposeUp {
            argv: vec!["true".into()],
        };
        assert_eq!(run(&ok, Duration::from_secs(10)).await, Ok(()));
    }
}
