//! E008 unknown-ini-directive: a php.ini / conf.d / `php_value` key PHP does not
//! define, so PHP ignores it without a word — a typo in `memory_limit` keeps the
//! default.
//!
//! The keys PHP knows come from its own ini tables (`data/php-ini-keys.tsv`, PHP
//! 8.1–8.4: core, bundled extensions, opcache, apcu, redis, imagick, xdebug, igbinary
//! and others). Not judged, so nothing is reported that PHP might accept:
//! - a dotted key whose prefix no extension in the table uses (`newrelic.appname`,
//!   `ioncube.loader.encoded_paths`): it may belong to an extension we do not know;
//! - a key of a known extension, whether or not that extension is loaded for the pool;
//! - a php-fpm instance whose PHP version (from its path) is outside 8.1–8.4.

use crate::finding::{Finding, Place};
use crate::rules::Context;
use crate::stack::php_ini_keys;
use crate::stack::Via;

crate::declare_rule!(
    "E008",
    "unknown-ini-directive",
    Warning,
    No,
    "a php.ini / conf.d / php_value key that PHP does not define: PHP ignores it",
    check
);

fn version_covered(v: Option<&str>) -> bool {
    v.is_none_or(|v| php_ini_keys::VERSIONS.contains(&v))
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let mut seen: Vec<Place> = Vec::new();
    // `on`: the value read as PHP's boolean, `None` when unknown.
    let mut report = |key: &str, on: Option<bool>, place: Place, via: &str, whose: String| {
        if seen.contains(&place)
            || php_ini_keys::extension_of(key).is_some()
            || !php_ini_keys::in_known_namespace(key)
        {
            return;
        }
        if php_ini_keys::REMOVED_FATAL.contains(&key) {
            // Off: PHP checks it, accepts it and ignores it — nothing to say.
            if on == Some(true) {
                seen.push(place);
                out.push(Finding::at(
                    &RULE,
                    place,
                    format!(
                        "`{key}` ({via}, {whose}) was removed from PHP, and set to a true value it stops PHP at start-up: `PHP Fatal error:  Directive '{key}' is no longer available in PHP` — php-fpm does not start. Remove the line"
                    ),
                ));
            }
            return;
        }
        seen.push(place);
        let hint = match php_ini_keys::did_you_mean(key) {
            Some(k) => format!(". Did you mean `{k}`?"),
            None => String::new(),
        };
        out.push(Finding::at(
            &RULE,
            place,
            format!(
                "`{key}` ({via}, {whose}) is not a directive of PHP 8.1–8.4 or of any extension in wpstack's table: PHP ignores the line without a warning and keeps the default (or the earlier value), so the setting you meant is not in effect{hint}"
            ),
        ));
    };
    for fpm in &stack.fpm {
        if !version_covered(fpm.version.as_deref()) {
            continue;
        }
        let whose = match &fpm.version {
            Some(v) => format!("php-fpm {v}"),
            None => "php-fpm".to_string(),
        };
        for (key, s) in &fpm.ini.settings {
            if let Some(p) = s.value.place() {
                report(key, Some(s.is_on()), p, s.via.as_str(), whose.clone());
            }
        }
        for (key, p) in &fpm.ini.unknown {
            report(key, None, *p, "php.ini", whose.clone());
        }
        for pid in &fpm.pools {
            let pool = &stack.pools[*pid];
            for (key, s) in &pool.overrides {
                if let Some(p) = s.value.place() {
                    report(
                        key,
                        Some(s.is_on()),
                        p,
                        s.via.as_str(),
                        format!("pool {}", pool.name),
                    );
                }
            }
            for (key, p) in &pool.php_unknown {
                report(key, None, *p, "php_value", format!("pool {}", pool.name));
            }
        }
    }
    // What nginx sends in PHP_VALUE / PHP_ADMIN_VALUE (php-fpm logs "unable to set").
    for (n, site, loc) in stack.php_locations() {
        let covered = loc
            .pools
            .iter()
            .all(|p| version_covered(stack.fpm[stack.pools[*p].fpm].version.as_deref()));
        if loc.pools.is_empty() || !covered {
            continue;
        }
        for v in stack.nginx_php_values(n, loc.scope) {
            if let Some(p) = v.setting.value.place() {
                let via = if v.setting.via == Via::NginxPhpAdminValue {
                    "fastcgi_param PHP_ADMIN_VALUE"
                } else {
                    "fastcgi_param PHP_VALUE"
                };
                report(
                    &v.key,
                    Some(v.setting.is_on()),
                    p,
                    via,
                    format!("site {}", site.name()),
                );
            }
        }
    }
}
