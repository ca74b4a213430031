//! C202 max-children-starved: a pool far smaller than the host allows — it saturates
//! at the first traffic spike while RAM sits idle.

use crate::capacity;
use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::machine::host::FactSource;
use crate::rules::{util, Context};

crate::declare_rule!(
    "C202",
    "max-children-starved",
    Warning,
    Sometimes,
    "pm.max_children far below what the RAM budget allows and below 2 × CPUs",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let Some(plan) = capacity::plan(stack, cx.host, cx.settings) else {
        return;
    };
    let Some(cpus) = cx.host.cpus else { return };
    if plan.demand() > plan.budget {
        return; // C201's case
    }
    for p in &plan.pools {
        let Some(cur) = p.max_children else { continue };
        let allowed = p.recommended;
        let starved = cur * 100 < allowed * cx.settings.thresholds.starved_percent
            && cur < 2 * cpus.value as u64;
        if !starved {
            continue;
        }
        let pool = &stack.pools[p.pool];
        let Some(mc) = pool.settings.get("pm.max_children") else {
            continue;
        };
        // The tuner's value: the pool's share of the memory budget and of the CPU cap.
        let new = allowed.max(cur + 1);
        let fix = edit::pool_set(stack, pool, "pm.max_children", &new.to_string()).map(|e| {
            let m = format!("set pm.max_children = {new}");
            if p.worker_source == FactSource::Assumed {
                Fix::unsafe_(m, vec![e])
            } else {
                Fix::safe(m, vec![e])
            }
        });
        let mut f = Finding::at(
            &RULE,
            mc.place().unwrap_or(pool.place),
            format!(
                "pool {}: pm.max_children {cur} is below 2 × {} CPUs and uses under {} % of the {} the budget allows ({} workers of {}): the first spike fills it, php-fpm logs `server reached pm.max_children setting ({cur}), consider raising it` and requests queue into 502/504",
                pool.name,
                cpus.value,
                cx.settings.thresholds.starved_percent,
                util::human_bytes(plan.budget),
                allowed,
                util::human_bytes(p.worker_mem)
            ),
        )
        .with_fix(fix);
        for a in plan.assumptions() {
            f = f.assume(a);
        }
        out.push(f);
    }
}
