//! Measuring PHP workers: every running `php-fpm: pool NAME` process, its PSS
//! (`/proc/PID/smaps_rollup`: shared opcache pages are divided among the workers
//! instead of counted once per worker) and its peak RSS (`VmHWM` in
//! `/proc/PID/status`).

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolWorkers {
    pub count: usize,
    /// Largest PSS seen among the workers, bytes.
    pub pss_max: u64,
    /// Average PSS, bytes.
    pub pss_avg: u64,
    /// Largest VmHWM (peak RSS) among the workers, bytes.
    pub hwm_max: u64,
    /// Largest PSS a worker had at its peak: its PSS now plus what it freed since its
    /// RSS peak (VmHWM − Rss). VmHWM alone counts the shared opcache and library pages
    /// in full in every worker; this counts them once, divided, as PSS does.
    pub pss_peak_max: u64,
    /// The workers' pids, ascending.
    pub pids: Vec<u32>,
    /// `RssAnon` of the master the workers were forked from (what a worker carries
    /// from the fork before its first request), bytes; 0 when the master was not read.
    pub baseline: u64,
    /// What a sampling window (`tune --sample`) saw; None for one snapshot.
    pub sample: Option<SampleStats>,
}

/// A pool over a sampling window (see [`super::sample`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SampleStats {
    /// Ticks of the window.
    pub ticks: usize,
    /// Worker readings (workers × ticks) the peaks rest on.
    pub readings: usize,
    /// Distinct workers (pids) seen.
    pub workers: usize,
    /// Nearest-rank p95 of the per-worker peaks: what the pool is sized from.
    pub p95: u64,
    /// The largest per-worker peak (shown, not used).
    pub max: u64,
    /// Most busy workers at one tick, per php-fpm's status page.
    pub busy_peak: Option<u64>,
    /// Most workers in state R/D at one tick (/proc): shown beside the status page's
    /// count (a worker waiting on MySQL sleeps, so this is no busy count).
    pub running_peak: usize,
    /// Status pages read.
    pub status_samples: usize,
    /// Why the status page could not be read (the first error).
    pub status_error: Option<String>,
    pub saturation: Option<Saturation>,
}

/// php-fpm's own saturation counters for a pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Saturation {
    /// `max children reached` since php-fpm started or reloaded.
    pub max_children_reached: u64,
    /// Its increase during the window.
    pub reached_in_window: u64,
    /// `max listen queue` since start.
    pub max_listen_queue: u64,
    /// The largest `listen queue` seen at a tick.
    pub listen_queue_seen: u64,
    /// Seconds since php-fpm started (or reloaded) the pool.
    pub since_secs: u64,
    pub slow_requests: u64,
}

impl Saturation {
    /// Requests waited for a worker: every child was busy (`max children reached`),
    /// or connections queued in the listen backlog.
    pub fn is_saturated(&self) -> bool {
        self.max_children_reached > 0 || self.max_listen_queue > 0 || self.listen_queue_seen > 0
    }
    /// The numbers, for people.
    pub fn describe(&self) -> String {
        format!(
            "max children reached {} times ({} during the window), listen queue up to {} ({} seen at a tick), since php-fpm started the pool {} ago; slow requests {}",
            self.max_children_reached,
            self.reached_in_window,
            self.max_listen_queue,
            self.listen_queue_seen,
            crate::format::human_secs(self.since_secs),
            self.slow_requests
        )
    }
}

