//! Applying fixes: edits of all findings are merged; a fix whose edits overlap an
//! already accepted one waits for the next pass (as ruff does); the caller re-parses
//! and re-lints until nothing changes.

use super::{Applicability, Edit, Fix};
use crate::source::{FileId, SourceMap};
use std::collections::BTreeMap;

/// The result of one pass.
#[derive(Debug, Default)]
pub struct Pass {
    /// New contents of each changed file.
    pub files: BTreeMap<FileId, Vec<u8>>,
    /// Fixes applied / postponed because they overlapped another.
    pub applied: usize,
    pub postponed: usize,
}

fn overlaps(a: &Edit, b: &Edit) -> bool {
    if a.file != b.file {
        return false;
    }
    let (a0, a1, b0, b1) = (a.range.start, a.range.end, b.range.start, b.range.end);
    // Two insertions at one point would be ordered arbitrarily: treat as overlapping.
    if a0 == a1 && b0 == b1 {
        return a0 == b0;
    }
    a0 < b1 && b0 < a1 || (a0 == a1 && b0 < a0 && a0 < b1) || (b0 == b1 && a0 < b0 && b0 < a1)
}

/// Apply every fix at or above `min` that does not overlap an earlier one.
pub fn apply<'a>(
    sources: &SourceMap,
    fixes: impl IntoIterator<Item = &'a Fix>,
    min: Applicability,
) -> Pass {
    let mut fixes: Vec<&Fix> = fixes
        .into_iter()
        .filter(|f| f.applicability >= min && !f.edits.is_empty())
        .collect();
    fixes.sort_by_key(|f| f.edits.iter().map(|e| (e.file, e.range.start)).min());
    let mut accepted: Vec<&Edit> = Vec::new();
    let mut pass = Pass::default();
    for fix in fixes {
        let mut own: Vec<&Edit> = Vec::new();
        let clash = fix.edits.iter().any(|e| {
            let same = |a: &&Edit| a.range == e.range && a.replacement == e.replacement;
            // Within one fix, insertions at one point keep the fix's order (T107 inserts
            // `slowlog` and `request_slowlog_timeout` after the pool's last line).
            let both_inserts_here = |a: &&Edit| {
                a.file == e.file && a.range.is_empty() && e.range.is_empty() && a.range == e.range
            };
            let c = accepted.iter().any(|a| overlaps(a, e) && !same(a))
                || own
                    .iter()
                    .any(|a| overlaps(a, e) && !same(a) && !both_inserts_here(a));
            own.push(e);
            c
        });
        if clash {
            pass.postponed += 1;
            continue;
        }
        // Identical edits proposed by two findings are applied once.
        for e in &fix.edits {
            if !accepted
                .iter()
                .any(|a| a.file == e.file && a.range == e.range && a.replacement == e.replacement)
            {
                accepted.push(e);
            }
        }
        pass.applied += 1;
    }
    let mut by_file: BTreeMap<FileId, Vec<&Edit>> = BTreeMap::new();
    for e in accepted {
        by_file.entry(e.file).or_default().push(e);
    }
    for (file, mut edits) in by_file {
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        let old = &sources.get(file).bytes;
        let mut new = Vec::with_capacity(old.len() + 256);
        let mut at = 0;
        for e in edits {
            let start = e.range.start.min(old.len());
            let end = e.range.end.min(old.len());
            if start < at {
                continue;
            }
            new.extend_from_slice(&old[at..start]);
            new.extend_from_slice(&e.replacement);
            at = end;
        }
        new.extend_from_slice(&old[at..]);
        if new != *old {
            pass.files.insert(file, new);
        }
    }
    pass
}

