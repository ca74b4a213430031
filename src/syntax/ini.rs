//! INI syntax as PHP reads it (php.ini, conf.d/*.ini) and as php-fpm reads it
//! (php-fpm.conf, pool files). Reference: php-src `Zend/zend_ini_scanner.l`,
//! `Zend/zend_ini_parser.y`, `sapi/fpm/fpm/fpm_conf.c` (PHP 8.2).
//!
//! CONTRACT (used by `src/stack/`): keep these public types and functions.
//!
//! How this follows PHP 8.2 (checked against the real `php` binary, see
//! `tests/php_ini_differential.rs`):
//!
//! - The scanner is a re-implementation of PHP's re2c scanner: the same states
//!   (outside a value, inside a value, inside `[section]`, inside `key[offset]`,
//!   inside `"..."`, inside `${...}`), longest match with the first rule winning a
//!   tie. Every oddity follows from that: `#` is not a comment (`#x = 1` sets the
//!   key `#x`); a key may contain spaces (`a b = 1` sets `a b`); an indented
//!   `[section]` is a syntax error (`  [` reads as the start of `key[offset]`);
//!   `;` starts a comment except inside quotes; `"..."` and `'...'` may span lines;
//!   `$` at the end of a value joins the next line to it.
//! - The parser follows `zend_ini_parser.y`. PHP stops at its first syntax error:
//!   [`File::php_error`] holds that error with the line number PHP prints; entries
//!   after it are never applied (see [`File::php_stops_at`]). This parser goes on
//!   after an error (from the next line) so that the rest of the file still has a tree.
//! - `Value::text` is what PHP stores. Quoted strings are unescaped (`\"`, `\\`, `\$`
//!   only, as PHP does), constants are replaced (`E_ALL` → `32767`), operators are
//!   evaluated on C `int`s (`E_ALL & ~E_DEPRECATED & ~E_STRICT` → `22527`), keywords
//!   become `"1"`/`""`.
//! - `${VAR}`: PHP 8.2 looks the name up among the entries read so far, then in the
//!   environment. An earlier entry of the same file is used when there is one;
//!   otherwise the value is [`ValueKind::Computed`], `text` is what PHP stores when
//!   the variable is unset (the empty string) and the name is in `Value::env`.
//!   PHP 8.2 has no `${VAR:-default}`: the whole `VAR:-default` is read as a
//!   variable name (that syntax arrived in PHP 8.3), so it is `Computed` too.
//! - Constants whose value depends on the PHP build (`PHP_VERSION`, `PHP_OS`,
//!   `PHP_EXTENSION_DIR`, ...) make the value `Computed`; `text` keeps their name.
//! - php-fpm reads its files one physical line at a time ([`parse_fpm`]): a quoted
//!   value cannot span lines there, and a key without `=` is an error.

use super::{SyntaxError, MAX_DEPTH};
use crate::source::Span;

#[derive(Debug, Clone, Default)]
pub struct File {
    /// One entry per physical line (a line ends after `\n`; the last may lack it).
    ///
    /// Two exceptions, both following PHP: a quoted value that spans lines (or a
    /// value continued by a trailing `$`) makes one `Line` of all its physical lines,
    /// and a physical line holding two statements (`[www] listen = 9000`, which PHP
    /// accepts) gives two `Line`s, the first without a line ending.
    pub lines: Vec<Line>,
    pub errors: Vec<SyntaxError>,
    /// Text PHP accepts without applying it: a key without `=` (`display_errors On`)
    /// in php.ini.
    pub warnings: Vec<SyntaxError>,
    /// The first syntax error as PHP itself reports it. PHP stops reading the file
    /// there: no entry at or after `php_error.offset` is applied.
    pub php_error: Option<PhpError>,
}

/// A syntax error the way PHP prints it: `PHP:  syntax error, unexpected '=' in
/// FILE on line 3`. `line` is PHP's count (it may be one more than the line of the
/// offending text, when PHP had already read the line ending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpError {
    pub offset: usize,
    pub line: usize,
    pub message: String,
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
    /// As PHP reads it: quotes removed, `${VAR}` replaced (by the empty string when it
    /// comes from the environment, see `env`).
    pub name: String,
    /// The text between the brackets as written.
    pub raw: String,
    /// Environment variables the name depends on (`[${POOL_NAME}]`).
    pub env: Vec<String>,
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
    /// span right after `=` (and the blanks after it) when the value is empty.
    pub span: Span,
    pub raw: String,
    /// The string PHP stores (what `ini_get` returns), as far as it can be known statically.
    pub text: String,
    pub kind: ValueKind,
    /// Environment variables the value depends on (`${PHP_MEMORY_LIMIT}`), in order.
    pub env: Vec<String>,
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

    /// The offset where PHP stops reading this file (its first syntax error).
    /// Entries from there on are never applied.
    pub fn php_stops_at(&self) -> Option<usize> {
        self.php_error.as_ref().map(|e| e.offset)
    }

    /// Entries PHP really applies: those before [`File::php_stops_at`].
    pub fn applied_entries(&self) -> impl Iterator<Item = (Option<&Section>, &Entry)> {
        let stop = self.php_stops_at().unwrap_or(usize::MAX);
        self.entries().filter(move |(_, e)| e.span.start < stop)
    }
}

/// Parse a whole file the way PHP reads php.ini and conf.d files. Never panics;
/// errors are in `File::errors`.
pub fn parse(src: &[u8]) -> File {
    let mut b = Builder::new(src, Mode::Php);
    b.run_php();
    b.finish()
}

/// Parse a php-fpm configuration file (php-fpm.conf, pool files). php-fpm hands
/// each physical line to PHP's INI parser on its own, so a quoted value cannot span
/// lines, and a key without `=` is an error ("value is NULL").
pub fn parse_fpm(src: &[u8]) -> File {
    let mut b = Builder::new(src, Mode::Fpm);
    b.run_fpm();
    b.finish()
}

