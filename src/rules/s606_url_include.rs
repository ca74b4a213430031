//! S606 url-include: include() of a URL, the classic remote file inclusion.

use crate::finding::Finding;
use crate::fix::Fix;
use crate::rules::{util, Context};

crate::declare_rule!(
    "S606",
    "url-include",
    Error,
    Safe,
    "allow_url_include on",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let mut seen = Vec::new();
    for pool in &stack.pools {
        let Some(s) = pool.php("allow_url_include") else {
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
                    "allow_url_include is on for pool {} ({}): one `include $_GET['page']` in any plugin lets an attacker run code fetched from their own server (remote file inclusion); it is deprecated since PHP 7.4 and nothing in WordPress needs it",
                    pool.name,
                    util::php_origin(stack, pool, &s)
                ),
            )
            .with_fix(util::set_php(stack, pool, &s, "allow_url_include", "Off").map(|e| Fix::safe("set allow_url_include = Off", vec![e]))),
        );
    }
}
