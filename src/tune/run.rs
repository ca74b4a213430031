//! `wpstack tune`: the capacity computation as a table, and the pm.* values and the
//! timeout chain that follow from it as the same span edits fixes use (a reviewable
//! diff).
//!
//! What it decides, per pool (the numbers come from `capacity::plan_measured`):
//! - `pm.max_children`: the pool's share of the one memory budget and of the CPU cap.
//! - `pm`: `ondemand` for small pools (≤ 3 children, or any pool once there are 4 or
//!   more: idle sites then hold no workers), `dynamic` otherwise; a pool already on
//!   `ondemand` stays there, and a lone `static` pool stays static (it has the machine).
//! - `dynamic` spare servers: min = children/4, max = children/2, start between them —
//!   within php-fpm's checks (0 < min ≤ start ≤ max ≤ max_children).
//! - `pm.max_requests` 500 where it is 0 (C204), `listen.backlog` 511 where it is set
//!   below max_children or 128 (U004).
//! - the timeout chain `max_execution_time < request_terminate_timeout ≤
//!   fastcgi_read_timeout (< CDN origin timeout)`: only inverted or unbounded links
//!   change, to the values T101/T102/T103/T105 ask for.

use crate::capacity::spare_servers;
use crate::capacity::{self, Plan, ShareBasis, CHILDREN_PER_CPU};
use crate::fix::{edit, Edit};
use crate::format::human_bytes;
use crate::machine::host::{FactSource, Host};
use crate::machine::workers::PoolWorkers;
use crate::settings::Settings;
use crate::stack::typed;
use crate::stack::Stack;
use std::collections::BTreeMap;

/// A number and where it came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BudgetLine {
    pub what: &'static str,
    pub bytes: u64,
    /// given | configured | measured | assumed | computed
    pub source: &'static str,
    pub note: String,
}

/// One pool's line of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PoolLine {
    pub pool: String,
    pub pm_before: String,
    pub pm_after: String,
    pub workers_seen: usize,
    /// Largest PSS/VmHWM of the workers seen (None: nothing measured).
    pub pss_peak: Option<u64>,
    /// Workers were seen but read low: the estimate is used instead.
    pub low_confidence: bool,
    pub worker_mem: u64,
    pub worker_mem_source: &'static str,
    pub memory_limit: Option<u64>,
    pub share: u64,
    pub children_by_memory: u64,
    pub children_by_cpu: Option<u64>,
    pub max_children_before: Option<u64>,
    pub max_children_after: u64,
    /// (start, min, max) spare servers when the pool ends up `dynamic`.
    pub spare_servers: Option<[u64; 3]>,
    pub max_requests_after: Option<u64>,
    pub listen_backlog_after: Option<u64>,
    /// The new pm.max_children was within the hysteresis band (`tune-up-percent`,
    /// `tune-down-percent`): the current value is kept.
    pub held: Option<u64>,
    /// php-fpm's status showed the pool out of workers.
    pub saturated: bool,
    /// What a sampling window saw (`tune --sample`).
    pub sample: Option<crate::machine::workers::SampleStats>,
}

/// One pool key the tuner set: what a drop-in file holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PoolSet {
    pub pool: String,
    pub key: String,
    pub value: String,
}

/// One link from a PHP location to a pool: seconds, 0 = unbounded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainLine {
    pub site: String,
    pub pool: String,
    pub max_execution_time: [u64; 2],
    pub request_terminate_timeout: [u64; 2],
    pub fastcgi_read_timeout: [u64; 2],
    pub cdn_origin_timeout: Option<u64>,
}

/// A database server configured in the tree: its memory and the connections the
/// tuned pools need.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DbLine {
    pub main: String,
    pub pools: Vec<String>,
    pub global_buffers: u64,
    pub per_connection: u64,
    /// Σ pm.max_children (after) of its pools + the reserve.
    pub connections_needed: u64,
    pub max_connections_before: u64,
    pub max_connections_after: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Tuning {
    pub ram: u64,
    pub ram_source: &'static str,
    pub budget_lines: Vec<BudgetLine>,
    pub budget: u64,
    pub cpus: Option<usize>,
    pub cpus_source: Option<&'static str>,
    /// All pools together at most this many children (CHILDREN_PER_CPU × CPUs).
    pub cpu_cap: Option<u64>,
    pub share_basis: ShareBasis,
    pub kept_current: bool,
    pub pools: Vec<PoolLine>,
    pub timeout_chain: Vec<ChainLine>,
    /// Every pool key changed, in order (the span edits below set the same values).
    pub pool_sets: Vec<PoolSet>,
    /// The hysteresis band used: [up %, down %].
    pub hysteresis: [u64; 2],
    /// Database servers configured in the tree (my.cnf); empty when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<DbLine>,
    #[serde(skip)]
    pub edits: Vec<Edit>,
}

