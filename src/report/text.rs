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

/// Tabs shown as 4 spaces, as rustc does.
fn expand(s: &str) -> String {
    s.replace('\t', "    ")
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
        f.display,
        line,
        col
    ));
    out.push_str(&format!("{pad} {}\n", st.blue("|")));
    out.push_str(&format!(
        "{} {} {}\n",
        st.blue(&num),
        st.blue("|"),
        expand(&text)
    ));
    let before: String = text.chars().take(col.saturating_sub(1)).collect();
    let (end_line, end_col) = f.line_col(place.span.end);
    let width = if end_line == line {
        end_col.saturating_sub(col).max(1)
    } else {
        text.chars().count().saturating_sub(col - 1).max(1)
    };
    let under: String = text.chars().skip(col - 1).take(width).collect();
    let marks = mark
        .to_string()
        .repeat(expand(&under).chars().count().max(1));
    let color = if mark == '^' { "1;31" } else { "1;34" };
    out.push_str(&format!(
        "{pad} {} {}{}\n",
        st.blue("|"),
        " ".repeat(expand(&before).chars().count()),
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
            r.message(&f.message, &places)
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
                r.message(&rel.message, &places)
            ));
            snippet(&mut out, &st, sources, &r, rel.place, '-', width);
        }
        for a in &f.assumptions {
            out.push_str(&format!("  {} assumption: {}\n", st.blue("="), r.text(a)));
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
                    r.message(&fix.message, &places)
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
    line
}
