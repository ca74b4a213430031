//! `wpstack tune`: the capacity computation as a table, and the pm.* values that
//! follow from it as the same span edits fixes use (a reviewable diff).

use super::capacity::{self, Plan};
use super::host::{FactSource, Host};
use super::workers::PoolWorkers;
use crate::fix::{edit, Edit};
use crate::rules::util::human_bytes;
use crate::settings::Settings;
use crate::stack::Stack;
use std::collections::BTreeMap;

/// One pool's line of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PoolLine {
    pub pool: String,
    pub pm: String,
    pub workers_seen: usize,
    pub worker_mem: u64,
    pub worker_mem_source: &'static str,
    pub max_children_before: Option<u64>,
    pub max_children_after: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Tuning {
    pub ram: u64,
    pub ram_source: &'static str,
    pub reserve: u64,
    pub db_mem: u64,
    pub opcache: u64,
    pub budget: u64,
    pub pools: Vec<PoolLine>,
    #[serde(skip)]
    pub edits: Vec<Edit>,
}

/// A consistent dynamic set for `mc` children (php-fpm's checks hold).
pub fn spare_servers(mc: u64) -> (u64, u64, u64) {
    let min = (mc / 4).max(1);
    let max = (mc / 2).max(min + 1).min(mc.max(min + 1));
    let start = min + (max - min) / 2;
    (start, min, max)
}

pub fn tune(
    stack: &Stack,
    host: &Host,
    settings: &Settings,
    measured: &BTreeMap<String, PoolWorkers>,
) -> Option<Tuning> {
    let plan: Plan = capacity::plan_measured(stack, host, settings, measured)?;
    let mut edits = Vec::new();
    let mut pools = Vec::new();
    for p in &plan.pools {
        let pool = &stack.pools[p.pool];
        let pm = pool
            .settings
            .get("pm")
            .map(|v| v.value.trim().to_string())
            .unwrap_or_default();
        let after = p.recommended;
        if p.max_children != Some(after) {
            edits.extend(edit::pool_set(
                stack,
                pool,
                "pm.max_children",
                &after.to_string(),
            ));
        }
        if pm == "dynamic" {
            let (start, min, max) = spare_servers(after);
            for (k, v) in [
                ("pm.start_servers", start),
                ("pm.min_spare_servers", min),
                ("pm.max_spare_servers", max),
            ] {
                if pool.settings.get(k).map(|s| s.value.trim().to_string()) != Some(v.to_string()) {
                    edits.extend(edit::pool_set(stack, pool, k, &v.to_string()));
                }
            }
        }
        if pool
            .setting("pm.max_requests")
            .is_some_and(|m| m.value.trim() == "0")
        {
            edits.extend(edit::pool_set(stack, pool, "pm.max_requests", "500"));
        }
        pools.push(PoolLine {
            pool: pool.name.clone(),
            pm,
            workers_seen: measured.get(&pool.name).map(|w| w.count).unwrap_or(0),
            worker_mem: p.worker_mem,
            worker_mem_source: match p.worker_source {
                FactSource::Measured => "measured (PSS/VmHWM peak)",
                s => s.as_str(),
            },
            max_children_before: p.max_children,
            max_children_after: after,
        });
    }
    Some(Tuning {
        ram: plan.ram.value,
        ram_source: plan.ram.source.as_str(),
        reserve: plan.reserve,
        db_mem: plan.db_mem,
        opcache: plan.opcache,
        budget: plan.budget,
        pools,
        edits,
    })
}

/// The table people read before the diff.
pub fn table(t: &Tuning) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "RAM                {:>8}  ({})\n",
        human_bytes(t.ram),
        t.ram_source
    ));
    out.push_str(&format!(
        "- OS reserve       {:>8}\n",
        human_bytes(t.reserve)
    ));
    out.push_str(&format!(
        "- database/cache   {:>8}\n",
        human_bytes(t.db_mem)
    ));
    out.push_str(&format!(
        "- opcache          {:>8}\n",
        human_bytes(t.opcache)
    ));
    out.push_str(&format!(
        "= budget for PHP   {:>8}\n\n",
        human_bytes(t.budget)
    ));
    out.push_str(&format!(
        "{:<20} {:<9} {:>7} {:>10}  {:<28} {:>16}\n",
        "pool", "pm", "workers", "per worker", "from", "max_children"
    ));
    for p in &t.pools {
        let before = p
            .max_children_before
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unset".into());
        out.push_str(&format!(
            "{:<20} {:<9} {:>7} {:>10}  {:<28} {:>7} → {:<6}\n",
            p.pool,
            p.pm,
            p.workers_seen,
            human_bytes(p.worker_mem),
            p.worker_mem_source,
            before,
            p.max_children_after
        ));
    }
    out
}
