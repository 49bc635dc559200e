//! Output of the supervised services: bounded scrollback, escape neutralising, structured-log rendering, search.
//!
//! Pure data and text: nothing here draws (the logs panel does) or does I/O.

pub mod ansi;
pub mod buffer;
pub mod scroll;
pub mod search;
pub mod shown;
pub mod zap;

pub use buffer::{LogCounts, LogStore, LogView, StoredLine};
pub use scroll::LogScroll;
pub use search::LogSearch;
pub use shown::Shown;
