//! U003 upstream-undefined: `fastcgi_pass NAME` where NAME is neither an `upstream`
//! block nor an address.

use crate::finding::Finding;
use crate::rules::Context;
use crate::stack::Target;

crate::declare_rule!(
    "U003",
    "upstream-undefined",
    Error,
    No,
    "fastcgi_pass names something that is neither an upstream block nor an address",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    for (n, site, loc) in cx.stack.php_locations() {
        let (Some(pass), Some(Target::Undefined(name))) = (&loc.fastcgi_pass, &loc.target) else {
            continue;
        };
        let known: Vec<&str> = n.upstreams.iter().map(|u| u.name.as_str()).collect();
        out.push(Finding::at(
            &RULE,
            pass.arg_place(0),
            format!(
                "fastcgi_pass {name} (site {}) is not an upstream block ({}) and has no port: nginx -t fails with `host not found in upstream \"{name}\"`, so nginx will not start",
                site.name(),
                if known.is_empty() { "none defined".to_string() } else { format!("defined: {}", known.join(", ")) }
            ),
        ));
    }
}
