//! U007 upstream-server-missing: an `upstream` lists a server no pool listens on while
//! another of its servers is live. nginx fails over to the live one, so this is not
//! "502 for every PHP request" (that is U001, when nothing reachable is left), but
//! every request that tries the dead server first waits for it and counts against it.

use crate::finding::{Finding, Place};
use crate::fix::Fix;
use crate::rules::Context;
use crate::stack::{Stack, Target};

crate::declare_rule!(
    "U007",
    "upstream-server-missing",
    Warning,
    Safe,
    "an upstream used by fastcgi_pass lists a server no pool listens on while another server of it is live",
    check
);

/// U001's scan decides, per upstream, whether anything reachable is left, so the two
/// rules never report the same server.
fn check(cx: &Context, out: &mut Vec<Finding>) {
    super::u001_fastcgi_target_missing::scan(cx.stack, true, out);
}

/// The finding for a dead server `addr` (at `addr_place`, its `server` directive at
/// `directive`) of upstream `upstream`, whose `live` servers still answer.
pub fn finding(
    stack: &Stack,
    upstream: &str,
    addr: &Target,
    addr_place: Place,
    directive: Place,
    live: &[(&Target, Place)],
    site: &str,
) -> Finding {
    let errno = match addr {
        Target::Unix(_) => "(2: No such file or directory)",
        _ => "(111: Connection refused)",
    };
    let live_text: Vec<String> = live.iter().map(|(t, _)| t.describe()).collect();
    let mut f = Finding::at(
        &RULE,
        addr_place,
        format!(
            "upstream {upstream} (site {site}) lists server {} that no php-fpm pool listens on; nginx fails over to {}, but requests sent there first log `connect() to {} failed {errno} while connecting to upstream` and wait for the retry, and the server is marked failed again and again (max_fails)",
            addr.describe(),
            live_text.join(", "),
            addr.describe(),
        ),
    );
    for (t, p) in live.iter().take(3) {
        f = f.related(*p, format!("live server {}", t.describe()));
    }
    f.with_fix(Some(Fix::safe(
        format!("remove server {} from upstream {upstream}", addr.describe()),
        vec![super::e003_duplicate_directive::delete_directive(
            stack, directive,
        )],
    )))
}
