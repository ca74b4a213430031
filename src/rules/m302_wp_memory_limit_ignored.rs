//! M302 wp-memory-limit-ignored: wp-config.php asks for more memory than the pool's
//! locked memory_limit allows; WordPress's ini_set() silently fails.

use crate::finding::Finding;
use crate::rules::{util, Context};
use crate::stack::wp_model::value_text;
use crate::syntax::php::PhpValue;
use crate::syntax::units;

crate::declare_rule!(
    "M302",
    "wp-memory-limit-ignored",
    Warning,
    No,
    "WP_MEMORY_LIMIT / WP_MAX_MEMORY_LIMIT above a memory_limit locked by php_admin_value",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for wp in &stack.wp {
        for pid in util::wp_pools(stack, wp) {
            let pool = &stack.pools[pid];
            let Some(ml) = pool.php("memory_limit") else {
                continue;
            };
            if !ml.via.locked() {
                continue;
            }
            let limit = util::ini_bytes(&ml);
            if limit < 0 {
                continue;
            }
            for name in ["WP_MEMORY_LIMIT", "WP_MAX_MEMORY_LIMIT"] {
                let Some(c) = wp.constants.get(name) else {
                    continue;
                };
                let PhpValue::Str(s) = &c.value.value else {
                    continue;
                };
                let want = units::ini_quantity(s).value;
                if want <= limit {
                    continue;
                }
                out.push(
                    Finding::at(
                        &RULE,
                        c.value.place().unwrap_or(pool.place),
                        format!(
                            "{name} {} asks for more than memory_limit {} of pool {}, which is set with php_admin_value ({}): WordPress's ini_set('memory_limit', …) fails silently and requests keep {} — the wp-config.php value is ignored",
                            value_text(&c.value.value),
                            ml.text(),
                            pool.name,
                            util::php_origin(stack, pool, &ml),
                            ml.text()
                        ),
                    )
                    .related_opt(ml.value.place(), "memory_limit is locked here (php_admin_value)"),
                );
            }
        }
    }
}