fn source(s: FactSource) -> &'static str {
    match s {
        FactSource::Given => "given",
        FactSource::Configured => "configured",
        FactSource::Measured => "measured",
        FactSource::Assumed => "assumed",
        FactSource::FromConfig => "my.cnf",
    }
}

/// The pm mode for a pool that gets `children`, among `pools` pools.
pub fn pm_mode(before: &str, children: u64, pools: usize) -> &'static str {
    match before {
        "ondemand" => "ondemand",
        "static" if pools == 1 => "static",
        _ if pools >= 4 || children <= 3 => "ondemand",
        _ => "dynamic",
    }
}

fn text(v: Option<&crate::stack::Sourced<String>>) -> Option<String> {
    v.map(|s| s.value.trim().to_string())
}

pub fn tune(
    stack: &Stack,
    host: &Host,
    settings: &Settings,
    measured: &BTreeMap<String, PoolWorkers>,
) -> Option<Tuning> {
    let plan: Plan = capacity::plan_measured(stack, host, settings, measured)?;
    let mut edits = Vec::new();
    let mut sets: Vec<PoolSet> = Vec::new();
    let mut set = |edits: &mut Vec<Edit>, pool: &crate::stack::Pool, key: &str, value: &str| {
        sets.push(PoolSet {
            pool: pool.name.clone(),
            key: key.to_string(),
            value: value.to_string(),
        });
        edits.extend(edit::pool_set(stack, pool, key, value));
    };
    let mut pools = Vec::new();
    let n_pools = plan.pools.len();
    let afters = hysteresis(&plan, settings, |id| {
        measured
            .get(&stack.pools[id].name)
            .is_some_and(|w| w.saturated())
    });
    for (p, (after, held)) in plan.pools.iter().zip(afters) {
        let pool = &stack.pools[p.pool];
        let pm_before = text(pool.settings.get("pm")).unwrap_or_else(|| "dynamic".into());
        let pm_after = pm_mode(&pm_before, after, n_pools);
        if pm_after != pm_before {
            set(&mut edits, pool, "pm", pm_after);
        }
        if p.max_children != Some(after) {
            set(&mut edits, pool, "pm.max_children", &after.to_string());
        }
        let mut spare = None;
        let current_spare = || -> Option<[u64; 3]> {
            let v = |k: &str| text(pool.settings.get(k))?.parse::<u64>().ok();
            let (start, min, max) = (
                v("pm.start_servers")?,
                v("pm.min_spare_servers")?,
                v("pm.max_spare_servers")?,
            );
            (min >= 1 && min <= start && start <= max && max <= after).then_some([start, min, max])
        };
        if pm_after == "dynamic" {
            // A held pool keeps its spare servers too while php-fpm accepts them.
            if let Some(cur) = current_spare().filter(|_| held && pm_before == "dynamic") {
                spare = Some(cur);
            } else {
                let (start, min, max) = spare_servers(after);
                spare = Some([start, min, max]);
                for (k, v) in [
                    ("pm.start_servers", start),
                    ("pm.min_spare_servers", min),
                    ("pm.max_spare_servers", max),
                ] {
                    if text(pool.settings.get(k)) != Some(v.to_string()) {
                        set(&mut edits, pool, k, &v.to_string());
                    }
                }
            }
        }
        let mut max_requests_after = None;
        if pool
            .setting("pm.max_requests")
            .is_some_and(|m| m.value.trim() == "0")
        {
            max_requests_after = Some(500);
            set(&mut edits, pool, "pm.max_requests", "500");
        }
        let mut listen_backlog_after = None;
        if let Some(b) = pool
            .settings
            .get("listen.backlog")
            .and_then(|b| b.value.trim().parse::<i64>().ok())
        {
            let min = settings.thresholds.backlog_min as i64;
            if b >= 0 && (b < min || b < after as i64) {
                let v = 511.max(after);
                listen_backlog_after = Some(v);
                set(&mut edits, pool, "listen.backlog", &v.to_string());
            }
        }
        pools.push(PoolLine {
            pool: pool.name.clone(),
            pm_before,
            pm_after: pm_after.to_string(),
            workers_seen: p.workers_seen,
            pss_peak: (p.workers_seen > 0).then_some(p.pss_peak),
            low_confidence: p.low_confidence,
            worker_mem: p.worker_mem,
            worker_mem_source: source(p.worker_source),
            memory_limit: p.memory_limit,
            share: p.share,
            children_by_memory: p.by_memory,
            children_by_cpu: p.by_cpu,
            max_children_before: p.max_children,
            max_children_after: after,
            spare_servers: spare,
            max_requests_after,
            listen_backlog_after,
            held: held.then_some(p.recommended),
            saturated: measured.get(&pool.name).is_some_and(|w| w.saturated()),
            sample: measured.get(&pool.name).and_then(|w| w.sample.clone()),
        });
    }
    let timeout_chain = chain(stack, settings, &mut edits, &mut |edits, pool, k, v| {
        set(edits, pool, k, v)
    });
    let after: BTreeMap<usize, u64> = plan
        .pools
        .iter()
        .zip(&pools)
        .map(|(p, l)| (p.pool, l.max_children_after))
        .collect();
    let databases = databases(stack, settings, &after, &mut edits);
    // One edit per place: a pool or location reached twice asks for the same change.
    // Several keys inserted at the end of the same pool are one insertion (the
    // merge refuses two edits at one point), in the order they were decided.
    let mut unique: Vec<Edit> = Vec::new();
    for e in edits {
        if unique.contains(&e) {
            continue;
        }
        let is_insert = e.range.start == e.range.end;
        match unique
            .iter_mut()
            .find(|u| is_insert && u.file == e.file && u.range == e.range)
        {
            Some(u) => u.replacement.extend_from_slice(&e.replacement),
            None => unique.push(e),
        }
    }
    let mut budget_lines = vec![BudgetLine {
        what: "RAM",
        bytes: plan.ram.value,
        source: source(plan.ram.source),
        note: match plan.ram.source {
            FactSource::Measured => "physical RAM or the cgroup limit, the smaller".into(),
            _ => String::new(),
        },
    }];
    budget_lines.push(BudgetLine {
        what: "OS reserve",
        bytes: plan.reserve,
        source: source(plan.reserve_source),
        note: match plan.reserve_source {
            FactSource::Assumed => "max(512M, 10 % of RAM)".into(),
            _ => String::new(),
        },
    });
    budget_lines.push(BudgetLine {
        what: "database/cache",
        bytes: plan.db_mem,
        source: source(plan.db_source),
        note: match plan.db_source {
            FactSource::Assumed => "none counted: give --db-mem if they share this host".into(),
            FactSource::Measured => "RSS of mysqld/mariadbd/redis-server/memcached".into(),
            FactSource::FromConfig => {
                "global buffers + per-connection buffers × the connections its pools open (pre-deploy; on the host its RSS is measured)".into()
            }
            _ => String::new(),
        },
    });
    let oc = capacity::opcache_shared(stack);
    budget_lines.push(BudgetLine {
        what: "opcache",
        bytes: plan.opcache,
        source: "configured",
        note: {
            let mut n = "opcache.memory_consumption".to_string();
            if oc.interned > 0 {
                n.push_str(&format!(
                    " (its {} of interned strings inside it)",
                    human_bytes(oc.interned)
                ));
            }
            if oc.jit > 0 {
                n.push_str(&format!(
                    " + opcache.jit_buffer_size {}",
                    human_bytes(oc.jit)
                ));
            }
            n.push_str(", shared: counted once");
            n
        },
    });
    Some(Tuning {
        ram: plan.ram.value,
        ram_source: source(plan.ram.source),
        budget_lines,
        budget: plan.budget,
        cpus: plan.cpus.map(|c| c.value),
        cpus_source: plan.cpus.map(|c| source(c.source)),
        cpu_cap: plan.cpu_cap,
        share_basis: plan.share_basis,
        kept_current: plan.kept_current,
        pools,
        timeout_chain,
        pool_sets: sets,
        hysteresis: [
            settings.thresholds.tune_up_percent,
            settings.thresholds.tune_down_percent,
        ],
        databases,
        edits: unique,
    })
}

