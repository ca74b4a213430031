//! Which location nginx picks for a URI (ngx_http_core_find_location): an exact `=`
//! match; else the longest matching prefix — final if it is `^~`; else the first
//! matching regex (nested ones inside the chosen prefix first, then the server's, in
//! order); else that prefix. PCRE patterns are matched with fancy-regex (look-arounds
//! included); a pattern it cannot compile never matches.

use super::nginx_model::{Location, Nginx, Role, ScopeId, ScopeKind, Site};

/// A pattern compiled as written (`~`) and case-insensitively (`~*`), each on first use,
/// with the answers it gave: the rules ask about the same few URIs (`/.git/config`,
/// `/wp-content/uploads/x.php`…) for each of thousands of sites that repeat the same
/// few patterns, and a look-around pattern (`/\.(?!well-known/)`) runs fancy-regex's
/// backtracking VM, not a DFA.
#[derive(Default)]
struct Compiled {
    regex: Option<Option<fancy_regex::Regex>>,
    answers: foldhash::HashMap<Box<str>, bool>,
}

/// Answers kept per pattern: the URIs the rules ask about are a fixed few, so this
/// bounds only what a host with unusual patterns could grow.
const MAX_ANSWERS: usize = 1024;

thread_local! {
    /// Compiled location regexes by pattern (as written, as `~*`). Looked up by the
    /// pattern as borrowed (no key built per match).
    static CACHE: std::cell::RefCell<foldhash::HashMap<String, [Compiled; 2]>> =
        std::cell::RefCell::new(foldhash::HashMap::default());
}

fn regex_matches(pattern: &str, case_insensitive: bool, uri: &str) -> bool {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if !c.contains_key(pattern) {
            c.insert(pattern.to_string(), Default::default());
        }
        let Some(slot) = c.get_mut(pattern) else {
            return false;
        };
        let slot = &mut slot[usize::from(case_insensitive)];
        if let Some(&answer) = slot.answers.get(uri) {
            return answer;
        }
        let re = slot.regex.get_or_insert_with(|| {
            let p = if case_insensitive {
                format!("(?i){pattern}")
            } else {
                pattern.to_string()
            };
            fancy_regex::Regex::new(&p).ok()
        });
        let answer = re
            .as_ref()
            .and_then(|r| r.is_match(uri).ok())
            .unwrap_or(false);
        if slot.answers.len() < MAX_ANSWERS {
            slot.answers.insert(uri.into(), answer);
        }
        answer
    })
}

/// The locations directly inside a scope, in order.
fn children<'a>(n: &'a Nginx, site: &'a Site, scope: ScopeId) -> Vec<&'a Location> {
    n.scope(scope)
        .children
        .iter()
        .filter(|c| n.scope(**c).kind == ScopeKind::Location)
        .filter_map(|c| site.locations.iter().find(|l| l.scope == *c))
        .collect()
}

fn find<'a>(
    n: &'a Nginx,
    site: &'a Site,
    scope: ScopeId,
    uri: &str,
    depth: usize,
) -> Option<&'a Location> {
    let locs = children(n, site, scope);
    let mut best: Option<&Location> = None;
    for l in &locs {
        if l.pattern.starts_with('@') {
            continue;
        }
        match l.modifier.as_str() {
            "=" if l.pattern == uri => return Some(l),
            "" | "^~"
                if uri.starts_with(&l.pattern)
                    && best.is_none_or(|b| l.pattern.len() > b.pattern.len()) =>
            {
                best = Some(l);
            }
            _ => {}
        }
    }
    if let Some(b) = best {
        if b.modifier == "^~" {
            return Some(b);
        }
        if depth < 8 {
            if let Some(inner) = find(n, site, b.scope, uri, depth + 1) {
                if inner.is_regex() || inner.pattern.len() > b.pattern.len() {
                    return Some(inner);
                }
            }
        }
    }
    for l in &locs {
        if l.is_regex() && regex_matches(&l.pattern, l.modifier == "~*", uri) {
            return Some(l);
        }
    }
    best
}

/// The location of `site` that handles `uri`, if any.
pub fn location_for<'a>(n: &'a Nginx, site: &'a Site, uri: &str) -> Option<&'a Location> {
    find(n, site, site.scope, uri, 0)
}

/// Does this location refuse requests (`deny all`, `return 403/404/444`, `internal`)?
pub fn denies(n: &Nginx, loc: &Location) -> bool {
    let s = loc.scope;
    let denied = n
        .effective_all(s, "deny")
        .iter()
        .any(|d| d.arg(0) == Some("all"))
        && n.effective_all(s, "allow").is_empty();
    let returns = n
        .own(s, "return")
        .any(|d| matches!(d.arg(0), Some("403" | "404" | "444" | "410")));
    let internal = n.own(s, "internal").next().is_some();
    denied || returns || internal
}

/// Does a regex location's pattern match this URI (`~*` case-insensitively)?
pub fn regex_location_matches(loc: &Location, uri: &str) -> bool {
    loc.is_regex() && regex_matches(&loc.pattern, loc.modifier == "~*", uri)
}

