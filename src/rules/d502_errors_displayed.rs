//! D502 errors-displayed: PHP errors go into the page (paths leak, headers break).

use crate::finding::{Finding, Place};
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};
use crate::stack::wp_model::truthy;

crate::declare_rule!(
    "D502",
    "errors-displayed",
    Error,
    Safe,
    "display_errors on for FPM, or WP_DEBUG on with WP_DEBUG_DISPLAY not false",
    check
);

/// display_errors as PHP reads it: "stderr" sends errors to the FastCGI stderr stream
/// (nginx's error log), not to the page.
fn displays(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    t != "stderr" && crate::syntax::units::ini_bool(&t)
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let mut seen = Vec::new();
    for pool in &stack.pools {
        let Some(de) = pool.php("display_errors") else {
            continue;
        };
        if !displays(de.text()) {
            continue;
        }
        let place = de.value.place();
        if place.is_some() && seen.contains(&place) {
            continue;
        }
        seen.push(place);
        let fix = match place {
            Some(p) => edit::ini_replace_value(stack, p, "Off"),
            None => edit::pool_insert(stack, pool, "php_admin_flag[display_errors]", "off"),
        };
        out.push(
            Finding::at(
                &RULE,
                place.unwrap_or(pool.place),
                format!(
                    "display_errors is on for pool {} ({}): warnings and fatal errors are printed into the response — server paths and SQL leak to visitors, and output before the headers breaks redirects and logins (`Cannot modify header information - headers already sent`)",
                    pool.name,
                    util::php_origin(stack, pool, &de)
                ),
            )
            .with_fix(fix.map(|e| Fix::safe("turn display_errors off", vec![e]))),
        );
    }
    for wp in &stack.wp {
        let Some(debug) = wp.constants.get("WP_DEBUG") else {
            continue;
        };
        if truthy(&debug.value.value) != Some(true) {
            continue;
        }
        let display = wp.get("WP_DEBUG_DISPLAY");
        let shows = display
            .as_ref()
            .map(|d| truthy(&d.value.value) != Some(false))
            .unwrap_or(true);
        // WordPress: WP_DEBUG_DISPLAY null leaves display_errors alone; true forces it on.
        let shows = shows
            && !matches!(
                display.as_ref().map(|d| &d.value.value),
                Some(crate::syntax::php::PhpValue::Null)
            );
        if !shows {
            continue;
        }
        let primary = display
            .as_ref()
            .and_then(|d| d.value.place())
            .or(debug.value.place())
            .unwrap_or(Place::new(wp.file, Default::default()));
        out.push(
            Finding::at(
                &RULE,
                primary,
                format!(
                    "WP_DEBUG is on and WP_DEBUG_DISPLAY is {}: WordPress sets display_errors on, so notices, warnings and fatal errors — with file paths — are printed into every page",
                    if wp.is_defined("WP_DEBUG_DISPLAY") { "true" } else { "not set (WordPress's default: true)" }
                ),
            )
            .related_opt(debug.value.place(), "WP_DEBUG is on here")
            .with_fix(edit::wp_define(stack, wp, "WP_DEBUG_DISPLAY", "false").map(|e| Fix::safe("define WP_DEBUG_DISPLAY as false", vec![e]))),
        );
    }
}
