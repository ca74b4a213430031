//! `tune --sample DURATION --interval STEP`: watch the pools for a window instead of
//! reading one snapshot. Each tick reads every worker of the stack's master (PSS and
//! Rss from smaps_rollup, VmHWM and the state letter from status) and, for pools with
//! `pm.status_path`, php-fpm's own status page over the pool's socket
//! ([`super::fpm_status`]). What it keeps per pool:
//!
//! - each worker's peak (by pid: its largest PSS + (VmHWM − Rss) over the window, the
//!   same per-worker peak the snapshot uses), and of those the p95 (nearest rank) and
//!   the max. The pool is sized from the **p95**: the typical heavy request, which many
//!   workers reach at once; one outlier request that peaks higher does not size every
//!   worker (its memory_limit bounds it). With fewer than 20 workers seen the nearest
//!   rank p95 is the max.
//! - the busy workers per tick (the status page's `active processes`, minus the request
//!   asking, when it asked over the pool's own socket), and their peak: the pool's share
//!   of the budget. Without a status page, the workers seen (the snapshot's basis).
//! - the status counters at the first and last tick: `max children reached` and
//!   `max listen queue` count since php-fpm started (or reloaded); the window's own
//!   increase is shown beside them.
//!
//! Ctrl-C ends the window early: what was seen so far decides (a second Ctrl-C exits).

use super::fpm_status::{self, Listen, Status};
use crate::machine::workers::{kb_field, pool_of, ppid, PoolWorkers, SampleStats, Saturation};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to watch and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    pub proc_root: PathBuf,
    /// The stack's master: only its workers are read (None: every php-fpm worker).
    pub master: Option<u32>,
    pub duration: Duration,
    pub interval: Duration,
    /// Per pool: where its status page answers, and whether that is the pool's own
    /// socket (then the asking request is one of the active processes).
    pub status: BTreeMap<String, (Listen, String, bool)>,
    /// Progress lines on stderr (only when it is a terminal).
    pub progress: bool,
}

/// One pool over the window.
#[derive(Debug, Clone, Default)]
pub struct PoolWindow {
    /// Per worker pid: its largest peak PSS over the window.
    pub peak_by_pid: BTreeMap<u32, u64>,
    pub hwm_max: u64,
    /// Worker readings taken (workers × ticks).
    pub readings: usize,
    /// Most workers seen in one tick.
    pub workers_max: usize,
    /// Most workers in state R or D (on a CPU or in the kernel) in one tick.
    pub running_max: usize,
    /// Busy workers per the status page, the most in one tick.
    pub busy_max: Option<u64>,
    pub listen_queue_max: u64,
    pub status_samples: usize,
    pub status_error: Option<String>,
    pub first: Option<Status>,
    pub last: Option<Status>,
    pub baseline: u64,
}

/// The whole window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub ticks: usize,
    pub elapsed: Duration,
    pub interval: Duration,
    pub interrupted: bool,
    pub pools: BTreeMap<String, PoolWindow>,
}

/// The nearest-rank p95 of `v` (sorted here); 0 for none.
pub fn p95(v: &[u64]) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    let rank = (s.len() * 95).div_ceil(100).max(1);
    s[rank - 1]
}

impl PoolWindow {
    /// What the tuner sizes from: the workers of this pool as [`PoolWorkers`], their
    /// memory the p95 of the per-worker peaks, their count the most seen at once, the
    /// sample's facts attached.
    pub fn workers(&self, ticks: usize) -> PoolWorkers {
        let peaks: Vec<u64> = self.peak_by_pid.values().copied().collect();
        let (p95v, max) = (p95(&peaks), peaks.iter().copied().max().unwrap_or(0));
        let saturation = self.last.as_ref().map(|last| {
            let first = self.first.as_ref().unwrap_or(last);
            Saturation {
                max_children_reached: last.max_children_reached,
                reached_in_window: last
                    .max_children_reached
                    .saturating_sub(first.max_children_reached),
                max_listen_queue: last.max_listen_queue,
                listen_queue_seen: self.listen_queue_max,
                since_secs: last.start_since,
                slow_requests: last.slow_requests,
            }
        });
        PoolWorkers {
            count: self.workers_max,
            pss_max: p95v,
            pss_avg: if peaks.is_empty() {
                0
            } else {
                peaks.iter().sum::<u64>() / peaks.len() as u64
            },
            hwm_max: self.hwm_max,
            pss_peak_max: p95v,
            pids: self.peak_by_pid.keys().copied().collect(),
            baseline: self.baseline,
            sample: Some(SampleStats {
                ticks,
                readings: self.readings,
                workers: peaks.len(),
                p95: p95v,
                max,
                busy_peak: self.busy_max,
                running_peak: self.running_max,
                status_samples: self.status_samples,
                status_error: self.status_error.clone(),
                saturation,
            }),
        }
    }
}

impl Window {
    pub fn workers(&self) -> BTreeMap<String, PoolWorkers> {
        self.pools
            .iter()
            .map(|(k, w)| (k.clone(), w.workers(self.ticks)))
            .collect()
    }
}

