//! T105 cdn-timeout-exceeded: a link of the timeout chain outlives the CDN or load
//! balancer in front, which then answers its own error while the origin still works.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};

crate::declare_rule!(
    "T105",
    "cdn-timeout-exceeded",
    Warning,
    Safe,
    "with a CDN/load balancer in front (--cdn), a timeout of the chain is above its origin timeout",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let Some((cdn_s, what)) = cx.settings.cdn.origin_timeout() else {
        return;
    };
    let stack = cx.stack;
    let cdn = cx.settings.cdn.name();
    let assumption = format!("--cdn {cdn}: the origin timeout is {cdn_s} s");
    for (n, site, loc) in stack.php_locations() {
        let Some(read) = n.effective_value(loc.scope, "fastcgi_read_timeout") else {
            continue;
        };
        let Some(read_s) = util::nginx_seconds(&read) else {
            continue;
        };
        // The longest PHP may run in the pools reached.
        let pool_max = loc
            .pools
            .iter()
            .map(|&p| {
                let pool = &stack.pools[p];
                let rtt = pool
                    .setting("request_terminate_timeout")
                    .and_then(|r| util::fpm_seconds(&r))
                    .unwrap_or(0);
                let met = pool
                    .php("max_execution_time")
                    .and_then(|m| util::php_seconds(&m))
                    .unwrap_or(0)
                    .max(0) as u64;
                rtt.max(met)
            })
            .max()
            .unwrap_or(0);
        if read_s <= cdn_s {
            continue;
        }
        let fixable = pool_max > 0 && pool_max < cdn_s;
        let new = cdn_s.saturating_sub(5).max(pool_max);
        let fix = if fixable {
            edit::nginx_set(
                stack,
                n,
                loc.scope,
                "fastcgi_read_timeout",
                &format!("{new}s"),
            )
            .map(|e| {
                Fix::safe(
                    format!("set fastcgi_read_timeout {new}s, inside the CDN's {cdn_s} s"),
                    vec![e],
                )
            })
        } else {
            None
        };
        out.push(
            Finding::at(
                &RULE,
                read.place().unwrap_or(loc.place),
                format!(
                    "site {}: fastcgi_read_timeout {} ({}) is above the {cdn} origin timeout of {cdn_s} s: {what} while nginx and PHP keep working on a response nobody will receive{}",
                    site.name(),
                    read.value,
                    stack.origin_text(&read.origin),
                    if fixable { String::new() } else { format!("; PHP may also run up to {pool_max} s here, so lower max_execution_time and request_terminate_timeout below {cdn_s} s first") }
                ),
            )
            .assume(assumption.clone())
            .with_fix(fix),
        );
    }
    for pool in &stack.pools {
        let Some(rtt) = pool.settings.get("request_terminate_timeout") else {
            continue;
        };
        let Some(rtt_s) = util::fpm_seconds(rtt) else {
            continue;
        };
        if rtt_s > cdn_s {
            out.push(
                Finding::at(
                    &RULE,
                    rtt.place().unwrap_or(pool.place),
                    format!(
                        "pool {}: request_terminate_timeout {} is above the {cdn} origin timeout of {cdn_s} s: {what} while the worker keeps running",
                        pool.name, rtt.value
                    ),
                )
                .assume(assumption.clone()),
            );
        }
    }
}
