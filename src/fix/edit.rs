//! Style-preserving edit builders shared by every rule's fix: set a directive in an
//! nginx block, a key in a pool, a define in wp-config.php — each in the file's own
//! style (indentation, tabs or spaces, line endings, `key = value` spacing).

use super::Edit;
use crate::finding::Place;
use crate::source::{SourceFile, Span};
use crate::stack::nginx_model::{Nginx, ScopeId};
use crate::stack::Stack;

/// The file's line ending: CRLF when it has one, else LF, else a lone CR (old Mac
/// files, which nginx and PHP's ini scanner read as lines too), else LF.
pub fn eol(src: &SourceFile) -> &'static str {
    if src.has_crlf() {
        "\r\n"
    } else if src.bytes.contains(&b'\n') {
        "\n"
    } else if src.bytes.contains(&b'\r') {
        "\r"
    } else {
        "\n"
    }
}

/// Whether the byte before `at` ends a line (or `at` is the start of the file).
fn at_line_start(bytes: &[u8], at: usize) -> bool {
    at == 0 || matches!(bytes.get(at - 1), Some(b'\n' | b'\r'))
}

/// A line inserted at `at`: it starts on a line of its own, and ends with the file's
/// line ending unless it lands at the end of a file that has no final newline (the
/// file keeps its final-newline state).
fn line_at(bytes: &[u8], at: usize, nl: &str, line: &str) -> String {
    let lead = if at_line_start(bytes, at) { "" } else { nl };
    let at_end_unterminated = at >= bytes.len() && !at_line_start(bytes, bytes.len());
    let tail = if at_end_unterminated { "" } else { nl };
    format!("{lead}{line}{tail}")
}

/// Leading whitespace of the line holding `offset`.
pub fn indent_at(src: &SourceFile, offset: usize) -> String {
    let line = src.line_of(offset);
    src.line_bytes(line)
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .map(|b| *b as char)
        .collect()
}

/// One indentation step in this file: a tab if it indents with tabs, else 4 spaces
/// (or 2 when the file uses 2).
pub fn indent_unit(src: &SourceFile) -> String {
    let mut two = 0;
    let mut four = 0;
    for line in 1..=src.line_count().min(400) {
        let l = src.line_bytes(line);
        if l.first() == Some(&b'\t') {
            return "\t".into();
        }
        let n = l.iter().take_while(|b| **b == b' ').count();
        if n == 2 {
            two += 1;
        } else if n == 4 {
            four += 1;
        }
    }
    if two > four {
        "  ".into()
    } else {
        "    ".into()
    }
}

fn quote_like(src: &SourceFile, span: Span, value: &str) -> String {
    match src.slice(span).first() {
        Some(b'"') => format!("\"{value}\""),
        Some(b'\'') => format!("'{value}'"),
        _ => value.to_string(),
    }
}

/// Replace one nginx argument, keeping its quoting.
pub fn nginx_replace_arg(stack: &Stack, place: Place, value: &str) -> Edit {
    let src = stack.sources.get(place.file);
    Edit::replace(place.file, place.span, quote_like(src, place.span, value))
}

/// Set `name value;` in a block: change the block's own directive when it has one,
/// else insert a line before the closing brace, indented like its siblings.
pub fn nginx_set(
    stack: &Stack,
    n: &Nginx,
    scope: ScopeId,
    name: &str,
    value: &str,
) -> Option<Edit> {
    if let Some(d) = n.own(scope, name).last() {
        let first = *d.arg_spans.first()?;
        let last = *d.arg_spans.last()?;
        return Some(Edit::replace(
            d.place.file,
            first.cover(last),
            value.to_string(),
        ));
    }
    let block = n.scope(scope).block?;
    let close = block.close?;
    let src = stack.sources.get(block.file);
    let nl = eol(src);
    // Indentation: like the block's first directive in the same file, else one step in.
    let child_indent = n
        .scope(scope)
        .directives
        .iter()
        .find(|d| d.place.file == block.file)
        .map(|d| indent_at(src, d.place.span.start))
        .unwrap_or_else(|| indent_at(src, block.directive.start) + &indent_unit(src));
    let line_start = src.line_start(src.line_of(close.start));
    let brace_alone = src.bytes[line_start..close.start]
        .iter()
        .all(|b| *b == b' ' || *b == b'\t');
    if brace_alone {
        Some(Edit::insert(
            block.file,
            line_start,
            format!("{child_indent}{name} {value};{nl}"),
        ))
    } else {
        Some(Edit::insert(
            block.file,
            close.start,
            format!("{name} {value}; "),
        ))
    }
}

/// The line of an ini file that holds `offset` (lines are in file order and cover it).
fn ini_line_at(f: &crate::syntax::ini::File, offset: usize) -> Option<&crate::syntax::ini::Line> {
    let i = f.lines.partition_point(|l| l.span.end <= offset);
    f.lines.get(i).filter(|l| l.span.start <= offset)
}

