//! A minimal Redis: parses RESP arrays and inline commands, answers PING (and ECHO, QUIT),
//! rejects everything else, and keeps the connection open for more.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::shared::{ConnGuard, Shared};

/// A client sending more than this without finishing a command is dropped.
const MAX_PENDING_BYTES: usize = 64 * 1024;

/// Outcome of looking at the start of the input buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A full command (arguments) and how many bytes it used.
    Command(Vec<Vec<u8>>, usize),
    /// Not enough bytes yet.
    Incomplete,
    /// Not RESP: the connection is closed, as Redis does.
    Invalid,
}

/// Parses one command: `*N\r\n$len\r\narg\r\n...` or an inline line `PING\r\n`.
pub fn parse_command(buf: &[u8]) -> Parsed {
    if buf.first() == Some(&b'*') {
        parse_array(buf)
    } else {
        match find_line(buf, 0) {
            None => Parsed::Incomplete,
            Some((line, next)) => {
                let args = line
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|word| !word.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect();
                Parsed::Command(args, next)
            }
        }
    }
}

fn parse_array(buf: &[u8]) -> Parsed {
    let Some((header, mut at)) = find_line(buf, 1) else {
        return Parsed::Incomplete;
    };
    let Some(count) = parse_len(header) else {
        return Parsed::Invalid;
    };
    let mut args = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        if at >= buf.len() {
            return Parsed::Incomplete;
        }
        if buf[at] != b'$' {
            return Parsed::Invalid;
        }
        let Some((len_text, data_at)) = find_line(buf, at + 1) else {
            return Parsed::Incomplete;
        };
        let Some(len) = parse_len(len_text) else {
            return Parsed::Invalid;
        };
        let end = data_at + len;
        if buf.len() < end + 2 {
            return Parsed::Incomplete;
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Parsed::Invalid;
        }
        args.push(buf[data_at..end].to_vec());
        at = end + 2;
    }
    Parsed::Command(args, at)
}

/// The line starting at `from` (without CR LF) and the index after its LF.
fn find_line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(from..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = &rest[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, from + lf + 1))
}

fn parse_len(text: &[u8]) -> Option<usize> {
    let len: usize = std::str::from_utf8(text).ok()?.parse().ok()?;
    (len <= MAX_PENDING_BYTES).then_some(len)
}

/// The reply to one command and whether to close afterwards. Empty commands get no reply.
pub fn reply(args: &[Vec<u8>]) -> (Vec<u8>, bool) {
    let Some(name) = args.first() else {
        return (Vec::new(), false);
    };
    let bulk = |data: &[u8]| {
        let mut out = format!("${}\r\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        out
    };
    match (name.to_ascii_uppercase().as_slice(), args.get(1)) {
        (b"PING", None) => (b"+PONG\r\n".to_vec(), false),
        (b"PING" | b"ECHO", Some(arg)) => (bulk(arg), false),
        (b"QUIT", _) => (b"+OK\r\n".to_vec(), true),
        _ => (b"-ERR unknown command\r\n".to_vec(), false),
    }
}

/// Accepts connections forever, one task per connection.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let open = ConnGuard::new(Arc::clone(&shared));
        tokio::spawn(async move {
            let _open = open;
            // I/O errors just end this client's connection.
            let _ = converse(stream).await;
        });
    }
}

async fn converse(mut stream: TcpStream) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..read]);
        let mut out = Vec::new();
        let mut close = false;
        while !close {
            match parse_command(&buf) {
                Parsed::Command(args, used) => {
                    buf.drain(..used);
                    let (answer, quit) = reply(&args);
                    out.extend_from_slice(&answer);
                    close = quit;
                }
                Parsed::Incomplete if buf.len() > MAX_PENDING_BYTES => return Ok(()),
                Parsed::Incomplete => break,
                Parsed::Invalid => close = true,
            }
        }
        stream.write_all(&out).await?;
        if close {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(input: &[u8]) -> Vec<u8> {
        let mut buf = input.to_vec();
        let mut out = Vec::new();
        while let Parsed::Command(args, used) = parse_command(&buf) {
            buf.drain(..used);
            out.extend(reply(&args).0);
        }
        out
    }

    #[test]
    fn ping_in_both_encodings_answers_pong() {
        assert_eq!(answer(b"*1\r\n$4\r\nPING\r\n"), b"+PONG\r\n");
        assert_eq!(answer(b"PING\r\n"), b"+PONG\r\n");
        assert_eq!(answer(b"ping\n"), b"+PONG\r\n");
        assert_eq!(
            answer(b"PING\r\n*1\r\n$4\r\nping\r\n"),
            b"+PONG\r\n+PONG\r\n"
        );
    }

    #[test]
    fn other_commands_are_answered_like_redis() {
        assert_eq!(answer(b"PING hello\r\n"), b"$5\r\nhello\r\n");
        assert_eq!(answer(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"), b"$2\r\nhi\r\n");
        assert_eq!(answer(b"FOOBARX\r\n"), b"-ERR unknown command\r\n");
        assert_eq!(answer(b"\r\n"), b"", "empty inline lines are ignored");
        assert_eq!(reply(&[b"quit".to_vec()]), (b"+OK\r\n".to_vec(), true));
    }

    #[test]
    fn partial_and_broken_input() {
        for partial in [
            &b"*1\r\n$4\r\nPI"[..],
            b"*1\r\n",
            b"*1",
            b"PING",
            b"*1\r\n$4\r\nPING\r",
        ] {
            assert_eq!(parse_command(partial), Parsed::Incomplete, "{partial:?}");
        }
        for broken in [
            &b"*x\r\n"[..],
            b"*1\r\n+PING\r\n",
            b"*1\r\n$4\r\nPINGXX\r\n",
        ] {
            assert_eq!(parse_command(broken), Parsed::Invalid, "{broken:?}");
        }
        assert_eq!(parse_command(b"*1\r\n$999999999\r\n"), Parsed::Invalid);
    }
}