impl PoolWorkers {
    /// What to size for: the largest PSS seen, or larger when a worker's VmHWM shows
    /// it used (and freed) more since it started: PSS + (VmHWM − Rss).
    /// The pool's weight in the shared budget: the busy workers at the peak of a
    /// sampled window (php-fpm's status page), plus, for a
    /// saturated pool, the connections seen waiting (at most as many again) and one more child (its demand
    /// was above what it had); else, from one snapshot, the workers seen running.
    pub fn share(&self) -> u64 {
        let Some(s) = &self.sample else {
            return self.count as u64;
        };
        // php-fpm's count: a worker still `Finishing` a request it answered holds
        // its memory and cannot take another, so it counts as busy.
        let busy = s.busy_peak.unwrap_or(self.count as u64);
        match &s.saturation {
            Some(sat) if sat.is_saturated() => {
                // The queue since start may be an old burst: it at most doubles the share.
                let busy = busy.max(1);
                let waiting = sat.listen_queue_seen.max(sat.max_listen_queue).min(busy);
                busy + waiting + 1
            }
            _ => busy.max(1),
        }
    }
    /// Whether php-fpm's status says the pool ran out of workers.
    pub fn saturated(&self) -> bool {
        self.sample
            .as_ref()
            .and_then(|s| s.saturation.as_ref())
            .is_some_and(Saturation::is_saturated)
    }
    pub fn peak(&self) -> u64 {
        self.pss_max.max(self.pss_peak_max)
    }
    /// Idle or freshly recycled workers read low, and then the estimate is used.
    ///
    /// A worker frees a script's large allocations when the request ends (PHP's
    /// allocator unmaps chunks of 2 MiB and more), so between requests its PSS is
    /// back near the size it was forked at, busy or not: PSS alone cannot tell a
    /// busy pool from an idle one (measured on php-fpm 8.2: 1.3 MiB after 40 MB,
    /// 4 MB and no-allocation scripts alike). The peak can (`VmHWM` keeps the
    /// high-water mark): a worker forked and never used peaks at the master's
    /// anonymous memory plus the ~1.5 MiB of code it faults in (5.6 MiB against the
    /// master's 4.0 MiB `RssAnon`), one that ran even a trivial script at several MiB
    /// more (8.6 MiB; 12.5 MiB for 4 MB, 48.5 MiB for 40 MB). So: low confidence when
    /// no worker's peak is 3 MiB above the master's `RssAnon`; the number of workers
    /// does not matter (one busy worker is a measurement). Without the master, a
    /// peak under 8 MiB counts as idle.
    pub fn low_confidence(&self) -> bool {
        if self.count == 0 {
            return true;
        }
        let floor = if self.baseline > 0 {
            self.baseline + (3 << 20)
        } else {
            8 << 20
        };
        self.hwm_max < floor
    }
}

/// A `Name:   1234 kB` field of /proc's status or smaps_rollup, in bytes.
pub(crate) fn kb_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

/// The pool a process serves, from its title (`php-fpm: pool www`).
pub fn pool_of(cmdline: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(cmdline);
    let rest = text.split("pool ").nth(1)?;
    let name = rest.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!name.is_empty() && text.starts_with("php-fpm")).then(|| name.to_string())
}

/// Scan a /proc tree (the real one, or a fixture) for php-fpm workers by pool.
pub fn measure(proc_root: &Path) -> BTreeMap<String, PoolWorkers> {
    measure_of(proc_root, None)
}

/// Like [`measure`], only the workers of one master (their `PPid`) when given: the
/// pools of another php-fpm on the host may share a name (`www`).
pub fn measure_of(proc_root: &Path, master: Option<u32>) -> BTreeMap<String, PoolWorkers> {
    let mut out = scan(proc_root, master);
    let read_status =
        |pid: u32| std::fs::read_to_string(proc_root.join(pid.to_string()).join("status"));
    for w in out.values_mut() {
        // The master they were forked from: the given one, or their common parent.
        let parent = master.or_else(|| {
            let first = *w.pids.first()?;
            read_status(first).ok().and_then(|t| ppid(&t))
        });
        if let Some(status) = parent.and_then(|p| read_status(p).ok()) {
            w.baseline = kb_field(&status, "RssAnon:").unwrap_or(0);
        }
    }
    out
}

