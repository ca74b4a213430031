//! P403 max-input-vars-low: big forms are silently truncated on save.

use crate::finding::Finding;
use crate::rules::{util, Context};

crate::declare_rule!(
    "P403",
    "max-input-vars-low",
    Info,
    Safe,
    "max_input_vars below 3000: menus, variations and option pages silently truncated on save",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let min = cx.settings.thresholds.max_input_vars_min as i64;
    let low = |s: &crate::stack::PhpSetting| s.text().trim().parse::<i64>().is_ok_and(|n| n < min);
    for g in util::php_groups(stack, "max_input_vars", low) {
        let n = g.setting.text().trim().to_string();
        let why = format!(
            "max_input_vars {n} for {} is below {min}: saving a large menu, product variations or an options page sends more fields than that, PHP keeps the first {n} and logs `PHP Warning: Unknown: Input variables exceeded {n}` — the rest is lost without an error on screen",
            g.whose(stack)
        );
        out.push(g.finding(stack, &RULE, "max_input_vars", &min.to_string(), why));
    }
}