/// Each pool's pm.max_children after hysteresis, and whether it was held: a new value
/// within `tune-up-percent` above or `tune-down-percent` below the current one is not
/// proposed (the current one stays), so `tune` from cron does not flap. A pool
/// php-fpm's status saw saturated is never held back from growing. Held values must
/// still fit the budget and the CPU cap together: when they do not, the pools held
/// above their share are released first, then all.
pub fn hysteresis(
    plan: &Plan,
    settings: &Settings,
    saturated: impl Fn(usize) -> bool,
) -> Vec<(u64, bool)> {
    let (up, down) = (
        settings.thresholds.tune_up_percent,
        settings.thresholds.tune_down_percent,
    );
    let mut out: Vec<(u64, bool)> = plan
        .pools
        .iter()
        .map(|p| {
            let a = p.recommended;
            match p.max_children {
                Some(b) if b >= capacity::MIN_CHILDREN && a != b => {
                    let within = if a > b {
                        !saturated(p.pool) && (a - b) * 100 <= b * up
                    } else {
                        (b - a) * 100 <= b * down
                    };
                    if within {
                        (b, true)
                    } else {
                        (a, false)
                    }
                }
                _ => (a, false),
            }
        })
        .collect();
    let fits = |out: &[(u64, bool)]| {
        let mem: u64 = out
            .iter()
            .zip(&plan.pools)
            .map(|((c, _), p)| c * p.worker_mem)
            .sum();
        let children: u64 = out.iter().map(|(c, _)| c).sum();
        mem <= plan.budget && plan.cpu_cap.is_none_or(|cap| children <= cap)
    };
    if !fits(&out) {
        for (o, p) in out.iter_mut().zip(&plan.pools) {
            if o.1 && o.0 > p.recommended {
                *o = (p.recommended, false);
            }
        }
    }
    if !fits(&out) {
        for (o, p) in out.iter_mut().zip(&plan.pools) {
            *o = (p.recommended, false);
        }
    }
    out
}

