//! The text report: rustc-style — `severity[CODE]: message` (wrapped to the terminal),
//! ` --> file:line:col`, the line with a gutter and a caret, then one compact `= note:`
//! line per related place (`line N` in the same file, else `file:line`), assumptions
//! and the fix; errors first, then warnings, then infos, each by file; then one summary
//! line. Also `--output-format concise` (one line per finding) and `--statistics`.

use super::redact::Redactor;
use super::{RenderOptions, Summary};
use crate::finding::{Finding, Place, Severity};
use crate::source::SourceMap;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn sev(&self, s: Severity) -> String {
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        self.paint(code, s.as_str())
    }
    fn blue(&self, s: &str) -> String {
        self.paint("1;34", s)
    }
}

/// Widest snippet line shown, in characters: a 40 KB line (minified config, a line of
/// `}`) is shown as a window around the span, as rustc does, never whole.
pub const SNIPPET_MAX_CHARS: usize = 120;

/// How one character of a source line is shown: tabs as 4 spaces (as rustc does),
/// control characters escaped (`\x1b`, `\u{9b}`) so a file cannot drive the terminal.
fn shown(c: char) -> std::borrow::Cow<'static, str> {
    match c {
        '\t' => "    ".into(),
        c if (c as u32) < 0x20 || c == '\x7f' => format!("\\x{:02x}", c as u32).into(),
        c if c.is_control() => format!("\\u{{{:x}}}", c as u32).into(),
        c => String::from(c).into(),
    }
}

/// Text from a file (a message, a path) with its control characters escaped.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return s.into();
    }
    s.chars()
        .map(|c| match c {
            '\n' | '\t' => String::from(c).into(),
            c => shown(c),
        })
        .collect::<String>()
        .into()
}

fn snippet(
    out: &mut String,
    st: &Style,
    sources: &SourceMap,
    r: &Redactor,
    place: Place,
    mark: char,
    width: usize,
) {
    let f = sources.get(place.file);
    let (line, col) = f.line_col(place.span.start);
    let text = r.line(place.file, line);
    let num = format!("{line:>width$}");
    let pad = " ".repeat(width);
    out.push_str(&format!(
        "{pad}{} {}:{}:{}\n",
        st.blue("-->"),
        escape_controls(&f.display),
        line,
        col
    ));
    // Counted, not collected: a line may be megabytes long; only the window shown is
    // turned into chars.
    let len = text.chars().count();
    let start = (col - 1).min(len);
    let (end_line, end_col) = f.line_col(place.span.end);
    let under = if end_line == line {
        end_col.saturating_sub(col).max(1)
    } else {
        len.saturating_sub(start).max(1)
    };
    // The window of the line shown: all of it when short, else SNIPPET_MAX_CHARS
    // characters starting a little before the span.
    let (from, to) = if len <= SNIPPET_MAX_CHARS {
        (0, len)
    } else {
        let from = start
            .saturating_sub(SNIPPET_MAX_CHARS / 3)
            .min(len - SNIPPET_MAX_CHARS);
        (from, from + SNIPPET_MAX_CHARS)
    };
    let chars: Vec<char> = text.chars().skip(from).take(to - from).collect();
    let lead = if from > 0 { "…" } else { "" };
    let trail = if to < len { "…" } else { "" };
    // Characters a..b of the line (absolute positions, clamped to the window), as shown.
    let piece = |a: usize, b: usize| -> String {
        let (a, b) = (a.clamp(from, to) - from, b.clamp(from, to) - from);
        chars[a.min(b)..b].iter().map(|c| shown(*c)).collect()
    };
    out.push_str(&format!(
        "{} {} {lead}{}{trail}\n",
        st.blue(&num),
        st.blue("|"),
        piece(from, to)
    ));
    let before = lead.chars().count() + piece(from, start).chars().count();
    let marks = mark
        .to_string()
        .repeat(piece(start, start + under).chars().count().max(1));
    let color = if mark == '^' { "1;31" } else { "1;34" };
    out.push_str(&format!(
        "{pad} {} {}{}\n",
        st.blue("|"),
        " ".repeat(before),
        st.paint(color, &marks)
    ));
}

