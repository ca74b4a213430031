//! nginx configuration syntax (reference: nginx `src/core/ngx_conf_file.c`).
//!
//! CONTRACT (used by `src/stack/`): keep these public types and functions.
//!
//! Words are read exactly as `ngx_conf_read_token()` reads them: they end at
//! whitespace, `;` or `{`; a quote opens a string only at the start of a word and must
//! be followed by whitespace, `;`, `{` or `)`; `#` starts a comment only where a word
//! could start (`a#b` is one word); `\` makes the next byte part of the word; `${`
//! does not open a block. Bodies of `*_by_lua_block` directives are kept raw, their
//! braces matched the way lua-nginx-module does (skipping Lua strings and comments).
//!
//! Errors use nginx's words and sit where nginx detects them, so their line is the
//! line `nginx -t` prints (tests/nginx_differential.rs checks this against nginx).
//! nginx stops at its first error; this parser records it and recovers (a directive
//! cut short ends `End::Missing`, a stray `}` or `;` becomes `Item::Error`), so the
//! rest of the file is still in the tree. Printing the tree gives back the input
//! byte for byte, whatever the input.

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
    /// Boxed: an item is mostly whitespace between directives, and a `Directive` is
    /// ~180 bytes inline; a config of a million lines is a million of each.
    Directive(Box<Directive>),
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
        Item::Directive(d) => Some(&**d),
        _ => None,
    })
}

