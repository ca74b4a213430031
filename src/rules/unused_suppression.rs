//! I001 unused-suppression: an inline `wpstack: ignore[...]` that suppresses nothing.
//! Emitted by the engine (suppressions are handled in one place), declared here so it
//! can be selected, ignored and explained like any rule.

use crate::finding::Finding;
use crate::rules::Context;

crate::declare_rule!(
    "I001",
    "unused-suppression",
    Info,
    No,
    "an inline wpstack: ignore[...] comment that suppresses nothing",
    check
);

fn check(_cx: &Context, _out: &mut Vec<Finding>) {}
