//! C205 memory-unlimited: memory_limit = -1 for an FPM pool.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
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
    let mut seen = Vec::new();
    for pool in &stack.pools {
        let Some(ml) = pool.php("memory_limit") else {
            continue;
        };
        if util::ini_bytes(&ml) != -1 {
            continue;
        }
        let place = ml.value.place();
        if place.is_some() && seen.contains(&place) {
            continue;
        }
        seen.push(place);
        out.push(
            Finding::at(
                &RULE,
                place.unwrap_or(pool.place),
                format!(
                    "memory_limit is -1 (unlimited) for pool {} ({}): one runaway request can take all the host's memory, and the OOM killer then ends workers of every site (502) instead of PHP ending that one request with `Allowed memory size exhausted`",
                    pool.name,
                    util::php_origin(stack, pool, &ml)
                ),
            )
            .with_fix(place.and_then(|p| edit::ini_replace_value(stack, p, "256M")).map(|e| Fix::safe("set memory_limit = 256M", vec![e]))),
        );
    }
}
