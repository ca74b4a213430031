//! P403 max-input-vars-low: big forms are silently truncated on save.

use crate::finding::Finding;
use crate::fix::Fix;
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
        let pool = g.pools[0];
        let n = g.setting.text().trim().to_string();
        out.push(
            Finding::at(
                &RULE,
                g.place(),
                format!(
                    "max_input_vars {n} for pool {} ({}) is below {min}: saving a large menu, product variations or an options page sends more fields than that, PHP keeps the first {n} and logs `PHP Warning: Unknown: Input variables exceeded {n}` — the rest is lost without an error on screen",
                    g.names(),
                    util::php_origin(stack, pool, &g.setting)
                ),
            )
            .with_fix(util::set_php(stack, pool, &g.setting, "max_input_vars", &min.to_string()).map(|e| Fix::safe(format!("set max_input_vars = {min}"), vec![e]))),
        );
    }
}