/// A unified diff with colours for a terminal: file headers bold, hunks cyan, removed
/// lines red, added lines green (as `git diff --color`). Bytes are kept as they are.
pub fn paint_diff(diff: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(diff.len() + diff.len() / 8);
    for line in diff.split_inclusive(|b| *b == b'\n') {
        let code: &[u8] = if line.starts_with(b"+++ ") || line.starts_with(b"--- ") {
            b"1"
        } else if line.starts_with(b"@@") {
            b"36"
        } else if line.starts_with(b"+") {
            b"32"
        } else if line.starts_with(b"-") {
            b"31"
        } else {
            out.extend_from_slice(line);
            continue;
        };
        let (body, nl) = match line.strip_suffix(b"\n") {
            Some(b) => (b, &b"\n"[..]),
            None => (line, &b""[..]),
        };
        out.extend_from_slice(b"\x1b[");
        out.extend_from_slice(code);
        out.extend_from_slice(b"m");
        out.extend_from_slice(body);
        out.extend_from_slice(b"\x1b[0m");
        out.extend_from_slice(nl);
    }
    out
}

/// Width the text report wraps messages to when none is given: a CI log or a pipe.
pub const DEFAULT_WIDTH: usize = 100;

/// `text` wrapped to `width` columns at spaces only (paths, URLs and quoted values are
/// never cut), the first line starting with `first`, the others with `rest`.
fn wrapped(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let opts = textwrap::Options::new(width.max(40))
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    textwrap::wrap(text, opts)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// Push `label: text` as a `= label:` line of the finding, wrapped under its text.
fn push_eq_line(out: &mut String, st: &Style, pad: &str, label: &str, text: &str, width: usize) {
    let first = format!("{pad} = {label}: ");
    let rest = " ".repeat(first.chars().count());
    for (i, l) in wrapped(text, width, &first, &rest).into_iter().enumerate() {
        if i == 0 {
            // Colour only the `=` and the label; the text after them is the wrapped text.
            let tail = &l[first.len().min(l.len())..];
            out.push_str(&format!(
                "{pad} {} {}: {tail}\n",
                st.blue("="),
                st.paint(if label == "note" { "1;32" } else { "1" }, label)
            ));
        } else {
            out.push_str(&l);
            out.push('\n');
        }
    }
}

/// The order the text report lists findings in: what matters first (errors, then
/// warnings, then infos), then by file and place — so the first screen holds the
/// outages, not the alphabetically first file's infos.
pub(crate) fn by_severity_then_file<'a>(
    findings: &'a [Finding],
    sources: &SourceMap,
) -> Vec<&'a Finding> {
    let mut order: Vec<&Finding> = findings.iter().collect();
    order.sort_by(|a, b| {
        let key = |f: &Finding| {
            f.primary
                .map(|p| (sources.get(p.file).display.clone(), p.span.start))
        };
        b.severity
            .cmp(&a.severity)
            .then_with(|| key(a).cmp(&key(b)))
            .then(a.code.cmp(b.code))
    });
    order
}

/// Where a related place is, said briefly: `line 22` in the primary's file, else
/// `file:line`.
fn where_is(sources: &SourceMap, primary: Option<Place>, p: Place) -> String {
    let f = sources.get(p.file);
    let line = f.line_of(p.span.start);
    if primary.map(|x| x.file) == Some(p.file) {
        format!("line {line}")
    } else {
        format!("{}:{line}", escape_controls(&f.display.replace('\\', "/")))
    }
}

