//! Facts about this host: RAM, the cgroup memory limit, CPUs (sysinfo, /proc, cgroup).

use crate::settings::HostFacts;
use std::path::{Path, PathBuf};

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
    /// Computed from the configuration in the tree (the database's my.cnf).
    FromConfig,
}

impl FactSource {
    pub fn as_str(self) -> &'static str {
        match self {
            FactSource::Given => "given on the command line",
            FactSource::Configured => "from wpstack.toml",
            FactSource::Measured => "measured on this host",
            FactSource::Assumed => "assumed",
            FactSource::FromConfig => "from the database's configuration in the tree",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact<T> {
    pub value: T,
    pub source: FactSource,
}

/// Host facts with where each came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Host {
    pub ram: Option<Fact<u64>>,
    pub cpus: Option<Fact<usize>>,
    pub worker_mem: Option<Fact<u64>>,
    pub reserve: Option<Fact<u64>>,
    pub db_mem: Option<Fact<u64>>,
    /// The php-fpm master found running (measured hosts only).
    pub fpm_master: Option<FpmMaster>,
    /// The memory limit that binds the RAM figure, and whose cgroup it is.
    pub cgroup: Option<CgroupLimit>,
    /// Database and cache processes found running, summed into `db_mem` when it was
    /// not given.
    pub db_procs: Vec<DbProcess>,
    /// cgroup limit files on the path that exist but could not be read: the RAM
    /// measured cannot be trusted (`tune` refuses to size from it).
    pub cgroup_unreadable: Vec<String>,
}

/// A running `php-fpm: master process (CONF)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FpmMaster {
    pub pid: u32,
    /// CONF as the title shows it.
    pub conf: PathBuf,
}

/// A cgroup memory limit and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLimit {
    /// The process whose cgroup it is: the php-fpm master, or `None` for wpstack itself.
    pub pid: Option<u32>,
    /// The cgroup (as in /proc/PID/cgroup) whose file holds the limit: the process's
    /// own or an ancestor.
    pub path: String,
    /// `memory.max` or `memory.high` (v2), `memory.limit_in_bytes` (v1).
    pub file: &'static str,
    pub limit: u64,
}

/// A database or cache process found running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbProcess {
    pub pid: u32,
    pub name: String,
    /// VmRSS, bytes.
    pub rss: u64,
    /// Its executable (`/proc/PID/exe`), shown so the user sees which process counted.
    pub exe: String,
    /// Why its memory was not counted: a process is only believed to be the database
    /// when its executable is a system program (in a `bin`/`sbin` directory, owned by
    /// root, not writable by others) — anyone can name a process `mysqld`.
    pub skipped: Option<String>,
}

/// Processes whose memory comes off the PHP budget when they share the host.
pub const DB_PROCESS_NAMES: &[&str] = &[
    "mysqld",
    "mariadbd",
    "redis-server",
    "memcached",
    "valkey-server",
];

impl Host {
    /// What was measured on this host beyond RAM and CPUs, one line each, for the
    /// tune table ("measured: cgroup /system.slice/php8.2-fpm.service memory.max 3 GiB").
    pub fn measured_notes(&self) -> Vec<String> {
        use crate::format::human_bytes;
        let mut out = Vec::new();
        if let Some(m) = &self.fpm_master {
            out.push(format!(
                "measured: php-fpm master pid {} ({})",
                m.pid,
                m.conf.display()
            ));
        }
        if let Some(c) = &self.cgroup {
            let whose = match c.pid {
                Some(pid) => format!("of pid {pid}"),
                None => "of wpstack itself (no php-fpm master found)".to_string(),
            };
            out.push(format!(
                "measured: cgroup {} {} {} ({whose})",
                c.path,
                c.file,
                human_bytes(c.limit)
            ));
        }
        for d in &self.db_procs {
            match &d.skipped {
                None => out.push(format!(
                    "measured: {} pid {} RSS {} ({}), counted as database/cache memory",
                    d.name,
                    d.pid,
                    human_bytes(d.rss),
                    d.exe
                )),
                Some(why) => out.push(format!(
                    "not counted: {} pid {} RSS {}: {why}",
                    d.name,
                    d.pid,
                    human_bytes(d.rss)
                )),
            }
        }
        out
    }
}

