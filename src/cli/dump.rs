//! `wpstack dump`: moved to stack::dump; kept as a thin re-export for the CLI.
pub use crate::stack::dump::dump;
