//! The capacity computation shared by the C rules and `wpstack tune`:
//! budget = usable RAM − OS reserve − database/cache memory − opcache shared memory;
//! every pool's pm.max_children × worker memory must fit in it, together.

use super::host::{Fact, FactSource, Host};
use crate::rules::util;
use crate::settings::Settings;
use crate::stack::{PoolId, Stack};

#[derive(Debug, Clone)]
pub struct PoolPlan {
    pub pool: PoolId,
    pub max_children: Option<u64>,
    pub worker_mem: u64,
    pub worker_source: FactSource,
    /// memory_limit in bytes (None when unlimited or unknown).
    pub memory_limit: Option<u64>,
    /// What this pool may have under the shared budget.
    pub recommended: u64,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub ram: Fact<u64>,
    pub reserve: u64,
    pub reserve_source: FactSource,
    pub db_mem: u64,
    pub db_source: FactSource,
    pub opcache: u64,
    pub budget: u64,
    pub pools: Vec<PoolPlan>,
}

impl Plan {
    /// Σ max_children × worker memory.
    pub fn demand(&self) -> u64 {
        self.pools
            .iter()
            .map(|p| p.max_children.unwrap_or(0) * p.worker_mem)
            .sum()
    }
    /// Σ max_children × memory_limit (worst case).
    pub fn worst_case(&self) -> Option<u64> {
        self.pools
            .iter()
            .map(|p| Some(p.max_children.unwrap_or(0) * p.memory_limit?))
            .sum()
    }
    /// What the findings rest on, for `assumptions`.
    pub fn assumptions(&self) -> Vec<String> {
        let mut a = vec![format!(
            "RAM {} ({})",
            util::human_bytes(self.ram.value),
            self.ram.source.as_str()
        )];
        a.push(format!(
            "OS reserve {} ({})",
            util::human_bytes(self.reserve),
            match self.reserve_source {
                FactSource::Assumed => "max(512M, 10 % of RAM)",
                s => s.as_str(),
            }
        ));
        if self.db_mem > 0 || self.db_source != FactSource::Assumed {
            a.push(format!(
                "database/cache {} ({})",
                util::human_bytes(self.db_mem),
                self.db_source.as_str()
            ));
        } else {
            a.push("no database/cache memory counted (give --db-mem or [host] db-mem if they share this host)".into());
        }
        for p in &self.pools {
            if p.worker_source == FactSource::Assumed {
                a.push(format!(
                    "worker memory {} per process is the profile's estimate, not measured (run `wpstack tune` on the host, or give --worker-mem)",
                    util::human_bytes(p.worker_mem)
                ));
                break;
            }
        }
        a
    }
}

fn opcache_bytes(stack: &Stack) -> u64 {
    stack
        .fpm
        .iter()
        .filter(|f| !f.pools.is_empty())
        .filter_map(|f| {
            let pool = stack.pools.get(*f.pools.first()?)?;
            let enabled =
                f.ini.opcache_loaded() && pool.php("opcache.enable").is_some_and(|s| s.is_on());
            if !enabled {
                return Some(0);
            }
            let mb = pool
                .php("opcache.memory_consumption")?
                .text()
                .trim()
                .parse::<u64>()
                .ok()?;
            Some(mb << 20)
        })
        .sum()
}

/// The plan, or `None` when the RAM is not known (not given, not measured).
pub fn plan(stack: &Stack, host: &Host, settings: &Settings) -> Option<Plan> {
    plan_measured(stack, host, settings, &Default::default())
}

/// The plan with worker memory measured per pool (`wpstack tune` on the host): a
/// pool's measured peak replaces the estimate unless given on the command line.
pub fn plan_measured(
    stack: &Stack,
    host: &Host,
    settings: &Settings,
    measured: &std::collections::BTreeMap<String, super::workers::PoolWorkers>,
) -> Option<Plan> {
    let ram = host.ram?;
    let t = &settings.thresholds;
    let (reserve, reserve_source) = match host.reserve {
        Some(r) => (r.value, r.source),
        None => (
            t.reserve_min.max(ram.value * t.reserve_percent / 100),
            FactSource::Assumed,
        ),
    };
    let (db_mem, db_source) = match host.db_mem {
        Some(d) => (d.value, d.source),
        None => (0, FactSource::Assumed),
    };
    let opcache = opcache_bytes(stack);
    let budget = ram.value.saturating_sub(reserve + db_mem + opcache);
    let mut pools: Vec<PoolPlan> = stack
        .pools
        .iter()
        .enumerate()
        .map(|(id, p)| {
            let max_children = p
                .settings
                .get("pm.max_children")
                .and_then(|v| v.value.trim().parse::<u64>().ok());
            let memory_limit = p
                .php("memory_limit")
                .map(|m| util::ini_bytes(&m))
                .filter(|v| *v > 0)
                .map(|v| v as u64);
            let seen = measured.get(&p.name).filter(|w| !w.low_confidence());
            let (mut worker_mem, worker_source) = match (host.worker_mem, seen) {
                (Some(w), _) => (w.value, w.source),
                (None, Some(w)) => (w.peak(), FactSource::Measured),
                (None, None) => (t.worker_mem_estimate, FactSource::Assumed),
            };
            if let Some(ml) = memory_limit {
                worker_mem = worker_mem.min(ml);
            }
            PoolPlan {
                pool: id,
                max_children,
                worker_mem: worker_mem.max(1),
                worker_source,
                memory_limit,
                recommended: 0,
            }
        })
        .collect();
    // Share the budget by each pool's current weight (its max_children × worker memory).
    let total_weight: u64 = pools
        .iter()
        .map(|p| p.max_children.unwrap_or(1).max(1) * p.worker_mem)
        .sum::<u64>()
        .max(1);
    for p in &mut pools {
        let w = p.max_children.unwrap_or(1).max(1) * p.worker_mem;
        let share = (budget as u128 * w as u128 / total_weight as u128) as u64;
        p.recommended = (share / p.worker_mem).max(2);
    }
    Some(Plan {
        ram,
        reserve,
        reserve_source,
        db_mem,
        db_source,
        opcache,
        budget,
        pools,
    })
}
