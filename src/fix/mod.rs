//! Fixes are data: span edits with an applicability, merged, checked for overlap,
//! applied, re-parsed and re-linted until nothing changes.

use crate::source::{FileId, Span};
use serde::Serialize;

/// How sure we are that a fix is right. Ordered like ruff's: `Unsafe < Safe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Shown in `--diff`, applied only with `--unsafe-fixes` (rests on an estimate or a guess).
    Unsafe,
    /// Applied by `--fix`.
    Safe,
}

/// Replace `range` of `file` with `replacement`. An insertion has an empty range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub file: FileId,
    pub range: Span,
    pub replacement: Vec<u8>,
}

impl Edit {
    pub fn replace(file: FileId, range: Span, replacement: impl Into<Vec<u8>>) -> Self {
        Edit {
            file,
            range,
            replacement: replacement.into(),
        }
    }
    pub fn insert(file: FileId, at: usize, text: impl Into<Vec<u8>>) -> Self {
        Self::replace(file, Span::empty(at), text)
    }
    pub fn delete(file: FileId, range: Span) -> Self {
        Self::replace(file, range, Vec::new())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub applicability: Applicability,
    /// One line saying what the fix does ("set fastcgi_read_timeout 330s").
    pub message: String,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn safe(message: impl Into<String>, edits: Vec<Edit>) -> Self {
        Fix {
            applicability: Applicability::Safe,
            message: message.into(),
            edits,
        }
    }
    pub fn unsafe_(message: impl Into<String>, edits: Vec<Edit>) -> Self {
        Fix {
            applicability: Applicability::Unsafe,
            message: message.into(),
            edits,
        }
    }
}

pub mod apply;
pub mod edit;
pub mod run;
pub mod validate;
