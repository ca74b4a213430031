//! M301 memory-limit-low: memory_limit below what WordPress (or WooCommerce) needs.

use crate::finding::Finding;
use crate::fix::Fix;
use crate::rules::{util, Context};

crate::declare_rule!(
    "M301",
    "memory-limit-low",
    Warning,
    Safe,
    "effective memory_limit below 128M (256M with the WooCommerce profile)",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let min = cx.settings.thresholds.memory_limit_min;
    let mut seen = Vec::new();
    for pool in &stack.pools {
        let Some(ml) = pool.php("memory_limit") else {
            continue;
        };
        let bytes = util::ini_bytes(&ml);
        if bytes < 0 || bytes as u64 >= min {
            continue;
        }
        let place = ml.value.place();
        if place.is_some() && seen.contains(&place) {
            continue;
        }
        seen.push(place);
        let want = util::human_bytes(min);
        let fix = util::set_php(stack, pool, &ml, "memory_limit", &want)
            .map(|e| Fix::safe(format!("set memory_limit = {want}"), vec![e]));
        out.push(
            Finding::at(
                &RULE,
                place.unwrap_or(pool.place),
                format!(
                    "memory_limit {} for pool {} ({}) is below {want} ({} profile): admin screens, imports and image processing end with `PHP Fatal error: Allowed memory size of {bytes} bytes exhausted` — a 500, or a 502 when the worker dies before its headers",
                    ml.text(),
                    pool.name,
                    util::php_origin(stack, pool, &ml),
                    cx.settings.profile.as_str()
                ),
            )
            .with_fix(fix),
        );
    }
}
