//! The capacity computation shared by the C rules and `wpstack tune`:
//! budget = usable RAM − OS reserve − database/cache memory − opcache shared memory;
//! every pool's pm.max_children × worker memory must fit in it, together.

use crate::format::human_bytes;
use crate::machine::host::{Fact, FactSource, Host};
use crate::settings::Settings;
use crate::stack::typed;
use crate::stack::{PoolId, Stack};

/// Every pool keeps at least this many children: WordPress requests itself
/// (wp-cron, the block editor's REST calls, Site Health loopbacks), and with one worker
/// that request waits for the very worker that sent it until a timeout ends both.
pub const MIN_CHILDREN: u64 = 2;

/// Children per CPU the host runs at most, across all pools. A WordPress request spends
/// most of its time waiting on MySQL, Redis and remote APIs; measured WordPress pages
/// use the CPU for roughly a tenth to a quarter of their wall time, so 4–10 workers per
/// CPU keep the CPUs busy. Beyond 8 per CPU extra workers only queue for CPU while
/// each holds its memory, and a spike then slows every request instead of queueing
/// the excess in nginx/the listen backlog.
pub const CHILDREN_PER_CPU: u64 = 8;

/// What a pool's share of the budget rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareBasis {
    /// Workers seen running per pool (measured on this host).
    WorkersSeen,
    /// Nothing measured: the pools' current pm.max_children stand in for their traffic.
    CurrentMaxChildren,
}

#[derive(Debug, Clone)]
pub struct PoolPlan {
    pub pool: PoolId,
    pub max_children: Option<u64>,
    pub worker_mem: u64,
    pub worker_source: FactSource,
    /// Measured workers that read low (idle or freshly recycled): the estimate was used.
    pub low_confidence: bool,
    /// Workers seen running (0 when nothing was measured).
    pub workers_seen: usize,
    /// Largest PSS / VmHWM seen (0 when nothing was measured).
    pub pss_peak: u64,
    /// memory_limit in bytes (None when unlimited or unknown).
    pub memory_limit: Option<u64>,
    /// The pool's weight in the shared budget before its memory cost (see `ShareBasis`).
    pub share: u64,
    /// Children the memory budget allows this pool (shared by weight).
    pub by_memory: u64,
    /// Children the CPU cap allows this pool (shared by weight), when CPUs are known.
    pub by_cpu: Option<u64>,
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
    pub cpus: Option<Fact<usize>>,
    /// CHILDREN_PER_CPU × CPUs, for all pools together.
    pub cpu_cap: Option<u64>,
    pub share_basis: ShareBasis,
    /// The current pm.max_children were kept: they fit both caps and each is within
    /// a tenth (at least one child) of its share, so the tuner does not churn them.
    pub kept_current: bool,
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
            human_bytes(self.ram.value),
            self.ram.source.as_str()
        )];
        a.push(format!(
            "OS reserve {} ({})",
            human_bytes(self.reserve),
            match self.reserve_source {
                FactSource::Assumed => "max(512M, 10 % of RAM)",
                s => s.as_str(),
            }
        ));
        if self.db_source == FactSource::FromConfig {
            a.push(format!(
                "database {} from its my.cnf (global buffers + per-connection buffers × the connections its pools can open; run `wpstack tune` on the host to measure it)",
                human_bytes(self.db_mem)
            ));
        } else if self.db_mem > 0 || self.db_source != FactSource::Assumed {
            a.push(format!(
                "database/cache {} ({})",
                human_bytes(self.db_mem),
                self.db_source.as_str()
            ));
        } else {
            a.push("no database/cache memory counted (give --db-mem or [host] db-mem if they share this host)".into());
        }
        if let (Some(c), Some(cap)) = (self.cpus, self.cpu_cap) {
            a.push(format!(
                "{} CPUs ({}): at most {cap} PHP workers in all, {CHILDREN_PER_CPU} per CPU (more only queue for the CPU)",
                c.value,
                c.source.as_str()
            ));
        }
        for p in &self.pools {
            if p.worker_source == FactSource::Assumed {
                a.push(format!(
                    "worker memory {} per process is the profile's estimate, not measured (run `wpstack tune` on the host, or give --worker-mem)",
                    human_bytes(p.worker_mem)
                ));
                break;
            }
        }
        a
    }
}

