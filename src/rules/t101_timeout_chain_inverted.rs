//! T101 timeout-chain-inverted: nginx stops waiting for PHP before PHP stops working.
//!
//! The chain must be ordered `max_execution_time < request_terminate_timeout ≤
//! fastcgi_read_timeout`. When the effective `fastcgi_read_timeout` at a PHP location
//! is below what the pool it reaches lets a request run, nginx answers 504 while the
//! worker stays busy to the end — a slow page turns into an error and a lost worker.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};

crate::declare_rule!(
    "T101",
    "timeout-chain-inverted",
    Warning,
    Safe,
    "fastcgi_read_timeout is shorter than the PHP time limit of the pool it reaches",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for (n, _site, loc) in stack.wp_php_locations() {
        let Some(read) = n.effective_value(loc.scope, "fastcgi_read_timeout") else {
            continue;
        };
        let Some(read_s) = util::nginx_seconds(&read) else {
            continue;
        };
        let Some(pass) = &loc.fastcgi_pass else {
            continue;
        };
        for &pid in &loc.pools {
            let pool = &stack.pools[pid];
            let met = stack.php_at(n, loc, pid, "max_execution_time");
            let met_s = met.as_ref().and_then(util::php_seconds).unwrap_or(0);
            let rtt = pool.setting("request_terminate_timeout");
            let rtt_s = rtt.as_ref().and_then(util::fpm_seconds).unwrap_or(0);
            // The longest a request can run in this pool (0 = unbounded, T103/T104's job).
            let (limit, what, limit_origin, limit_place) = match (&rtt, &met) {
                (Some(r), _) if rtt_s > 0 && rtt_s as i64 >= met_s => (
                    rtt_s,
                    "request_terminate_timeout",
                    format!("pool {}, {}", pool.name, util::pool_origin(stack, r)),
                    r.place(),
                ),
                (_, Some(m)) if met_s > 0 => (
                    met_s as u64,
                    "max_execution_time",
                    util::php_origin(stack, pool, m),
                    m.value.place(),
                ),
                _ => continue,
            };
            if read_s >= limit {
                continue;
            }
            let read_origin = if read.is_default() {
                "nginx default".to_string()
            } else {
                stack.origin_text(&read.origin)
            };
            let target = if rtt_s > 0 && rtt_s as i64 > met_s {
                rtt_s
            } else {
                limit + 10
            };
            let message = format!(
                "fastcgi_read_timeout {} ({read_origin}) < {what} {limit} ({limit_origin}): nginx returns 504 after {read_s} s while PHP keeps the worker busy for up to {limit} s",
                read.value
            );
            let fix = edit::nginx_set(
                stack,
                n,
                loc.scope,
                "fastcgi_read_timeout",
                &format!("{target}s"),
            )
            .map(|e| {
                Fix::safe(
                    format!("set fastcgi_read_timeout {target}s in this location"),
                    vec![e],
                )
            });
            let primary = read.place().unwrap_or(pass.place);
            let mut f = Finding::at(&RULE, primary, message)
                .related_opt(
                    limit_place,
                    format!("{what} {limit} s for pool {}", pool.name),
                )
                .with_fix(fix);
            if read.is_default() {
                f = f.related(
                    loc.place,
                    "this PHP location inherits nginx's default fastcgi_read_timeout 60s",
                );
            }
            out.push(f);
        }
    }
}
