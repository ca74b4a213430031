//! A small PHP tokenizer for wp-config.php, and the statements WordPress cares about.
//! Not a PHP parser: it finds `define()`, `const`, `ini_set()` and `$table_prefix`
//! reliably (comments, strings, heredocs and `?>` cannot fool it) and says honestly
//! when a value is computed at run time.
//!
//! CONTRACT (used by `src/stack/`): keep these public types and functions.

use super::SyntaxError;
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
    pub span: Span,
    pub kind: StatementKind,
    /// Inside an `if`/`else`/`switch`/ternary or function body: may not run, or may run
    /// with another value (`if (!defined('WP_DEBUG')) define('WP_DEBUG', false);`).
    pub conditional: bool,
}

const MAX_ERRORS: usize = 20;

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}
fn is_ident(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<SyntaxError>,
}

impl Lexer<'_> {
    fn push(&mut self, kind: TokenKind, end: usize) {
        let end = end.min(self.src.len()).max(self.pos);
        if end > self.pos {
            self.tokens.push(Token {
                kind,
                span: Span::new(self.pos, end),
            });
        }
        self.pos = end;
    }
    fn eof_error(&mut self, what: &str) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(SyntaxError::new(
                Span::empty(self.src.len()),
                format!("syntax error, unexpected end of file ({what} not closed)"),
            ));
        }
    }

    /// Inline HTML up to the next open tag.
    fn html(&mut self) {
        let src = self.src;
        let mut i = self.pos;
        while i < src.len() {
            if src[i] == b'<' && src.get(i + 1) == Some(&b'?') {
                let rest = &src[i + 2..];
                let tag_len = if starts_with_ci(rest, b"php")
                    && rest.get(3).is_none_or(|b| b.is_ascii_whitespace())
                {
                    Some(5 + usize::from(rest.get(3).is_some()))
                } else if rest.first() == Some(&b'=') {
                    Some(3)
                } else {
                    None
                };
                if let Some(n) = tag_len {
                    // `<?php` takes one following whitespace byte (`\r\n` as one).
                    let mut end = i + n;
                    if n == 6 && src.get(end - 1) == Some(&b'\r') && src.get(end) == Some(&b'\n') {
                        end += 1;
                    }
                    self.push(TokenKind::InlineHtml, i);
                    self.push(TokenKind::OpenTag, end);
                    return;
                }
            }
            i += 1;
        }
        self.push(TokenKind::InlineHtml, src.len());
    }

    fn run(&mut self) {
        let src = self.src;
        self.html();
        while self.pos < src.len() {
            let i = self.pos;
            let b = src[i];
            let next = src.get(i + 1).copied();
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    let mut j = i;
                    while j < src.len() && matches!(src[j], b' ' | b'\t' | b'\r' | b'\n') {
                        j += 1;
                    }
                    self.push(TokenKind::Whitespace, j);
                }
                b'?' if next == Some(b'>') => {
                    let mut end = i + 2;
                    if src.get(end) == Some(&b'\n') {
                        end += 1;
                    } else if src.get(end) == Some(&b'\r') && src.get(end + 1) == Some(&b'\n') {
                        end += 2;
                    }
                    self.push(TokenKind::CloseTag, end);
                    self.html();
                }
                b'#' if next == Some(b'[') => self.push(TokenKind::Punct, i + 2),
                b'#' => self.line_comment(i + 1),
                b'/' if next == Some(b'/') => self.line_comment(i + 2),
                b'/' if next == Some(b'*') => match find(&src[i + 2..], b"*/") {
                    Some(k) => self.push(TokenKind::Comment, i + 2 + k + 2),
                    None => {
                        self.eof_error("comment");
                        self.push(TokenKind::Comment, src.len());
                    }
                },
                b'\'' | b'"' | b'`' => {
                    let mut j = i + 1;
                    while j < src.len() && src[j] != b {
                        j += if src[j] == b'\\' { 2 } else { 1 };
                    }
                    if j >= src.len() {
                        self.eof_error("string");
                        self.push(TokenKind::String, src.len());
                    } else {
                        self.push(TokenKind::String, j + 1);
                    }
                }
                b'<' if src[i..].starts_with(b"<<<") => self.heredoc(),
                b'$' if next.is_some_and(is_ident_start) => {
                    let mut j = i + 1;
                    while j < src.len() && is_ident(src[j]) {
                        j += 1;
                    }
                    self.push(TokenKind::Variable, j);
                }
                b'0'..=b'9' => {
                    let mut j = i;
                    while j < src.len()
                        && (src[j].is_ascii_alphanumeric()
                            || src[j] == b'_'
                            || src[j] == b'.'
                            || ((src[j] == b'+' || src[j] == b'-')
                                && matches!(src[j - 1], b'e' | b'E')
                                && !src[i..j].starts_with(b"0x")))
                    {
                        j += 1;
                    }
                    self.push(TokenKind::Number, j);
                }
                b'.' if next.is_some_and(|c| c.is_ascii_digit()) => {
                    let mut j = i + 1;
                    while j < src.len() && (src[j].is_ascii_digit() || src[j] == b'_') {
                        j += 1;
                    }
                    self.push(TokenKind::Number, j);
                }
                b'\\' if next.is_some_and(is_ident_start) => self.ident(),
                c if is_ident_start(c) => self.ident(),
                _ => {
                    const OPS: [&[u8]; 14] = [
                        b"===", b"!==", b"??=", b"<=>", b"||", b"&&", b"??", b"?:", b"->", b"=>",
                        b"::", b"==", b"!=", b".=",
                    ];
                    let n = OPS
                        .iter()
                        .find(|o| src[i..].starts_with(o))
                        .map(|o| o.len())
                        .unwrap_or(1);
                    self.push(TokenKind::Punct, i + n);
                }
            }
        }
    }

    fn ident(&mut self) {
        let src = self.src;
        let mut j = self.pos;
        while j < src.len()
            && (is_ident(src[j])
                || (src[j] == b'\\' && src.get(j + 1).is_some_and(|c| is_ident_start(*c))))
        {
            j += 1;
        }
        self.push(TokenKind::Ident, j);
    }

    /// `//` and `#` comments end at the line end or at `?>`.
    fn line_comment(&mut self, from: usize) {
        let src = self.src;
        let mut j = from;
        while j < src.len() && src[j] != b'\n' && !(src[j] == b'?' && src.get(j + 1) == Some(&b'>'))
        {
            j += 1;
        }
        self.push(TokenKind::Comment, j);
    }

    /// `<<<ID`, `<<<"ID"`, `<<<'ID'` (nowdoc) up to the closing identifier (PHP 7.3
    /// flexible closing: it may be indented and followed by other code).
    fn heredoc(&mut self) {
        let src = self.src;
        let mut j = self.pos + 3;
        while j < src.len() && (src[j] == b' ' || src[j] == b'\t') {
            j += 1;
        }
        let quote = src.get(j).copied().filter(|c| *c == b'"' || *c == b'\'');
        if quote.is_some() {
            j += 1;
        }
        let id_start = j;
        while j < src.len() && is_ident(src[j]) {
            j += 1;
        }
        let id = &src[id_start..j];
        if id.is_empty() {
            self.push(TokenKind::Punct, self.pos + 2);
            return;
        }
        if quote.is_some() {
            j += 1;
        }
        // Body starts after the newline; find a line whose first non-blank text is the id
        // not followed by an identifier byte.
        let mut line = match src[j..].iter().position(|c| *c == b'\n') {
            Some(k) => j + k + 1,
            None => src.len(),
        };
        while line < src.len() {
            let mut k = line;
            while k < src.len() && (src[k] == b' ' || src[k] == b'\t') {
                k += 1;
            }
            if src[k..].starts_with(id) && src.get(k + id.len()).is_none_or(|c| !is_ident(*c)) {
                self.push(TokenKind::Heredoc, k + id.len());
                return;
            }
            line = match src[line..].iter().position(|c| *c == b'\n') {
                Some(n) => line + n + 1,
                None => src.len(),
            };
        }
        self.eof_error("heredoc");
        self.push(TokenKind::Heredoc, src.len());
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decode a quoted string literal; `None` when it interpolates variables.
fn decode_string(raw: &[u8]) -> Option<String> {
    let q = *raw.first()?;
    let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut i = 0;
    if q == b'\'' {
        while i < inner.len() {
            if inner[i] == b'\\' && matches!(inner.get(i + 1), Some(b'\'') | Some(b'\\')) {
                out.push(inner[i + 1]);
                i += 2;
            } else {
                out.push(inner[i]);
                i += 1;
            }
        }
        return Some(String::from_utf8_lossy(&out).into_owned());
    }
    if q != b'"' {
        return None;
    }
    while i < inner.len() {
        let c = inner[i];
        if c == b'$'
            && inner
                .get(i + 1)
                .is_some_and(|n| is_ident_start(*n) || *n == b'{')
        {
            return None;
        }
        if c == b'{' && inner.get(i + 1) == Some(&b'$') {
            return None;
        }
        if c == b'\\' && i + 1 < inner.len() {
            let n = inner[i + 1];
            let simple = match n {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'v' => Some(0x0b),
                b'e' => Some(0x1b),
                b'f' => Some(0x0c),
                b'\\' | b'$' | b'"' => Some(n),
                _ => None,
            };
            if let Some(s) = simple {
                out.push(s);
                i += 2;
                continue;
            }
            if n == b'x' {
                let hex: Vec<u8> = inner[i + 2..]
                    .iter()
                    .take(2)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .copied()
                    .collect();
                if let Some(v) = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(v);
                    i += 2 + hex.len();
                    continue;
                }
            }
            if n.is_ascii_digit() && n < b'8' {
                let oct: Vec<u8> = inner[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|c| (b'0'..=b'7').contains(c))
                    .copied()
                    .collect();
                if let Some(v) = std::str::from_utf8(&oct)
                    .ok()
                    .and_then(|o| u32::from_str_radix(o, 8).ok())
                {
                    out.push((v & 0xff) as u8);
                    i += 1 + oct.len();
                    continue;
                }
            }
            if n == b'u' && inner.get(i + 2) == Some(&b'{') {
                if let Some(end) = inner[i + 3..].iter().position(|c| *c == b'}') {
                    let hex = &inner[i + 3..i + 3 + end];
                    if let Some(ch) = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32)
                    {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += 4 + end;
                        continue;
                    }
                }
            }
        }
        out.push(c);
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn parse_number(text: &str) -> Option<PhpValue> {
    let t: String = text.chars().filter(|c| *c != '_').collect();
    let lower = t.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.chars().all(|c| c.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    match int {
        Some(i) => Some(PhpValue::Int(i)),
        None => lower.parse::<f64>().ok().map(PhpValue::Float),
    }
}

/// The value of an expression made of significant tokens, when it is a literal or a
/// concatenation of literals.
fn literal(tokens: &[Token], src: &[u8]) -> Option<PhpValue> {
    let text = |t: &Token| String::from_utf8_lossy(&src[t.span.start..t.span.end]).into_owned();
    let mut toks = tokens;
    // Strip balanced outer parentheses.
    while toks.len() >= 2 && text(&toks[0]) == "(" && text(&toks[toks.len() - 1]) == ")" {
        toks = &toks[1..toks.len() - 1];
    }
    match toks {
        [] => None,
        [t] => match t.kind {
            TokenKind::String => decode_string(&src[t.span.start..t.span.end]).map(PhpValue::Str),
            TokenKind::Number => parse_number(&text(t)),
            TokenKind::Ident => match text(t)
                .trim_start_matches('\\')
                .to_ascii_lowercase()
                .as_str()
            {
                "true" => Some(PhpValue::Bool(true)),
                "false" => Some(PhpValue::Bool(false)),
                "null" => Some(PhpValue::Null),
                _ => None,
            },
            _ => None,
        },
        [sign, n] if n.kind == TokenKind::Number && (text(sign) == "-" || text(sign) == "+") => {
            match parse_number(&text(n))? {
                PhpValue::Int(i) if text(sign) == "-" => Some(PhpValue::Int(-i)),
                PhpValue::Float(f) if text(sign) == "-" => Some(PhpValue::Float(-f)),
                v => Some(v),
            }
        }
        _ => {
            // 'a' . 'b' . 3
            let parts: Vec<&[Token]> = toks
                .split(|t| t.kind == TokenKind::Punct && text(t) == ".")
                .collect();
            if parts.len() < 2 {
                return None;
            }
            let mut s = String::new();
            for p in parts {
                match literal(p, src)? {
                    PhpValue::Str(x) => s.push_str(&x),
                    PhpValue::Int(i) => s.push_str(&i.to_string()),
                    PhpValue::Float(f) => s.push_str(&f.to_string()),
                    PhpValue::Bool(true) => s.push('1'),
                    PhpValue::Bool(false) | PhpValue::Null => {}
                    PhpValue::Computed(_) => return None,
                }
            }
            Some(PhpValue::Str(s))
        }
    }
}

fn value_of(tokens: &[Token], src: &[u8]) -> (PhpValue, Span) {
    let span = match (tokens.first(), tokens.last()) {
        (Some(a), Some(b)) => Span::new(a.span.start, b.span.end),
        _ => Span::default(),
    };
    let v = literal(tokens, src).unwrap_or_else(|| {
        PhpValue::Computed(String::from_utf8_lossy(&src[span.start..span.end]).into_owned())
    });
    (v, span)
}

/// Split call arguments (significant tokens between the call's parentheses) at
/// top-level commas. Returns the args and the index of the closing `)`.
fn call_args(sig: &[Token], open: usize, src: &[u8]) -> Option<(Vec<Vec<Token>>, usize)> {
    let mut depth = 0usize;
    let mut args: Vec<Vec<Token>> = vec![Vec::new()];
    for (k, t) in sig.iter().enumerate().skip(open) {
        let txt = &src[t.span.start..t.span.end];
        if t.kind == TokenKind::Punct {
            match txt {
                b"(" | b"[" | b"{" => {
                    depth += 1;
                    if depth == 1 {
                        continue;
                    }
                }
                b")" | b"]" | b"}" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some((args, k));
                    }
                }
                b"," if depth == 1 => {
                    args.push(Vec::new());
                    continue;
                }
                _ => {}
            }
        }
        if depth >= 1 {
            if let Some(last) = args.last_mut() {
                last.push(*t);
            }
        }
        if depth > super::MAX_DEPTH {
            return None;
        }
    }
    None
}

