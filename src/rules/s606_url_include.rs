//! S606 url-include: include() of a URL, the classic remote file inclusion.

use crate::finding::Finding;
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
    for g in util::php_groups(stack, "allow_url_include", |s| s.is_on()) {
        let why = format!(
            "allow_url_include is on for {}: one `include $_GET['page']` in any plugin lets an attacker run code fetched from their own server (remote file inclusion); it is deprecated since PHP 7.4 and nothing in WordPress needs it",
            g.whose(stack)
        );
        out.push(g.finding(stack, &RULE, "allow_url_include", "Off", why));
    }
}
