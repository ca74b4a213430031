//! C203 worst-case-exceeds-ram: every worker at memory_limit would not fit.

use crate::capacity;
use crate::finding::Finding;
use crate::rules::{util, Context};

crate::declare_rule!(
    "C203",
    "worst-case-exceeds-ram",
    Info,
    No,
    "Σ pools (pm.max_children × memory_limit) is more than the RAM budget",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let Some(plan) = capacity::plan(stack, cx.host, cx.settings) else {
        return;
    };
    let Some(worst) = plan.worst_case() else {
        return;
    };
    if worst <= plan.budget || plan.demand() > plan.budget {
        return;
    }
    let Some(top) = plan
        .pools
        .iter()
        .filter(|p| p.max_children.is_some())
        .max_by_key(|p| p.max_children.unwrap_or(0) * p.memory_limit.unwrap_or(0))
    else {
        return;
    };
    let pool = &stack.pools[top.pool];
    let Some(mc) = pool.settings.get("pm.max_children") else {
        return;
    };
    let mut f = Finding::at(
        &RULE,
        mc.place().unwrap_or(pool.place),
        format!(
            "if every worker grew to its memory_limit the pools would need {} but the budget is {}: safe only while requests stay small (a big import, a page builder save or a report on every worker at once would reach the OOM killer)",
            util::human_bytes(worst),
            util::human_bytes(plan.budget)
        ),
    );
    if let Some(ml) = pool.php("memory_limit") {
        f = f.related_opt(ml.value.place(), format!("memory_limit {}", ml.text()));
    }
    for a in plan.assumptions() {
        f = f.assume(a);
    }
    out.push(f);
}
