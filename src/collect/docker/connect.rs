//! Reaching the engine: `DOCKER_HOST` (unix socket by default, tcp/http), the API version
//! negotiated down to the engine's, and every failure turned into an [`EngineProblem`].

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::facts::EngineProblem;

/// The socket used when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// bollard's own per-request limit; ours (shorter, per call) are applied around each call,
/// and a stop may legitimately take its whole grace period.
const TRANSPORT_TIMEOUT_SECS: u64 = 3600;

/// Where the engine is, from `DOCKER_HOST` (as docker reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineAddress {
    Unix(PathBuf),
    /// `tcp://host:port` or `http://host:port`, kept as written.
    Tcp(String),
    /// A scheme this build cannot use (`ssh://`, `https://`, `npipe://`, garbage).
    Unsupported(String),
}

impl EngineAddress {
    /// `host` as `DOCKER_HOST` would give it; None means the default socket.
    pub fn parse(host: Option<&str>) -> EngineAddress {
        let host = host
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or(DEFAULT_HOST);
        if let Some(path) = host.strip_prefix("unix://") {
            EngineAddress::Unix(PathBuf::from(path))
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            EngineAddress::Tcp(host.to_string())
        } else {
            EngineAddress::Unsupported(host.to_string())
        }
    }

    /// As written, for messages.
    pub fn display(&self) -> String {
        match self {
            EngineAddress::Unix(path) => format!("unix://{}", path.display()),
            EngineAddress::Tcp(host) | EngineAddress::Unsupported(host) => host.clone(),
        }
    }
}

/// A connected client and what the engine said about itself.
#[derive(Debug, Clone)]
pub struct Connection {
    pub docker: Docker,
    pub engine_version: String,
    /// The API version in use: the engine's when it is older than ours, else ours.
    pub api_version: String,
}

/// Connects, negotiates the API version and asks the engine's version, each step within
/// `timeout`.
pub async fn connect(
    address: &EngineAddress,
    timeout: Duration,
) -> Result<Connection, EngineProblem> {
    let docker = match address {
        EngineAddress::Unix(path) => {
            // A clearer answer than the transport's for the two common cases.
            match std::fs::metadata(path) {
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    return Err(EngineProblem::NoSocket {
                        socket: path.clone(),
                    });
                }
                _ => {}
            }
            let uri = format!("unix://{}", path.display());
            Docker::connect_with_unix(&uri, TRANSPORT_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        EngineAddress::Tcp(host) => {
            Docker::connect_with_http(host, TRANSPORT_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        EngineAddress::Unsupported(host) => {
            return Err(EngineProblem::UnsupportedHost { host: host.clone() });
        }
    }
    .map_err(|err| classify(&err, address, timeout))?;
    let docker = within(timeout, address, docker.negotiate_version()).await?;
    let version = within(timeout, address, docker.version()).await?;
    let api = docker.client_version();
    Ok(Connection {
        engine_version: version.version.unwrap_or_else(|| "unknown".into()),
        api_version: format!("{}.{}", api.major_version, api.minor_version),
        docker,
    })
}

/// Runs one engine request with a time limit, the failure classified.
pub async fn within<T>(
    timeout: Duration,
    address: &EngineAddress,
    request: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, EngineProblem> {
    match tokio::time::timeout(timeout, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(classify(&err, address, timeout)),
        Err(_) => Err(EngineProblem::NotAnswering {
            address: address.display(),
            after: timeout,
        }),
    }
}

/// What a bollard error means for the user.
pub fn classify(
    err: &bollard::errors::Error,
    address: &EngineAddress,
    timeout: Duration,
) -> EngineProblem {
    use bollard::errors::Error;
    match err {
        Error::RequestTimeoutError => EngineProblem::NotAnswering {
            address: address.display(),
            after: timeout,
        },
        Error::DockerResponseServerError { message, .. } if message.contains("is too new") => {
            EngineProblem::ApiTooNew {
                message: message.clone(),
            }
        }
        Error::DockerResponseServerError {
            status_code,
            message,
        } => EngineProblem::Other {
            message: format!("HTTP {status_code}: {message}"),
        },
        _ => match (io_kind(err), address) {
            (Some(io::ErrorKind::NotFound), EngineAddress::Unix(path)) => EngineProblem::NoSocket {
                socket: path.clone(),
            },
            (Some(io::ErrorKind::PermissionDenied), EngineAddress::Unix(path)) => {
                EngineProblem::PermissionDenied {
                    socket: path.clone(),
                    group: socket_group(path),
                }
            }
            (Some(io::ErrorKind::ConnectionRefused), _) => EngineProblem::Refused {
                address: address.display(),
            },
            (Some(io::ErrorKind::TimedOut), _) => EngineProblem::NotAnswering {
                address: address.display(),
                after: timeout,
            },
            _ => EngineProblem::Other {
                message: chain(err),
            },
        },
    }
}

/// The io::ErrorKind of the error or of one of its causes (bollard's transparent variants
/// hide the io::Error itself from `source()`).
fn io_kind(err: &bollard::errors::Error) -> Option<io::ErrorKind> {
    use bollard::errors::Error;
    match err {
        Error::IOError { err } => Some(err.kind()),
        Error::HyperLegacyError { err } => chain_kind(err),
        Error::HyperResponseError { err } => chain_kind(err),
        other => chain_kind(other),
    }
}

fn chain_kind(err: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        cur = e.source();
    }
    None
}

/// The error and its causes, joined.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut words = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !words.contains(&text) {
            words.push_str(": ");
            words.push_str(&text);
        }
        cur = e.source();
    }
    words
}

