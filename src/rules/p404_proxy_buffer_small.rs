//! P404 proxy-buffer-small: the front hop's `proxy_buffer_size` is smaller than the
//! response headers the PHP hop behind it lets through (its `fastcgi_buffer_size`):
//! the back answers, the front logs `upstream sent too big header` and answers 502.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::syntax::units;

crate::declare_rule!(
    "P404",
    "proxy-buffer-small",
    Warning,
    Safe,
    "a front hop's proxy_buffer_size is smaller than the headers the PHP hop lets through",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let size = |v: &str| units::nginx_size(v.trim()).ok();
    for (n, site, loc) in stack.proxy_locations() {
        let Some(proxy) = &loc.proxy else { continue };
        // The largest header block any PHP location behind lets through.
        let mut back: Option<(u64, crate::stack::Sourced<String>, String)> = None;
        for (bn, bsite, bloc) in stack.back_php_locations(loc) {
            let Some(bs) = bn.effective_value(bloc.scope, "fastcgi_buffer_size") else {
                continue;
            };
            let Some(b) = size(&bs.value) else { continue };
            if back.as_ref().is_none_or(|x| b > x.0) {
                back = Some((b, bs, bsite.name()));
            }
        }
        let Some((back_b, back_bs, back_site)) = back else {
            continue;
        };
        let Some(front) = n.effective_value(loc.scope, "proxy_buffer_size") else {
            continue;
        };
        let Some(front_b) = size(&front.value) else {
            continue;
        };
        if front_b >= back_b {
            continue;
        }
        let want = crate::stack::nginx_model::format_size(back_b);
        let scope = n
            .effective(loc.scope, "proxy_buffer_size")
            .map(|d| d.scope)
            .unwrap_or(loc.scope);
        // nginx refuses proxy_busy_buffers_size (default 2 × max(buffer, one buffer))
        // ≥ all proxy_buffers minus one: give proxy_buffers room when they are small.
        let bufs = n.effective_value(loc.scope, "proxy_buffers");
        let (count, each) = bufs
            .as_ref()
            .and_then(|b| {
                let mut it = b.value.split_whitespace();
                Some((it.next()?.parse::<u64>().ok()?, size(it.next()?)?))
            })
            .unwrap_or((8, 4096));
        let busy_explicit = n.effective(loc.scope, "proxy_busy_buffers_size").is_some();
        let mut edits = Vec::new();
        let mut what = format!("set proxy_buffer_size {want}");
        let needs_bufs = 2 * back_b.max(each) >= count.saturating_sub(1) * each;
        if needs_bufs {
            let bscope = n
                .effective(loc.scope, "proxy_buffers")
                .map(|d| d.scope)
                .unwrap_or(scope);
            let bufs_val = format!("8 {want}");
            if bscope == scope
                && n.own(scope, "proxy_buffers").next().is_none()
                && n.own(scope, "proxy_buffer_size").next().is_none()
            {
                // Both inserted into one block: one edit, two lines.
                if let Some(mut e) = edit::nginx_set(stack, n, scope, "proxy_buffer_size", &want) {
                    let text = String::from_utf8_lossy(&e.replacement).into_owned();
                    let extra = text.replace(
                        &format!("proxy_buffer_size {want}"),
                        &format!("proxy_buffers {bufs_val}"),
                    );
                    e.replacement = format!("{text}{extra}").into_bytes();
                    edits.push(e);
                }
            } else {
                edits.extend(edit::nginx_set(stack, n, scope, "proxy_buffer_size", &want));
                edits.extend(edit::nginx_set(
                    stack,
                    n,
                    bscope,
                    "proxy_buffers",
                    &bufs_val,
                ));
            }
            what = format!("{what} and proxy_buffers {bufs_val}");
        } else {
            edits.extend(edit::nginx_set(stack, n, scope, "proxy_buffer_size", &want));
        }
        let fix = (!busy_explicit && !edits.is_empty()).then(|| Fix::safe(what, edits));
        let primary = front.place().unwrap_or(proxy.dir.place);
        let mut f = Finding::at(
            &RULE,
            primary,
            format!(
                "site {}: proxy_buffer_size {} ({}) of this front hop < fastcgi_buffer_size {} ({}) of the PHP hop behind it (site {back_site}): response headers between the two sizes (WooCommerce and multilingual cookies, long Set-Cookie lists) pass the PHP hop, then the front logs `upstream sent too big header while reading response header from upstream` and answers 502",
                site.name(),
                front.value,
                stack.origin_text(&front.origin),
                back_bs.value,
                stack.origin_text(&back_bs.origin),
            ),
        )
        .related_opt(back_bs.place(), "the PHP hop lets headers this big through")
        .with_fix(fix);
        if front.is_default() {
            f = f.related(
                proxy.dir.place,
                "this proxy_pass inherits nginx's default proxy_buffer_size (one page, 4k)",
            );
        }
        out.push(f);
    }
}
