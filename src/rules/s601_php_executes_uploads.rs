//! S601 php-executes-uploads: a .php file under wp-content/uploads would run.

use crate::finding::Finding;
use crate::fix::{edit, Edit, Fix};
use crate::rules::{util, Context};
use crate::stack::nginx_match;
use crate::stack::{Location, Nginx, ScopeKind, Site};

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
pub fn is_wordpress(
    linked: &foldhash::HashSet<(usize, usize)>,
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
/// The PATH_INFO form of the same request: `location ~ [^/]\.php(/|$)` takes it, and
/// the usual `location ~* /uploads/.*\.php$` deny does not (the URI ends in `/x`).
const PROBE_PATH_INFO: &str = "/wp-content/uploads/2026/11/shell.php/x";

/// Does a pool's `security.limit_extensions` let php-fpm run a `.php` script? Unset
/// is php-fpm's default `.php .phar`; an empty value allows every extension.
fn pool_runs_php(pool: &crate::stack::Pool) -> bool {
    match pool.setting("security.limit_extensions") {
        None => true,
        Some(s) => {
            let exts: Vec<&str> = s.value.split_whitespace().collect();
            exts.is_empty() || exts.contains(&".php")
        }
    }
}

/// How nginx + php-fpm handle `…/shell.php/x` in `loc`: `Some(why)` when the upload
/// runs, `None` when the request fails or reaches another script.
///
/// - `fastcgi_split_path_info` (when its regex matches) makes `$fastcgi_script_name`
///   `…/shell.php`; without it, it is the whole URI and only php-fpm's
///   `cgi.fix_pathinfo = 1` walks back to `shell.php`.
/// - `SCRIPT_FILENAME` from `$fastcgi_script_name` follows the split; from
///   `$request_filename` (the whole URI) it does not.
/// - `try_files $uri …` and `if (!-f $request_filename)` find no file for the whole
///   URI (404 or another script); `try_files $fastcgi_script_name =404` and
///   `if (!-f $document_root$fastcgi_script_name)` find the upload when split.
/// - php-fpm refuses a script whose extension `security.limit_extensions` lacks.
fn path_info_runs(stack: &crate::stack::Stack, n: &Nginx, loc: &Location) -> Option<String> {
    let split_re = n
        .effective(loc.scope, "fastcgi_split_path_info")
        .and_then(|d| d.arg(0).map(str::to_string));
    let split = split_re.as_deref().is_some_and(|re| {
        fancy_regex::Regex::new(re)
            .ok()
            .and_then(|r| r.captures(PROBE_PATH_INFO).ok().flatten())
            .and_then(|c| c.get(1).map(|m| m.as_str().to_string()))
            .is_some_and(|script| script == PROBE)
    });
    // Does a file exist for this test string (the upload does, the whole URI does not)?
    let exists = |arg: &str| -> bool { split && arg.contains("$fastcgi_script_name") };
    if let Some(tf) = n.own(loc.scope, "try_files").last() {
        let (last, tries) = tf.args.split_last()?;
        if !tries.iter().any(|a| exists(a)) {
            // Falls through to `=404` or an internal redirect to another script.
            let _ = last;
            return None;
        }
    }
    let if_blocks = n.scope(loc.scope).children.iter().any(|c| {
        let s = n.scope(*c);
        s.kind == ScopeKind::If
            && s.args
                .iter()
                .any(|a| a.contains("!-f") || a.contains("!-e"))
            && !s.args.iter().any(|a| exists(a))
            && s.directives
                .iter()
                .any(|d| d.name == "return" || d.name == "rewrite")
    });
    if if_blocks {
        return None;
    }
    let script = n
        .effective_all(loc.scope, "fastcgi_param")
        .into_iter()
        .rev()
        .find(|d| d.arg(0) == Some("SCRIPT_FILENAME"))
        .and_then(|d| d.arg(1).map(str::to_string))?;
    let split_here = split && script.contains("$fastcgi_script_name");
    let pools: Vec<&crate::stack::Pool> = loc.pools.iter().map(|p| &stack.pools[*p]).collect();
    if pools.is_empty() && stack.has_fpm() {
        return None; // unreachable pool: U001's finding
    }
    if !pools.is_empty() && !pools.iter().any(|p| pool_runs_php(p)) {
        return None;
    }
    if split_here {
        return Some(format!(
            "`fastcgi_split_path_info {}` makes the script `{PROBE}`",
            split_re.unwrap_or_default()
        ));
    }
    if pools.is_empty() {
        return Some("cgi.fix_pathinfo is 1 (PHP's default; no php-fpm configuration was checked), so PHP walks back to shell.php".into());
    }
    let walking: Vec<String> = pools
        .iter()
        .filter(|pool| pool_runs_php(pool))
        .filter_map(|pool| match pool.php("cgi.fix_pathinfo") {
            Some(s) => s
                .is_on()
                .then(|| crate::rules::util::php_origin(stack, pool, &s)),
            // No php.ini read for the pool: PHP's default, 1.
            None => Some(format!("pool {}: PHP default", pool.name)),
        })
        .collect();
    (!walking.is_empty()).then(|| {
        format!(
            "cgi.fix_pathinfo is 1 ({}), so PHP walks back to shell.php",
            walking.join("; ")
        )
    })
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let linked = util::wp_linked_sites(stack);
    for (ni, n) in stack.nginx.iter().enumerate() {
        for (si, site) in n.sites.iter().enumerate() {
            if !is_wordpress(&linked, ni, si, n, site) {
                continue;
            }
            // The plain upload, then its PATH_INFO form; one finding per location.
            let plain = nginx_match::location_for(n, site, PROBE)
                .filter(|l| l.fastcgi_pass.is_some() && !nginx_match::denies(n, l));
            let path_info = nginx_match::location_for(n, site, PROBE_PATH_INFO)
                .filter(|l| l.fastcgi_pass.is_some() && !nginx_match::denies(n, l))
                .and_then(|l| path_info_runs(stack, n, l).map(|why| (l, why)));
            let same = matches!((plain, &path_info), (Some(a), Some((b, _))) if a.scope == b.scope);
            if let Some(loc) = plain {
                let also = if same {
                    format!(
                        ", and {PROBE_PATH_INFO} too ({})",
                        path_info.as_ref().map(|(_, w)| w.as_str()).unwrap_or("")
                    )
                } else {
                    String::new()
                };
                out.push(finding(
                    stack,
                    site,
                    loc,
                    format!(
                        "a request for {PROBE} is handled by `location {} {}`, which passes it to PHP{also}",
                        loc.modifier, loc.pattern
                    ),
                    same,
                ));
            }
            if let Some((loc, why)) = path_info.filter(|_| !same) {
                out.push(finding(
                    stack,
                    site,
                    loc,
                    format!(
                        "a request for {PROBE_PATH_INFO} is handled by `location {} {}`, which runs the uploaded shell.php: {why}",
                        loc.modifier, loc.pattern
                    ),
                    true,
                ));
            }
        }
    }
}

/// An edit inserting `lines` (each indented like the location, a blank line after)
/// just before the line of the `location` at `place`.
pub fn insert_before(
    stack: &crate::stack::Stack,
    place: crate::finding::Place,
    lines: &[String],
) -> Edit {
    let src = stack.sources.get(place.file);
    let indent = edit::indent_at(src, place.span.start);
    let unit = edit::indent_unit(src);
    let nl = edit::eol(src);
    let line_start = src.line_start(src.line_of(place.span.start));
    let mut text = String::new();
    for l in lines {
        // A leading tab in `l` stands for one more indent step.
        match l.strip_prefix('\t') {
            Some(rest) => text.push_str(&format!("{indent}{unit}{rest}{nl}")),
            None => text.push_str(&format!("{indent}{l}{nl}")),
        }
    }
    text.push_str(nl);
    Edit::insert(place.file, line_start, text)
}

fn finding(
    stack: &crate::stack::Stack,
    site: &Site,
    loc: &Location,
    what: String,
    path_info: bool,
) -> Finding {
    let src = stack.sources.get(loc.place.file);
    let indent = edit::indent_at(src, loc.place.span.start);
    let unit = edit::indent_unit(src);
    let nl = edit::eol(src);
    let line_start = src.line_start(src.line_of(loc.place.span.start));
    // `(?:/|$)` also denies the PATH_INFO form when the PHP location accepts it.
    let end = if path_info { "(?:/|$)" } else { "$" };
    let block = format!(
        "{indent}# Never run PHP that was uploaded.{nl}{indent}location ~* /(?:uploads|files)/.*\\.php{end} {{{nl}{indent}{unit}deny all;{nl}{indent}}}{nl}{nl}"
    );
    Finding::at(
        &RULE,
        loc.place,
        format!(
            "site {}: {what}: a plugin upload flaw or a stolen editor account turns into remote code execution",
            site.name()
        ),
    )
    .related(site.place, format!("site {}", site.name()))
    .with_fix(Some(Fix::safe(
        "deny .php under uploads before the PHP location",
        vec![Edit::insert(loc.place.file, line_start, block)],
    )))
}