/// Walk the significant tokens and extract the statements WordPress cares about,
/// with whether each runs conditionally.
fn statements(tokens: &[Token], src: &[u8]) -> Vec<Statement> {
    let sig: Vec<Token> = tokens
        .iter()
        .filter(|t| {
            !matches!(
                t.kind,
                TokenKind::Whitespace
                    | TokenKind::Comment
                    | TokenKind::InlineHtml
                    | TokenKind::OpenTag
            )
        })
        .copied()
        .collect();
    let text = |t: &Token| &src[t.span.start..t.span.end];
    let lower = |t: &Token| String::from_utf8_lossy(text(t)).to_ascii_lowercase();
    let mut out = Vec::new();
    // Brace frames: true when the block runs conditionally (if/else/loop/function/class…).
    let mut frames: Vec<bool> = Vec::new();
    // A braceless `if (...) stmt;` or `else stmt;`: the next statement is conditional.
    let mut next_stmt_conditional = false;
    let mut stmt_conditional = false;
    // Within the current statement: `||`, `&&`, `?`, `and`, `or` seen.
    let mut stmt_logic = false;
    // Alternative syntax (`if (...):` … `endif;`) depth.
    let mut alt_depth = 0usize;
    // A control keyword was seen: the next `{` opens a conditional frame.
    let mut pending_control = false;
    let mut paren = 0usize;
    let mut i = 0;
    while i < sig.len() {
        let t = sig[i];
        let txt = text(&t);
        if next_stmt_conditional && txt != b"{" {
            // The first token of a braceless `if (…) stmt;`: that statement is conditional.
            stmt_conditional = true;
            next_stmt_conditional = false;
        }
        let cond_here =
            frames.iter().any(|c| *c) || alt_depth > 0 || stmt_conditional || stmt_logic;
        match t.kind {
            TokenKind::Ident => {
                let w = lower(&t);
                let w = w.trim_start_matches('\\');
                match w {
                    "if" | "elseif" | "while" | "for" | "foreach" | "switch" | "match"
                    | "catch" => {
                        // Skip the condition's parentheses.
                        if let Some((_, close)) = call_args(&sig, i + 1, src) {
                            let after = sig.get(close + 1).map(&text);
                            if after == Some(b":") {
                                alt_depth += 1;
                                i = close + 2;
                                continue;
                            }
                            if after == Some(b"{") {
                                pending_control = true;
                            } else {
                                next_stmt_conditional = true;
                            }
                            // The condition itself is not a statement of interest.
                            i = close + 1;
                            continue;
                        }
                    }
                    "else" | "do" | "try" | "finally" => {
                        let after = sig.get(i + 1).map(&text);
                        if after == Some(b":") {
                            i += 2;
                            continue;
                        }
                        if after == Some(b"{") {
                            pending_control = true;
                        } else if w == "else" && sig.get(i + 1).is_some_and(|n| lower(n) == "if") {
                            // `else if`: handled by the `if`.
                        } else {
                            next_stmt_conditional = true;
                        }
                    }
                    "endif" | "endwhile" | "endfor" | "endforeach" | "endswitch" => {
                        alt_depth = alt_depth.saturating_sub(1);
                    }
                    "function" | "fn" | "class" | "interface" | "trait" | "enum" => {
                        pending_control = true;
                    }
                    "and" | "or" | "xor" => stmt_logic = true,
                    "define" | "ini_set" => {
                        let prev = i.checked_sub(1).map(|p| text(&sig[p]));
                        let is_call = sig.get(i + 1).map(&text) == Some(b"(")
                            && !matches!(prev, Some(b"->") | Some(b"::") | Some(b"function"));
                        if is_call {
                            if let Some((args, close)) = call_args(&sig, i + 1, src) {
                                let name_tok = args.first().filter(|a| a.len() == 1).map(|a| a[0]);
                                if let (Some(nt), Some(val)) = (
                                    name_tok.filter(|n| n.kind == TokenKind::String),
                                    args.get(1),
                                ) {
                                    if let Some(name) = decode_string(text(&nt)) {
                                        let (value, value_span) = value_of(val, src);
                                        let mut end = sig[close].span.end;
                                        if sig.get(close + 1).is_some_and(|n| text(n) == b";") {
                                            end = sig[close + 1].span.end;
                                        }
                                        let start = if prev == Some(b"@") {
                                            sig[i - 1].span.start
                                        } else {
                                            t.span.start
                                        };
                                        let kind = if w == "define" {
                                            StatementKind::Define {
                                                name,
                                                name_span: nt.span,
                                                value,
                                                value_span,
                                            }
                                        } else {
                                            StatementKind::IniSet {
                                                key: name,
                                                key_span: nt.span,
                                                value,
                                                value_span,
                                            }
                                        };
                                        out.push(Statement {
                                            span: Span::new(start, end),
                                            kind,
                                            conditional: cond_here || paren > 0,
                                        });
                                    }
                                }
                                i = close + 1;
                                continue;
                            }
                        }
                    }
                    "const" if !frames.iter().any(|c| *c) => {
                        // const NAME = value;  (not class constants: classes are conditional frames)
                        if let (Some(n), Some(eq)) = (sig.get(i + 1), sig.get(i + 2)) {
                            if n.kind == TokenKind::Ident && text(eq) == b"=" {
                                let mut k = i + 3;
                                let mut depth = 0usize;
                                while k < sig.len() {
                                    let x = text(&sig[k]);
                                    match x {
                                        b"(" | b"[" => depth += 1,
                                        b")" | b"]" => depth = depth.saturating_sub(1),
                                        b";" | b"," if depth == 0 => break,
                                        _ => {}
                                    }
                                    k += 1;
                                }
                                let (value, value_span) =
                                    value_of(&sig[i + 3..k.min(sig.len())], src);
                                let end = sig.get(k).map(|x| x.span.end).unwrap_or(value_span.end);
                                out.push(Statement {
                                    span: Span::new(t.span.start, end),
                                    kind: StatementKind::Const {
                                        name: String::from_utf8_lossy(text(n)).into_owned(),
                                        name_span: n.span,
                                        value,
                                        value_span,
                                    },
                                    conditional: cond_here,
                                });
                                i = k;
                                continue;
                            }
                        }
                    }
                    _ => {}
                }
            }
            TokenKind::Variable
                if txt == b"$table_prefix"
                    && paren == 0
                    && sig.get(i + 1).is_some_and(|n| text(n) == b"=") =>
            {
                let mut k = i + 2;
                while k < sig.len() && text(&sig[k]) != b";" {
                    k += 1;
                }
                let (value, value_span) = value_of(&sig[i + 2..k.min(sig.len())], src);
                let end = sig.get(k).map(|x| x.span.end).unwrap_or(value_span.end);
                out.push(Statement {
                    span: Span::new(t.span.start, end),
                    kind: StatementKind::TablePrefix { value, value_span },
                    conditional: cond_here,
                });
                i = k;
                continue;
            }
            TokenKind::Punct => match txt {
                b"(" => paren += 1,
                b")" => paren = paren.saturating_sub(1),
                b"{" => {
                    frames.push(pending_control || next_stmt_conditional || stmt_conditional);
                    pending_control = false;
                    next_stmt_conditional = false;
                    stmt_logic = false;
                    if frames.len() > super::MAX_DEPTH {
                        break;
                    }
                }
                b"}" => {
                    frames.pop();
                    stmt_conditional = false;
                    stmt_logic = false;
                }
                b";" => {
                    stmt_conditional = false;
                    stmt_logic = false;
                    paren = 0;
                }
                b"||" | b"&&" | b"?" | b"??" | b"?:" => stmt_logic = true,
                _ => {}
            },
            _ => {}
        }
        i += 1;
    }
    out
}

