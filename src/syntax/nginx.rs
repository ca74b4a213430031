//! nginx configuration syntax (reference: nginx `src/core/ngx_conf_file.c`).
//!
//! CONTRACT (used by `src/stack/`): keep these public types and functions.

use super::SyntaxError;
use crate::source::Span;

/// A parsed file: top-level items cover every byte of the input, in order.
#[derive(Debug, Clone, Default)]
pub struct File {
    pub items: Vec<Item>,
    pub errors: Vec<SyntaxError>,
}

#[derive(Debug, Clone)]
pub enum Item {
    /// Whitespace, newlines and `#` comments between directives.
    Trivia(Trivia),
    Directive(Directive),
    /// Bytes that could not be parsed (kept so printing stays lossless).
    Error(Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriviaKind {
    Whitespace,
    Comment,
}

#[derive(Debug, Clone, Copy)]
pub struct Trivia {
    pub kind: TriviaKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Single,
    Double,
}

/// One word: a directive name or argument.
#[derive(Debug, Clone)]
pub struct Word {
    /// The raw bytes including quotes.
    pub span: Span,
    pub quote: Quote,
    /// The value nginx sees: quotes removed, `\"` `\'` `\\` unescaped as ngx_conf_file.c does.
    pub value: Vec<u8>,
}

impl Word {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }
    pub fn is(&self, s: &str) -> bool {
        self.value == s.as_bytes()
    }
}

#[derive(Debug, Clone)]
pub struct Directive {
    /// From the first byte of the name to the end of `;` / `}` (or of the last word when missing).
    pub span: Span,
    pub name: Word,
    pub args: Vec<Word>,
    /// Whitespace and comments between the name, the arguments and the terminator.
    pub inner_trivia: Vec<Trivia>,
    pub end: End,
}

#[derive(Debug, Clone)]
pub enum End {
    Semicolon(Span),
    Block(Block),
    /// `*_by_lua_block { ... }`: the braces and everything between them, uninterpreted.
    RawBlock(Span),
    /// End of file or an error before the terminator (an E001 was recorded).
    Missing,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub open: Span,
    pub items: Vec<Item>,
    /// `None` when the file ended first (an E001 was recorded).
    pub close: Option<Span>,
}

impl Directive {
    pub fn block(&self) -> Option<&Block> {
        match &self.end {
            End::Block(b) => Some(b),
            _ => None,
        }
    }
    pub fn arg(&self, i: usize) -> Option<&Word> {
        self.args.get(i)
    }
    pub fn name_is(&self, s: &str) -> bool {
        self.name.is(s)
    }
}

impl Block {
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        directives(&self.items)
    }
}

impl File {
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        directives(&self.items)
    }
}

pub fn directives(items: &[Item]) -> impl Iterator<Item = &Directive> {
    items.iter().filter_map(|i| match i {
        Item::Directive(d) => Some(d),
        _ => None,
    })
}

/// Errors recorded per file before the rest are dropped (a binary-ish file could
/// otherwise produce one per byte).
const MAX_ERRORS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Space,
    Comment,
    Word(Quote),
    Semi,
    Open,
    Close,
}