/// Opcache's shared memory per php-fpm instance, counted once (all its pools share
/// one segment): `opcache.memory_consumption` (which holds the
/// `opcache.interned_strings_buffer`: PHP carves the interned strings out of it) plus
/// `opcache.jit_buffer_size`, which PHP reserves beside it whenever the JIT is not
/// `disable`d (`off` keeps the buffer so the JIT can be switched on at run time). An
/// unset `opcache.jit` is `tracing` before PHP 8.4 and `disable` from 8.4 on.
pub fn opcache_shared(stack: &Stack) -> OpcacheShared {
    let mut out = OpcacheShared::default();
    for f in stack.fpm.iter().filter(|f| !f.pools.is_empty()) {
        let Some(pool) = f.pools.first().and_then(|p| stack.pools.get(*p)) else {
            continue;
        };
        let enabled =
            f.ini.opcache_loaded() && pool.php("opcache.enable").is_some_and(|s| s.is_on());
        if !enabled {
            continue;
        }
        let mb = |k: &str| {
            pool.php(k)
                .and_then(|v| v.text().trim().parse::<u64>().ok())
                .unwrap_or(0)
                << 20
        };
        out.memory += mb("opcache.memory_consumption");
        out.interned += mb("opcache.interned_strings_buffer");
        let jit_default = match f.version.as_deref().map(|v| {
            let mut it = v.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
            (it.next().unwrap_or(0), it.next().unwrap_or(0))
        }) {
            Some(v) if v >= (8, 4) => "disable",
            _ => "tracing",
        };
        let jit = pool
            .php("opcache.jit")
            .map(|j| j.text().trim().to_ascii_lowercase())
            .unwrap_or_else(|| jit_default.to_string());
        let buffer = pool
            .php("opcache.jit_buffer_size")
            .map(|b| typed::ini_bytes(&b).max(0) as u64)
            .unwrap_or(0);
        if jit != "disable" {
            out.jit += buffer;
        }
    }
    out
}

/// Opcache's shared memory, bytes (see [`opcache_shared`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpcacheShared {
    /// Σ opcache.memory_consumption.
    pub memory: u64,
    /// Σ opcache.interned_strings_buffer: inside `memory`, not added.
    pub interned: u64,
    /// Σ opcache.jit_buffer_size where the JIT is not disabled.
    pub jit: u64,
}

impl OpcacheShared {
    pub fn total(&self) -> u64 {
        self.memory + self.jit
    }
}

/// The memory the database servers configured in the tree may take with the
/// connections their pools can open (pre-deploy: nothing measured): global buffers
/// (InnoDB buffer pool and log buffer, key buffer) + per-connection buffers × the
/// smaller of max_connections and Σ pm.max_children of the pools using it + the
/// reserve (all of max_connections when no pool is linked to it). `None` when the tree
/// configures no database.
pub fn db_config_memory(stack: &Stack, settings: &Settings) -> Option<u64> {
    if stack.databases.is_empty() {
        return None;
    }
    let reserve = settings.thresholds.db_connection_reserve;
    Some(
        stack
            .databases
            .iter()
            .map(|db| {
                let m = db.memory();
                let conns = if db.pools.is_empty() {
                    m.max_connections
                } else {
                    let children: u64 = db
                        .pools
                        .iter()
                        .filter_map(|&p| {
                            stack.pools[p]
                                .settings
                                .get("pm.max_children")?
                                .value
                                .trim()
                                .parse::<u64>()
                                .ok()
                        })
                        .sum();
                    m.max_connections.min(children + reserve)
                };
                m.global
                    .saturating_add(m.per_connection.saturating_mul(conns))
            })
            .sum(),
    )
}

