//! A strict check of one exposition line, so that lines `prometheus-parse` would skip or
//! misread are counted and named instead of vanishing.

/// What one line of a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineVerdict {
    /// Blank.
    Skip,
    /// `# HELP`, `# TYPE` or any other comment.
    Comment,
    /// A well-formed sample line.
    Sample,
    /// A malformed sample line, and what is wrong with it.
    Bad(&'static str),
}

/// Classifies `line` (a trailing `\r` is tolerated).
pub fn check_line(line: &str) -> LineVerdict {
    let line = line.strip_suffix('\r').unwrap_or(line).trim();
    if line.is_empty() {
        return LineVerdict::Skip;
    }
    if line.starts_with('#') {
        return LineVerdict::Comment;
    }
    match sample(line.as_bytes()) {
        Ok(()) => LineVerdict::Sample,
        Err(reason) => LineVerdict::Bad(reason),
    }
}

fn sample(b: &[u8]) -> Result<(), &'static str> {
    let mut i = name(b, 0, true).ok_or("bad metric name")?;
    if b.get(i) == Some(&b'{') {
        i = labels(b, i + 1).ok_or("bad label set")?;
    }
    let rest = std::str::from_utf8(&b[i..]).map_err(|_| "bad value")?;
    if !rest.starts_with([' ', '\t']) {
        return Err("no value");
    }
    let mut tokens = rest.split_ascii_whitespace();
    let value = tokens.next().ok_or("no value")?;
    if go_float(value).is_none() {
        return Err("bad value");
    }
    if let Some(ts) = tokens.next()
        && ts.parse::<i64>().is_err()
    {
        return Err("bad timestamp");
    }
    if tokens.next().is_some() {
        return Err("extra tokens");
    }
    Ok(())
}

/// End of a metric (`colons`) or label name starting at `i`.
fn name(b: &[u8], i: usize, colons: bool) -> Option<usize> {
    let ok_first = |c: u8| c.is_ascii_alphabetic() || c == b'_' || (colons && c == b':');
    if !ok_first(*b.get(i)?) {
        return None;
    }
    let len = b[i..]
        .iter()
        .take_while(|&&c| ok_first(c) || c.is_ascii_digit())
        .count();
    Some(i + len)
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// Index just after the `}` closing a label set whose `{` ends before `i`.
fn labels(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = skip_blanks(b, i);
        if b.get(i) == Some(&b'}') {
            return Some(i + 1);
        }
        i = skip_blanks(b, name(b, i, false)?);
        if b.get(i) != Some(&b'=') {
            return None;
        }
        i = skip_blanks(b, i + 1);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        loop {
            match b.get(i)? {
                b'\\' => i += 2,
                b'"' => break,
                b'\n' => return None,
                _ => i += 1,
            }
        }
        i = skip_blanks(b, i + 1);
        match b.get(i)? {
            b',' => i += 1,
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Go's `strconv.ParseFloat` for the forms exposition uses: decimals, exponents, `NaN`, `±Inf`.
pub fn go_float(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => return Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => return Some(f64::INFINITY),
        "-Inf" | "-inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    // Rust also takes "infinity" and "nan" in any case; Go's text format does not.
    if s.bytes()
        .any(|c| c.is_ascii_alphabetic() && c != b'e' && c != b'E')
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_lines() {
        use LineVerdict::*;
        let cases = [
            ("", Skip),
            ("   \r", Skip),
            ("# HELP x y", Comment),
            ("x 1", Sample),
            ("x_total{a=\"b\",c=\"d\"} 1.5e+07 1795628711225", Sample),
            ("x{a=\"say \\\"hi\\\"\",} NaN", Sample),
            ("x{} 1", Sample),
            ("ns:rule 1\r", Sample),
            ("x{a=b} 1", Bad("bad label set")),
            ("x{a=\"unterminated} 1", Bad("bad label set")),
            ("1bad 1", Bad("bad metric name")),
            ("x 1 2 3", Bad("extra tokens")),
            ("x 1.2.3", Bad("bad value")),
            ("x 0x1F", Bad("bad value")),
            ("x 1,5", Bad("bad value")),
            ("x infinity", Bad("bad value")),
            ("x 1 soon", Bad("bad timestamp")),
            ("x", Bad("no value")),
            ("x{quantile=\"0.", Bad("bad label set")),
        ];
        for (line, want) in cases {
            assert_eq!(check_line(line), want, "{line:?}");
        }
    }

    #[test]
    fn go_floats() {
        assert_eq!(go_float("+Inf"), Some(f64::INFINITY));
        assert!(go_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(go_float("1.4220784e+07"), Some(14_220_784.0));
        assert_eq!(go_float("abc"), None);
    }
}