/// One tick: every worker (of `master`) read into `w`.
pub fn tick(opts: &Options, w: &mut Window) {
    let mut seen: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (pid, dir) in crate::machine::host::pids(&opts.proc_root) {
        let Ok(cmd) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let Some(pool) = pool_of(&cmd) else { continue };
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        if opts.master.is_some() && ppid(&status) != opts.master {
            continue;
        }
        let rollup = std::fs::read_to_string(dir.join("smaps_rollup")).unwrap_or_default();
        let pss = kb_field(&rollup, "Pss:").unwrap_or(0);
        let rss = kb_field(&rollup, "Rss:").unwrap_or(0);
        let hwm = kb_field(&status, "VmHWM:").unwrap_or(0);
        let running = status
            .lines()
            .find(|l| l.starts_with("State:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .is_some_and(|s| s == "R" || s == "D");
        let freed = if rss > 0 { hwm.saturating_sub(rss) } else { 0 };
        let p = w.pools.entry(pool.clone()).or_default();
        let e = p.peak_by_pid.entry(pid).or_default();
        *e = (*e).max(pss + freed);
        p.hwm_max = p.hwm_max.max(hwm);
        p.readings += 1;
        if p.baseline == 0 {
            if let Some(m) = opts.master.or_else(|| ppid(&status)) {
                let ms = std::fs::read_to_string(opts.proc_root.join(m.to_string()).join("status"))
                    .unwrap_or_default();
                p.baseline = kb_field(&ms, "RssAnon:").unwrap_or(0);
            }
        }
        let s = seen.entry(pool).or_default();
        s.0 += 1;
        s.1 += running as usize;
    }
    for (pool, (n, running)) in seen {
        let p = w.pools.entry(pool).or_default();
        p.workers_max = p.workers_max.max(n);
        p.running_max = p.running_max.max(running);
    }
    for (pool, (listen, path, own)) in &opts.status {
        let p = w.pools.entry(pool.clone()).or_default();
        match fpm_status::fetch(listen, path) {
            Ok(s) => {
                let busy = if *own {
                    s.active_processes.saturating_sub(1)
                } else {
                    s.active_processes
                };
                p.busy_max = Some(p.busy_max.unwrap_or(0).max(busy));
                p.listen_queue_max = p.listen_queue_max.max(s.listen_queue);
                p.status_samples += 1;
                if p.first.is_none() {
                    p.first = Some(s.clone());
                }
                p.last = Some(s);
            }
            Err(e) => {
                p.status_error.get_or_insert(e);
            }
        }
    }
    w.ticks += 1;
}

/// Sample for `opts.duration` (Ctrl-C ends it early), a tick every `opts.interval`.
pub fn run(opts: &Options) -> Window {
    let stop = Arc::new(AtomicBool::new(false));
    // The first Ctrl-C ends the window; a second one (the flag already set) exits.
    let ids: Vec<signal_hook::SigId> = [
        signal_hook::flag::register_conditional_shutdown(
            signal_hook::consts::SIGINT,
            130,
            Arc::clone(&stop),
        ),
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let w = run_until(opts, &stop);
    // Unregistered, the process ignores SIGINT until the validation sandbox installs
    // its own cleanup handler (signal-hook does not restore the default action): a
    // few milliseconds of computing the table. Left registered, the conditional exit
    // would skip the sandbox's cleanup on a Ctrl-C during validation.
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    w
}

/// [`run`] with the stop flag given (tests set it).
pub fn run_until(opts: &Options, stop: &AtomicBool) -> Window {
    let start = Instant::now();
    let interval = opts.interval.max(Duration::from_millis(50));
    let mut w = Window {
        interval,
        ..Default::default()
    };
    let total = opts.duration.as_secs_f64();
    loop {
        let next = Instant::now() + interval;
        tick(opts, &mut w);
        if opts.progress {
            let busy: Vec<String> = w
                .pools
                .iter()
                .map(|(k, p)| match p.busy_max {
                    Some(b) => format!("{k} busy≤{b}"),
                    None => format!("{k} {} workers", p.workers_max),
                })
                .collect();
            eprint!(
                "\rwpstack: sampling {:>4.0}s of {:.0}s, {} ticks; {} (Ctrl-C ends early)\x1b[K",
                start.elapsed().as_secs_f64(),
                total,
                w.ticks,
                busy.join(", ")
            );
        }
        if start.elapsed() >= opts.duration {
            break;
        }
        // Sleep to the next tick in small steps, watching for Ctrl-C.
        while Instant::now() < next && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50).min(next - Instant::now()));
        }
        if stop.load(Ordering::Relaxed) {
            w.interrupted = true;
            break;
        }
    }
    if opts.progress {
        eprintln!();
    }
    w.elapsed = start.elapsed();
    w
}