/// The databases' configured worst case: global buffers + per-connection buffers ×
/// max_connections (B804).
pub fn db_worst_case(stack: &Stack) -> u64 {
    stack.databases.iter().map(|d| d.memory().total()).sum()
}

/// Whether C201 leaves the finding to B804: the PHP workers would fit the budget
/// without the database's configured memory, and the database with them exceeds the
/// RAM — the database's configuration is what does not fit.
pub fn database_tips_it(stack: &Stack, plan: &Plan) -> bool {
    plan.db_source == FactSource::FromConfig
        && plan.demand() <= plan.budget + plan.db_mem
        && db_worst_case(stack).saturating_add(plan.demand()) > plan.ram.value
}

fn opcache_bytes(stack: &Stack) -> u64 {
    opcache_shared(stack).total()
}

/// A consistent dynamic set for `mc` children: (start, min, max) with
/// 0 < min ≤ start ≤ max ≤ mc, as php-fpm's fpm_conf.c demands. A quarter and a half
/// of the children, but no more than 16 and 32 idle workers: php-fpm spawns up to
/// pm.max_spawn_rate (32) a second when a burst comes, so a big pool need not keep
/// its memory busy with idle workers.
pub fn spare_servers(mc: u64) -> (u64, u64, u64) {
    let mc = mc.max(1);
    let min = (mc / 4).clamp(1, 16);
    let max = (mc / 2).clamp(min, 32).min(mc);
    let start = min + (max - min) / 2;
    (start, min, max)
}

/// The plan, or `None` when the RAM is not known (not given, not measured).
pub fn plan(stack: &Stack, host: &Host, settings: &Settings) -> Option<Plan> {
    plan_measured(stack, host, settings, &Default::default())
}

/// Share `capacity` among pools whose child costs `cost[i]` by weight `cost[i] ×
/// share[i]`: pool i gets `capacity × share[i] / Σ cost × share` children, never fewer
/// than `min` (pools held at the minimum leave the rest to the others; water-filling).
/// All shares zero counts as equal shares.
pub fn allocate(capacity: u64, cost: &[u64], share: &[u64], min: u64) -> Vec<u64> {
    let n = cost.len();
    let equal = share.iter().all(|s| *s == 0);
    let share_of = |i: usize| if equal { 1 } else { share[i] } as u128;
    let mut at_min = vec![false; n];
    loop {
        let reserved: u128 = (0..n)
            .filter(|i| at_min[*i])
            .map(|i| cost[i] as u128 * min as u128)
            .sum();
        let left = (capacity as u128).saturating_sub(reserved);
        let weight: u128 = (0..n)
            .filter(|i| !at_min[*i])
            .map(|i| cost[i].max(1) as u128 * share_of(i))
            .sum();
        let mut out = vec![min; n];
        let mut changed = false;
        let free: Vec<usize> = (0..n).filter(|i| !at_min[*i]).collect();
        for i in free {
            let ideal = (left * share_of(i))
                .checked_div(weight)
                .map_or(0, |v| v as u64);
            if ideal < min {
                at_min[i] = true;
                changed = true;
            } else {
                out[i] = ideal;
            }
        }
        if !changed {
            return out;
        }
    }
}

