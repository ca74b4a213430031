//! SARIF 2.1.0 for GitHub code scanning: every rule with its full description and a
//! helpUri to its doc; results with locations, related locations and stable
//! partial fingerprints.

use super::locate;
use super::redact::Redactor;
use crate::finding::{Finding, Severity};
use crate::rules::Rule;
use crate::source::SourceMap;
use serde_json::{json, Value};

pub const DOCS_BASE: &str = "https://github.com/wpstack/wpstack/blob/main/rules/";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The doc's "What it does" paragraph, as plain text.
fn full_description(rule: &Rule) -> String {
    let mut in_section = false;
    let mut out = Vec::new();
    for line in rule.doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            if in_section {
                break;
            }
            in_section = h.trim() == "What it does";
            continue;
        }
        if in_section {
            out.push(line.trim());
        }
    }
    let text = out.join(" ").trim().to_string();
    if text.is_empty() {
        rule.summary.to_string()
    } else {
        text
    }
}

use super::ci::fnv;

/// Characters a URI reference may carry as they are (RFC 3986 unreserved, `/`).
fn uri_escape(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A SARIF artifactLocation for a file as displayed: a path relative to the checked
/// PATH is a relative URI under `%SRCROOT%`; an absolute one (a wp-config.php found
/// outside PATH, an include with an absolute path) is a `file://` URI of its own —
/// never `%SRCROOT%` + `/etc/…`, which code scanning would read as a file in the repo.
fn artifact(display: &str) -> Value {
    if display.starts_with('/') {
        json!({"uri": format!("file://{}", uri_escape(display))})
    } else {
        json!({"uri": uri_escape(display.trim_start_matches("./")), "uriBaseId": "%SRCROOT%"})
    }
}

pub fn report(sources: &SourceMap, findings: &[Finding], rules: &[&'static Rule]) -> Value {
    let red = Redactor::new(sources);
    let rule_list: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": full_description(r)},
                "help": {"text": r.doc, "markdown": r.doc},
                "helpUri": format!("{DOCS_BASE}{}-{}.md", r.code, r.name),
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": [r.code.chars().next().map(String::from).unwrap_or_default()]},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let places = super::places_of(f);
            let mut res = json!({
                "ruleId": f.code,
                "level": level(f.severity),
                "message": {"text": red.message(&f.message, &places)},
            });
            if let Some(i) = rules.iter().position(|r| r.code == f.code) {
                res["ruleIndex"] = json!(i);
            }
            if let Some(p) = f.primary {
                let (file, l, c, el, ec) = locate(sources, p);
                let line_text = red.line(p.file, l);
                res["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": artifact(&file),
                        "region": {"startLine": l, "startColumn": c, "endLine": el.max(l), "endColumn": if el > l { ec } else { ec.max(c + 1) }},
                    }
                }]);
                res["partialFingerprints"] = json!({
                    "primaryLocationLineHash": format!("{}:{}", fnv(&format!("{}|{}|{}", f.code, file, line_text.trim())), 1),
                });
            }
            let related: Vec<Value> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let (file, l, c, _, _) = locate(sources, r.place);
                    json!({
                        "id": i,
                        "message": {"text": red.message(&r.message, &places)},
                        "physicalLocation": {
                            "artifactLocation": artifact(&file),
                            "region": {"startLine": l, "startColumn": c},
                        }
                    })
                })
                .collect();
            if !related.is_empty() {
                res["relatedLocations"] = json!(related);
            }
            if !f.assumptions.is_empty() {
                res["properties"] = json!({"assumptions": f.assumptions.iter().map(|a| red.text(a)).collect::<Vec<_>>()});
            }
            res
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "wpstack",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/wpstack/wpstack",
                "rules": rule_list,
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    })
}