/// Each database server's max_connections, consistent with the tuned pools: raised to
/// Σ pm.max_children of the pools using it + the reserve when below (never lowered:
/// other clients may use it too).
fn databases(
    stack: &Stack,
    settings: &Settings,
    after: &BTreeMap<usize, u64>,
    edits: &mut Vec<Edit>,
) -> Vec<DbLine> {
    let reserve = settings.thresholds.db_connection_reserve;
    stack
        .databases
        .iter()
        .map(|db| {
            let m = db.memory();
            let children: u64 = db.pools.iter().filter_map(|p| after.get(p)).sum();
            let needed = if db.pools.is_empty() {
                0
            } else {
                children + reserve
            };
            let before = m.max_connections;
            let mut after_mc = before;
            if needed > before {
                if let Some(e) = edit::mycnf_set(stack, db, "max_connections", &needed.to_string())
                {
                    edits.push(e);
                    after_mc = needed;
                }
            }
            DbLine {
                main: stack.sources.get(db.main).display.clone(),
                pools: db
                    .pools
                    .iter()
                    .map(|p| stack.pools[*p].name.clone())
                    .collect(),
                global_buffers: m.global,
                per_connection: m.per_connection,
                connections_needed: needed,
                max_connections_before: before,
                max_connections_after: after_mc,
            }
        })
        .collect()
}

/// The timeout chain per PHP location and pool it reaches: one consistent set of
/// values, changed only where a link is inverted or unbounded.
type SetFn<'a> = dyn FnMut(&mut Vec<Edit>, &crate::stack::Pool, &str, &str) + 'a;