/// The status endpoints of a stack's pools (pools without `pm.status_path` have none).
pub fn endpoints(stack: &crate::stack::Stack) -> BTreeMap<String, (Listen, String, bool)> {
    stack
        .pools
        .iter()
        .filter_map(|p| {
            let (l, path) = fpm_status::endpoint(p)?;
            let own = !p.settings.contains_key("pm.status_listen");
            Some((p.name.clone(), (l, path, own)))
        })
        .collect()
}

/// A duration as `10m`, `30s`, `2h`, `500ms` (or plain seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| t.split_at(i))
        .unwrap_or((t, "s"));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like 30s, 10m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}` is not a duration (like 30s, 10m, 1h)")),
    };
    if !(secs > 0.0 && secs <= 7.0 * 86400.0) {
        return Err(format!("`{s}`: a duration between 1ms and 7 days"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Names of pools the window saw saturated, with the numbers (for `check`-like
/// reports: one line each).
pub fn saturation_lines(workers: &BTreeMap<String, PoolWorkers>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, w) in workers {
        if let Some(s) = w.sample.as_ref().and_then(|s| s.saturation.as_ref()) {
            if s.is_saturated() {
                out.push(format!("pool {name} is saturated: {}", s.describe()));
            }
        }
    }
    out
}

/// Pools whose status page could not be read, and why (said once each).
pub fn status_problems(workers: &BTreeMap<String, PoolWorkers>) -> BTreeSet<String> {
    workers
        .iter()
        .filter_map(|(n, w)| {
            let s = w.sample.as_ref()?;
            let e = s.status_error.as_ref()?;
            Some(format!("pool {n}: status page not read ({e})"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn p95_is_nearest_rank() {
        assert_eq!(p95(&[]), 0);
        assert_eq!(p95(&[5]), 5);
        // Under 20 values the nearest-rank p95 is the max.
        assert_eq!(p95(&(1..=19).collect::<Vec<_>>()), 19);
        assert_eq!(p95(&(1..=20).collect::<Vec<_>>()), 19);
        assert_eq!(p95(&(1..=100).rev().collect::<Vec<_>>()), 95);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("3d").is_err());
    }

    fn proc_worker(root: &Path, pid: u32, ppid: u32, pool: &str, pss: u64, rss: u64, hwm: u64) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cmdline"), format!("php-fpm: pool {pool}\0")).unwrap();
        std::fs::write(
            d.join("status"),
            format!("State:\tS (sleeping)\nPPid:\t{ppid}\nVmHWM:\t{hwm} kB\n"),
        )
        .unwrap();
        std::fs::write(
            d.join("smaps_rollup"),
            format!("Rss: {rss} kB\nPss: {pss} kB\n"),
        )
        .unwrap();
    }

    #[test]
    fn window_keeps_each_workers_peak_and_ctrl_c_ends_it() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("9")).unwrap();
        std::fs::write(root.join("9/status"), "RssAnon:\t4000 kB\n").unwrap();
        let opts = Options {
            proc_root: root.to_path_buf(),
            master: Some(9),
            duration: Duration::from_secs(60),
            interval: Duration::from_millis(50),
            status: BTreeMap::new(),
            progress: false,
        };
        let mut w = Window::default();
        // Tick 1: two workers at rest; tick 2: one at 50 MB, one recycled (new pid).
        proc_worker(root, 10, 9, "www", 2_000, 8_000, 9_000);
        proc_worker(root, 11, 9, "www", 2_000, 8_000, 9_000);
        proc_worker(root, 20, 8, "www", 90_000, 90_000, 90_000); // another master's
        tick(&opts, &mut w);
        proc_worker(root, 10, 9, "www", 50_000, 56_000, 56_000);
        std::fs::remove_dir_all(root.join("11")).unwrap();
        proc_worker(root, 12, 9, "www", 1_500, 7_000, 7_500);
        tick(&opts, &mut w);
        // Tick 3: worker 10 freed its memory; its peak stays.
        proc_worker(root, 10, 9, "www", 2_000, 8_000, 56_000);
        tick(&opts, &mut w);
        let pw = &w.pools["www"];
        assert_eq!(pw.readings, 6);
        assert_eq!(pw.workers_max, 2);
        assert_eq!(pw.peak_by_pid[&10], 50_000 * 1024);
        // 11 peaked at PSS 2 000 + (VmHWM 9 000 − Rss 8 000) freed.
        assert_eq!(pw.peak_by_pid[&11], 3_000 * 1024);
        let ws = w.workers();
        let s = ws["www"].sample.clone().unwrap();
        assert_eq!((s.ticks, s.workers, s.max), (3, 3, 50_000 * 1024));
        assert_eq!(s.p95, 50_000 * 1024);
        assert_eq!(ws["www"].baseline, 4_000 * 1024);
        assert!(s.busy_peak.is_none() && s.saturation.is_none());
        // A stop flag already set: one tick, then the window ends, marked interrupted.
        let stop = AtomicBool::new(true);
        let w = run_until(&opts, &stop);
        assert_eq!(w.ticks, 1);
        assert!(w.interrupted);
    }
}
