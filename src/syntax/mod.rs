//! Lossless syntax trees, one module per language.
//!
//! Each parser keeps every byte: `print(&parse(src), src) == src` for any input.
//! Syntax knows one language and nothing else: no units, no inheritance, no linking.
//! Errors are data (`SyntaxError`), never panics; parsing goes on after an error
//! where the language allows it.

pub mod ini;
pub mod mycnf;
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

/// Most syntax errors reported per file. nginx, php-fpm and `php -l` stop at the
/// first; we go on so that one run shows several, but a file of 40,000 stray `}` must
/// not become 40,000 findings.
pub const MAX_ERRORS: usize = 100;

/// Keep the first [`MAX_ERRORS`] errors, then one that says the rest were not listed.
pub fn cap_errors(errors: &mut Vec<SyntaxError>) {
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - MAX_ERRORS;
        errors.truncate(MAX_ERRORS);
        let at = errors[MAX_ERRORS - 1].span;
        errors.push(SyntaxError::new(
            at,
            format!("{more} more syntax errors after this one are not listed"),
        ));
    }
}

/// Deepest block nesting any parser accepts. nginx has no such limit, but real configs
/// nest a handful of levels; past this we report an error instead of risking the stack.
pub const MAX_DEPTH: usize = 100;
