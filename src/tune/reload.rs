//! `wpstack tune --apply --reload`: after the files are written, reload php-fpm
//! gracefully (SIGUSR2 to the master named by the `pid =` file of the stack's
//! php-fpm.conf) and nginx (`nginx -s reload`) when its files changed; check that
//! the master came back (same pid, or the pid file names a new live master) and that
//! every pool's listen socket accepts; if not, put the old bytes back, reload (or
//! restart the master, which php-fpm 8.2 needs: a master that fails to re-read its
//! config on SIGUSR2 exits) and check again.

use crate::source::FileId;
use crate::stack::Stack;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A file `--apply` wrote: its old and new bytes.
#[derive(Debug, Clone)]
pub struct Changed {
    pub id: FileId,
    pub path: PathBuf,
    pub display: String,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// /proc (a fixture tree only for parts that do not signal).
    pub proc_root: PathBuf,
    pub nginx_bin: PathBuf,
    /// How long a reload may take before it counts as failed.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            proc_root: PathBuf::from("/proc"),
            nginx_bin: PathBuf::from("nginx"),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Where a pool listens, as a client connects to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "{a}"),
        }
    }
}

/// A pool's `listen` as an address to connect to: `/run/php.sock`, `9000`,
/// `127.0.0.1:9000`, `[::1]:9000`, `*:9000`, `0.0.0.0:9000`.
pub fn endpoint(listen: &str) -> Endpoint {
    let l = listen.trim();
    if l.bytes().all(|b| b.is_ascii_digit()) && !l.is_empty() {
        return Endpoint::Tcp(format!("127.0.0.1:{l}"));
    }
    if l.starts_with('/') || !l.contains(':') {
        return Endpoint::Unix(PathBuf::from(l));
    }
    let (host, port) = l.rsplit_once(':').unwrap_or((l, ""));
    let host = match host {
        "*" | "0.0.0.0" | "" => "127.0.0.1",
        "[::]" => "[::1]",
        h => h,
    };
    Endpoint::Tcp(format!("{host}:{port}"))
}

fn accepts(e: &Endpoint) -> bool {
    match e {
        Endpoint::Unix(p) => std::os::unix::net::UnixStream::connect(p).is_ok(),
        Endpoint::Tcp(a) => {
            use std::net::ToSocketAddrs;
            a.to_socket_addrs().ok().into_iter().flatten().any(|sa| {
                std::net::TcpStream::connect_timeout(&sa, Duration::from_millis(500)).is_ok()
            })
        }
    }
}

fn status_field(proc_root: &Path, pid: u32, key: &str) -> Option<String> {
    std::fs::read_to_string(proc_root.join(pid.to_string()).join("status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
}

/// A live php-fpm master: its title says so (a reused pid would not).
fn is_master(proc_root: &Path, pid: u32) -> bool {
    let Ok(cmd) = std::fs::read(proc_root.join(pid.to_string()).join("cmdline")) else {
        return false;
    };
    // A zombie has an empty cmdline and a `Z` state.
    crate::machine::host::master_conf(&cmd).is_some()
        && status_field(proc_root, pid, "State:").is_some_and(|s| s != "Z")
}

fn children(proc_root: &Path, pid: u32) -> Vec<u32> {
    crate::machine::host::pids(proc_root)
        .into_iter()
        .filter(|(_, dir)| {
            std::fs::read_to_string(dir.join("status"))
                .is_ok_and(|t| crate::machine::workers::ppid(&t) == Some(pid))
        })
        .map(|(c, _)| c)
        .collect()
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn signal(pid: u32, sig: rustix::process::Signal) -> Result<(), String> {
    let p = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| format!("{pid} is not a process id"))?;
    rustix::process::kill_process(p, sig).map_err(|e| format!("cannot signal pid {pid}: {e}"))
}

/// One php-fpm instance to reload, read before anything is signalled.
#[derive(Debug, Clone)]
struct FpmTarget {
    conf: PathBuf,
    pid_file: PathBuf,
    pid: u32,
    exe: Option<PathBuf>,
    /// The master ran as root with a pool that names no user: it was started with
    /// --allow-to-run-as-root, and a restart must pass it too.
    needs_root_flag: bool,
    workers: Vec<u32>,
    endpoints: Vec<(String, Endpoint)>,
    /// php-fpm's error_log (absolute), where a failed reload says why.
    error_log: Option<PathBuf>,
    /// The systemd unit the master runs in (`php8.2-fpm.service`), which must
    /// restart it: a master started by hand would run outside the unit.
    unit: Option<String>,
}

/// The systemd service a process belongs to, from its /proc/PID/cgroup text.
pub fn systemd_unit(proc_cgroup: &str) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if !(controllers.is_empty() || controllers == "name=systemd") {
            return None;
        }
        // A user's session (user.slice, user@0.service) is not the service's unit:
        // restarting it would end the user's processes.
        let path = path.trim();
        if path.starts_with("/user.slice") {
            return None;
        }
        path.rsplit('/')
            .find(|c| c.ends_with(".service") && !c.starts_with("user@"))
            .map(str::to_string)
    })
}

