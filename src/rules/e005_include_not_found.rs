//! E005 include-not-found: a non-glob include whose file is missing (nginx -t fails);
//! also reports include cycles and files that cannot be read, which stop the
//! programs the same way.

use crate::finding::Finding;
use crate::rules::Context;
use crate::stack::load::ProblemKind;

crate::declare_rule!(
    "E005",
    "include-not-found",
    Error,
    No,
    "an include names a file that does not exist (or cannot be read, or includes itself)",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    for p in &cx.stack.problems {
        let f = Finding::new(&RULE, p.place, p.message.clone());
        out.push(match p.kind {
            ProblemKind::IncludeNotFound | ProblemKind::Unreadable | ProblemKind::TooDeep => f,
            ProblemKind::IncludeCycle => f.severity(crate::finding::Severity::Error),
        });
    }
}
