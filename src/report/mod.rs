//! Rendering findings: text (rustc-style snippets, concise, statistics), JSON
//! (versioned), SARIF 2.1.0, GitHub workflow commands, Checkstyle, JUnit and GitLab
//! Code Quality. The only place that knows about colours and formats.

pub mod ci;
pub mod redact;
mod sarif;
mod text;

pub use text::{escape_controls, paint_diff, statistics_rows, StatRow, DEFAULT_WIDTH};

use crate::finding::{Finding, Severity};
use crate::rules::Rule;
use crate::source::SourceMap;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Checkstyle,
    Junit,
    Gitlab,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub color: bool,
    pub show_fixes: bool,
    /// Columns the text report wraps messages to (0: [`text::DEFAULT_WIDTH`]).
    pub width: usize,
    /// Text: one line per finding (`--output-format concise`).
    pub concise: bool,
    /// Counts per code instead of the findings (`--statistics`).
    pub statistics: bool,
    /// Text: findings only, no summary (`-q`).
    pub quiet: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub fixable: usize,
    /// Findings counted above but not listed: past [`MAX_PER_FILE_CODE`] of one code in one file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<Omitted>,
}

/// Findings of one code in one file that were counted but not listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Omitted {
    /// The file (as displayed); `None` for findings about the stack as a whole.
    pub file: Option<String>,
    pub code: &'static str,
    pub count: usize,
}

/// How many findings of one code in one file are listed by default (`--max-per-code`).
/// A file with a million `gzip on;` lines has one problem a million times; listing them
/// all is 400 MB of output that nobody reads (and an editor or CI log that chokes).
pub const MAX_PER_FILE_CODE: usize = 20;

/// Keep the first `max` findings (in report order) of each code in each file and count
/// the rest into `summary.omitted`. `max == 0` keeps everything. The summary's totals
/// (and the exit code) still count every finding.
pub fn cap_repeats(
    findings: Vec<Finding>,
    sources: &SourceMap,
    max: usize,
    summary: &mut Summary,
) -> Vec<Finding> {
    if max == 0 {
        return findings;
    }
    let mut seen: foldhash::HashMap<(Option<crate::source::FileId>, &'static str), usize> =
        foldhash::HashMap::default();
    let mut order: Vec<(Option<crate::source::FileId>, &'static str)> = Vec::new();
    let mut kept = Vec::with_capacity(findings.len().min(1024));
    for f in findings {
        let key = (f.primary.map(|p| p.file), f.code);
        let n = seen.entry(key).or_insert(0);
        *n += 1;
        if *n <= max {
            kept.push(f);
        } else if *n == max + 1 {
            order.push(key);
        }
    }
    for key in order {
        summary.omitted.push(Omitted {
            file: key.0.map(|id| sources.get(id).display.replace('\\', "/")),
            code: key.1,
            count: seen[&key] - max,
        });
    }
    kept
}

impl Summary {
    pub fn from_findings(findings: &[Finding], files: usize) -> Self {
        let mut s = Summary {
            files,
            ..Default::default()
        };
        for f in findings {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
            if f.fix.is_some() {
                s.fixable += 1;
            }
        }
        s
    }
}

/// Sort by file (display path), offset, code: one order for every format.
pub fn sort_findings(findings: &mut [Finding], sources: &SourceMap) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            f.primary
                .map(|p| (sources.get(p.file).display.as_str(), p.span.start))
        };
        key(a).cmp(&key(b)).then(a.code.cmp(b.code))
    });
}

/// `file`, 1-based line/column of start and end, for a place.
pub(crate) fn locate(
    sources: &SourceMap,
    p: crate::finding::Place,
) -> (String, usize, usize, usize, usize) {
    let f = sources.get(p.file);
    let (l, c) = f.line_col(p.span.start);
    let (el, ec) = f.line_col(p.span.end.max(p.span.start));
    (f.display.replace('\\', "/"), l, c, el, ec)
}

