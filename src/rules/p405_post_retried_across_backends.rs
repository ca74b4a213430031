//! P405 post-retried-across-backends: `proxy_next_upstream … non_idempotent` (or
//! `fastcgi_next_upstream … non_idempotent`) over an upstream of several PHP backends.
//! nginx never retries a POST/LOCK/PATCH on the next server unless told so: with
//! `non_idempotent`, a checkout that timed out on one backend (still running there)
//! runs again on the next — a duplicate order, a double charge, a form sent twice.
//!
//! Reported when the upstream has two or more usable servers (not `down`), retries are
//! not capped to one try (`*_next_upstream_tries 1`), and the backends run PHP: a
//! `fastcgi_next_upstream`, or a `proxy_pass` whose servers reach PHP server blocks in
//! the tree — or reach nothing in the tree (app servers on other machines: a
//! WordPress stack's load balancer is assumed to front WordPress).

use crate::finding::Finding;
use crate::fix::{Edit, Fix};
use crate::rules::Context;
use crate::stack::{Dir, Location, Nginx, Target};

crate::declare_rule!(
    "P405",
    "post-retried-across-backends",
    Warning,
    Safe,
    "proxy_next_upstream/fastcgi_next_upstream non_idempotent retries POSTs on another PHP backend",
    check
);

/// The usable servers of an upstream target (servers marked `down` are never tried).
fn usable_servers(n: &Nginx, target: &Target) -> Option<(String, usize)> {
    let Target::Upstream { name, servers } = target else {
        return None;
    };
    let u = n.upstreams.iter().find(|u| u.name == *name)?;
    let down: Vec<crate::finding::Place> = n
        .own(u.scope, "server")
        .filter(|d| d.args.iter().any(|a| a == "down"))
        .map(|d| d.arg_place(0))
        .collect();
    Some((
        name.clone(),
        servers.iter().filter(|(_, p)| !down.contains(p)).count(),
    ))
}

/// The fix: drop the `non_idempotent` word (with the blank before it).
fn drop_word(d: &Dir) -> Option<Edit> {
    let i = d.args.iter().position(|a| a == "non_idempotent")?;
    let span = d.arg_spans[i];
    let prev_end = if i > 0 {
        d.arg_spans[i - 1].end
    } else {
        d.name_span.end
    };
    Some(Edit::replace(
        d.place.file,
        crate::source::Span {
            start: prev_end,
            end: span.end,
        },
        String::new(),
    ))
}

fn one(
    cx: &Context,
    (n, site, loc): (&Nginx, &crate::stack::Site, &Location),
    kind: &str,
    target: &Target,
    out: &mut Vec<Finding>,
    seen: &mut foldhash::HashSet<crate::finding::Place>,
) {
    let stack = cx.stack;
    let Some(d) = n.effective(loc.scope, &format!("{kind}_next_upstream")) else {
        return;
    };
    if !d.args.iter().any(|a| a == "non_idempotent") {
        return;
    }
    let tries = n
        .effective(loc.scope, &format!("{kind}_next_upstream_tries"))
        .and_then(|t| t.arg(0))
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0);
    if tries == 1 {
        return;
    }
    let Some((upstream, count)) = usable_servers(n, target) else {
        return;
    };
    if count < 2 {
        return;
    }
    if kind == "proxy" && !loc.backs.is_empty() && stack.back_php_locations(loc).next().is_none() {
        // The servers are in the tree and none of them runs PHP.
        return;
    }
    if !seen.insert(d.place) {
        return;
    }
    let fix = drop_word(d).map(|e| {
        Fix::safe(
            format!("drop non_idempotent from {kind}_next_upstream"),
            vec![e],
        )
    });
    out.push(
        Finding::at(
            &RULE,
            d.place,
            format!(
                "site {}: {kind}_next_upstream {} retries non-idempotent requests (POST, PATCH, LOCK) on the next of the {count} servers of upstream {upstream}: a checkout or form POST that timed out on one PHP backend, still running there, runs again on another — duplicate orders, double charges, forms sent twice",
                site.name(),
                d.value_text(),
            ),
        )
        .with_fix(fix),
    );
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let mut seen = foldhash::HashSet::default();
    for n in &cx.stack.nginx {
        for site in &n.sites {
            for loc in &site.locations {
                if let Some(p) = &loc.proxy {
                    one(cx, (n, site, loc), "proxy", &p.target, out, &mut seen);
                }
                if let Some(t) = &loc.target {
                    one(cx, (n, site, loc), "fastcgi", t, out, &mut seen);
                }
            }
        }
    }
}
