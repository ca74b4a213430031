//! E006 fpm-will-not-start: the pool fails php-fpm's own start-up checks.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;

crate::declare_rule!(
    "E006",
    "fpm-will-not-start",
    Error,
    Safe,
    "the pool fails php-fpm's own start-up checks (pm.* values, listen, pm)",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for fpm in &stack.fpm {
        for p in fpm.problems.iter().filter(|p| p.code == "E006") {
            let pool = p
                .pool
                .as_deref()
                .and_then(|n| stack.pools.iter().find(|x| x.name.eq_ignore_ascii_case(n)));
            // A valid dynamic set: the shipped www.conf's numbers, scaled to max_children.
            let fix = pool.filter(|_| p.key.starts_with("pm.")).and_then(|pool| {
                let mc: u64 = pool
                    .settings
                    .get("pm.max_children")
                    .and_then(|v| v.value.trim().parse().ok())
                    .filter(|v| *v > 0)
                    .unwrap_or(5);
                let dynamic = pool.settings.get("pm").is_none_or(|m| m.value.trim() == "dynamic");
                if !dynamic {
                    return None;
                }
                let min = (mc / 4).max(1);
                let max = (mc / 2).max(min + 1).min(mc);
                let start = min + (max - min) / 2;
                let mut edits = Vec::new();
                for (k, v) in [
                    ("pm.max_children", mc),
                    ("pm.min_spare_servers", min),
                    ("pm.max_spare_servers", max),
                    ("pm.start_servers", start),
                ] {
                    if pool.settings.get(k).map(|s| s.value.trim().to_string()) != Some(v.to_string()) {
                        edits.extend(edit::pool_set(stack, pool, k, &v.to_string()));
                    }
                }
                (!edits.is_empty()).then(|| {
                    Fix::safe(
                        format!("set pm.max_children = {mc}, pm.start_servers = {start}, pm.min_spare_servers = {min}, pm.max_spare_servers = {max}"),
                        edits,
                    )
                })
            });
            out.push(
                Finding::new(
                    &RULE,
                    p.place,
                    format!(
                        "php-fpm will not start: `ALERT: {}` — every site on it answers 502 until this is fixed (a reload keeps the old pools only while the master lives)",
                        p.message
                    ),
                )
                .with_fix(fix),
            );
        }
    }
}
