//! S602 php-path-unchecked: a PHP location passes any `*.php` URI to PHP without
//! checking the script exists, while cgi.fix_pathinfo lets PHP walk back to a real file.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::{Location, Nginx, ScopeKind};

crate::declare_rule!(
    "S602",
    "php-path-unchecked",
    Error,
    Safe,
    "a PHP location without try_files $uri =404 while cgi.fix_pathinfo is 1",
    check
);

/// `try_files … =404` with `$uri`/`$fastcgi_script_name`, or `if (!-f …) { return 404; }`.
fn checks_existence(n: &Nginx, loc: &Location) -> bool {
    let tf = n.effective(loc.scope, "try_files").is_some_and(|d| {
        d.args.last().is_some_and(|a| a.starts_with('='))
            && d.args.iter().any(|a| {
                a == "$uri"
                    || a == "$fastcgi_script_name"
                    || a == "$document_root$fastcgi_script_name"
            })
    });
    let if_f = n.scope(loc.scope).children.iter().any(|c| {
        let s = n.scope(*c);
        s.kind == ScopeKind::If
            && s.args
                .iter()
                .any(|a| a.contains("!-f") || a.contains("!-e"))
            && s.directives
                .iter()
                .any(|d| d.name == "return" || d.name == "rewrite")
    });
    tf || if_f
}

/// Whether a pool's `security.limit_extensions` lets php-fpm run a script whose name
/// does not end in .php/.phar (an uploaded `evil.jpg` reached by path walking). Unset
/// means php-fpm's default `.php .phar`, which refuses it; empty allows everything.
fn runs_other_extensions(pool: &crate::stack::Pool) -> Option<String> {
    let set = pool.settings.get("security.limit_extensions")?;
    let exts: Vec<&str> = set.value.split_whitespace().collect();
    let widened = exts.is_empty() || exts.iter().any(|e| *e != ".php" && *e != ".phar");
    widened.then(|| set.value.trim().to_string())
}

/// Can a URI like `/wp-content/uploads/…/evil.jpg/x.php` reach this regex location?
/// Tried under `/`, the uploads directory, the regex's own literal start (`^/blog/`)
/// and the paths of the prefix locations around it — so `location ~ ^/phpstatus$`,
/// which no `.php` URI can match, is not reported.
fn matches_php_path(n: &Nginx, loc: &Location) -> bool {
    let mut prefixes: Vec<String> = vec!["/".into(), "/wp-content/uploads/2026/11/".into()];
    if let Some(rest) = loc.pattern.strip_prefix("^/") {
        let lit: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '%'))
            .collect();
        if let Some(dir) = lit.rfind('/').map(|i| &lit[..=i]) {
            prefixes.push(format!("/{dir}"));
        }
    }
    let mut cur = n.scope(loc.scope).parent;
    while let Some(c) = cur {
        let s = n.scope(c);
        if s.kind != ScopeKind::Location {
            break;
        }
        if let Some(p) = s.args.last().filter(|p| p.starts_with('/')) {
            prefixes.push(format!("{}/", p.trim_end_matches('/')));
        }
        cur = s.parent;
    }
    prefixes.iter().any(|p| {
        crate::stack::nginx_match::regex_location_matches(loc, &format!("{p}evil.jpg/x.php"))
            || crate::stack::nginx_match::regex_location_matches(
                loc,
                &format!("{p}wp-content/uploads/2026/11/evil.jpg/x.php"),
            )
    })
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    // A status page, a health check or another application's location (phpMyAdmin
    // under its own alias) cannot reach WordPress's uploads.
    for (n, site, loc) in stack.wp_php_locations() {
        if !loc.is_regex() || checks_existence(n, loc) || !matches_php_path(n, loc) {
            continue;
        }
        let Some(pass) = &loc.fastcgi_pass else {
            continue;
        };
        // Which pools let PHP walk back along the path?
        let (fix_on, origin, assume) = if loc.pools.is_empty() {
            if stack.has_fpm() {
                continue; // unreachable pool: U001's finding
            }
            (true, "PHP default".to_string(), Some("cgi.fix_pathinfo assumed 1 (PHP's default): no php-fpm configuration was checked"))
        } else {
            let on: Vec<_> = loc
                .pools
                .iter()
                .filter_map(|p| {
                    let pool = &stack.pools[*p];
                    let s = pool.php("cgi.fix_pathinfo")?;
                    s.is_on()
                        .then(|| crate::rules::util::php_origin(stack, pool, &s))
                })
                .collect();
            if on.is_empty() {
                continue;
            }
            (true, on.join("; "), None)
        };
        if !fix_on {
            continue;
        }
        // With php-fpm's default security.limit_extensions the walk back to an image
        // is refused ("Access denied."): the check is then defence in depth, not an
        // open door.
        let widened: Vec<String> = loc
            .pools
            .iter()
            .filter_map(|p| {
                let pool = &stack.pools[*p];
                runs_other_extensions(pool).map(|v| format!("pool {}: `{v}`", pool.name))
            })
            .collect();
        let own_tf = n.own(loc.scope, "try_files").next().is_some();
        let fix = edit::nginx_set(stack, n, loc.scope, "try_files", "$uri =404").map(|e| {
            if own_tf {
                Fix::unsafe_(
                    "replace this location's try_files with `try_files $uri =404`",
                    vec![e],
                )
            } else {
                Fix::safe("add `try_files $uri =404;` to the PHP location", vec![e])
            }
        });
        let head = format!(
            "site {}: `location {} {}` passes URIs ending in .php to PHP without checking the file exists, and cgi.fix_pathinfo is 1 ({origin})",
            site.name(),
            loc.modifier,
            loc.pattern
        );
        let mut f = if widened.is_empty() {
            Finding::at(
                &RULE,
                loc.place,
                format!("{head}: /wp-content/uploads/evil.jpg/x.php makes PHP walk back to evil.jpg, which php-fpm's security.limit_extensions (.php .phar) refuses to run today — the existence check keeps it so if that setting is ever widened, and spares PHP every request for a missing script"),
            )
            .severity(crate::finding::Severity::Info)
        } else {
            Finding::at(
                &RULE,
                loc.place,
                format!(
                    "{head}: PHP walks /wp-content/uploads/evil.jpg/x.php back to evil.jpg and runs the image as PHP, as security.limit_extensions allows ({})",
                    widened.join("; ")
                ),
            )
        }
        .related(pass.place, "passed to PHP here")
        .with_fix(fix);
        if let Some(a) = assume {
            f = f.assume(a);
        }
        out.push(f);
    }
}