/// Physical RAM and CPUs of this machine, and the cgroup limit of this process
/// (the tightest of its cgroup and ancestors; v2 `memory.max`, v1 `memory.limit_in_bytes`).
pub fn measure() -> (u64, usize) {
    let (ram, cpus) = physical();
    let limit = cgroup_limit_of_self().unwrap_or(u64::MAX);
    (ram.min(limit), cpus)
}

fn cgroup_limit_of_self() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_limit(Path::new("/sys/fs/cgroup"), &text)
}

/// The tightest memory limit along a process's cgroup path and its ancestors, given
/// the contents of `/proc/PID/cgroup` and the cgroup filesystem root.
pub fn cgroup_limit(fs_root: &Path, proc_cgroup: &str) -> Option<u64> {
    cgroup_limit_at(fs_root, proc_cgroup).map(|c| c.limit)
}

/// Like [`cgroup_limit`], saying which cgroup holds the limit. v2 (`0::/path`) is
/// read under the root itself, or under `unified/` on a hybrid host; v1 under
/// `memory/`. "max" and v1's "no limit" (a number near i64::MAX) are no limit.
pub fn cgroup_limit_at(fs_root: &Path, proc_cgroup: &str) -> Option<CgroupLimit> {
    cgroup_scan(fs_root, proc_cgroup).0
}

/// The tightest memory limit along the cgroup path and its ancestors (the systemd
/// slices a service sits in: `system.slice`, `machine.slice/…`), and the limit files
/// that exist but could not be read or understood ("/system.slice memory.high:
/// permission denied"): a limit that cannot be read may be the one that binds, so
/// the caller refuses to size from RAM alone. v2 reads `memory.max` (the OOM killer's
/// line) and `memory.high` (above it the kernel throttles and reclaims the cgroup's
/// memory hard: workers stall long before they are killed), the lower binds.
pub fn cgroup_scan(fs_root: &Path, proc_cgroup: &str) -> (Option<CgroupLimit>, Vec<String>) {
    let mut best: Option<CgroupLimit> = None;
    let mut unreadable = Vec::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (base, files): (PathBuf, &[&'static str]) = if controllers.is_empty() {
            let base = if fs_root.join("cgroup.controllers").exists()
                || !fs_root.join("unified").is_dir()
            {
                fs_root.to_path_buf()
            } else {
                fs_root.join("unified")
            };
            (base, &["memory.max", "memory.high"])
        } else if controllers.split(',').any(|c| c == "memory") {
            (fs_root.join("memory"), &["memory.limit_in_bytes"])
        } else {
            continue;
        };
        let rel = path.trim().trim_start_matches('/');
        // A path with `..` (a process in a cgroup namespace seeing above its root)
        // cannot be followed.
        if rel.split('/').any(|c| c == "..") {
            continue;
        }
        let mut dir = base.join(rel);
        loop {
            let shown = dir
                .strip_prefix(&base)
                .map(|r| format!("/{}", r.display()))
                .unwrap_or_else(|_| dir.display().to_string());
            for file in files {
                let at = dir.join(file);
                let v = match std::fs::read_to_string(&at) {
                    Ok(v) => v,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        unreadable
                            .push(format!("{shown} {file}: {}", crate::source::io_reason(&e)));
                        continue;
                    }
                };
                let v = v.trim();
                if v == "max" {
                    continue;
                }
                let Ok(n) = v.parse::<u64>() else {
                    unreadable.push(format!("{shown} {file}: `{v}` is not a number of bytes"));
                    continue;
                };
                // v1 reports "no limit" as a huge number near i64::MAX.
                if n < (1u64 << 60) && best.as_ref().is_none_or(|b| n < b.limit) {
                    best = Some(CgroupLimit {
                        pid: None,
                        path: shown.clone(),
                        file,
                        limit: n,
                    });
                }
            }
            if dir == base || !dir.pop() {
                break;
            }
        }
    }
    (best, unreadable)
}

