//! B801 db-connections-exhausted: the pools whose sites use one database server may
//! open more connections than its `max_connections`.

use crate::capacity;
use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::db_load;

crate::declare_rule!(
    "B801",
    "db-connections-exhausted",
    Warning,
    Sometimes,
    "Σ pm.max_children of the pools using a database (+ a reserve) is above its max_connections",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let reserve = cx.settings.thresholds.db_connection_reserve;
    for db in &stack.databases {
        if db.pools.is_empty() {
            continue;
        }
        let Some(mc) = db.number("max_connections") else {
            continue;
        };
        let mut children = 0u64;
        let mut parts = Vec::new();
        let mut related = Vec::new();
        for &p in &db.pools {
            let pool = &stack.pools[p];
            let Some(v) = pool.settings.get("pm.max_children") else {
                continue;
            };
            let Ok(n) = v.value.trim().parse::<u64>() else {
                continue;
            };
            children += n;
            parts.push(format!("{n} (pool {})", pool.name));
            related.push((
                v.place(),
                format!(
                    "pool {}: pm.max_children {n}, one connection each",
                    pool.name
                ),
            ));
        }
        let need = children + reserve;
        if need <= mc.value {
            continue;
        }
        let msg = format!(
            "max_connections {} ({}) is below the {need} connections the sites using this server may open: pm.max_children {}{}, + {reserve} for wp-cron, WP-CLI and backups; at the first spike MariaDB answers `Too many connections` and WordPress shows \"Error establishing a database connection\"",
            mc.value,
            stack.origin_text(&mc.origin),
            parts.join(" + "),
            if parts.len() > 1 { format!(" = {children}") } else { String::new() },
        );
        let mut f = Finding::at(&RULE, db_load::anchor(stack, db, "max_connections"), msg)
            .assume(format!(
                "{reserve} connections kept for cron, CLI and the admin (db-connection-reserve in wpstack.toml)"
            ));
        for (pl, note) in related {
            f = f.related_opt(pl, note);
        }
        for &w in &db.wp {
            if let Some(c) = stack.wp[w].get("DB_HOST") {
                f = f.related_opt(c.value.place(), "this site's DB_HOST reaches the server");
            }
        }
        // The tuner's value: with the RAM known, the pools' children are those the
        // capacity plan gives them (C201/C202 propose them); when those already fit,
        // fewer children is the fix and max_connections stays.
        let tuned = capacity::plan(stack, cx.host, cx.settings).map(|plan| {
            plan.pools
                .iter()
                .filter(|p| db.pools.contains(&p.pool))
                .map(|p| p.recommended)
                .sum::<u64>()
                + reserve
        });
        match tuned {
            Some(t) if t <= mc.value => {
                f = f.assume(format!(
                    "the capacity plan's pm.max_children (C201/C202's fix) need {t} connections, within max_connections"
                ));
            }
            _ => {
                // Enough for the pools as they are, so the fix alone cures it.
                let want = tuned.unwrap_or(need).max(need);
                if let Some(e) = edit::mycnf_set(stack, db, "max_connections", &want.to_string()) {
                    f = f.with_fix(Some(Fix::unsafe_(
                        format!("max_connections = {want} (each connection may take the per-connection buffers: see B804)"),
                        vec![e],
                    )));
                }
            }
        }
        out.push(f);
    }
}