pub fn render(
    sources: &SourceMap,
    findings: &[Finding],
    summary: &Summary,
    opts: &RenderOptions,
) -> String {
    if opts.statistics {
        return statistics(findings, summary, opts);
    }
    if opts.concise {
        return concise(sources, findings, summary, opts);
    }
    let st = Style { on: opts.color };
    let r = Redactor::new(sources);
    let width = if opts.width == 0 {
        DEFAULT_WIDTH
    } else {
        opts.width
    };
    let mut out = String::new();
    for f in by_severity_then_file(findings, sources) {
        let places: Vec<Place> = f
            .primary
            .iter()
            .copied()
            .chain(f.related.iter().map(|x| x.place))
            .collect();
        // The header: `severity[CODE]: message`, wrapped with a hanging indent.
        let head = format!("{}[{}]: ", f.severity.as_str(), f.code);
        let msg = escape_controls(&r.message(&f.message, &places)).into_owned();
        for (i, l) in wrapped(&msg, width, &head, "    ").into_iter().enumerate() {
            if i == 0 {
                out.push_str(&format!(
                    "{}{}: {}\n",
                    st.sev(f.severity),
                    st.paint("1", &format!("[{}]", f.code)),
                    &l[head.len().min(l.len())..]
                ));
            } else {
                out.push_str(&l);
                out.push('\n');
            }
        }
        // One gutter width for the whole diagnostic, as rustc does.
        let gutter = f
            .primary
            .map(|p| sources.get(p.file).line_of(p.span.start).to_string().len())
            .unwrap_or(1);
        let pad = " ".repeat(gutter);
        if let Some(p) = f.primary {
            snippet(&mut out, &st, sources, &r, p, '^', gutter);
        }
        // Related places, one compact line each; a run of one-word notes in one file
        // (S603's keys) is one line.
        let mut i = 0;
        while i < f.related.len() {
            let rel = &f.related[i];
            let msg = escape_controls(&r.message(&rel.message, &places)).into_owned();
            let one_word = |m: &str| !m.is_empty() && !m.contains(char::is_whitespace);
            if one_word(&msg) {
                let mut parts = vec![format!(
                    "{msg} ({})",
                    where_is(sources, f.primary, rel.place)
                )];
                let mut j = i + 1;
                while j < f.related.len() && f.related[j].place.file == rel.place.file {
                    let m =
                        escape_controls(&r.message(&f.related[j].message, &places)).into_owned();
                    if !one_word(&m) {
                        break;
                    }
                    let line = sources
                        .get(f.related[j].place.file)
                        .line_of(f.related[j].place.span.start);
                    parts.push(format!("{m} ({line})"));
                    j += 1;
                }
                push_eq_line(&mut out, &st, &pad, "note", &parts.join(", "), width);
                i = j;
                continue;
            }
            let text = format!("{msg} ({})", where_is(sources, f.primary, rel.place));
            push_eq_line(&mut out, &st, &pad, "note", &text, width);
            i += 1;
        }
        for a in &f.assumptions {
            push_eq_line(
                &mut out,
                &st,
                &pad,
                "assumption",
                &escape_controls(&r.text(a)),
                width,
            );
        }
        if opts.show_fixes {
            if let Some(fix) = &f.fix {
                let kind = match fix.applicability {
                    crate::fix::Applicability::Safe => "fix",
                    crate::fix::Applicability::Unsafe => "unsafe fix",
                };
                push_eq_line(
                    &mut out,
                    &st,
                    &pad,
                    kind,
                    &escape_controls(&r.message(&fix.message, &places)),
                    width,
                );
            }
        }
        out.push('\n');
    }
    if !opts.quiet {
        let line = summary_line(summary);
        let (first, omitted) = line.split_once('\n').unwrap_or((&line, ""));
        for l in wrapped(first, width, "", "  ") {
            out.push_str(&l);
            out.push('\n');
        }
        out.push_str(omitted);
        if !findings.is_empty() {
            out.push_str("`wpstack explain CODE` says what a rule checks and why.\n");
        }
    }
    out
}

/// `--output-format concise`: one line per finding, `file:line:col: CODE message`
/// (`[*]` before the message when it has a fix), as ruff's concise output and
/// shellcheck's gcc format; in file order, for editors' quickfix lists and grep.
fn concise(
    sources: &SourceMap,
    findings: &[Finding],
    summary: &Summary,
    opts: &RenderOptions,
) -> String {
    let st = Style { on: opts.color };
    let r = Redactor::new(sources);
    let mut out = String::new();
    for f in findings {
        let places = super::places_of(f);
        let at = match f.primary {
            Some(p) => {
                let (file, l, c, _, _) = super::locate(sources, p);
                format!("{}:{l}:{c}", escape_controls(&file))
            }
            None => "wpstack".to_string(),
        };
        let msg = escape_controls(&r.message(&f.message, &places)).replace('\n', " ");
        let fix = if f.fix.is_some() { "[*] " } else { "" };
        let code = match f.severity {
            Severity::Error => st.paint("1;31", f.code),
            Severity::Warning => st.paint("1;33", f.code),
            Severity::Info => st.paint("1;36", f.code),
        };
        out.push_str(&format!("{}: {code} {fix}{msg}\n", st.paint("1", &at)));
    }
    if !opts.quiet {
        out.push_str(&summary_line(summary));
    }
    out
}