/// The name of the group owning `socket` (from /etc/group).
fn socket_group(socket: &Path) -> Option<String> {
    let gid = std::fs::metadata(socket).ok()?.gid();
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    group_name(&groups, gid)
}

/// The name of group `gid` in the text of an /etc/group file.
pub fn group_name(etc_group: &str, gid: u32) -> Option<String> {
    etc_group.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == gid && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_forms() {
        assert_eq!(
            EngineAddress::parse(None),
            EngineAddress::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            EngineAddress::parse(Some("unix:///tmp/d.sock")),
            EngineAddress::Unix("/tmp/d.sock".into())
        );
        assert_eq!(
            EngineAddress::parse(Some("tcp://10.0.0.2:2375")),
            EngineAddress::Tcp("tcp://10.0.0.2:2375".into())
        );
        assert_eq!(
            EngineAddress::parse(Some("ssh://me@box")),
            EngineAddress::Unsupported("ssh://me@box".into())
        );
        assert_eq!(EngineAddress::parse(Some("  ")), EngineAddress::parse(None));
    }

    #[test]
    fn group_names_come_from_etc_group() {
        let etc = "root:x:0:\nbroken\ndocker:x:998:alice,bob\n:x:5:\n";
        assert_eq!(group_name(etc, 998), Some("docker".into()));
        assert_eq!(group_name(etc, 0), Some("root".into()));
        assert_eq!(group_name(etc, 5), None);
        assert_eq!(group_name(etc, 7), None);
    }

    #[test]
    fn io_errors_become_words_with_a_fix() {
        let unix = EngineAddress::Unix("/nonexistent/docker.sock".into());
        let t = Duration::from_secs(2);
        let io = |kind| bollard::errors::Error::IOError {
            err: io::Error::from(kind),
        };
        let denied = classify(&io(io::ErrorKind::PermissionDenied), &unix, t);
        assert!(
            matches!(denied, EngineProblem::PermissionDenied { .. }),
            "{denied:?}"
        );
        assert!(
            denied.fix().is_some_and(|f| f.contains("group")),
            "{denied:?}"
        );
        let refused = classify(&io(io::ErrorKind::ConnectionRefused), &unix, t);
        assert_eq!(
            refused,
            EngineProblem::Refused {
                address: "unix:///nonexistent/docker.sock".into()
            }
        );
        let missing = classify(&io(io::ErrorKind::NotFound), &unix, t);
        assert!(missing.words().contains("does not exist"), "{missing:?}");
        let slow = classify(&bollard::errors::Error::RequestTimeoutError, &unix, t);
        assert!(slow.words().contains("not answering"), "{slow:?}");
        let too_new = bollard::errors::Error::DockerResponseServerError {
            status_code: 400,
            message: "client version 1.53 is too new. Maximum supported API version is 1.41".into(),
        };
        assert!(matches!(
            classify(&too_new, &unix, t),
            EngineProblem::ApiTooNew { .. }
        ));
    }
}
