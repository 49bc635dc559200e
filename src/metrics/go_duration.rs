//! Go's `time.Duration` strings (`"220µs"`, `"1m2s"`, `"1h2m3.5s"`) parsed into `Duration`.

use std::time::Duration;

/// Parses a non-negative Go duration string; `None` for anything Go would reject (or negative).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(digits);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos_per = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos_per;
        rest = tail;
    }
    // Go's limit is about 292 years; beyond it Go reports an overflow.
    if !total.is_finite() || total > i64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_strings() {
        let ms = Duration::from_millis;
        let cases = [
            ("220µs", Some(Duration::from_micros(220))),
            ("220μs", Some(Duration::from_micros(220))),
            ("7us", Some(Duration::from_micros(7))),
            ("1.234ms", Some(Duration::from_micros(1234))),
            ("850ns", Some(Duration::from_nanos(850))),
            ("24s", Some(ms(24_000))),
            ("1m2s", Some(ms(62_000))),
            ("1h2m3.5s", Some(ms(3_723_500))),
            ("0", Some(Duration::ZERO)),
            ("0s", Some(Duration::ZERO)),
            ("2h", Some(ms(7_200_000))),
            ("", None),
            ("12", None),
            ("-1s", None),
            ("1x", None),
            ("s", None),
            ("1..2s", None),
            ("1.2.3s", None),
            ("9999999999h", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), want, "{text:?}");
        }
    }
}