/// Print the tree back: concatenates every piece of every line.
pub fn print(file: &File, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    for line in &file.lines {
        for p in &line.pieces {
            if let Some(bytes) = src.get(p.start..p.end) {
                out.extend_from_slice(bytes);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Scanner: PHP's re2c scanner, state by state.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Initial,
    Value,
    Section,
    Offset,
    DoubleQuotes,
    VarName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    /// Bison's `END` ("end of file"): real end, or a byte no rule accepts.
    End,
    Section,
    Raw,
    Constant,
    Number,
    Str,
    Whitespace,
    Label,
    Offset,
    DollarCurly,
    VarName,
    Quoted,
    True,
    False,
    Null,
    Eol,
    Ch(u8),
}

impl Tok {
    fn is_stop(&self) -> bool {
        self.t == T::End && !self.val.is_empty()
    }
}

impl T {
    fn name(self) -> String {
        match self {
            T::End => "end of file".into(),
            T::Section => "TC_SECTION".into(),
            T::Raw => "TC_RAW".into(),
            T::Constant => "TC_CONSTANT".into(),
            T::Number => "TC_NUMBER".into(),
            T::Str => "TC_STRING".into(),
            T::Whitespace => "TC_WHITESPACE".into(),
            T::Label => "TC_LABEL".into(),
            T::Offset => "TC_OFFSET".into(),
            T::DollarCurly => "TC_DOLLAR_CURLY".into(),
            T::VarName => "TC_VARNAME".into(),
            T::Quoted => "TC_QUOTED_STRING".into(),
            T::True => "BOOL_TRUE".into(),
            T::False => "BOOL_FALSE".into(),
            T::Null => "NULL_NULL".into(),
            T::Eol => "END_OF_LINE".into(),
            T::Ch(c) => format!("'{}'", c as char),
        }
    }
}

#[derive(Debug, Clone)]
struct Tok {
    t: T,
    /// Bytes consumed, relative to the buffer.
    start: usize,
    end: usize,
    /// The semantic value (trimmed label, unescaped string...).
    val: Vec<u8>,
    /// PHP's line counter after this token was scanned.
    lineno: usize,
}

struct Scanner<'a> {
    buf: &'a [u8],
    /// Bytes past `limit` do not exist; `limit` itself reads as NUL (PHP's
    /// ZEND_MMAP_AHEAD padding), and reading further stops the scanner.
    limit: usize,
    pos: usize,
    state: St,
    stack: Vec<St>,
    lineno: usize,
    beyond: bool,
    done: bool,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

fn is_label_char(c: u8) -> bool {
    !matches!(
        c,
        b'=' | b'\n'
            | b'\r'
            | b'\t'
            | b';'
            | b'&'
            | b'|'
            | b'^'
            | b'$'
            | b'~'
            | b'('
            | b')'
            | b'{'
            | b'}'
            | b'!'
            | b'"'
            | b'['
    )
}

fn is_tokens_char(c: u8) -> bool {
    b":,.[]\"'()&|^+-/*=%$!~<>?@{}".contains(&c)
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

impl<'a> Scanner<'a> {
    fn new(buf: &'a [u8], start: usize, lineno: usize) -> Self {
        Scanner {
            buf,
            limit: buf.len(),
            pos: start,
            state: St::Initial,
            stack: Vec::new(),
            lineno,
            beyond: false,
            done: false,
        }
    }

    /// The byte at `i`: real bytes, then one NUL at `limit`; `None` past that.
    fn at(&mut self, i: usize) -> Option<u8> {
        if i < self.limit {
            self.buf.get(i).copied()
        } else if i == self.limit {
            Some(0)
        } else {
            self.beyond = true;
            None
        }
    }

    fn push(&mut self, s: St) {
        self.stack.push(self.state);
        self.state = s;
    }

    fn pop(&mut self) {
        self.state = self.stack.pop().unwrap_or(St::Initial);
    }

    // --- matchers: each returns the length matched at `p`, 0 for no match -------

    fn m_blanks(&mut self, p: usize) -> usize {
        let mut n = 0;
        while let Some(c) = self.at(p + n) {
            if is_blank(c) {
                n += 1;
            } else {
                break;
            }
        }
        n
    }

    fn m_newline(&mut self, p: usize) -> usize {
        match self.at(p) {
            Some(b'\n') => 1,
            Some(b'\r') => {
                if self.at(p + 1) == Some(b'\n') {
                    2
                } else {
                    1
                }
            }
            _ => 0,
        }
    }

    /// `{TABS_AND_SPACES}*{NEWLINE}`
    fn m_blank_newline(&mut self, p: usize) -> usize {
        let b = self.m_blanks(p);
        let n = self.m_newline(p + b);
        if n == 0 {
            0
        } else {
            b + n
        }
    }

    /// `{TABS_AND_SPACES}*[;][^\r\n]*{NEWLINE}`
    fn m_comment(&mut self, p: usize) -> usize {
        let b = self.m_blanks(p);
        if self.at(p + b) != Some(b';') {
            return 0;
        }
        let mut i = p + b + 1;
        loop {
            match self.at(i) {
                None => return 0,
                Some(b'\r') | Some(b'\n') => break,
                Some(_) => i += 1,
            }
        }
        let n = self.m_newline(i);
        if n == 0 {
            0
        } else {
            i + n - p
        }
    }

    fn m_label(&mut self, p: usize) -> usize {
        let mut n = 0;
        while let Some(c) = self.at(p + n) {
            if is_label_char(c) {
                n += 1;
            } else {
                break;
            }
        }
        n
    }

    /// Case-insensitive keyword followed by `{TABS_AND_SPACES}*`.
    fn m_words(&mut self, p: usize, words: &[&[u8]]) -> usize {
        let mut best = 0;
        for w in words {
            let mut ok = true;
            for (k, wc) in w.iter().enumerate() {
                match self.at(p + k) {
                    Some(c) if c.eq_ignore_ascii_case(wc) => {}
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && w.len() > best {
                best = w.len();
            }
        }
        if best == 0 {
            return 0;
        }
        best + self.m_blanks(p + best)
    }

    fn m_constant(&mut self, p: usize) -> usize {
        match self.at(p) {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
            _ => return 0,
        }
        let mut n = 1;
        while let Some(c) = self.at(p + n) {
            if c.is_ascii_alphanumeric() || c == b'_' {
                n += 1;
            } else {
                break;
            }
        }
        n
    }

    fn digits(&mut self, p: usize) -> usize {
        let mut n = 0;
        while let Some(c) = self.at(p + n) {
            if c.is_ascii_digit() {
                n += 1;
            } else {
                break;
            }
        }
        n
    }

    /// `([-]?{LNUM})|([-]?{DNUM})`
    fn m_number(&mut self, p: usize) -> usize {
        let sign = usize::from(self.at(p) == Some(b'-'));
        let q = p + sign;
        let int = self.digits(q);
        let mut best = if int > 0 { sign + int } else { 0 };
        if self.at(q + int) == Some(b'.') {
            let frac = self.digits(q + int + 1);
            if int > 0 || frac > 0 {
                best = best.max(sign + int + 1 + frac);
            }
        }
        best
    }

    /// `"'"{SINGLE_QUOTED_CHARS}+"'"`
    fn m_raw(&mut self, p: usize) -> usize {
        if self.at(p) != Some(b'\'') {
            return 0;
        }
        let mut i = p + 1;
        loop {
            match self.at(i) {
                None => return 0,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        if i == p + 1 {
            0
        } else {
            i + 1 - p
        }
    }

    fn m_dollar_curly(&mut self, p: usize) -> usize {
        if self.at(p) == Some(b'$') && self.at(p + 1) == Some(b'{') {
            2
        } else {
            0
        }
    }

    /// `{LITERAL_DOLLAR}` at `p` (which holds `$`): `"$"([^{\000]|("\\"{ANY_CHAR}))`.
    fn m_literal_dollar(&mut self, p: usize) -> usize {
        let mut best = 0;
        match self.at(p + 1) {
            Some(b'{') | Some(0) | None => {}
            Some(b'\\') => {
                best = 2;
                if self.at(p + 2).is_some() {
                    best = 3;
                }
            }
            Some(_) => best = 2,
        }
        best
    }

    /// `{VALUE_CHARS}+`
    fn m_value_chars(&mut self, p: usize) -> usize {
        let mut i = p;
        loop {
            match self.at(i) {
                Some(b'$') => {
                    let n = self.m_literal_dollar(i);
                    if n == 0 {
                        break;
                    }
                    i += n;
                }
                Some(c) if !b"= \t\n\r;&|^~()!\"'\0".contains(&c) => i += 1,
                _ => break,
            }
        }
        i - p
    }

    /// `{SECTION_VALUE_CHARS}+`
    fn m_section_chars(&mut self, p: usize) -> usize {
        let mut i = p;
        loop {
            match self.at(i) {
                Some(b'$') => {
                    let n = self.m_literal_dollar(i);
                    if n == 0 {
                        break;
                    }
                    i += n;
                }
                Some(b'\\') => {
                    if self.at(i + 1).is_some() {
                        i += 2;
                    } else {
                        break;
                    }
                }
                Some(c) if !b"\n\r;\"']".contains(&c) => i += 1,
                _ => break,
            }
        }
        i - p
    }

    fn tok(&self, t: T, start: usize, end: usize, val: Vec<u8>) -> Tok {
        Tok {
            t,
            start,
            end,
            val,
            lineno: self.lineno,
        }
    }

    /// The buffer's bytes from `a` to `b` (clamped to the input), borrowed.
    fn bytes(&self, a: usize, b: usize) -> &'a [u8] {
        let buf: &'a [u8] = self.buf;
        buf.get(a.min(self.limit)..b.min(self.limit))
            .unwrap_or_default()
    }

    fn slice(&self, a: usize, b: usize) -> Vec<u8> {
        self.bytes(a, b).to_vec()
    }

    fn end_tok(&mut self) -> Tok {
        self.done = true;
        let p = self.pos.min(self.limit);
        self.tok(T::End, p, p, Vec::new())
    }

    /// `End` because no rule accepts the byte at the cursor (a stray character inside
    /// `[...]` or `${...}`), as opposed to the input running out.
    fn stop_tok(&mut self) -> Tok {
        let mut t = self.end_tok();
        t.val = b"stop".to_vec();
        t
    }

    /// Pick the longest candidate (first on a tie); `None` when nothing matched.
    fn best(cands: &[usize]) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (i, &len) in cands.iter().enumerate() {
            if len > 0 && best.is_none_or(|(_, l)| len > l) {
                best = Some((i, len));
            }
        }
        best
    }

    fn next(&mut self) -> Tok {
        loop {
            if self.done {
                return self.end_tok();
            }
            self.beyond = false;
            let p = self.pos;
            if p >= self.limit {
                if self.state == St::Value {
                    self.state = St::Initial;
                    return self.tok(T::Eol, self.limit, self.limit, Vec::new());
                }
                return self.end_tok();
            }
            if p == 0 && self.limit > 3 && self.buf.get(0..3) == Some(BOM) {
                self.pos = 3;
                continue;
            }
            let r = match self.state {
                St::Initial => self.scan_initial(p),
                St::Value => self.scan_value(p),
                St::Section | St::Offset => self.scan_section(p),
                St::DoubleQuotes => self.scan_dq(p),
                St::VarName => self.scan_varname(p),
            };
            match r {
                Some(tok) => return tok,
                None => continue, // skipped whitespace
            }
        }
    }

    fn scan_initial(&mut self, p: usize) -> Option<Tok> {
        let section = usize::from(self.at(p) == Some(b'['));
        let label = self.m_label(p);
        let offset = if label > 0 && self.at(p + label) == Some(b'[') {
            label + 1 + self.m_blanks(p + label + 1)
        } else {
            0
        };
        let t = self.m_words(p, &[b"true", b"on", b"yes"]);
        let f = self.m_words(p, &[b"false", b"off", b"no", b"none"]);
        let n = self.m_words(p, &[b"null"]);
        let eq = {
            let b = self.m_blanks(p);
            if self.at(p + b) == Some(b'=') {
                b + 1 + self.m_blanks(p + b + 1)
            } else {
                0
            }
        };
        let tokens = match self.at(p) {
            Some(c) if is_tokens_char(c) => 1,
            _ => 0,
        };
        let ws = self.m_blanks(p);
        let nl = self.m_blank_newline(p);
        let comment = self.m_comment(p);
        if self.beyond {
            return Some(self.end_tok());
        }
        let cands = [section, offset, t, f, n, label, eq, tokens, ws, nl, comment];
        let Some((rule, len)) = Self::best(&cands) else {
            return Some(self.stop_tok());
        };
        let end = p + len;
        self.pos = end;
        Some(match rule {
            0 => {
                self.state = St::Section;
                self.tok(T::Section, p, end, Vec::new())
            }
            1 => {
                self.state = St::Offset;
                let v = trim_label(self.bytes(p, end), true);
                self.tok(T::Offset, p, end, v)
            }
            2 => self.tok(T::True, p, end, b"1".to_vec()),
            3 => self.tok(T::False, p, end, Vec::new()),
            4 => self.tok(T::Null, p, end, Vec::new()),
            5 => {
                let v = trim_label(self.bytes(p, end), false);
                self.tok(T::Label, p, end, v)
            }
            6 => {
                self.state = St::Value;
                self.tok(T::Ch(b'='), p, end, Vec::new())
            }
            7 => {
                let c = self.buf.get(p).copied().unwrap_or(0);
                self.tok(T::Ch(c), p, end, Vec::new())
            }
            8 => return None,
            _ => {
                self.lineno += 1;
                self.tok(T::Eol, p, end, Vec::new())
            }
        })
    }

    fn scan_value(&mut self, p: usize) -> Option<Tok> {
        let raw = self.m_raw(p);
        let dc = self.m_dollar_curly(p);
        let t = self.m_words(p, &[b"true", b"on", b"yes"]);
        let f = self.m_words(p, &[b"false", b"off", b"no", b"none"]);
        let n = self.m_words(p, &[b"null"]);
        let nl = self.m_blank_newline(p);
        let constant = self.m_constant(p);
        let number = self.m_number(p);
        let op = match self.at(p) {
            Some(c) if b"&|^~()!".contains(&c) => 1 + self.m_blanks(p + 1),
            _ => 0,
        };
        let eq = usize::from(self.at(p) == Some(b'='));
        let chars = self.m_value_chars(p);
        let dq = {
            let b = self.m_blanks(p);
            if self.at(p + b) == Some(b'"') {
                b + 1
            } else {
                0
            }
        };
        let ws = self.m_blanks(p);
        let comment = self.m_comment(p);
        if self.beyond {
            return Some(self.end_tok());
        }
        let cands = [
            raw, dc, t, f, n, nl, constant, number, op, eq, chars, dq, ws, comment,
        ];
        let (rule, len) = Self::best(&cands).unwrap_or((usize::MAX, 1));
        let end = p + len;
        self.pos = end;
        Some(match rule {
            0 => {
                let v = self.slice(p + 1, end - 1);
                self.tok(T::Raw, p, end, v)
            }
            1 => {
                self.push(St::VarName);
                self.tok(T::DollarCurly, p, end, Vec::new())
            }
            2 => self.tok(T::True, p, end, b"1".to_vec()),
            3 => self.tok(T::False, p, end, Vec::new()),
            4 => self.tok(T::Null, p, end, Vec::new()),
            5 | 13 => {
                self.state = St::Initial;
                self.lineno += 1;
                self.tok(T::Eol, p, end, Vec::new())
            }
            6 => {
                let v = self.slice(p, end);
                self.tok(T::Constant, p, end, v)
            }
            7 => {
                let v = self.slice(p, end);
                self.tok(T::Number, p, end, v)
            }
            8 => {
                let c = self.buf.get(p).copied().unwrap_or(0);
                self.tok(T::Ch(c), p, end, Vec::new())
            }
            9 => {
                // `=` inside a value ends it without being consumed.
                self.pos = p;
                self.state = St::Initial;
                self.tok(T::Eol, p, p, Vec::new())
            }
            10 => {
                let v = self.slice(p, end);
                self.tok(T::Str, p, end, v)
            }
            11 => {
                self.push(St::DoubleQuotes);
                self.tok(T::Ch(b'"'), p, end, Vec::new())
            }
            12 => {
                let v = self.slice(p, end);
                self.tok(T::Whitespace, p, end, v)
            }
            _ => {
                // Any other byte ends the value (and is swallowed).
                self.state = St::Initial;
                self.tok(T::Eol, p, end, Vec::new())
            }
        })
    }

    fn scan_section(&mut self, p: usize) -> Option<Tok> {
        let is_section = self.state == St::Section;
        let raw = self.m_raw(p);
        let close = if is_section {
            if self.at(p) == Some(b']') {
                let b = self.m_blanks(p + 1);
                1 + b + self.m_newline(p + 1 + b)
            } else {
                0
            }
        } else {
            let b = self.m_blanks(p);
            if self.at(p + b) == Some(b']') {
                b + 1
            } else {
                0
            }
        };
        let dc = self.m_dollar_curly(p);
        let constant = self.m_constant(p);
        let number = self.m_number(p);
        let chars = self.m_section_chars(p);
        let dq = {
            let b = self.m_blanks(p);
            if self.at(p + b) == Some(b'"') {
                b + 1
            } else {
                0
            }
        };
        let ws = self.m_blanks(p);
        if self.beyond {
            return Some(self.end_tok());
        }
        let cands = [raw, close, dc, constant, number, chars, dq, ws];
        let Some((rule, len)) = Self::best(&cands) else {
            return Some(self.stop_tok());
        };
        let end = p + len;
        self.pos = end;
        Some(match rule {
            0 => {
                let v = self.slice(p + 1, end - 1);
                self.tok(T::Raw, p, end, v)
            }
            1 => {
                self.state = St::Initial;
                if is_section {
                    self.lineno += 1;
                }
                self.tok(T::Ch(b']'), p, end, Vec::new())
            }
            2 => {
                self.push(St::VarName);
                self.tok(T::DollarCurly, p, end, Vec::new())
            }
            3 => {
                let v = self.slice(p, end);
                self.tok(T::Constant, p, end, v)
            }
            4 => {
                let v = self.slice(p, end);
                self.tok(T::Number, p, end, v)
            }
            5 => {
                let v = self.slice(p, end);
                self.tok(T::Str, p, end, v)
            }
            6 => {
                self.push(St::DoubleQuotes);
                self.tok(T::Ch(b'"'), p, end, Vec::new())
            }
            _ => {
                let v = self.slice(p, end);
                self.tok(T::Whitespace, p, end, v)
            }
        })
    }

    fn scan_dq(&mut self, p: usize) -> Option<Tok> {
        if self.m_dollar_curly(p) == 2 {
            self.pos = p + 2;
            self.push(St::VarName);
            return Some(self.tok(T::DollarCurly, p, p + 2, Vec::new()));
        }
        if self.at(p) == Some(b'"') {
            let end = p + 1 + self.m_blanks(p + 1);
            self.pos = end;
            self.pop();
            return Some(self.tok(T::Ch(b'"'), p, end, Vec::new()));
        }
        // The string's content: up to `"` or `${`; `\x` skips x, except that `\"` at
        // the end of a line closes the string (Windows paths: "C:\path\").
        let lim = self.limit;
        let mut s = p;
        while s < lim {
            let c = self.buf.get(s).copied().unwrap_or(0);
            s += 1;
            match c {
                b'"' => {
                    s -= 1;
                    break;
                }
                b'$' if s < lim && self.buf.get(s) == Some(&b'{') => {
                    s -= 1;
                    break;
                }
                b'\\' if s < lim => {
                    let esc = self.buf.get(s).copied().unwrap_or(0);
                    s += 1;
                    let next = self.buf.get(s).copied();
                    if esc == b'"' && (s >= lim || next == Some(b'\n') || next == Some(b'\r')) {
                        s -= 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        let raw = self.slice(p, s);
        for (i, &c) in raw.iter().enumerate() {
            if c == b'\n' || (c == b'\r' && raw.get(i + 1) != Some(&b'\n')) {
                self.lineno += 1;
            }
        }
        self.pos = s;
        let v = unescape_dq(&raw);
        Some(self.tok(T::Quoted, p, s, v))
    }

    fn scan_varname(&mut self, p: usize) -> Option<Tok> {
        let label = self.m_label(p);
        if self.beyond {
            return Some(self.end_tok());
        }
        if label > 0 && self.at(p) != Some(b'}') {
            let end = p + label;
            self.pos = end;
            let v = trim_label(self.bytes(p, end), false);
            return Some(self.tok(T::VarName, p, end, v));
        }
        if self.at(p) == Some(b'}') {
            self.pos = p + 1;
            self.pop();
            return Some(self.tok(T::Ch(b'}'), p, p + 1, Vec::new()));
        }
        Some(self.stop_tok())
    }
}

/// PHP's EAT_LEADING_WHITESPACE / EAT_TRAILING_WHITESPACE(_EX('[')).
fn trim_label(s: &[u8], offset: bool) -> Vec<u8> {
    let mut a = 0;
    let mut b = s.len();
    while a < b && s.get(a).is_some_and(|&c| is_blank(c)) {
        a += 1;
    }
    while b > a
        && s.get(b - 1)
            .is_some_and(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\r') || (offset && c == b'['))
    {
        b -= 1;
    }
    s.get(a..b).map(<[u8]>::to_vec).unwrap_or_default()
}

/// zend_ini_escape_string for `"` strings: `\"`, `\\`, `\$` lose the backslash,
/// every other `\x` stays as written.
fn unescape_dq(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s.get(i).copied().unwrap_or(0);
        if c == b'\\' {
            match s.get(i + 1) {
                None => out.push(b'\\'),
                Some(&n) if n == b'"' || n == b'\\' || n == b'$' => {
                    out.push(n);
                    i += 1;
                }
                Some(&n) => {
                    out.push(b'\\');
                    out.push(n);
                    i += 1;
                }
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Constants PHP knows while it reads php.ini (registered by the engine and main/).
// ---------------------------------------------------------------------------

enum Const {
    Known(&'static str),
    /// Defined, but its value depends on the PHP build or platform.
    Build,
}

fn constant(name: &[u8]) -> Option<Const> {
    let known: &[(&str, &str)] = &[
        ("E_ERROR", "1"),
        ("E_WARNING", "2"),
        ("E_PARSE", "4"),
        ("E_NOTICE", "8"),
        ("E_CORE_ERROR", "16"),
        ("E_CORE_WARNING", "32"),
        ("E_COMPILE_ERROR", "64"),
        ("E_COMPILE_WARNING", "128"),
        ("E_USER_ERROR", "256"),
        ("E_USER_WARNING", "512"),
        ("E_USER_NOTICE", "1024"),
        ("E_STRICT", "2048"),
        ("E_RECOVERABLE_ERROR", "4096"),
        ("E_DEPRECATED", "8192"),
        ("E_USER_DEPRECATED", "16384"),
        ("E_ALL", "32767"),
        ("DEBUG_BACKTRACE_PROVIDE_OBJECT", "1"),
        ("DEBUG_BACKTRACE_IGNORE_ARGS", "2"),
        ("PHP_MAJOR_VERSION", "8"),
        ("PHP_MINOR_VERSION", "2"),
        ("PHP_EOL", "\n"),
        ("PHP_INT_MAX", "9223372036854775807"),
        ("PHP_INT_MIN", "-9223372036854775808"),
        ("PHP_INT_SIZE", "8"),
        ("PHP_FLOAT_DIG", "15"),
        ("PHP_OUTPUT_HANDLER_START", "1"),
        ("PHP_OUTPUT_HANDLER_WRITE", "0"),
        ("PHP_OUTPUT_HANDLER_FLUSH", "4"),
        ("PHP_OUTPUT_HANDLER_CLEAN", "2"),
        ("PHP_OUTPUT_HANDLER_FINAL", "8"),
        ("PHP_OUTPUT_HANDLER_CONT", "0"),
        ("PHP_OUTPUT_HANDLER_END", "8"),
        ("PHP_OUTPUT_HANDLER_CLEANABLE", "16"),
        ("PHP_OUTPUT_HANDLER_FLUSHABLE", "32"),
        ("PHP_OUTPUT_HANDLER_REMOVABLE", "64"),
        ("PHP_OUTPUT_HANDLER_STDFLAGS", "112"),
        ("PHP_OUTPUT_HANDLER_STARTED", "4096"),
        ("PHP_OUTPUT_HANDLER_DISABLED", "8192"),
        ("UPLOAD_ERR_OK", "0"),
        ("UPLOAD_ERR_INI_SIZE", "1"),
        ("UPLOAD_ERR_FORM_SIZE", "2"),
        ("UPLOAD_ERR_PARTIAL", "3"),
        ("UPLOAD_ERR_NO_FILE", "4"),
        ("UPLOAD_ERR_NO_TMP_DIR", "6"),
        ("UPLOAD_ERR_CANT_WRITE", "7"),
        ("UPLOAD_ERR_EXTENSION", "8"),
    ];
    let build: &[&str] = &[
        "ZEND_THREAD_SAFE",
        "ZEND_DEBUG_BUILD",
        "PHP_VERSION",
        "PHP_RELEASE_VERSION",
        "PHP_EXTRA_VERSION",
        "PHP_VERSION_ID",
        "PHP_ZTS",
        "PHP_DEBUG",
        "PHP_OS",
        "PHP_OS_FAMILY",
        "PHP_SAPI",
        "DEFAULT_INCLUDE_PATH",
        "PEAR_INSTALL_DIR",
        "PEAR_EXTENSION_DIR",
        "PHP_EXTENSION_DIR",
        "PHP_PREFIX",
        "PHP_BINDIR",
        "PHP_MANDIR",
        "PHP_LIBDIR",
        "PHP_DATADIR",
        "PHP_SYSCONFDIR",
        "PHP_LOCALSTATEDIR",
        "PHP_CONFIG_FILE_PATH",
        "PHP_CONFIG_FILE_SCAN_DIR",
        "PHP_SHLIB_SUFFIX",
        "PHP_MAXPATHLEN",
        "PHP_FD_SETSIZE",
        "PHP_FLOAT_EPSILON",
        "PHP_FLOAT_MAX",
        "PHP_FLOAT_MIN",
        "PHP_BINARY",
    ];
    if let Some((_, v)) = known.iter().find(|(k, _)| k.as_bytes() == name) {
        return Some(Const::Known(v));
    }
    if build.iter().any(|k| k.as_bytes() == name) {
        return Some(Const::Build);
    }
    None
}

use super::units::c_atoi as atoi;

// ---------------------------------------------------------------------------
// Parser: zend_ini_parser.y over the token stream.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Php,
    Fpm,
}

/// A value being evaluated.
#[derive(Debug, Clone, Default)]
struct Val {
    text: Vec<u8>,
    quoted: bool,
    expression: bool,
    computed: bool,
    env: Vec<String>,
}

impl Val {
    fn join(&mut self, other: Val) {
        self.text.extend_from_slice(&other.text);
        self.quoted |= other.quoted;
        self.expression |= other.expression;
        self.computed |= other.computed;
        self.env.extend(other.env);
    }
}

#[derive(Debug, Clone)]
enum StmtKind {
    /// END_OF_LINE on its own: blank line, comment, or the end of the previous statement.
    Eol,
    Section {
        open: usize,
        close: usize,
        name: Val,
    },
    Entry {
        key: Vec<u8>,
        key_span: (usize, usize),
        index: Option<Val>,
        eq: usize,
        eq_end: usize,
        value: Option<(T, usize, usize, Val)>,
    },
    BareLabel {
        name: Vec<u8>,
    },
    Error {
        at: (usize, usize),
    },
}

#[derive(Debug, Clone)]
struct Stmt {
    start: usize,
    end: usize,
    kind: StmtKind,
}

struct ParseError {
    /// The token PHP was looking at.
    tok: Tok,
    message: String,
}

struct Parser<'t> {
    toks: &'t [Tok],
    i: usize,
    depth: usize,
    mode: Mode,
    /// Earlier entries of this file, for `${name}` (PHP looks at its configuration first).
    known: Vec<(Vec<u8>, Vec<u8>)>,
}

type PResult<X> = Result<X, ParseError>;

impl<'t> Parser<'t> {
    /// The token at the cursor (the last one, `End`, past the end), borrowed: the
    /// parser looks at most tokens several times.
    fn peek(&self) -> &'t Tok {
        static END: Tok = Tok {
            t: T::End,
            start: 0,
            end: 0,
            val: Vec::new(),
            lineno: 1,
        };
        let toks: &'t [Tok] = self.toks;
        toks.get(self.i).or(toks.last()).unwrap_or(&END)
    }

    fn bump(&mut self) -> &'t Tok {
        let t = self.peek();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn err<X>(&self, expecting: &[&str]) -> PResult<X> {
        let tok = self.peek().clone();
        let mut message = format!("syntax error, unexpected {}", tok.t.name());
        if !expecting.is_empty() {
            message.push_str(", expecting ");
            message.push_str(&expecting.join(" or "));
        }
        Err(ParseError { tok, message })
    }

    fn expect(&mut self, c: u8) -> PResult<&'t Tok> {
        if self.peek().t == T::Ch(c) {
            Ok(self.bump())
        } else {
            let name = T::Ch(c).name();
            self.err(&[name.as_str()])
        }
    }

    /// One statement; `Ok(None)` at the end of the input.
    fn statement(&mut self) -> PResult<Option<Stmt>> {
        let tok = self.peek();
        let start = tok.start;
        match tok.t {
            T::End => Ok(None),
            T::Eol => {
                self.bump();
                Ok(Some(Stmt {
                    start,
                    end: tok.end,
                    kind: StmtKind::Eol,
                }))
            }
            T::Section => {
                self.bump();
                let name = self.string_list(true)?.unwrap_or_default();
                let close = self.expect(b']')?;
                Ok(Some(Stmt {
                    start,
                    end: close.end,
                    kind: StmtKind::Section {
                        open: tok.start,
                        close: close.start + 1,
                        name,
                    },
                }))
            }
            T::Label => {
                self.bump();
                if self.peek().t == T::Ch(b'=') {
                    let eq = self.bump();
                    let value = self.string_or_value()?;
                    let end = self.last_end(eq.end);
                    let (ks, ke) = (tok.start, tok.end);
                    self.remember(&tok.val, value.as_ref());
                    Ok(Some(Stmt {
                        start,
                        end,
                        kind: StmtKind::Entry {
                            key: tok.val.clone(),
                            key_span: (ks, ke),
                            index: None,
                            eq: eq.start,
                            eq_end: eq.end,
                            value,
                        },
                    }))
                } else {
                    Ok(Some(Stmt {
                        start,
                        end: tok.end,
                        kind: StmtKind::BareLabel {
                            name: tok.val.clone(),
                        },
                    }))
                }
            }
            T::Offset => {
                self.bump();
                let index = self.string_list(false)?.unwrap_or_default();
                let close = self.expect(b']')?;
                let eq = self.expect(b'=')?;
                let value = self.string_or_value()?;
                let end = self.last_end(eq.end);
                let ks = tok.start;
                Ok(Some(Stmt {
                    start,
                    end,
                    kind: StmtKind::Entry {
                        key: tok.val.clone(),
                        key_span: (ks, close.end),
                        index: Some(index),
                        eq: eq.start,
                        eq_end: eq.end,
                        value,
                    },
                }))
            }
            _ => self.err(&[]),
        }
    }

    /// `string_or_value`; `None` when the value is END_OF_LINE (consumed).
    /// Returns (kind of the first token, start, end, value) with `end` the end of the
    /// last token that belongs to the value.
    fn string_or_value(&mut self) -> PResult<Option<(T, usize, usize, Val)>> {
        let tok = self.peek();
        match tok.t {
            T::True | T::False | T::Null => {
                self.bump();
                let v = Val {
                    text: tok.val.clone(),
                    ..Val::default()
                };
                Ok(Some((tok.t, tok.start, tok.end, v)))
            }
            T::Eol => {
                self.bump();
                Ok(None)
            }
            _ => {
                let v = self.expr()?;
                let end = self.last_end(tok.end);
                Ok(Some((tok.t, tok.start, end, v)))
            }
        }
    }

    fn starts_string(&self) -> bool {
        matches!(
            self.peek().t,
            T::DollarCurly
                | T::Constant
                | T::Raw
                | T::Number
                | T::Str
                | T::Whitespace
                | T::Ch(b'"')
        )
    }

    /// php.ini entries read so far are what `${name}` looks at first.
    fn remember(&mut self, key: &[u8], value: Option<&(T, usize, usize, Val)>) {
        if self.mode == Mode::Php {
            let text = value.map(|v| v.3.text.clone()).unwrap_or_default();
            self.known.push((key.to_vec(), text));
        }
    }

    /// End of the last token consumed.
    fn last_end(&self, or: usize) -> usize {
        self.i
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(or, |t| t.end)
    }

    /// `expr` with bison's precedences: `| & ^` left-associative, `~ !` tighter.
    fn expr(&mut self) -> PResult<Val> {
        if self.depth > MAX_DEPTH {
            let tok = self.peek();
            return Err(ParseError {
                tok: tok.clone(),
                message: "expression nested too deeply".into(),
            });
        }
        let mut left = self.unary()?;
        while let T::Ch(op @ (b'|' | b'&' | b'^')) = self.peek().t {
            self.bump();
            let right = self.unary()?;
            left = binop(op, left, Some(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Val> {
        self.depth += 1;
        let r = self.unary_inner();
        self.depth = self.depth.saturating_sub(1);
        r
    }

    fn unary_inner(&mut self) -> PResult<Val> {
        if self.depth > MAX_DEPTH {
            let tok = self.peek();
            return Err(ParseError {
                tok: tok.clone(),
                message: "expression nested too deeply".into(),
            });
        }
        match self.peek().t {
            T::Ch(c @ (b'~' | b'!')) => {
                self.bump();
                let v = self.unary()?;
                Ok(binop(c, v, None))
            }
            T::Ch(b'(') => {
                self.bump();
                let v = self.expr()?;
                if self.peek().t != T::Ch(b')') {
                    return self.err(&["'^'", "'|'", "'&'", "')'"]);
                }
                self.bump();
                Ok(v)
            }
            _ => match self.string_list(false)? {
                Some(v) => Ok(v),
                None => self.err(&[]),
            },
        }
    }

    /// `var_string_list` (values, offsets) or `var_string_list_section` (sections:
    /// constants are not replaced). `None` when it is empty.
    fn string_list(&mut self, section: bool) -> PResult<Option<Val>> {
        let mut out: Option<Val> = None;
        while self.starts_string() {
            let tok = self.bump();
            let piece = match tok.t {
                T::DollarCurly => self.var_ref()?,
                T::Ch(b'"') => self.encapsed()?,
                T::Raw => Val {
                    text: tok.val.clone(),
                    quoted: true,
                    ..Val::default()
                },
                T::Constant if !section => match constant(&tok.val) {
                    Some(Const::Known(v)) => Val {
                        text: v.as_bytes().to_vec(),
                        expression: true,
                        ..Val::default()
                    },
                    Some(Const::Build) => Val {
                        text: tok.val.clone(),
                        computed: true,
                        ..Val::default()
                    },
                    None => Val {
                        text: tok.val.clone(),
                        ..Val::default()
                    },
                },
                _ => Val {
                    text: tok.val.clone(),
                    ..Val::default()
                },
            };
            match &mut out {
                Some(v) => v.join(piece),
                None => out = Some(piece),
            }
        }
        Ok(out)
    }

    /// After `"`: `encapsed_list '"'`.
    fn encapsed(&mut self) -> PResult<Val> {
        let mut v = Val {
            quoted: true,
            ..Val::default()
        };
        loop {
            let tok = self.peek();
            match tok.t {
                T::Quoted => {
                    self.bump();
                    v.text.extend_from_slice(&tok.val);
                }
                T::DollarCurly => {
                    self.bump();
                    let r = self.var_ref()?;
                    v.join(r);
                }
                T::Ch(b'"') => {
                    self.bump();
                    return Ok(v);
                }
                _ => return self.err(&["TC_DOLLAR_CURLY", "TC_QUOTED_STRING", "'\"'"]),
            }
        }
    }

    /// After `${`: `TC_VARNAME '}'`.
    fn var_ref(&mut self) -> PResult<Val> {
        let tok = self.peek();
        if tok.t != T::VarName {
            return self.err(&["TC_VARNAME"]);
        }
        self.bump();
        self.expect(b'}')?;
        if self.mode == Mode::Php {
            if let Some((_, v)) = self.known.iter().rev().find(|(k, _)| *k == tok.val) {
                return Ok(Val {
                    text: v.clone(),
                    ..Val::default()
                });
            }
        }
        Ok(Val {
            text: Vec::new(),
            computed: true,
            env: vec![String::from_utf8_lossy(&tok.val).into_owned()],
            ..Val::default()
        })
    }
}

/// zend_ini_do_op: C `int` arithmetic on `atoi` of each operand.
fn binop(op: u8, a: Val, b: Option<Val>) -> Val {
    let x = atoi(&a.text);
    let y = b.as_ref().map_or(0, |b| atoi(&b.text));
    let r: i32 = match op {
        b'|' => x | y,
        b'&' => x & y,
        b'^' => x ^ y,
        b'~' => !x,
        b'!' => i32::from(x == 0),
        _ => 0,
    };
    let mut env = a.env;
    let mut computed = a.computed;
    if let Some(b) = b {
        env.extend(b.env);
        computed |= b.computed;
    }
    Val {
        text: r.to_string().into_bytes(),
        quoted: false,
        expression: true,
        computed,
        env,
    }
}

// ---------------------------------------------------------------------------
// Builder: statements → lines with pieces.
// ---------------------------------------------------------------------------

struct Builder<'a> {
    src: &'a [u8],
    mode: Mode,
    stmts: Vec<Stmt>,
    errors: Vec<SyntaxError>,
    warnings: Vec<SyntaxError>,
    php_error: Option<PhpError>,
    /// Line number (1-based) of a byte offset, for fpm-mode PHP errors.
    line_starts: Vec<usize>,
}

impl<'a> Builder<'a> {
    fn new(src: &'a [u8], mode: Mode) -> Self {
        let mut line_starts = vec![0];
        for (i, &c) in src.iter().enumerate() {
            if c == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Builder {
            src,
            mode,
            stmts: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            php_error: None,
            line_starts,
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    fn next_line_start(&self, at: usize) -> usize {
        match self
            .src
            .get(at..)
            .and_then(|s| s.iter().position(|&c| c == b'\n'))
        {
            Some(i) => at + i + 1,
            None => self.src.len(),
        }
    }

    /// php.ini: the whole file is one scan. PHP stops at its first syntax error;
    /// we go on from the next line, one line at a time (nothing there is applied,
    /// and reading line by line keeps a file full of errors linear).
    fn run_php(&mut self) {
        let src = self.src;
        let toks = tokenize(src, 0, 1);
        let mut p = Parser {
            toks: &toks,
            i: 0,
            depth: 0,
            mode: self.mode,
            known: Vec::new(),
        };
        let outcome = self.statements(&mut p, src.len(), false);
        let known = std::mem::take(&mut p.known);
        if let Some((next, _)) = outcome {
            self.run_lines(next, known);
        }
    }

    /// php-fpm: every physical line on its own, with a `\n` appended as php-fpm does.
    fn run_fpm(&mut self) {
        self.run_lines(0, Vec::new());
    }

    /// Parse each physical line from `start` on its own (php-fpm's way of reading).
    fn run_lines(&mut self, mut start: usize, mut known: Vec<(Vec<u8>, Vec<u8>)>) {
        // One line buffer and one token vector serve every line.
        let mut buf: Vec<u8> = Vec::new();
        let mut toks: Vec<Tok> = Vec::new();
        while start < self.src.len() {
            let end = self.next_line_start(start);
            let body_end = if self.src.get(end.wrapping_sub(1)) == Some(&b'\n') {
                end - 1
            } else {
                end
            };
            if body_end == start {
                // An empty line (php-fpm skips it).
                self.stmts.push(Stmt {
                    start,
                    end,
                    kind: StmtKind::Eol,
                });
            } else {
                buf.clear();
                buf.extend_from_slice(self.src.get(start..body_end).unwrap_or_default());
                buf.push(b'\n');
                // Offsets are relative to the line; the appended `\n` maps to the real
                // one (or to the end of the file when the last line lacks it).
                tokenize_into(&buf, 0, 1, &mut toks);
                for t in &mut toks {
                    t.start = (t.start + start).min(end);
                    t.end = (t.end + start).min(end);
                }
                let mut p = Parser {
                    toks: &toks,
                    i: 0,
                    depth: 0,
                    mode: self.mode,
                    known: std::mem::take(&mut known),
                };
                let _ = self.statements(&mut p, end, true);
                known = std::mem::take(&mut p.known);
                // A syntax error cut the line short: the rest joins it.
                if let Some(last) = self.stmts.last_mut() {
                    if last.start >= start && last.end < end {
                        last.end = end;
                    }
                }
            }
            start = end;
        }
    }

    /// Parse statements until the end of the tokens or a syntax error. Returns where
    /// to go on after an error (the next line) and PHP's line number there.
    fn statements(
        &mut self,
        p: &mut Parser<'_>,
        region_end: usize,
        line_mode: bool,
    ) -> Option<(usize, usize)> {
        loop {
            let before = p.i;
            match p.statement() {
                Ok(Some(stmt)) => {
                    self.stmts.push(stmt);
                    if p.i <= before {
                        return None;
                    }
                }
                // Outside a statement every byte starts some token, so the input
                // only ends here at its real end (or in a comment running into it).
                Ok(None) => return None,
                Err(e) => {
                    let start = p.toks.get(before).map_or(e.tok.start, |t| t.start);
                    let resync = if line_mode {
                        region_end
                    } else if e.tok.t == T::End && !e.tok.is_stop() {
                        // The input ran out inside a quote or section: go on from the line
                        // after the statement's start.
                        self.next_line_start(start)
                    } else if e.tok.end > e.tok.start
                        && matches!(self.src.get(e.tok.end - 1), Some(b'\n') | Some(b'\r'))
                    {
                        e.tok.end
                    } else {
                        self.next_line_start(e.tok.start)
                    };
                    let resync = resync.max(start + 1).min(region_end);
                    self.record_error(&e, start, resync, p.toks, p.i);
                    return Some((resync, e.tok.lineno + 1));
                }
            }
        }
    }

    fn record_error(
        &mut self,
        e: &ParseError,
        start: usize,
        end: usize,
        toks: &[Tok],
        reached: usize,
    ) {
        // Point at the unexpected token; at the end of the input, at the last token read
        // (the unterminated quote or section).
        let (a, b) = if e.tok.t == T::End {
            let last = toks
                .get(..reached.min(toks.len()))
                .and_then(|s| s.iter().rev().find(|t| t.t != T::End));
            match last {
                Some(t) if t.start >= start => (t.start, t.end.max(t.start + 1)),
                _ => (e.tok.start, e.tok.start + 1),
            }
        } else {
            (e.tok.start, e.tok.end.max(e.tok.start + 1))
        };
        let line_end = self.next_line_start(a);
        let b = b.min(line_end).min(self.src.len()).max(a);
        let a = a.min(self.src.len());
        // Do not include the line ending in the span.
        let mut bb = b;
        while bb > a && matches!(self.src.get(bb - 1), Some(b'\n') | Some(b'\r')) {
            bb -= 1;
        }
        let span = Span::new(a, if bb > a { bb } else { b.max(a) });
        self.errors.push(SyntaxError::new(span, e.message.clone()));
        if self.php_error.is_none() {
            let line = match self.mode {
                Mode::Php => e.tok.lineno,
                Mode::Fpm => self.line_of(start),
            };
            self.php_error = Some(PhpError {
                offset: start,
                line,
                message: e.message.clone(),
            });
        }
        self.stmts.push(Stmt {
            start,
            end: end.max(start),
            kind: StmtKind::Error {
                at: (span.start, span.end),
            },
        });
    }

    fn finish(mut self) -> File {
        let src = self.src;
        let len = src.len();
        // 1. Order statements and make them cover the file without gaps or overlaps.
        let mut stmts = std::mem::take(&mut self.stmts);
        stmts.sort_by_key(|s| s.start);
        let mut fixed: Vec<Stmt> = Vec::with_capacity(stmts.len());
        let mut pos = 0;
        for mut s in stmts {
            if s.end <= pos {
                continue; // swallowed by an earlier statement
            }
            if s.start < pos {
                s.start = pos;
            }
            if s.start > pos {
                // A gap (skipped blanks, BOM): give it to this statement.
                s.start = pos;
            }
            s.end = s.end.min(len);
            pos = s.end;
            fixed.push(s);
        }
        if pos < len {
            match fixed.last_mut() {
                Some(last) => last.end = len,
                None => fixed.push(Stmt {
                    start: pos,
                    end: len,
                    kind: StmtKind::Eol,
                }),
            }
        }

        // 2. Group statements into lines.
        let mut lines: Vec<Line> = Vec::new();
        let mut group: Vec<Stmt> = Vec::new();
        let n = fixed.len();
        for (i, s) in fixed.into_iter().enumerate() {
            let ends_line = src
                .get(s.start..s.end)
                .is_some_and(|b| matches!(b.last(), Some(b'\n') | Some(b'\r')))
                || i + 1 == n;
            group.push(s);
            if ends_line {
                self.emit_group(std::mem::take(&mut group), &mut lines);
            }
        }
        if !group.is_empty() {
            self.emit_group(group, &mut lines);
        }

        let mut errors = self.errors;
        super::cap_errors(&mut errors);
        File {
            lines,
            errors,
            warnings: self.warnings,
            php_error: self.php_error,
        }
    }

    /// Statements up to a line ending: one `Line` per content statement, with
    /// END_OF_LINE statements attached to the content before them.
    fn emit_group(&mut self, group: Vec<Stmt>, lines: &mut Vec<Line>) {
        // Split where a statement with content follows one: each part is a line. The
        // parts are ranges of `group` (no vector per line).
        let mut begin = 0;
        let mut has_content = false;
        for (i, s) in group.iter().enumerate() {
            let content = is_content(s);
            if i > begin && content && has_content {
                if let Some(line) = self.make_line(&group[begin..i]) {
                    lines.push(line);
                }
                begin = i;
                has_content = false;
            }
            has_content |= content;
        }
        if begin < group.len() {
            if let Some(line) = self.make_line(&group[begin..]) {
                lines.push(line);
            }
        }
    }

    fn make_line(&mut self, part: &[Stmt]) -> Option<Line> {
        let start = part.first()?.start;
        let end = part.last()?.end;
        let src = self.src;
        let bytes = src.get(start..end).unwrap_or_default();
        let mut cuts: Vec<usize> = vec![start, end];
        // The line ending and a trailing comment.
        let mut body_end = end;
        while body_end > start && matches!(src.get(body_end - 1), Some(b'\n') | Some(b'\r')) {
            body_end -= 1;
        }
        cuts.push(body_end);
        let content = part.iter().find(|s| is_content(s));
        let content_end = content.map_or(start, |c| c.end.min(body_end));
        let comment = find_comment(src, content_end.max(start), body_end);
        if let Some(c) = comment {
            cuts.push(c);
        }
        let kind = match content.map(|c| &c.kind) {
            None => {
                if comment.is_some() || bytes.contains(&b';') {
                    LineKind::Comment
                } else {
                    LineKind::Blank
                }
            }
            Some(StmtKind::Section { open, close, name }) => {
                let (open, close) = (*open, (*close).min(end));
                cuts.extend([open, close]);
                let raw = String::from_utf8_lossy(
                    src.get(open + 1..close.saturating_sub(1))
                        .unwrap_or_default(),
                )
                .into_owned();
                LineKind::Section(Section {
                    span: Span::new(open, close),
                    name: String::from_utf8_lossy(&name.text).into_owned(),
                    raw,
                    env: name.env.clone(),
                })
            }
            Some(StmtKind::Entry {
                key,
                key_span,
                index,
                eq,
                eq_end,
                value,
            }) => {
                let (ks, ke) = trim_span(src, key_span.0, key_span.1, index.is_none());
                let eq_char = src
                    .get(*eq..*eq_end)
                    .and_then(|b| b.iter().position(|&c| c == b'='))
                    .map_or(*eq, |i| eq + i);
                cuts.extend([ks, ke, eq_char, (eq_char + 1).min(end)]);
                let value = match value {
                    None => Value {
                        span: Span::empty(*eq_end),
                        raw: String::new(),
                        text: String::new(),
                        kind: ValueKind::Empty,
                        env: Vec::new(),
                    },
                    Some((t, vs, ve, val)) => {
                        let (vs, ve) = trim_value_span(src, *vs, (*ve).min(body_end));
                        cuts.extend([vs, ve]);
                        let kind = if matches!(t, T::True | T::False | T::Null) {
                            ValueKind::Keyword
                        } else if val.computed {
                            ValueKind::Computed
                        } else if val.expression {
                            ValueKind::Expression
                        } else if val.quoted {
                            ValueKind::Quoted
                        } else {
                            ValueKind::Plain
                        };
                        Value {
                            span: Span::new(vs, ve),
                            raw: String::from_utf8_lossy(src.get(vs..ve).unwrap_or_default())
                                .into_owned(),
                            text: String::from_utf8_lossy(&val.text).into_owned(),
                            kind,
                            env: val.env.clone(),
                        }
                    }
                };
                let entry_end = value.span.end.max(ke);
                LineKind::Entry(Entry {
                    span: Span::new(ks, entry_end),
                    key: Key {
                        span: Span::new(ks, ke),
                        name: String::from_utf8_lossy(key).into_owned(),
                        index: index
                            .as_ref()
                            .map(|v| String::from_utf8_lossy(&v.text).into_owned()),
                    },
                    value,
                })
            }
            Some(StmtKind::BareLabel { name }) => {
                let c = content.map_or(start, |c| c.start);
                let (a, b) = trim_span(src, c, content_end, true);
                let key = String::from_utf8_lossy(name).into_owned();
                match self.mode {
                    Mode::Php => self.warnings.push(SyntaxError::new(
                        Span::new(a, b),
                        format!("`{key}` has no `=`: PHP ignores this line"),
                    )),
                    Mode::Fpm => self.errors.push(SyntaxError::new(
                        Span::new(a, b),
                        format!(
                            "`{key}` has no `=` and no value (php-fpm: value is NULL for a ZEND_INI_PARSER_ENTRY)"
                        ),
                    )),
                }
                LineKind::Error
            }
            Some(StmtKind::Error { at, .. }) => {
                cuts.extend([at.0, at.1]);
                LineKind::Error
            }
            Some(StmtKind::Eol) => LineKind::Blank,
        };
        cuts.retain(|&c| c >= start && c <= end);
        cuts.sort_unstable();
        cuts.dedup();
        let pieces = cuts.windows(2).map(|w| Span::new(w[0], w[1])).collect();
        Some(Line {
            span: Span::new(start, end),
            kind,
            pieces,
        })
    }
}

fn is_content(s: &Stmt) -> bool {
    match &s.kind {
        StmtKind::Eol => false,
        StmtKind::BareLabel { name } => !name.is_empty(),
        _ => true,
    }
}

/// The first `;` outside quotes between `from` and `to` (a comment in PHP's eyes).
fn find_comment(src: &[u8], from: usize, to: usize) -> Option<usize> {
    let bytes = src.get(from..to)?;
    bytes.iter().position(|&c| c == b';').map(|i| from + i)
}

/// A key's span without surrounding blanks (and, for an offset, up to its `]`).
fn trim_span(src: &[u8], mut a: usize, mut b: usize, plain: bool) -> (usize, usize) {
    while a < b && src.get(a).is_some_and(|&c| is_blank(c)) {
        a += 1;
    }
    if plain {
        while b > a
            && src
                .get(b - 1)
                .is_some_and(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        {
            b -= 1;
        }
    }
    (a, b)
}

/// A value's span without the blanks around it.
fn trim_value_span(src: &[u8], mut a: usize, mut b: usize) -> (usize, usize) {
    while a < b && src.get(a).is_some_and(|&c| is_blank(c)) {
        a += 1;
    }
    while b > a && src.get(b - 1).is_some_and(|&c| is_blank(c)) {
        b -= 1;
    }
    (a, b)
}

/// Every token from `start` (state INITIAL) up to and including the first `End`.
fn tokenize(buf: &[u8], start: usize, lineno: usize) -> Vec<Tok> {
    let mut out = Vec::new();
    tokenize_into(buf, start, lineno, &mut out);
    out
}

/// [`tokenize`] into `out` (cleared first), reusing its allocation.
fn tokenize_into(buf: &[u8], start: usize, lineno: usize, out: &mut Vec<Tok>) {
    out.clear();
    let mut sc = Scanner::new(buf, start, lineno);
    // Every token but `End` consumes at least one byte, except the zero-width
    // END_OF_LINE before `=` (at most one per byte, since it switches to INITIAL).
    let max = 2 * buf.len().saturating_sub(start) + 4;
    for _ in 0..max {
        let t = sc.next();
        let end = t.t == T::End;
        out.push(t);
        if end {
            return;
        }
    }
    let p = sc.pos.min(buf.len());
    out.push(Tok {
        t: T::End,
        start: p,
        end: p,
        val: Vec::new(),
        lineno: sc.lineno,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> (String, Option<String>, String, ValueKind) {
        let f = parse(src.as_bytes());
        assert!(f.errors.is_empty(), "{src:?}: {:?}", f.errors);
        let (_, e) = f.entries().next().expect("an entry");
        (
            e.key.name.clone(),
            e.key.index.clone(),
            e.value.text.clone(),
            e.value.kind,
        )
    }

    fn text(src: &str) -> String {
        one(src).2
    }

    fn roundtrip(src: &[u8]) {
        for f in [parse(src), parse_fpm(src)] {
            assert_eq!(print(&f, src), src, "{:?}", String::from_utf8_lossy(src));
            let mut pos = 0;
            for l in &f.lines {
                assert_eq!(l.span.start, pos);
                for p in &l.pieces {
                    assert_eq!(p.start, pos);
                    assert!(p.end > p.start);
                    pos = p.end;
                }
                assert_eq!(l.span.end, pos);
            }
            assert_eq!(pos, src.len());
        }
    }

    #[test]
    fn plain_values_and_comments() {
        assert_eq!(
            one("memory_limit = 128M ; comment\n"),
            ("memory_limit".into(), None, "128M".into(), ValueKind::Plain)
        );
        assert_eq!(text("x = a b  c \t\n"), "a b  c");
        assert_eq!(text("x=1;c"), "1");
        assert_eq!(text("x = 1 "), "1 "); // PHP keeps the blank before the end of the file
        assert_eq!(text("x = $y\n"), "$y");
    }

    #[test]
    fn hash_is_not_a_comment() {
        let f = parse(b"#x = 1\n");
        let (_, e) = f.entries().next().expect("entry");
        assert_eq!(e.key.name, "#x");
    }

    #[test]
    fn quotes_and_concatenation() {
        assert_eq!(one("x = \"a;b\" ; c\n").2, "a;b");
        assert_eq!(one("x = \"a;b\"\n").3, ValueKind::Quoted);
        assert_eq!(text("x = 'a;b'\n"), "a;b");
        assert_eq!(text("x = \"a\" b 'c' d\n"), "ab c d");
        assert_eq!(text("x = \"a\\\"b\"\n"), "a\"b");
        assert_eq!(text("x = \"a\\\\b\\n\"\n"), "a\\b\\n");
        assert_eq!(text("x = \"C:\\path\\\"\n"), "C:\\path\\");
        assert_eq!(text("x = \"a\nb\"\n"), "a\nb");
        assert_eq!(text("x = \"\"\n"), "");
    }

    #[test]
    fn keywords_and_empty() {
        for (s, t) in [
            ("On", "1"),
            ("oFF", ""),
            ("yes", "1"),
            ("none", ""),
            ("NULL", ""),
            ("true", "1"),
        ] {
            let (_, _, text, kind) = one(&format!("x = {s}\n"));
            assert_eq!((text.as_str(), kind), (t, ValueKind::Keyword), "{s}");
        }
        assert_eq!(text("x = \"On\"\n"), "On");
        assert_eq!(text("x = true1\n"), "true1");
        let (_, _, t, k) = one("x =\n");
        assert_eq!((t.as_str(), k), ("", ValueKind::Empty));
        let (_, _, t, k) = one("x = ; nothing\n");
        assert_eq!((t.as_str(), k), ("", ValueKind::Empty));
    }

    #[test]
    fn expressions_evaluate_like_php_82() {
        let (_, _, t, k) = one("error_reporting = E_ALL & ~E_DEPRECATED & ~E_STRICT\n");
        assert_eq!((t.as_str(), k), ("22527", ValueKind::Expression));
        assert_eq!(text("x = E_ALL\n"), "32767");
        assert_eq!(text("x = E_ALL ^ E_NOTICE\n"), "32759");
        assert_eq!(text("x = ~E_ALL\n"), "-32768");
        assert_eq!(text("x = (1|2)&3\n"), "3");
        assert_eq!(text("x = !0\n"), "1");
        assert_eq!(text("x = a|b\n"), "0");
        assert_eq!(text("x = 3.5 | 0\n"), "3");
        assert_eq!(text("x = E_ALL b\n"), "32767 b");
        assert_eq!(text("x = files\n"), "files");
        assert_eq!(one("x = PHP_VERSION\n").3, ValueKind::Computed);
    }

    #[test]
    fn env_vars() {
        let f = parse(b"x = ${PHP_MEMORY_LIMIT}\n");
        let (_, e) = f.entries().next().expect("entry");
        assert_eq!(e.value.kind, ValueKind::Computed);
        assert_eq!(e.value.text, "");
        assert_eq!(e.value.env, vec!["PHP_MEMORY_LIMIT".to_string()]);
        // PHP 8.2 has no `:-default`: it is part of the name.
        let f = parse(b"x = ${A:-b}\n");
        let (_, e) = f.entries().next().expect("entry");
        assert_eq!(e.value.env, vec!["A:-b".to_string()]);
        // An earlier entry wins over the environment.
        let f = parse(b"y = 5\nx = \"${y}/a\"\n");
        let (_, e) = f.entries().nth(1).expect("entry");
        assert_eq!(
            (e.value.text.as_str(), e.value.kind),
            ("5/a", ValueKind::Quoted)
        );
    }

    #[test]
    fn arrays_and_sections() {
        assert_eq!(
            one("php_admin_value[memory_limit] = 256M\n"),
            (
                "php_admin_value".into(),
                Some("memory_limit".into()),
                "256M".into(),
                ValueKind::Plain
            )
        );
        assert_eq!(one("x[] = 1\n").1, Some(String::new()));
        assert_eq!(one("x[ k ] = 1\n").1, Some("k ".into()));
        let f = parse(b"[PATH=/var/www]\nx=1\n[www]\n");
        let names: Vec<_> = f
            .lines
            .iter()
            .filter_map(|l| match &l.kind {
                LineKind::Section(s) => Some(s.name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["PATH=/var/www", "www"]);
        let (sec, e) = f.entries().next().expect("entry");
        assert_eq!(sec.map(|s| s.name.as_str()), Some("PATH=/var/www"));
        assert_eq!(e.key.name, "x");
    }

    #[test]
    fn spans() {
        let src = b"  key = \"v\" ; c\r\n";
        let f = parse(src);
        let (_, e) = f.entries().next().expect("entry");
        assert_eq!(&src[e.key.span.start..e.key.span.end], b"key");
        assert_eq!(&src[e.value.span.start..e.value.span.end], b"\"v\"");
        assert_eq!(&src[e.span.start..e.span.end], b"key = \"v\"");
        let src = b"x[a] = 1\n";
        let f = parse(src);
        let (_, e) = f.entries().next().expect("entry");
        assert_eq!(&src[e.key.span.start..e.key.span.end], b"x[a]");
        let src = b"x =  \n";
        let f = parse(src);
        let (_, e) = f.entries().next().expect("entry");
        assert_eq!(e.value.span, Span::empty(5));
        assert_eq!(f.lines.len(), 1);
    }

    #[test]
    fn syntax_errors_use_php_wording() {
        let cases: &[(&str, &str, usize)] = &[
            ("a = 1\n=x\n", "syntax error, unexpected '='", 2),
            ("[unclosed\na=1\n", "syntax error, unexpected end of file, expecting ']'", 1),
            ("a = \"x\nb = 2\n", "syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or '\"'", 3),
            ("a = (1\n", "syntax error, unexpected END_OF_LINE, expecting '^' or '|' or '&' or ')'", 2),
            ("on = 1\n", "syntax error, unexpected BOOL_TRUE", 1),
            ("  [PHP]\n", "syntax error, unexpected END_OF_LINE, expecting '='", 2),
            ("a = ${\n", "syntax error, unexpected end of file, expecting TC_VARNAME", 1),
            ("x = 1 & \n", "syntax error, unexpected END_OF_LINE", 2),
        ];
        for (src, msg, line) in cases {
            let f = parse(src.as_bytes());
            let e = f.php_error.as_ref().unwrap_or_else(|| panic!("{src:?}"));
            assert_eq!((e.message.as_str(), e.line), (*msg, *line), "{src:?}");
            assert!(!f.errors.is_empty());
            roundtrip(src.as_bytes());
        }
    }

    #[test]
    fn parsing_goes_on_after_an_error() {
        let f = parse(b"=x\nb = 2\n");
        assert_eq!(f.errors.len(), 1);
        let keys: Vec<_> = f.entries().map(|(_, e)| e.key.name.clone()).collect();
        assert_eq!(keys, ["b"]);
        assert_eq!(f.applied_entries().count(), 0);
    }

    #[test]
    fn bare_key_is_a_warning_for_php_and_an_error_for_fpm() {
        let f = parse(b"display_errors On\n");
        assert!(f.errors.is_empty());
        assert_eq!(f.warnings.len(), 1);
        assert_eq!(f.entries().count(), 0);
        let f = parse_fpm(b"pm.max_children\n");
        assert_eq!(f.errors.len(), 1);
    }

    #[test]
    fn fpm_reads_line_by_line() {
        let f = parse_fpm(b"[www]\nx = \"a\nb\"\n");
        assert!(!f.errors.is_empty());
        let f = parse_fpm(b"[www]\nlisten = /run/$pool.sock\npm = dynamic ; c\n");
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        let v: Vec<_> = f
            .entries()
            .map(|(s, e)| (s.map(|s| s.name.clone()), e.value.text.clone()))
            .collect();
        assert_eq!(
            v,
            [
                (Some("www".to_string()), "/run/$pool.sock".to_string()),
                (Some("www".to_string()), "dynamic".to_string())
            ]
        );
    }

    #[test]
    fn two_statements_on_one_line() {
        let src = b"[www] listen = 9000\n";
        let f = parse_fpm(src);
        assert!(f.errors.is_empty());
        assert_eq!(f.lines.len(), 2);
        let (s, e) = f.entries().next().expect("entry");
        assert_eq!(s.map(|s| s.name.as_str()), Some("www"));
        assert_eq!(e.value.text, "9000");
        roundtrip(src);
    }

    #[test]
    fn byte_edge_cases_roundtrip() {
        for src in [
            &b""[..],
            b"\n",
            b"x",
            b"x=",
            b"x = 1",
            b"; c",
            b"\xef\xbb\xbfx = 1\n",
            b"x = a\x00b\nc = 1\n",
            b"\x00x = 1\n",
            b"x = \"\xff\xfe\"\r\n\r\n",
            b"x = 'abc\ny = 1\n",
            b"[a] x = 1 ; c\n[b]\n",
            b"a\tb = 1\n",
            b"x = $\ny = 2\n",
            b"x = 1 = 2\n",
            b"((((((\n",
            b"x = ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1\n",
            b"\r\r\n\r",
        ] {
            roundtrip(src);
        }
    }

    #[test]
    fn nul_byte_is_part_of_a_key() {
        // PHP 8.2's key characters include NUL: it does not stop reading there.
        let f = parse(b"a = 1\n\x00b = 2\n");
        assert!(f.php_error.is_none());
        let keys: Vec<_> = f
            .applied_entries()
            .map(|(_, e)| e.key.name.clone())
            .collect();
        assert_eq!(keys, ["a", "\u{0}b"]);
    }
}
