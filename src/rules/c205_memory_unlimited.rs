//! C205 memory-unlimited: memory_limit = -1 for an FPM pool.

use crate::finding::Finding;
use crate::fix::Fix;
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
        let pool = g.pools[0];
        out.push(
            Finding::at(
                &RULE,
                g.place(),
                format!(
                    "memory_limit is -1 (unlimited) for pool {} ({}): one runaway request can take all the host's memory, and the OOM killer then ends workers of every site (502) instead of PHP ending that one request with `Allowed memory size exhausted`",
                    g.names(),
                    util::php_origin(stack, pool, &g.setting)
                ),
            )
            .with_fix(util::set_php(stack, pool, &g.setting, "memory_limit", "256M").map(|e| Fix::safe("set memory_limit = 256M", vec![e]))),
        );
    }
}
