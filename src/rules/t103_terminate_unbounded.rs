//! T103 terminate-unbounded: no wall-clock limit on a worker, and max_execution_time
//! cannot provide one (on Linux it counts CPU time only).

use crate::finding::Finding;
use crate::fix::edit;
use crate::rules::{util, Context};

crate::declare_rule!(
    "T103",
    "terminate-unbounded",
    Warning,
    Safe,
    "request_terminate_timeout = 0: a hung request holds its worker forever",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    // Shortest fastcgi_read_timeout of the locations reaching each pool, in one pass.
    // Only locations that run WordPress count: a health check's short timeout must not
    // become the pool's request_terminate_timeout.
    let mut read_by_pool: foldhash::HashMap<usize, u64> = Default::default();
    // Pools reached only by php-fpm's status/ping pages or health checks serve no
    // request that could hang.
    let mut wordpress_pools: foldhash::HashSet<usize> = Default::default();
    let mut probe_pools: foldhash::HashSet<usize> = Default::default();
    for (_, _, l) in stack.php_locations() {
        match l.role {
            crate::stack::Role::Probe(_) => probe_pools.extend(l.pools.iter().copied()),
            _ => wordpress_pools.extend(l.pools.iter().copied()),
        }
    }
    for (n, _, l) in stack.wp_php_locations() {
        let Some(v) = n
            .effective_value(l.scope, "fastcgi_read_timeout")
            .and_then(|v| util::nginx_seconds(&v))
        else {
            continue;
        };
        for p in &l.pools {
            let e = read_by_pool.entry(*p).or_insert(v);
            *e = (*e).min(v);
        }
    }
    for (pid, pool) in stack.pools.iter().enumerate() {
        let Some(rtt) = pool.setting("request_terminate_timeout") else {
            continue;
        };
        if util::fpm_seconds(&rtt) != Some(0) {
            continue;
        }
        if probe_pools.contains(&pid) && !wordpress_pools.contains(&pid) {
            continue;
        }
        let met = pool
            .php("max_execution_time")
            .and_then(|m| util::php_seconds(&m))
            .unwrap_or(0);
        // The chain: max_execution_time < request_terminate_timeout <= fastcgi_read_timeout.
        let read = read_by_pool.get(&pid).copied();
        let target = if met > 0 {
            met as u64 + 10
        } else {
            read.unwrap_or(60)
        };
        let what = if rtt.is_default() {
            "unset (0, php-fpm's default)".to_string()
        } else {
            "0".to_string()
        };
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
                    "pool {}: request_terminate_timeout is {what}: a request stuck on a slow database, API or lock holds its worker forever (max_execution_time counts CPU time only on Linux, so sleep and I/O never end it); enough of them and php-fpm logs `server reached pm.max_children setting` and nginx answers 502/504",
                    pool.name
                ),
            )
            .with_fix(fix),
        );
    }
}
