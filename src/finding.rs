//! What a rule reports: plain data, rendered by `src/report/`, fixed by `src/fix/`.

use crate::fix::Fix;
use crate::source::{FileId, Span};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    pub file: FileId,
    pub span: Span,
}

impl Place {
    pub fn new(file: FileId, span: Span) -> Self {
        Place { file, span }
    }
}

/// Another place involved in a finding, with what it contributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    pub place: Place,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where it is; `None` only for findings about the stack as a whole
    /// (e.g. "no php-fpm configuration found").
    pub primary: Option<Place>,
    pub related: Vec<Related>,
    /// Facts the finding rests on that were not read from the files (estimates, host facts).
    pub assumptions: Vec<String>,
    pub fix: Option<Fix>,
}

/// What a finding takes from the rule that made it. The registry (`rules::Rule`) lives
/// above this module and implements it; findings, reports and the model below never
/// need to know the registry.
pub trait RuleId {
    fn code(&self) -> &'static str;
    fn name(&self) -> &'static str;
    fn severity(&self) -> Severity;
}

impl Finding {
    pub fn new(rule: &impl RuleId, primary: Option<Place>, message: impl Into<String>) -> Self {
        Finding {
            code: rule.code(),
            name: rule.name(),
            severity: rule.severity(),
            message: message.into(),
            primary,
            related: Vec::new(),
            assumptions: Vec::new(),
            fix: None,
        }
    }
    pub fn at(rule: &impl RuleId, place: Place, message: impl Into<String>) -> Self {
        Self::new(rule, Some(place), message)
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }
    pub fn related(mut self, place: Place, message: impl Into<String>) -> Self {
        self.related.push(Related {
            place,
            message: message.into(),
        });
        self
    }
    pub fn related_opt(self, place: Option<Place>, message: impl Into<String>) -> Self {
        match place {
            Some(p) => self.related(p, message),
            None => self,
        }
    }
    pub fn assume(mut self, a: impl Into<String>) -> Self {
        self.assumptions.push(a.into());
        self
    }
    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }
}
