//! S604 expose-php: `X-Powered-By: PHP/8.2.x` on every response.

use crate::finding::Finding;
use crate::fix::Fix;
use crate::rules::{util, Context};

crate::declare_rule!(
    "S604",
    "expose-php",
    Info,
    Safe,
    "expose_php on: every response announces the PHP version",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let mut seen = Vec::new();
    for pool in &stack.pools {
        let Some(s) = pool.php("expose_php") else {
            continue;
        };
        if !s.is_on() {
            continue;
        }
        let place = s.value.place();
        if place.is_some() && seen.contains(&place) {
            continue;
        }
        seen.push(place);
        out.push(
            Finding::at(
                &RULE,
                place.unwrap_or(pool.place),
                format!(
                    "expose_php is on for pool {} ({}): every response carries `X-Powered-By: PHP/8.x.y`, telling scanners which known PHP bugs to try",
                    pool.name,
                    util::php_origin(stack, pool, &s)
                ),
            )
            .with_fix(util::set_php(stack, pool, &s, "expose_php", "Off").map(|e| Fix::safe("set expose_php = Off", vec![e]))),
        );
    }
}
