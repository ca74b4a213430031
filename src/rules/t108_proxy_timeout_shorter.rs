//! T108 proxy-timeout-shorter: a front hop gives up before the PHP hop behind it.
//!
//! A location whose `proxy_pass` reaches a server block (of this nginx or another nginx
//! in the tree) that runs PHP waits `proxy_read_timeout` for it. The PHP hop may take
//! as long as the shorter of its own `fastcgi_read_timeout` and its pool's limit
//! (`request_terminate_timeout`, else `max_execution_time`). When the front waits less,
//! it answers 504 while the back (and its worker) keeps working.

use crate::finding::{Finding, Place};
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};
use crate::stack::{Location, Nginx, Stack};

crate::declare_rule!(
    "T108",
    "proxy-timeout-shorter",
    Warning,
    Safe,
    "a front hop's proxy_read_timeout is shorter than what the PHP hop behind it may take",
    check
);

/// How long a PHP location of the back hop may take before it answers (seconds), why,
/// and the place that sets it.
pub fn back_may_take(
    stack: &Stack,
    n: &Nginx,
    loc: &Location,
) -> Option<(u64, String, Option<Place>)> {
    let read = n.effective_value(loc.scope, "fastcgi_read_timeout")?;
    let read_s = util::nginx_seconds(&read)?;
    let mut best = (
        read_s,
        format!(
            "fastcgi_read_timeout {} ({})",
            read.value,
            stack.origin_text(&read.origin)
        ),
        read.place().or(loc.fastcgi_pass.as_ref().map(|p| p.place)),
    );
    // The pool's limit, when it is shorter: the back answers (502/504) by then.
    let mut pool_limit: Option<(u64, String, Option<Place>)> = None;
    for &pid in &loc.pools {
        let pool = &stack.pools[pid];
        let met = pool.php("max_execution_time");
        let met_s = met.as_ref().and_then(util::php_seconds).unwrap_or(0);
        let rtt = pool.setting("request_terminate_timeout");
        let rtt_s = rtt.as_ref().and_then(util::fpm_seconds).unwrap_or(0);
        let limit = match (&rtt, &met) {
            (Some(r), _) if rtt_s > 0 => Some((
                rtt_s,
                format!(
                    "request_terminate_timeout {rtt_s} s (pool {}, {})",
                    pool.name,
                    util::pool_origin(stack, r)
                ),
                r.place(),
            )),
            (_, Some(m)) if met_s > 0 => Some((
                met_s as u64,
                format!(
                    "max_execution_time {met_s} s ({})",
                    util::php_origin(stack, pool, m)
                ),
                m.value.place(),
            )),
            // One pool unbounded: the back may take its whole fastcgi_read_timeout.
            _ => None,
        };
        match limit {
            None => {
                pool_limit = None;
                break;
            }
            Some(l) => {
                if pool_limit.as_ref().is_none_or(|p| l.0 > p.0) {
                    pool_limit = Some(l);
                }
            }
        }
    }
    if let Some(l) = pool_limit {
        if l.0 < best.0 {
            best = l;
        }
    }
    Some(best)
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for (n, site, loc) in stack.proxy_locations() {
        let Some(proxy) = &loc.proxy else { continue };
        let mut worst: Option<(u64, String, Option<Place>, String)> = None;
        for (bn, bsite, bloc) in stack.back_php_locations(loc) {
            let Some((secs, why, place)) = back_may_take(stack, bn, bloc) else {
                continue;
            };
            if worst.as_ref().is_none_or(|w| secs > w.0) {
                worst = Some((secs, why, place, bsite.name()));
            }
        }
        let Some((back_s, why, back_place, back_site)) = worst else {
            continue;
        };
        let Some(read) = n.effective_value(loc.scope, "proxy_read_timeout") else {
            continue;
        };
        let Some(read_s) = util::nginx_seconds(&read) else {
            continue;
        };
        if read_s >= back_s {
            continue;
        }
        let target = back_s + 10;
        let primary = read.place().unwrap_or(proxy.dir.place);
        let fix = edit::nginx_set(
            stack,
            n,
            loc.scope,
            "proxy_read_timeout",
            &format!("{target}s"),
        )
        .map(|e| {
            Fix::safe(
                format!("set proxy_read_timeout {target}s in this location"),
                vec![e],
            )
        });
        let mut f = Finding::at(
            &RULE,
            primary,
            format!(
                "site {}: proxy_read_timeout {} ({}) of this front hop < {why} of the PHP hop behind it (site {back_site}): for a slow page the front answers 504 after {read_s} s while the back keeps a PHP worker busy for up to {back_s} s",
                site.name(),
                read.value,
                stack.origin_text(&read.origin),
            ),
        )
        .related_opt(back_place, format!("the PHP hop may take {back_s} s"))
        .with_fix(fix);
        if read.is_default() {
            f = f.related(
                proxy.dir.place,
                "this proxy_pass inherits nginx's default proxy_read_timeout 60s",
            );
        }
        out.push(f);
    }
}
