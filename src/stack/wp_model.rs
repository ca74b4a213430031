//! WordPress as it runs: the constants wp-config.php defines, with WordPress's own
//! defaults when absent (wp-includes/default-constants.php).

use super::Sourced;
use crate::finding::Place;
use crate::source::FileId;
use crate::syntax::php::{self, PhpValue, StatementKind};
use std::collections::BTreeMap;

/// The authentication keys and salts WordPress signs cookies and nonces with.
pub const AUTH_KEYS: &[&str] = &[
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
];

/// Constants whose values are never printed (every report format, `dump`).
pub fn is_secret(name: &str) -> bool {
    name == "DB_PASSWORD" || AUTH_KEYS.contains(&name)
}

#[derive(Debug, Clone, PartialEq)]
pub struct WpConst {
    pub value: Sourced<PhpValue>,
    /// Defined inside an `if`/function/ternary: may not apply.
    pub conditional: bool,
    /// The whole `define(...)` statement (for fixes).
    pub statement: Option<Place>,
    /// The value's place (for fixes).
    pub value_place: Option<Place>,
}

#[derive(Debug, Clone)]
pub struct WpConfig {
    pub file: FileId,
    /// Sites (by index into `nginx[i].sites`) whose root leads here: (nginx, site).
    pub sites: Vec<(usize, usize)>,
    /// Constants as defined (the first define of a name wins, as in PHP).
    pub constants: BTreeMap<String, WpConst>,
    /// `ini_set()` calls, in order.
    pub ini_sets: Vec<(String, Sourced<PhpValue>)>,
    pub table_prefix: Option<Sourced<PhpValue>>,
}

/// WordPress's defaults for the constants rules read.
pub fn wp_default(name: &str) -> Option<PhpValue> {
    Some(match name {
        "WP_MEMORY_LIMIT" => PhpValue::Str("40M".into()),
        "WP_MAX_MEMORY_LIMIT" => PhpValue::Str("256M".into()),
        "WP_DEBUG" | "WP_DEBUG_LOG" | "DISALLOW_FILE_EDIT" | "DISALLOW_FILE_MODS" => {
            PhpValue::Bool(false)
        }
        "WP_DEBUG_DISPLAY" => PhpValue::Bool(true),
        "WP_ENVIRONMENT_TYPE" => PhpValue::Str("production".into()),
        "SCRIPT_DEBUG" => PhpValue::Bool(false),
        _ => return None,
    })
}

impl WpConfig {
    pub fn from_syntax(file: FileId, syntax: &php::File) -> Self {
        let mut constants = BTreeMap::new();
        let mut ini_sets = Vec::new();
        let mut table_prefix = None;
        for st in &syntax.statements {
            let stmt_place = Place::new(file, st.span);
            match &st.kind {
                StatementKind::Define {
                    name,
                    value,
                    value_span,
                    ..
                }
                | StatementKind::Const {
                    name,
                    value,
                    value_span,
                    ..
                } => {
                    let entry = WpConst {
                        value: Sourced::at(value.clone(), Place::new(file, *value_span)),
                        conditional: st.conditional,
                        statement: Some(stmt_place),
                        value_place: Some(Place::new(file, *value_span)),
                    };
                    // PHP: the first define wins at run time. An unconditional define
                    // after a conditional one still tells more about production.
                    match constants.get(name) {
                        None => {
                            constants.insert(name.clone(), entry);
                        }
                        Some(WpConst {
                            conditional: true, ..
                        }) if !st.conditional => {
                            constants.insert(name.clone(), entry);
                        }
                        _ => {}
                    }
                }
                StatementKind::IniSet {
                    key,
                    value,
                    value_span,
                    ..
                } => ini_sets.push((
                    key.clone(),
                    Sourced::at(value.clone(), Place::new(file, *value_span)),
                )),
                StatementKind::TablePrefix { value, value_span } => {
                    table_prefix = Some(Sourced::at(value.clone(), Place::new(file, *value_span)))
                }
            }
        }
        WpConfig {
            file,
            sites: Vec::new(),
            constants,
            ini_sets,
            table_prefix,
        }
    }

    /// A constant as WordPress sees it: defined here, or WordPress's default.
    pub fn get(&self, name: &str) -> Option<WpConst> {
        self.constants.get(name).cloned().or_else(|| {
            wp_default(name).map(|v| WpConst {
                value: Sourced::default(v, "WordPress default"),
                conditional: false,
                statement: None,
                value_place: None,
            })
        })
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.constants.contains_key(name)
    }
}

/// PHP truthiness of a literal; `None` when computed at run time.
pub fn truthy(v: &PhpValue) -> Option<bool> {
    match v {
        PhpValue::Bool(b) => Some(*b),
        PhpValue::Int(i) => Some(*i != 0),
        PhpValue::Float(f) => Some(*f != 0.0),
        PhpValue::Str(s) => Some(!(s.is_empty() || s == "0")),
        PhpValue::Null => Some(false),
        PhpValue::Computed(_) => None,
    }
}

/// A literal as text (for messages); computed values show their source.
pub fn value_text(v: &PhpValue) -> String {
    match v {
        PhpValue::Bool(b) => b.to_string(),
        PhpValue::Int(i) => i.to_string(),
        PhpValue::Float(f) => f.to_string(),
        PhpValue::Str(s) => format!("'{s}'"),
        PhpValue::Null => "null".into(),
        PhpValue::Computed(src) => src.clone(),
    }
}
