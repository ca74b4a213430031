//! TEMPORARY stub until the report work lands.
use crate::finding::Finding;
use crate::rules::Rule;
use crate::source::SourceMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
}
pub struct RenderOptions {
    pub color: bool,
    pub show_fixes: bool,
}
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub fixable: usize,
}
impl Summary {
    pub fn from_findings(findings: &[Finding], files: usize) -> Self {
        let mut s = Summary {
            files,
            ..Default::default()
        };
        for f in findings {
            match f.severity {
                crate::finding::Severity::Error => s.errors += 1,
                crate::finding::Severity::Warning => s.warnings += 1,
                crate::finding::Severity::Info => s.infos += 1,
            }
            if f.fix.is_some() {
                s.fixable += 1;
            }
        }
        s
    }
}
pub fn sort_findings(findings: &mut [Finding], sources: &SourceMap) {
    findings.sort_by(|a, b| {
        let ka = a
            .primary
            .map(|p| (sources.get(p.file).display.clone(), p.span.start));
        let kb = b
            .primary
            .map(|p| (sources.get(p.file).display.clone(), p.span.start));
        ka.cmp(&kb).then(a.code.cmp(b.code))
    });
}
pub fn render(
    _format: Format,
    sources: &SourceMap,
    findings: &[Finding],
    _rules: &[&'static Rule],
    _summary: &Summary,
    _opts: &RenderOptions,
) -> String {
    let mut out = String::new();
    for f in findings {
        let loc = f
            .primary
            .map(|p| {
                let s = sources.get(p.file);
                let (l, c) = s.line_col(p.span.start);
                format!("{}:{}:{}", s.display, l, c)
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "{}[{}]: {} {}\n",
            f.severity, f.code, f.message, loc
        ));
    }
    out
}
