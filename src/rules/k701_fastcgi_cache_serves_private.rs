//! K701 fastcgi-cache-serves-private: a cached PHP location that does not skip the
//! cache for logged-in users, commenters, POST, query strings and the admin (and, with
//! the WooCommerce profile, cart/checkout/my-account and the cart cookies).

use crate::finding::Finding;
use crate::fix::{edit, Edit, Fix};
use crate::rules::s601_php_executes_uploads::insert_before;
use crate::rules::Context;
use crate::settings::Profile;
use crate::stack::{Location, Nginx, ScopeId, ScopeKind, Site};

crate::declare_rule!(
    "K701",
    "fastcgi-cache-serves-private",
    Error,
    Safe,
    "a cached PHP location without cache bypass for logged-in users, POST, query strings and the admin",
    check
);

/// (what, words any of which in the skip conditions covers it).
const WORDPRESS: &[(&str, &[&str])] = &[
    (
        "the logged-in cookie `wordpress_logged_in_`",
        &[
            "wordpress_logged_in",
            "wordpress_[",
            "wordpress_(",
            "wordpress_.",
            "wordpress_\\w",
        ],
    ),
    (
        "the commenter cookie `comment_author_`",
        &["comment_author"],
    ),
    ("the post-password cookie `wp-postpass_`", &["wp-postpass"]),
    ("POST requests", &["request_method"]),
    ("query strings", &["query_string", "$args", "$is_args"]),
    ("`/wp-admin/`", &["wp-admin"]),
];
const WOOCOMMERCE: &[(&str, &[&str])] = &[
    ("`/cart/`", &["cart"]),
    ("`/checkout/`", &["checkout"]),
    ("`/my-account/`", &["my-account"]),
    (
        "the cookie `woocommerce_items_in_cart`",
        &[
            "woocommerce_items_in_cart",
            "woocommerce_[",
            "woocommerce_.",
        ],
    ),
    (
        "the cookie `wp_woocommerce_session_`",
        &["wp_woocommerce_session", "woocommerce_[", "woocommerce_."],
    ),
];

/// Is this value a "skip" (anything but empty or 0)?
fn truthy(v: &str) -> bool {
    !(v.is_empty() || v == "0" || v == "\"\"" || v == "''")
}

/// The text of every condition that can make the variables of these directives
/// non-empty: the variables' own names (`$cookie_wordpress_logged_in`), the
/// `if (…)` blocks of the server (and http) that `set` them, the `map`s that give
/// them (source variable and the keys with a non-zero value).
fn conditions(n: &Nginx, index: &VarIndex, site: &Site, args: &[String]) -> String {
    let mut vars: Vec<String> = Vec::new();
    let mut text = String::new();
    for a in args {
        text.push_str(a);
        text.push(' ');
        let mut rest = a.as_str();
        while let Some(i) = rest.find('$') {
            let r = &rest[i + 1..];
            let r = r.strip_prefix('{').unwrap_or(r);
            let end = r
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(r.len());
            vars.push(format!("${}", &r[..end]));
            rest = &r[end..];
        }
    }
    let mut i = 0;
    while i < vars.len() && i < 64 {
        let v = vars[i].clone();
        i += 1;
        for &id in index.get(&v).map(Vec::as_slice).unwrap_or(&[]) {
            let s = n.scope(id);
            let server = n.server_of(id);
            if server.is_some() && server != Some(site.scope) {
                continue;
            }
            if s.kind == ScopeKind::Other("map".into()) && s.args.get(1) == Some(&v) {
                if let Some(src) = s.args.first() {
                    text.push_str(src);
                    text.push(' ');
                }
                for d in &s.directives {
                    if d.arg(0).is_some_and(truthy) {
                        text.push_str(&d.name);
                        text.push(' ');
                    }
                }
                continue;
            }
            for d in s.named("set") {
                if d.arg(0) != Some(v.as_str()) || !d.arg(1).is_some_and(truthy) {
                    continue;
                }
                if s.kind == ScopeKind::If {
                    text.push_str(&s.args.join(" "));
                    text.push(' ');
                } else if let Some(val) = d.arg(1) {
                    // `set $skip $cookie_x` chains to another variable.
                    if val.starts_with('$') && !vars.contains(&val.to_string()) {
                        vars.push(val.to_string());
                    }
                    text.push_str(val);
                    text.push(' ');
                }
            }
        }
    }
    text.to_ascii_lowercase()
}