/// The plan with worker memory measured per pool (`wpstack tune` on the host): a
/// pool's measured peak replaces the estimate unless given on the command line.
///
/// Pools share one budget. Each pool's weight is its cost (worker memory) × its share
/// of the traffic: the workers seen running when measured on this host, else (pre-deploy,
/// nothing measured) its current pm.max_children as the operator's own statement of how
/// busy it is. Memory gives `budget × share / Σ cost × share` children; when the CPUs
/// are known, `CHILDREN_PER_CPU × CPUs` is shared the same way by share alone; a pool
/// gets the smaller, and never fewer than `MIN_CHILDREN`.
pub fn plan_measured(
    stack: &Stack,
    host: &Host,
    settings: &Settings,
    measured: &std::collections::BTreeMap<String, crate::machine::workers::PoolWorkers>,
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
        None => match db_config_memory(stack, settings) {
            Some(m) => (m, FactSource::FromConfig),
            None => (0, FactSource::Assumed),
        },
    };
    let opcache = opcache_bytes(stack);
    let budget = ram.value.saturating_sub(reserve + db_mem + opcache);
    let share_basis = if stack
        .pools
        .iter()
        .any(|p| measured.get(&p.name).is_some_and(|w| w.count > 0))
    {
        ShareBasis::WorkersSeen
    } else {
        ShareBasis::CurrentMaxChildren
    };
    let mut pools: Vec<PoolPlan> = stack
        .pools
        .iter()
        .enumerate()
        .map(|(id, p)| {
            let max_children = p
                .settings
                .get("pm.max_children")
                .and_then(|v| v.value.trim().parse::<u64>().ok());
            // The largest a worker may use: a PHP_VALUE from nginx stays in the worker.
            let memory_limit = stack
                .php_variants(id, "memory_limit")
                .iter()
                .map(typed::ini_bytes)
                .filter(|v| *v > 0)
                .max()
                .map(|v| v as u64);
            let workers = measured.get(&p.name);
            let seen = workers.filter(|w| !w.low_confidence());
            let (mut worker_mem, worker_source) = match (host.worker_mem, seen) {
                (Some(w), _) => (w.value, w.source),
                (None, Some(w)) => (w.peak(), FactSource::Measured),
                (None, None) => (t.worker_mem_estimate, FactSource::Assumed),
            };
            if let Some(ml) = memory_limit {
                worker_mem = worker_mem.min(ml);
            }
            let share = match share_basis {
                ShareBasis::WorkersSeen => workers.map_or(0, |w| w.share()),
                ShareBasis::CurrentMaxChildren => max_children.unwrap_or(1).max(1),
            };
            PoolPlan {
                pool: id,
                max_children,
                worker_mem: worker_mem.max(1),
                worker_source,
                low_confidence: workers.is_some_and(|w| w.low_confidence()),
                workers_seen: workers.map_or(0, |w| w.count),
                pss_peak: workers.map_or(0, |w| w.peak()),
                memory_limit,
                share,
                by_memory: 0,
                by_cpu: None,
                recommended: 0,
            }
        })
        .collect();
    let cost: Vec<u64> = pools.iter().map(|p| p.worker_mem).collect();
    let shares: Vec<u64> = pools.iter().map(|p| p.share).collect();
    let by_memory = allocate(budget, &cost, &shares, MIN_CHILDREN);
    let cpu_cap = host.cpus.map(|c| CHILDREN_PER_CPU * c.value.max(1) as u64);
    let by_cpu = cpu_cap.map(|cap| allocate(cap, &vec![1; pools.len()], &shares, MIN_CHILDREN));
    for (i, p) in pools.iter_mut().enumerate() {
        p.by_memory = by_memory[i];
        p.by_cpu = by_cpu.as_ref().map(|v| v[i]);
        p.recommended = p.by_memory.min(p.by_cpu.unwrap_or(u64::MAX));
    }
    // Keep the current values when they already fit and are close to the shares: a
    // tuned stack stays as it is (tune after tune --apply proposes nothing).
    let close = pools.iter().all(|p| {
        p.max_children.is_some_and(|c| {
            c >= MIN_CHILDREN && c.abs_diff(p.recommended) <= (p.recommended / 10).max(1)
        })
    });
    let mem: u64 = pools
        .iter()
        .map(|p| p.max_children.unwrap_or(0) * p.worker_mem)
        .sum();
    let children: u64 = pools.iter().map(|p| p.max_children.unwrap_or(0)).sum();
    let differs = pools.iter().any(|p| p.max_children != Some(p.recommended));
    let kept_current =
        differs && close && mem <= budget && cpu_cap.is_none_or(|cap| children <= cap);
    if kept_current {
        for p in &mut pools {
            p.recommended = p.max_children.unwrap_or(p.recommended);
        }
    }
    Some(Plan {
        ram,
        reserve,
        reserve_source,
        db_mem,
        db_source,
        opcache,
        budget,
        cpus: host.cpus,
        cpu_cap,
        share_basis,
        kept_current,
        pools,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::host::Fact;
    use crate::machine::workers::PoolWorkers;
    use std::collections::BTreeMap;

    const M: u64 = 1 << 20;

    #[test]
    fn opcache_jit_buffer_counted_once_beside_memory_consumption() {
        let d = tempfile::tempdir().unwrap();
        fn copy(from: &std::path::Path, to: &std::path::Path) {
            std::fs::create_dir_all(to).unwrap();
            for e in std::fs::read_dir(from).unwrap().flatten() {
                let t = to.join(e.file_name());
                if e.file_type().unwrap().is_dir() {
                    copy(&e.path(), &t);
                } else {
                    std::fs::copy(e.path(), t).unwrap();
                }
            }
        }
        copy(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks/multipool"),
            d.path(),
        );
        let ini = d.path().join("etc/php/8.2/fpm/conf.d/10-opcache.ini");
        let load = || {
            crate::stack::discover::load(&crate::stack::discover::Inputs {
                paths: vec![d.path().to_path_buf()],
                ..Default::default()
            })
            .expect("stack")
        };
        let base = std::fs::read_to_string(&ini).unwrap();
        let before = opcache_shared(&load());
        assert_eq!(before.jit, 0);
        // Three pools, one instance: the 64M buffer is counted once.
        std::fs::write(&ini, format!("{base}\nopcache.jit_buffer_size=64M\n")).unwrap();
        let on = opcache_shared(&load());
        assert_eq!((on.memory, on.jit), (before.memory, 64 * M));
        assert_eq!(on.total(), before.memory + 64 * M);
        // `off` keeps the buffer reserved; `disable` does not.
        std::fs::write(
            &ini,
            format!("{base}\nopcache.jit_buffer_size=64M\nopcache.jit=off\n"),
        )
        .unwrap();
        assert_eq!(opcache_shared(&load()).jit, 64 * M);
        std::fs::write(
            &ini,
            format!("{base}\nopcache.jit_buffer_size=64M\nopcache.jit=disable\n"),
        )
        .unwrap();
        assert_eq!(opcache_shared(&load()).jit, 0);
    }

    #[test]
    fn allocate_shares_by_weight_with_a_floor() {
        // Equal costs: children follow the shares.
        assert_eq!(allocate(100, &[1, 1], &[3, 1], 2), vec![75, 25]);
        // A pool whose share is under the floor gets the floor; the rest is shared.
        assert_eq!(allocate(16, &[1, 1, 1], &[50, 20, 1], 2), vec![10, 4, 2]);
        // Costs: a pool twice as expensive gets half the children for the same share.
        assert_eq!(allocate(120, &[2, 1], &[1, 1], 1), vec![40, 40]);
        // No shares at all: equal shares.
        assert_eq!(allocate(12, &[1, 1, 1], &[0, 0, 0], 2), vec![4, 4, 4]);
        // Not even the floor fits: everyone gets the floor (the table shows the excess).
        assert_eq!(allocate(3, &[1, 1, 1], &[5, 1, 1], 2), vec![2, 2, 2]);
    }

    fn multipool() -> Stack {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks/multipool");
        crate::stack::discover::load(&crate::stack::discover::Inputs {
            paths: vec![dir],
            ..Default::default()
        })
        .expect("multipool fixture")
    }

    fn given(v: u64) -> Option<Fact<u64>> {
        Some(Fact {
            value: v,
            source: FactSource::Given,
        })
    }

    /// The README's comparison ("How tune compares"): the same host facts through the
    /// per-pool calculator and through the plan. `cargo test --lib readme_comparison
    /// -- --nocapture` prints the table the README shows.
    #[test]
    fn readme_comparison() {
        let stack = multipool();
        let host = Host {
            ram: given(8 << 30),
            cpus: Some(Fact {
                value: 8,
                source: FactSource::Given,
            }),
            worker_mem: None,
            reserve: given(1 << 30),
            db_mem: given(1 << 30),
            ..Default::default()
        };
        // (pool, workers seen, PSS peak, RSS) as `tune` would read them on the host.
        let seen = [
            ("shop", 12, 180 * M, 230 * M),
            ("blog", 6, 70 * M, 120 * M),
            ("staging", 2, 40 * M, 90 * M),
        ];
        let measure = |use_rss: bool| -> BTreeMap<String, PoolWorkers> {
            seen.iter()
                .map(|(name, count, pss, rss)| {
                    let m = if use_rss { *rss } else { *pss };
                    (
                        name.to_string(),
                        PoolWorkers {
                            count: *count,
                            pss_max: m,
                            pss_avg: m * 9 / 10,
                            hwm_max: *rss,
                            pss_peak_max: m,
                            ..Default::default()
                        },
                    )
                })
                .collect()
        };
        let settings = Settings::default();
        let plan = plan_measured(&stack, &host, &settings, &measure(false)).expect("plan");
        // The same shared budget sized by RSS: what measuring PSS adds on its own.
        let by_rss = plan_measured(&stack, &host, &settings, &measure(true)).expect("plan");
        assert_eq!(plan.budget, (8192 - 1024 - 1024 - 128) * M);
        assert_eq!(plan.share_basis, ShareBasis::WorkersSeen);
        println!(
            "| pool | workers seen | RSS | PSS peak | calculator: (RAM − reserve) / RSS, per pool | shared budget, sized by RSS | wpstack: shared budget, sized by PSS |"
        );
        println!("|---|---|---|---|---|---|---|");
        let (mut calc_children, mut calc_mem, mut ours_children, mut ours_mem) = (0, 0, 0, 0);
        let (mut rss_children, mut rss_mem) = (0, 0);
        for (name, count, pss, rss) in seen {
            let p = plan
                .pools
                .iter()
                .find(|p| stack.pools[p.pool].name == name)
                .expect("pool");
            assert_eq!(p.worker_mem, pss);
            assert_eq!(p.worker_source, FactSource::Measured);
            let r = by_rss
                .pools
                .iter()
                .find(|p| stack.pools[p.pool].name == name)
                .expect("pool")
                .recommended;
            rss_children += r;
            rss_mem += r * rss;
            let calc = ((8u64 << 30) - (1 << 30)) / rss;
            calc_children += calc;
            calc_mem += calc * rss;
            ours_children += p.recommended;
            ours_mem += p.recommended * pss;
            println!(
                "| {name} | {count} | {} | {} | {calc} ({}) | {r} ({}) | {} ({}) |",
                human_bytes(rss),
                human_bytes(pss),
                human_bytes(calc * rss),
                human_bytes(r * rss),
                p.recommended,
                human_bytes(p.recommended * pss),
            );
        }
        println!(
            "| **all pools** | | | | **{calc_children} ({})** | **{rss_children} ({})** | **{ours_children} ({})** |",
            human_bytes(calc_mem),
            human_bytes(rss_mem),
            human_bytes(ours_mem)
        );
        println!(
            "budget {} (8G − 1G reserve − 1G database − 128M opcache); CPU cap {:?}",
            human_bytes(plan.budget),
            plan.cpu_cap
        );
        // The calculator's pools together ask for far more than the machine has;
        // the plan's fit the budget that is left after the database and opcache.
        assert!(calc_mem > 2 * (8u64 << 30));
        assert!(ours_mem <= plan.budget);
        assert!(rss_mem <= plan.budget && rss_children < ours_children);
        assert!(ours_children <= plan.cpu_cap.unwrap_or(u64::MAX));
    }
}
