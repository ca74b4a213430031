//! M304 xdebug-in-production: the Xdebug extension is loaded for php-fpm.
//!
//! Loaded at all, Xdebug hooks every function call; with its default `xdebug.mode`
//! (`develop`) or any mode but `off` every request runs several times slower, and
//! `start_with_request=yes` adds a trace, profile or debugger connection attempt to
//! each one. Slow requests hold workers longer, so the pool saturates and timeouts
//! (T101, 502/504) follow.

use crate::finding::Finding;
use crate::rules::Context;

crate::declare_rule!(
    "M304",
    "xdebug-in-production",
    Warning,
    No,
    "the xdebug extension is loaded for an FPM pool",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for fpm in &stack.fpm {
        let Some(ext) = fpm
            .ini
            .extensions
            .iter()
            .rev()
            .find(|e| is_xdebug(&e.value))
        else {
            continue;
        };
        let Some(place) = ext.place() else { continue };
        let pools: Vec<&crate::stack::Pool> = fpm.pools.iter().map(|p| &stack.pools[*p]).collect();
        if pools.is_empty() {
            continue;
        }
        // How bad: the mode (Xdebug 3's default is `develop`) and start_with_request.
        let mut modes: Vec<String> = Vec::new();
        for p in &pools {
            let mode = p
                .php("xdebug.mode")
                .map(|m| m.text().trim().to_string())
                .unwrap_or_else(|| "develop (Xdebug's default)".to_string());
            let start = p
                .php("xdebug.start_with_request")
                .map(|s| s.text().trim().to_ascii_lowercase());
            let text = match start.as_deref() {
                Some("yes" | "1" | "on" | "true") => format!("{mode}, start_with_request=yes"),
                _ => mode,
            };
            if !modes.contains(&text) {
                modes.push(text);
            }
        }
        let all_off = pools.iter().all(|p| {
            p.php("xdebug.mode")
                .is_some_and(|m| m.text().trim().eq_ignore_ascii_case("off"))
        });
        let severity_note = if all_off {
            "with xdebug.mode=off the cost is small but not zero, and one `XDEBUG_MODE` environment variable or a changed ini turns it back on".to_string()
        } else {
            format!(
                "with xdebug.mode {} every request runs several times slower, workers stay busy longer and the pool saturates: timeouts and 502/504 follow under load",
                modes.join(" / ")
            )
        };
        let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
        out.push(
            Finding::at(
                &RULE,
                place,
                format!(
                    "Xdebug is loaded for php-fpm (`{}`), so for pool {}: {severity_note}. Disable it for FPM (`phpdismod -s fpm xdebug` on Debian/Ubuntu) and keep it for the CLI or a staging copy",
                    ext.value.trim(),
                    names.join(", ")
                ),
            ),
        );
    }
}

/// `zend_extension=xdebug`, `xdebug.so`, `/usr/lib/php/20220829/xdebug.so`.
fn is_xdebug(value: &str) -> bool {
    let v = value.trim().trim_matches('"');
    let file = v.rsplit('/').next().unwrap_or(v);
    let stem = file.strip_suffix(".so").unwrap_or(file);
    stem.eq_ignore_ascii_case("xdebug") || stem.eq_ignore_ascii_case("php_xdebug")
}

#[cfg(test)]
mod tests {
    #[test]
    fn xdebug_names() {
        assert!(super::is_xdebug("xdebug.so"));
        assert!(super::is_xdebug("/usr/lib/php/20220829/xdebug.so"));
        assert!(super::is_xdebug("xdebug"));
        assert!(!super::is_xdebug("opcache.so"));
        assert!(!super::is_xdebug("xdebug_helper.so"));
    }
}
