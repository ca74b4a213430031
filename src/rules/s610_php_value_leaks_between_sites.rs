//! S610 php-value-leaks-between-sites: a `fastcgi_param PHP_VALUE`/`PHP_ADMIN_VALUE`
//! of one site reaches a pool another site uses too.
//!
//! php-fpm writes these values into the worker's own ini table (fpm_php.c,
//! `fpm_php_zend_ini_alter_master`), not the per-request one: they stay after the
//! request, so the other site's later requests on that worker run with them — or not,
//! depending on which worker they hit. A key the other site sends itself is replaced
//! on each of its requests and does not leak; a key the pool locks with
//! `php_admin_value` cannot be changed from nginx at all.

use crate::finding::Finding;
use crate::rules::Context;
use crate::stack::php_value::NginxPhpValue;

crate::declare_rule!(
    "S610",
    "php-value-leaks-between-sites",
    Warning,
    No,
    "PHP_VALUE / PHP_ADMIN_VALUE set by one site reaches a pool another site also uses",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    // Every PHP location with its site identity (the root, else the server block) and
    // what it sends.
    struct Loc<'a> {
        n: &'a crate::stack::Nginx,
        loc: &'a crate::stack::Location,
        site: &'a crate::stack::Site,
        ident: String,
        sent: Vec<NginxPhpValue>,
    }
    let locs: Vec<Loc> = stack
        .php_locations()
        .map(|(n, site, loc)| Loc {
            n,
            loc,
            site,
            ident: match &site.root {
                Some(r) => format!("root:{}", r.value),
                None => format!("server:{:?}:{}", n.main, site.scope),
            },
            sent: stack.nginx_php_values(n, loc.scope),
        })
        .collect();
    // The locations of each pool, in one pass (not one scan of every location per pool).
    let mut by_pool: Vec<Vec<&Loc>> = vec![Vec::new(); stack.pools.len()];
    for l in &locs {
        let mut pids = l.loc.pools.clone();
        pids.sort_unstable();
        pids.dedup();
        for pid in pids {
            if let Some(list) = by_pool.get_mut(pid) {
                list.push(l);
            }
        }
    }
    let mut seen: Vec<(crate::finding::Place, usize)> = Vec::new();
    for (pid, (pool, here)) in stack.pools.iter().zip(by_pool).enumerate() {
        if here.iter().all(|l| l.sent.is_empty()) {
            continue;
        }
        for a in &here {
            // Group what this location sends by its fastcgi_param directive.
            let mut directives: Vec<crate::finding::Place> =
                a.sent.iter().map(|v| v.directive).collect();
            directives.dedup();
            for d in directives {
                if seen.contains(&(d, pid)) {
                    continue;
                }
                let mut leaked: Vec<(&NginxPhpValue, Vec<String>)> = Vec::new();
                for v in a.sent.iter().filter(|v| v.directive == d) {
                    // A pool's php_admin_value keeps the key: nginx cannot change it.
                    if pool.php(&v.key).is_some_and(|s| stack.pool_locks(pid, &s)) {
                        continue;
                    }
                    let mut victims: Vec<String> = Vec::new();
                    for b in &here {
                        if b.ident == a.ident || b.sent.iter().any(|w| w.key == v.key) {
                            continue;
                        }
                        // Same value anyway: nothing changes for the other site.
                        let theirs = stack.php_at(b.n, b.loc, pid, &v.key);
                        if !v.dynamic
                            && theirs
                                .as_ref()
                                .is_some_and(|t| t.text().trim() == v.setting.text().trim())
                        {
                            continue;
                        }
                        let name = b.site.name();
                        if !victims.contains(&name) {
                            victims.push(name);
                        }
                    }
                    if !victims.is_empty() {
                        leaked.push((v, victims));
                    }
                }
                if leaked.is_empty() {
                    continue;
                }
                seen.push((d, pid));
                let keys: Vec<String> = leaked
                    .iter()
                    .map(|(v, _)| {
                        if crate::report::redact::is_secret_ini_key(&v.key, None) {
                            format!("{}={}", v.key, crate::report::redact::MASK)
                        } else {
                            format!("{}={}", v.key, v.setting.raw.trim())
                        }
                    })
                    .collect();
                let mut victims: Vec<String> = Vec::new();
                for (_, vs) in &leaked {
                    for v in vs {
                        if !victims.contains(v) {
                            victims.push(v.clone());
                        }
                    }
                }
                let via = leaked[0].0.setting.via.as_str();
                let mut f = Finding::at(
                    &RULE,
                    d,
                    format!(
                        "{via} {} of site {} goes to pool {}, which also serves {}: php-fpm keeps these values in the worker after the request, so the other site's later requests on that worker run with them (and with the pool's own values on the other workers) — settings that change at random from one request to the next. Set them in the pool (php_admin_value) or give the site its own pool",
                        keys.join(", "),
                        a.site.name(),
                        pool.name,
                        victims.join(", ")
                    ),
                )
                .related(pool.place, format!("pool {}", pool.name));
                if let Some(b) = here
                    .iter()
                    .find(|b| victims.first().is_some_and(|v| *v == b.site.name()))
                {
                    f = f.related(b.loc.place, format!("PHP location of {}", b.site.name()));
                }
                out.push(f);
            }
        }
    }
}
