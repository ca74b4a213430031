//! E002 unknown-fpm-directive: a key php-fpm does not know — it refuses to start.

use crate::finding::Finding;
use crate::rules::Context;

crate::declare_rule!(
    "E002",
    "unknown-fpm-directive",
    Error,
    No,
    "a key php-fpm does not know in a pool or [global]: php-fpm refuses to start",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    for fpm in &cx.stack.fpm {
        for p in fpm.problems.iter().filter(|p| p.code == "E002") {
            out.push(Finding::new(
                &RULE,
                p.place,
                format!(
                    "{}: php-fpm refuses to start (`ERROR: {}`), so every site on it answers 502",
                    p.message.trim_end_matches('.'),
                    p.message
                ),
            ));
        }
    }
}