fn chain(
    stack: &Stack,
    settings: &Settings,
    edits: &mut Vec<Edit>,
    set: &mut SetFn<'_>,
) -> Vec<ChainLine> {
    let cdn = settings.cdn.origin_timeout().map(|(s, _)| s);
    // The most nginx may wait below the CDN (T105 keeps 5 s of room).
    let ceiling = cdn.map(|c| c.saturating_sub(5).max(2));
    // Shortest fastcgi_read_timeout reaching each pool (T103's fallback).
    let mut read_by_pool: BTreeMap<usize, u64> = BTreeMap::new();
    for (n, _, l) in stack.wp_php_locations() {
        if let Some(v) = n
            .effective_value(l.scope, "fastcgi_read_timeout")
            .and_then(|v| typed::nginx_seconds(&v))
        {
            for p in &l.pools {
                let e = read_by_pool.entry(*p).or_insert(v);
                *e = (*e).min(v);
            }
        }
    }
    // Per pool: (met before, met after, rtt before, rtt after).
    let mut per_pool: BTreeMap<usize, [u64; 4]> = BTreeMap::new();
    for (id, pool) in stack.pools.iter().enumerate() {
        // The longest a worker may run: a PHP_VALUE from nginx stays in the worker.
        let met = stack
            .php_variants(id, "max_execution_time")
            .iter()
            .filter_map(typed::php_seconds)
            .max()
            .unwrap_or(0)
            .max(0) as u64;
        let rtt = pool
            .setting("request_terminate_timeout")
            .and_then(|r| typed::fpm_seconds(&r))
            .unwrap_or(0);
        let mut rtt_after = match (met, rtt) {
            (m, r) if m > 0 && (r == 0 || r <= m) => m + 10, // T102, T103
            (0, 0) => read_by_pool.get(&id).copied().unwrap_or(60), // T103
            (_, r) => r,
        };
        let mut met_after = met;
        if let Some(c) = ceiling {
            if rtt_after > c {
                rtt_after = c;
            }
            if met_after >= rtt_after {
                let gap = if rtt_after > 20 {
                    10
                } else {
                    (rtt_after / 4).max(1)
                };
                met_after = rtt_after - gap;
            }
        }
        if rtt_after != rtt {
            set(
                edits,
                pool,
                "request_terminate_timeout",
                &format!("{rtt_after}s"),
            );
        }
        if met_after != met {
            set(
                edits,
                pool,
                "php_admin_value[max_execution_time]",
                &met_after.to_string(),
            );
        }
        per_pool.insert(id, [met, met_after, rtt, rtt_after]);
    }
    let mut lines = Vec::new();
    for (n, site, loc) in stack.wp_php_locations() {
        let Some(read) = n
            .effective_value(loc.scope, "fastcgi_read_timeout")
            .and_then(|v| typed::nginx_seconds(&v))
        else {
            continue;
        };
        let needed = loc
            .pools
            .iter()
            .filter_map(|p| per_pool.get(p))
            .map(|[_, met, _, rtt]| if *rtt > 0 { *rtt } else { *met })
            .max()
            .unwrap_or(0);
        let mut read_after = read.max(needed);
        if let (Some(c), Some(cdn)) = (ceiling, cdn) {
            // The CDN must give up last: strictly above nginx.
            if read_after >= cdn {
                read_after = c.max(needed);
            }
        }
        if read_after != read {
            edits.extend(edit::nginx_set(
                stack,
                n,
                loc.scope,
                "fastcgi_read_timeout",
                &format!("{read_after}s"),
            ));
        }
        for p in &loc.pools {
            let Some([met, met_after, rtt, rtt_after]) = per_pool.get(p) else {
                continue;
            };
            lines.push(ChainLine {
                site: site.name(),
                pool: stack.pools[*p].name.clone(),
                max_execution_time: [*met, *met_after],
                request_terminate_timeout: [*rtt, *rtt_after],
                fastcgi_read_timeout: [read, read_after],
                cdn_origin_timeout: cdn,
            });
        }
    }
    lines
}

fn change(v: Option<u64>, after: u64) -> String {
    match v {
        Some(b) if b == after => b.to_string(),
        Some(b) => format!("{b} → {after}"),
        None => format!("unset → {after}"),
    }
}

fn secs(pair: [u64; 2]) -> String {
    let s = |v: u64| {
        if v == 0 {
            "0 (unbounded)".to_string()
        } else {
            format!("{v}s")
        }
    };
    if pair[0] == pair[1] {
        s(pair[0])
    } else {
        format!("{} → {}", s(pair[0]), s(pair[1]))
    }
}