/// `$var` → the scopes that give it a value (`map … $var`, `set $var …`), built once
/// per nginx so each cached location does not walk every scope of the host.
type VarIndex = foldhash::HashMap<String, Vec<ScopeId>>;

fn var_index(n: &Nginx) -> VarIndex {
    let mut index = VarIndex::default();
    for (id, s) in n.scopes.iter().enumerate() {
        if s.kind == ScopeKind::Other("map".into()) {
            if let Some(dst) = s.args.get(1) {
                index.entry(dst.clone()).or_default().push(id);
            }
            continue;
        }
        for d in s.named("set") {
            if let Some(v) = d.arg(0) {
                let e = index.entry(v.to_string()).or_default();
                if e.last() != Some(&id) {
                    e.push(id);
                }
            }
        }
    }
    index
}

/// The scope whose `fastcgi_no_cache` (or bypass) the location uses, or the location.
fn owner(n: &Nginx, loc: &Location, name: &str) -> ScopeId {
    n.effective_all(loc.scope, name)
        .first()
        .map(|d| d.scope)
        .unwrap_or(loc.scope)
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let woo = cx.settings.profile == Profile::Woocommerce;
    for n in &stack.nginx {
        let mut index: Option<VarIndex> = None;
        for site in &n.sites {
            for loc in &site.locations {
                if loc.fastcgi_pass.is_none() || !loc.runs_wordpress() {
                    continue;
                }
                let Some(zone) = n.effective(loc.scope, "fastcgi_cache") else {
                    continue;
                };
                let zone_name = zone.value_text();
                if zone_name == "off" {
                    continue;
                }
                // Without fastcgi_cache_valid nginx stores only what PHP marks cacheable
                // (WordPress sends no Cache-Control): nothing is cached.
                let ignore = n
                    .effective_all(loc.scope, "fastcgi_ignore_headers")
                    .into_iter()
                    .flat_map(|d| d.args.iter().cloned())
                    .collect::<Vec<_>>();
                if n.effective(loc.scope, "fastcgi_cache_valid").is_none()
                    && !ignore.iter().any(|h| {
                        h.eq_ignore_ascii_case("Cache-Control") || h.eq_ignore_ascii_case("Expires")
                    })
                {
                    continue;
                }
                let args = |name: &str| -> Vec<String> {
                    n.effective_all(loc.scope, name)
                        .into_iter()
                        .flat_map(|d| d.args.iter().map(|a| a.to_string()))
                        .collect()
                };
                let index = index.get_or_insert_with(|| var_index(n));
                let no_cache = conditions(n, index, site, &args("fastcgi_no_cache"));
                let bypass = conditions(n, index, site, &args("fastcgi_cache_bypass"));
                let wanted: Vec<&(&str, &[&str])> = WORDPRESS
                    .iter()
                    .chain(if woo { WOOCOMMERCE } else { &[] })
                    .collect();
                let covered = |text: &str, words: &[&str]| words.iter().any(|w| text.contains(w));
                let lacking: Vec<&str> = wanted
                    .iter()
                    .filter(|(_, words)| !covered(&no_cache, words) || !covered(&bypass, words))
                    .map(|(what, _)| *what)
                    .collect();
                if lacking.is_empty() {
                    continue;
                }
                let ignores_cookie = ignore.iter().any(|h| h.eq_ignore_ascii_case("Set-Cookie"));
                let cookie_note = if ignores_cookie {
                    " — and `fastcgi_ignore_headers Set-Cookie` stores even the responses that log a user in"
                } else {
                    ""
                };
                let mut f = Finding::at(
                    &RULE,
                    loc.place,
                    format!(
                        "site {}: `location {} {}` caches PHP responses (zone {zone_name}) without skipping the cache (fastcgi_no_cache and fastcgi_cache_bypass) for {}: one user's logged-in page, draft or cart is stored and served to the next visitor{cookie_note}",
                        site.name(),
                        loc.modifier,
                        loc.pattern,
                        lacking.join(", ")
                    ),
                )
                .related(zone.place, "cache enabled here");
                f = f.with_fix(fix(stack, n, site, loc, woo));
                out.push(f);
            }
        }
    }
}

