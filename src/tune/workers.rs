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
}

impl PoolWorkers {
    /// What to size for: the largest PSS seen, or larger when a worker's VmHWM shows
    /// it used (and freed) more since it started: PSS + (VmHWM − Rss).
    pub fn peak(&self) -> u64 {
        self.pss_max.max(self.pss_peak_max)
    }
    /// Idle or freshly recycled workers read low: below this the estimate is used.
    pub fn low_confidence(&self) -> bool {
        self.count < 2 || self.pss_max < (8 << 20)
    }
}

fn kb_field(text: &str, field: &str) -> Option<u64> {
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
    let mut out: BTreeMap<String, PoolWorkers> = BTreeMap::new();
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(proc_root) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let dir = e.path();
        let Ok(cmd) = std::fs::read(dir.join("cmdline")) else {
            continue;
        };
        let Some(pool) = pool_of(&cmd) else { continue };
        let pss = std::fs::read_to_string(dir.join("smaps_rollup"))
            .ok()
            .and_then(|t| kb_field(&t, "Pss:"))
            .unwrap_or(0);
        let rollup = std::fs::read_to_string(dir.join("smaps_rollup")).unwrap_or_default();
        let rss = kb_field(&rollup, "Rss:").unwrap_or(0);
        let hwm = std::fs::read_to_string(dir.join("status"))
            .ok()
            .and_then(|t| kb_field(&t, "VmHWM:"))
            .unwrap_or(0);
        let freed = if rss > 0 { hwm.saturating_sub(rss) } else { 0 };
        let w = out.entry(pool.clone()).or_default();
        w.count += 1;
        w.pss_max = w.pss_max.max(pss);
        w.hwm_max = w.hwm_max.max(hwm);
        w.pss_peak_max = w.pss_peak_max.max(pss + freed);
        *sums.entry(pool).or_default() += pss;
    }
    for (pool, w) in out.iter_mut() {
        w.pss_avg = sums.get(pool).copied().unwrap_or(0) / w.count.max(1) as u64;
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
}
