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
    for pool in &stack.pools {
        let Some(rtt) = pool.settings.get("request_terminate_timeout") else {
            continue;
        };
        let Some(rtt_s) = util::fpm_seconds(rtt) else {
            continue;
        };
        if rtt_s == 0 {
            continue;
        }
        let Some(met) = pool.php("max_execution_time") else {
            continue;
        };
        let Some(met_s) = util::php_seconds(&met) else {
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
