//! Service manifests: the TOML schema, loading with file/line/column errors, and validation into a [`crate::plan::Plan`].

pub mod load;
pub mod placeholders;
pub mod prometheus;
pub mod schema;
pub mod validate;

pub use load::{ManifestError, Source, read_sources};
pub use validate::{PlanOptions, build_plan};

#[cfg(test)]
mod runs_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod written_tests;