/// `--statistics`: how many findings of each code, most first, as ruff's
/// `--statistics` (`[*]`: the code has fixes).
fn statistics(findings: &[Finding], summary: &Summary, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let rows = statistics_rows(findings);
    let w = rows
        .iter()
        .map(|r| r.count.to_string().len())
        .max()
        .unwrap_or(1);
    for row in &rows {
        out.push_str(&format!(
            "{:>w$}  {}  {:<7}  {} {}\n",
            row.count,
            row.code,
            row.severity.as_str(),
            if row.fixable > 0 { "[*]" } else { "   " },
            row.name
        ));
    }
    if !opts.quiet {
        out.push_str(&summary_line(summary));
    }
    out
}

/// One code's count, for `--statistics` (text and JSON).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatRow {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub count: usize,
    pub fixable: usize,
}

/// Counts per code, most first, then by code.
pub fn statistics_rows(findings: &[Finding]) -> Vec<StatRow> {
    let mut rows: Vec<StatRow> = Vec::new();
    for f in findings {
        match rows.iter_mut().find(|r| r.code == f.code) {
            Some(r) => {
                r.count += 1;
                r.fixable += usize::from(f.fix.is_some());
            }
            None => rows.push(StatRow {
                code: f.code,
                name: f.name,
                severity: f.severity,
                count: 1,
                fixable: usize::from(f.fix.is_some()),
            }),
        }
    }
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(b.code)));
    rows
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn summary_line(s: &Summary) -> String {
    let files = plural(s.files, "file", "files");
    if s.errors + s.warnings + s.infos == 0 {
        return format!("No problems found in {files}.\n");
    }
    let mut line = format!(
        "Found {}, {}, {} in {files}",
        plural(s.errors, "error", "errors"),
        plural(s.warnings, "warning", "warnings"),
        plural(s.infos, "info", "infos"),
    );
    if s.fixable > 0 {
        line.push_str(&format!(
            " ({} with a fix: --diff shows it, --fix applies the safe ones)",
            s.fixable
        ));
    }
    line.push_str(".\n");
    for o in &s.omitted {
        line.push_str(&format!("  {}\n", escape_controls(&super::omitted_line(o))));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceFile, Span};

    fn render_one(bytes: &[u8], span: Span, display: &str) -> String {
        let mut sources = SourceMap::new();
        let id = sources.add(SourceFile::new("x.conf", display, bytes.to_vec()));
        let rule = crate::rules::by_code("E001").unwrap();
        let f = Finding::at(rule, Place::new(id, span), "bad \x1b[2J thing");
        render(
            &sources,
            &[f],
            &Summary::default(),
            &RenderOptions::default(),
        )
    }

    #[test]
    fn long_lines_are_windowed_around_the_span() {
        let mut line = "}".repeat(40_000);
        line.push('\n');
        let out = render_one(line.as_bytes(), Span::new(20_000, 20_001), "x.conf");
        assert!(out.len() < 1_000, "{} bytes", out.len());
        assert!(out.contains(" --> x.conf:1:20001"), "{out}");
        let snippet = out.lines().find(|l| l.starts_with("1 |")).unwrap();
        assert!(
            snippet.starts_with("1 | …") && snippet.ends_with('…'),
            "{snippet}"
        );
        // The caret sits under the span inside the window.
        let caret = out.lines().find(|l| l.contains('^')).unwrap();
        let col = caret.find('^').unwrap();
        assert_eq!(
            snippet.chars().nth(caret[..col].chars().count()),
            Some('}'),
            "{out}"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let out = render_one(
            b"gzip on; # \x1b[31mred\xc2\x9b\n",
            Span::new(0, 4),
            "conf.d/\x1b]0;pwned\x07.conf",
        );
        assert!(!out.contains('\x1b') && !out.contains('\u{9b}') && !out.contains('\x07'));
        assert!(out.contains("\\x1b[31mred\\u{9b}"), "{out}");
        assert!(out.contains("conf.d/\\x1b]0;pwned\\x07.conf"), "{out}");
        assert!(out.contains("bad \\x1b[2J thing"), "{out}");
    }
}
