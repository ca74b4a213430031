//! K702 fastcgi-cache-key-incomplete: the cache key lacks the scheme, host or request
//! URI, so pages of one site, scheme or query are served for another.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::{Nginx, Site};

crate::declare_rule!(
    "K702",
    "fastcgi-cache-key-incomplete",
    Warning,
    Safe,
    "fastcgi_cache_key without $scheme, $host or $request_uri",
    check
);

/// Does a site answer over TLS and plain HTTP in the same server block?
fn both_schemes(n: &Nginx, site: &Site) -> bool {
    let ssl_on = n.own(site.scope, "ssl").any(|d| d.arg(0) == Some("on"));
    if ssl_on {
        return false; // every listen is TLS
    }
    let tls: Vec<bool> = n
        .own(site.scope, "listen")
        .map(|d| d.args.iter().any(|w| w == "ssl" || w == "quic"))
        .collect();
    // No listen: nginx's default `*:80`, plain only.
    tls.iter().any(|t| *t) && tls.iter().any(|t| !*t)
}

/// The standard key, with the variables of the old one that it lacks appended
/// (a key that also varies on `$cookie_lang` keeps doing so).
fn standard_key(old: &str) -> String {
    let mut key = "$scheme$request_method$host$request_uri".to_string();
    let known = [
        "$scheme",
        "$request_method",
        "$host",
        "$http_host",
        "$server_name",
        "$request_uri",
        "$uri",
        "$args",
        "$is_args",
        "$query_string",
    ];
    let re = regex_lite_vars(old);
    for v in re {
        if !known.contains(&v.as_str()) && !key.contains(&v) {
            key.push_str(&v);
        }
    }
    key
}

/// `$name` and `${name}` variables of a string, in order, as `$name`.
fn regex_lite_vars(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let (start, braced) = if b.get(i + 1) == Some(&b'{') {
                (i + 2, true)
            } else {
                (i + 1, false)
            };
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                out.push(format!("${}", &s[start..j]));
            }
            i = if braced { j + 1 } else { j };
        } else {
            i += 1;
        }
    }
    out
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for (ni, n) in stack.nginx.iter().enumerate() {
        // Key directive → (sites using it, zones).
        let mut seen: Vec<(usize, usize)> = Vec::new();
        // Which sites use each cache zone (a key without the host mixes their pages).
        let mut zone_sites: foldhash::HashMap<String, foldhash::HashSet<usize>> =
            Default::default();
        for (si, site) in n.sites.iter().enumerate() {
            for loc in &site.locations {
                if let Some(z) = n
                    .effective(loc.scope, "fastcgi_cache")
                    .and_then(|d| d.arg(0))
                {
                    if z != "off" {
                        zone_sites.entry(z.to_string()).or_default().insert(si);
                    }
                }
            }
        }
        for (si, site) in n.sites.iter().enumerate() {
            for loc in &site.locations {
                if loc.fastcgi_pass.is_none() {
                    continue;
                }
                let Some(zone) = n
                    .effective(loc.scope, "fastcgi_cache")
                    .and_then(|d| d.arg(0))
                else {
                    continue;
                };
                if zone == "off" {
                    continue;
                }
                // No key at all is a configuration error nginx -t reports.
                let Some(key) = n.effective(loc.scope, "fastcgi_cache_key") else {
                    continue;
                };
                let text = key.value_text();
                let vars = regex_lite_vars(&text);
                let has = |v: &str| vars.iter().any(|x| x == v);
                let mut missing = Vec::new();
                if !(has("$request_uri") || has("$uri") && (has("$args") || has("$query_string"))) {
                    missing.push("`$request_uri`: every query string (`?p=12`, `?s=term`, `?preview=true`) gets the page cached for the first one");
                }
                let shared = zone_sites.get(zone).is_some_and(|s| s.len() > 1);
                let many_names = site.server_names.len() > 1
                    || site
                        .server_names
                        .iter()
                        .any(|s| s.contains('*') || s.starts_with('~') || s == "_" || s.is_empty());
                if !(has("$host") || has("$http_host") || has("$server_name") && !many_names)
                    && (shared || many_names)
                {
                    missing.push(if shared {
                        "the host (`$host`): the zone serves several sites, so one site's page is served for another's at the same path"
                    } else {
                        "the host (`$host`): this server answers for several names, so a page cached for one is served for the others"
                    });
                }
                if !(has("$scheme") || has("$https")) && both_schemes(n, site) {
                    missing.push("`$scheme`: this server answers over http and https, so a page cached over http (with http:// links or a redirect) is served over https");
                }
                if missing.is_empty() {
                    continue;
                }
                let key_at = (key.place.file, key.place.span.start);
                if seen.contains(&key_at) {
                    continue;
                }
                seen.push(key_at);
                let _ = (ni, si);
                let new = standard_key(&text);
                let fix = match (key.arg_spans.first(), key.arg_spans.last()) {
                    (Some(a), Some(b)) => Some(Fix::safe(
                        format!("fastcgi_cache_key \"{new}\""),
                        vec![crate::fix::Edit::replace(
                            key.place.file,
                            a.cover(*b),
                            format!("\"{new}\""),
                        )],
                    )),
                    _ => None,
                };
                let _ = edit::eol;
                out.push(
                    Finding::at(
                        &RULE,
                        key.place,
                        format!(
                            "site {}: `fastcgi_cache_key {text}` (cache zone {zone}) lacks {}",
                            site.name(),
                            missing.join("; and ")
                        ),
                    )
                    .related(loc.place, "cached here")
                    .with_fix(fix),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vars_and_standard_key() {
        assert_eq!(
            super::regex_lite_vars("$scheme${host}x$request_uri"),
            ["$scheme", "$host", "$request_uri"]
        );
        assert_eq!(
            super::standard_key("$host$uri$cookie_lang"),
            "$scheme$request_method$host$request_uri$cookie_lang"
        );
    }
}