impl FpmTarget {
    /// The last error php-fpm logged (other than its closing "initialization failed").
    fn last_error(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.error_log.as_ref()?).ok()?;
        text.lines()
            .rev()
            .take(200)
            .find(|l| l.contains("ERROR:") && !l.contains("FPM initialization failed"))
            .map(|l| l.trim().to_string())
    }
}

/// The tree a stack was read from is this host's own `/` (not a copy): `--root /`,
/// a PATH of `/`, or PATHs that hold no `etc/` (config directories of this host).
fn on_this_host(stack: &Stack) -> bool {
    stack
        .root
        .as_deref()
        .is_none_or(|r| std::fs::canonicalize(r).is_ok_and(|c| c == Path::new("/")))
}

/// Two paths naming the same file (by real path).
fn same_file(a: &Path, b: &Path) -> bool {
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    real(a) == real(b)
}

fn fpm_targets(
    stack: &Stack,
    changed: &[Changed],
    proc_root: &Path,
) -> Result<Vec<FpmTarget>, String> {
    let on_slash = stack
        .root
        .as_deref()
        .and_then(|r| std::fs::canonicalize(r).ok())
        .is_some_and(|c| c == Path::new("/"));
    let mut out = Vec::new();
    for f in &stack.fpm {
        let touched = changed.iter().any(|c| {
            f.files.contains(&c.id)
                || f.php_ini == Some(c.id)
                || f.scan_dir.contains(&c.id)
                || f.main == Some(c.id)
        });
        if !touched {
            continue;
        }
        let Some(main) = f.main else {
            return Err(
                "cannot reload: the changed pools have no php-fpm.conf (its `pid =` names the master)"
                    .into(),
            );
        };
        let conf = stack.sources.get(main).path.clone();
        let Some(pid_value) = f.global.get("pid").map(|v| v.value.trim().to_string()) else {
            return Err(format!(
                "cannot reload: {} sets no `pid =`, so the master cannot be found (set it, e.g. pid = /run/php/php-fpm.pid)",
                conf.display()
            ));
        };
        let pid_file = PathBuf::from(&pid_value);
        if !pid_file.is_absolute() {
            return Err(format!(
                "cannot reload: `pid = {pid_value}` in {} is relative to php-fpm's prefix, which wpstack cannot know; give an absolute path",
                conf.display()
            ));
        }
        let pid = read_pid(&pid_file)
            .filter(|p| is_master(proc_root, *p))
            .ok_or_else(|| {
                format!(
                    "cannot reload: no php-fpm master runs with pid file {} (is php-fpm running?)",
                    pid_file.display()
                )
            })?;
        // Only the master that runs this php-fpm.conf (its title names it) is ours to
        // signal; on `/` the pid file named by the host's own config is trusted too.
        let runs = std::fs::read(proc_root.join(pid.to_string()).join("cmdline"))
            .ok()
            .and_then(|c| crate::machine::host::master_conf(&c));
        if !on_slash && !runs.as_deref().is_some_and(|r| same_file(r, &conf)) {
            return Err(format!(
                "cannot reload: the php-fpm master in {} (pid {pid}) runs {}, not {}: it is not signalled",
                pid_file.display(),
                runs.map(|r| r.display().to_string())
                    .unwrap_or_else(|| "another config".into()),
                conf.display()
            ));
        }
        let as_root = status_field(proc_root, pid, "Uid:").as_deref() == Some("0");
        let pools: Vec<&crate::stack::Pool> =
            f.pools.iter().filter_map(|p| stack.pools.get(*p)).collect();
        let needs_root_flag = as_root
            && pools.iter().any(|p| {
                p.settings
                    .get("user")
                    .is_none_or(|u| matches!(u.value.trim(), "" | "root" | "0"))
            });
        let endpoints = pools
            .iter()
            .filter_map(|p| {
                let l = p.settings.get("listen")?;
                Some((p.name.clone(), endpoint(&l.value)))
            })
            .collect();
        out.push(FpmTarget {
            conf,
            pid_file,
            pid,
            exe: std::fs::read_link(proc_root.join(pid.to_string()).join("exe")).ok(),
            needs_root_flag,
            workers: children(proc_root, pid),
            endpoints,
            error_log: f
                .global
                .get("error_log")
                .map(|v| PathBuf::from(v.value.trim()))
                .filter(|p| p.is_absolute()),
            unit: std::fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup"))
                .ok()
                .and_then(|t| systemd_unit(&t)),
        });
    }
    Ok(out)
}

