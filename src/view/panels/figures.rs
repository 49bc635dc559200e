//! Short number formats for the metrics, explorer and NATS panels; a value that does not fit
//! its column is replaced whole by `…`, never cut.

use std::time::Duration;

/// `s` right-aligned in `width` columns, or `…` (padded) when it does not fit.
pub fn fit(s: &str, width: usize) -> String {
    let len = s.chars().count();
    if len <= width {
        format!("{s:>width$}")
    } else if width == 0 {
        String::new()
    } else {
        format!("{:>width$}", "…")
    }
}

/// `s` left-aligned in `width` columns, or its first `width - 1` characters and `…` (names, not numbers).
pub fn fit_left(s: &str, width: usize) -> String {
    let len = s.chars().count();
    if len <= width {
        format!("{s:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        let cut: String = s.chars().take(width - 1).collect();
        format!("{cut}…")
    }
}

/// A count or rate in 4 significant characters: `0`, `0.25`, `12.3`, `845`, `1.2k`, `3.4M`.
pub fn amount(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = x.abs();
    let (v, suffix) = match a {
        _ if a >= 1e9 => (x / 1e9, "G"),
        _ if a >= 1e6 => (x / 1e6, "M"),
        _ if a >= 1e4 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    let body = if v == v.trunc() || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    format!("{body}{suffix}")
}

/// `0.5%`, `12%`.
pub fn percent(x: f64) -> String {
    if x >= 10.0 || x == 0.0 {
        format!("{x:.0}%")
    } else {
        format!("{x:.1}%")
    }
}

/// Seconds as a latency: `850µs`, `4.2ms`, `120ms`, `1.5s`.
pub fn seconds(x: f64) -> String {
    if !x.is_finite() || x < 0.0 {
        return amount(x);
    }
    let d = Duration::from_secs_f64(x.min(1e9));
    if d < Duration::from_millis(1) {
        format!("{}µs", d.as_micros())
    } else {
        crate::view::format::latency(d)
    }
}

/// Bytes in 1024 steps: `512B`, `14.2K`, `13.0M`, `1.2G`.
pub fn bytes(x: f64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = x;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0}B")
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

/// Block characters for the newest `width` values (gaps, `NaN`, as spaces), scaled from zero to the largest.
pub fn spark(values: impl ExactSizeIterator<Item = f64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = values.len().saturating_sub(width);
    let values: Vec<f64> = values.skip(skip).collect();
    let max = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let line: String = values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if max <= 0.0 {
                BARS[0]
            } else {
                BARS[((v.max(0.0) / max * 7.0).round() as usize).min(7)]
            }
        })
        .collect();
    format!("{line:<width$}")
}

/// A line of the `parts` that fit whole in `width` columns, in order; a part that does not fit
/// is left out (never cut), and later, shorter parts may still fit.
pub fn whole_parts(
    parts: Vec<Vec<ratatui::text::Span<'static>>>,
    width: usize,
) -> ratatui::text::Line<'static> {
    let mut used = 0;
    let mut spans = Vec::new();
    for part in parts {
        let w: usize = part.iter().map(|s| s.width()).sum();
        if used + w <= width {
            used += w;
            spans.extend(part);
        }
    }
    ratatui::text::Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_elides_whole_values() {
        assert_eq!(fit("12.3", 6), "  12.3");
        assert_eq!(fit("123456789", 5), "    …");
        assert_eq!(fit_left("auth-service", 6), "auth-…");
        assert_eq!(amount(0.0), "0");
        assert_eq!(amount(0.25), "0.25");
        assert_eq!(amount(12.34), "12.3");
        assert_eq!(amount(845.0), "845");
        assert_eq!(amount(12_345.0), "12.3k");
        assert_eq!(amount(3_400_000.0), "3.40M");
        assert_eq!(percent(0.5), "0.5%");
        assert_eq!(percent(13.33), "13%");
        assert_eq!(seconds(0.00085), "850µs");
        assert_eq!(seconds(0.0042), "4.2ms");
        assert_eq!(seconds(1.5), "1.5s");
        assert_eq!(bytes(13_668_352.0), "13.0M");
        assert_eq!(bytes(512.0), "512B");
        assert_eq!(spark([0.0, 1.0, f64::NAN, 2.0].into_iter(), 5), "▁▅ █ ");
    }
}
