//! S607 sensitive-files-exposed: a WordPress site serves dotfiles (`/.git/`, `/.env`,
//! `/.htpasswd`), editor/backup copies of wp-config.php, or directory listings.

use crate::finding::Finding;
use crate::fix::Fix;
use crate::rules::s601_php_executes_uploads::insert_before;
use crate::rules::{util, Context};
use crate::stack::nginx_match;
use crate::stack::{Location, Nginx, Site};

crate::declare_rule!(
    "S607",
    "sensitive-files-exposed",
    Error,
    Safe,
    "a WordPress site serves dotfiles, wp-config.php backups or directory listings",
    check
);

/// Requests an attacker tries first; each would download the file as it is.
const DOTFILES: &[&str] = &["/.git/config", "/.env", "/.htpasswd", "/.wp-config.php.swp"];
const BACKUPS: &[&str] = &[
    "/wp-config.php~",
    "/wp-config.php.bak",
    "/wp-config.php.old",
    "/wp-config.php.save",
    "/wp-config.php.swp",
    "/wp-config.php.orig",
];
/// Must stay reachable (ACME challenges), also after the fix.
pub const WELL_KNOWN: &str = "/.well-known/acme-challenge/token";

/// Would nginx send this file as it is? `location` `None` is the server's own root.
fn serves_file(n: &Nginx, loc: Option<&Location>) -> bool {
    let Some(loc) = loc else { return true };
    if nginx_match::denies(n, loc) {
        return false;
    }
    let s = loc.scope;
    // PHP (php-fpm refuses a .bak by security.limit_extensions or runs it: no download),
    // a proxy, or a redirect: not a static file.
    if loc.fastcgi_pass.is_some()
        || n.effective(s, "proxy_pass").is_some()
        || n.own(s, "proxy_pass").next().is_some()
        || n.own(s, "return").next().is_some()
        || n.own(s, "uwsgi_pass").next().is_some()
    {
        return false;
    }
    // try_files that never tries the URI itself sends everything to the front controller.
    if let Some(tf) = n.own(s, "try_files").last() {
        let tries = &tf.args[..tf.args.len().saturating_sub(1)];
        if !tries
            .iter()
            .any(|a| a.starts_with("$uri") || a.contains("$request_filename"))
        {
            return false;
        }
    }
    true
}

/// The location that would send `uri`, if nginx sends it as a file.
fn exposed<'a>(n: &'a Nginx, site: &'a Site, uri: &str) -> Option<Option<&'a Location>> {
    let loc = nginx_match::location_for(n, site, uri);
    serves_file(n, loc).then_some(loc)
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let linked = util::wp_linked_sites(stack);
    for (ni, n) in stack.nginx.iter().enumerate() {
        for (si, site) in n.sites.iter().enumerate() {
            // A wp-config.php belongs to it: WordPress for certain.
            if !linked.contains(&(ni, si)) {
                continue;
            }
            // A server that only redirects (`return 301 https://…`) serves nothing.
            if n.own(site.scope, "return").next().is_some() {
                continue;
            }
            let dots: Vec<&str> = DOTFILES
                .iter()
                .copied()
                .filter(|u| exposed(n, site, u).is_some())
                .collect();
            let backups: Vec<&str> = BACKUPS
                .iter()
                .copied()
                .filter(|u| exposed(n, site, u).is_some())
                .collect();
            let listing = ["/", "/wp-content/uploads/"].iter().find_map(|u| {
                let d = match nginx_match::location_for(n, site, u) {
                    Some(l) => n.effective(l.scope, "autoindex"),
                    None => n.effective(site.scope, "autoindex"),
                };
                d.filter(|d| d.arg(0) == Some("on")).map(|d| (*u, d))
            });
            if dots.is_empty() && backups.is_empty() && listing.is_none() {
                continue;
            }
            let mut parts = Vec::new();
            if !dots.is_empty() {
                parts.push(format!("dotfiles ({})", dots.join(", ")));
            }
            if !backups.is_empty() {
                parts.push(format!(
                    "editor/backup copies of wp-config.php with the database password ({})",
                    backups.join(", ")
                ));
            }
            if let Some((u, _)) = listing {
                parts.push(format!("a directory listing of {u} (autoindex on)"));
            }
            let place = match listing {
                Some((_, d)) if dots.is_empty() && backups.is_empty() => d.place,
                _ => site.place,
            };
            let mut f = Finding::at(
                &RULE,
                place,
                format!(
                    "site {}: nginx sends {} to anyone who asks: a deployment's `.git` gives the source and its history, `.env` and wp-config backups give the database password",
                    site.name(),
                    parts.join("; ")
                ),
            );
            if let Some((_, d)) = listing {
                if d.place != place {
                    f = f.related(d.place, "autoindex on");
                }
            }
            // Fix: deny locations before the server's first regex location (regex
            // locations match in order) — or its first location; listings stay manual.
            if listing.is_none() {
                let first = site
                    .locations
                    .iter()
                    .filter(|l| n.scope(l.scope).parent == Some(site.scope))
                    .find(|l| l.is_regex())
                    .or_else(|| {
                        site.locations
                            .iter()
                            .find(|l| n.scope(l.scope).parent == Some(site.scope))
                    });
                if let Some(first) = first {
                    let mut lines = Vec::new();
                    if !dots.is_empty() {
                        lines.push("# Dotfiles (.git, .env, .htpasswd) are not for the public; ACME's /.well-known/ is.".to_string());
                        lines.push("location ~ /\\.(?!well-known/) {".to_string());
                        lines.push("\tdeny all;".to_string());
                        lines.push("}".to_string());
                    }
                    if !backups.is_empty() {
                        lines.push("# Editor and backup copies of wp-config.php hold the database password.".to_string());
                        lines.push("location ~* /wp-config\\.php. {".to_string());
                        lines.push("\tdeny all;".to_string());
                        lines.push("}".to_string());
                    }
                    f = f.with_fix(Some(Fix::safe(
                        "deny dotfiles (but /.well-known/) and wp-config.php copies",
                        vec![insert_before(stack, first.place, &lines)],
                    )));
                }
            }
            out.push(f);
        }
    }
}
