//! U004 listen-backlog-too-small: an explicit listen.backlog below pm.max_children or
//! below 128 makes bursts fail with EAGAIN before a worker is even asked.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;

crate::declare_rule!(
    "U004",
    "listen-backlog-too-small",
    Warning,
    Safe,
    "listen.backlog set below pm.max_children or below 128",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for pool in &stack.pools {
        let Some(b) = pool.settings.get("listen.backlog") else {
            continue;
        };
        let Ok(backlog) = b.value.trim().parse::<i64>() else {
            continue;
        };
        if backlog < 0 {
            continue; // -1: the kernel's somaxconn
        }
        let children = pool
            .settings
            .get("pm.max_children")
            .and_then(|c| c.value.trim().parse::<i64>().ok())
            .unwrap_or(0);
        let min = cx.settings.thresholds.backlog_min as i64;
        if backlog >= min && backlog >= children {
            continue;
        }
        let below = if backlog < children {
            format!("below pm.max_children {children}")
        } else {
            format!("below {min}")
        };
        let f = Finding::at(
            &RULE,
            b.place().unwrap_or(pool.place),
            format!(
                "pool {}: listen.backlog {backlog} is {below}: when a burst arrives while all workers are busy, connections beyond {backlog} queued are refused and nginx logs `connect() to unix:… failed (11: Resource temporarily unavailable)` → 502",
                pool.name
            ),
        )
        .with_fix(edit::pool_set(stack, pool, "listen.backlog", "511").map(|e| Fix::safe("set listen.backlog = 511", vec![e])));
        out.push(f);
    }
}
