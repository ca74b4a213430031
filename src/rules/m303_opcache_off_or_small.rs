//! M303 opcache-off-or-small: PHP recompiles WordPress on every request.

use crate::finding::Finding;
use crate::fix::Fix;
use crate::rules::{util, Context};

crate::declare_rule!(
    "M303",
    "opcache-off-or-small",
    Warning,
    Safe,
    "opcache disabled for FPM, or opcache.memory_consumption < 128, or max_accelerated_files < 10000",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let t = &cx.settings.thresholds;
    for fpm in &stack.fpm {
        let Some(pool) = fpm.pools.first().map(|p| &stack.pools[*p]) else {
            continue;
        };
        // Without the php.ini (and its scan dir) we cannot know what is loaded.
        if fpm.php_ini.is_none() {
            continue;
        }
        let anchor = fpm
            .php_ini
            .map(|f| crate::finding::Place::new(f, crate::source::Span::empty(0)));
        if !fpm.ini.opcache_loaded() {
            out.push(Finding::new(
                &RULE,
                anchor.or(Some(pool.place)),
                format!(
                    "opcache is not loaded for php-fpm{} (no zend_extension=opcache in php.ini or its scan dir): every request compiles WordPress's ~1,000 PHP files again, several times slower, and workers stay busy longer — the pool saturates sooner",
                    fpm.version.as_ref().map(|v| format!(" {v}")).unwrap_or_default()
                ),
            ));
            continue;
        }
        let enable = pool.php("opcache.enable");
        if let Some(e) = enable.as_ref().filter(|e| !e.is_on()) {
            out.push(
                Finding::at(&RULE, e.value.place().unwrap_or(pool.place), format!("opcache.enable is off ({}): every request compiles WordPress's PHP files again", util::php_origin(stack, pool, e)))
                    .with_fix(util::set_php(stack, pool, e, "opcache.enable", "1").map(|x| Fix::safe("set opcache.enable = 1", vec![x]))),
            );
            continue;
        }
        for (key, min, unit) in [
            ("opcache.memory_consumption", t.opcache_memory_min, "MB"),
            (
                "opcache.max_accelerated_files",
                t.opcache_files_min,
                " files",
            ),
        ] {
            let Some(s) = pool.php(key) else { continue };
            let Ok(v) = s.text().trim().parse::<u64>() else {
                continue;
            };
            if v >= min {
                continue;
            }
            out.push(
                Finding::at(
                    &RULE,
                    s.value.place().unwrap_or(pool.place),
                    format!(
                        "{key} {v} ({}) is below {min}{unit}: WordPress with a few dozen plugins does not fit, opcache evicts and restarts (`opcache.restart`), and requests compile files again under load",
                        util::php_origin(stack, pool, &s)
                    ),
                )
                .with_fix(util::set_php(stack, pool, &s, key, &min.to_string()).map(|x| Fix::safe(format!("set {key} = {min}"), vec![x]))),
            );
        }
    }
}
