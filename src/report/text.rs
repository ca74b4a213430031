//! The text report: rustc-style — `severity[CODE]: message`, ` --> file:line:col`, the
//! line with a gutter and a caret, each related place as a note with its own snippet,
//! assumptions and the fix, then one summary line.

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
    out.push_str(&format!("{pad} {}\n", st.blue("|")));
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

pub fn render(
    sources: &SourceMap,
    findings: &[Finding],
    summary: &Summary,
    opts: &RenderOptions,
) -> String {
    let st = Style { on: opts.color };
    let r = Redactor::new(sources);
    let mut out = String::new();
    for f in findings {
        let places: Vec<Place> = f
            .primary
            .iter()
            .copied()
            .chain(f.related.iter().map(|x| x.place))
            .collect();
        out.push_str(&format!(
            "{}{}: {}\n",
            st.sev(f.severity),
            st.paint("1", &format!("[{}]", f.code)),
            escape_controls(&r.message(&f.message, &places))
        ));
        // One gutter width for the whole diagnostic, as rustc does.
        let width = f
            .primary
            .iter()
            .chain(f.related.iter().map(|r| &r.place))
            .map(|p| sources.get(p.file).line_of(p.span.start).to_string().len())
            .max()
            .unwrap_or(1);
        if let Some(p) = f.primary {
            snippet(&mut out, &st, sources, &r, p, '^', width);
        }
        for rel in &f.related {
            out.push_str(&format!(
                "{}: {}\n",
                st.paint("1;32", "note"),
                escape_controls(&r.message(&rel.message, &places))
            ));
            snippet(&mut out, &st, sources, &r, rel.place, '-', width);
        }
        for a in &f.assumptions {
            out.push_str(&format!(
                "  {} assumption: {}\n",
                st.blue("="),
                escape_controls(&r.text(a))
            ));
        }
        if opts.show_fixes {
            if let Some(fix) = &f.fix {
                let kind = match fix.applicability {
                    crate::fix::Applicability::Safe => "fix",
                    crate::fix::Applicability::Unsafe => "unsafe fix",
                };
                out.push_str(&format!(
                    "  {} {kind}: {}\n",
                    st.blue("="),
                    escape_controls(&r.message(&fix.message, &places))
                ));
            }
        }
        out.push_str(&format!(
            "  {} help: wpstack explain {}\n\n",
            st.blue("="),
            f.code
        ));
    }
    out.push_str(&summary_line(summary));
    out
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
