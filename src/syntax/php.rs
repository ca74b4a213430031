//! A small PHP tokenizer for wp-config.php, and the statements WordPress cares about.
//! Not a PHP parser: it finds `define()`, `const`, `ini_set()` and `$table_prefix`
//! reliably (comments, strings, heredocs and `?>` cannot fool it) and says honestly
//! when a value is computed at run time.
//!
//! CONTRACT (used by `src/stack/`): keep these public types and functions.
//!
//! # The tokenizer
//!
//! Modelled on php-src `Zend/zend_language_scanner.l` (PHP 8.2), read for behaviour:
//!
//! - Outside PHP, everything up to `<?php` (followed by a space, tab, newline or the end
//!   of the file), `<?=` or `<?` is [`TokenKind::InlineHtml`]. `<?` alone opens PHP too:
//!   `short_open_tag` is on in PHP's built-in defaults (`php -n`). The open tag token
//!   includes the one whitespace character after `<?php`, and `?>` includes one newline
//!   after it, as in PHP.
//! - `#` and `//` comments end before the newline (PHP 8) or before `?>`; `#[` is an
//!   attribute (punctuation), except right after `->` where PHP reads `#[` as a comment.
//!   `/* */` comments do not nest.
//! - After `__halt_compiler` and three more tokens (`();`) the rest of the file is one
//!   `InlineHtml` token, as in PHP's `token_get_all` (PHP neither runs nor prints it).
//! - Strings, heredocs and nowdocs are one token each, with any `{$...}` / `${...}`
//!   interpolation inside them (PHP code, possibly with more strings) skipped by
//!   lexing it, at most [`MAX_DEPTH`] levels deep. Heredoc closing markers follow PHP
//!   7.3: any indentation, and the label must not be followed by a label character.
//! - Names include namespace separators (`\define`, `Foo\bar`); keywords are
//!   [`TokenKind::Ident`] too.
//! - Control characters PHP rejects become [`TokenKind::Error`] tokens; unterminated
//!   strings, backticks and heredocs become one `Error` token up to the end of the file.
//!
//! The errors are the ones PHP's lexer raises (worded as PHP words them): unterminated
//! comment/string/heredoc, `Unclosed '('`, `Unmatched ')'`, invalid numeric literals,
//! bad `\u{...}` escapes, heredoc indentation. Grammar errors that only PHP's parser
//! finds (`define('A', 1) define('B', 2)`) are not reported: run `php -l` for those.
//!
//! # The statements
//!
//! A single pass over the significant tokens tracks blocks (`{}`, `if (...) stmt;`,
//! `if (...): ... endif;`), calls and short-circuit operators, so each statement knows
//! whether it certainly runs. See [`Statement::conditional`].

use super::{SyntaxError, MAX_DEPTH};
use crate::source::Span;

#[derive(Debug, Clone, Default)]
pub struct File {
    /// Every byte of the file as tokens, in order.
    pub tokens: Vec<Token>,
    pub statements: Vec<Statement>,
    pub errors: Vec<SyntaxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    InlineHtml,
    OpenTag,
    CloseTag,
    Whitespace,
    Comment,
    Variable,
    Ident,
    String,
    Heredoc,
    Number,
    Punct,
    Error,
}

#[derive(Debug, Clone, Copy)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PhpValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// Known only at run time; the source text of the expression.
    Computed(String),
}

#[derive(Debug, Clone)]
pub enum StatementKind {
    /// `define('NAME', value)` / `define("NAME", value)`.
    Define {
        name: String,
        name_span: Span,
        value: PhpValue,
        value_span: Span,
    },
    /// `const NAME = value;`
    Const {
        name: String,
        name_span: Span,
        value: PhpValue,
        value_span: Span,
    },
    /// `ini_set('key', value)`.
    IniSet {
        key: String,
        key_span: Span,
        value: PhpValue,
        value_span: Span,
    },
    /// `$table_prefix = value;`
    TablePrefix { value: PhpValue, value_span: Span },
}

#[derive(Debug, Clone)]
pub struct Statement {
    /// The whole statement (`define(...)` up to and including `;` when present).
    ///
    /// For a call the span starts at the function name (or the `@` before it). It
    /// includes the `;` only when the call is the whole statement: in
    /// `defined('X') || define('X', 1);` it is just `define('X', 1)`. For
    /// `const A = 1, B = 2;` both constants share the span of the whole statement.
    pub span: Span,
    pub kind: StatementKind,
    /// Inside an `if`/`else`/`switch`/ternary or function body: may not run, or may run
    /// with another value (`if (!defined('WP_DEBUG')) define('WP_DEBUG', false);`).
    ///
    /// Also inside loops, `catch`, `match`, closures and arrow functions, and after
    /// `||`, `&&`, `or`, `and`, `??` or `?` in the same expression. Not inside `try`,
    /// `finally`, `do { }` or a plain `{ }` block, which run.
    pub conditional: bool,
}

/// Tokenize and extract statements. Never panics; errors are in `File::errors`.
pub fn parse(src: &[u8]) -> File {
    let mut lexer = Lexer::new(src);
    lexer.run();
    let Lexer {
        mut tokens,
        mut errors,
        ..
    } = lexer;
    // Kept for the run (fixes edit by token): no doubling slack.
    tokens.shrink_to_fit();
    super::cap_errors(&mut errors);
    let statements = Extractor::new(src, &tokens).run();
    File {
        tokens,
        statements,
        errors,
    }
}

/// Print the tokens back.
pub fn print(file: &File, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    for t in &file.tokens {
        if let Some(bytes) = src.get(t.span.start..t.span.end) {
            out.extend_from_slice(bytes);
        }
    }
    out
}