/// The next token at `pos` (never empty unless at end of input), as ngx_conf_read_token
/// splits text: `#` starts a comment only where a word could start; a quote only
/// starts a word; `\` escapes the next byte; `${` does not open a block.
fn lex(src: &[u8], pos: usize) -> (Tok, usize, Option<&'static str>) {
    use nom::bytes::complete::{take_till, take_while1};
    let rest = &src[pos..];
    let ws = |b: u8| b == b' ' || b == b'\t' || b == b'\r' || b == b'\n';
    if let Ok((r, _)) = take_while1::<_, _, nom::error::Error<&[u8]>>(ws)(rest) {
        return (Tok::Space, src.len() - r.len(), None);
    }
    match rest[0] {
        b'#' => {
            let (r, _) = take_till::<_, _, nom::error::Error<&[u8]>>(|b| b == b'\n')(rest)
                .unwrap_or((&rest[rest.len()..], rest));
            (Tok::Comment, src.len() - r.len(), None)
        }
        b';' => (Tok::Semi, pos + 1, None),
        b'{' => (Tok::Open, pos + 1, None),
        b'}' => (Tok::Close, pos + 1, None),
        q @ (b'"' | b'\'') => {
            let mut i = pos + 1;
            while i < src.len() {
                match src[i] {
                    b'\\' => i += 2,
                    c if c == q => {
                        let quote = if q == b'"' {
                            Quote::Double
                        } else {
                            Quote::Single
                        };
                        return (Tok::Word(quote), i + 1, None);
                    }
                    _ => i += 1,
                }
            }
            (
                Tok::Word(if q == b'"' {
                    Quote::Double
                } else {
                    Quote::Single
                }),
                src.len(),
                Some("unbalanced"),
            )
        }
        _ => {
            let mut i = pos;
            while i < src.len() {
                match src[i] {
                    b'\\' => i += 2,
                    b'{' if i > pos && src[i - 1] == b'$' => i += 1,
                    b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' => break,
                    _ => i += 1,
                }
            }
            (Tok::Word(Quote::None), i.min(src.len()), None)
        }
    }
}

