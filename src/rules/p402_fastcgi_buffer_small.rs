//! P402 fastcgi-buffer-small: response headers bigger than fastcgi_buffer_size are a 502.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::syntax::units;

crate::declare_rule!(
    "P402",
    "fastcgi-buffer-small",
    Warning,
    Safe,
    "effective fastcgi_buffer_size below 16k at a PHP location",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let min = cx.settings.thresholds.fastcgi_buffer_min;
    let mut seen = foldhash::HashSet::default();
    for (n, site, loc) in stack.wp_php_locations() {
        let Some(bs) = n.effective_value(loc.scope, "fastcgi_buffer_size") else {
            continue;
        };
        let Ok(size) = units::nginx_size(bs.value.trim()) else {
            continue;
        };
        if size >= min {
            continue;
        }
        // One finding per directive (or per location when it is nginx's default).
        let key = bs.place().unwrap_or(loc.place);
        if !seen.insert(key) {
            continue;
        }
        let scope = n
            .effective(loc.scope, "fastcgi_buffer_size")
            .map(|d| d.scope)
            .unwrap_or(loc.scope);
        let mut edits = Vec::new();
        edits.extend(edit::nginx_set(
            stack,
            n,
            scope,
            "fastcgi_buffer_size",
            "32k",
        ));
        let bufs_small = n
            .effective_value(loc.scope, "fastcgi_buffers")
            .and_then(|b| {
                let mut it = b.value.split_whitespace();
                let count: u64 = it.next()?.parse().ok()?;
                let each = units::nginx_size(it.next()?).ok()?;
                Some(count * each < 256 * 1024 || each < 16 * 1024)
            })
            .unwrap_or(true);
        if bufs_small {
            let bscope = n
                .effective(loc.scope, "fastcgi_buffers")
                .map(|d| d.scope)
                .unwrap_or(scope);
            if bscope == scope && n.own(scope, "fastcgi_buffers").next().is_none() {
                // Both would be inserted into the same block: one edit, two lines.
                if let Some(e) = edits.pop() {
                    let mut e2 = e.clone();
                    if e.range.is_empty() {
                        let text = String::from_utf8_lossy(&e.replacement).into_owned();
                        let extra =
                            text.replace("fastcgi_buffer_size 32k", "fastcgi_buffers 16 16k");
                        e2.replacement = format!("{text}{extra}").into_bytes();
                        edits.push(e2);
                    } else {
                        edits.push(e);
                        edits.extend(edit::nginx_set(
                            stack,
                            n,
                            bscope,
                            "fastcgi_buffers",
                            "16 16k",
                        ));
                    }
                }
            } else {
                edits.extend(edit::nginx_set(
                    stack,
                    n,
                    bscope,
                    "fastcgi_buffers",
                    "16 16k",
                ));
            }
        }
        out.push(
            Finding::at(
                &RULE,
                key,
                format!(
                    "site {}: fastcgi_buffer_size {} ({}) is below {}: a response whose headers do not fit — WooCommerce and multilingual cookies, page builders' Link headers, long Set-Cookie lists — makes nginx log `upstream sent too big header while reading response header from upstream` and answer 502",
                    site.name(),
                    bs.value,
                    stack.origin_text(&bs.origin),
                    crate::format::human_bytes(min),
                ),
            )
            .with_fix(Some(Fix::safe("set fastcgi_buffer_size 32k and fastcgi_buffers 16 16k", edits)).filter(|f| !f.edits.is_empty())),
        );
    }
}
