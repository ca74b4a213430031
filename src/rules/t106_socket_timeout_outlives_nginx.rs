//! T106 socket-timeout-outlives-nginx: PHP waits longer for a remote API than nginx
//! waits for PHP.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};

crate::declare_rule!(
    "T106",
    "socket-timeout-outlives-nginx",
    Warning,
    Safe,
    "default_socket_timeout is not below the fastcgi_read_timeout of the locations reaching the pool",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let mut seen = Vec::new();
    for (n, site, loc) in stack.wp_php_locations() {
        let Some(read) = n.effective_value(loc.scope, "fastcgi_read_timeout") else {
            continue;
        };
        let Some(read_s) = util::nginx_seconds(&read) else {
            continue;
        };
        for &pid in &loc.pools {
            let pool = &stack.pools[pid];
            let Some(dst) = pool.php("default_socket_timeout") else {
                continue;
            };
            let Some(dst_s) = util::php_seconds(&dst) else {
                continue;
            };
            if dst_s < read_s as i64 || !seen.iter().all(|s| *s != (pid, read_s)) {
                continue;
            }
            seen.push((pid, read_s));
            let new = (read_s / 2).clamp(5, 30);
            let fix = dst
                .value
                .place()
                .and_then(|p| edit::ini_replace_value(stack, p, &new.to_string()))
                .map(|e| Fix::safe(format!("set default_socket_timeout = {new}"), vec![e]));
            out.push(
                Finding::at(
                    &RULE,
                    dst.value.place().unwrap_or(pool.place),
                    format!(
                        "default_socket_timeout {dst_s} ({}) ≥ fastcgi_read_timeout {} of site {} ({}): one slow external API call (payment, CRM, shipping) outlives nginx, which answers 504 while the worker still waits",
                        util::php_origin(stack, pool, &dst),
                        read.value,
                        site.name(),
                        stack.origin_text(&read.origin)
                    ),
                )
                .related_opt(read.place(), format!("fastcgi_read_timeout {}", read.value))
                .with_fix(fix),
            );
        }
    }
}