/// Find an ini entry (by its span) and give the span of its value: a binary search
/// over the lines, not a scan (a pool file with 16,000 pools gets an edit per pool).
fn ini_value_span(stack: &Stack, entry: Place) -> Option<Span> {
    let f = stack.syntax_ini(entry.file)?;
    if let Some(crate::syntax::ini::LineKind::Entry(e)) =
        ini_line_at(f, entry.span.start).map(|l| &l.kind)
    {
        if e.span == entry.span {
            return Some(e.value.span);
        }
    }
    f.entries()
        .find(|(_, e)| e.span == entry.span)
        .map(|(_, e)| e.value.span)
}

/// Replace the value of an ini/pool entry, keeping everything around it.
pub fn ini_replace_value(stack: &Stack, entry: Place, value: &str) -> Option<Edit> {
    let span = ini_value_span(stack, entry)?;
    Some(Edit::replace(entry.file, span, value.to_string()))
}

/// The family of a pool key, to place a new key next to its relatives: `pm` for
/// `pm.max_requests`, `request` for `request_terminate_timeout`, `php` for
/// `php_admin_value[...]`.
fn key_family(key: &str) -> &str {
    key.split(['.', '[', '_']).next().unwrap_or(key)
}

/// Insert `key = value` into a pool section: after the last entry of the same family
/// (`pm.max_requests` after the other `pm.*` lines), else after the section's last
/// entry (or its header), with that line's indentation and the file's `key = value`
/// spacing.
pub fn pool_insert(
    stack: &Stack,
    pool: &crate::stack::Pool,
    key: &str,
    value: &str,
) -> Option<Edit> {
    let file = pool.file;
    let src = stack.sources.get(file);
    let nl = eol(src);
    let f = stack.syntax_ini(file)?;
    let family = key_family(key);
    // (end of the line to insert after, its indentation)
    let mut after: Option<(usize, &[u8])> = None;
    let mut after_related: Option<(usize, &[u8])> = None;
    let mut spaced = true;
    if pool.place.file == file {
        after = ini_line_at(f, pool.place.span.start).map(|l| (l.span.end, &b""[..]));
    }
    // The pool's own entries in this file, found through their places (not by scanning
    // every line of a file that may hold thousands of pools).
    let mut starts: Vec<usize> = pool
        .entries
        .iter()
        .filter_map(|(_, s)| s.place())
        .chain(pool.overrides.iter().filter_map(|(_, p)| p.value.place()))
        .filter(|p| p.file == file)
        .map(|p| p.span.start)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    for start in starts {
        let Some(line) = ini_line_at(f, start) else {
            continue;
        };
        let crate::syntax::ini::LineKind::Entry(e) = &line.kind else {
            continue;
        };
        let indent = &src.bytes[line.span.start..e.key.span.start.max(line.span.start)];
        let indent: &[u8] = if indent.iter().all(|b| *b == b' ' || *b == b'\t') {
            indent
        } else {
            b""
        };
        after = Some((line.span.end, indent));
        if key_family(&e.key.name).eq_ignore_ascii_case(family) {
            after_related = Some((line.span.end, indent));
        }
        let between = &src.bytes[e.key.span.end..e.value.span.start.max(e.key.span.end)];
        spaced = between.starts_with(b" ");
    }
    let (at, indent) = after_related.or(after)?;
    let sep = if spaced { " = " } else { "=" };
    let line = format!("{}{key}{sep}{value}", String::from_utf8_lossy(indent));
    Some(Edit::insert(file, at, line_at(&src.bytes, at, nl, &line)))
}

/// Set a pool key: replace its value when the pool sets it, else insert it.
pub fn pool_set(stack: &Stack, pool: &crate::stack::Pool, key: &str, value: &str) -> Option<Edit> {
    match pool.settings.get(key).and_then(|s| s.place()) {
        Some(p) => ini_replace_value(stack, p, value),
        None => pool_insert(stack, pool, key, value),
    }
}

/// Set a WordPress constant: replace the value of its `define()` when present, else
/// insert `define( 'NAME', value );` above "That's all, stop editing!" (or above the
/// `require_once ABSPATH . 'wp-settings.php'` line, or at the end).
pub fn wp_define(
    stack: &Stack,
    wp: &crate::stack::WpConfig,
    name: &str,
    value: &str,
) -> Option<Edit> {
    if let Some(c) = wp.constants.get(name) {
        let p = c.value_place?;
        return Some(Edit::replace(p.file, p.span, value.to_string()));
    }
    let src = stack.sources.get(wp.file);
    let nl = eol(src);
    let syntax = stack.syntax_php(wp.file)?;
    let line = format!("define( '{name}', {value} );");
    let wanted = syntax
        .stop_editing_line(&src.bytes)
        .unwrap_or(src.bytes.len());
    // Only on a statement boundary of the token stream: `define( 'A', 1 )\n/* That's
    // all… */\n;` must not get the new line between the call and its `;`.
    let (at, semicolon) = syntax.statement_boundary(&src.bytes, wanted);
    let semi = if semicolon { ";" } else { "" };
    let text = if at_line_start(&src.bytes, at) {
        format!("{semi}{line}{nl}")
    } else {
        // Mid-line (after `;`, before `?>`, or at an end without a newline): on a line
        // of its own, keeping the file's line ending and its final-newline state.
        let at_end = at >= src.bytes.len();
        let rest_blank = src.bytes[at..]
            .iter()
            .take_while(|b| **b != b'\n' && **b != b'\r')
            .all(|b| b.is_ascii_whitespace());
        let tail = if at_end || rest_blank { "" } else { nl };
        format!("{semi}{nl}{line}{tail}")
    };
    Some(Edit::insert(wp.file, at, text))
}