/// The parent pid from a /proc status text.
pub(crate) fn ppid(status: &str) -> Option<u32> {
    status
        .lines()
        .find(|l| l.starts_with("PPid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn scan(proc_root: &Path, master: Option<u32>) -> BTreeMap<String, PoolWorkers> {
    let mut out: BTreeMap<String, PoolWorkers> = BTreeMap::new();
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    for (pid, dir) in crate::machine::host::pids(proc_root) {
        let Ok(cmd) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let Some(pool) = pool_of(&cmd) else { continue };
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        if master.is_some() && ppid(&status) != master {
            continue;
        }
        let rollup = std::fs::read_to_string(dir.join("smaps_rollup")).unwrap_or_default();
        let pss = kb_field(&rollup, "Pss:").unwrap_or(0);
        let rss = kb_field(&rollup, "Rss:").unwrap_or(0);
        let hwm = kb_field(&status, "VmHWM:").unwrap_or(0);
        let freed = if rss > 0 { hwm.saturating_sub(rss) } else { 0 };
        let w = out.entry(pool.clone()).or_default();
        w.count += 1;
        w.pids.push(pid);
        w.pss_max = w.pss_max.max(pss);
        w.hwm_max = w.hwm_max.max(hwm);
        w.pss_peak_max = w.pss_peak_max.max(pss + freed);
        *sums.entry(pool).or_default() += pss;
    }
    for (pool, w) in out.iter_mut() {
        w.pss_avg = sums.get(pool).copied().unwrap_or(0) / w.count.max(1) as u64;
        w.pids.sort_unstable();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pss_and_hwm_per_pool_from_a_proc_tree() {
        let d = tempfile::tempdir().unwrap();
        let mk = |pid: &str, cmd: &[u8], pss_kb: u64, hwm_kb: u64| {
            // Rss: the PSS plus 20 MB of shared pages counted in full.
            let rss_kb = pss_kb + 20_000;
            let p = d.path().join(pid);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("cmdline"), cmd).unwrap();
            std::fs::write(
                p.join("smaps_rollup"),
                format!("Rss: {rss_kb} kB\nPss:  {pss_kb} kB\n"),
            )
            .unwrap();
            std::fs::write(
                p.join("status"),
                format!("Name:\tphp-fpm8.2\nVmHWM:\t {hwm_kb} kB\n"),
            )
            .unwrap();
        };
        mk(
            "100",
            b"php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)",
            9000,
            9000,
        );
        mk(
            "101",
            b"php-fpm: pool www                    \0",
            40_000,
            60_000,
        );
        mk("102", b"php-fpm: pool www\0", 30_000, 61_000);
        mk("103", b"php-fpm: pool shop\0", 4_000, 4_100);
        mk("self", b"php-fpm: pool www\0", 1, 1);
        let m = measure(d.path());
        assert_eq!(m.len(), 2);
        assert_eq!(m["www"].count, 2);
        assert_eq!(m["www"].pss_max, 40_000 * 1024);
        // 101 is at its peak (VmHWM = Rss 60 000): its peak PSS is its PSS now, 40 000;
        // 102 is at Rss 50 000 after a VmHWM of 61 000: PSS 30 000 + 11 000 freed.
        assert_eq!(m["www"].peak(), 41_000 * 1024);
        assert_eq!(m["www"].hwm_max, 61_000 * 1024);
        assert_eq!(m["www"].pss_avg, 35_000 * 1024);
        assert!(m["shop"].low_confidence());
    }

    #[test]
    fn measure_of_keeps_one_masters_workers_and_judges_by_the_peak() {
        let d = tempfile::tempdir().unwrap();
        let mk = |pid: u32, ppid: u32, cmd: &[u8], pss_kb: u64, hwm_kb: u64, anon_kb: u64| {
            let p = d.path().join(pid.to_string());
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("cmdline"), cmd).unwrap();
            // At rest: Rss is the PSS plus 6.7 MB of shared pages counted in full.
            let rss_kb = pss_kb + 6_700;
            std::fs::write(
                p.join("smaps_rollup"),
                format!("Rss: {rss_kb} kB\nPss: {pss_kb} kB\n"),
            )
            .unwrap();
            std::fs::write(
                p.join("status"),
                format!("PPid:\t{ppid}\nVmHWM:\t{hwm_kb} kB\nRssAnon:\t{anon_kb} kB\n"),
            )
            .unwrap();
        };
        mk(
            10,
            1,
            b"php-fpm: master process (/a/php-fpm.conf)\0",
            1200,
            20_000,
            4_100,
        );
        // Busy but small: PSS back to 1.3 MiB, the peak says what a request costs.
        mk(11, 10, b"php-fpm: pool www\0", 1_300, 12_800, 4_100);
        // One worker, idle since the fork.
        mk(12, 10, b"php-fpm: pool idle\0", 700, 5_700, 4_100);
        // Another master's pool of the same name.
        mk(
            20,
            1,
            b"php-fpm: master process (/b/php-fpm.conf)\0",
            1200,
            20_000,
            4_100,
        );
        mk(21, 20, b"php-fpm: pool www\0", 90_000, 90_000, 4_100);
        let m = measure_of(d.path(), Some(10));
        assert_eq!(m["www"].pids, vec![11]);
        assert_eq!(m["www"].baseline, 4_100 * 1024);
        // PSS 1 300 now + (VmHWM 12 800 − Rss 8 000) freed since the peak.
        assert_eq!(m["www"].peak(), 6_100 * 1024);
        assert!(
            !m["www"].low_confidence(),
            "one busy worker is a measurement"
        );
        assert!(m["idle"].low_confidence());
        let all = measure(d.path());
        assert_eq!(all["www"].pids, vec![11, 21]);
        // Without a master given, the baseline is the workers' parent.
        assert_eq!(all["idle"].baseline, 4_100 * 1024);
    }
}
