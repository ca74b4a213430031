//! MySQL/MariaDB option files (`my.cnf`, `conf.d/*.cnf`), losslessly.
//!
//! The grammar is MariaDB's own reader (`mysys/my_default.c`,
//! `search_default_file_with_buffers`): one construct per line; leading whitespace
//! skipped; `#` and `;` start a comment line; `!include PATH` / `!includedir DIR`
//! (the keyword must be followed by whitespace); `[group]` (text up to the first `]`,
//! trailing spaces dropped); else `name`, or `name = value` where `#` outside quotes
//! ends the value, surrounding whitespace is dropped, one pair of matching quotes is
//! removed and `\n \t \r \b \s \" \' \\` are unescaped. An option before any group is
//! the server's error `Found option without preceding group`; a `[` without `]` is
//! `Wrong group definition`.
//!
//! Each line keeps its whole byte span (newline included), so printing the spans in
//! order gives the input back byte for byte.

use super::SyntaxError;
use crate::source::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub lines: Vec<Line>,
    pub errors: Vec<SyntaxError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The whole line, its newline included.
    pub span: Span,
    pub kind: LineKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    Comment,
    /// `[name]`; `name` as written (groups compare case-insensitively).
    Group {
        name: String,
        name_span: Span,
    },
    /// `name` or `name = value`, inside the group of the last `[group]` line.
    Option(OptionLine),
    /// `!include PATH`.
    Include {
        path: String,
        path_span: Span,
    },
    /// `!includedir DIR`.
    IncludeDir {
        path: String,
        path_span: Span,
    },
    /// A `!` directive the server does not know: it skips the line.
    UnknownDirective,
    /// A line the server refuses (see `File::errors`).
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionLine {
    /// The name as written (`-`/`_` and a `loose-` prefix kept).
    pub name: String,
    pub name_span: Span,
    /// The value after unquoting and unescaping, `None` for a bare option.
    pub value: Option<String>,
    /// The value's text as written (quotes included), empty at the `=` for `name =`.
    pub value_span: Option<Span>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Parse an option file. Never fails: refused lines are `LineKind::Error` with an error.
pub fn parse(src: &[u8]) -> File {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut start = 0;
    let mut found_group = false;
    while start < src.len() {
        let end = src[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(src.len(), |i| start + i + 1);
        let kind = parse_line(src, start, end, &mut found_group, &mut errors);
        lines.push(Line {
            span: Span::new(start, end),
            kind,
        });
        start = end;
    }
    super::cap_errors(&mut errors);
    File { lines, errors }
}

fn text(src: &[u8], s: Span) -> String {
    String::from_utf8_lossy(&src[s.start..s.end]).into_owned()
}

fn parse_line(
    src: &[u8],
    start: usize,
    end: usize,
    found_group: &mut bool,
    errors: &mut Vec<SyntaxError>,
) -> LineKind {
    let mut p = start;
    while p < end && is_space(src[p]) {
        p += 1;
    }
    // The line's content without its trailing whitespace (the newline included).
    let mut e = end;
    while e > p && is_space(src[e - 1]) {
        e -= 1;
    }
    if p == e {
        return LineKind::Blank;
    }
    match src[p] {
        b'#' | b';' => LineKind::Comment,
        b'!' => {
            let mut q = p + 1;
            while q < e && is_space(src[q]) {
                q += 1;
            }
            let rest = &src[q..end];
            for (kw, dir) in [(&b"includedir"[..], true), (&b"include"[..], false)] {
                if rest.starts_with(kw) && rest.get(kw.len()).is_some_and(|b| is_space(*b)) {
                    let mut a = q + kw.len();
                    while a < e && is_space(src[a]) {
                        a += 1;
                    }
                    if a >= e {
                        errors.push(SyntaxError::new(
                            Span::new(p, e),
                            format!(
                                "Wrong '!{}' directive: no argument",
                                String::from_utf8_lossy(kw)
                            ),
                        ));
                        return LineKind::Error;
                    }
                    let path_span = Span::new(a, e);
                    let path = text(src, path_span);
                    return if dir {
                        LineKind::IncludeDir { path, path_span }
                    } else {
                        LineKind::Include { path, path_span }
                    };
                }
            }
            LineKind::UnknownDirective
        }
        b'[' => {
            let Some(close) = src[p + 1..e].iter().position(|b| *b == b']') else {
                errors.push(SyntaxError::new(
                    Span::new(p, e),
                    "Wrong group definition: expected \"]\"",
                ));
                return LineKind::Error;
            };
            let mut ne = p + 1 + close;
            while ne > p + 1 && is_space(src[ne - 1]) {
                ne -= 1;
            }
            let name_span = Span::new(p + 1, ne);
            *found_group = true;
            LineKind::Group {
                name: text(src, name_span),
                name_span,
            }
        }
        _ => {
            if !*found_group {
                errors.push(SyntaxError::new(
                    Span::new(p, e),
                    "Found option without preceding group",
                ));
                return LineKind::Error;
            }
            LineKind::Option(parse_option(src, p, e))
        }
    }
}

/// `remove_end_comment`: a `#` outside quotes ends the line.
fn comment_start(src: &[u8], p: usize, e: usize) -> usize {
    let mut quote = 0u8;
    let mut escape = false;
    for (i, &b) in src.iter().enumerate().take(e).skip(p) {
        if (b == b'\'' || b == b'"') && !escape {
            if quote == 0 {
                quote = b;
            } else if quote == b {
                quote = 0;
            }
        }
        if quote == 0 && b == b'#' {
            return i;
        }
        escape = quote != 0 && b == b'\\' && !escape;
    }
    e
}

fn parse_option(src: &[u8], p: usize, e: usize) -> OptionLine {
    let ce = comment_start(src, p, e);
    let eq = src[p..ce].iter().position(|b| *b == b'=').map(|i| p + i);
    let mut ne = eq.unwrap_or(ce);
    while ne > p && is_space(src[ne - 1]) {
        ne -= 1;
    }
    let name_span = Span::new(p, ne);
    let name = text(src, name_span);
    let Some(eq) = eq else {
        return OptionLine {
            name,
            name_span,
            value: None,
            value_span: None,
        };
    };
    let mut v = eq + 1;
    while v < ce && is_space(src[v]) {
        v += 1;
    }
    let mut ve = ce;
    while ve > v && is_space(src[ve - 1]) {
        ve -= 1;
    }
    let value_span = Span::new(v, ve);
    let (mut a, mut b) = (v, ve);
    if a < b && (src[a] == b'"' || src[a] == b'\'') && a + 1 < b && src[a] == src[b - 1] {
        a += 1;
        b -= 1;
    }
    OptionLine {
        name,
        name_span,
        value: Some(unescape(&src[a..b])),
        value_span: Some(value_span),
    }
}

fn unescape(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            let c = raw[i + 1];
            let r = match c {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'b' => Some(8),
                b's' => Some(b' '),
                b'"' => Some(b'"'),
                b'\'' => Some(b'\''),
                b'\\' => Some(b'\\'),
                _ => None,
            };
            match r {
                Some(r) => out.push(r),
                None => {
                    out.push(b'\\');
                    out.push(c);
                }
            }
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The file printed back from its lines: byte-identical to the input.
pub fn print(file: &File, src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    for l in &file.lines {
        out.extend_from_slice(&src[l.span.start..l.span.end]);
    }
    out
}

/// An option name as the server compares it: `_` and `-` are the same, case kept
/// (MariaDB option names are lower case), a `loose-` prefix removed. Returns the name
/// and whether it was loose.
pub fn normalize_name(name: &str) -> (String, bool) {
    let n = name.replace('_', "-");
    match n.strip_prefix("loose-") {
        Some(rest) => (rest.to_string(), true),
        None => (n, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<LineKind> {
        parse(src.as_bytes())
            .lines
            .into_iter()
            .map(|l| l.kind)
            .collect()
    }

    #[test]
    fn round_trips_and_reads_each_form() {
        let src = "# c\n[mysqld]\nskip-name-resolve\nmax_connections = 200 # note\nsocket=\"/run/my sql.sock\"\n\n!includedir /etc/mysql/conf.d/\n[client-server ]\n";
        let f = parse(src.as_bytes());
        assert_eq!(print(&f, src.as_bytes()), src.as_bytes());
        assert!(f.errors.is_empty());
        let k = kinds(src);
        assert_eq!(k[0], LineKind::Comment);
        assert!(matches!(&k[1], LineKind::Group { name, .. } if name == "mysqld"));
        assert!(
            matches!(&k[2], LineKind::Option(o) if o.name == "skip-name-resolve" && o.value.is_none())
        );
        assert!(
            matches!(&k[3], LineKind::Option(o) if o.name == "max_connections" && o.value.as_deref() == Some("200"))
        );
        assert!(
            matches!(&k[4], LineKind::Option(o) if o.value.as_deref() == Some("/run/my sql.sock"))
        );
        assert!(matches!(&k[6], LineKind::IncludeDir { path, .. } if path == "/etc/mysql/conf.d/"));
        assert!(matches!(&k[7], LineKind::Group { name, .. } if name == "client-server"));
    }

    #[test]
    fn errors_like_the_server() {
        let f = parse(b"max_connections=5\n[mysqld\n");
        assert_eq!(f.errors.len(), 2);
        assert!(f.errors[0].message.contains("without preceding group"));
        assert!(f.errors[1].message.contains("Wrong group definition"));
    }

    #[test]
    fn names_normalize() {
        assert_eq!(
            normalize_name("loose-innodb_buffer_pool_size"),
            ("innodb-buffer-pool-size".into(), true)
        );
    }

    #[test]
    fn arbitrary_bytes_round_trip() {
        let src: Vec<u8> = (0u8..=255)
            .chain(b"\n[x]\na=\"b\n\r\n".iter().copied())
            .collect();
        let f = parse(&src);
        assert_eq!(print(&f, &src), src);
    }
}