/// A unified diff of one file, `a/PATH` → `b/PATH`, that `git apply` and `patch -p1` take.
///
/// Secrets never show (`report::redact`): a context line holding a secret value is left
/// out of the hunk when it is at the hunk's edge (context shrinks to stop before it, so
/// the patch still applies), masked when it sits between two changes; a changed line
/// holding one is masked (such a patch shows `********` and no longer applies as is —
/// the price of never printing the value). `kind` says how to find the secrets.
pub fn unified_diff(
    path: &str,
    kind: Option<crate::stack::FileKind>,
    old: &[u8],
    new: &[u8],
) -> Vec<u8> {
    use crate::report::redact::{mask_bytes, secret_spans};
    use similar::ChangeTag;
    let spans = |b: &[u8]| kind.map(|k| secret_spans(k, b)).unwrap_or_default();
    let (old_secrets, new_secrets) = (spans(old), spans(new));
    let starts = |b: &[u8]| -> Vec<usize> {
        std::iter::once(0)
            .chain(
                b.iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect()
    };
    let (old_starts, new_starts) = (starts(old), starts(new));
    let secret_line =
        |starts: &[usize], secrets: &[crate::source::Span], idx: usize, len: usize| {
            let lo = starts.get(idx).copied().unwrap_or(0);
            let hi = lo + len;
            secrets.iter().any(|s| s.start < hi && s.end > lo)
        };
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    out.extend_from_slice(format!("--- a/{path}\n+++ b/{path}\n").as_bytes());
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        // (tag, old position, new position, bytes, secret)
        let Some(first) = hunk.ops().first() else {
            continue;
        };
        let (mut op, mut np) = (first.old_range().start, first.new_range().start);
        let mut lines: Vec<(ChangeTag, usize, usize, &[u8], bool)> = Vec::new();
        for c in hunk.iter_changes() {
            let v = c.value();
            let secret = match c.tag() {
                ChangeTag::Insert => secret_line(&new_starts, &new_secrets, np, v.len()),
                _ => secret_line(&old_starts, &old_secrets, op, v.len()),
            };
            lines.push((c.tag(), op, np, v, secret));
            match c.tag() {
                ChangeTag::Equal => {
                    op += 1;
                    np += 1;
                }
                ChangeTag::Delete => op += 1,
                ChangeTag::Insert => np += 1,
            }
        }
        // Context at the edges stops before a secret line.
        let lead = lines.iter().take_while(|l| l.0 == ChangeTag::Equal).count();
        let from = lines[..lead].iter().rposition(|l| l.4).map_or(0, |i| i + 1);
        let trail = lines
            .iter()
            .rev()
            .take_while(|l| l.0 == ChangeTag::Equal)
            .count();
        let to = lines.len() - trail
            + lines[lines.len() - trail..]
                .iter()
                .position(|l| l.4)
                .unwrap_or(trail);
        let lines = &lines[from..to.max(from)];
        let Some(head) = lines.first() else { continue };
        let old_len = lines.iter().filter(|l| l.0 != ChangeTag::Insert).count();
        let new_len = lines.iter().filter(|l| l.0 != ChangeTag::Delete).count();
        let range = |start: usize, len: usize| match len {
            1 => format!("{}", start + 1),
            0 => format!("{start},0"),
            n => format!("{},{n}", start + 1),
        };
        out.extend_from_slice(
            format!(
                "@@ -{} +{} @@\n",
                range(head.1, old_len),
                range(head.2, new_len)
            )
            .as_bytes(),
        );
        for &(tag, o, n, v, secret) in lines {
            out.push(match tag {
                ChangeTag::Delete => b'-',
                ChangeTag::Insert => b'+',
                ChangeTag::Equal => b' ',
            });
            if secret {
                let (base, secrets) = match tag {
                    ChangeTag::Insert => (new_starts[n], &new_secrets),
                    _ => (old_starts[o], &old_secrets),
                };
                out.extend_from_slice(&mask_bytes(v, base, secrets));
            } else {
                out.extend_from_slice(v);
            }
            if !v.ends_with(b"\n") {
                out.extend_from_slice(b"\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceFile, Span};

    #[test]
    fn applies_non_overlapping_and_postpones_overlapping() {
        let mut sm = SourceMap::new();
        let f = sm.add(SourceFile::new("x", "x", b"abc def ghi\n".to_vec()));
        let a = Fix::safe("a", vec![Edit::replace(f, Span::new(0, 3), "ABC")]);
        let b = Fix::safe("b", vec![Edit::replace(f, Span::new(1, 5), "zz")]);
        let c = Fix::safe("c", vec![Edit::replace(f, Span::new(8, 11), "GHI")]);
        let u = Fix::unsafe_("u", vec![Edit::insert(f, 12, "x\n")]);
        let pass = apply(&sm, [&a, &b, &c, &u], Applicability::Safe);
        assert_eq!(pass.applied, 2);
        assert_eq!(pass.postponed, 1);
        assert_eq!(pass.files[&f], b"ABC def GHI\n");
    }

    #[test]
    fn one_fix_may_insert_twice_at_one_point_in_its_own_order() {
        let mut sm = SourceMap::new();
        let f = sm.add(SourceFile::new("x", "x", b"[www]\n".to_vec()));
        let one = Fix::safe(
            "one",
            vec![Edit::insert(f, 6, "a = 1\n"), Edit::insert(f, 6, "b = 2\n")],
        );
        let other = Fix::safe("other", vec![Edit::insert(f, 6, "c = 3\n")]);
        let pass = apply(&sm, [&one, &other], Applicability::Safe);
        assert_eq!((pass.applied, pass.postponed), (1, 1));
        assert_eq!(pass.files[&f], b"[www]\na = 1\nb = 2\n");
    }

    #[test]
    fn diff_marks_missing_newline() {
        let d = unified_diff("f.conf", None, b"a\nb", b"a\nc");
        let s = String::from_utf8(d).unwrap();
        assert!(s.starts_with("--- a/f.conf\n+++ b/f.conf\n@@ -1,2 +1,2 @@\n"));
        assert!(s.contains("\\ No newline at end of file"));
    }

    #[test]
    fn diff_context_stops_before_secrets_and_masks_changed_ones() {
        use crate::stack::FileKind;
        let old =
            b"[www]\nenv[DB_PASSWORD] = s3cr3tpw\nuser = a\npm = static\nenv[API_TOKEN] = tok\n";
        let new =
            b"[www]\nenv[DB_PASSWORD] = s3cr3tpw\nuser = a\npm = dynamic\nenv[API_TOKEN] = tok2\n";
        let d = String::from_utf8(unified_diff("www.conf", Some(FileKind::Fpm), old, new)).unwrap();
        assert!(!d.contains("s3cr3tpw") && !d.contains("tok"), "{d}");
        assert_eq!(
            d,
            "--- a/www.conf\n+++ b/www.conf\n@@ -3,3 +3,3 @@\n user = a\n-pm = static\n-env[API_TOKEN] = ********\n+pm = dynamic\n+env[API_TOKEN] = ********\n"
        );
    }
}