/// Tokenize and extract statements. Never panics; errors are in `File::errors`.
pub fn parse(src: &[u8]) -> File {
    let mut lx = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lx.run();
    let statements = statements(&lx.tokens, src);
    File {
        tokens: lx.tokens,
        statements,
        errors: lx.errors,
    }
}

/// Print the tokens back.
pub fn print(file: &File, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    for t in &file.tokens {
        let end = t.span.end.min(src.len());
        out.extend_from_slice(&src[t.span.start.min(end)..end]);
    }
    out
}

impl File {
    /// `define()`s in order, with their values.
    pub fn defines(&self) -> impl Iterator<Item = (&str, &PhpValue, &Statement)> {
        self.statements.iter().filter_map(|s| match &s.kind {
            StatementKind::Define { name, value, .. }
            | StatementKind::Const { name, value, .. } => Some((name.as_str(), value, s)),
            _ => None,
        })
    }

    /// The define of `name` PHP would execute first (later ones only warn "already
    /// defined"); an unconditional one is preferred over a conditional one before it.
    pub fn find_define(&self, name: &str) -> Option<&Statement> {
        let all: Vec<&Statement> = self
            .defines()
            .filter(|(n, _, _)| *n == name)
            .map(|(_, _, s)| s)
            .collect();
        all.iter().find(|s| !s.conditional).or(all.first()).copied()
    }

