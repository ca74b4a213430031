//! C204 max-requests-unset: workers are never recycled, so leaks accumulate.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;

crate::declare_rule!(
    "C204",
    "max-requests-unset",
    Info,
    Safe,
    "pm.max_requests = 0: leaking plugins grow workers until memory runs out",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for pool in &stack.pools {
        let Some(mr) = pool.setting("pm.max_requests") else {
            continue;
        };
        if mr.value.trim() != "0" {
            continue;
        }
        out.push(
            Finding::at(
                &RULE,
                mr.place().unwrap_or(pool.place),
                format!(
                    "pool {}: pm.max_requests is {} — workers live forever, so memory leaked by a plugin or extension accumulates until the OOM killer or memory_limit ends requests mid-page",
                    pool.name,
                    if mr.is_default() { "unset (0)" } else { "0" }
                ),
            )
            .with_fix(edit::pool_set(stack, pool, "pm.max_requests", "500").map(|e| Fix::safe("set pm.max_requests = 500", vec![e]))),
        );
    }
}
