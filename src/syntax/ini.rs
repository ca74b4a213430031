//! INI syntax as PHP reads it (php.ini, conf.d/*.ini) and as php-fpm reads it
//! (php-fpm.conf, pool files). Reference: php-src `Zend/zend_ini_scanner.l`,
//! `Zend/zend_ini_parser.y`, `sapi/fpm/fpm/fpm_conf.c`.
//!
//! CONTRACT (used by `src/stack/`): keep these public types and functions.

use super::SyntaxError;
use crate::source::Span;

#[derive(Debug, Clone, Default)]
pub struct File {
    /// One entry per physical line (a line ends after `\n`; the last may lack it).
    pub lines: Vec<Line>,
    pub errors: Vec<SyntaxError>,
}

#[derive(Debug, Clone)]
pub struct Line {
    /// The whole line including its line ending.
    pub span: Span,
    pub kind: LineKind,
    /// Every byte of the line as leaves, in order (whitespace, key, `=`, value, comment, EOL...).
    pub pieces: Vec<Span>,
}

#[derive(Debug, Clone)]
pub enum LineKind {
    Blank,
    Comment,
    Section(Section),
    Entry(Entry),
    Error,
}

#[derive(Debug, Clone)]
pub struct Section {
    /// The `[...]` including brackets.
    pub span: Span,
    /// The text between the brackets: `PHP`, `www`, `global`, `PATH=/var/www`, `HOST=example.com`.
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// From the first byte of the key to the end of the value (comment excluded).
    pub span: Span,
    pub key: Key,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub struct Key {
    /// The key as written, including any `[...]` offset.
    pub span: Span,
    /// The key without its offset: `php_admin_value`, `memory_limit`, `extension`.
    pub name: String,
    /// `key[]` gives `Some("")`, `key[x]` gives `Some("x")`, a plain key `None`.
    pub index: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `key =` with nothing after it.
    Empty,
    /// `On/Off/yes/no/true/false/none/null` (case-insensitive) — PHP stores "1" or "".
    Keyword,
    /// A plain unquoted string or number.
    Plain,
    /// `"..."` or `'...'` (possibly concatenated with more pieces).
    Quoted,
    /// Constants and operators (`E_ALL & ~E_NOTICE`): PHP evaluates these.
    Expression,
    /// Depends on the environment at run time (`${VAR}` with no default we can know).
    Computed,
}

#[derive(Debug, Clone)]
pub struct Value {
    /// The raw value text (without surrounding whitespace and trailing comment). Empty
    /// span right after `=` when the value is empty.
    pub span: Span,
    pub raw: String,
    /// The string PHP stores (what `ini_get` returns), as far as it can be known statically.
    pub text: String,
    pub kind: ValueKind,
}

impl File {
    /// Entries with the section they are in (`None` before the first section).
    pub fn entries(&self) -> impl Iterator<Item = (Option<&Section>, &Entry)> {
        let mut section: Option<&Section> = None;
        self.lines.iter().filter_map(move |l| match &l.kind {
            LineKind::Section(s) => {
                section = Some(s);
                None
            }
            LineKind::Entry(e) => Some((section, e)),
            _ => None,
        })
    }
}

/// Parse a whole file. Never panics; errors are in `File::errors`.
pub fn parse(src: &[u8]) -> File {
    let _ = src;
    File::default() // filled in by the ini parser work
}

/// Print the tree back: concatenates every piece of every line.
pub fn print(file: &File, src: &[u8]) -> Vec<u8> {
    let _ = (file, src);
    Vec::new()
}
