//! Lossless syntax trees, one module per language.
//!
//! Each parser keeps every byte: `print(&parse(src), src) == src` for any input.
//! Syntax knows one language and nothing else: no units, no inheritance, no linking.
//! Errors are data (`SyntaxError`), never panics; parsing goes on after an error
//! where the language allows it.

pub mod ini;
pub mod nginx;
pub mod php;
pub mod units;

use crate::source::Span;

/// A place where the text is not what the language allows, and what was expected.
/// The message is worded like the real program's own error where it has one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

impl SyntaxError {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        SyntaxError {
            span,
            message: message.into(),
        }
    }
}

/// Deepest block nesting any parser accepts. nginx has no such limit, but real configs
/// nest a handful of levels; past this we report an error instead of risking the stack.
pub const MAX_DEPTH: usize = 100;
