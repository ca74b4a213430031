//! D504 php-errors-unlogged: the fatal error behind a 502 leaves no trace.
//!
//! Where PHP's errors go from an FPM worker (`sapi_cgi_log_message` in fpm_main.c):
//! to `error_log` when it is set; else, during a request with `fastcgi.logging` on (the
//! default), over FastCGI to nginx, which writes `FastCGI sent in stderr: "PHP message:
//! PHP Fatal error: …"` to its error log at level `error`; else to the worker's stderr,
//! which php-fpm keeps only with `catch_workers_output = yes`. The lab checks both ways
//! with Debian's stock php.ini.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};
use crate::stack::{Dir, Location, Nginx, Site};

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
    // The PHP locations reaching each pool, indexed once (a scan per pool was
    // quadratic in the sites of a big host).
    let mut reaching: Vec<Vec<Reach>> = vec![Vec::new(); stack.pools.len()];
    for (n, site, loc) in stack.php_locations() {
        for p in &loc.pools {
            if let Some(v) = reaching.get_mut(*p) {
                v.push((n, site, loc));
            }
        }
    }
    for (pool_id, pool) in stack.pools.iter().enumerate() {
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
        if has_log {
            continue;
        }
        let fastcgi_logging = pool.php("fastcgi.logging");
        if fastcgi_logging.as_ref().is_none_or(|f| f.is_on()) {
            // Errors go to nginx. Reported only when every nginx location that reaches
            // this pool logs nowhere at level `error`.
            let Some((site, lost)) = lost_in_nginx(&reaching[pool_id]) else {
                continue;
            };
            let mut f = Finding::at(
                &RULE,
                lost.place,
                format!(
                    "pool {}: no error_log is set, so PHP sends its errors to nginx (fastcgi.logging is on), and site {site} logs them nowhere (`error_log {}`): fatal errors behind 502s leave no trace",
                    pool.name,
                    lost.value_text()
                ),
            )
            .related(pool.place, format!("pool {}", pool.name));
            if let Some(p) = fastcgi_logging.as_ref().and_then(|f| f.value.place()) {
                f = f.related(p, "fastcgi.logging");
            }
            out.push(f);
            continue;
        }
        let cwo = pool
            .setting("catch_workers_output")
            .is_some_and(|c| crate::syntax::units::ini_bool(&c.value));
        if cwo {
            continue;
        }
        out.push(
            Finding::at(
                &RULE,
                pool.place,
                format!(
                    "pool {}: no error_log is set, fastcgi.logging is off and catch_workers_output is off: PHP writes its errors to the worker's stderr, which php-fpm discards — fatal errors behind 502s leave no trace",
                    pool.name
                ),
            )
            .with_fix(edit::pool_set(stack, pool, "catch_workers_output", "yes").map(|e| Fix::safe("set catch_workers_output = yes (errors go to php-fpm's log)", vec![e]))),
        );
    }
}

/// Does an nginx `error_log` keep lines of level `error`? `off` and `/dev/null` do not
/// (`off` is really a file named "off" nobody reads: D505), nor `crit`/`alert`/`emerg`.
fn keeps_errors(d: &Dir) -> bool {
    let file = d.arg(0).unwrap_or("");
    let level = d.arg(1).unwrap_or("error");
    file != "off" && file != "/dev/null" && !matches!(level, "crit" | "alert" | "emerg")
}

/// When every PHP location reaching the pool logs nowhere at `error`: a site name and
/// the `error_log` that loses them. `None` when one of them keeps them, or when no
/// nginx in the tree reaches the pool (nginx's default logs at `error`).
type Reach<'a> = (&'a Nginx, &'a Site, &'a Location);

fn lost_in_nginx(reaching: &[Reach]) -> Option<(String, Dir)> {
    let mut lost = None;
    for (n, site, loc) in reaching {
        let logs = n.effective_all(loc.scope, "error_log");
        if logs.is_empty() || logs.iter().any(|d| keeps_errors(d)) {
            return None;
        }
        if lost.is_none() {
            let name = site
                .server_names
                .first()
                .cloned()
                .unwrap_or_else(|| "_".into());
            lost = Some((name, logs[0].clone()));
        }
    }
    lost
}
