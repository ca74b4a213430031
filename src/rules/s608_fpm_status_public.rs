//! S608 fpm-status-public: php-fpm's status or ping page is reachable through nginx
//! with no allow/deny or authentication.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::nginx_match;
use crate::stack::{Location, Nginx, Site};

crate::declare_rule!(
    "S608",
    "fpm-status-public",
    Warning,
    Sometimes,
    "php-fpm's pm.status_path or ping.path reachable through nginx with no allow/deny or auth",
    check
);

/// Does every `listen` of the site bind loopback or a unix socket (nothing outside reaches it)?
fn loopback_only(n: &Nginx, site: &Site) -> bool {
    let listens: Vec<String> = n
        .own(site.scope, "listen")
        .filter_map(|d| d.arg(0).map(str::to_string))
        .collect();
    !listens.is_empty()
        && listens.iter().all(|l| {
            l.starts_with("127.")
                || l.starts_with("[::1]")
                || l.starts_with("localhost")
                || l.starts_with("unix:")
        })
}

/// Does the location restrict who may ask: `allow`+`deny`, `auth_basic`, `auth_request`,
/// `satisfy`, or refuse every request?
fn restricted(n: &Nginx, loc: &Location) -> bool {
    let s = loc.scope;
    let deny = !n.effective_all(s, "deny").is_empty();
    let auth_basic = n
        .effective(s, "auth_basic")
        .is_some_and(|d| d.arg(0) != Some("off"));
    let auth_request = n
        .effective(s, "auth_request")
        .is_some_and(|d| d.arg(0) != Some("off"));
    deny || auth_basic || auth_request || nginx_match::denies(n, loc)
}

/// `try_files $uri =404` (or any list that ends in `=404` and tries only the URI): the
/// status page is no file, so nginx answers 404 before php-fpm sees it.
fn files_only(n: &Nginx, loc: &Location) -> bool {
    n.own(loc.scope, "try_files").last().is_some_and(|d| {
        d.args.last().is_some_and(|a| a.starts_with('='))
            && d.args[..d.args.len() - 1]
                .iter()
                .all(|a| a.starts_with("$uri") || a.starts_with("$document_root"))
    })
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    // Per site, the status/ping paths of the pools its locations reach (a host with
    // thousands of sites and pools stays linear): one finding per location —
    // `location ~ ^/(status|ping)$` answers both pages, the status page is named.
    for n in &stack.nginx {
        for site in &n.sites {
            let mut pools: Vec<usize> = site
                .locations
                .iter()
                .flat_map(|l| l.pools.iter().copied())
                .collect();
            pools.sort_unstable();
            pools.dedup();
            let mut seen: foldhash::HashSet<usize> = Default::default();
            for pi in pools {
                let pool = &stack.pools[pi];
                for key in ["pm.status_path", "ping.path"] {
                    let Some(path) = pool.setting(key) else {
                        continue;
                    };
                    let uri = path.value.trim().to_string();
                    if !uri.starts_with('/') || loopback_only(n, site) {
                        continue;
                    }
                    let Some(loc) = nginx_match::location_for(n, site, &uri) else {
                        continue;
                    };
                    if !loc.pools.contains(&pi)
                        || restricted(n, loc)
                        || files_only(n, loc)
                        || !seen.insert(loc.scope)
                    {
                        continue;
                    }
                    let what = if key == "pm.status_path" {
                        "status page (request URIs, client addresses, load)"
                    } else {
                        "ping page"
                    };
                    let allow = [
                        "allow 127.0.0.1;".to_string(),
                        "allow ::1;".to_string(),
                        "deny all;".to_string(),
                    ];
                    let mut f = Finding::at(
                        &RULE,
                        loc.place,
                        format!(
                            "site {}: `{uri}` (pool {}'s {key}, {}) is answered by `location {} {}` for anyone: it publishes php-fpm's {what} — restrict it with allow/deny or auth",
                            site.name(),
                            pool.name,
                            crate::rules::util::pool_origin(stack, &path),
                            loc.modifier,
                            loc.pattern
                        ),
                    )
                    .related_opt(path.place(), format!("{key} of pool {}", pool.name));
                    if let Some(block) = n.scope(loc.scope).block {
                        if let Some(close) = block.close {
                            let src = stack.sources.get(block.file);
                            let nl = edit::eol(src);
                            let inner = n
                                .scope(loc.scope)
                                .directives
                                .iter()
                                .find(|d| d.place.file == block.file)
                                .map(|d| edit::indent_at(src, d.place.span.start))
                                .unwrap_or_else(|| {
                                    edit::indent_at(src, block.directive.start)
                                        + &edit::indent_unit(src)
                                });
                            let line_start = src.line_start(src.line_of(close.start));
                            let alone = src.bytes[line_start..close.start]
                                .iter()
                                .all(|b| *b == b' ' || *b == b'\t');
                            let text: String = if alone {
                                allow.iter().map(|a| format!("{inner}{a}{nl}")).collect()
                            } else {
                                allow.iter().map(|a| format!("{a} ")).collect()
                            };
                            let at = if alone { line_start } else { close.start };
                            f = f.with_fix(Some(Fix::unsafe_(
                                "allow only this machine (a remote monitoring host must be added to the allow list)",
                                vec![crate::fix::Edit::insert(block.file, at, text)],
                            )));
                        }
                    }
                    out.push(f);
                }
            }
        }
    }
}
