//! Prometheus' `histogram_quantile`: linear interpolation inside the bucket holding the rank.

/// The `q` quantile (0..=1) of cumulative buckets `(le, count)`, as Prometheus computes it;
/// `None` when it is undefined (no `+Inf` bucket, fewer than two buckets, no observations).
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let mut b: Vec<(f64, f64)> = buckets.to_vec();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    if b.len() < 2 || b.last().is_none_or(|l| l.0 != f64::INFINITY) {
        return None;
    }
    // Counts scraped at slightly different moments may dip; Prometheus flattens them.
    let mut max = f64::NEG_INFINITY;
    for bucket in &mut b {
        max = max.max(bucket.1);
        bucket.1 = max;
    }
    let observations = b[b.len() - 1].1;
    if observations.is_nan() || observations <= 0.0 {
        return None;
    }
    let mut rank = q * observations;
    let i = b.partition_point(|x| x.1 < rank);
    if i >= b.len() - 1 {
        return Some(b[b.len() - 2].0);
    }
    if i == 0 && b[0].0 <= 0.0 {
        return Some(b[0].0);
    }
    let (mut start, end, mut count) = (0.0, b[i].0, b[i].1);
    if i > 0 {
        start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    Some(start + (end - start) * (rank / count))
}

/// The per-bucket difference `now - then` (the window's observations); buckets matched by `le`.
/// A bucket that went down means the process restarted: its current count is the increase.
pub fn bucket_increase(now: &[(f64, f64)], then: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let reset = now
        .iter()
        .any(|(le, n)| then.iter().any(|(l, m)| l == le && m > n));
    now.iter()
        .map(|&(le, n)| {
            let before = if reset {
                0.0
            } else {
                then.iter().find(|(l, _)| *l == le).map_or(0.0, |b| b.1)
            };
            (le, n - before)
        })
        .collect()
}

/// Sums cumulative buckets of several series by `le` (the `sum by (le)` before a quantile).
pub fn sum_by_le<'a>(series: impl IntoIterator<Item = &'a [(f64, f64)]>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for buckets in series {
        for &(le, n) in buckets {
            match out.iter_mut().find(|b| b.0 == le) {
                Some(b) => b.1 += n,
                None => out.push((le, n)),
            }
        }
    }
    out.sort_by(|x, y| x.0.total_cmp(&y.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn interpolates_like_prometheus() {
        // 3 obs ≤ 0.1, 4 in (0.1, 1], 2 above 1.
        let b = [(0.1, 3.0), (1.0, 7.0), (INF, 9.0)];
        // rank 4.5 falls in (0.1, 1]: 0.1 + 0.9 × (4.5 − 3) / 4 = 0.4375.
        assert!(close(histogram_quantile(0.5, &b), 0.4375));
        // rank 1.8 in the first bucket, which starts at 0: 0.1 × 1.8 / 3 = 0.06.
        assert!(close(histogram_quantile(0.2, &b), 0.06));
        // rank 8.55 lands in +Inf: the highest finite bound.
        assert!(close(histogram_quantile(0.95, &b), 1.0));
        // Exactly on a bound: rank 7 = count of le=1 → 0.1 + 0.9 × 4/4 = 1.
        assert!(close(histogram_quantile(7.0 / 9.0, &b), 1.0));
        assert_eq!(histogram_quantile(1.5, &b), Some(INF));
        assert_eq!(histogram_quantile(-0.1, &b), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn default_buckets_p95_p99() {
        // client_golang DefBuckets, 100 requests: 60 ≤ 5ms, 30 in (5,10]ms, 8 in (10,25]ms, 2 in (25,50]ms.
        let b = [
            (0.005, 60.0),
            (0.01, 90.0),
            (0.025, 98.0),
            (0.05, 100.0),
            (0.1, 100.0),
            (INF, 100.0),
        ];
        // p50: rank 50 in first bucket: 0.005 × 50/60.
        assert!(close(histogram_quantile(0.5, &b), 0.005 * 50.0 / 60.0));
        // p95: rank 95 in (0.01, 0.025]: 0.01 + 0.015 × (95−90)/8 = 0.019375.
        assert!(close(histogram_quantile(0.95, &b), 0.019375));
        // p99: rank 99 in (0.025, 0.05]: 0.025 + 0.025 × (99−98)/2 = 0.0375.
        assert!(close(histogram_quantile(0.99, &b), 0.0375));
    }

    #[test]
    fn undefined_cases() {
        assert_eq!(
            histogram_quantile(0.5, &[(1.0, 3.0), (2.0, 4.0)]),
            None,
            "no +Inf"
        );
        assert_eq!(histogram_quantile(0.5, &[(INF, 4.0)]), None, "one bucket");
        assert_eq!(
            histogram_quantile(0.5, &[(1.0, 0.0), (INF, 0.0)]),
            None,
            "empty"
        );
        assert_eq!(
            histogram_quantile(f64::NAN, &[(1.0, 1.0), (INF, 1.0)]),
            None
        );
        // Non-monotonic counts are flattened: (1, 5), (2, 4→5), (+Inf, 5): p50 = 0 + 1 × 2.5/5.
        assert!(close(
            histogram_quantile(0.5, &[(1.0, 5.0), (2.0, 4.0), (INF, 5.0)]),
            0.5
        ));
    }

    #[test]
    fn increases_and_sums() {
        let then = [(0.1, 3.0), (INF, 5.0)];
        let now = [(0.1, 4.0), (INF, 9.0)];
        assert_eq!(bucket_increase(&now, &then), [(0.1, 1.0), (INF, 4.0)]);
        // Restarted: counts went down, the new counts are the increase.
        let restarted = [(0.1, 1.0), (INF, 2.0)];
        assert_eq!(bucket_increase(&restarted, &then), restarted);
        let a = [(0.1, 1.0), (INF, 2.0)];
        let b = [(0.1, 3.0), (INF, 3.0)];
        assert_eq!(sum_by_le([&a[..], &b[..]]), [(0.1, 4.0), (INF, 5.0)]);
    }
}