/// Every process under a /proc tree (the real one or a fixture): its pid and directory,
/// in pid order.
pub(crate) fn pids(proc_root: &Path) -> Vec<(u32, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut out: Vec<(u32, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((pid, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// The config of a php-fpm master from its title (`php-fpm: master process (CONF)`).
pub fn master_conf(cmdline: &[u8]) -> Option<PathBuf> {
    let text = String::from_utf8_lossy(cmdline);
    let text = text.trim_end_matches(|c: char| c == '\0' || c.is_whitespace());
    let rest = text.strip_prefix("php-fpm")?;
    let rest = &rest[rest.find(": master process (")? + ": master process (".len()..];
    let conf = rest.strip_suffix(')')?;
    (!conf.is_empty()).then(|| PathBuf::from(conf))
}

/// Every php-fpm master under a /proc tree (the real one or a fixture).
pub fn fpm_masters(proc_root: &Path) -> Vec<FpmMaster> {
    pids(proc_root)
        .into_iter()
        .filter_map(|(pid, dir)| {
            let cmd = std::fs::read(dir.join("cmdline")).ok()?;
            Some(FpmMaster {
                pid,
                conf: master_conf(&cmd)?,
            })
        })
        .collect()
}

/// The master to measure: the one running `conf` (compared by real path) when given
/// and found, else the only master there is; with several masters and none matching,
/// none (which one limits the stack is not known).
pub fn pick_master(masters: &[FpmMaster], conf: Option<&Path>) -> Option<FpmMaster> {
    if let Some(m) = conf.and_then(|c| masters.iter().find(|m| same_file(&m.conf, c))) {
        return Some(m.clone());
    }
    match masters {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// The master running exactly `conf` (by real path), if one runs under `proc_root`:
/// then the stack being tuned is live on this host, whatever facts were given.
pub fn stack_master(proc_root: &Path, conf: &Path) -> Option<FpmMaster> {
    fpm_masters(proc_root)
        .into_iter()
        .find(|m| same_file(&m.conf, conf))
}

/// Two paths naming the same file (compared by real path, so a symlinked
/// /etc/php/8.2/fpm still matches the master's title).
fn same_file(a: &Path, b: &Path) -> bool {
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    real(a) == real(b)
}

/// mysqld, mariadbd, redis-server, memcached … running under a /proc tree, by
/// `comm` or the file name of `exe`, with their RSS. Each is checked (see
/// [`DbProcess::skipped`]); those that fail are listed with the reason, not counted.
pub fn db_processes(proc_root: &Path) -> Vec<DbProcess> {
    pids(proc_root)
        .into_iter()
        .filter_map(|(pid, dir)| {
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let link = std::fs::read_link(dir.join("exe")).ok();
            let exe_name = link
                .as_deref()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .map(|n| n.trim_end_matches(" (deleted)").to_string())
                .unwrap_or_default();
            let name = DB_PROCESS_NAMES
                .iter()
                .find(|n| comm.trim() == **n || exe_name == **n)?;
            // Listing /proc gives processes, not threads: each is counted once.
            let status = std::fs::read_to_string(dir.join("status")).ok()?;
            let (exe, skipped) = match check_db_exe(&dir, name) {
                Ok(exe) => (exe, None),
                Err((exe, why)) => (exe, Some(why)),
            };
            Some(DbProcess {
                pid,
                name: name.to_string(),
                rss: crate::machine::workers::kb_field(&status, "VmRSS:").unwrap_or(0),
                exe,
                skipped,
            })
        })
        .collect()
}

/// Is `/proc/PID/exe` the real `name`: a file of that name in a `bin`/`sbin`/`libexec`
/// directory (or under /opt), owned by root (or by the user running wpstack) and
/// writable by nobody else? `Ok(path)`, or `Err((path, why not))`.
fn check_db_exe(dir: &Path, name: &str) -> Result<String, (String, String)> {
    use std::os::unix::fs::MetadataExt;
    let link = std::fs::read_link(dir.join("exe")).map_err(|e| {
        (
            "?".to_string(),
            format!(
                "its executable could not be checked ({}): run tune as root, or give --db-mem",
                crate::source::io_reason(&e)
            ),
        )
    })?;
    let shown = link
        .to_string_lossy()
        .trim_end_matches(" (deleted)")
        .to_string();
    let path = Path::new(&shown);
    let fail = |why: String| Err((shown.clone(), why));
    if path.file_name() != Some(std::ffi::OsStr::new(name)) {
        return fail(format!("its executable {shown} is not {name}"));
    }
    let system_dir = path.parent().is_some_and(|d| {
        let d = d.to_string_lossy();
        ["/sbin", "/bin", "/libexec"].iter().any(|s| d.ends_with(s)) || d.starts_with("/opt/")
    });
    if !system_dir {
        return fail(format!(
            "its executable {shown} is not in a system directory"
        ));
    }
    // The magic link reaches the binary in the process's own mount namespace.
    let meta = match std::fs::metadata(dir.join("exe")) {
        Ok(m) => m,
        Err(e) => {
            return fail(format!(
                "its executable {shown} could not be checked ({})",
                crate::source::io_reason(&e)
            ))
        }
    };
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return fail(format!(
            "its executable {shown} is owned by uid {}, not root",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return fail(format!(
            "its executable {shown} is writable by group or others"
        ));
    }
    Ok(shown)
}

/// Where to look when measuring: /proc and /sys/fs/cgroup on a live host, fixture
/// trees in tests.
#[derive(Debug, Clone)]
pub struct Probe {
    pub proc_root: PathBuf,
    pub cgroup_root: PathBuf,
    /// The stack's php-fpm.conf: its master is preferred.
    pub fpm_conf: Option<PathBuf>,
}

impl Probe {
    pub fn live(fpm_conf: Option<PathBuf>) -> Probe {
        Probe {
            proc_root: PathBuf::from("/proc"),
            cgroup_root: PathBuf::from("/sys/fs/cgroup"),
            fpm_conf,
        }
    }
}

/// What a probe finds: the master, the limit that binds it (the master's cgroup, or
/// wpstack's own when no master is found), the database/cache processes.
pub fn probe(p: &Probe) -> (Option<FpmMaster>, Option<CgroupLimit>, Vec<DbProcess>) {
    let (m, c, d, _) = probe_all(p);
    (m, c, d)
}

/// [`probe`], and the limit files on the binding cgroup path that could not be read.
#[allow(clippy::type_complexity)]
pub fn probe_all(
    p: &Probe,
) -> (
    Option<FpmMaster>,
    Option<CgroupLimit>,
    Vec<DbProcess>,
    Vec<String>,
) {
    let master = pick_master(&fpm_masters(&p.proc_root), p.fpm_conf.as_deref());
    let read = |who: &str| std::fs::read_to_string(p.proc_root.join(who).join("cgroup")).ok();
    let from_master = master.as_ref().and_then(|m| {
        let mut c = cgroup_limit_at(&p.cgroup_root, &read(&m.pid.to_string())?)?;
        c.pid = Some(m.pid);
        Some(c)
    });
    // The master's cgroup file was readable but held no limit: it is not bound by
    // wpstack's cgroup either (a service outside wpstack's container).
    let master_read = master
        .as_ref()
        .is_some_and(|m| read(&m.pid.to_string()).is_some());
    let whose = if master_read {
        master.as_ref().map(|m| m.pid.to_string())
    } else {
        Some("self".to_string())
    };
    let unreadable = whose
        .and_then(|w| read(&w))
        .map(|t| cgroup_scan(&p.cgroup_root, &t).1)
        .unwrap_or_default();
    let cgroup = if master_read {
        from_master
    } else {
        read("self").and_then(|t| cgroup_limit_at(&p.cgroup_root, &t))
    };
    (master, cgroup, db_processes(&p.proc_root), unreadable)
}

/// Merge given, configured and (optionally) measured facts.
pub fn resolve(given: &HostFacts, configured: &HostFacts, measure_host: bool) -> Host {
    resolve_probe(given, configured, measure_host.then(|| Probe::live(None)))
}

/// Merge given, configured and, with a probe, measured facts: RAM (the smaller of
/// physical RAM and the cgroup limit of the stack's php-fpm master, else of wpstack),
/// CPUs, and — when the RAM is this host's — the RSS of database/cache processes.
pub fn resolve_probe(given: &HostFacts, configured: &HostFacts, probe_at: Option<Probe>) -> Host {
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
        ..Host::default()
    };
    let Some(p) = probe_at else {
        return host;
    };
    if host.ram.is_none() || host.cpus.is_none() {
        let (master, cgroup, db, unreadable) = probe_all(&p);
        let (ram, cpus) = physical();
        let ram = cgroup.as_ref().map_or(ram, |c| ram.min(c.limit));
        host.cpus.get_or_insert(Fact {
            value: cpus,
            source: FactSource::Measured,
        });
        if host.ram.is_none() {
            host.ram = Some(Fact {
                value: ram,
                source: FactSource::Measured,
            });
            // The RAM is this host's: so are its database and cache processes.
            if host.db_mem.is_none() && db.iter().any(|d| d.skipped.is_none()) {
                host.db_mem = Some(Fact {
                    value: db
                        .iter()
                        .filter(|d| d.skipped.is_none())
                        .map(|d| d.rss)
                        .sum(),
                    source: FactSource::Measured,
                });
            }
            host.fpm_master = master;
            host.cgroup = cgroup;
            host.db_procs = db;
            host.cgroup_unreadable = unreadable;
        }
    }
    host
}

/// Physical RAM (sysinfo) and usable CPUs of this machine.
pub fn physical() -> (u64, usize) {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    (sys.total_memory(), cpus)
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
    fn cgroup_v2_memory_high_binds_and_an_unreadable_limit_is_reported() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("cgroup.controllers"), "memory\n");
        // A systemd slice with memory.max, its service with a lower memory.high.
        write(&d.path().join("web.slice/memory.max"), "4294967296\n");
        write(&d.path().join("web.slice/memory.high"), "max\n");
        write(
            &d.path().join("web.slice/php8.2-fpm.service/memory.high"),
            "2147483648\n",
        );
        write(
            &d.path().join("web.slice/php8.2-fpm.service/memory.max"),
            "max\n",
        );
        let cg = "0::/web.slice/php8.2-fpm.service\n";
        let (got, bad) = cgroup_scan(d.path(), cg);
        let got = got.unwrap();
        assert_eq!(
            (got.limit, got.file, got.path.as_str()),
            (2 << 30, "memory.high", "/web.slice/php8.2-fpm.service")
        );
        assert!(bad.is_empty(), "{bad:?}");
        // The slice's memory.high cannot be read (a directory stands in for a file
        // root cannot read either; garbage for one that says nothing).
        std::fs::remove_file(d.path().join("web.slice/memory.high")).unwrap();
        std::fs::create_dir_all(d.path().join("web.slice/memory.high")).unwrap();
        write(&d.path().join("memory.max"), "lots\n");
        let (got, bad) = cgroup_scan(d.path(), cg);
        assert_eq!(got.map(|g| g.limit), Some(2 << 30));
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].starts_with("/web.slice memory.high: "), "{bad:?}");
        assert!(bad[1].contains("`lots` is not a number"), "{bad:?}");
    }

    #[test]
    fn resolve_reports_an_unreadable_limit_on_the_masters_path() {
        let d = tempfile::tempdir().unwrap();
        let proc_root = d.path().join("proc");
        let cg = d.path().join("cgroup");
        write(&cg.join("cgroup.controllers"), "memory\n");
        std::fs::create_dir_all(cg.join("system.slice/memory.high")).unwrap();
        write(
            &proc_root.join("self/cgroup"),
            "0::/system.slice/x.service\n",
        );
        let p = Probe {
            proc_root,
            cgroup_root: cg,
            fpm_conf: None,
        };
        let host = resolve_probe(
            &HostFacts::default(),
            &HostFacts::default(),
            Some(p.clone()),
        );
        assert_eq!(
            host.cgroup_unreadable.len(),
            1,
            "{:?}",
            host.cgroup_unreadable
        );
        assert!(host.cgroup_unreadable[0].starts_with("/system.slice memory.high"));
        // RAM given: nothing is measured, nothing to refuse.
        let given = HostFacts {
            ram: Some(4 << 30),
            cpus: Some(2),
            ..Default::default()
        };
        assert!(resolve_probe(&given, &HostFacts::default(), Some(p))
            .cgroup_unreadable
            .is_empty());
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

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn cgroup_v2_names_the_ancestor_that_limits() {
        let d = tempfile::tempdir().unwrap();
        write(&d.path().join("cgroup.controllers"), "cpu memory\n");
        write(&d.path().join("system.slice/memory.max"), "max\n");
        write(
            &d.path().join("system.slice/php8.2-fpm.service/memory.max"),
            "3221225472\n",
        );
        write(&d.path().join("memory.max"), "max\n");
        let got = cgroup_limit_at(d.path(), "0::/system.slice/php8.2-fpm.service\n").unwrap();
        assert_eq!(got.limit, 3 << 30);
        assert_eq!(got.path, "/system.slice/php8.2-fpm.service");
        assert_eq!(got.file, "memory.max");
        // The limit on an ancestor binds a child below it that sets none.
        write(&d.path().join("a/memory.max"), "1073741824\n");
        write(&d.path().join("a/b/c/memory.max"), "max\n");
        let got = cgroup_limit_at(d.path(), "0::/a/b/c\n").unwrap();
        assert_eq!((got.limit, got.path.as_str()), (1 << 30, "/a"));
        // No limit anywhere.
        assert_eq!(cgroup_limit_at(d.path(), "0::/system.slice\n"), None);
    }

    #[test]
    fn cgroup_hybrid_reads_v1_memory_and_unified_v2() {
        let d = tempfile::tempdir().unwrap();
        // A hybrid host (this one's layout): v1 controllers plus unified/ for v2.
        write(
            &d.path().join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        write(
            &d.path()
                .join("memory/process_api/c3bd/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        std::fs::create_dir_all(d.path().join("unified/x")).unwrap();
        let text = "9:name=systemd:/\n4:memory:/process_api/c3bd\n0::/x\n";
        assert_eq!(cgroup_limit_at(d.path(), text), None);
        write(&d.path().join("unified/x/memory.max"), "2147483648\n");
        write(
            &d.path().join("memory/process_api/memory.limit_in_bytes"),
            "4294967296\n",
        );
        let got = cgroup_limit_at(d.path(), text).unwrap();
        assert_eq!((got.limit, got.file), (2 << 30, "memory.max"));
        write(
            &d.path().join("memory/process_api/memory.limit_in_bytes"),
            "1073741824\n",
        );
        let got = cgroup_limit_at(d.path(), text).unwrap();
        assert_eq!(
            (got.limit, got.file, got.path.as_str()),
            (1 << 30, "memory.limit_in_bytes", "/process_api")
        );
    }

    /// A fixture /proc: pid → (cmdline, comm, status).
    fn proc_entry(root: &Path, pid: u32, cmdline: &[u8], comm: &str, status: &str, cg: &str) {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cmdline"), cmdline).unwrap();
        std::fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(dir.join("status"), status).unwrap();
        std::fs::write(dir.join("cgroup"), cg).unwrap();
    }

    #[test]
    fn finds_the_stacks_master_its_cgroup_limit_and_the_databases() {
        let d = tempfile::tempdir().unwrap();
        let proc_root = d.path().join("proc");
        let cg = d.path().join("cgroup");
        write(&cg.join("cgroup.controllers"), "memory\n");
        write(&cg.join("system.slice/memory.max"), "max\n");
        write(
            &cg.join("system.slice/php8.2-fpm.service/memory.max"),
            "3221225472\n",
        );
        write(
            &cg.join("system.slice/php7.4-fpm.service/memory.max"),
            "1073741824\n",
        );
        // A container: its limit sits on the container's cgroup; wpstack runs elsewhere.
        write(&cg.join("docker/abc/memory.max"), "536870912\n");
        let conf = d.path().join("etc/php/8.2/fpm/php-fpm.conf");
        write(&conf, "[global]\n");
        let title = |c: &Path| format!("php-fpm: master process ({})\0", c.display());
        proc_entry(
            &proc_root,
            100,
            title(Path::new("/etc/php/7.4/fpm/php-fpm.conf")).as_bytes(),
            "php-fpm7.4",
            "VmRSS:\t 9000 kB\n",
            "0::/system.slice/php7.4-fpm.service\n",
        );
        proc_entry(
            &proc_root,
            200,
            title(&conf).as_bytes(),
            "php-fpm8.2",
            "VmRSS:\t 9000 kB\n",
            "0::/system.slice/php8.2-fpm.service\n",
        );
        proc_entry(
            &proc_root,
            201,
            b"php-fpm: pool www\0",
            "php-fpm8.2",
            "VmRSS:\t 30000 kB\n",
            "0::/system.slice/php8.2-fpm.service\n",
        );
        proc_entry(
            &proc_root,
            300,
            b"/usr/sbin/mariadbd\0",
            "mariadbd",
            "Name:\tmariadbd\nVmRSS:\t  409600 kB\n",
            "0::/system.slice/mariadb.service\n",
        );
        proc_entry(
            &proc_root,
            301,
            b"/usr/bin/redis-server 127.0.0.1:6379\0",
            "redis-server",
            "VmRSS:\t 10240 kB\n",
            "0::/system.slice/redis-server.service\n",
        );
        proc_entry(
            &proc_root,
            302,
            b"sshd\0",
            "sshd",
            "VmRSS:\t 5000 kB\n",
            "0::/\n",
        );
        proc_entry(
            &proc_root,
            400,
            b"php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)\0",
            "php-fpm8.2",
            "VmRSS:\t 9000 kB\n",
            "0::/docker/abc\n",
        );
        // Executables: the real ones in system directories, an impostor in a home.
        let bin = |rel: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            let p = d.path().join(rel);
            write(&p, "\x7fELF");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let exe = |pid: u32, target: &Path| {
            std::os::unix::fs::symlink(target, proc_root.join(pid.to_string()).join("exe"))
                .unwrap();
        };
        exe(300, &bin("usr/sbin/mariadbd", 0o755));
        exe(301, &bin("usr/bin/redis-server", 0o755));
        proc_entry(
            &proc_root,
            303,
            b"mysqld\0",
            "mysqld",
            "VmRSS:\t 8388608 kB\n",
            "0::/user.slice\n",
        );
        exe(303, &bin("home/eve/mysqld", 0o755));
        proc_entry(
            &proc_root,
            304,
            b"/usr/sbin/mysqld\0",
            "mysqld",
            "VmRSS:\t 8388608 kB\n",
            "0::/user.slice\n",
        );
        exe(304, &bin("usr/sbin/mysqld", 0o777));
        std::fs::create_dir_all(proc_root.join("self")).unwrap();
        std::fs::write(proc_root.join("self/cgroup"), "0::/user.slice\n").unwrap();

        let masters = fpm_masters(&proc_root);
        assert_eq!(
            masters.iter().map(|m| m.pid).collect::<Vec<_>>(),
            vec![100, 200, 400]
        );
        let p = Probe {
            proc_root: proc_root.clone(),
            cgroup_root: cg.clone(),
            fpm_conf: Some(conf.clone()),
        };
        let (master, limit, db) = probe(&p);
        assert_eq!(master.map(|m| m.pid), Some(200));
        let limit = limit.unwrap();
        assert_eq!(
            (limit.pid, limit.path.as_str(), limit.limit),
            (Some(200), "/system.slice/php8.2-fpm.service", 3 << 30)
        );
        let names: Vec<(&str, u64)> = db
            .iter()
            .filter(|d| d.skipped.is_none())
            .map(|d| (d.name.as_str(), d.rss))
            .collect();
        assert_eq!(
            names,
            vec![("mariadbd", 400 << 20), ("redis-server", 10 << 20)]
        );
        // A process named mysqld is not believed: its binary is in a home, or writable.
        let skipped: Vec<(u32, &str)> = db
            .iter()
            .filter_map(|d| Some((d.pid, d.skipped.as_deref()?)))
            .collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(
            skipped[0].1.contains("not in a system directory"),
            "{skipped:?}"
        );
        assert!(skipped[1].1.contains("writable"), "{skipped:?}");

        // The container's master: its own limit binds it.
        let (_, limit, _) = probe(&Probe {
            fpm_conf: Some(PathBuf::from("/nowhere/php-fpm.conf")),
            ..p.clone()
        });
        // Three masters and none runs the stack's conf: none is picked, and the
        // limit is wpstack's own (none here).
        assert_eq!(limit, None);
        std::fs::remove_dir_all(proc_root.join("100")).unwrap();
        std::fs::remove_dir_all(proc_root.join("200")).unwrap();
        let (master, limit, _) = probe(&Probe {
            fpm_conf: None,
            ..p.clone()
        });
        assert_eq!(master.map(|m| m.pid), Some(400));
        let limit = limit.unwrap();
        assert_eq!(
            (limit.path.as_str(), limit.limit),
            ("/docker/abc", 512 << 20)
        );

        // No master at all: wpstack's own cgroup.
        std::fs::remove_dir_all(proc_root.join("400")).unwrap();
        write(&cg.join("user.slice/memory.max"), "8589934592\n");
        let (master, limit, _) = probe(&p);
        assert!(master.is_none());
        let limit = limit.unwrap();
        assert_eq!((limit.pid, limit.limit), (None, 8 << 30));
    }

    #[test]
    fn master_title_parsing() {
        assert_eq!(
            master_conf(b"php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)\0"),
            Some(PathBuf::from("/etc/php/8.2/fpm/php-fpm.conf"))
        );
        assert_eq!(
            master_conf(b"php-fpm8.2: master process (/x (1)/php-fpm.conf)   \0\0"),
            Some(PathBuf::from("/x (1)/php-fpm.conf"))
        );
        assert_eq!(master_conf(b"php-fpm: pool www\0"), None);
        assert_eq!(master_conf(b"vim php-fpm: master process (x)"), None);
    }

    #[test]
    fn measured_notes_say_what_binds() {
        let h = Host {
            fpm_master: Some(FpmMaster {
                pid: 7,
                conf: PathBuf::from("/etc/php/8.2/fpm/php-fpm.conf"),
            }),
            cgroup: Some(CgroupLimit {
                pid: Some(7),
                path: "/system.slice/php8.2-fpm.service".into(),
                file: "memory.max",
                limit: 3 << 30,
            }),
            db_procs: vec![
                DbProcess {
                    pid: 9,
                    name: "mysqld".into(),
                    rss: 512 << 20,
                    exe: "/usr/sbin/mysqld".into(),
                    skipped: None,
                },
                DbProcess {
                    pid: 10,
                    name: "mysqld".into(),
                    rss: 8 << 30,
                    exe: "/tmp/mysqld".into(),
                    skipped: Some("its executable /tmp/mysqld is not in a system directory".into()),
                },
            ],
            ..Host::default()
        };
        let notes = h.measured_notes().join("\n");
        assert!(
            notes.contains("measured: cgroup /system.slice/php8.2-fpm.service memory.max 3"),
            "{notes}"
        );
        assert!(
            notes.contains("mysqld pid 9 RSS 512") && notes.contains("(/usr/sbin/mysqld)"),
            "{notes}"
        );
        assert!(
            notes.contains("not counted: mysqld pid 10 RSS 8") && notes.contains("/tmp/mysqld"),
            "{notes}"
        );
    }
}
