//! S604 expose-php: `X-Powered-By: PHP/8.2.x` on every response.

use crate::finding::Finding;
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
        let why = format!(
            "expose_php is on for {}: every response carries `X-Powered-By: PHP/8.x.y`, telling scanners which known PHP bugs to try",
            g.whose(stack)
        );
        out.push(g.finding(stack, &RULE, "expose_php", "Off", why));
    }
}
