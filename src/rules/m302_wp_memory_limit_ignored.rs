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
        // The memory_limit each of the site's PHP locations runs with: the pool's, or a
        // PHP_ADMIN_VALUE nginx sends there.
        let mut seen = Vec::new();
        let reached = wp
            .sites
            .iter()
            .filter_map(|(ni, si)| {
                let n = stack.nginx.get(*ni)?;
                Some((n, n.sites.get(*si)?))
            })
            .flat_map(|(n, s)| s.locations.iter().map(move |l| (n, l)))
            .flat_map(|(n, l)| l.pools.iter().map(move |p| (n, l, *p)));
        for (n, loc, pid) in reached {
            let pool = &stack.pools[pid];
            let Some(ml) = stack.php_at(n, loc, pid, "memory_limit") else {
                continue;
            };
            if seen.contains(&(pid, ml.value.place())) {
                continue;
            }
            seen.push((pid, ml.value.place()));
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
                            "{name} {} asks for more than memory_limit {} of pool {}, which is locked with {} ({}): WordPress's ini_set('memory_limit', …) fails silently and requests keep {} — the wp-config.php value is ignored",
                            value_text(&c.value.value),
                            ml.text(),
                            pool.name,
                            ml.via.as_str(),
                            util::php_origin(stack, pool, &ml),
                            ml.text()
                        ),
                    )
                    .related_opt(ml.value.place(), format!("memory_limit is locked here ({})", ml.via.as_str())),
                );
            }
        }
    }
}
