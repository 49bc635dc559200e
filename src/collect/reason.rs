//! Plain words for why a probe could not get an answer (refused, reset, timed out, ...).

use std::error::Error;
use std::io;
use std::time::Duration;

/// "timed out after 1s": the detail of a probe that hit its timeout.
pub(crate) fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}", humantime::format_duration(timeout))
}

/// Describes an I/O error the way a person would say it ("connection refused").
pub(crate) fn io_reason(err: &io::Error) -> String {
    use io::ErrorKind as K;
    let words = match err.kind() {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset",
        K::ConnectionAborted => "connection aborted",
        K::BrokenPipe => "connection closed",
        K::UnexpectedEof => "connection closed",
        K::NotConnected => "not connected",
        K::TimedOut => "timed out",
        K::AddrNotAvailable => "address not available",
        K::HostUnreachable => "host unreachable",
        K::NetworkUnreachable => "network unreachable",
        K::NetworkDown => "network down",
        K::PermissionDenied => "permission denied",
        _ => return err.to_string(),
    };
    words.to_string()
}

/// The wording of the first I/O error in `err`'s source chain, if there is one.
pub(crate) fn io_reason_in_chain(err: &(dyn Error + 'static)) -> Option<String> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io_reason(io));
        }
        current = e.source();
    }
    None
}

/// The innermost message of `err`'s source chain (usually the most specific one).
pub(crate) fn root_message(err: &(dyn Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// The first bytes of an unexpected answer, quoted and escaped for a one-line detail.
pub(crate) fn escape_prefix(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(32)];
    format!("\"{}\"", shown.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_written_in_humantime() {
        assert_eq!(timed_out(Duration::from_secs(1)), "timed out after 1s");
        assert_eq!(
            timed_out(Duration::from_millis(300)),
            "timed out after 300ms"
        );
    }

    #[test]
    fn io_errors_found_through_the_chain() {
        #[derive(Debug)]
        struct Wrapper(io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl Error for Wrapper {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Wrapper(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(
            io_reason_in_chain(&err).as_deref(),
            Some("connection refused")
        );
        assert_eq!(
            root_message(&err),
            io::Error::from(io::ErrorKind::ConnectionRefused).to_string()
        );
        let plain = io::Error::other("weird");
        assert_eq!(io_reason(&plain), "weird");
    }
}
