//! M301 memory-limit-low: memory_limit below what WordPress (or WooCommerce) needs.

use crate::finding::Finding;
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
        let why = format!(
            "memory_limit {} for {} is below {want} ({} profile): admin screens, imports and image processing end with `PHP Fatal error: Allowed memory size of {} bytes exhausted` — a 500, or a 502 when the worker dies before its headers",
            g.setting.text(),
            g.whose(stack),
            cx.settings.profile.as_str(),
            util::ini_bytes(&g.setting)
        );
        out.push(g.finding(stack, &RULE, "memory_limit", &want, why));
    }
}
