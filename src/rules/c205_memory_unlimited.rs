//! C205 memory-unlimited: memory_limit = -1 for an FPM pool.

use crate::finding::Finding;
use crate::rules::{util, Context};

crate::declare_rule!(
    "C205",
    "memory-unlimited",
    Error,
    Safe,
    "effective memory_limit = -1 for an FPM pool",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for g in util::php_groups(stack, "memory_limit", |s| util::ini_bytes(s) == -1) {
        let why = format!(
            "memory_limit is -1 (unlimited) for {}: one runaway request can take all the host's memory, and the OOM killer then ends workers of every site (502) instead of PHP ending that one request with `Allowed memory size exhausted`",
            g.whose(stack)
        );
        out.push(g.finding(stack, &RULE, "memory_limit", "256M", why));
    }
}