/// The table people read before the diff.
pub fn table(t: &Tuning) -> String {
    let mut out = String::from("Budget for PHP workers\n");
    for (i, b) in t.budget_lines.iter().enumerate() {
        let sign = if i == 0 { " " } else { "−" };
        let note = if b.note.is_empty() {
            String::new()
        } else {
            format!(": {}", b.note)
        };
        out.push_str(&format!(
            "  {sign} {:<16} {:>8}  {}{note}\n",
            b.what,
            human_bytes(b.bytes),
            b.source
        ));
    }
    out.push_str(&format!(
        "  = {:<16} {:>8}  shared by all pools\n",
        "budget",
        human_bytes(t.budget)
    ));
    if let (Some(c), Some(src), Some(cap)) = (t.cpus, t.cpus_source, t.cpu_cap) {
        out.push_str(&format!(
            "    {:<16} {:>8}  {src}: at most {cap} children in all ({CHILDREN_PER_CPU} per CPU)\n",
            "CPUs", c
        ));
    }
    out.push('\n');
    out.push_str(match t.share_basis {
        ShareBasis::WorkersSeen => {
            "Pools: each one's share = worker memory × workers seen running\n"
        }
        ShareBasis::CurrentMaxChildren => {
            "Pools: nothing measured, so each one's share = worker memory × its current pm.max_children\n"
        }
    });
    out.push_str(&format!(
        "  {:<12} {:<20} {:>7}  {:<26} {:<20} {:>10}  {:<10}\n",
        "pool", "pm", "workers", "PSS peak", "per worker", "by mem/CPU", "max_children"
    ));
    for p in &t.pools {
        let pm = if p.pm_before == p.pm_after {
            p.pm_after.clone()
        } else {
            format!("{} → {}", p.pm_before, p.pm_after)
        };
        let pss = match (p.pss_peak, p.low_confidence) {
            (None, _) => "-".to_string(),
            (Some(v), true) => format!("{} low confidence → estimate", human_bytes(v)),
            (Some(v), false) => human_bytes(v),
        };
        let per = format!("{} {}", human_bytes(p.worker_mem), p.worker_mem_source);
        let by = format!(
            "{}/{}",
            p.children_by_memory,
            p.children_by_cpu
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into())
        );
        out.push_str(&format!(
            "  {:<12} {:<20} {:>7}  {:<26} {:<20} {:>10}  {}\n",
            p.pool,
            pm,
            p.workers_seen,
            pss,
            per,
            by,
            change(p.max_children_before, p.max_children_after)
        ));
    }
    if t.kept_current {
        out.push_str(
            "  (the current pm.max_children fit and are within a tenth of their shares: kept)\n",
        );
    }
    for p in &t.pools {
        if let (Some(share), Some(b)) = (p.held, p.max_children_before) {
            out.push_str(&format!(
                "  {}: {share} would move {b} by less than the hysteresis band (+{}%/−{}%): kept at {b}\n",
                p.pool, t.hysteresis[0], t.hysteresis[1]
            ));
        }
    }
    if t.pools.iter().any(|p| p.sample.is_some()) {
        out.push_str("\nSampled (per-worker peak = its largest PSS + (VmHWM − Rss) over the window; sized from the p95, nearest rank)\n");
        for p in &t.pools {
            let Some(s) = &p.sample else { continue };
            let busy = match s.busy_peak {
                Some(b) => format!(
                    "busy peak {b} (status page, {} of {} ticks)",
                    s.status_samples, s.ticks
                ),
                None => format!(
                    "no status page ({}): share by workers seen",
                    s.status_error
                        .as_deref()
                        .unwrap_or("pm.status_path not set")
                ),
            };
            out.push_str(&format!(
                "  {:<12} p95 {} (used), max {}: {} readings of {} workers over {} ticks; {busy}\n",
                p.pool,
                human_bytes(s.p95),
                human_bytes(s.max),
                s.readings,
                s.workers,
                s.ticks
            ));
            if let Some(sat) = s.saturation.as_ref().filter(|x| x.is_saturated()) {
                out.push_str(&format!(
                    "  {:<12} SATURATED: {}; its share grows first\n",
                    "",
                    sat.describe()
                ));
            }
        }
    }
    for d in &t.databases {
        out.push_str(&format!(
            "\nDatabase {} (pools: {})\n",
            d.main,
            if d.pools.is_empty() {
                "none linked".to_string()
            } else {
                d.pools.join(", ")
            }
        ));
        out.push_str(&format!(
            "  buffers          {} global + {} per connection\n",
            human_bytes(d.global_buffers),
            human_bytes(d.per_connection)
        ));
        if d.connections_needed > 0 {
            out.push_str(&format!(
                "  max_connections  {}  (the pools open up to {}: their pm.max_children + {} reserve)\n",
                change(Some(d.max_connections_before), d.max_connections_after),
                d.connections_needed,
                d.connections_needed.saturating_sub(
                    t.pools
                        .iter()
                        .filter(|p| d.pools.contains(&p.pool))
                        .map(|p| p.max_children_after)
                        .sum::<u64>()
                )
            ));
        } else {
            out.push_str(&format!(
                "  max_connections  {}  (no pool's site reaches it through DB_HOST)\n",
                d.max_connections_before
            ));
        }
    }
    if !t.timeout_chain.is_empty() {
        out.push_str(
            "\nTimeout chain: max_execution_time < request_terminate_timeout ≤ fastcgi_read_timeout",
        );
        if let Some(c) = t.timeout_chain.first().and_then(|c| c.cdn_origin_timeout) {
            out.push_str(&format!(" < CDN {c}s"));
        }
        out.push('\n');
        for c in &t.timeout_chain {
            out.push_str(&format!(
                "  {} → {}: {} < {} ≤ {}\n",
                c.site,
                c.pool,
                secs(c.max_execution_time),
                secs(c.request_terminate_timeout),
                secs(c.fastcgi_read_timeout)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_servers_pass_php_fpm_checks() {
        for mc in 1..=600 {
            let (start, min, max) = spare_servers(mc);
            assert!(
                min >= 1 && min <= start && start <= max && max <= mc,
                "{mc}"
            );
        }
        assert_eq!(spare_servers(10), (3, 2, 5));
        assert_eq!(spare_servers(160), (24, 16, 32));
    }

    #[test]
    fn measured_pools_share_by_workers_seen_and_idle_ones_fall_back() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks/multipool");
        let stack = crate::stack::discover::load(&crate::stack::discover::Inputs {
            paths: vec![dir],
            ..Default::default()
        })
        .expect("fixture");
        let fact = |v: u64| {
            Some(crate::machine::host::Fact {
                value: v,
                source: FactSource::Measured,
            })
        };
        let host = Host {
            ram: fact(4 << 30),
            cpus: Some(crate::machine::host::Fact {
                value: 4,
                source: FactSource::Measured,
            }),
            worker_mem: None,
            reserve: None,
            db_mem: fact(512 << 20),
            ..Default::default()
        };
        let w = |count, mb: u64| PoolWorkers {
            count,
            pss_max: mb << 20,
            pss_avg: mb << 20,
            hwm_max: mb << 20,
            pss_peak_max: mb << 20,
            ..Default::default()
        };
        let mut measured = BTreeMap::new();
        measured.insert("shop".to_string(), w(8, 150));
        measured.insert("blog".to_string(), w(4, 60));
        // One idle staging worker: low confidence, the estimate is used.
        measured.insert("staging".to_string(), w(1, 6));
        let t = tune(&stack, &host, &Settings::default(), &measured).expect("tuning");
        assert_eq!(t.share_basis, ShareBasis::WorkersSeen);
        let pool = |n: &str| t.pools.iter().find(|p| p.pool == n).expect("pool");
        assert_eq!(pool("shop").worker_mem, 150 << 20);
        assert_eq!(pool("shop").worker_mem_source, "measured");
        assert!(pool("staging").low_confidence);
        assert_eq!(pool("staging").worker_mem, 64 << 20);
        assert_eq!(pool("staging").worker_mem_source, "assumed");
        assert_eq!(t.budget_lines[2].source, "measured");
        let demand: u64 = t
            .pools
            .iter()
            .map(|p| p.max_children_after * p.worker_mem)
            .sum();
        assert!(demand <= t.budget);
        assert!(pool("shop").max_children_after > pool("blog").max_children_after);
        let text = table(&t);
        assert!(text.contains("low confidence → estimate"), "{text}");
        assert!(text.contains("workers seen running"), "{text}");

        // Sampled: shop saturated with 8 busy → it grows first; the table says what
        // each number rests on.
        let sat = crate::machine::workers::Saturation {
            max_children_reached: 3,
            reached_in_window: 2,
            max_listen_queue: 4,
            listen_queue_seen: 2,
            since_secs: 3700,
            slow_requests: 0,
        };
        let mut sampled = measured.clone();
        for (name, busy, saturation) in [("shop", 8, Some(sat)), ("blog", 4, None)] {
            let w = sampled.get_mut(name).expect("pool");
            w.sample = Some(crate::machine::workers::SampleStats {
                ticks: 30,
                readings: 240,
                workers: w.count,
                p95: w.pss_max,
                max: w.pss_max + (10 << 20),
                busy_peak: Some(busy),
                status_samples: 30,
                saturation,
                ..Default::default()
            });
        }
        assert_eq!(sampled["shop"].share(), 8 + 4 + 1);
        assert_eq!(sampled["blog"].share(), 4);
        let ts = tune(&stack, &host, &Settings::default(), &sampled).expect("tuning");
        let text = table(&ts);
        assert!(
            text.contains("SATURATED: max children reached 3 times (2 during the window)"),
            "{text}"
        );
        assert!(text.contains("p95 150M (used), max 160M: 240 readings of 8 workers over 30 ticks; busy peak 8 (status page, 30 of 30 ticks)"), "{text}");
        let shop = |t: &Tuning| {
            t.pools
                .iter()
                .find(|p| p.pool == "shop")
                .unwrap()
                .max_children_after
        };
        assert!(
            shop(&ts) > shop(&t),
            "saturation grows shop: {} vs {}",
            shop(&ts),
            shop(&t)
        );
    }

    fn plan_of(current: &[u64], recommended: &[u64], budget: u64) -> Plan {
        Plan {
            ram: crate::machine::host::Fact {
                value: budget,
                source: FactSource::Given,
            },
            reserve: 0,
            reserve_source: FactSource::Given,
            db_mem: 0,
            db_source: FactSource::Given,
            opcache: 0,
            budget,
            cpus: None,
            cpu_cap: None,
            share_basis: ShareBasis::CurrentMaxChildren,
            kept_current: false,
            pools: current
                .iter()
                .zip(recommended)
                .enumerate()
                .map(|(i, (c, r))| capacity::PoolPlan {
                    pool: i,
                    max_children: Some(*c),
                    worker_mem: 1,
                    worker_source: FactSource::Given,
                    low_confidence: false,
                    workers_seen: 0,
                    pss_peak: 0,
                    memory_limit: None,
                    share: 1,
                    by_memory: *r,
                    by_cpu: None,
                    recommended: *r,
                })
                .collect(),
        }
    }

    #[test]
    fn hysteresis_holds_small_moves_and_lets_big_ones_and_saturation_through() {
        let s = Settings::default();
        let none = |_| false;
        // +15 % up and −30 % down are held; one child more is a move.
        let plan = plan_of(&[20, 20, 20, 20], &[23, 24, 14, 13], 1000);
        assert_eq!(
            hysteresis(&plan, &s, none),
            vec![(20, true), (24, false), (20, true), (13, false)]
        );
        // A saturated pool grows whatever the band says.
        assert_eq!(
            hysteresis(&plan, &s, |i| i == 0),
            vec![(23, false), (24, false), (20, true), (13, false)]
        );
        // Held values that no longer fit the budget are released: first the ones
        // held above their share.
        let plan = plan_of(&[20, 10], &[16, 11], 27);
        assert_eq!(hysteresis(&plan, &s, none), vec![(16, false), (10, true)]);
        let plan = plan_of(&[20, 10], &[16, 9], 25);
        assert_eq!(hysteresis(&plan, &s, none), vec![(16, false), (9, false)]);
        // The band comes from the settings (wpstack.toml [thresholds]).
        let mut wide = Settings::default();
        wide.thresholds.set("tune-up-percent", 50);
        wide.thresholds.set("tune-down-percent", 0);
        let plan = plan_of(&[20, 20], &[29, 19], 1000);
        assert_eq!(
            hysteresis(&plan, &wide, none),
            vec![(20, true), (19, false)]
        );
    }

    #[test]
    fn pm_mode_rule() {
        assert_eq!(pm_mode("dynamic", 3, 2), "ondemand");
        assert_eq!(pm_mode("dynamic", 4, 3), "dynamic");
        assert_eq!(pm_mode("static", 40, 3), "dynamic");
        assert_eq!(pm_mode("static", 40, 1), "static");
        assert_eq!(pm_mode("dynamic", 40, 4), "ondemand");
        assert_eq!(pm_mode("ondemand", 40, 2), "ondemand");
    }
}
