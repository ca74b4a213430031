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
    let low = |s: &crate::stack::PhpSetting| {
        let b = util::ini_bytes(s);
        b >= 0 && (b as u64) < min
    };
    let want = util::human_bytes(min);
    for g in util::php_groups(stack, "memory_limit", low) {
        let pool = g.pools[0];
        let bytes = util::ini_bytes(&g.setting);
        let fix = util::set_php(stack, pool, &g.setting, "memory_limit", &want)
            .map(|e| Fix::safe(format!("set memory_limit = {want}"), vec![e]));
        out.push(
            Finding::at(
                &RULE,
                g.place(),
                format!(
                    "memory_limit {} for pool {} ({}) is below {want} ({} profile): admin screens, imports and image processing end with `PHP Fatal error: Allowed memory size of {bytes} bytes exhausted` — a 500, or a 502 when the worker dies before its headers",
                    g.setting.text(),
                    g.names(),
                    util::php_origin(stack, pool, &g.setting),
                    cx.settings.profile.as_str()
                ),
            )
            .with_fix(fix),
        );
    }
}
