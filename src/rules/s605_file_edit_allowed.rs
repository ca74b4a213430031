//! S605 file-edit-allowed: the dashboard's theme/plugin editor is enabled.

use crate::finding::{Finding, Place};
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::wp_model::truthy;

crate::declare_rule!(
    "S605",
    "file-edit-allowed",
    Info,
    Safe,
    "DISALLOW_FILE_EDIT not true: admins can edit PHP from the dashboard",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for wp in &stack.wp {
        let on = |name: &str| {
            wp.constants
                .get(name)
                .is_some_and(|c| truthy(&c.value.value) != Some(false))
        };
        if on("DISALLOW_FILE_EDIT") || on("DISALLOW_FILE_MODS") {
            continue;
        }
        let c = wp.constants.get("DISALLOW_FILE_EDIT");
        out.push(
            Finding::at(
                &RULE,
                c.and_then(|c| c.value.place()).unwrap_or(Place::new(wp.file, Default::default())),
                "DISALLOW_FILE_EDIT is not true: anyone who gets an administrator session (a phished password, a stolen cookie) can write PHP into a theme or plugin from Appearance → Theme File Editor and run it on the server",
            )
            .with_fix(edit::wp_define(stack, wp, "DISALLOW_FILE_EDIT", "true").map(|e| Fix::safe("define DISALLOW_FILE_EDIT as true", vec![e]))),
        );
    }
}