pub fn render(
    format: Format,
    sources: &SourceMap,
    findings: &[Finding],
    rules: &[&'static Rule],
    summary: &Summary,
    opts: &RenderOptions,
) -> String {
    match format {
        Format::Text => text::render(sources, findings, summary, opts),
        Format::Json => json_text(sources, findings, summary) + "\n",
        Format::Sarif => {
            serde_json::to_string_pretty(&sarif::report(sources, findings, rules))
                .unwrap_or_default()
                + "\n"
        }
        Format::Github => github(sources, findings, summary),
        Format::Checkstyle => ci::checkstyle(sources, findings),
        Format::Junit => ci::junit(sources, findings),
        Format::Gitlab => {
            serde_json::to_string_pretty(&ci::gitlab(sources, findings)).unwrap_or_default() + "\n"
        }
    }
}

/// The stable JSON report (schema version 1, cli.md), as a value.
pub fn json_report(sources: &SourceMap, findings: &[Finding], summary: &Summary) -> Value {
    serde_json::to_value(JsonReport::new(sources, findings, summary)).unwrap_or_default()
}

/// The JSON report as printed: serialized straight from typed records borrowed from
/// the findings, without a tree of values in between (a big host's report built as a
/// `Value` held several times its own size). Fields are in alphabetical order, the
/// order a `Value` prints them in, so both ways give the same bytes.
fn json_text(sources: &SourceMap, findings: &[Finding], summary: &Summary) -> String {
    serde_json::to_string_pretty(&JsonReport::new(sources, findings, summary)).unwrap_or_default()
}

#[derive(serde::Serialize)]
struct JsonReport {
    findings: Vec<JsonFinding>,
    summary: Value,
    version: u32,
}

#[derive(serde::Serialize)]
struct JsonFinding {
    assumptions: Vec<String>,
    code: &'static str,
    column: Option<usize>,
    end_column: Option<usize>,
    end_line: Option<usize>,
    file: Option<String>,
    fix: Option<JsonFix>,
    line: Option<usize>,
    message: String,
    name: &'static str,
    related: Vec<JsonRelated>,
    severity: Severity,
}

#[derive(serde::Serialize)]
struct JsonRelated {
    column: usize,
    file: String,
    line: usize,
    message: String,
}

#[derive(serde::Serialize)]
struct JsonFix {
    applicability: crate::fix::Applicability,
    edits: Vec<JsonEdit>,
    message: String,
}

#[derive(serde::Serialize)]
struct JsonEdit {
    end: usize,
    file: String,
    replacement: String,
    start: usize,
}

impl JsonReport {
    fn new(sources: &SourceMap, findings: &[Finding], summary: &Summary) -> Self {
        let r = redact::Redactor::new(sources);
        let findings = findings
            .iter()
            .map(|f| {
                let places = places_of(f);
                let at = f.primary.map(|p| locate(sources, p));
                JsonFinding {
                    assumptions: f.assumptions.iter().map(|a| r.text(a)).collect(),
                    code: f.code,
                    column: at.as_ref().map(|a| a.2),
                    end_column: at.as_ref().map(|a| a.4),
                    end_line: at.as_ref().map(|a| a.3),
                    line: at.as_ref().map(|a| a.1),
                    file: at.map(|a| a.0),
                    fix: f.fix.as_ref().map(|x| JsonFix {
                        applicability: x.applicability,
                        edits: x
                            .edits
                            .iter()
                            .map(|e| JsonEdit {
                                end: e.range.end,
                                file: sources.get(e.file).display.replace('\\', "/"),
                                replacement: r
                                    .message(&String::from_utf8_lossy(&e.replacement), &places),
                                start: e.range.start,
                            })
                            .collect(),
                        message: r.message(&x.message, &places),
                    }),
                    message: r.message(&f.message, &places),
                    name: f.name,
                    related: f
                        .related
                        .iter()
                        .map(|rel| {
                            let (file, line, column, _, _) = locate(sources, rel.place);
                            JsonRelated {
                                column,
                                file,
                                line,
                                message: r.message(&rel.message, &places),
                            }
                        })
                        .collect(),
                    severity: f.severity,
                }
            })
            .collect();
        JsonReport {
            findings,
            // Small; as a value its keys print in the same (sorted) order as before.
            summary: serde_json::to_value(summary).unwrap_or_default(),
            version: 1,
        }
    }
}

/// Every place a finding names (its message may quote the values found there).
pub(crate) fn places_of(f: &Finding) -> Vec<crate::finding::Place> {
    f.primary
        .iter()
        .copied()
        .chain(f.related.iter().map(|x| x.place))
        .collect()
}

fn gh_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
fn gh_escape_prop(s: &str) -> String {
    gh_escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands: annotations on the pull request.
pub fn github(sources: &SourceMap, findings: &[Finding], summary: &Summary) -> String {
    let r = redact::Redactor::new(sources);
    let mut out = String::new();
    for f in findings {
        let cmd = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let title = gh_escape_prop(&format!("{} {}", f.code, f.name));
        let msg = gh_escape_data(&r.message(&f.message, &places_of(f)));
        match f.primary {
            Some(p) => {
                let (file, l, c, el, ec) = locate(sources, p);
                out.push_str(&format!(
                    "::{cmd} file={},line={l},col={c},endLine={el},endColumn={ec},title={title}::{msg}\n",
                    gh_escape_prop(&file)
                ));
            }
            None => out.push_str(&format!("::{cmd} title={title}::{msg}\n")),
        }
    }
    for o in &summary.omitted {
        out.push_str(&format!(
            "::notice title=wpstack::{}\n",
            gh_escape_data(&omitted_line(o))
        ));
    }
    out
}

/// "… 99979 more E003 findings in gzip.conf not listed", for text and annotations.
pub fn omitted_line(o: &Omitted) -> String {
    let what = if o.count == 1 { "finding" } else { "findings" };
    let place = match &o.file {
        Some(f) => format!(" in {f}"),
        None => String::new(),
    };
    format!(
        "{} more {} {what}{place} not listed (--max-per-code 0 lists all)",
        o.count, o.code
    )
}