impl File {
    /// Every directive of the file at any depth, in document order (parents before
    /// their children). Directives inside error spans are not part of the tree.
    pub fn all_directives(&self) -> Vec<&Directive> {
        let mut out = Vec::new();
        // Explicit stack of item slices still to visit (the tree depth is bounded
        // by MAX_DEPTH anyway, but this keeps the walk independent of it).
        let mut stack: Vec<std::slice::Iter<'_, Item>> = vec![self.items.iter()];
        while let Some(top) = stack.last_mut() {
            match top.next() {
                Some(Item::Directive(d)) => {
                    out.push(&**d);
                    if let End::Block(b) = &d.end {
                        stack.push(b.items.iter());
                    }
                }
                Some(_) => {}
                None => {
                    stack.pop();
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Token recognisers (nom). Each one mirrors a piece of ngx_conf_read_token().
// ---------------------------------------------------------------------------

use nom::bytes::complete::{tag, take_till, take_while, take_while1};
use nom::combinator::recognize;
use nom::error::{Error as NomError, ErrorKind};
use nom::sequence::{delimited, pair, preceded};
use nom::IResult;

/// nginx reads a configuration file through a buffer of this size; a token (word,
/// quoted string or comment) that does not fit is an error ("too long parameter").
const CONF_BUFFER: usize = 4096;

/// The only bytes nginx treats as whitespace between words.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// `(rest, taken)` after taking `n` bytes; never panics (`n` is clamped).
fn take(input: &[u8], n: usize) -> (&[u8], &[u8]) {
    let (taken, rest) = input.split_at(n.min(input.len()));
    (rest, taken)
}

fn fail(input: &[u8]) -> nom::Err<NomError<&[u8]>> {
    nom::Err::Error(NomError::new(input, ErrorKind::Verify))
}

/// A run of spaces, tabs, CRs and LFs.
fn whitespace(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_space)(input)
}

/// `#` to the end of the line, without the line ending (a `\r` before the `\n` is
/// left to the whitespace that follows).
fn comment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let (_, raw) = recognize(pair(tag("#"), take_till(|c| c == b'\n')))(input)?;
    let len = if raw.ends_with(b"\r") && input.get(raw.len()) == Some(&b'\n') {
        raw.len() - 1
    } else {
        raw.len()
    };
    Ok(take(input, len))
}

/// Where a word stops, following the state machine of ngx_conf_read_token():
/// `\` makes the next byte part of the word whatever it is, `${` does not open a
/// block, and only whitespace, `;` and `{` end an unquoted word (`}`, `#` and quotes
/// inside a word are ordinary bytes). For a quoted word, `close` is the quote byte
/// and `from` is 1 (just after the opening quote). Returns the offset just past the
/// end (past the closing quote if `close` is given) and whether a closing quote was seen.
fn scan_word(input: &[u8], from: usize, close: Option<u8>, first_is_dollar: bool) -> (usize, bool) {
    let mut escaped = false;
    let mut variable = first_is_dollar;
    for (i, &c) in input.iter().enumerate().skip(from) {
        if escaped {
            escaped = false;
            continue;
        }
        if c == b'{' && variable {
            continue;
        }
        variable = false;
        match c {
            b'\\' => escaped = true,
            b'$' => variable = true,
            _ => match close {
                Some(q) if c == q => return (i + 1, true),
                Some(_) => {}
                None if is_space(c) || c == b';' || c == b'{' => return (i, false),
                None => {}
            },
        }
    }
    (input.len(), false)
}

/// An unquoted word. It may start with anything but whitespace, `;`, `{`, `}`, `#`
/// and quotes (those mean something else at the start of a token).
fn bare_word(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let first = *input.first().ok_or_else(|| fail(input))?;
    if is_space(first) || matches!(first, b';' | b'{' | b'}' | b'#' | b'"' | b'\'') {
        return Err(fail(input));
    }
    // A leading `\` escapes the byte after it, exactly as inside the word.
    let (end, _) = if first == b'\\' {
        let from = 2.min(input.len());
        scan_word(input, from, None, false)
    } else {
        scan_word(input, 1, None, first == b'$')
    };
    Ok(take(input, end))
}

/// A `"..."` or `'...'` word, quotes included; the flag tells whether it was closed
/// before the end of the input.
fn quoted_word(input: &[u8]) -> IResult<&[u8], (&[u8], bool)> {
    let q = *input.first().ok_or_else(|| fail(input))?;
    if q != b'"' && q != b'\'' {
        return Err(fail(input));
    }
    let (end, closed) = scan_word(input, 1, Some(q), false);
    let (rest, raw) = take(input, end);
    Ok((rest, (raw, closed)))
}

/// The value nginx stores for a word: `\"`, `\'`, `\\` lose their backslash and
/// `\t`, `\r`, `\n` become tab, CR and LF; any other backslash stays as written.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        if c == b'\\' {
            match raw.get(i + 1) {
                Some(&e @ (b'"' | b'\'' | b'\\')) => {
                    out.push(e);
                    i += 2;
                    continue;
                }
                Some(b't') => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                Some(b'r') => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Lua long bracket opener `[[`, `[=[`, `[==[`…; returns the number of `=`.
fn lua_long_open(input: &[u8]) -> IResult<&[u8], usize> {
    let (rest, eqs) = delimited(tag("["), take_while(|c| c == b'='), tag("["))(input)?;
    Ok((rest, eqs.len()))
}

/// Lua `--` comment: a long one (`--[==[ ... ]==]`) or to the end of the line.
fn lua_comment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let (after_dashes, _) = tag("--")(input)?;
    if let Ok((_, level)) = lua_long_open(after_dashes) {
        let (rest, _) = preceded(tag("--"), lua_long_string_of(level))(input)?;
        return Ok(take(input, input.len() - rest.len()));
    }
    recognize(pair(tag("--"), take_till(|c| c == b'\n')))(input)
}

/// A long string of the given level: `[==[` up to the matching `]==]`, or to the end
/// of the input when it is never closed.
fn lua_long_string_of(level: usize) -> impl Fn(&[u8]) -> IResult<&[u8], &[u8]> {
    move |input: &[u8]| {
        let (body, got) = lua_long_open(input)?;
        if got != level {
            return Err(fail(input));
        }
        let mut closer = Vec::with_capacity(level + 2);
        closer.push(b']');
        closer.extend(std::iter::repeat_n(b'=', level));
        closer.push(b']');
        let open_len = input.len() - body.len();
        let end = match find(body, &closer) {
            Some(i) => open_len + i + closer.len(),
            None => input.len(),
        };
        Ok(take(input, end))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A Lua short string `"..."` / `'...'` with backslash escapes.
fn lua_short_string(input: &[u8]) -> IResult<&[u8], &[u8]> {
    let q = *input.first().ok_or_else(|| fail(input))?;
    if q != b'"' && q != b'\'' {
        return Err(fail(input));
    }
    let mut escaped = false;
    for (i, &c) in input.iter().enumerate().skip(1) {
        if escaped {
            escaped = false;
        } else if c == b'\\' {
            escaped = true;
        } else if c == q {
            return Ok(take(input, i + 1));
        }
    }
    Ok(take(input, input.len()))
}

/// The body of a `*_by_lua_block`, from its `{` to the matching `}`, skipping braces
/// inside Lua strings and comments (as the lua-nginx-module lexer does). Returns the
/// length consumed, whether the closing `}` was found, and the offset of the last
/// `{` seen (the lua module reports a missing end there).
fn lua_block(input: &[u8]) -> (usize, bool, usize) {
    let mut depth = 0usize;
    let mut last_open = 0;
    let mut i = 0;
    while let Some(rest) = input.get(i..) {
        let Some(&c) = rest.first() else { break };
        let skip = match c {
            b'-' => lua_comment(rest).map(|(_, t)| t.len()).ok(),
            b'[' => lua_long_open(rest)
                .ok()
                .and_then(|(_, level)| lua_long_string_of(level)(rest).ok())
                .map(|(_, t)| t.len()),
            b'"' | b'\'' => lua_short_string(rest).map(|(_, t)| t.len()).ok(),
            b'{' => {
                depth += 1;
                last_open = i;
                None
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (i + 1, true, last_open);
                }
                None
            }
            _ => None,
        };
        i += skip.unwrap_or(1).max(1);
    }
    (input.len(), false, last_open)
}

// ---------------------------------------------------------------------------
// Lexer: tokens with spans, plus the errors ngx_conf_read_token() would raise.
// ---------------------------------------------------------------------------

enum Tok {
    Trivia(Trivia),
    Word(Word),
    Semicolon(Span),
    Open(Span),
    Close(Span),
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    /// The previous token was a closed quoted word: nginx wants whitespace, `;`, `{`
    /// or `)` next (its `need_space` state).
    after_quote: bool,
    /// Start and quote byte of a quoted word that the end of the file cut off.
    unclosed_quote: Option<(usize, u8)>,
}

/// Errors in source order, without two at the same place.
#[derive(Default)]
struct Errors(Vec<SyntaxError>, usize);

impl Errors {
    fn push(&mut self, span: Span, message: impl Into<String>) {
        if self.0.last().is_some_and(|e| e.span.start == span.start) {
            return;
        }
        // Counted past the cap (for the "N more" line) without keeping their messages.
        if self.0.len() > super::MAX_ERRORS {
            self.1 += 1;
            return;
        }
        self.0.push(SyntaxError::new(span, message));
    }
}

/// `"x"` as nginx prints an unexpected character (a whole UTF-8 character when the
/// bytes form one; nginx itself prints the first byte).
fn char_at(src: &[u8], pos: usize) -> (Span, String) {
    let rest = src.get(pos..).unwrap_or_default();
    for len in 1..=4.min(rest.len()) {
        if let Ok(s) = std::str::from_utf8(take(rest, len).1) {
            return (Span::new(pos, pos + len), s.to_string());
        }
    }
    match rest.first() {
        Some(b) => (Span::new(pos, pos + 1), format!("\\x{b:02X}")),
        None => (Span::empty(pos), String::new()),
    }
}

fn unexpected(src: &[u8], pos: usize) -> (Span, String) {
    let (span, c) = char_at(src, pos);
    (span, format!("unexpected \"{c}\""))
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a [u8] {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn next(&mut self, errors: &mut Errors) -> Option<Tok> {
        let rest = self.rest();
        let &c = rest.first()?;
        let start = self.pos;
        if std::mem::take(&mut self.after_quote)
            && !(is_space(c) || matches!(c, b';' | b'{' | b')'))
        {
            let (span, msg) = unexpected(self.src, start);
            errors.push(span, msg);
        }
        let (tok, len) = match c {
            b';' => (Tok::Semicolon(Span::new(start, start + 1)), 1),
            b'{' => (Tok::Open(Span::new(start, start + 1)), 1),
            b'}' => (Tok::Close(Span::new(start, start + 1)), 1),
            _ if is_space(c) => {
                let len = whitespace(rest).map_or(1, |(_, t)| t.len());
                let span = Span::new(start, start + len);
                let kind = TriviaKind::Whitespace;
                (Tok::Trivia(Trivia { kind, span }), len)
            }
            b'#' => {
                let len = comment(rest).map_or(1, |(_, t)| t.len());
                let span = Span::new(start, start + len);
                self.check_comment_length(span, errors);
                let kind = TriviaKind::Comment;
                (Tok::Trivia(Trivia { kind, span }), len)
            }
            b'"' | b'\'' => {
                let (raw, closed) = quoted_word(rest).map_or((rest, false), |(_, w)| w);
                let len = raw.len();
                let inner_end = if closed { len - 1 } else { len };
                let value = unescape(raw.get(1..inner_end).unwrap_or_default());
                let quote = if c == b'"' {
                    Quote::Double
                } else {
                    Quote::Single
                };
                let span = Span::new(start, start + len);
                self.check_quoted_length(span, c, closed, errors);
                self.after_quote = closed;
                if !closed {
                    self.unclosed_quote = Some((start, c));
                }
                (Tok::Word(Word { span, quote, value }), len)
            }
            _ => {
                let raw = bare_word(rest).map_or(rest, |(_, w)| w);
                let len = raw.len().max(1);
                let span = Span::new(start, start + len);
                self.check_bare_length(span, errors);
                let value = unescape(raw);
                (
                    Tok::Word(Word {
                        span,
                        quote: Quote::None,
                        value,
                    }),
                    len,
                )
            }
        };
        self.pos = start + len;
        Some(tok)
    }

    /// nginx fails when the token it is reading reaches CONF_BUFFER bytes counted from
    /// where its `start` pointer was; `reach` is the last byte read with that start.
    fn too_long(&self, start: usize, reach: usize) -> bool {
        let at = start + CONF_BUFFER;
        at < self.src.len() && at <= reach
    }

    fn started_message(&self, start: usize) -> String {
        let head = self.src.get(start..start + 10).unwrap_or_default();
        format!(
            "too long parameter \"{}...\" started",
            String::from_utf8_lossy(head)
        )
    }

    fn check_bare_length(&self, span: Span, errors: &mut Errors) {
        // The terminator is read with the same start; after a whitespace terminator
        // the next byte is too.
        let reach = match self.src.get(span.end) {
            Some(&c) if is_space(c) => span.end + 1,
            _ => span.end,
        };
        if self.too_long(span.start, reach) {
            errors.push(span, self.started_message(span.start));
        }
    }

    fn check_quoted_length(&self, span: Span, quote: u8, closed: bool, errors: &mut Errors) {
        let start = span.start + 1;
        let close = span.end.saturating_sub(1);
        let reach = if !closed {
            usize::MAX
        } else {
            match self.src.get(span.end) {
                Some(&c) if is_space(c) => span.end + 1,
                _ => span.end,
            }
        };
        if self.too_long(start, reach) {
            let msg = if !closed || start + CONF_BUFFER <= close {
                format!(
                    "too long parameter, probably missing terminating \"{}\" character",
                    quote as char
                )
            } else {
                self.started_message(start)
            };
            errors.push(span, msg);
        }
    }

    fn check_comment_length(&self, span: Span, errors: &mut Errors) {
        // The comment's start stays in effect up to and including its `\n`.
        let lf = self
            .src
            .get(span.start..)
            .unwrap_or_default()
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.src.len(), |i| span.start + i);
        if self.too_long(span.start, lf) {
            errors.push(span, self.started_message(span.start));
        }
    }
}

// ---------------------------------------------------------------------------
// Parser: tokens into the tree, with an explicit stack of open blocks.
// ---------------------------------------------------------------------------

/// A directive whose terminator has not been seen yet.
struct Pending {
    name: Word,
    args: Vec<Word>,
    trivia: Vec<Trivia>,
}

impl Pending {
    fn last_word_end(&self) -> usize {
        self.args.last().unwrap_or(&self.name).span.end
    }

    fn finish(mut self, end: End, end_at: usize) -> Directive {
        // A pushed-to Vec starts with room for 4: trim to what the directive holds
        // (most have one argument), or a config of a million lines pays 4× for them.
        self.args.shrink_to_fit();
        self.trivia.shrink_to_fit();
        Directive {
            span: Span::new(self.name.span.start, end_at),
            name: self.name,
            args: self.args,
            inner_trivia: self.trivia,
            end,
        }
    }

    /// The directive never got its `;`/`{`: it ends at its last word, and trivia after
    /// that word goes back to the enclosing items.
    fn finish_missing(mut self) -> (Directive, Vec<Trivia>) {
        let end = self.last_word_end();
        let split = self.trivia.partition_point(|t| t.span.start < end);
        let after = self.trivia.split_off(split);
        (self.finish(End::Missing, end), after)
    }
}

enum FrameKind {
    Root,
    Block {
        dir: Pending,
        open: Span,
    },
    /// A block whose content is kept only as one error span (a `{` without a
    /// directive, or nesting deeper than MAX_DEPTH): from `start` to its `}`.
    Discard {
        start: usize,
    },
}

struct Frame {
    kind: FrameKind,
    items: Vec<Item>,
}

struct Parser {
    stack: Vec<Frame>,
    pending: Option<Pending>,
    errors: Errors,
}

impl Parser {
    fn push_item(&mut self, item: Item) {
        if let Some(top) = self.stack.last_mut() {
            if !matches!(top.kind, FrameKind::Discard { .. }) {
                top.items.push(item);
            }
        }
    }

    /// Blocks currently open in the tree (discarded ones do not count).
    fn depth(&self) -> usize {
        self.stack
            .iter()
            .filter(|f| matches!(f.kind, FrameKind::Block { .. }))
            .count()
    }

    fn in_discard(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|f| matches!(f.kind, FrameKind::Discard { .. }))
    }

    fn end_missing(&mut self) {
        if let Some(p) = self.pending.take() {
            let (dir, after) = p.finish_missing();
            self.push_item(Item::Directive(Box::new(dir)));
            for t in after {
                self.push_item(Item::Trivia(t));
            }
        }
    }

    /// Close the innermost block at `close` (`None`: the file ended first).
    fn close_frame(&mut self, close: Option<Span>, eof: usize) {
        if self.stack.len() <= 1 {
            return;
        }
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let end_at = close.map_or(eof, |c| c.end);
        match frame.kind {
            FrameKind::Root => {}
            FrameKind::Block { dir, open } => {
                let block = Block {
                    open,
                    items: {
                        let mut items = frame.items;
                        items.shrink_to_fit();
                        items
                    },
                    close,
                };
                let d = dir.finish(End::Block(block), end_at);
                self.push_item(Item::Directive(Box::new(d)));
            }
            FrameKind::Discard { start } => {
                self.push_item(Item::Error(Span::new(start, end_at)));
            }
        }
    }

    fn open_block(&mut self, lexer: &mut Lexer<'_>, open: Span) {
        let Some(dir) = self.pending.take() else {
            // `{` with no directive before it. Inside a region that is already one
            // error span, more of them would only repeat the first.
            if !self.in_discard() {
                self.errors.push(open, "unexpected \"{\"");
            }
            self.stack.push(Frame {
                kind: FrameKind::Discard { start: open.start },
                items: Vec::new(),
            });
            return;
        };
        if dir.name.value.ends_with(b"_by_lua_block") {
            let body = lexer.src.get(open.start..).unwrap_or_default();
            let (len, closed, last_open) = lua_block(body);
            let span = Span::new(open.start, open.start + len);
            if !closed {
                let at = open.start + last_open;
                self.errors.push(
                    Span::new(at, at + 1),
                    "unexpected end of file, expecting terminating characters for lua code block",
                );
            }
            lexer.pos = span.end;
            let d = dir.finish(End::RawBlock(span), span.end);
            self.push_item(Item::Directive(Box::new(d)));
            return;
        }
        if self.in_discard() {
            let start = dir.name.span.start;
            self.stack.push(Frame {
                kind: FrameKind::Discard { start },
                items: Vec::new(),
            });
        } else if self.depth() >= super::MAX_DEPTH {
            let start = dir.name.span.start;
            self.errors.push(
                Span::new(open.start, open.end),
                format!(
                    "blocks nested more than {} levels deep; the rest of this block is not parsed",
                    super::MAX_DEPTH
                ),
            );
            self.stack.push(Frame {
                kind: FrameKind::Discard { start },
                items: Vec::new(),
            });
        } else {
            self.stack.push(Frame {
                kind: FrameKind::Block { dir, open },
                items: Vec::new(),
            });
        }
    }
}

/// Parse a whole file. Never panics; errors are in `File::errors`.
///
/// Reads tokens exactly as nginx's `ngx_conf_read_token()` does and reports the
/// first problem at the place (and so the line) where nginx reports it; after an
/// error it recovers and goes on, so later directives are still in the tree.
pub fn parse(src: &[u8]) -> File {
    let mut lexer = Lexer {
        src,
        pos: 0,
        after_quote: false,
        unclosed_quote: None,
    };
    let mut p = Parser {
        stack: vec![Frame {
            kind: FrameKind::Root,
            items: Vec::new(),
        }],
        pending: None,
        errors: Errors::default(),
    };
    while let Some(tok) = lexer.next(&mut p.errors) {
        match tok {
            Tok::Trivia(t) => match p.pending.as_mut() {
                Some(d) => d.trivia.push(t),
                None => p.push_item(Item::Trivia(t)),
            },
            Tok::Word(w) => match p.pending.as_mut() {
                Some(d) => d.args.push(w),
                None => {
                    p.pending = Some(Pending {
                        name: w,
                        args: Vec::new(),
                        trivia: Vec::new(),
                    })
                }
            },
            Tok::Semicolon(span) => match p.pending.take() {
                Some(d) => {
                    let dir = d.finish(End::Semicolon(span), span.end);
                    p.push_item(Item::Directive(Box::new(dir)));
                }
                None => {
                    p.errors.push(span, "unexpected \";\"");
                    p.push_item(Item::Error(span));
                }
            },
            Tok::Open(span) => p.open_block(&mut lexer, span),
            Tok::Close(span) => {
                if p.pending.is_some() {
                    p.errors.push(span, "unexpected \"}\"");
                    p.end_missing();
                }
                if p.stack.len() > 1 {
                    p.close_frame(Some(span), src.len());
                } else {
                    p.errors.push(span, "unexpected \"}\"");
                    p.push_item(Item::Error(span));
                }
            }
        }
    }
    let eof = Span::empty(src.len());
    if p.pending.is_some() {
        let mut msg = String::from("unexpected end of file, expecting \";\" or \"}\"");
        if let Some((at, q)) = lexer.unclosed_quote {
            let line = 1 + src
                .get(..at)
                .unwrap_or_default()
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
            msg.push_str(&format!(
                " (unbalanced quotes: the {} opened on line {line} is never closed)",
                q as char
            ));
        }
        p.errors.push(eof, msg);
        p.end_missing();
    } else if p.stack.len() > 1 {
        p.errors
            .push(eof, "unexpected end of file, expecting \"}\"");
    }
    while p.stack.len() > 1 {
        p.close_frame(None, src.len());
    }
    let mut items = p.stack.pop().map(|f| f.items).unwrap_or_default();
    items.shrink_to_fit();
    let Errors(mut errors, dropped) = p.errors;
    if dropped > 0 {
        // MAX_ERRORS + 1 were kept, then only counted.
        errors.truncate(super::MAX_ERRORS);
        let at = errors[super::MAX_ERRORS - 1].span;
        errors.push(SyntaxError::new(
            at,
            format!(
                "{} more syntax errors after this one are not listed",
                dropped + 1
            ),
        ));
    }
    File { items, errors }
}

/// The spans of every leaf of the tree, in source order. For any parse result they
/// tile the input: each starts where the previous one ended.
pub fn leaf_spans(file: &File) -> Vec<Span> {
    let mut out = Vec::new();
    items_leaves(&file.items, &mut out, 0);
    out
}

fn items_leaves(items: &[Item], out: &mut Vec<Span>, depth: usize) {
    for item in items {
        match item {
            Item::Trivia(t) => out.push(t.span),
            Item::Error(s) => out.push(*s),
            Item::Directive(d) => directive_leaves(d, out, depth),
        }
    }
}

fn directive_leaves(d: &Directive, out: &mut Vec<Span>, depth: usize) {
    let mut parts: Vec<Span> = std::iter::once(d.name.span)
        .chain(d.args.iter().map(|w| w.span))
        .chain(d.inner_trivia.iter().map(|t| t.span))
        .collect();
    parts.sort_by_key(|s| s.start);
    out.extend(parts);
    match &d.end {
        End::Semicolon(s) | End::RawBlock(s) => out.push(*s),
        End::Missing => {}
        End::Block(b) => {
            out.push(b.open);
            // The parser never builds trees deeper than MAX_DEPTH; the guard keeps
            // hand-built trees from recursing without bound.
            if depth <= super::MAX_DEPTH {
                items_leaves(&b.items, out, depth + 1);
            }
            if let Some(c) = b.close {
                out.push(c);
            }
        }
    }
}

/// Print the tree back: concatenates the source bytes of every leaf in order.
pub fn print(file: &File, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    for s in leaf_spans(file) {
        let end = s.end.min(src.len());
        out.extend_from_slice(src.get(s.start.min(end)..end).unwrap_or_default());
    }
    out
}
