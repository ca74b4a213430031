//! E001 syntax-error: a file does not parse.

use crate::finding::{Finding, Place};
use crate::rules::Context;

crate::declare_rule!(
    "E001",
    "syntax-error",
    Error,
    No,
    "a file does not parse; the message says where and what was expected",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    for f in &cx.stack.files {
        for e in f.syntax.errors() {
            out.push(Finding::at(
                &RULE,
                Place::new(f.id, e.span),
                e.message.clone(),
            ));
        }
    }
}
