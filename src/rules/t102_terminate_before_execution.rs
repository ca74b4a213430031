//! T102 terminate-before-execution: php-fpm kills the worker before PHP's own limit
//! fires, so the request dies mid-response instead of ending with a PHP error.

use crate::finding::Finding;
use crate::fix::edit;
use crate::rules::{util, Context};

crate::declare_rule!(
    "T102",
    "terminate-before-execution",
    Error,
    Safe,
    "request_terminate_timeout is not above max_execution_time: php-fpm kills workers mid-request",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for (pid, pool) in stack.pools.iter().enumerate() {
        let Some(rtt) = pool.settings.get("request_terminate_timeout") else {
            continue;
        };
        let Some(rtt_s) = util::fpm_seconds(rtt) else {
            continue;
        };
        if rtt_s == 0 {
            continue;
        }
        // The largest the pool's workers may have: its own, or a PHP_VALUE nginx sends
        // (it stays in the worker).
        let Some((met, met_s)) = stack
            .php_variants(pid, "max_execution_time")
            .into_iter()
            .filter_map(|m| util::php_seconds(&m).map(|s| (m, s)))
            .max_by_key(|(_, s)| *s)
        else {
            continue;
        };
        if met_s <= 0 || (rtt_s as i64) > met_s {
            continue;
        }
        let target = met_s + 10;
        let fix = edit::pool_fix(
            stack,
            pool,
            "request_terminate_timeout",
            &format!("{target}s"),
        );
        out.push(
            Finding::at(
                &RULE,
                rtt.place().unwrap_or(pool.place),
                format!(
                    "pool {}: request_terminate_timeout {} ≤ max_execution_time {met_s} ({}): php-fpm kills the worker after {rtt_s} s before PHP's own limit can end the request cleanly; php-fpm logs `execution timed out … terminating`, nginx logs `upstream prematurely closed connection` (on a unix socket: `recv() failed (104: Connection reset by peer)`) and answers 502",
                    pool.name,
                    rtt.value,
                    util::php_origin(stack, pool, &met)
                ),
            )
            .related_opt(met.value.place(), format!("max_execution_time {met_s}"))
            .with_fix(fix),
        );
    }
}
