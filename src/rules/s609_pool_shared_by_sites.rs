//! S609 pool-shared-by-sites: two or more WordPress installs run in one php-fpm pool,
//! i.e. as one Unix user — code running for one can read the other's wp-config.php.
//!
//! A WordPress install is a wp-config.php linked to a site through its `root`; two
//! server blocks that load the same wp-config.php (www and bare domain, http and
//! https, a multisite's domains) are one install, not two.

use crate::finding::Finding;
use crate::rules::Context;
use crate::stack::{Nginx, Site};

crate::declare_rule!(
    "S609",
    "pool-shared-by-sites",
    Warning,
    No,
    "two or more WordPress sites run in one php-fpm pool (one Unix user)",
    check
);

/// Sites listed by name in the message; the rest are counted.
const LISTED: usize = 5;

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    // (wp-config file, first site loading it) for each install each pool runs: one pass
    // over the installs, not one per pool (a 2,000-site host has 2,000 of each).
    let mut by_pool: Vec<Vec<(crate::source::FileId, &Nginx, &Site)>> =
        vec![Vec::new(); stack.pools.len()];
    for wp in &stack.wp {
        // The first site loading this install, per pool it runs in.
        for (ni, si) in &wp.sites {
            let Some(n) = stack.nginx.get(*ni) else {
                continue;
            };
            let Some(s) = n.sites.get(*si) else { continue };
            for l in s.locations.iter().filter(|l| l.runs_wordpress()) {
                for &pid in &l.pools {
                    let Some(list) = by_pool.get_mut(pid) else {
                        continue;
                    };
                    if !list.iter().any(|(f, _, _)| *f == wp.file) {
                        list.push((wp.file, n, s));
                    }
                }
            }
        }
    }
    for (pid, (pool, installs)) in stack.pools.iter().zip(by_pool).enumerate() {
        if installs.len() < 2 {
            continue;
        }
        let describe = |s: &Site| match &s.root {
            Some(r) => format!("{} (root {})", s.name(), r.value),
            None => s.name(),
        };
        let mut names: Vec<String> = installs
            .iter()
            .take(LISTED)
            .map(|(_, _, s)| describe(s))
            .collect();
        if installs.len() > LISTED {
            names.push(format!("{} more", installs.len() - LISTED));
        }
        let user = pool
            .setting("user")
            .map(|u| format!("user {}", u.value.trim()))
            .unwrap_or_else(|| "the master's user".to_string());
        // open_basedir, from the pool or from what nginx sends for one of the sites.
        let basedir = installs.iter().find_map(|(_, n, s)| {
            s.locations
                .iter()
                .filter(|l| l.pools.contains(&pid))
                .find_map(|l| {
                    let sent = stack
                        .nginx_php_values(n, l.scope)
                        .into_iter()
                        .rev()
                        .find(|v| v.key == "open_basedir")
                        .map(|v| v.setting);
                    sent.or_else(|| pool.php("open_basedir"))
                        .filter(|v| !v.text().trim().is_empty())
                })
        });
        let basedir_note = match &basedir {
            Some(b) => format!(
                " open_basedir {} ({}) narrows which files PHP's own functions open, but not what a shell command, a symlink trick or another program started by the same user reads: it does not replace one pool and one user per site.",
                b.text().trim(),
                crate::rules::util::php_origin(stack, pool, b)
            ),
            None => String::new(),
        };
        let mut f = Finding::at(
            &RULE,
            pool.place,
            format!(
                "pool {} ({user}) runs {} WordPress sites: {}. They share one Unix user, so code running for one of them — a vulnerable plugin, an uploaded web shell — reads the others' wp-config.php (database passwords, keys and salts) and writes their files; one compromise becomes all of them.{basedir_note} Give each site its own pool with its own user and socket",
                pool.name,
                installs.len(),
                names.join(", ")
            ),
        );
        for (_, _, s) in installs.iter().take(LISTED) {
            f = f.related(s.place, format!("site {}", describe(s)));
        }
        out.push(f);
    }
}
