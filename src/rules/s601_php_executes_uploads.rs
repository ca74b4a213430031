//! S601 php-executes-uploads: a .php file under wp-content/uploads would run.

use crate::finding::Finding;
use crate::fix::{edit, Edit, Fix};
use crate::rules::Context;
use crate::stack::nginx_match;
use crate::stack::{Nginx, Site};

crate::declare_rule!(
    "S601",
    "php-executes-uploads",
    Error,
    Safe,
    "a request for a .php file under wp-content/uploads would be passed to PHP",
    check
);

/// Is this site a WordPress site? (a wp-config.php is linked to it — `linked` holds
/// the (nginx, site) pairs that have one — or its config names WordPress paths).
fn is_wordpress(
    linked: &std::collections::HashSet<(usize, usize)>,
    ni: usize,
    si: usize,
    n: &Nginx,
    site: &Site,
) -> bool {
    linked.contains(&(ni, si))
        || site.locations.iter().any(|l| {
            l.pattern.contains("wp-")
                || n.scope(l.scope).directives.iter().any(|d| {
                    d.args
                        .iter()
                        .any(|a| a.contains("wp-") || a.contains("/index.php?$args"))
                })
        })
}

const PROBE: &str = "/wp-content/uploads/2026/11/shell.php";

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let linked: std::collections::HashSet<(usize, usize)> = stack
        .wp
        .iter()
        .flat_map(|w| w.sites.iter().copied())
        .collect();
    for (ni, n) in stack.nginx.iter().enumerate() {
        for (si, site) in n.sites.iter().enumerate() {
            if !is_wordpress(&linked, ni, si, n, site) {
                continue;
            }
            let Some(loc) = nginx_match::location_for(n, site, PROBE) else {
                continue;
            };
            if loc.fastcgi_pass.is_none() || nginx_match::denies(n, loc) {
                continue;
            }
            let src = stack.sources.get(loc.place.file);
            let indent = edit::indent_at(src, loc.place.span.start);
            let unit = edit::indent_unit(src);
            let nl = edit::eol(src);
            let line_start = src.line_start(src.line_of(loc.place.span.start));
            let block = format!(
                "{indent}# Never run PHP that was uploaded.{nl}{indent}location ~* /(?:uploads|files)/.*\\.php$ {{{nl}{indent}{unit}deny all;{nl}{indent}}}{nl}{nl}"
            );
            out.push(
                Finding::at(
                    &RULE,
                    loc.place,
                    format!(
                        "site {}: a request for {PROBE} is handled by `location {} {}`, which passes it to PHP: a plugin upload flaw or a stolen editor account turns into remote code execution",
                        site.name(),
                        loc.modifier,
                        loc.pattern
                    ),
                )
                .related(site.place, format!("site {}", site.name()))
                .with_fix(Some(Fix::safe(
                    "deny .php under uploads before the PHP location",
                    vec![Edit::insert(loc.place.file, line_start, block)],
                ))),
            );
        }
    }
}