/// The value nginx sees: quotes removed; `\"`, `\'`, `\\` unescaped and `\t`, `\r`,
/// `\n` turned into control characters (ngx_conf_read_token's copy loop).
fn unescape(raw: &[u8], quote: Quote) -> Vec<u8> {
    let inner = match quote {
        Quote::None => raw,
        _ => &raw[1..raw.len().saturating_sub(1).max(1)],
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == b'\\' && i + 1 < inner.len() {
            match inner[i + 1] {
                b'"' | b'\'' | b'\\' => {
                    out.push(inner[i + 1]);
                    i += 2;
                    continue;
                }
                b't' => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                b'r' => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                b'n' => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(inner[i]);
        i += 1;
    }
    out
}

/// A `*_by_lua_block { ... }` body: balanced braces, Lua strings and comments skipped.
/// Returns the end offset (after the closing brace), or `None` at end of input.
fn raw_lua_block(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    // Long brackets: [[ ... ]] / [==[ ... ]==]
    let long_bracket = |i: usize| -> Option<(usize, usize)> {
        if src.get(i) != Some(&b'[') {
            return None;
        }
        let mut j = i + 1;
        while src.get(j) == Some(&b'=') {
            j += 1;
        }
        (src.get(j) == Some(&b'[')).then_some((j - i - 1, j + 1))
    };
    let skip_long = |level: usize, mut j: usize| -> Option<usize> {
        while j < src.len() {
            if src[j] == b']' {
                let mut k = j + 1;
                let mut n = 0;
                while src.get(k) == Some(&b'=') {
                    k += 1;
                    n += 1;
                }
                if n == level && src.get(k) == Some(&b']') {
                    return Some(k + 1);
                }
            }
            j += 1;
        }
        None
    };
    while i < src.len() {
        match src[i] {
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < src.len() && src[i] != q && src[i] != b'\n' {
                    i += if src[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' if src.get(i + 1) == Some(&b'-') => {
                if let Some((level, start)) = long_bracket(i + 2) {
                    i = skip_long(level, start)?;
                } else {
                    while i < src.len() && src[i] != b'\n' {
                        i += 1;
                    }
                }
            }
            b'[' => match long_bracket(i) {
                Some((level, start)) => i = skip_long(level, start)?,
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    None
}

struct Pending {
    name: Word,
    args: Vec<Word>,
    inner: Vec<Trivia>,
}

impl Pending {
    fn finish(self, end: End, end_at: usize) -> Directive {
        Directive {
            span: Span::new(self.name.span.start, end_at),
            name: self.name,
            args: self.args,
            inner_trivia: self.inner,
            end,
        }
    }
    fn last_end(&self) -> usize {
        self.args
            .last()
            .map(|w| w.span.end)
            .unwrap_or(self.name.span.end)
    }
}

struct Frame {
    header: Option<(Pending, Span)>,
    items: Vec<Item>,
}

struct Parser<'a> {
    src: &'a [u8],
    errors: Vec<SyntaxError>,
}

impl Parser<'_> {
    fn error(&mut self, span: Span, msg: impl Into<String>) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(SyntaxError::new(span, msg));
        }
    }
    fn unexpected(&mut self, span: Span) {
        let c = self.src.get(span.start).copied().unwrap_or(b'?');
        self.error(span, format!("unexpected \"{}\"", c as char));
    }
}

/// Parse a whole file. Never panics; errors are in `File::errors`.
pub fn parse(src: &[u8]) -> File {
    let mut p = Parser {
        src,
        errors: Vec::new(),
    };
    let mut stack: Vec<Frame> = vec![Frame {
        header: None,
        items: Vec::new(),
    }];
    let mut pending: Option<Pending> = None;
    let mut pos = 0;
    // After a quoted word, the next byte must end it (ngx_conf_read_token's need_space).
    let mut need_space = false;
    while pos < src.len() {
        let (tok, end, problem) = lex(src, pos);
        let span = Span::new(pos, end.max(pos + 1).min(src.len()));
        if need_space {
            need_space = false;
            if let Tok::Word(_) | Tok::Comment | Tok::Close = tok {
                if src[pos] != b')' {
                    p.unexpected(Span::new(pos, pos + 1));
                }
            }
        }
        let frame = stack.len() - 1;
        match tok {
            Tok::Space | Tok::Comment => {
                let kind = if tok == Tok::Space {
                    TriviaKind::Whitespace
                } else {
                    TriviaKind::Comment
                };
                let t = Trivia { kind, span };
                match &mut pending {
                    Some(d) => d.inner.push(t),
                    None => stack[frame].items.push(Item::Trivia(t)),
                }
            }
            Tok::Word(quote) => {
                if problem.is_some() {
                    // Unterminated quote: nginx reads to the end of the file.
                    p.error(
                        Span::empty(src.len()),
                        "unexpected end of file, expecting \";\" or \"}\"",
                    );
                }
                if quote != Quote::None {
                    need_space = true;
                }
                let w = Word {
                    span,
                    quote,
                    value: unescape(&src[span.start..span.end], quote),
                };
                match &mut pending {
                    Some(d) => d.args.push(w),
                    None => {
                        pending = Some(Pending {
                            name: w,
                            args: Vec::new(),
                            inner: Vec::new(),
                        })
                    }
                }
            }
            Tok::Semi => match pending.take() {
                Some(d) => stack[frame]
                    .items
                    .push(Item::Directive(d.finish(End::Semicolon(span), span.end))),
                None => {
                    p.unexpected(span);
                    stack[frame].items.push(Item::Error(span));
                }
            },
            Tok::Open => match pending.take() {
                Some(d) if d.name.value.ends_with(b"_by_lua_block") => {
                    match raw_lua_block(src, pos) {
                        Some(close) => {
                            let raw = Span::new(pos, close);
                            stack[frame]
                                .items
                                .push(Item::Directive(d.finish(End::RawBlock(raw), close)));
                            pos = close;
                            continue;
                        }
                        None => {
                            p.error(
                                Span::empty(src.len()),
                                "unexpected end of file, expecting \"}\"",
                            );
                            let raw = Span::new(pos, src.len());
                            stack[frame]
                                .items
                                .push(Item::Directive(d.finish(End::RawBlock(raw), src.len())));
                            pos = src.len();
                            continue;
                        }
                    }
                }
                Some(d) => {
                    if stack.len() > super::MAX_DEPTH {
                        p.error(
                            span,
                            format!("blocks nested deeper than {} levels", super::MAX_DEPTH),
                        );
                        let end_at = d.last_end();
                        stack[frame]
                            .items
                            .push(Item::Directive(d.finish(End::Missing, end_at)));
                        stack[frame].items.push(Item::Error(span));
                    } else {
                        stack.push(Frame {
                            header: Some((d, span)),
                            items: Vec::new(),
                        });
                    }
                }
                None => {
                    p.unexpected(span);
                    stack[frame].items.push(Item::Error(span));
                }
            },
            Tok::Close => {
                if let Some(d) = pending.take() {
                    // `proxy_pass x` missing its `;` before `}`.
                    p.unexpected(span);
                    let end_at = d.last_end();
                    stack[frame]
                        .items
                        .push(Item::Directive(d.finish(End::Missing, end_at)));
                }
                if stack.len() == 1 {
                    if p.errors.last().map(|e| e.span) != Some(span) {
                        p.unexpected(span);
                    }
                    stack[0].items.push(Item::Error(span));
                } else if let Some(Frame {
                    header: Some((d, open)),
                    items,
                }) = stack.pop()
                {
                    let block = Block {
                        open,
                        items,
                        close: Some(span),
                    };
                    let last = stack.len() - 1;
                    stack[last]
                        .items
                        .push(Item::Directive(d.finish(End::Block(block), span.end)));
                }
            }
        }
        pos = end.max(pos + 1);
    }
    let eof = Span::empty(src.len());
    if let Some(d) = pending.take() {
        p.error(eof, "unexpected end of file, expecting \";\" or \"}\"");
        let end_at = d.last_end();
        let last = stack.len() - 1;
        stack[last]
            .items
            .push(Item::Directive(d.finish(End::Missing, end_at)));
    } else if stack.len() > 1 {
        p.error(eof, "unexpected end of file, expecting \"}\"");
    }
    while stack.len() > 1 {
        if let Some(Frame {
            header: Some((d, open)),
            items,
        }) = stack.pop()
        {
            let end_at = items.last().map(item_end).unwrap_or(open.end);
            let block = Block {
                open,
                items,
                close: None,
            };
            let last = stack.len() - 1;
            stack[last]
                .items
                .push(Item::Directive(d.finish(End::Block(block), end_at)));
        }
    }
    let items = stack.pop().map(|f| f.items).unwrap_or_default();
    File {
        items,
        errors: p.errors,
    }
}

fn item_end(i: &Item) -> usize {
    match i {
        Item::Trivia(t) => t.span.end,
        Item::Directive(d) => d.span.end,
        Item::Error(s) => s.end,
    }
}

/// Print the tree back: concatenates the source bytes of every leaf in order.
pub fn print(file: &File, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    print_items(&file.items, src, &mut out);
    out
}

fn push(out: &mut Vec<u8>, src: &[u8], s: Span) {
    let end = s.end.min(src.len());
    out.extend_from_slice(&src[s.start.min(end)..end]);
}

fn print_items(items: &[Item], src: &[u8], out: &mut Vec<u8>) {
    for item in items {
        match item {
            Item::Trivia(t) => push(out, src, t.span),
            Item::Error(s) => push(out, src, *s),
            Item::Directive(d) => {
                let mut leaves: Vec<Span> = std::iter::once(d.name.span)
                    .chain(d.args.iter().map(|w| w.span))
                    .chain(d.inner_trivia.iter().map(|t| t.span))
                    .collect();
                leaves.sort_by_key(|s| s.start);
                for l in leaves {
                    push(out, src, l);
                }
                match &d.end {
                    End::Semicolon(s) | End::RawBlock(s) => push(out, src, *s),
                    End::Block(b) => {
                        push(out, src, b.open);
                        print_items(&b.items, src, out);
                        if let Some(c) = b.close {
                            push(out, src, c);
                        }
                    }
                    End::Missing => {}
                }
            }
        }
    }
}
