//! The formats CI systems read: Checkstyle XML (Jenkins warnings-ng, reviewdog),
//! JUnit XML (GitLab and Jenkins test reports) and GitLab Code Quality JSON; and the
//! fingerprints they (and `--baseline`) share.

use super::redact::Redactor;
use super::{locate, places_of};
use crate::finding::{Finding, Severity};
use crate::source::SourceMap;
use quick_xml::escape::escape;
use serde_json::{json, Value};

/// The file name given to findings about the stack as a whole (no place).
const NO_FILE: &str = ".";

/// FNV-1a 64: a small stable hash (no randomness, the same on every machine).
pub fn fnv(s: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// A fingerprint for each finding that survives lines moving in the file: the code,
/// the file, the (redacted, trimmed) text of the finding's line and of its span, and
/// which occurrence of that same text it is — never the line number. Two findings that
/// would share one (the same line twice in a file) get `#2`, `#3`… in file order.
pub fn fingerprints(sources: &SourceMap, findings: &[Finding]) -> Vec<String> {
    let red = Redactor::new(sources);
    let mut seen: foldhash::HashMap<String, usize> = Default::default();
    findings
        .iter()
        .map(|f| {
            let base = match f.primary {
                Some(p) => {
                    let src = sources.get(p.file);
                    let (line, _) = src.line_col(p.span.start);
                    let text = red.line(p.file, line);
                    let (s, e) = (p.span.start, p.span.end.max(p.span.start));
                    let span = src
                        .bytes
                        .get(s..e.min(src.bytes.len()))
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned())
                        .unwrap_or_default();
                    // The span's own text only when it is not a secret's line (the
                    // redacted line already says what it may).
                    let span = if text.contains(super::redact::MASK) {
                        String::new()
                    } else {
                        span
                    };
                    format!(
                        "{}|{}|{}|{}",
                        f.code,
                        src.display.replace('\\', "/"),
                        text.trim(),
                        span.trim()
                    )
                }
                None => format!("{}||{}", f.code, f.message),
            };
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let h = fnv(&base);
            if *n == 1 {
                h
            } else {
                format!("{h}#{n}")
            }
        })
        .collect()
}

fn xml_attr(s: &str) -> String {
    // XML 1.0 cannot carry most control characters at all, even escaped.
    let clean: String = s
        .chars()
        .map(|c| {
            if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    escape(clean.as_str()).into_owned()
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Findings grouped by file (as displayed), files in first-seen order.
fn by_file<'a>(sources: &SourceMap, findings: &'a [Finding]) -> Vec<(String, Vec<&'a Finding>)> {
    let mut files: Vec<(String, Vec<&Finding>)> = Vec::new();
    for f in findings {
        let name = f
            .primary
            .map(|p| sources.get(p.file).display.replace('\\', "/"))
            .unwrap_or_else(|| NO_FILE.to_string());
        match files.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(f),
            None => files.push((name, vec![f])),
        }
    }
    files
}

/// Checkstyle 4.3 XML: `<checkstyle><file name><error line column severity message
/// source/></file></checkstyle>`; `source` is `wpstack.CODE`.
pub fn checkstyle(sources: &SourceMap, findings: &[Finding]) -> String {
    let red = Redactor::new(sources);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"4.3\">\n");
    for (file, list) in by_file(sources, findings) {
        out.push_str(&format!("  <file name=\"{}\">\n", xml_attr(&file)));
        for f in list {
            let (line, col) = match f.primary {
                Some(p) => {
                    let (_, l, c, _, _) = locate(sources, p);
                    (l, c)
                }
                None => (1, 1),
            };
            let msg = red.message(&f.message, &places_of(f));
            out.push_str(&format!(
                "    <error line=\"{line}\" column=\"{col}\" severity=\"{}\" message=\"{}\" source=\"wpstack.{}\"/>\n",
                severity_word(f.severity),
                xml_attr(&format!("{} {}: {msg}", f.code, f.name)),
                f.code
            ));
        }
        out.push_str("  </file>\n");
    }
    out.push_str("</checkstyle>\n");
    out
}

/// JUnit XML as GitLab and Jenkins read it: one `<testsuite>` per file, one failing
/// `<testcase>` per finding (name `CODE at line:col`, classname the file); a clean run
/// is one passing test case, so the report is never empty.
pub fn junit(sources: &SourceMap, findings: &[Finding]) -> String {
    let red = Redactor::new(sources);
    let files = by_file(sources, findings);
    let total = findings.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"wpstack\" tests=\"{total}\" failures=\"{}\" errors=\"0\">\n",
        findings.len()
    ));
    if findings.is_empty() {
        out.push_str("  <testsuite name=\"wpstack\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\">\n");
        out.push_str("    <testcase name=\"No problems found\" classname=\"wpstack\"/>\n");
        out.push_str("  </testsuite>\n");
    }
    for (file, list) in files {
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{n}\" errors=\"0\" skipped=\"0\">\n",
            xml_attr(&file),
            n = list.len()
        ));
        for f in list {
            let (at, line) = match f.primary {
                Some(p) => {
                    let (_, l, c, _, _) = locate(sources, p);
                    (format!("{l}:{c}"), l)
                }
                None => ("-".to_string(), 1),
            };
            let msg = red.message(&f.message, &places_of(f));
            out.push_str(&format!(
                "    <testcase name=\"{} {} at {at}\" classname=\"{}\" file=\"{}\" line=\"{line}\">\n",
                f.code,
                f.name,
                xml_attr(&file),
                xml_attr(&file)
            ));
            out.push_str(&format!(
                "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                xml_attr(&msg),
                severity_word(f.severity),
                xml_attr(&format!(
                    "{}[{}] {file}:{at}: {msg}\nwpstack explain {}",
                    severity_word(f.severity),
                    f.code,
                    f.code
                ))
            ));
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// GitLab Code Quality: a JSON array of issues with description, check_name,
/// fingerprint, severity (error: critical, warning: major, info: info) and
/// location.path / location.lines.begin.
pub fn gitlab(sources: &SourceMap, findings: &[Finding]) -> Value {
    let red = Redactor::new(sources);
    let prints = fingerprints(sources, findings);
    let list: Vec<Value> = findings
        .iter()
        .zip(prints)
        .map(|(f, fp)| {
            let (path, begin, end) = match f.primary {
                Some(p) => {
                    let (file, l, _, el, _) = locate(sources, p);
                    (file, l, el.max(l))
                }
                None => (NO_FILE.to_string(), 1, 1),
            };
            json!({
                "description": format!("{} {}: {}", f.code, f.name, red.message(&f.message, &places_of(f))),
                "check_name": f.code,
                "fingerprint": fp,
                "severity": match f.severity {
                    Severity::Error => "critical",
                    Severity::Warning => "major",
                    Severity::Info => "info",
                },
                "categories": [match f.code.chars().next() {
                    Some('S') => "Security",
                    Some('P') | Some('C') | Some('M') => "Performance",
                    _ => "Bug Risk",
                }],
                "location": {"path": path, "lines": {"begin": begin, "end": end}},
            })
        })
        .collect();
    Value::Array(list)
}