/// The common pool fix: set `key = value` in the pool (replace or insert), safe.
pub fn pool_fix(
    stack: &Stack,
    pool: &crate::stack::Pool,
    key: &str,
    value: &str,
) -> Option<super::Fix> {
    pool_set(stack, pool, key, value)
        .map(|e| super::Fix::safe(format!("set {key} = {value}"), vec![e]))
}

/// Set a server option in a database's option files: replace the value where it is set
/// (the line that wins), else add `name = value` under the last `[mysqld]` header read
/// (e.g. Debian's `mariadb.conf.d/50-server.cnf`; see `db_load::server_header`), else
/// append a `[mysqld]` group to the main file.
pub fn mycnf_set(
    stack: &Stack,
    db: &crate::stack::Database,
    name: &str,
    value: &str,
) -> Option<Edit> {
    if let Some(o) = db.option(name) {
        if o.value.is_some() {
            let p = o.value_place;
            return Some(Edit::replace(p.file, p.span, value.to_string()));
        }
    }
    let header = crate::stack::db_load::server_header(stack, db).map(|(id, _, end)| (id, end));
    let key = name.replace('-', "_");
    match header {
        Some((id, at)) => {
            let src = stack.sources.get(id);
            let nl = eol(src);
            let lead = if at > 0 && src.bytes.get(at - 1) != Some(&b'\n') {
                nl
            } else {
                ""
            };
            Some(Edit::insert(id, at, format!("{lead}{key} = {value}{nl}")))
        }
        None => {
            let src = stack.sources.get(db.main);
            let nl = eol(src);
            let lead = if src.bytes.is_empty() || src.bytes.ends_with(b"\n") {
                ""
            } else {
                nl
            };
            Some(Edit::insert(
                db.main,
                src.bytes.len(),
                format!("{lead}{nl}[mysqld]{nl}{key} = {value}{nl}"),
            ))
        }
    }
}

#[cfg(test)]
mod line_ending_tests {
    use super::*;
    use crate::stack::discover::{self, Inputs};

    fn pool_stack(bytes: &[u8]) -> (tempfile::TempDir, Stack) {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("www.conf");
        std::fs::write(&p, bytes).expect("write");
        let stack = discover::load(&Inputs {
            fpm: vec![p],
            ..Default::default()
        })
        .expect("load");
        (d, stack)
    }

    fn insert(bytes: &[u8]) -> Vec<u8> {
        let (_d, stack) = pool_stack(bytes);
        let pool = stack.pools.first().expect("a pool");
        let e = pool_insert(&stack, pool, "pm.max_requests", "500").expect("edit");
        let mut out = bytes.to_vec();
        out.splice(e.range.start..e.range.end, e.replacement);
        out
    }

    #[test]
    fn an_inserted_key_follows_the_line_ending_and_the_final_newline() {
        // LF, with a final newline.
        assert_eq!(
            insert(b"[www]\npm = static\npm.max_children = 5\n"),
            b"[www]\npm = static\npm.max_children = 5\npm.max_requests = 500\n"
        );
        // CRLF.
        assert_eq!(
            insert(b"[www]\r\npm = static\r\n"),
            b"[www]\r\npm = static\r\npm.max_requests = 500\r\n"
        );
        // No final newline: the file still has none.
        assert_eq!(
            insert(b"[www]\npm = static\npm.max_children = 5"),
            b"[www]\npm = static\npm.max_children = 5\npm.max_requests = 500"
        );
        // Lone CR (php-fpm's ini scanner reads them as lines): no LF appears.
        let cr = insert(b"[www]\rpm = static\rpm.max_children = 5\r");
        assert!(!cr.contains(&b'\n'), "{:?}", String::from_utf8_lossy(&cr));
        assert!(
            String::from_utf8_lossy(&cr).contains("\rpm.max_requests = 500\r"),
            "{:?}",
            String::from_utf8_lossy(&cr)
        );
    }

    #[test]
    fn eol_of_each_style() {
        let f = |b: &[u8]| eol(&SourceFile::new("x", "x", b.to_vec()));
        assert_eq!(f(b"a\r\nb\r\n"), "\r\n");
        assert_eq!(f(b"a\nb\n"), "\n");
        assert_eq!(f(b"a\rb\r"), "\r");
        assert_eq!(f(b"ab"), "\n");
    }
}