/// Wait (bounded) until the master is back from a reload: the pid file names a live
/// master that has gone through the reload (a new pid, or none of the old workers
/// left and new ones running), and every pool's socket accepts. The new pid, or why not.
fn wait_back(t: &FpmTarget, proc_root: &Path, timeout: Duration) -> Result<u32, String> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut gone_since: Option<Instant> = None;
    let mut why;
    loop {
        let pid = read_pid(&t.pid_file).filter(|p| is_master(proc_root, *p));
        why = match pid {
            None => {
                let since = *gone_since.get_or_insert_with(Instant::now);
                // A daemonizing master leaves the pid file stale for a moment; 2 s
                // without a master is an exit.
                if since.elapsed() > Duration::from_secs(2) {
                    return Err(format!(
                        "the php-fpm master (pid {}) is gone after the reload",
                        t.pid
                    ));
                }
                format!("no live master in {}", t.pid_file.display())
            }
            Some(pid) => {
                gone_since = None;
                let kids = children(proc_root, pid);
                let reloaded = pid != t.pid
                    || (!t.workers.is_empty()
                        && !kids.is_empty()
                        && kids.iter().all(|k| !t.workers.contains(k)))
                    || (t.workers.is_empty() && start.elapsed() > Duration::from_secs(1));
                let down: Vec<String> = t
                    .endpoints
                    .iter()
                    .filter(|(_, e)| !accepts(e))
                    .map(|(pool, e)| format!("pool {pool} ({e})"))
                    .collect();
                if reloaded && down.is_empty() {
                    return Ok(pid);
                }
                if !reloaded {
                    format!("master pid {pid} has not reloaded yet")
                } else {
                    format!("not accepting connections: {}", down.join(", "))
                }
            }
        };
        if Instant::now() >= deadline {
            return Err(format!("after {} s: {why}", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn reload_fpm(t: &FpmTarget, proc_root: &Path, timeout: Duration) -> Result<u32, String> {
    signal(t.pid, rustix::process::Signal::USR2)?;
    wait_back(t, proc_root, timeout)
}

/// Start a master that died on a reload again: with `systemctl restart UNIT` when
/// systemd runs it, else its binary with `--fpm-config CONF` (and
/// `--allow-to-run-as-root` when it ran so). Other start options (a `-p` prefix, `-c`
/// php.ini) are not known once php-fpm has rewritten its title.
fn restart_fpm(t: &FpmTarget, proc_root: &Path, timeout: Duration) -> Result<u32, String> {
    use std::os::unix::process::CommandExt;
    let fresh = FpmTarget {
        pid: 0,
        workers: Vec::new(),
        ..t.clone()
    };
    if let Some(unit) = &t.unit {
        let ok = std::process::Command::new("systemctl")
            .args(["restart", unit])
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("cannot run systemctl restart {unit}: {e}"))?;
        if !ok.success() {
            return Err(format!("systemctl restart {unit} failed ({ok})"));
        }
        return wait_back(&fresh, proc_root, timeout);
    }
    let exe = t
        .exe
        .clone()
        .ok_or("the master's binary (/proc/PID/exe) was not readable")?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg("--fpm-config").arg(&t.conf);
    if t.needs_root_flag {
        cmd.arg("--allow-to-run-as-root");
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    // A daemonizing php-fpm exits once its master is up; one with daemonize = no is
    // the master and keeps running on its own.
    let up = wait_back(&fresh, proc_root, timeout);
    let _ = child.try_wait();
    up
}

fn nginx_mains(stack: &Stack, changed: &[Changed]) -> Vec<PathBuf> {
    stack
        .nginx
        .iter()
        .filter(|n| changed.iter().any(|c| n.files.contains(&c.id)))
        .map(|n| stack.sources.get(n.main).path.clone())
        .collect()
}

/// The config an nginx master's title names: `nginx: master process nginx -p P -c C`
/// (nginx puts its argv in its title); `None` for a master started without `-c`.
pub fn nginx_master_conf(cmdline: &[u8]) -> Option<PathBuf> {
    let text = String::from_utf8_lossy(cmdline).replace('\0', " ");
    let rest = text.trim().strip_prefix("nginx: master process")?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let arg = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .and_then(|i| words.get(i + 1))
            .map(|w| PathBuf::from(*w))
    };
    let conf = arg("-c")?;
    match (conf.is_absolute(), arg("-p")) {
        (false, Some(prefix)) => Some(prefix.join(conf)),
        _ => Some(conf),
    }
}

/// Refuse to `nginx -s reload` a master that does not run `conf`: the one named by
/// the config's `pid` (nginx's default /run/nginx.pid) must be an nginx master whose
/// `-c` names this file — on `/`, the host's own pid file is trusted.
fn check_nginx_master(
    stack: &Stack,
    conf: &Path,
    proc_root: &Path,
    on_slash: bool,
) -> Result<(), String> {
    let Some(n) = stack
        .nginx
        .iter()
        .find(|n| stack.sources.get(n.main).path == conf)
    else {
        return Ok(());
    };
    let written = n
        .own(0, "pid")
        .last()
        .and_then(|d| d.arg(0).map(str::to_string))
        .unwrap_or_else(|| "/run/nginx.pid".into());
    let pid_file = PathBuf::from(&written);
    if !pid_file.is_absolute() && !on_slash {
        return Err(format!(
            "cannot reload nginx: `pid {written};` in {} is relative to nginx's prefix, which wpstack cannot know; give an absolute path",
            conf.display()
        ));
    }
    let title = read_pid(&pid_file).and_then(|pid| {
        let cmd = std::fs::read(proc_root.join(pid.to_string()).join("cmdline")).ok()?;
        String::from_utf8_lossy(&cmd)
            .starts_with("nginx: master process")
            .then_some((pid, cmd))
    });
    let Some((pid, cmd)) = title else {
        return Err(format!(
            "cannot reload nginx: no nginx master runs with pid file {} (is nginx running?)",
            pid_file.display()
        ));
    };
    if on_slash {
        return Ok(());
    }
    match nginx_master_conf(&cmd) {
        Some(c) if same_file(&c, conf) => Ok(()),
        other => Err(format!(
            "cannot reload nginx: the master in {} (pid {pid}) runs {}, not {}: it is not signalled",
            pid_file.display(),
            other
                .map(|c| c.display().to_string())
                .unwrap_or_else(|| "nginx's default config".into()),
            conf.display()
        )),
    }
}

fn nginx(bin: &Path, args: &[&str], conf: &Path) -> Result<(), String> {
    let out = std::process::Command::new(bin)
        .args(args)
        .arg("-c")
        .arg(conf)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{} {} -c {}` failed: {}",
            bin.display(),
            args.join(" "),
            conf.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn reload_nginx(bin: &Path, conf: &Path) -> Result<(), String> {
    // nginx keeps its old config when the new one fails, and says so only in its
    // error log: test first, so a failure is seen here.
    nginx(bin, &["-t", "-q"], conf)?;
    nginx(bin, &["-s", "reload"], conf)
}

/// What a reload will signal, found before anything is written.
#[derive(Debug, Clone)]
pub struct Plan {
    fpm: Vec<FpmTarget>,
    nginx_confs: Vec<PathBuf>,
}

/// Find what `changed` (the files about to be written) belongs to and may be
/// reloaded; refuse on a copy of a server (`--root DIR`, a PATH holding `etc/`): the
/// php-fpm and nginx running here do not read those files, and their pid files name
/// this host's masters. Call before writing: an error means nothing may be written.
pub fn prepare(stack: &Stack, changed: &[Changed], opts: &Options) -> Result<Plan, String> {
    if !changed.is_empty() && !on_this_host(stack) {
        let root = stack
            .root
            .as_deref()
            .map(|r| r.display().to_string())
            .unwrap_or_default();
        return Err(format!(
            "--reload refused: {root} is a copy of a server, not this host's / — the php-fpm and nginx running here do not read its files (apply without --reload, or run on the host itself)"
        ));
    }
    let on_slash = stack
        .root
        .as_deref()
        .and_then(|r| std::fs::canonicalize(r).ok())
        .is_some_and(|c| c == Path::new("/"));
    let nginx_confs = nginx_mains(stack, changed);
    for conf in &nginx_confs {
        check_nginx_master(stack, conf, &opts.proc_root, on_slash)?;
    }
    Ok(Plan {
        fpm: fpm_targets(stack, changed, &opts.proc_root)?,
        nginx_confs,
    })
}

/// [`prepare`] then [`run`] (the files are already written).
pub fn reload(stack: &Stack, changed: &[Changed], opts: &Options) -> Result<Vec<String>, String> {
    if changed.is_empty() {
        return Ok(vec!["reload: nothing was written, nothing to reload".into()]);
    }
    match prepare(stack, changed, opts) {
        Ok(plan) => run(&plan, changed, opts),
        Err(e) => Err(format!("{e}{}", roll_back(changed))),
    }
}

/// Put the old bytes back; say how it went.
fn roll_back(changed: &[Changed]) -> String {
    let mut lines = Vec::new();
    for c in changed {
        match crate::fix::run::write_one(&c.path, &c.new, &c.old, false) {
            Ok(()) => lines.push(format!("restored {}", c.display)),
            Err(e) => lines.push(format!("could not restore {}: {e}", c.display)),
        }
    }
    format!("\n  {}", lines.join("\n  "))
}

/// Reload what the written files belong to and check it came back; on failure put
/// the old bytes back, reload or restart, check again, and return the failure (with
/// what the recovery did). The lines say what happened.
pub fn run(plan: &Plan, changed: &[Changed], opts: &Options) -> Result<Vec<String>, String> {
    let mut said = Vec::new();
    if changed.is_empty() {
        said.push("reload: nothing was written, nothing to reload".into());
        return Ok(said);
    }
    let fpm = &plan.fpm;
    let nginx_confs = &plan.nginx_confs;
    let mut failure: Option<String> = None;
    for t in fpm {
        match reload_fpm(t, &opts.proc_root, opts.timeout) {
            Ok(pid) => {
                let was = if pid == t.pid {
                    String::new()
                } else {
                    format!(" (was {})", t.pid)
                };
                said.push(format!(
                    "reload: php-fpm ({}) reloaded: master pid {pid}{was}, {} pool socket(s) accept",
                    t.conf.display(),
                    t.endpoints.len()
                ))
            }
            Err(e) => {
                let why = t
                    .last_error()
                    .map(|l| format!("; php-fpm logged: {l}"))
                    .unwrap_or_default();
                failure = Some(format!("php-fpm ({}): {e}{why}", t.conf.display()));
                break;
            }
        }
    }
    if failure.is_none() {
        for conf in nginx_confs {
            match reload_nginx(&opts.nginx_bin, conf) {
                Ok(()) => said.push(format!("reload: nginx ({}) reloaded", conf.display())),
                Err(e) => {
                    failure = Some(format!("nginx: {e}"));
                    break;
                }
            }
        }
    }
    let Some(failure) = failure else {
        return Ok(said);
    };
    // Roll back: the old bytes, then the services on them again.
    let mut recovery = Vec::new();
    for c in changed {
        match crate::fix::run::write_one(&c.path, &c.new, &c.old, false) {
            Ok(()) => recovery.push(format!("restored {}", c.display)),
            Err(e) => recovery.push(format!("could not restore {}: {e}", c.display)),
        }
    }
    for t in fpm {
        let live = read_pid(&t.pid_file).filter(|p| is_master(&opts.proc_root, *p));
        let back = match live {
            Some(pid) => {
                let now = FpmTarget {
                    pid,
                    workers: children(&opts.proc_root, pid),
                    ..t.clone()
                };
                reload_fpm(&now, &opts.proc_root, opts.timeout).map(|p| ("reloaded", p))
            }
            None => restart_fpm(t, &opts.proc_root, opts.timeout).map(|p| ("restarted", p)),
        };
        match back {
            Ok((how, pid)) => recovery.push(format!(
                "php-fpm {how} on the old config: master pid {pid}, every pool socket accepts"
            )),
            Err(e) => recovery.push(format!(
                "php-fpm could not be brought back on the old config: {e}"
            )),
        }
    }
    for conf in nginx_confs {
        match reload_nginx(&opts.nginx_bin, conf) {
            Ok(()) => recovery.push(format!("nginx ({}) reloaded", conf.display())),
            Err(e) => recovery.push(format!("nginx: {e}")),
        }
    }
    Err(format!(
        "reload failed, changes rolled back: {failure}\n  {}",
        recovery.join("\n  ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_values_become_addresses() {
        assert_eq!(
            endpoint("/run/php/php8.2-fpm.sock"),
            Endpoint::Unix("/run/php/php8.2-fpm.sock".into())
        );
        assert_eq!(endpoint("9000"), Endpoint::Tcp("127.0.0.1:9000".into()));
        assert_eq!(
            endpoint("127.0.0.1:9001"),
            Endpoint::Tcp("127.0.0.1:9001".into())
        );
        assert_eq!(endpoint("*:9000"), Endpoint::Tcp("127.0.0.1:9000".into()));
        assert_eq!(
            endpoint("0.0.0.0:9000"),
            Endpoint::Tcp("127.0.0.1:9000".into())
        );
        assert_eq!(endpoint("[::]:9000"), Endpoint::Tcp("[::1]:9000".into()));
        assert_eq!(endpoint("[::1]:9000"), Endpoint::Tcp("[::1]:9000".into()));
    }

    #[test]
    fn the_config_an_nginx_master_runs() {
        assert_eq!(
            nginx_master_conf(
                b"nginx: master process nginx -p /tmp/x -c /tmp/x/nginx.conf -g daemon off;\0\0"
            ),
            Some(PathBuf::from("/tmp/x/nginx.conf"))
        );
        assert_eq!(
            nginx_master_conf(
                b"nginx: master process /usr/sbin/nginx -p /srv/n -c conf/nginx.conf"
            ),
            Some(PathBuf::from("/srv/n/conf/nginx.conf"))
        );
        assert_eq!(
            nginx_master_conf(
                b"nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"
            ),
            None
        );
        assert_eq!(nginx_master_conf(b"nginx: worker process"), None);
    }

    #[test]
    fn systemd_unit_of_a_master() {
        assert_eq!(
            systemd_unit("0::/system.slice/php8.2-fpm.service\n").as_deref(),
            Some("php8.2-fpm.service")
        );
        assert_eq!(
            systemd_unit("4:memory:/x\n1:name=systemd:/system.slice/php-fpm.service\n0::/\n")
                .as_deref(),
            Some("php-fpm.service")
        );
        // A container or a shell: no unit, the master is restarted by hand.
        assert_eq!(systemd_unit("0::/\n4:memory:/process_api/c3bd\n"), None);
        assert_eq!(
            systemd_unit("0::/user.slice/user-0.slice/session-3.scope\n"),
            None
        );
    }
}