impl File {
    /// The tokens that carry meaning: whitespace and comments left out.
    pub fn significant(&self) -> Vec<&Token> {
        self.tokens
            .iter()
            .filter(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::Comment))
            .collect()
    }

    /// Every `define()` and top-level `const` with a literal name, in source order:
    /// `(name, value, statement)`. Both define global constants (`const` one in the
    /// current namespace, which wp-config files do not declare).
    pub fn defines(&self) -> impl Iterator<Item = (&str, &PhpValue, &Statement)> {
        self.statements.iter().filter_map(|s| match &s.kind {
            StatementKind::Define { name, value, .. }
            | StatementKind::Const { name, value, .. } => Some((name.as_str(), value, s)),
            _ => None,
        })
    }

    /// The definition of constant `name` (case-sensitive, as in PHP 8) that takes effect.
    ///
    /// PHP keeps the FIRST definition that runs; later ones only warn "Constant X
    /// already defined". Which conditional define runs is unknown here, so this returns
    /// the first unconditional one (it certainly runs, and no earlier unconditional one
    /// exists), or, when every definition is conditional, the first one in source order.
    pub fn find_define(&self, name: &str) -> Option<&Statement> {
        let mut first_conditional = None;
        for (n, _, s) in self.defines() {
            if n == name {
                if !s.conditional {
                    return Some(s);
                }
                first_conditional.get_or_insert(s);
            }
        }
        first_conditional
    }

    /// Where the fixer should insert new lines: the byte offset of the start of the
    /// line holding the `/* That's all, stop editing! ... */` comment (any variant:
    /// "Happy publishing", "Happy blogging", a curly apostrophe...). Else the start of
    /// the top-level statement that loads `wp-settings.php` (`require_once ABSPATH .
    /// 'wp-settings.php';`, `require`, `include`, `include_once`, with or without
    /// parentheses, or inside `if (...) { ... }`: then before the `if`). Else `None`.
    ///
    /// The offset is always in PHP code, never inside a comment or string: when the line
    /// starts inside a multi-line token or before `<?php`, it moves to that token's end.
    pub fn stop_editing_line(&self, src: &[u8]) -> Option<usize> {
        for (i, t) in self.tokens.iter().enumerate() {
            if t.kind == TokenKind::Comment && is_stop_editing_comment(slice(src, t.span)) {
                return Some(self.insertion_point(src, i));
            }
        }
        self.settings_require(src)
            .map(|i| self.insertion_point(src, i))
    }

    /// Where a new top-level statement may be inserted at or after byte `wanted`: a
    /// statement boundary of the token stream (after `;` or a block's `}` at depth 0,
    /// or right after the open tag), in PHP code, never inside a statement. Returns
    /// `(offset, needs_semicolon)`: when no boundary follows `wanted`, the end of the
    /// PHP code (before a final `?>`, or the end of the file), and whether the
    /// statement there is unterminated (PHP allows that before `?>`), so the insertion
    /// must start with `;`.
    pub fn statement_boundary(&self, src: &[u8], wanted: usize) -> (usize, bool) {
        let sig: Vec<usize> = (0..self.tokens.len())
            .filter(|&i| {
                !matches!(
                    self.tokens[i].kind,
                    TokenKind::Whitespace | TokenKind::Comment
                )
            })
            .collect();
        let text = |k: usize| slice(src, self.tokens[sig[k]].span);
        let kind = |k: usize| self.tokens[sig[k]].kind;
        // Does a statement start at sig[k] (so a `}` before it ends a block statement)?
        let starts_statement = |k: usize| -> bool {
            if k >= sig.len() {
                return true;
            }
            match kind(k) {
                TokenKind::Ident => ![
                    "else",
                    "elseif",
                    "catch",
                    "finally",
                    "while",
                    "as",
                    "instanceof",
                    "and",
                    "or",
                    "xor",
                ]
                .iter()
                .any(|w| text(k).eq_ignore_ascii_case(w.as_bytes())),
                TokenKind::Variable
                | TokenKind::CloseTag
                | TokenKind::InlineHtml
                | TokenKind::String => true,
                TokenKind::Punct => matches!(text(k), b"@" | b"#[" | b"$" | b"{" | b"}" | b"\\"),
                _ => false,
            }
        };
        let mut depth = 0usize;
        let mut in_php = false;
        // (offset just after a boundary token, index of the next significant token)
        let mut boundaries: Vec<usize> = Vec::new();
        let mut php_end: Option<(usize, bool)> = None; // (before the last `?>`, unterminated)
        let mut last_sig_boundary = false;
        for (k, &ti) in sig.iter().enumerate() {
            let t = self.tokens[ti];
            match t.kind {
                TokenKind::OpenTag => {
                    in_php = true;
                    if depth == 0 {
                        boundaries.push(t.span.end);
                    }
                    last_sig_boundary = true;
                    continue;
                }
                TokenKind::CloseTag => {
                    if depth == 0 {
                        php_end = Some((t.span.start, !last_sig_boundary));
                        // `?>` ends a statement like `;` does.
                        boundaries.push(t.span.end);
                    }
                    in_php = false;
                    last_sig_boundary = true;
                    continue;
                }
                TokenKind::InlineHtml => {
                    last_sig_boundary = true;
                    continue;
                }
                _ => {}
            }
            if !in_php {
                continue;
            }
            let mut boundary = false;
            if t.kind == TokenKind::Punct {
                match text(k) {
                    b"(" | b"[" | b"{" | b"#[" | b"${" => depth += 1,
                    b")" | b"]" => depth = depth.saturating_sub(1),
                    b"}" => {
                        depth = depth.saturating_sub(1);
                        boundary = depth == 0 && starts_statement(k + 1);
                    }
                    b";" => boundary = depth == 0,
                    _ => {}
                }
            }
            last_sig_boundary = boundary;
            if boundary {
                boundaries.push(t.span.end);
            }
        }
        // After a `?>` we are in HTML: a boundary there is not PHP code.
        let in_code = |off: usize| {
            let mut php = false;
            for t in &self.tokens {
                if t.span.start >= off {
                    break;
                }
                match t.kind {
                    TokenKind::OpenTag => php = true,
                    TokenKind::CloseTag | TokenKind::InlineHtml => php = false,
                    _ => {}
                }
            }
            php
        };
        // `wanted` is a boundary when no significant token lies between the last
        // boundary at or before it and it.
        let at = |b: usize| {
            b <= wanted
                && !sig
                    .iter()
                    .any(|&i| self.tokens[i].span.start >= b && self.tokens[i].span.start < wanted)
                && !self
                    .tokens
                    .iter()
                    .any(|t| t.span.start < wanted && wanted < t.span.end)
        };
        if boundaries.iter().any(|&b| at(b)) && in_code(wanted) {
            return (wanted, false);
        }
        if let Some(&b) = boundaries.iter().find(|&&b| b > wanted && in_code(b)) {
            return (b, false);
        }
        match php_end {
            Some((off, unterminated)) if off >= wanted || !in_code(src.len()) => {
                (off, unterminated)
            }
            _ => (src.len(), !last_sig_boundary),
        }
    }

    /// Token index of the first token of the top-level statement that requires
    /// wp-settings.php.
    fn settings_require(&self, src: &[u8]) -> Option<usize> {
        let sig: Vec<usize> = (0..self.tokens.len())
            .filter(|&i| {
                !matches!(
                    self.tokens[i].kind,
                    TokenKind::Whitespace | TokenKind::Comment
                )
            })
            .collect();
        let text = |k: usize| slice(src, self.tokens[sig[k]].span);
        let kind = |k: usize| self.tokens[sig[k]].kind;
        let mut depth = 0usize;
        let mut boundary = true;
        let mut stmt_start: Option<usize> = None;
        for k in 0..sig.len() {
            let t = text(k);
            let is_ident = kind(k) == TokenKind::Ident;
            let continuation = is_ident
                && ["else", "elseif", "catch", "finally"]
                    .iter()
                    .any(|w| t.eq_ignore_ascii_case(w.as_bytes()));
            if boundary && depth == 0 && !continuation {
                stmt_start = Some(sig[k]);
            }
            let after_member = k > 0
                && kind(k - 1) == TokenKind::Punct
                && matches!(text(k - 1), b"->" | b"?->" | b"::");
            if is_ident
                && !after_member
                && ["require", "require_once", "include", "include_once"]
                    .iter()
                    .any(|w| strip_ns_root(t).eq_ignore_ascii_case(w.as_bytes()))
            {
                let mut level = 0usize;
                // A require expression is short; do not scan far on broken input.
                for j in (k + 1)..sig.len().min(k + 64) {
                    let tj = text(j);
                    match kind(j) {
                        TokenKind::Punct => match tj {
                            b"(" | b"[" => level += 1,
                            b")" | b"]" => level = level.saturating_sub(1),
                            b";" if level == 0 => break,
                            _ => {}
                        },
                        TokenKind::CloseTag => break,
                        TokenKind::String | TokenKind::Heredoc => {
                            if let Lit::Bytes(b) = string_literal(tj) {
                                if b.ends_with(b"wp-settings.php") {
                                    return Some(stmt_start.unwrap_or(sig[k]));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            match kind(k) {
                TokenKind::Punct => match t {
                    b"(" | b"[" | b"{" | b"#[" => {
                        depth += 1;
                        boundary = false;
                    }
                    b")" | b"]" => {
                        depth = depth.saturating_sub(1);
                        boundary = false;
                    }
                    b"}" => {
                        depth = depth.saturating_sub(1);
                        boundary = depth == 0;
                    }
                    b";" => boundary = depth == 0,
                    _ => boundary = false,
                },
                TokenKind::OpenTag | TokenKind::CloseTag | TokenKind::InlineHtml => {
                    boundary = depth == 0
                }
                _ => boundary = false,
            }
        }
        None
    }

    /// The start of the line of token `idx`, moved forward past any multi-line token or
    /// open tag that the line start would fall inside or before.
    fn insertion_point(&self, src: &[u8], idx: usize) -> usize {
        let Some(target) = self.tokens.get(idx) else {
            return src.len();
        };
        let target = target.span.start.min(src.len());
        let line_start = src[..target]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let mut at = line_start;
        for t in self.tokens[..idx].iter().rev() {
            if t.span.end <= line_start {
                break;
            }
            match t.kind {
                TokenKind::OpenTag | TokenKind::CloseTag | TokenKind::InlineHtml => {
                    at = at.max(t.span.end);
                    break;
                }
                TokenKind::Whitespace => {
                    if t.span.start < line_start {
                        break;
                    }
                }
                _ => {
                    if t.span.start < line_start {
                        at = at.max(t.span.end);
                        break;
                    }
                }
            }
        }
        at.min(target)
    }
}

fn is_stop_editing_comment(text: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(text)
        .to_lowercase()
        .replace('\u{2019}', "'");
    lower.contains("stop editing")
        && ["that's all", "thats all", "that is all"]
            .iter()
            .any(|p| lower.contains(p))
}

fn slice(src: &[u8], span: Span) -> &[u8] {
    let end = span.end.min(src.len());
    &src[span.start.min(end)..end]
}

fn strip_ns_root(name: &[u8]) -> &[u8] {
    name.strip_prefix(b"\\").unwrap_or(name)
}

fn is_label_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_label_char(c: u8) -> bool {
    is_label_start(c) || c.is_ascii_digit()
}

/// PHP's line number of a byte offset: `\n`, `\r\n` and a lone `\r` each end a line.
fn php_line(src: &[u8], pos: usize) -> usize {
    let end = pos.min(src.len());
    let mut line = 1;
    for (i, &b) in src[..end].iter().enumerate() {
        if b == b'\n' || (b == b'\r' && src.get(i + 1) != Some(&b'\n')) {
            line += 1;
        }
    }
    line
}

/// Token text as PHP quotes it in "unexpected ..." messages: at most 30 bytes, then "...".
fn php_excerpt(bytes: &[u8]) -> String {
    if bytes.len() <= 30 {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut cut = 30;
    // Do not split a UTF-8 sequence.
    while cut > 0 && bytes.get(cut).is_some_and(|b| b & 0xC0 == 0x80) {
        cut -= 1;
    }
    format!("{}...", String::from_utf8_lossy(&bytes[..cut]))
}

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

const OPERATORS_3: [&[u8; 3]; 9] = [
    b"===", b"!==", b"<=>", b"**=", b"...", b"<<=", b">>=", b"??=", b"?->",
];
const OPERATORS_2: [&[u8; 2]; 25] = [
    b"==", b"!=", b"<>", b"<=", b">=", b"&&", b"||", b"??", b"->", b"=>", b"::", b"++", b"--",
    b"+=", b"-=", b"*=", b"/=", b".=", b"%=", b"&=", b"|=", b"^=", b"<<", b">>", b"**",
];
/// Single characters PHP accepts as tokens in scripting state.
const PUNCT_1: &[u8] = b";:,.[]()|^&+-/*=%!~$<>?@{}\\";

struct Lexer<'a> {
    src: &'a [u8],
    tokens: Vec<Token>,
    errors: Vec<SyntaxError>,
    /// Open brackets, as PHP's lexer checks them: the character and where it is.
    brackets: Vec<(u8, Span)>,
    /// The previous token was `->` / `?->` (and whitespace or comments): a property
    /// name follows.
    property_next: bool,
    /// A bracket mismatch was reported: stop checking brackets.
    bracket_error: bool,
}

/// Errors kept per file.
const MAX_ERRORS: usize = 100;

impl<'a> Lexer<'a> {
    fn new(src: &'a [u8]) -> Self {
        Lexer {
            src,
            tokens: Vec::new(),
            errors: Vec::new(),
            brackets: Vec::new(),
            property_next: false,
            bracket_error: false,
        }
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.src.get(i).copied()
    }

    fn starts_with(&self, i: usize, pat: &[u8]) -> bool {
        self.src.get(i..).is_some_and(|s| s.starts_with(pat))
    }

    fn error(&mut self, start: usize, end: usize, message: impl Into<String>) {
        // PHP stops at the first; a broken file should not give a million.
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        let end = end.min(self.src.len());
        self.errors
            .push(SyntaxError::new(Span::new(start.min(end), end), message));
    }

    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, end),
        });
    }

    fn run(&mut self) {
        let len = self.src.len();
        let mut pos = 0;
        let mut html = true;
        // After `__halt_compiler`: how many significant tokens (`(`, `)`, `;`) are still
        // read before the rest of the file is data. PHP never runs or prints that data;
        // its token_get_all counts three tokens and calls the rest inline HTML, as here.
        let mut halt_need: Option<u8> = None;
        while pos < len {
            let first_new = self.tokens.len();
            if html {
                let (html_end, tag_end) = self.find_open_tag(pos);
                if html_end > pos {
                    self.push(TokenKind::InlineHtml, pos, html_end);
                    pos = html_end;
                } else {
                    // html_end == pos < len, so there is an open tag here.
                    let end = tag_end.clamp(pos + 1, len);
                    self.push(TokenKind::OpenTag, pos, end);
                    html = false;
                    pos = end;
                }
            } else {
                let property = self.property_next;
                let (kind, end) = self.script_token(pos, 0);
                let end = end.clamp(pos + 1, len);
                self.push(kind, pos, end);
                let text = &self.src[pos..end];
                match kind {
                    TokenKind::Punct => self.check_bracket(pos, end),
                    TokenKind::String | TokenKind::Heredoc => {
                        if let Lit::Invalid(msg) = string_literal(text) {
                            self.error(pos, end, msg);
                        }
                    }
                    TokenKind::Number => {
                        if let Err(msg) = number_literal(text) {
                            self.error(pos, end, msg);
                        }
                    }
                    TokenKind::Ident
                        if halt_need.is_none()
                            && !property
                            && text.eq_ignore_ascii_case(b"__halt_compiler") =>
                    {
                        halt_need = Some(4); // this token is counted below
                    }
                    TokenKind::CloseTag => html = true,
                    _ => {}
                }
                pos = end;
            }
            if let Some(need) = halt_need.as_mut() {
                let significant = self.tokens[first_new..]
                    .iter()
                    .filter(|t| match t.kind {
                        TokenKind::Whitespace | TokenKind::Comment => false,
                        TokenKind::OpenTag => slice(self.src, t.span).starts_with(b"<?="),
                        _ => true,
                    })
                    .count();
                *need = need.saturating_sub(significant.min(4) as u8);
                if *need == 0 {
                    if pos < len {
                        self.push(TokenKind::InlineHtml, pos, len);
                    }
                    pos = len;
                }
            }
        }
        if self.errors.is_empty() {
            if let Some(&(c, span)) = self.brackets.last() {
                let msg = unclosed_message(self.src, c, span.start, len);
                self.error(span.start, span.end, msg);
            }
        }
    }

    /// In inline HTML from `pos`: where the HTML ends and where the open tag ends
    /// (both `len` when there is no open tag).
    fn find_open_tag(&self, pos: usize) -> (usize, usize) {
        let len = self.src.len();
        let mut i = pos;
        while let Some(off) = self
            .src
            .get(i..)
            .and_then(|s| s.iter().position(|&b| b == b'<'))
        {
            let p = i + off;
            if self.at(p + 1) == Some(b'?') {
                if self.at(p + 2) == Some(b'=') {
                    return (p, p + 3);
                }
                let php = self
                    .src
                    .get(p + 2..p + 5)
                    .is_some_and(|s| s.eq_ignore_ascii_case(b"php"));
                if php {
                    match self.at(p + 5) {
                        None => return (p, p + 5),
                        Some(b' ' | b'\t' | b'\n') => return (p, p + 6),
                        Some(b'\r') => {
                            let n = if self.at(p + 6) == Some(b'\n') { 7 } else { 6 };
                            return (p, p + n);
                        }
                        // `<?phpX` is `<?` followed by `phpX` with short tags on.
                        _ => {}
                    }
                }
                return (p, p + 2);
            }
            i = p + 1;
        }
        (len, len)
    }

    fn check_bracket(&mut self, start: usize, end: usize) {
        if self.bracket_error {
            // After a mismatch PHP has stopped; further messages would be noise.
            return;
        }
        let text = &self.src[start..end];
        let span = Span::new(start, end);
        let closer = match text {
            b"(" | b"[" | b"{" => {
                self.brackets.push((text[0], span));
                return;
            }
            b"#[" => {
                self.brackets.push((b'[', span));
                return;
            }
            b")" => b'(',
            b"]" => b'[',
            b"}" => b'{',
            _ => return,
        };
        match self.brackets.last().copied() {
            None => {
                self.bracket_error = true;
                self.error(start, end, format!("Unmatched '{}'", text[0] as char));
            }
            Some((open, _)) if open == closer => {
                self.brackets.pop();
            }
            Some((open, ospan)) => {
                let msg = if php_line(self.src, ospan.start) != php_line(self.src, start) {
                    format!(
                        "Unclosed '{}' on line {} does not match '{}'",
                        open as char,
                        php_line(self.src, ospan.start),
                        text[0] as char
                    )
                } else {
                    format!(
                        "Unclosed '{}' does not match '{}'",
                        open as char, text[0] as char
                    )
                };
                self.error(start, end, msg);
                self.bracket_error = true;
            }
        }
    }

    /// One token of PHP code at `pos` (which is in bounds). Returns the kind and the end
    /// (always past `pos`).
    fn script_token(&mut self, pos: usize, depth: usize) -> (TokenKind, usize) {
        let property = self.property_next;
        let (kind, end) = if property && self.at(pos).is_some_and(is_label_start) {
            // After `->` PHP reads a plain label (ST_LOOKING_FOR_PROPERTY): `$o->a\b` is
            // `a`, then `\b`.
            let mut i = pos + 1;
            while self.at(i).is_some_and(is_label_char) {
                i += 1;
            }
            (TokenKind::Ident, i)
        } else if property && self.at(pos) == Some(b'#') {
            // There `#[` is a comment, not an attribute.
            (TokenKind::Comment, self.line_comment(pos + 1))
        } else {
            self.scan_token(pos, depth)
        };
        let text = self.src.get(pos..end).unwrap_or(&[]);
        // Whitespace and comments keep PHP in ST_LOOKING_FOR_PROPERTY.
        self.property_next = (kind == TokenKind::Punct && (text == b"->" || text == b"?->"))
            || (matches!(kind, TokenKind::Whitespace | TokenKind::Comment) && property);
        (kind, end)
    }

    fn scan_token(&mut self, pos: usize, depth: usize) -> (TokenKind, usize) {
        let len = self.src.len();
        let Some(c) = self.at(pos) else {
            return (TokenKind::Error, len);
        };
        let n1 = self.at(pos + 1);
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                let mut i = pos + 1;
                while matches!(self.at(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                    i += 1;
                }
                (TokenKind::Whitespace, i)
            }
            b'#' if n1 == Some(b'[') => (TokenKind::Punct, pos + 2),
            b'#' => (TokenKind::Comment, self.line_comment(pos + 1)),
            b'/' if n1 == Some(b'/') => (TokenKind::Comment, self.line_comment(pos + 2)),
            b'/' if n1 == Some(b'*') => self.block_comment(pos),
            b'?' if n1 == Some(b'>') => {
                let end = match self.at(pos + 2) {
                    Some(b'\n') => pos + 3,
                    Some(b'\r') if self.at(pos + 3) == Some(b'\n') => pos + 4,
                    Some(b'\r') => pos + 3,
                    _ => pos + 2,
                };
                (TokenKind::CloseTag, end)
            }
            b'\'' => self.single_quoted(pos, pos + 1),
            b'"' => self.quoted(pos, pos + 1, b'"', depth),
            b'`' => self.quoted(pos, pos + 1, b'`', depth),
            b'b' | b'B' if n1 == Some(b'\'') => self.single_quoted(pos, pos + 2),
            b'b' | b'B' if n1 == Some(b'"') => self.quoted(pos, pos + 2, b'"', depth),
            b'b' | b'B' if self.starts_with(pos + 1, b"<<<") => self
                .heredoc(pos, pos + 4, depth)
                .unwrap_or_else(|| (TokenKind::Ident, self.name_end(pos))),
            b'<' if self.starts_with(pos, b"<<<") => {
                self.heredoc(pos, pos + 3, depth).unwrap_or_else(|| {
                    // Not a heredoc header: PHP reads `<<` then `<`, and no expression
                    // starts with `<`, so this never parses (`$x = <<<` at the end).
                    self.error(pos, pos + 2, "syntax error, unexpected token \"<<\"");
                    self.operator(pos)
                })
            }
            b'$' if n1.is_some_and(is_label_start) => {
                let mut i = pos + 1;
                while self.at(i).is_some_and(is_label_char) {
                    i += 1;
                }
                (TokenKind::Variable, i)
            }
            b'0'..=b'9' => (TokenKind::Number, self.number_end(pos)),
            b'.' if n1.is_some_and(|d| d.is_ascii_digit()) => {
                (TokenKind::Number, self.number_end(pos))
            }
            c if is_label_start(c) => (TokenKind::Ident, self.name_end(pos)),
            b'\\' if n1.is_some_and(is_label_start) => (TokenKind::Ident, self.name_end(pos)),
            _ => self.operator(pos),
        }
    }

    fn operator(&mut self, pos: usize) -> (TokenKind, usize) {
        // Fixed-size arrays compared in registers: a call to memcmp per candidate was
        // the lexer's largest cost on a wp-config.php.
        let rest = self.src.get(pos..).unwrap_or(&[]);
        if let Some(three) = rest.first_chunk::<3>() {
            if OPERATORS_3.contains(&three) {
                return (TokenKind::Punct, pos + 3);
            }
        }
        if let Some(two) = rest.first_chunk::<2>() {
            if OPERATORS_2.contains(&two) {
                return (TokenKind::Punct, pos + 2);
            }
        }
        match self.at(pos) {
            Some(c) if PUNCT_1.contains(&c) => (TokenKind::Punct, pos + 1),
            Some(c) => {
                self.error(
                    pos,
                    pos + 1,
                    format!("syntax error, unexpected character 0x{c:02X}"),
                );
                (TokenKind::Error, pos + 1)
            }
            None => (TokenKind::Error, self.src.len()),
        }
    }

    /// A name: `label`, `\label`, `a\b\c`.
    fn name_end(&self, pos: usize) -> usize {
        let mut i = pos;
        if self.at(i) == Some(b'\\') {
            i += 1;
        }
        loop {
            while self.at(i).is_some_and(is_label_char) {
                i += 1;
            }
            if self.at(i) == Some(b'\\') && self.at(i + 1).is_some_and(is_label_start) {
                i += 1;
            } else {
                return i.max(pos + 1);
            }
        }
    }

    fn digits_end(&self, mut i: usize, digit: fn(u8) -> bool) -> usize {
        while self.at(i).is_some_and(digit) {
            i += 1;
            if self.at(i) == Some(b'_') && self.at(i + 1).is_some_and(digit) {
                i += 1;
            }
        }
        i
    }

    /// LNUM, DNUM, EXPONENT_DNUM, HNUM, BNUM and `0o` octal, with `_` separators.
    fn number_end(&self, pos: usize) -> usize {
        fn dec(c: u8) -> bool {
            c.is_ascii_digit()
        }
        if self.at(pos) == Some(b'0') {
            let radix: Option<fn(u8) -> bool> = match self.at(pos + 1) {
                Some(b'x' | b'X') => Some(|c: u8| c.is_ascii_hexdigit()),
                Some(b'b' | b'B') => Some(|c: u8| c == b'0' || c == b'1'),
                Some(b'o' | b'O') => Some(|c: u8| (b'0'..=b'7').contains(&c)),
                _ => None,
            };
            if let Some(digit) = radix {
                if self.at(pos + 2).is_some_and(digit) {
                    return self.digits_end(pos + 2, digit);
                }
            }
        }
        let mut i = self.digits_end(pos, dec);
        if self.at(i) == Some(b'.') && (i > pos || self.at(i + 1).is_some_and(dec)) {
            i = self.digits_end(i + 1, dec);
        }
        if matches!(self.at(i), Some(b'e' | b'E')) {
            let mut k = i + 1;
            if matches!(self.at(k), Some(b'+' | b'-')) {
                k += 1;
            }
            if self.at(k).is_some_and(dec) {
                i = self.digits_end(k, dec);
            }
        }
        i.max(pos + 1)
    }

    /// `#` / `//` comment body from `from`: ends before the newline (PHP 8 leaves it to
    /// the whitespace token), or before `?>`.
    fn line_comment(&self, from: usize) -> usize {
        let len = self.src.len();
        let mut i = from;
        while i < len {
            match self.src[i] {
                b'\n' | b'\r' => return i,
                b'?' if self.at(i + 1) == Some(b'>') => return i,
                _ => i += 1,
            }
        }
        len
    }

    fn block_comment(&mut self, pos: usize) -> (TokenKind, usize) {
        let body = self.src.get(pos + 2..).unwrap_or(&[]);
        match body.windows(2).position(|w| w == b"*/") {
            Some(off) => (TokenKind::Comment, pos + 2 + off + 2),
            None => {
                let msg = format!(
                    "Unterminated comment starting line {}",
                    php_line(self.src, pos)
                );
                self.error(pos, pos + 2, msg);
                (TokenKind::Comment, self.src.len())
            }
        }
    }

    fn single_quoted(&mut self, start: usize, from: usize) -> (TokenKind, usize) {
        let len = self.src.len();
        let mut i = from;
        while i < len {
            match self.src[i] {
                b'\'' => return (TokenKind::String, i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        let msg = format!(
            "syntax error, unexpected string content \"{}\"",
            php_excerpt(&self.src[from.min(len)..])
        );
        self.error(start, from, msg);
        (TokenKind::Error, len)
    }

    /// A `"..."` or `` `...` `` string from its opening quote at `from - 1`.
    fn quoted(&mut self, start: usize, from: usize, quote: u8, depth: usize) -> (TokenKind, usize) {
        let len = self.src.len();
        let mut i = from;
        while i < len {
            match self.src[i] {
                c if c == quote => return (TokenKind::String, i + 1),
                b'\\' => i += 2,
                b'$' if self.at(i + 1).is_some_and(is_label_start) => i = self.simple_var_end(i),
                b'$' if self.at(i + 1) == Some(b'{') => match self.skip_code(i + 1, depth) {
                    Some(end) => i = end,
                    None => return (TokenKind::Error, len),
                },
                b'{' if self.at(i + 1) == Some(b'$') => match self.skip_code(i, depth) {
                    Some(end) => i = end,
                    None => return (TokenKind::Error, len),
                },
                _ => i += 1,
            }
        }
        let msg = if quote == b'`' {
            "syntax error, unexpected end of file, expecting \"`\"".to_string()
        } else if has_interpolation(&self.src[from.min(len)..]) {
            "syntax error, unexpected end of file".to_string()
        } else if from >= len {
            "syntax error, unexpected end of file, expecting variable or string content or \"${\" or \"{$\"".to_string()
        } else {
            "syntax error, unexpected end of file, expecting variable or \"${\" or \"{$\""
                .to_string()
        };
        self.error(start, from, msg);
        (TokenKind::Error, len)
    }

    /// `$name` or `$name[offset]` interpolated in a string, from the `$` at `i`. In the
    /// offset (PHP's ST_VAR_OFFSET) a quote does not end the string; whitespace, `\\`,
    /// `'` and `#` end the offset (a parse error PHP reports).
    fn simple_var_end(&self, i: usize) -> usize {
        let mut i = i + 1;
        while self.at(i).is_some_and(is_label_char) {
            i += 1;
        }
        if self.at(i) != Some(b'[') {
            return i;
        }
        i += 1;
        loop {
            match self.at(i) {
                None | Some(b' ' | b'\n' | b'\r' | b'\t' | b'\\' | b'\'' | b'#') => return i,
                Some(b']') => return i + 1,
                Some(b'$') if self.at(i + 1).is_some_and(is_label_start) => {
                    i += 2;
                    while self.at(i).is_some_and(is_label_char) {
                        i += 1;
                    }
                }
                Some(c) if is_label_char(c) => {
                    while self.at(i).is_some_and(is_label_char) {
                        i += 1;
                    }
                }
                Some(_) => i += 1,
            }
        }
    }

    /// Skip the PHP code of an interpolation whose `{` is at `brace`; returns the end
    /// of its closing `}`, or `None` (after reporting) when the file ends first.
    fn skip_code(&mut self, brace: usize, depth: usize) -> Option<usize> {
        let len = self.src.len();
        if depth + 1 >= MAX_DEPTH {
            self.error(
                brace,
                brace + 1,
                format!("strings nested more than {MAX_DEPTH} levels deep in string interpolation"),
            );
            return None;
        }
        self.property_next = false;
        let mut level = 0usize;
        let mut pos = brace + 1;
        while pos < len {
            let (kind, end) = self.script_token(pos, depth + 1);
            let end = end.clamp(pos + 1, len);
            match kind {
                TokenKind::Punct if self.src[pos] == b'{' => level += 1,
                TokenKind::Punct if self.src[pos] == b'}' => {
                    if level == 0 {
                        return Some(end);
                    }
                    level -= 1;
                }
                // An unterminated string inside: already reported.
                TokenKind::Error if end >= len => return None,
                // `?>` leaves PHP even here; the code goes on after the next open tag
                // (then `}` returns to the string), as PHP's state stack does.
                TokenKind::CloseTag => {
                    let (html_end, tag_end) = self.find_open_tag(end);
                    if tag_end <= html_end {
                        break;
                    }
                    pos = tag_end;
                    continue;
                }
                _ => {}
            }
            pos = end;
        }
        let msg = unclosed_message(self.src, b'{', brace, len);
        self.error(brace, brace + 1, msg);
        None
    }

    /// A heredoc or nowdoc at `start` (`<<<` or `b<<<`); `after` is past `<<<`.
    /// `None` when the text is not a valid heredoc header (then it is `<<` `<`).
    fn heredoc(&mut self, start: usize, after: usize, depth: usize) -> Option<(TokenKind, usize)> {
        let len = self.src.len();
        let header = parse_heredoc_header(self.src, after)?;
        let label = &self.src[header.label.0..header.label.1];
        if let Some(end) = closing_label_at(self.src, header.body, label) {
            return Some((TokenKind::Heredoc, end));
        }
        let mut i = header.body;
        while i < len {
            match self.src[i] {
                b'\n' | b'\r' => {
                    i += if self.src[i] == b'\r' && self.at(i + 1) == Some(b'\n') {
                        2
                    } else {
                        1
                    };
                    if let Some(end) = closing_label_at(self.src, i, label) {
                        return Some((TokenKind::Heredoc, end));
                    }
                }
                b'\\' if !header.nowdoc => {
                    i += if matches!(self.at(i + 1), Some(b'\n' | b'\r') | None) {
                        1
                    } else {
                        2
                    }
                }
                b'$' if !header.nowdoc && self.at(i + 1).is_some_and(is_label_start) => {
                    i = self.simple_var_end(i)
                }
                b'$' if !header.nowdoc && self.at(i + 1) == Some(b'{') => {
                    match self.skip_code(i + 1, depth) {
                        Some(end) => i = end,
                        None => return Some((TokenKind::Error, len)),
                    }
                }
                b'{' if !header.nowdoc && self.at(i + 1) == Some(b'$') => {
                    match self.skip_code(i, depth) {
                        Some(end) => i = end,
                        None => return Some((TokenKind::Error, len)),
                    }
                }
                _ => i += 1,
            }
        }
        self.error(
            start,
            header.header_end,
            "syntax error, unexpected end of file, expecting variable or heredoc end or \"${\" or \"{$\"",
        );
        Some((TokenKind::Error, len))
    }
}

fn unclosed_message(src: &[u8], c: u8, open: usize, now: usize) -> String {
    let line = php_line(src, open);
    if line != php_line(src, now) {
        format!("Unclosed '{}' on line {line}", c as char)
    } else {
        format!("Unclosed '{}'", c as char)
    }
}

struct HeredocHeader {
    /// Label start and end.
    label: (usize, usize),
    nowdoc: bool,
    /// End of the header text before its newline.
    header_end: usize,
    /// First byte of the body (after the header's newline).
    body: usize,
}

/// `{TABS_AND_SPACES}(LABEL|'LABEL'|"LABEL"){NEWLINE}` from `after` (past `<<<`).
fn parse_heredoc_header(src: &[u8], after: usize) -> Option<HeredocHeader> {
    let at = |i: usize| src.get(i).copied();
    let mut i = after;
    while matches!(at(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let quote = match at(i) {
        Some(q @ (b'\'' | b'"')) => {
            i += 1;
            Some(q)
        }
        _ => None,
    };
    if !at(i).is_some_and(is_label_start) {
        return None;
    }
    let label_start = i;
    while at(i).is_some_and(is_label_char) {
        i += 1;
    }
    let label = (label_start, i);
    if let Some(q) = quote {
        if at(i) != Some(q) {
            return None;
        }
        i += 1;
    }
    let header_end = i;
    let body = match at(i) {
        Some(b'\n') => i + 1,
        Some(b'\r') if at(i + 1) == Some(b'\n') => i + 2,
        Some(b'\r') => i + 1,
        _ => return None,
    };
    Some(HeredocHeader {
        label,
        nowdoc: quote == Some(b'\''),
        header_end,
        body,
    })
}

/// At a line start `i`: `[ \t]*LABEL` not followed by a label character (and not at
/// the very end of the file, as PHP requires). Returns the end of the label.
fn closing_label_at(src: &[u8], mut i: usize, label: &[u8]) -> Option<usize> {
    while matches!(src.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let end = i + label.len();
    if src.get(i..)?.starts_with(label) && end < src.len() && !is_label_char(src[end]) {
        Some(end)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------------------

/// What a string token means.
enum Lit {
    /// A constant string, decoded.
    Bytes(Vec<u8>),
    /// Interpolates variables or runs a command: known only at run time.
    Dynamic,
    /// PHP rejects it; the message PHP gives.
    Invalid(String),
}

/// Decode a `String` or `Heredoc` token's text.
fn string_literal(text: &[u8]) -> Lit {
    let t = match text {
        [b'b' | b'B', rest @ ..] if matches!(rest.first(), Some(b'\'' | b'"' | b'<')) => rest,
        _ => text,
    };
    match t.first() {
        Some(b'\'') if t.len() >= 2 && t.ends_with(b"'") => {
            Lit::Bytes(unescape_single(&t[1..t.len() - 1]))
        }
        Some(b'"') if t.len() >= 2 && t.ends_with(b"\"") => {
            let body = &t[1..t.len() - 1];
            if has_interpolation(body) {
                Lit::Dynamic
            } else {
                match unescape(body, b'"') {
                    Ok(b) => Lit::Bytes(b),
                    Err(e) => Lit::Invalid(e),
                }
            }
        }
        Some(b'`') => Lit::Dynamic,
        Some(b'<') => heredoc_literal(t),
        _ => Lit::Invalid("syntax error, unexpected end of file".into()),
    }
}

fn has_interpolation(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'$' if body
                .get(i + 1)
                .is_some_and(|&c| is_label_start(c) || c == b'{') =>
            {
                return true
            }
            b'{' if body.get(i + 1) == Some(&b'$') => return true,
            _ => i += 1,
        }
    }
    false
}

fn unescape_single(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        match (body[i], body.get(i + 1)) {
            (b'\\', Some(&c @ (b'\\' | b'\''))) => {
                out.push(c);
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Escapes of double-quoted strings, backticks (`quote` = `` ` ``) and heredocs
/// (`quote` = 0), as `zend_scan_escape_string` decodes them.
fn unescape(body: &[u8], quote: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = body.get(i + 1) else {
            out.push(b'\\');
            break;
        };
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'e' => out.push(0x1b),
            b'"' | b'`' if e != quote => out.extend_from_slice(&[b'\\', e]),
            b'"' | b'`' | b'\\' | b'$' => out.push(e),
            b'x' | b'X' if body.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u8;
                let mut n = 0;
                while n < 2 && body.get(i).is_some_and(u8::is_ascii_hexdigit) {
                    v = v.wrapping_mul(16).wrapping_add(hex_val(body[i]));
                    i += 1;
                    n += 1;
                }
                out.push(v);
            }
            b'u' if body.get(i) == Some(&b'{') => {
                let digits_start = i + 1;
                let mut j = digits_start;
                while body.get(j).is_some_and(u8::is_ascii_hexdigit) {
                    j += 1;
                }
                if body.get(j) != Some(&b'}') || j == digits_start {
                    return Err("Invalid UTF-8 codepoint escape sequence".into());
                }
                let digits = &body[digits_start..j];
                let significant = digits.iter().skip_while(|&&d| d == b'0').count();
                let cp = if significant > 8 {
                    u32::MAX
                } else {
                    digits
                        .iter()
                        .fold(0u32, |v, &d| v.wrapping_mul(16) | u32::from(hex_val(d)))
                };
                if cp > 0x10FFFF {
                    return Err(
                        "Invalid UTF-8 codepoint escape sequence: Codepoint too large".into(),
                    );
                }
                push_utf8(&mut out, cp);
                i = j + 1;
            }
            b'0'..=b'7' => {
                let mut v: u32 = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && body.get(i).is_some_and(|d| (b'0'..=b'7').contains(d)) {
                    v = v * 8 + u32::from(body[i] - b'0');
                    i += 1;
                    n += 1;
                }
                // PHP warns about \400 and above and keeps the low byte.
                out.push((v & 0xFF) as u8);
            }
            _ => out.extend_from_slice(&[b'\\', e]),
        }
    }
    Ok(out)
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// UTF-8 encoding as PHP does it (surrogates included).
fn push_utf8(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

/// The value of a complete heredoc/nowdoc token: indentation of the closing marker
/// removed from every line (PHP 7.3), escapes decoded in a heredoc.
fn heredoc_literal(t: &[u8]) -> Lit {
    let Some(after) = t.iter().position(|&b| b == b'<').map(|p| p + 3) else {
        return Lit::Invalid("syntax error, unexpected end of file".into());
    };
    let Some(h) = parse_heredoc_header(t, after) else {
        return Lit::Invalid("syntax error, unexpected end of file".into());
    };
    let label = &t[h.label.0..h.label.1];
    if !t.ends_with(label) || t.len() < h.body + label.len() {
        return Lit::Invalid(
            "syntax error, unexpected end of file, expecting variable or heredoc end or \"${\" or \"{$\"".into(),
        );
    }
    let label_at = t.len() - label.len();
    let mut line_start = label_at;
    while line_start > h.body && matches!(t[line_start - 1], b' ' | b'\t') {
        line_start -= 1;
    }
    let indent = &t[line_start..label_at];
    let spaces = indent.contains(&b' ');
    if spaces && indent.contains(&b'\t') {
        return Lit::Invalid("Invalid indentation - tabs and spaces cannot be mixed".into());
    }
    let body_end = if line_start <= h.body {
        h.body
    } else if line_start >= 2 && &t[line_start - 2..line_start] == b"\r\n" {
        line_start - 2
    } else {
        line_start - 1
    };
    let body = &t[h.body..body_end.max(h.body)];
    if !h.nowdoc && has_interpolation(body) {
        return Lit::Dynamic;
    }
    let stripped = match strip_indentation(body, indent.len(), spaces) {
        Ok(s) => s,
        Err(e) => return Lit::Invalid(e),
    };
    if h.nowdoc {
        Lit::Bytes(stripped)
    } else {
        match unescape(&stripped, 0) {
            Ok(b) => Lit::Bytes(b),
            Err(e) => Lit::Invalid(e),
        }
    }
}

/// Remove `n` columns of indentation from every line, as `strip_multiline_string_indentation`.
fn strip_indentation(body: &[u8], n: usize, spaces: bool) -> Result<Vec<u8>, String> {
    if n == 0 {
        return Ok(body.to_vec());
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    loop {
        // The line is body[i..nl]; its newline (if any) follows.
        let nl = body[i..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map_or(body.len(), |p| i + p);
        let mut s = i;
        while s - i < n && s < nl {
            let c = body[s];
            if c != b' ' && c != b'\t' {
                return Err(format!(
                    "Invalid body indentation level (expecting an indentation level of at least {n})"
                ));
            }
            if (spaces && c == b'\t') || (!spaces && c == b' ') {
                return Err("Invalid indentation - tabs and spaces cannot be mixed".into());
            }
            s += 1;
        }
        let next = match body.get(nl) {
            Some(b'\r') if body.get(nl + 1) == Some(&b'\n') => nl + 2,
            Some(_) => nl + 1,
            None => nl,
        };
        out.extend_from_slice(&body[s..next]);
        if next >= body.len() {
            return Ok(out);
        }
        i = next;
    }
}

/// The value of a number token; `Err` with PHP's message for `08`, `0_9`...
fn number_literal(text: &[u8]) -> Result<PhpValue, String> {
    let s: Vec<u8> = text.iter().copied().filter(|&c| c != b'_').collect();
    let radix_value = |digits: &[u8], radix: u32| -> PhpValue {
        let mut v: u64 = 0;
        let mut overflow = false;
        for &d in digits {
            let dv = u64::from(hex_val(d));
            match v
                .checked_mul(u64::from(radix))
                .and_then(|x| x.checked_add(dv))
            {
                Some(n) => v = n,
                None => {
                    overflow = true;
                    break;
                }
            }
        }
        if overflow || v > i64::MAX as u64 {
            let f = digits
                .iter()
                .fold(0f64, |f, &d| f * f64::from(radix) + f64::from(hex_val(d)));
            PhpValue::Float(f)
        } else {
            PhpValue::Int(v as i64)
        }
    };
    match s.as_slice() {
        [b'0', b'x' | b'X', rest @ ..] => Ok(radix_value(rest, 16)),
        [b'0', b'b' | b'B', rest @ ..] => Ok(radix_value(rest, 2)),
        [b'0', b'o' | b'O', rest @ ..] => Ok(radix_value(rest, 8)),
        _ if s.iter().any(|&c| matches!(c, b'.' | b'e' | b'E')) => {
            let text = String::from_utf8_lossy(&s);
            text.parse::<f64>()
                .map(PhpValue::Float)
                .map_err(|_| "Invalid numeric literal".to_string())
        }
        [b'0', rest @ ..] if !rest.is_empty() => {
            if rest.iter().any(|&c| c > b'7') {
                Err("Invalid numeric literal".into())
            } else {
                Ok(radix_value(rest, 8))
            }
        }
        _ => {
            let v = radix_value(&s, 10);
            if let PhpValue::Float(_) = v {
                // Exact decimal conversion, as zend_strtod.
                let text = String::from_utf8_lossy(&s);
                return Ok(text.parse::<f64>().map_or(v, PhpValue::Float));
            }
            Ok(v)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctl {
    If,
    ElseIf,
    Else,
    While,
    For,
    Foreach,
    Switch,
    Catch,
    Match,
    Declare,
    Do,
    Try,
}

impl Ctl {
    /// The body may not run (or run with other values).
    fn conditional(self) -> bool {
        !matches!(self, Ctl::Do | Ctl::Try | Ctl::Declare)
    }
    /// `ctl (...): ... endctl;` exists.
    fn has_alt_syntax(self) -> bool {
        !matches!(self, Ctl::Catch | Ctl::Match | Ctl::Do | Ctl::Try)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FrameKind {
    Root = 0,
    Brace = 1,
    Paren = 2,
    Bracket = 3,
    /// The one statement of a braceless `if (...) stmt;` / `else stmt;` / loop.
    Single = 4,
    /// `if (...): ... endif;` and the other alternative syntaxes.
    Alt = 5,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    kind: FrameKind,
    /// Code in this frame may not run.
    cond: bool,
    /// A short-circuit operator (`||`, `?`, `and`...) came before, in the current
    /// expression of this frame.
    sc: bool,
    /// `}` of this brace ends a statement (not a closure or `match` body).
    stmt: bool,
    /// Inside a class/interface/trait/enum body (nearest brace).
    in_class: bool,
    /// `(` of a control structure header.
    header: Option<Ctl>,
}

/// The frame stack, with counts so that every query is O(1).
struct Frames {
    v: Vec<Frame>,
    counts: [usize; 6],
    hot: usize,
}

impl Frames {
    fn new() -> Self {
        Frames {
            v: vec![Frame {
                kind: FrameKind::Root,
                cond: false,
                sc: false,
                stmt: true,
                in_class: false,
                header: None,
            }],
            counts: [1, 0, 0, 0, 0, 0],
            hot: 0,
        }
    }

    fn top(&self) -> Frame {
        self.v.last().copied().unwrap_or(Frame {
            kind: FrameKind::Root,
            cond: false,
            sc: false,
            stmt: true,
            in_class: false,
            header: None,
        })
    }

    fn len(&self) -> usize {
        self.v.len()
    }

    fn push(
        &mut self,
        kind: FrameKind,
        cond: bool,
        stmt: bool,
        class_body: bool,
        header: Option<Ctl>,
    ) {
        let in_class = if kind == FrameKind::Brace {
            class_body
        } else {
            self.top().in_class
        };
        self.counts[kind as usize] += 1;
        if cond {
            self.hot += 1;
        }
        self.v.push(Frame {
            kind,
            cond,
            sc: false,
            stmt,
            in_class,
            header,
        });
    }

    fn pop(&mut self) -> Option<Frame> {
        if self.v.len() <= 1 {
            return None;
        }
        let f = self.v.pop()?;
        self.counts[f.kind as usize] -= 1;
        if f.cond || f.sc {
            self.hot -= 1;
        }
        Some(f)
    }

    /// Pop up to and including the nearest frame of `kind`, if there is one.
    fn pop_until(&mut self, kind: FrameKind) -> Option<Frame> {
        if self.counts[kind as usize] == 0 || kind == FrameKind::Root {
            return None;
        }
        while let Some(f) = self.pop() {
            if f.kind == kind {
                return Some(f);
            }
        }
        None
    }

    fn set_sc(&mut self, on: bool) {
        if let Some(top) = self.v.last_mut() {
            let before = top.cond || top.sc;
            top.sc = on;
            let after = top.cond || top.sc;
            if after && !before {
                self.hot += 1;
            } else if before && !after {
                self.hot -= 1;
            }
        }
    }

    fn conditional(&self) -> bool {
        self.hot > 0
    }

    /// A statement ended (`;`, `?>`, or the `}` of a block): the braceless bodies it
    /// completes end too.
    fn end_statement(&mut self) {
        self.set_sc(false);
        while self.top().kind == FrameKind::Single {
            self.pop();
            self.set_sc(false);
        }
    }
}

struct Extractor<'a> {
    src: &'a [u8],
    tokens: &'a [Token],
    /// Indices of the significant tokens (not whitespace or comments).
    sig: Vec<usize>,
    /// For each significant opener (`(`, `[`, `#[`, `{`), its closer; `usize::MAX` if none.
    pair: Vec<usize>,
    /// Bytes left for `Computed` source texts, so nested calls cannot make output
    /// quadratic in the input.
    computed_budget: std::cell::Cell<usize>,
}

const NO_PAIR: usize = usize::MAX;

impl<'a> Extractor<'a> {
    fn new(src: &'a [u8], tokens: &'a [Token]) -> Self {
        let sig: Vec<usize> = (0..tokens.len())
            .filter(|&i| !matches!(tokens[i].kind, TokenKind::Whitespace | TokenKind::Comment))
            .collect();
        let mut pair = vec![NO_PAIR; sig.len()];
        let mut open: Vec<(usize, u8)> = Vec::new();
        let mut counts = [0usize; 3];
        let class = |c: u8| match c {
            b'(' | b')' => 0,
            b'[' | b']' => 1,
            _ => 2,
        };
        for k in 0..sig.len() {
            let t = tokens[sig[k]];
            if t.kind != TokenKind::Punct {
                continue;
            }
            match slice(src, t.span) {
                b"(" | b"[" | b"{" | b"#[" => {
                    let c = if slice(src, t.span) == b"#[" {
                        b'['
                    } else {
                        src[t.span.start]
                    };
                    open.push((k, c));
                    counts[class(c)] += 1;
                }
                [c @ (b')' | b']' | b'}')] => {
                    let cl = class(*c);
                    if counts[cl] == 0 {
                        continue;
                    }
                    while let Some((o, oc)) = open.pop() {
                        counts[class(oc)] -= 1;
                        if class(oc) == cl {
                            pair[o] = k;
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        Extractor {
            src,
            tokens,
            sig,
            pair,
            computed_budget: std::cell::Cell::new(src.len() + 65536),
        }
    }

    fn tok(&self, k: usize) -> Token {
        self.tokens[self.sig[k]]
    }

    fn text(&self, k: usize) -> &'a [u8] {
        slice(self.src, self.tokens[self.sig[k]].span)
    }

    fn kind(&self, k: usize) -> Option<TokenKind> {
        self.sig.get(k).map(|&i| self.tokens[i].kind)
    }

    fn punct(&self, k: usize, p: &str) -> bool {
        self.kind(k) == Some(TokenKind::Punct) && self.text(k) == p.as_bytes()
    }

    fn ident_ci(&self, k: usize, word: &str) -> bool {
        self.kind(k) == Some(TokenKind::Ident) && self.text(k).eq_ignore_ascii_case(word.as_bytes())
    }

    fn pair_of(&self, k: usize) -> Option<usize> {
        self.pair.get(k).copied().filter(|&p| p != NO_PAIR)
    }

    fn span_of(&self, a: usize, b: usize) -> Span {
        Span::new(self.tok(a).span.start, self.tok(b - 1).span.end)
    }

    fn run(&self) -> Vec<Statement> {
        let mut out = Vec::new();
        let mut frames = Frames::new();
        let mut pending: Option<Ctl> = None;
        let mut header_kw: Option<Ctl> = None;
        let mut pending_fn: Option<usize> = None;
        let mut pending_class: Option<usize> = None;
        let mut prev_boundary = true;
        let mut prev_at_stmt = false;
        for k in 0..self.sig.len() {
            let tok = self.tok(k);
            let text = self.text(k);
            let is_punct = |p: &[u8]| tok.kind == TokenKind::Punct && text == p;
            let mut at_stmt = prev_boundary;

            // A control structure's body starts here.
            if let Some(ctl) = pending.take() {
                if is_punct(b"{") {
                    frames.push(
                        FrameKind::Brace,
                        ctl.conditional(),
                        ctl != Ctl::Match,
                        false,
                        None,
                    );
                    prev_boundary = true;
                    prev_at_stmt = at_stmt;
                    continue;
                } else if is_punct(b":") && ctl.has_alt_syntax() {
                    let continues = matches!(ctl, Ctl::Else | Ctl::ElseIf)
                        && frames.top().kind == FrameKind::Alt;
                    if !continues {
                        frames.push(FrameKind::Alt, ctl.conditional(), true, false, None);
                    }
                    prev_boundary = true;
                    prev_at_stmt = at_stmt;
                    continue;
                } else if is_punct(b";") || tok.kind == TokenKind::CloseTag || ctl == Ctl::Match {
                    // Empty body (`while (x);`), or broken code.
                } else {
                    frames.push(FrameKind::Single, ctl.conditional(), true, false, None);
                    at_stmt = true;
                }
            }
            if header_kw.is_some() && !is_punct(b"(") {
                header_kw = None;
            }
            let after_member = k > 0
                && (self.punct(k - 1, "->") || self.punct(k - 1, "?->") || self.punct(k - 1, "::"));

            // Statements we extract.
            let cond = frames.conditional();
            match tok.kind {
                TokenKind::Ident if !after_member => {
                    let name = strip_ns_root(text);
                    let which = if name.eq_ignore_ascii_case(b"define") {
                        Some(Call::Define)
                    } else if name.eq_ignore_ascii_case(b"ini_set") {
                        Some(Call::IniSet)
                    } else {
                        None
                    };
                    if let Some(which) = which {
                        let standalone_start =
                            at_stmt || (k > 0 && self.punct(k - 1, "@") && prev_at_stmt);
                        if let Some(st) = self.call(k, which, cond, standalone_start) {
                            out.push(st);
                        }
                    } else if text.eq_ignore_ascii_case(b"const")
                        && at_stmt
                        && !frames.top().in_class
                        && !matches!(frames.top().kind, FrameKind::Paren | FrameKind::Bracket)
                    {
                        out.extend(self.consts(k, cond));
                    }
                }
                TokenKind::Variable if text == b"$table_prefix" && at_stmt => {
                    if let Some(st) = self.table_prefix(k, cond) {
                        out.push(st);
                    }
                }
                _ => {}
            }

            // Structure.
            prev_at_stmt = at_stmt;
            prev_boundary = false;
            match tok.kind {
                TokenKind::OpenTag => prev_boundary = !text.starts_with(b"<?="),
                TokenKind::InlineHtml => prev_boundary = true,
                TokenKind::CloseTag => {
                    frames.end_statement();
                    if pending_fn == Some(frames.len()) {
                        pending_fn = None;
                    }
                    if pending_class == Some(frames.len()) {
                        pending_class = None;
                    }
                    prev_boundary = true;
                }
                TokenKind::Ident if !after_member => {
                    let lower = text.to_ascii_lowercase();
                    match lower.as_slice() {
                        b"if" => header_kw = Some(Ctl::If),
                        b"elseif" => header_kw = Some(Ctl::ElseIf),
                        b"while" => header_kw = Some(Ctl::While),
                        b"for" => header_kw = Some(Ctl::For),
                        b"foreach" => header_kw = Some(Ctl::Foreach),
                        b"switch" => header_kw = Some(Ctl::Switch),
                        b"catch" => header_kw = Some(Ctl::Catch),
                        b"declare" => header_kw = Some(Ctl::Declare),
                        b"match" => header_kw = Some(Ctl::Match),
                        b"else" => pending = Some(Ctl::Else),
                        b"do" => pending = Some(Ctl::Do),
                        b"try" | b"finally" => pending = Some(Ctl::Try),
                        b"function" => pending_fn = Some(frames.len()),
                        b"fn" | b"and" | b"or" => frames.set_sc(true),
                        b"class" | b"interface" | b"trait" => pending_class = Some(frames.len()),
                        b"enum" if self.kind(k + 1) == Some(TokenKind::Ident) => {
                            pending_class = Some(frames.len())
                        }
                        b"endif" | b"endwhile" | b"endfor" | b"endforeach" | b"endswitch"
                        | b"enddeclare" => {
                            frames.pop_until(FrameKind::Alt);
                        }
                        _ => {}
                    }
                }
                TokenKind::Punct => match text {
                    b"(" => frames.push(FrameKind::Paren, false, false, false, header_kw.take()),
                    b")" => {
                        if let Some(f) = frames.pop_until(FrameKind::Paren) {
                            if f.header.is_some() {
                                pending = f.header;
                            }
                        }
                    }
                    b"[" | b"#[" => frames.push(FrameKind::Bracket, false, false, false, None),
                    b"]" => {
                        frames.pop_until(FrameKind::Bracket);
                    }
                    b"{" => {
                        let len = frames.len();
                        if pending_fn == Some(len) {
                            pending_fn = None;
                            frames.push(FrameKind::Brace, true, true, false, None);
                        } else if pending_class == Some(len) {
                            pending_class = None;
                            frames.push(FrameKind::Brace, false, true, true, None);
                        } else {
                            frames.push(FrameKind::Brace, false, at_stmt, false, None);
                        }
                        prev_boundary = true;
                    }
                    b"}" => {
                        if let Some(f) = frames.pop_until(FrameKind::Brace) {
                            if f.stmt {
                                frames.end_statement();
                            }
                        }
                        prev_boundary = true;
                    }
                    b";" => {
                        frames.end_statement();
                        if pending_fn == Some(frames.len()) {
                            pending_fn = None;
                        }
                        if pending_class == Some(frames.len()) {
                            pending_class = None;
                        }
                        prev_boundary = true;
                    }
                    b"," => frames.set_sc(false),
                    b":" => prev_boundary = true,
                    b"||" | b"&&" | b"?" | b"??" | b"??=" => frames.set_sc(true),
                    _ => {}
                },
                _ => {}
            }
        }
        out
    }

    /// Split `a..b` at top-level commas.
    fn split_args(&self, a: usize, b: usize) -> Vec<(usize, usize)> {
        let mut args = Vec::new();
        let mut start = a;
        let mut k = a;
        while k < b {
            if let Some(p) = self.pair_of(k) {
                k = p.min(b) + 1;
                continue;
            }
            if self.punct(k, ",") {
                args.push((start, k));
                start = k + 1;
            }
            k += 1;
        }
        if start < b {
            args.push((start, b));
        }
        args
    }

    /// `define(...)` / `ini_set(...)` with its name at significant index `k`.
    fn call(&self, k: usize, which: Call, cond: bool, standalone_start: bool) -> Option<Statement> {
        if k > 0
            && ["function", "new", "const", "fn"]
                .iter()
                .any(|w| self.ident_ci(k - 1, w))
        {
            return None;
        }
        if !self.punct(k + 1, "(") {
            return None;
        }
        let close = self.pair_of(k + 1)?;
        let args = self.split_args(k + 2, close);
        let (first_name, second_name) = match which {
            Call::Define => ("constant_name", "value"),
            Call::IniSet => ("option", "value"),
        };
        let mut positional = Vec::new();
        let mut first = None;
        let mut second = None;
        for &(a, b) in &args {
            if self.punct(a, "...") {
                return None;
            }
            if b > a + 1 && self.kind(a) == Some(TokenKind::Ident) && self.punct(a + 1, ":") {
                let name = self.text(a);
                if name.eq_ignore_ascii_case(first_name.as_bytes()) {
                    first = Some((a + 2, b));
                } else if name.eq_ignore_ascii_case(second_name.as_bytes()) {
                    second = Some((a + 2, b));
                }
            } else {
                positional.push((a, b));
            }
        }
        let mut positional = positional.into_iter();
        let first = first.or_else(|| positional.next())?;
        let second = second.or_else(|| positional.next())?;
        if first.0 >= first.1 || second.0 >= second.1 {
            return None;
        }
        let PhpValue::Str(name) = self.eval(first.0, first.1, 0)? else {
            return None;
        };
        let name_span = self.span_of(first.0, first.1);
        let (value, value_span) = self.value(second.0, second.1);

        let start = if k > 0 && self.punct(k - 1, "@") {
            self.tok(k - 1).span.start
        } else {
            self.tok(k).span.start
        };
        let mut end = self.tok(close).span.end;
        let next_ends = close + 1 >= self.sig.len()
            || self.punct(close + 1, ";")
            || self.kind(close + 1) == Some(TokenKind::CloseTag);
        if standalone_start && next_ends && self.punct(close + 1, ";") {
            end = self.tok(close + 1).span.end;
        }
        let kind = match which {
            Call::Define => StatementKind::Define {
                name,
                name_span,
                value,
                value_span,
            },
            Call::IniSet => StatementKind::IniSet {
                key: name,
                key_span: name_span,
                value,
                value_span,
            },
        };
        Some(Statement {
            span: Span::new(start, end),
            kind,
            conditional: cond,
        })
    }

    /// `const A = 1, B = 2;` at significant index `k` (the `const`).
    fn consts(&self, k: usize, cond: bool) -> Vec<Statement> {
        let mut items = Vec::new();
        let mut j = k + 1;
        let mut end_k;
        loop {
            if self.kind(j) != Some(TokenKind::Ident) || !self.punct(j + 1, "=") {
                return Vec::new();
            }
            let name = String::from_utf8_lossy(self.text(j)).into_owned();
            let name_span = self.tok(j).span;
            let e = self.expr_end(j + 2, true);
            if e <= j + 2 {
                return Vec::new();
            }
            let (value, value_span) = self.value(j + 2, e);
            items.push((name, name_span, value, value_span));
            end_k = e;
            if self.punct(e, ",") {
                j = e + 1;
            } else {
                break;
            }
        }
        let start = self.tok(k).span.start;
        let end = if self.punct(end_k, ";") {
            self.tok(end_k).span.end
        } else {
            self.tok(end_k - 1).span.end
        };
        items
            .into_iter()
            .map(|(name, name_span, value, value_span)| Statement {
                span: Span::new(start, end),
                kind: StatementKind::Const {
                    name,
                    name_span,
                    value,
                    value_span,
                },
                conditional: cond,
            })
            .collect()
    }

    /// `$table_prefix = value;` at significant index `k`.
    fn table_prefix(&self, k: usize, cond: bool) -> Option<Statement> {
        if !self.punct(k + 1, "=") {
            return None;
        }
        let e = self.expr_end(k + 2, false);
        let terminated = self.punct(e, ";") || self.kind(e) == Some(TokenKind::CloseTag);
        if e <= k + 2 || !terminated {
            return None;
        }
        let (value, value_span) = self.value(k + 2, e);
        let end = if self.punct(e, ";") {
            self.tok(e).span.end
        } else {
            self.tok(e - 1).span.end
        };
        Some(Statement {
            span: Span::new(self.tok(k).span.start, end),
            kind: StatementKind::TablePrefix { value, value_span },
            conditional: cond,
        })
    }

    /// The end (exclusive significant index) of the expression starting at `from`:
    /// the first top-level `;`, `?>`, unmatched closer, or (`comma`) `,`.
    fn expr_end(&self, from: usize, comma: bool) -> usize {
        let n = self.sig.len();
        let mut k = from;
        while k < n {
            let kind = self.kind(k);
            if matches!(
                kind,
                Some(TokenKind::CloseTag | TokenKind::OpenTag | TokenKind::InlineHtml)
            ) {
                return k;
            }
            if kind == Some(TokenKind::Punct) {
                match self.text(k) {
                    b"(" | b"[" | b"{" | b"#[" => match self.pair_of(k) {
                        Some(p) => {
                            k = p + 1;
                            continue;
                        }
                        None => return n,
                    },
                    b";" | b")" | b"]" | b"}" => return k,
                    b"," if comma => return k,
                    _ => {}
                }
            }
            k += 1;
        }
        n
    }

    /// The value of the expression `a..b` (non-empty) and its span.
    fn value(&self, a: usize, b: usize) -> (PhpValue, Span) {
        let span = self.span_of(a, b);
        let value = self.eval(a, b, 0).unwrap_or_else(|| {
            const SHORT: usize = 64;
            let text = slice(self.src, span);
            let budget = self.computed_budget.get();
            let keep = if text.len() <= budget {
                text.len()
            } else {
                text.len().min(SHORT)
            };
            self.computed_budget.set(budget.saturating_sub(keep));
            let mut s = String::from_utf8_lossy(&text[..keep]).into_owned();
            if keep < text.len() {
                s.push('…');
            }
            PhpValue::Computed(s)
        });
        (value, span)
    }

    /// A literal: string, number, `true`/`false`/`null`, unary minus, parentheses, and
    /// `.` concatenation of those. `None` when the value is only known at run time.
    fn eval(&self, a: usize, b: usize, depth: usize) -> Option<PhpValue> {
        if a >= b || depth > MAX_DEPTH {
            return None;
        }
        let mut parts = Vec::new();
        let mut start = a;
        let mut k = a;
        while k < b {
            if let Some(p) = self.pair_of(k) {
                if p >= b {
                    return None;
                }
                k = p + 1;
                continue;
            }
            if self.punct(k, ".") {
                parts.push((start, k));
                start = k + 1;
            }
            k += 1;
        }
        parts.push((start, b));
        if parts.len() == 1 {
            return self.eval_unary(a, b, depth);
        }
        let mut s = String::new();
        for (x, y) in parts {
            let v = self.eval_unary(x, y, depth)?;
            s.push_str(&php_string(&v)?);
        }
        Some(PhpValue::Str(s))
    }

    fn eval_unary(&self, a: usize, b: usize, depth: usize) -> Option<PhpValue> {
        if a >= b || depth > MAX_DEPTH {
            return None;
        }
        if self.punct(a, "-") || self.punct(a, "+") {
            let negate = self.punct(a, "-");
            return match self.eval_unary(a + 1, b, depth + 1)? {
                PhpValue::Int(i) if negate => Some(
                    i.checked_neg()
                        .map_or(PhpValue::Float(-(i as f64)), PhpValue::Int),
                ),
                PhpValue::Float(f) if negate => Some(PhpValue::Float(-f)),
                v @ (PhpValue::Int(_) | PhpValue::Float(_)) => Some(v),
                _ => None,
            };
        }
        if b == a + 1 {
            return self.literal(a);
        }
        if self.punct(a, "(") && self.pair_of(a) == Some(b - 1) {
            return self.eval(a + 1, b - 1, depth + 1);
        }
        None
    }

    fn literal(&self, k: usize) -> Option<PhpValue> {
        let text = self.text(k);
        match self.kind(k)? {
            TokenKind::String | TokenKind::Heredoc => match string_literal(text) {
                Lit::Bytes(b) => Some(PhpValue::Str(String::from_utf8_lossy(&b).into_owned())),
                _ => None,
            },
            TokenKind::Number => number_literal(text).ok(),
            TokenKind::Ident => {
                let name = strip_ns_root(text);
                if name.eq_ignore_ascii_case(b"true") {
                    Some(PhpValue::Bool(true))
                } else if name.eq_ignore_ascii_case(b"false") {
                    Some(PhpValue::Bool(false))
                } else if name.eq_ignore_ascii_case(b"null") {
                    Some(PhpValue::Null)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
enum Call {
    Define,
    IniSet,
}

/// A literal as PHP's `.` converts it; floats are left to run time.
fn php_string(v: &PhpValue) -> Option<String> {
    match v {
        PhpValue::Str(s) => Some(s.clone()),
        PhpValue::Int(i) => Some(i.to_string()),
        PhpValue::Bool(true) => Some("1".into()),
        PhpValue::Bool(false) | PhpValue::Null => Some(String::new()),
        PhpValue::Float(_) | PhpValue::Computed(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, String)> {
        let f = parse(src.as_bytes());
        f.tokens
            .iter()
            .map(|t| (t.kind, src[t.span.start..t.span.end].to_string()))
            .collect()
    }

    fn value_of(src: &str) -> PhpValue {
        let f = parse(format!("<?php define('X', {src});").as_bytes());
        assert!(f.errors.is_empty(), "{src}: {:?}", f.errors);
        match f.statements.first().map(|s| &s.kind) {
            Some(StatementKind::Define { value, .. }) => value.clone(),
            other => panic!("{src}: {other:?}"),
        }
    }

    #[test]
    fn numbers_decode_like_php() {
        let n = |s: &str| number_literal(s.as_bytes());
        assert_eq!(n("0777"), Ok(PhpValue::Int(511)));
        assert_eq!(n("0o17"), Ok(PhpValue::Int(15)));
        assert_eq!(n("0b11"), Ok(PhpValue::Int(3)));
        assert_eq!(n("0x1F"), Ok(PhpValue::Int(31)));
        assert_eq!(n("1_000"), Ok(PhpValue::Int(1000)));
        assert_eq!(n(".5"), Ok(PhpValue::Float(0.5)));
        assert_eq!(n("1."), Ok(PhpValue::Float(1.0)));
        assert_eq!(n("1.e3"), Ok(PhpValue::Float(1000.0)));
        assert_eq!(n("1e3"), Ok(PhpValue::Float(1000.0)));
        assert_eq!(n("9223372036854775807"), Ok(PhpValue::Int(i64::MAX)));
        assert_eq!(
            n("9223372036854775808"),
            Ok(PhpValue::Float(9_223_372_036_854_775_808.0))
        );
        assert_eq!(
            n("0x7FFFFFFFFFFFFFFFF"),
            Ok(PhpValue::Float(147_573_952_589_676_412_927.0))
        );
        assert!(n("08").is_err());
        assert_eq!(n("0"), Ok(PhpValue::Int(0)));
    }

    #[test]
    fn number_tokens_follow_the_scanner() {
        assert_eq!(
            kinds("<?php 1__0 0x 1e 1..2"),
            vec![
                (TokenKind::OpenTag, "<?php ".into()),
                (TokenKind::Number, "1".into()),
                (TokenKind::Ident, "__0".into()),
                (TokenKind::Whitespace, " ".into()),
                (TokenKind::Number, "0".into()),
                (TokenKind::Ident, "x".into()),
                (TokenKind::Whitespace, " ".into()),
                (TokenKind::Number, "1".into()),
                (TokenKind::Ident, "e".into()),
                (TokenKind::Whitespace, " ".into()),
                (TokenKind::Number, "1.".into()),
                (TokenKind::Number, ".2".into()),
            ]
        );
    }

    #[test]
    fn escapes_decode_like_zend_scan_escape_string() {
        let u = |s: &str, q: u8| unescape(s.as_bytes(), q);
        assert_eq!(u(r"a\nb\t\\\$\x41\101\u{1F600}\q\", b'"').unwrap(), {
            let mut v = b"a\nb\t\\$AA".to_vec();
            v.extend_from_slice("😀".as_bytes());
            v.extend_from_slice(b"\\q\\");
            v
        });
        assert_eq!(u(r#"\"\`"#, b'"').unwrap(), br#""\`"#.to_vec());
        assert_eq!(u(r#"\"\`"#, 0).unwrap(), br#"\"\`"#.to_vec());
        assert_eq!(u(r"\400", b'"').unwrap(), vec![0]);
        assert_eq!(u(r"\u202e", b'"').unwrap(), br"\u202e".to_vec());
        assert!(u(r"\u{}", b'"').is_err());
        assert!(u(r"\u{zz}", b'"').is_err());
        assert_eq!(
            u(r"\u{110000}", b'"').unwrap_err(),
            "Invalid UTF-8 codepoint escape sequence: Codepoint too large"
        );
        assert_eq!(unescape_single(br"a\'b\\c\n"), br"a'b\c\n".to_vec());
    }

    #[test]
    fn a_heredoc_opener_without_a_header_is_a_syntax_error() {
        // php -l: syntax error, unexpected token "<<"
        for src in ["<?php $x = <<<", "<?php $x = <<< ", "<?php $x = <<<1\n"] {
            let f = parse(src.as_bytes());
            assert!(!f.errors.is_empty(), "{src:?} parsed");
            assert_eq!(print(&f, src.as_bytes()), src.as_bytes());
        }
        assert!(parse(b"<?php $x = <<<EOT\nx\nEOT;\n").errors.is_empty());
        assert!(parse(b"<?php $x = 1 << 2;\n").errors.is_empty());
    }

    #[test]
    fn heredoc_indentation_is_removed() {
        let lit = |s: &str| match heredoc_literal(s.as_bytes()) {
            Lit::Bytes(b) => Ok(String::from_utf8(b).unwrap()),
            Lit::Dynamic => Err("dynamic".to_string()),
            Lit::Invalid(e) => Err(e),
        };
        assert_eq!(
            lit("<<<EOT\n    a\n      b\n\n    EOT"),
            Ok("a\n  b\n".into())
        );
        assert_eq!(lit("<<<'EOT'\n  $a\\n\n  EOT"), Ok("$a\\n".into()));
        assert_eq!(lit("<<<\"EOT\"\r\nx\\ty\r\nEOT"), Ok("x\ty".into()));
        assert_eq!(lit("<<<EOT\nEOT"), Ok(String::new()));
        assert_eq!(lit("<<<EOT\n$a\nEOT"), Err("dynamic".into()));
        assert_eq!(
            lit("<<<EOT\n  a\n b\n  EOT"),
            Err(
                "Invalid body indentation level (expecting an indentation level of at least 2)"
                    .into()
            )
        );
        assert_eq!(
            lit("<<<EOT\n\ta\n  EOT"),
            Err("Invalid indentation - tabs and spaces cannot be mixed".into())
        );
    }

    #[test]
    fn values_are_literal_only_when_literal() {
        assert_eq!(
            value_of("'a' . \"b\" . 1 . true . null"),
            PhpValue::Str("ab11".into())
        );
        assert_eq!(value_of("-1"), PhpValue::Int(-1));
        assert_eq!(value_of("- (2)"), PhpValue::Int(-2));
        assert_eq!(value_of("-1.5"), PhpValue::Float(-1.5));
        assert_eq!(value_of("((('x')))"), PhpValue::Str("x".into()));
        assert_eq!(value_of("\\TRUE"), PhpValue::Bool(true));
        assert_eq!(
            value_of("'a' . 1.5"),
            PhpValue::Computed("'a' . 1.5".into())
        );
        assert_eq!(value_of("1 + 2"), PhpValue::Computed("1 + 2".into()));
        assert_eq!(value_of("-'1'"), PhpValue::Computed("-'1'".into()));
        let deep = format!("{}1{}", "(".repeat(150), ")".repeat(150));
        assert!(matches!(value_of(&deep), PhpValue::Computed(_)));
    }

    #[test]
    fn php_line_counts_lone_cr() {
        assert_eq!(php_line(b"a\rb\r\nc\nd", 8), 4);
        assert_eq!(
            php_excerpt("é".repeat(20).as_bytes()),
            format!("{}...", "é".repeat(15))
        );
    }

    #[test]
    fn frames_stay_consistent() {
        let mut f = Frames::new();
        f.push(FrameKind::Paren, false, false, false, None);
        f.set_sc(true);
        assert!(f.conditional());
        f.push(FrameKind::Brace, false, true, true, None);
        assert!(f.top().in_class);
        f.pop_until(FrameKind::Paren);
        assert!(!f.conditional());
        assert!(f.pop().is_none());
        assert!(f.pop_until(FrameKind::Alt).is_none());
    }
}
