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
    /// Files it loads (`require_once __DIR__ . '/config/application.php'`, Bedrock;
    /// `wp-config-local.php`), followed recursively, in load order. Their constants
    /// are in `constants`, at their own places.
    pub included: Vec<FileId>,
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
            included: Vec::new(),
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

/// How a `require`/`include` names its file, when that is knowable from the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// Byte offset of the `require` keyword (for load order).
    pub offset: usize,
    /// The path as PHP builds it, relative to the including file's directory when
    /// `relative_to_dir` (`__DIR__ . '/x'`, `dirname(__FILE__) . '/x'`), with `..`
    /// for each `dirname()` level above it, or to WordPress's ABSPATH.
    pub path: String,
    pub base: IncludeBase,
    /// Inside a block or condition other than `if (file_exists(...))`: may not run.
    pub conditional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeBase {
    /// `__DIR__` / `dirname(__FILE__)`, possibly wrapped in more `dirname()`.
    Dir,
    /// `ABSPATH`: the WordPress directory (for wp-config.php: its own directory, or the
    /// one below it when wp-config.php sits above the install).
    Abspath,
    /// An absolute literal path.
    Absolute,
}

/// The `require`/`include`(`_once`) statements of a PHP file whose path is a literal
/// built from `__DIR__`, `dirname(__FILE__)`, `dirname(__DIR__)`, `ABSPATH` and strings
/// (anything else — variables, other calls — is not followed).
pub fn includes(file: &php::File, src: &[u8]) -> Vec<Include> {
    use php::TokenKind as K;
    let sig = file.significant();
    let text = |i: usize| -> &[u8] {
        let sp = sig[i].span;
        src.get(sp.start..sp.end).unwrap_or_default()
    };
    let is = |i: usize, p: &str| i < sig.len() && text(i).eq_ignore_ascii_case(p.as_bytes());
    let mut out = Vec::new();
    // `$x = __DIR__ . '/wp-config-ddev.php';` then `require_once( $x );` (DDEV): the
    // last assignment of each variable before the include, as a token range.
    let mut vars: foldhash::HashMap<Vec<u8>, (usize, usize)> = Default::default();
    // Open blocks: does each one run unconditionally once its file exists?
    let mut blocks: Vec<bool> = Vec::new();
    let mut stmt_start = 0usize;
    let mut i = 0usize;
    while i < sig.len() {
        let t = text(i);
        match (sig[i].kind, t) {
            (K::Punct, b"{") => {
                let head: Vec<&[u8]> = (stmt_start..i).map(text).collect();
                let exists_check = head.iter().any(|w| {
                    w.eq_ignore_ascii_case(b"file_exists")
                        || w.eq_ignore_ascii_case(b"is_readable")
                        || w.eq_ignore_ascii_case(b"is_file")
                });
                let plain = head.is_empty();
                blocks.push(exists_check || plain);
                stmt_start = i + 1;
            }
            (K::Punct, b"}") => {
                blocks.pop();
                stmt_start = i + 1;
            }
            (K::Punct, b";") => stmt_start = i + 1,
            (K::Variable, v) if is(i + 1, "=") => {
                let mut end = i + 2;
                while end < sig.len() && end < i + 66 && !is(end, ";") {
                    end += 1;
                }
                vars.insert(v.to_vec(), (i + 2, end));
            }
            (K::Ident, w)
                if ["require", "require_once", "include", "include_once"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k.as_bytes()))
                    && !(i > 0 && matches!(text(i - 1), b"->" | b"::" | b"?->")) =>
            {
                let offset = sig[i].span.start;
                // The expression up to `;` (or `?>`), outer parentheses dropped.
                let mut j = i + 1;
                let mut end = j;
                let mut depth = 0i32;
                while end < sig.len() && end < i + 64 {
                    match text(end) {
                        b"(" => depth += 1,
                        b")" => depth -= 1,
                        b";" if depth <= 0 => break,
                        _ => {}
                    }
                    if sig[end].kind == K::CloseTag {
                        break;
                    }
                    end += 1;
                }
                while j < end && is(j, "(") && is(end - 1, ")") {
                    j += 1;
                    end -= 1;
                }
                let head_cond = (stmt_start..i).any(|k| {
                    is(k, "if")
                        || is(k, "?")
                        || is(k, "&&")
                        || is(k, "||")
                        || is(k, "and")
                        || is(k, "or")
                });
                let head_exists = (stmt_start..i)
                    .any(|k| is(k, "file_exists") || is(k, "is_readable") || is(k, "is_file"));
                let conditional = blocks.iter().any(|b| !b) || (head_cond && !head_exists);
                let stop = end;
                let assigned = (end == j + 1 && sig[j].kind == K::Variable)
                    .then(|| vars.get(text(j)))
                    .flatten();
                let (j, end) = match assigned {
                    Some(&(a, b)) => (a, b),
                    None => (j, end),
                };
                if let Some((base, path)) =
                    include_path(&(j..end).map(|k| (sig[k].kind, text(k))).collect::<Vec<_>>())
                {
                    out.push(Include {
                        offset,
                        path,
                        base,
                        conditional,
                    });
                }
                i = stop.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `dirname(__FILE__) . '/x.php'` → (Dir, "/x.php"); `dirname(__DIR__) . '/config/a.php'`
/// → (Dir, "/../config/a.php"); `ABSPATH . 'x.php'` → (Abspath, "x.php").
fn include_path(toks: &[(php::TokenKind, &[u8])]) -> Option<(IncludeBase, String)> {
    use php::TokenKind as K;
    let eq = |k: usize, p: &str| {
        toks.get(k)
            .is_some_and(|t| t.1.eq_ignore_ascii_case(p.as_bytes()))
    };
    // The base: nested dirname( ... ) around __DIR__ or __FILE__.
    let mut k = 0;
    let mut dirnames = 0;
    while eq(k, "dirname") && eq(k + 1, "(") {
        dirnames += 1;
        k += 2;
    }
    let (base, ups) = if eq(k, "__DIR__") {
        (IncludeBase::Dir, dirnames)
    } else if eq(k, "__FILE__") && dirnames >= 1 {
        (IncludeBase::Dir, dirnames - 1)
    } else if eq(k, "ABSPATH") && dirnames == 0 {
        (IncludeBase::Abspath, 0)
    } else if dirnames == 0 && toks.first().is_some_and(|t| t.0 == K::String) {
        (IncludeBase::Absolute, 0)
    } else {
        return None;
    };
    if base != IncludeBase::Absolute {
        k += 1;
        for _ in 0..dirnames {
            if !eq(k, ")") {
                return None;
            }
            k += 1;
        }
    }
    let mut path = "/..".repeat(ups);
    let mut expect_dot = base != IncludeBase::Absolute;
    while k < toks.len() {
        if expect_dot {
            if !eq(k, ".") {
                return None;
            }
            k += 1;
        }
        let (kind, t) = toks.get(k)?;
        if *kind != K::String {
            return None;
        }
        path.push_str(&literal(t)?);
        expect_dot = true;
        k += 1;
    }
    if base == IncludeBase::Absolute && !path.starts_with('/') {
        return None;
    }
    if base == IncludeBase::Abspath {
        path = path.trim_start_matches('/').to_string();
    }
    Some((base, path))
}

/// A plain PHP string literal (`'x'` or `"x"` without variables or escapes but `\\`).
fn literal(t: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(t).ok()?;
    let q = s.chars().next()?;
    if !(q == '\'' || q == '"') || s.len() < 2 || !s.ends_with(q) {
        return None;
    }
    let body = &s[1..s.len() - 1];
    if q == '"' && (body.contains('$') || body.contains('\\')) {
        return None;
    }
    Some(body.replace("\\'", "'"))
}

/// Bedrock's `Config::define('NAME', value)` (roots/wp-config; applied by
/// `Config::apply()` as `define()`): (name, value source text, value span, statement span).
pub fn config_defines(
    file: &php::File,
    src: &[u8],
) -> Vec<(String, std::ops::Range<usize>, std::ops::Range<usize>)> {
    use php::TokenKind as K;
    let sig = file.significant();
    let text = |i: usize| -> &[u8] {
        let sp = sig[i].span;
        src.get(sp.start..sp.end).unwrap_or_default()
    };
    let mut out = Vec::new();
    for i in 0..sig.len().saturating_sub(5) {
        let cls = text(i);
        let is_config = cls == b"Config" || cls.ends_with(b"\\Config");
        if !(is_config
            && text(i + 1) == b"::"
            && text(i + 2).eq_ignore_ascii_case(b"define")
            && text(i + 3) == b"(")
        {
            continue;
        }
        let Some(name) = (sig[i + 4].kind == K::String)
            .then(|| literal(text(i + 4)))
            .flatten()
        else {
            continue;
        };
        if text(i + 5) != b"," {
            continue;
        }
        // The value: up to the matching `)`.
        let mut depth = 0i32;
        let mut end = i + 6;
        while end < sig.len() {
            match text(end) {
                b"(" | b"[" => depth += 1,
                b")" | b"]" if depth > 0 => depth -= 1,
                b")" => break,
                b";" => break,
                _ => {}
            }
            end += 1;
        }
        if end >= sig.len() || end == i + 6 || text(end) != b")" {
            continue;
        }
        let v = sig[i + 6].span.start..sig[end - 1].span.end;
        let stmt_end = if end + 1 < sig.len() && text(end + 1) == b";" {
            sig[end + 1].span.end
        } else {
            sig[end].span.end
        };
        out.push((name, v, sig[i].span.start..stmt_end));
    }
    out
}

/// A value as PHP source: a literal, or `env('X')` / `getenv('X')` (optionally with
/// `?: literal` / `?? literal`) looked up in the site's `.env`; `None` when it stays
/// computed at run time.
pub fn literal_value(text: &str, env: &BTreeMap<String, String>) -> Option<PhpValue> {
    let t = text.trim();
    let lit = |t: &str| -> Option<PhpValue> {
        let t = t.trim();
        match t.to_ascii_lowercase().as_str() {
            "true" => return Some(PhpValue::Bool(true)),
            "false" => return Some(PhpValue::Bool(false)),
            "null" => return Some(PhpValue::Null),
            _ => {}
        }
        if let Ok(i) = t.parse::<i64>() {
            return Some(PhpValue::Int(i));
        }
        literal(t.as_bytes()).map(PhpValue::Str)
    };
    if let Some(v) = lit(t) {
        return Some(v);
    }
    let (call, default) = match t.find("?:").or_else(|| t.find("??")) {
        Some(i) => (t[..i].trim(), Some(&t[i + 2..])),
        None => (t, None),
    };
    let inner = call
        .strip_prefix("env(")
        .or_else(|| call.strip_prefix("getenv("))
        .or_else(|| call.strip_prefix("\\env("))
        .and_then(|r| r.strip_suffix(')'))?;
    let name = literal(inner.trim().as_bytes())?;
    let getenv = call.starts_with("getenv(");
    match env.get(&name) {
        // roots/env's env(): 'true'/'false'/'null'/'empty' become those values.
        Some(v) if !getenv => Some(match v.to_ascii_lowercase().as_str() {
            "true" | "(true)" => PhpValue::Bool(true),
            "false" | "(false)" => PhpValue::Bool(false),
            "null" | "(null)" => PhpValue::Null,
            "empty" | "(empty)" => PhpValue::Str(String::new()),
            _ => PhpValue::Str(v.clone()),
        }),
        Some(v) if !v.is_empty() || default.is_none() => Some(PhpValue::Str(v.clone())),
        _ => default.and_then(lit),
    }
}
