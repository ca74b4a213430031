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
    let mut seen = Vec::new();
    for pool in &stack.pools {
        let Some(v) = pool.php("max_input_vars") else {
            continue;
        };
        let Ok(n) = v.text().trim().parse::<i64>() else {
            continue;
        };
        if n >= min {
            continue;
        }
        let place = v.value.place();
        if place.is_some() && seen.contains(&place) {
            continue;
        }
        seen.push(place);
        out.push(
            Finding::at(
                &RULE,
                place.unwrap_or(pool.place),
                format!(
                    "max_input_vars {n} for pool {} ({}) is below {min}: saving a large menu, product variations or an options page sends more fields than that, PHP keeps the first {n} and logs `PHP Warning: Unknown: Input variables exceeded {n}` — the rest is lost without an error on screen",
                    pool.name,
                    util::php_origin(stack, pool, &v)
                ),
            )
            .with_fix(util::set_php(stack, pool, &v, "max_input_vars", &min.to_string()).map(|e| Fix::safe(format!("set max_input_vars = {min}"), vec![e]))),
        );
    }
}
