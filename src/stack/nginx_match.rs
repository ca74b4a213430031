//! Which location nginx picks for a URI (ngx_http_core_find_location): an exact `=`
//! match; else the longest matching prefix — final if it is `^~`; else the first
//! matching regex (nested ones inside the chosen prefix first, then the server's, in
//! order); else that prefix. PCRE patterns are matched with fancy-regex (look-arounds
//! included); a pattern it cannot compile never matches.

use super::nginx_model::{Location, Nginx, ScopeId, ScopeKind, Site};

thread_local! {
    /// Compiled location regexes: a host repeats the same few patterns thousands of times.
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, Option<fancy_regex::Regex>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn regex_matches(pattern: &str, case_insensitive: bool, uri: &str) -> bool {
    let p = if case_insensitive {
        format!("(?i){pattern}")
    } else {
        pattern.to_string()
    };
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let re = c
            .entry(p)
            .or_insert_with_key(|p| fancy_regex::Regex::new(p).ok());
        re.as_ref()
            .and_then(|r| r.is_match(uri).ok())
            .unwrap_or(false)
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
