//! D503 debug-log-public: WordPress writes its debug log where the web server serves it.

use crate::finding::{Finding, Place};
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::nginx_match;
use crate::stack::wp_model::truthy;
use crate::syntax::php::PhpValue;

crate::declare_rule!(
    "D503",
    "debug-log-public",
    Error,
    Safe,
    "WP_DEBUG_LOG writes under the site root and no nginx rule denies it: the log is downloadable",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for wp in &stack.wp {
        if wp
            .get("WP_DEBUG")
            .is_none_or(|c| truthy(&c.value.value) != Some(true))
        {
            continue;
        }
        let Some(log) = wp.constants.get("WP_DEBUG_LOG") else {
            continue;
        };
        for (ni, si) in &wp.sites {
            let (Some(n), Some(site)) = (
                stack.nginx.get(*ni),
                stack.nginx.get(*ni).and_then(|n| n.sites.get(*si)),
            ) else {
                continue;
            };
            let root = site
                .root
                .as_ref()
                .map(|r| r.value.trim_end_matches('/').to_string())
                .unwrap_or_default();
            let uri = match &log.value.value {
                PhpValue::Str(path) if path.starts_with('/') => match path.strip_prefix(&root) {
                    Some(rest) if !root.is_empty() && rest.starts_with('/') => rest.to_string(),
                    _ => continue, // outside the root: not served
                },
                v if truthy(v) == Some(true) => "/wp-content/debug.log".to_string(),
                _ => continue,
            };
            let handler = nginx_match::location_for(n, site, &uri);
            if handler.is_some_and(|l| nginx_match::denies(n, l)) {
                continue;
            }
            let target = log_path(stack, wp);
            let fix = edit::wp_define(stack, wp, "WP_DEBUG_LOG", &format!("'{target}'"))
                .map(|e| {
                    Fix::safe(
                        format!("log to {target}, outside the web root (create the directory, writable by the pool's user)"),
                        vec![e],
                    )
                });
            out.push(
                Finding::at(
                    &RULE,
                    log.value.place().unwrap_or(Place::new(wp.file, Default::default())),
                    format!(
                        "WP_DEBUG_LOG writes to {uri} under the root of site {} and no location denies it ({}): anyone can download https://{}{uri} — paths, SQL, user e-mails and tokens from every warning",
                        site.name(),
                        match handler {
                            Some(l) => format!("it is served by `location {} {}`", l.modifier, l.pattern).replace("  ", " "),
                            None => "no location matches, so it is served as a static file".to_string(),
                        },
                        site.name()
                    ),
                )
                .related(site.place, format!("site {}", site.name()))
                .with_fix(fix),
            );
        }
    }
}

/// Where the fix sends a site's debug log: its own directory under
/// `/var/log/wordpress/` (named after the first site that serves this wp-config), so
/// sites on one host never share — or read — one log, and each directory can belong to
/// its pool's user.
fn log_path(stack: &crate::stack::Stack, wp: &crate::stack::WpConfig) -> String {
    let site = wp
        .sites
        .iter()
        .find_map(|(ni, si)| stack.nginx.get(*ni)?.sites.get(*si))
        .map(|s| s.name())
        .unwrap_or_default();
    let mut name: String = site
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.trim_matches(['.', '_']).is_empty() {
        // No usable server_name: the directory that holds wp-config.php.
        name = stack
            .sources
            .get(wp.file)
            .path
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| {
                n.to_string_lossy().replace(
                    |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
                    "_",
                )
            })
            .filter(|n| !n.trim_matches(['.', '_']).is_empty())
            .unwrap_or_else(|| "site".into());
    }
    format!("/var/log/wordpress/{name}/debug.log")
}
