//! D506 savequeries-on: SAVEQUERIES true on a production site.
//!
//! With SAVEQUERIES, wpdb keeps every query of the request with its time and PHP
//! backtrace in `$wpdb->queries` until the request ends: a page with thousands of
//! queries (WooCommerce, page builders, imports) holds megabytes it never uses, and
//! building each backtrace costs time. A debugging switch, not a production one.

use crate::finding::{Finding, Place};
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::wp_model::{truthy, value_text};

crate::declare_rule!(
    "D506",
    "savequeries-on",
    Warning,
    Safe,
    "SAVEQUERIES true in a production wp-config.php",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for wp in &stack.wp {
        let Some(c) = wp.constants.get("SAVEQUERIES") else {
            continue;
        };
        if truthy(&c.value.value) != Some(true) {
            continue;
        }
        let Some(env) = super::d501_wp_debug_on::environment(wp) else {
            continue;
        };
        if env != "production" {
            continue;
        }
        let env_note = if wp.is_defined("WP_ENVIRONMENT_TYPE") {
            "WP_ENVIRONMENT_TYPE is 'production'"
        } else {
            "WP_ENVIRONMENT_TYPE is unset, so WordPress treats the site as production"
        };
        let mut f = Finding::at(
            &RULE,
            c.value.place().unwrap_or(Place::new(wp.file, Default::default())),
            format!(
                "SAVEQUERIES is {} on a production site ({env_note}): wpdb keeps every query of each request with its time and backtrace in memory until the request ends — megabytes per page on WooCommerce or page-builder sites, closer to memory_limit (`Allowed memory size … exhausted`) and slower{}",
                value_text(&c.value.value),
                if c.conditional { " — defined conditionally here; check which branch runs in production" } else { "" }
            ),
        )
        .with_fix(
            edit::wp_define(stack, wp, "SAVEQUERIES", "false")
                .map(|e| Fix::safe("define SAVEQUERIES as false", vec![e])),
        );
        if let Some(e) = wp.constants.get("WP_ENVIRONMENT_TYPE") {
            f = f.related_opt(e.value.place(), "environment type");
        }
        out.push(f);
    }
}
