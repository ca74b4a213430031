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
    for g in util::php_groups(stack, "expose_php", |s| s.is_on()) {
        let pool = g.pools[0];
        out.push(
            Finding::at(
                &RULE,
                g.place(),
                format!(
                    "expose_php is on for pool {} ({}): every response carries `X-Powered-By: PHP/8.x.y`, telling scanners which known PHP bugs to try",
                    g.names(),
                    util::php_origin(stack, pool, &g.setting)
                ),
            )
            .with_fix(util::set_php(stack, pool, &g.setting, "expose_php", "Off").map(|e| Fix::safe("set expose_php = Off", vec![e]))),
        );
    }
}
