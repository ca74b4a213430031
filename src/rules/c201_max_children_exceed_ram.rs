//! C201 max-children-exceed-ram: all pools at pm.max_children need more memory than
//! the host has for PHP — the OOM killer settles it under load.

use crate::capacity;
use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::machine::host::FactSource;
use crate::rules::{util, Context};

crate::declare_rule!(
    "C201",
    "max-children-exceed-ram",
    Error,
    Sometimes,
    "Σ pools (pm.max_children × worker memory) is more than the RAM budget",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let Some(plan) = capacity::plan(stack, cx.host, cx.settings) else {
        return;
    };
    let demand = plan.demand();
    if demand <= plan.budget || plan.pools.is_empty() {
        return;
    }
    // The database's own configuration is what does not fit: B804 says so, once.
    if capacity::database_tips_it(stack, &plan) {
        return;
    }
    // Primary: the pool that asks for the most.
    let Some(top) = plan
        .pools
        .iter()
        .filter(|p| p.max_children.is_some())
        .max_by_key(|p| p.max_children.unwrap_or(0) * p.worker_mem)
    else {
        return;
    };
    let pool = &stack.pools[top.pool];
    let Some(mc) = pool.settings.get("pm.max_children") else {
        return;
    };
    // The largest contributors first; a host with hundreds of pools gets a summary.
    let mut by_size: Vec<&capacity::PoolPlan> = plan.pools.iter().collect();
    by_size.sort_by_key(|p| std::cmp::Reverse(p.max_children.unwrap_or(0) * p.worker_mem));
    let shown = 4;
    let mut parts: Vec<String> = by_size
        .iter()
        .take(shown)
        .filter_map(|p| {
            Some(format!(
                "{} × {} ({})",
                p.max_children?,
                util::human_bytes(p.worker_mem),
                stack.pools[p.pool].name
            ))
        })
        .collect();
    if by_size.len() > shown {
        parts.push(format!("{} more pools", by_size.len() - shown));
    }
    let measured = plan
        .pools
        .iter()
        .all(|p| p.worker_source != FactSource::Assumed);
    let mut edits = Vec::new();
    let mut changes = Vec::new();
    for p in &plan.pools {
        let Some(cur) = p.max_children else { continue };
        if p.recommended < cur {
            let pl = &stack.pools[p.pool];
            if let Some(e) =
                edit::pool_set(stack, pl, "pm.max_children", &p.recommended.to_string())
            {
                edits.push(e);
                changes.push(format!("{} {cur} → {}", pl.name, p.recommended));
                edits.extend(spare_edits(stack, pl, p.recommended));
            }
        }
    }
    let msg = format!(
        "the pools may start {} of PHP workers ({}) but the host has a budget of {} for PHP (RAM {} − reserve {} − database/cache {} − opcache {}): under load the kernel's OOM killer ends workers (`Out of memory: Killed process … (php-fpm8.2)`) and nginx answers 502",
        util::human_bytes(demand),
        parts.join(" + "),
        util::human_bytes(plan.budget),
        util::human_bytes(plan.ram.value),
        util::human_bytes(plan.reserve),
        util::human_bytes(plan.db_mem),
        util::human_bytes(plan.opcache),
    );
    let mut f = Finding::at(&RULE, mc.place().unwrap_or(pool.place), msg);
    for p in by_size.iter().take(shown) {
        if p.pool == top.pool {
            continue;
        }
        let other = &stack.pools[p.pool];
        if let Some(m) = other.settings.get("pm.max_children") {
            f = f.related_opt(
                m.place(),
                format!(
                    "pool {} shares the budget: pm.max_children {}",
                    other.name, m.value
                ),
            );
        }
    }
    for a in plan.assumptions() {
        f = f.assume(a);
    }
    if !edits.is_empty() {
        let message = format!("share the budget: pm.max_children {}", changes.join(", "));
        f = f.with_fix(Some(if measured {
            Fix::safe(message, edits)
        } else {
            Fix::unsafe_(message, edits)
        }));
    }
    out.push(f);
}

/// A dynamic pool whose spare servers would no longer fit under the new
/// pm.max_children gets the tuner's consistent set, so php-fpm still starts.
fn spare_edits(
    stack: &crate::stack::Stack,
    pool: &crate::stack::Pool,
    children: u64,
) -> Vec<crate::fix::Edit> {
    let value = |k: &str| {
        pool.settings
            .get(k)
            .and_then(|v| v.value.trim().parse::<u64>().ok())
    };
    if pool.settings.get("pm").map(|v| v.value.trim()) != Some("dynamic") {
        return Vec::new();
    }
    let keys = [
        "pm.start_servers",
        "pm.min_spare_servers",
        "pm.max_spare_servers",
    ];
    if keys.iter().all(|k| value(k).is_none_or(|v| v <= children)) {
        return Vec::new();
    }
    let (start, min, max) = crate::capacity::spare_servers(children);
    keys.iter()
        .zip([start, min, max])
        .filter(|(k, v)| value(k) != Some(*v))
        .filter_map(|(k, v)| edit::pool_set(stack, pool, k, &v.to_string()))
        .collect()
}
