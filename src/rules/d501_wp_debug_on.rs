//! D501 wp-debug-on: WP_DEBUG true on a production site.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::wp_model::{truthy, value_text};
use crate::syntax::php::PhpValue;

crate::declare_rule!(
    "D501",
    "wp-debug-on",
    Warning,
    Safe,
    "WP_DEBUG true while WP_ENVIRONMENT_TYPE is production or unset",
    check
);

/// The site's environment type when it is a literal (`production` when unset).
pub fn environment(wp: &crate::stack::WpConfig) -> Option<String> {
    match wp.get("WP_ENVIRONMENT_TYPE").map(|c| c.value.value) {
        Some(PhpValue::Str(s)) => Some(s),
        Some(PhpValue::Computed(_)) => None,
        _ => Some("production".into()),
    }
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for wp in &stack.wp {
        let Some(c) = wp.constants.get("WP_DEBUG") else {
            continue;
        };
        if truthy(&c.value.value) != Some(true) {
            continue;
        }
        let Some(env) = environment(wp) else { continue };
        if env != "production" {
            continue;
        }
        let env_note = if wp.is_defined("WP_ENVIRONMENT_TYPE") {
            "WP_ENVIRONMENT_TYPE is 'production'".to_string()
        } else {
            "WP_ENVIRONMENT_TYPE is unset, so WordPress treats the site as production".to_string()
        };
        let mut f = Finding::at(
            &RULE,
            c.value.place().unwrap_or(crate::finding::Place::new(wp.file, Default::default())),
            format!(
                "WP_DEBUG is {} on a production site ({env_note}): every notice and deprecation is raised, debug code paths in plugins switch on, and with WP_DEBUG_DISPLAY's default the messages go into the pages (D502){}",
                value_text(&c.value.value),
                if c.conditional { " — defined conditionally here; check which branch runs in production" } else { "" }
            ),
        )
        .with_fix(edit::wp_define(stack, wp, "WP_DEBUG", "false").map(|e| Fix::safe("define WP_DEBUG as false", vec![e])));
        if let Some(e) = wp.constants.get("WP_ENVIRONMENT_TYPE") {
            f = f.related_opt(e.value.place(), "environment type");
        }
        out.push(f);
    }
}
