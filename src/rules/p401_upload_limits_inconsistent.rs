//! P401 upload-limits-inconsistent: nginx and PHP disagree on how big a request body
//! may be, or PHP disagrees with itself.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};
use crate::stack::ScopeKind;
use crate::syntax::units;

crate::declare_rule!(
    "P401",
    "upload-limits-inconsistent",
    Warning,
    Safe,
    "client_max_body_size < post_max_size, or upload_max_filesize > post_max_size",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let mut seen = Vec::new();
    for (n, site, loc) in stack.wp_php_locations() {
        let Some(cmbs) = n.effective_value(loc.scope, "client_max_body_size") else {
            continue;
        };
        let Ok(body) = units::nginx_size(cmbs.value.trim()) else {
            continue;
        };
        if body == 0 {
            continue; // unlimited
        }
        for &pid in &loc.pools {
            let pool = &stack.pools[pid];
            let Some(pms) = stack.php_at(n, loc, pid, "post_max_size") else {
                continue;
            };
            let post = util::ini_bytes(&pms);
            if post <= 0 || body >= post as u64 || seen.contains(&(site.scope, pid)) {
                continue;
            }
            seen.push((site.scope, pid));
            // Raise it where it is set when that is this site; else in the server block.
            let scope = n
                .effective(loc.scope, "client_max_body_size")
                .map(|d| d.scope)
                .filter(|s| matches!(n.scope(*s).kind, ScopeKind::Location | ScopeKind::Server))
                .unwrap_or(site.scope);
            let want = pms.text().trim().to_ascii_lowercase();
            let fix = edit::nginx_set(stack, n, scope, "client_max_body_size", &want)
                .map(|e| Fix::safe(format!("set client_max_body_size {want}"), vec![e]));
            out.push(
                Finding::at(
                    &RULE,
                    cmbs.place().unwrap_or(loc.place),
                    format!(
                        "site {}: client_max_body_size {} ({}) < post_max_size {} of pool {} ({}): uploads and large saves between the two sizes are refused by nginx with `413 Request Entity Too Large` (`client intended to send too large body`) before PHP sees them",
                        site.name(),
                        cmbs.value,
                        stack.origin_text(&cmbs.origin),
                        pms.text(),
                        pool.name,
                        util::php_origin(stack, pool, &pms)
                    ),
                )
                .related_opt(pms.value.place(), format!("post_max_size {}", pms.text()))
                .with_fix(fix),
            );
        }
    }
    let mut seen_pools = Vec::new();
    for pool in &stack.pools {
        let (Some(up), Some(pms)) = (pool.php("upload_max_filesize"), pool.php("post_max_size"))
        else {
            continue;
        };
        let (u, p) = (util::ini_bytes(&up), util::ini_bytes(&pms));
        if p <= 0 || u <= p {
            continue;
        }
        let key = (up.value.place(), pms.value.place());
        if seen_pools.contains(&key) {
            continue;
        }
        seen_pools.push(key);
        let fix = util::set_php(stack, pool, &pms, "post_max_size", up.text().trim()).map(|e| {
            Fix::safe(
                format!("raise post_max_size to {}", up.text().trim()),
                vec![e],
            )
        });
        out.push(
            Finding::at(
                &RULE,
                up.value.place().or(pms.value.place()).unwrap_or(pool.place),
                format!(
                    "pool {}: upload_max_filesize {} ({}) > post_max_size {} ({}): a file between the two sizes makes PHP drop the whole request body — `$_POST` and `$_FILES` arrive empty (`PHP Warning: POST Content-Length of … bytes exceeds the limit of … bytes`) and WordPress shows a confusing \"link expired\" or silently saves nothing",
                    pool.name,
                    up.text(),
                    util::php_origin(stack, pool, &up),
                    pms.text(),
                    util::php_origin(stack, pool, &pms)
                ),
            )
            .related_opt(pms.value.place(), format!("post_max_size {}", pms.text()))
            .with_fix(fix),
        );
    }
}