/// Last path segments health checks and php-fpm's status/ping pages are served at
/// (`/fpm-status`, `/ping`, `/healthcheck`…), compared lowercased.
const PROBE_NAMES: &[&str] = &[
    "status",
    "fpm-status",
    "fpm_status",
    "fpmstatus",
    "php-status",
    "php_status",
    "phpstatus",
    "php-fpm-status",
    "php-fpm_status",
    "ping",
    "fpm-ping",
    "fpm_ping",
    "php-ping",
    "phpping",
    "php-fpm-ping",
    "health",
    "healthz",
    "healthcheck",
    "health-check",
    "health_check",
    "livez",
    "readyz",
    "liveness",
    "readiness",
];

/// URIs WordPress requests use; a probe location matches none of them.
const WORDPRESS_URIS: &[&str] = &[
    "/",
    "/index.php",
    "/wp-login.php",
    "/wp-cron.php",
    "/xmlrpc.php",
    "/wp-admin/",
    "/wp-admin/admin-ajax.php",
    "/wp-admin/post.php",
    "/hello-world/",
    "/blog/index.php",
    "/x.php",
];

/// Applications panels and dev tools install next to WordPress, recognised in a
/// location's pattern, `alias` or location-level `root`.
const OTHER_APPS: &[(&str, &str)] = &[
    ("phpmyadmin", "phpMyAdmin"),
    ("pma_alias", "phpMyAdmin"),
    ("phppgadmin", "phpPgAdmin"),
    ("pga_alias", "phpPgAdmin"),
    ("adminer", "Adminer"),
    ("xhprof", "xhprof"),
    ("xhgui", "XHGui"),
    ("roundcube", "Roundcube"),
    ("webmail", "webmail"),
    ("rainloop", "RainLoop"),
    ("snappymail", "SnappyMail"),
];

fn probe_name(uri: &str) -> bool {
    let last = uri.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let last = last.to_ascii_lowercase();
    let last = last.strip_suffix(".php").unwrap_or(&last);
    PROBE_NAMES.contains(&last)
}

/// What a PHP location serves. `status_paths` are the reached pools' `pm.status_path`
/// and `ping.path` values, each with its description ("php-fpm status page
/// (pm.status_path of pool www)").
///
/// A probe: an exact or prefix location whose path is one of those pages or ends in a
/// health-check name (`/fpm-status`, `/ping`, `/healthcheck`…), or a regex location
/// that matches one of them and none of WordPress's own URIs. Another application:
/// phpMyAdmin, Adminer, xhprof… named in the location's pattern (or an enclosing
/// location's), its `alias`, or a `root` set inside a location.
pub fn role(n: &Nginx, site: &Site, loc: &Location, status_paths: &[(String, String)]) -> Role {
    let probe_of = |uri: &str| -> Option<String> {
        let uri_t = uri.trim_end_matches('/');
        if let Some((_, what)) = status_paths
            .iter()
            .find(|(p, _)| p.trim_end_matches('/') == uri_t && !uri_t.is_empty())
        {
            return Some(what.clone());
        }
        probe_name(uri).then(|| "health check".to_string())
    };
    if loc.is_regex() {
        // The pools' status paths, then the usual probe names (`/status`…).
        let mut uri = String::new();
        let hit = status_paths
            .iter()
            .find(|(p, _)| regex_location_matches(loc, p))
            .map(|(_, w)| w.as_str())
            .or_else(|| {
                PROBE_NAMES
                    .iter()
                    .any(|name| {
                        uri.clear();
                        uri.push('/');
                        uri.push_str(name);
                        regex_location_matches(loc, &uri)
                    })
                    .then_some("health check")
            });
        if let Some(what) = hit {
            if !WORDPRESS_URIS
                .iter()
                .any(|u| regex_location_matches(loc, u))
            {
                return Role::Probe(what.to_string());
            }
        }
    } else if loc.pattern != "/" && !loc.pattern.starts_with('@') {
        if let Some(what) = probe_of(&loc.pattern) {
            return Role::Probe(what);
        }
    }
    // Another application: the location's own and enclosing patterns, its alias, and
    // a root set at location level.
    let app_in = |t: &str| {
        let t = t.to_ascii_lowercase();
        OTHER_APPS
            .iter()
            .find(|(k, _)| t.contains(k))
            .map(|(_, app)| Role::OtherApp((*app).to_string()))
    };
    let mut cur = Some(loc.scope);
    while let Some(c) = cur {
        let s = n.scope(c);
        if s.kind == ScopeKind::Server {
            break;
        }
        if s.kind == ScopeKind::Location {
            for a in &s.args {
                if let Some(r) = app_in(a) {
                    return r;
                }
            }
            for name in ["alias", "root"] {
                if let Some(r) = s.last_named(name).and_then(|d| app_in(&d.value_text())) {
                    return r;
                }
            }
        }
        cur = s.parent;
    }
    let _ = site;
    Role::WordPress
}

#[cfg(test)]
mod tests {
    #[test]
    fn regex_with_lookahead() {
        assert!(super::regex_matches(
            r"/\.(?!well-known)",
            false,
            "/.git/config"
        ));
        assert!(!super::regex_matches(
            r"/\.(?!well-known)",
            false,
            "/.well-known/x"
        ));
        assert!(super::regex_matches(r"\.PHP$", true, "/x.php"));
    }
}