/// Server-level `set`/`if` computing `$wpstack_skip_cache` (before the location), and
/// `fastcgi_cache_bypass`/`fastcgi_no_cache` with it where the location's own live.
fn fix(
    stack: &crate::stack::Stack,
    n: &Nginx,
    site: &Site,
    loc: &Location,
    woo: bool,
) -> Option<Fix> {
    // The server-level location holding this one.
    let mut top = loc;
    while let Some(p) = n.scope(top.scope).parent.filter(|p| *p != site.scope) {
        top = site.locations.iter().find(|l| l.scope == p)?;
    }
    let mut cookies =
        "wordpress_logged_in_|wordpress_[a-f0-9]+|comment_author|wp-postpass_|wordpress_no_cache"
            .to_string();
    let mut uris = "/wp-admin/|/xmlrpc\\.php|/wp-(?:login|cron|signup|trackback)\\.php|/feed/|sitemap(?:_index)?\\.xml".to_string();
    if woo {
        cookies.push_str("|woocommerce_items_in_cart|wp_woocommerce_session_");
        uris.push_str("|/cart/|/checkout/|/my-account/|/addons/");
    }
    let lines = vec![
        "# Never store or serve from the cache: logged-in users, commenters, POST, query strings, the admin.".to_string(),
        "set $wpstack_skip_cache 0;".to_string(),
        "if ($request_method = POST) { set $wpstack_skip_cache 1; }".to_string(),
        "if ($query_string != \"\") { set $wpstack_skip_cache 1; }".to_string(),
        format!("if ($request_uri ~* \"{uris}\") {{ set $wpstack_skip_cache 1; }}"),
        format!("if ($http_cookie ~* \"{cookies}\") {{ set $wpstack_skip_cache 1; }}"),
    ];
    // Above the comment lines that belong to the location, not between them and it.
    let src = stack.sources.get(top.place.file);
    let mut line = src.line_of(top.place.span.start);
    while line > 1
        && src
            .line_bytes(line - 1)
            .trim_ascii_start()
            .starts_with(b"#")
    {
        line -= 1;
    }
    let mut at = top.place;
    if line != src.line_of(top.place.span.start) {
        let start = src.line_start(line);
        let indent = src.line_bytes(line).len() - src.line_bytes(line).trim_ascii_start().len();
        at.span = crate::source::Span {
            start: start + indent,
            end: start + indent,
        };
    }
    let mut edits = vec![insert_before(stack, at, &lines)];
    for name in ["fastcgi_cache_bypass", "fastcgi_no_cache"] {
        let scope = owner(n, loc, name);
        edits.push(append(
            stack,
            n,
            scope,
            &format!("{name} $wpstack_skip_cache;"),
        )?);
    }
    Some(Fix::safe(
        "skip the cache for logged-in users, commenters, POST, query strings and the admin",
        edits,
    ))
}

/// Insert a directive line before a block's closing brace (several of these directives
/// add up, so an existing one keeps its conditions).
fn append(stack: &crate::stack::Stack, n: &Nginx, scope: ScopeId, line: &str) -> Option<Edit> {
    let block = n.scope(scope).block?;
    let close = block.close?;
    let src = stack.sources.get(block.file);
    let nl = edit::eol(src);
    let inner = n
        .scope(scope)
        .directives
        .iter()
        .find(|d| d.place.file == block.file)
        .map(|d| edit::indent_at(src, d.place.span.start))
        .unwrap_or_else(|| edit::indent_at(src, block.directive.start) + &edit::indent_unit(src));
    let line_start = src.line_start(src.line_of(close.start));
    let alone = src.bytes[line_start..close.start]
        .iter()
        .all(|b| *b == b' ' || *b == b'\t');
    Some(if alone {
        Edit::insert(block.file, line_start, format!("{inner}{line}{nl}"))
    } else {
        Edit::insert(block.file, close.start, format!("{line} "))
    })
}
