//! One run of the rules over a stack: selection, inline suppressions (one central
//! place, as hadolint does), per-path ignores, unused-suppression reports, sorting.

use crate::finding::{Finding, Place, Severity};
use crate::machine::host::Host;
use crate::rules::{self, Context, Rule};
use crate::settings::Settings;
use crate::source::{FileId, Span};
use crate::stack::{FileKind, Stack};
use foldhash::{HashMap, HashSet};

/// Does a selector (`T101`, `timeout-chain-inverted`, `T1`, `T`, `ALL`) pick this rule?
pub fn selector_matches(sel: &str, rule: &Rule) -> bool {
    let s = sel.trim();
    s.eq_ignore_ascii_case("ALL")
        || s == rule.name
        || rule
            .code
            .to_ascii_uppercase()
            .starts_with(&s.to_ascii_uppercase())
}

/// A selector that names no rule is a usage error (exit 2), like ruff's.
pub fn check_selectors(sels: &[String]) -> Result<(), String> {
    for s in sels {
        if !rules::ALL.iter().any(|r| selector_matches(s, r)) {
            return Err(format!(
                "unknown rule selector `{s}`: not a rule code, a code prefix or a rule name (see `wpstack rules`)"
            ));
        }
    }
    Ok(())
}

/// Is this rule enabled by select/ignore?
pub fn enabled(rule: &Rule, settings: &Settings) -> bool {
    let selected =
        settings.select.is_empty() || settings.select.iter().any(|s| selector_matches(s, rule));
    selected && !settings.ignore.iter().any(|s| selector_matches(s, rule))
}

/// An inline `wpstack: ignore[CODES]` comment.
#[derive(Debug, Clone)]
pub struct Suppression {
    pub file: FileId,
    pub span: Span,
    /// 1-based line of the comment.
    pub line: usize,
    /// The comment is alone on its line: it covers the next line too.
    pub own_line: bool,
    pub selectors: Vec<String>,
    pub used: std::cell::Cell<bool>,
}

const MARKER: &[u8] = b"wpstack: ignore[";

fn comment_starts(kind: FileKind) -> &'static [&'static [u8]] {
    match kind {
        FileKind::Nginx => &[b"#"],
        FileKind::Fpm | FileKind::PhpIni | FileKind::MyCnf => &[b";", b"#"],
        FileKind::WpConfig => &[b"//", b"#", b"/*"],
    }
}

/// Find the suppressions in one file: the marker must follow the language's comment
/// opener on the same line.
pub fn suppressions_in(stack: &Stack, file: FileId, kind: FileKind) -> Vec<Suppression> {
    let src = stack.sources.get(file);
    let mut out = Vec::new();
    // Nearly no file has one: one scan of the whole file rules it out.
    if find(&src.bytes, MARKER).is_none() {
        return out;
    }
    for line in 1..=src.line_count() {
        let bytes = src.line_bytes(line);
        let Some(pos) = find(bytes, MARKER) else {
            continue;
        };
        let before = &bytes[..pos];
        let opener = comment_starts(kind)
            .iter()
            .filter_map(|o| find(before, o))
            .min();
        let Some(opener) = opener else { continue };
        let rest = &bytes[pos + MARKER.len()..];
        let Some(close) = rest.iter().position(|b| *b == b']') else {
            continue;
        };
        let list = String::from_utf8_lossy(&rest[..close]);
        let selectors: Vec<String> = list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let start = src.line_start(line);
        out.push(Suppression {
            file,
            span: Span::new(start + opener, start + pos + MARKER.len() + close + 1),
            line,
            own_line: before[..opener].iter().all(|b| b.is_ascii_whitespace()),
            selectors,
            used: std::cell::Cell::new(false),
        });
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Run every enabled rule, then apply suppressions and ignores; sorted output.
pub fn run(stack: &Stack, settings: &Settings, host: &Host) -> Vec<Finding> {
    let cx = Context {
        stack,
        settings,
        host,
    };
    // Each rule on the run's threads (`--threads`), into its own list; the lists are
    // joined in catalog order, so the findings are those of a sequential run.
    let per_rule: Vec<Vec<Finding>> = {
        use rayon::prelude::*;
        rules::ALL
            .par_iter()
            .filter(|rule| enabled(rule, settings))
            .map(|rule| {
                let mut out = Vec::new();
                (rule.check)(&cx, &mut out);
                out
            })
            .collect()
    };
    let mut findings: Vec<Finding> = per_rule.into_iter().flatten().collect();
    let sups: Vec<Suppression> = stack
        .files
        .iter()
        .flat_map(|f| suppressions_in(stack, f.id, f.kind))
        .collect();
    let idx = suppression_index(&sups);
    findings.retain(|f| !suppressed(stack, f, &sups, &idx) && !path_ignored(stack, f, settings));
    if let Some(rule) = rules::by_code(rules::unused_suppression::RULE.code) {
        if enabled(rule, settings) {
            for s in sups.iter().filter(|s| !s.used.get()) {
                findings.push(
                    Finding::at(
                        rule,
                        Place::new(s.file, s.span),
                        format!(
                            "this suppression ignores [{}] but no such finding is reported here; remove it",
                            s.selectors.join(", ")
                        ),
                    )
                    .severity(Severity::Info),
                );
            }
        }
    }
    dedup(&mut findings);
    crate::report::sort_findings(&mut findings, &stack.sources);
    findings
}

/// The suppressions that cover each (file, line): the comment's own line, and the next
/// one for a comment alone on its line. A lookup per finding, not a scan of every
/// suppression (a file may hold a million of both).
fn suppression_index(sups: &[Suppression]) -> HashMap<(FileId, usize), Vec<usize>> {
    let mut idx: HashMap<(FileId, usize), Vec<usize>> = HashMap::default();
    for (i, s) in sups.iter().enumerate() {
        idx.entry((s.file, s.line)).or_default().push(i);
        if s.own_line {
            idx.entry((s.file, s.line + 1)).or_default().push(i);
        }
    }
    idx
}

fn suppressed(
    stack: &Stack,
    f: &Finding,
    sups: &[Suppression],
    idx: &HashMap<(FileId, usize), Vec<usize>>,
) -> bool {
    let Some(p) = f.primary else { return false };
    let line = stack.sources.get(p.file).line_of(p.span.start);
    let Some(covering) = idx.get(&(p.file, line)) else {
        return false;
    };
    let mut hit = false;
    for s in covering.iter().map(|i| &sups[*i]) {
        if s.selectors
            .iter()
            .any(|sel| rules::by_code(f.code).is_some_and(|r| selector_matches(sel, r)))
        {
            s.used.set(true);
            hit = true;
        }
    }
    hit
}

fn path_ignored(stack: &Stack, f: &Finding, settings: &Settings) -> bool {
    let Some(p) = f.primary else { return false };
    let shown = &stack.sources.get(p.file).display;
    settings.per_path_ignores.iter().any(|(pat, sels)| {
        let m = glob::Pattern::new(pat)
            .map(|g| g.matches(shown))
            .unwrap_or(false);
        m && sels
            .iter()
            .any(|sel| rules::by_code(f.code).is_some_and(|r| selector_matches(sel, r)))
    })
}

/// The same finding reached twice (a file included twice) is reported once.
fn dedup(findings: &mut Vec<Finding>) {
    // Borrow the messages rather than clone them: a million findings, a million strings.
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity_and_hasher(findings.len(), Default::default());
        findings
            .iter()
            .map(|f| seen.insert((f.code, f.primary, f.message.as_str())))
            .collect()
    };
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}
