//! Fixed-length histories of the watched values, one per value, oldest first.

use std::collections::VecDeque;

/// Samples of history kept per watched series.
pub const HISTORY_LEN: usize = 120;

/// The six values the metrics panel shows per service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Watched {
    /// Requests per second.
    RequestRate,
    /// Failed requests as a percentage of all requests.
    ErrorRate,
    /// 95th percentile latency in seconds, over the window.
    P95,
    Goroutines,
    /// Resident memory in bytes.
    Rss,
    /// CPU in percent of one core.
    Cpu,
}

impl Watched {
    /// All six, in panel order.
    pub const ALL: [Watched; 6] = [
        Watched::RequestRate,
        Watched::ErrorRate,
        Watched::P95,
        Watched::Goroutines,
        Watched::Rss,
        Watched::Cpu,
    ];

    /// Column title.
    pub fn title(self) -> &'static str {
        match self {
            Watched::RequestRate => "req/s",
            Watched::ErrorRate => "err%",
            Watched::P95 => "p95",
            Watched::Goroutines => "gorout",
            Watched::Rss => "rss",
            Watched::Cpu => "cpu",
        }
    }
}

/// Up to [`HISTORY_LEN`] values, oldest first; `NaN` marks a sample with no value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History(VecDeque<f64>);

impl History {
    /// Appends `v` (`None` as a gap), dropping the oldest past the length.
    pub fn push(&mut self, v: Option<f64>) {
        if self.0.len() == HISTORY_LEN {
            self.0.pop_front();
        }
        self.0.push_back(v.unwrap_or(f64::NAN));
    }

    /// The newest value, unless it was a gap.
    pub fn last(&self) -> Option<f64> {
        self.0.back().copied().filter(|v| !v.is_nan())
    }

    /// Oldest first.
    pub fn values(&self) -> impl ExactSizeIterator<Item = f64> + '_ {
        self.0.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The current value and history of each watched series of one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchedSet {
    histories: [History; 6],
}

impl WatchedSet {
    /// Appends one sample of all six (in [`Watched::ALL`] order).
    pub fn push(&mut self, values: [Option<f64>; 6]) {
        for (h, v) in self.histories.iter_mut().zip(values) {
            h.push(v);
        }
    }

    pub fn history(&self, w: Watched) -> &History {
        &self.histories[w as usize]
    }

    /// The newest value of `w`.
    pub fn current(&self, w: Watched) -> Option<f64> {
        self.history(w).last()
    }
}
