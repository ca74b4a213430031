//! B803 db-wait-timeout-short: the server drops idle connections sooner than a
//! request of a pool using it may run.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::db_load;

crate::declare_rule!(
    "B803",
    "db-wait-timeout-short",
    Warning,
    Safe,
    "wait_timeout is shorter than the longest a request of a pool using the server may run",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for db in &stack.databases {
        let Some(wt) = db.number("wait_timeout") else {
            continue;
        };
        let longest = db
            .pools
            .iter()
            .filter_map(|&p| Some((p, db_load::longest_request(&stack.pools[p])?)))
            .max_by_key(|(_, (s, _, _))| *s);
        let Some((p, (secs, what, at))) = longest else {
            continue;
        };
        if wt.value >= secs {
            continue;
        }
        let pool = &stack.pools[p];
        let msg = format!(
            "wait_timeout {} s ({}) is shorter than the {secs} s a request of pool {} may run ({what}): a request that waits longer between two queries (an import, a remote API call, wp-cron) finds its connection closed — `MySQL server has gone away` — and WordPress fails mid-request",
            wt.value,
            stack.origin_text(&wt.origin),
            pool.name
        );
        let mut f = Finding::at(&RULE, db_load::anchor(stack, db, "wait_timeout"), msg)
            .related_opt(at, format!("pool {}: {what} {secs} s", pool.name));
        if let Some(e) = edit::mycnf_set(stack, db, "wait_timeout", &secs.to_string()) {
            f = f.with_fix(Some(Fix::safe(format!("wait_timeout = {secs}"), vec![e])));
        }
        out.push(f);
    }
}
