//! D504 php-errors-unlogged: the fatal error behind a 502 leaves no trace.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};

crate::declare_rule!(
    "D504",
    "php-errors-unlogged",
    Warning,
    Safe,
    "log_errors off, or no error_log and catch_workers_output off",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for pool in &stack.pools {
        let Some(le) = pool.php("log_errors") else {
            continue;
        };
        if !le.is_on() {
            let fix = util::set_php(stack, pool, &le, "log_errors", "On")
                .map(|e| Fix::safe("set log_errors = On", vec![e]));
            out.push(
                Finding::at(
                    &RULE,
                    le.value.place().unwrap_or(pool.place),
                    format!(
                        "log_errors is off for pool {} ({}): the fatal errors that end requests in 500/502 are written nowhere, and the outage has no explanation",
                        pool.name,
                        util::php_origin(stack, pool, &le)
                    ),
                )
                .with_fix(fix),
            );
            continue;
        }
        let has_log = pool
            .php("error_log")
            .is_some_and(|e| !e.text().trim().is_empty());
        let cwo = pool
            .setting("catch_workers_output")
            .is_some_and(|c| crate::syntax::units::ini_bool(&c.value));
        if has_log || cwo {
            continue;
        }
        out.push(
            Finding::at(
                &RULE,
                pool.place,
                format!(
                    "pool {}: no error_log is set and catch_workers_output is off: PHP writes its errors to the worker's stderr, which php-fpm discards — fatal errors behind 502s leave no trace",
                    pool.name
                ),
            )
            .with_fix(edit::pool_set(stack, pool, "catch_workers_output", "yes").map(|e| Fix::safe("set catch_workers_output = yes (errors go to php-fpm's log)", vec![e]))),
        );
    }
}