    /// Where a new define goes: the start of the line holding "That's all, stop
    /// editing!", else of the line that requires wp-settings.php.
    pub fn stop_editing_line(&self, src: &[u8]) -> Option<usize> {
        let line_start = |at: usize| {
            src[..at]
                .iter()
                .rposition(|b| *b == b'\n')
                .map(|p| p + 1)
                .unwrap_or(0)
        };
        for t in &self.tokens {
            if t.kind == TokenKind::Comment {
                let txt =
                    String::from_utf8_lossy(&src[t.span.start..t.span.end]).to_ascii_lowercase();
                if txt.contains("stop editing") {
                    return Some(line_start(t.span.start));
                }
            }
        }
        let sig: Vec<&Token> = self
            .tokens
            .iter()
            .filter(|t| !matches!(t.kind, TokenKind::Whitespace | TokenKind::Comment))
            .collect();
        for (k, t) in sig.iter().enumerate() {
            if t.kind != TokenKind::Ident {
                continue;
            }
            let w = String::from_utf8_lossy(&src[t.span.start..t.span.end]).to_ascii_lowercase();
            if matches!(
                w.as_str(),
                "require_once" | "require" | "include" | "include_once"
            ) && sig[k + 1..].iter().take(6).any(|n| {
                src[n.span.start..n.span.end]
                    .windows(15)
                    .any(|x| x == b"wp-settings.php")
            }) {
                return Some(line_start(t.span.start));
            }
        }
        None
    }
}
