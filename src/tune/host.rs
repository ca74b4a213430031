//! Facts about this host: RAM, the cgroup memory limit, CPUs (sysinfo, /proc, cgroup).

use crate::settings::HostFacts;

/// Where a host fact came from, said in findings (`assumptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactSource {
    /// `--ram`/`--cpus`/… on the command line.
    Given,
    /// `[host]` in wpstack.toml.
    Configured,
    /// Read from this machine.
    Measured,
    /// Nothing known: the catalog's estimate.
    Assumed,
}

impl FactSource {
    pub fn as_str(self) -> &'static str {
        match self {
            FactSource::Given => "given on the command line",
            FactSource::Configured => "from wpstack.toml",
            FactSource::Measured => "measured on this host",
            FactSource::Assumed => "assumed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact<T> {
    pub value: T,
    pub source: FactSource,
}

/// Host facts with where each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub ram: Option<Fact<u64>>,
    pub cpus: Option<Fact<usize>>,
    pub worker_mem: Option<Fact<u64>>,
    pub reserve: Option<Fact<u64>>,
    pub db_mem: Option<Fact<u64>>,
}

/// Physical RAM and CPUs of this machine, and the cgroup limit of this process
/// (the tightest of its cgroup and ancestors; v2 `memory.max`, v1 `memory.limit_in_bytes`).
pub fn measure() -> (u64, usize) {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    let ram = sys.total_memory();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let limit = cgroup_limit_of_self().unwrap_or(u64::MAX);
    (ram.min(limit), cpus)
}

fn cgroup_limit_of_self() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_limit(std::path::Path::new("/sys/fs/cgroup"), &text)
}

/// The tightest memory limit along a process's cgroup path and its ancestors, given
/// the contents of `/proc/PID/cgroup` and the cgroup filesystem root.
pub fn cgroup_limit(fs_root: &std::path::Path, proc_cgroup: &str) -> Option<u64> {
    let mut best: Option<u64> = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (base, file) = if controllers.is_empty() {
            (fs_root.to_path_buf(), "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            (fs_root.join("memory"), "memory.limit_in_bytes")
        } else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        let mut dir = base.join(rel);
        loop {
            if let Ok(v) = std::fs::read_to_string(dir.join(file)) {
                let v = v.trim();
                // v1 reports "no limit" as a huge number near i64::MAX.
                if let Ok(n) = v.parse::<u64>() {
                    if n < (1u64 << 60) {
                        best = Some(best.map_or(n, |b| b.min(n)));
                    }
                }
            }
            if dir == base || !dir.pop() {
                break;
            }
        }
    }
    best
}

/// Merge given, configured and (optionally) measured facts.
pub fn resolve(given: &HostFacts, configured: &HostFacts, measure_host: bool) -> Host {
    fn pick<T: Copy>(g: Option<T>, c: Option<T>) -> Option<Fact<T>> {
        g.map(|value| Fact {
            value,
            source: FactSource::Given,
        })
        .or(c.map(|value| Fact {
            value,
            source: FactSource::Configured,
        }))
    }
    let mut host = Host {
        ram: pick(given.ram, configured.ram),
        cpus: pick(given.cpus, configured.cpus),
        worker_mem: pick(given.worker_mem, configured.worker_mem),
        reserve: pick(given.reserve, configured.reserve),
        db_mem: pick(given.db_mem, configured.db_mem),
    };
    if measure_host && (host.ram.is_none() || host.cpus.is_none()) {
        let (ram, cpus) = measure();
        host.ram.get_or_insert(Fact {
            value: ram,
            source: FactSource::Measured,
        });
        host.cpus.get_or_insert(Fact {
            value: cpus,
            source: FactSource::Measured,
        });
    }
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v2_takes_tightest_ancestor() {
        let d = tempfile::tempdir().unwrap();
        let leaf = d.path().join("system.slice/php8.2-fpm.service");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(d.path().join("system.slice/memory.max"), "3221225472\n").unwrap();
        std::fs::write(leaf.join("memory.max"), "max\n").unwrap();
        let got = cgroup_limit(d.path(), "0::/system.slice/php8.2-fpm.service\n");
        assert_eq!(got, Some(3 << 30));
    }

    #[test]
    fn cgroup_v1_memory_controller() {
        let d = tempfile::tempdir().unwrap();
        let leaf = d.path().join("memory/docker/abc");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(leaf.join("memory.limit_in_bytes"), "1073741824\n").unwrap();
        std::fs::write(
            d.path().join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        let got = cgroup_limit(
            d.path(),
            "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n",
        );
        assert_eq!(got, Some(1 << 30));
    }
}
