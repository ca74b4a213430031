//! Validation by the real programs: before a fix or a tuning is written, `nginx -t` and
//! `php-fpm -t` run on a copy of the stack in a temp directory, with the paths that
//! matter (includes, pid, logs, temp and cache directories) pointed into that copy —
//! edited through our own parsers' byte spans — so the test neither reads the live
//! configuration nor creates files on the system.
//!
//! The check is differential: when the fixed copy fails, the original copy is tested
//! too. Both failing alike means the environment is the cause (a missing certificate,
//! a user that does not exist here): inconclusive, and the write goes ahead. Only the
//! fixed copy failing (or failing differently) is a rejection: nothing is written.
//!
//! The copy is a sandbox that cannot be abused (issue 13 item 7): a directory of its
//! own, mode 0700, removed when validation ends, on SIGTERM/SIGINT/SIGHUP, and — after a
//! SIGKILL — by the next run; as root the programs run as an unprivileged uid
//! ([`DROP_UID`]) that owns the sandbox; code the user did not ask to trust is not loaded
//! (`load_module`, `extension`/`zend_extension`/`extension_dir`, `opcache.preload`, `ssl_engine`,
//! `perl_require`, `init_by_lua*` pointing outside the system's own module directories
//! are left out, and each check says so); nginx's compiled-in temp paths
//! (`/var/lib/nginx/body`…) are pointed into the sandbox. Validation fails closed: a
//! sandbox that cannot be made, a `-t` that hangs (its whole process group is killed)
//! or a path that cannot be written safely into a config is [`Verdict::NotValidated`]:
//! nothing is written unless `--no-validate` was given.
//!
//! wp-config.php edits are checked by `php -l` (the fixed bytes on its stdin: the file
//! is never copied), differentially like the others.

use crate::files::absolute;
use crate::source::FileId;
use crate::stack::nginx_model::ScopeKind;
use crate::stack::{FileKind, Stack, Syntax};
use crate::syntax::nginx;
use foldhash::HashMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `-t` may take before it is killed (a hung resolver, a blocking device).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Which programs to use.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--nginx-bin`: else `nginx` on PATH, /usr/sbin, /sbin.
    pub nginx_bin: Option<PathBuf>,
    /// `--fpm-bin`: else `php-fpmX.Y` for the stack's version, `php-fpm`, any `php-fpm*`.
    pub fpm_bin: Option<PathBuf>,
    /// The PHP CLI for `php -l` on wp-config.php: else `php` on PATH, any `php8.*`/`php7.*`.
    pub php_bin: Option<PathBuf>,
    /// How long one program may run (default [`TIMEOUT`]).
    pub timeout: Option<Duration>,
}

/// What one program said about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The fixed copy passes `-t`.
    Passed,
    /// The fixed copy fails exactly as the original does: the environment, not the fix.
    Inconclusive(String),
    /// The fixed copy fails and the original does not (or fails differently).
    Rejected(String),
    /// Not run (program not found, nothing to test).
    Skipped(String),
    /// Could not be validated safely (no sandbox, a hung program, a path that cannot be
    /// written into a config): fail closed, nothing is written.
    NotValidated(String),
}

#[derive(Debug, Clone)]
pub struct Check {
    /// "nginx -t" or "php-fpm8.2 -t".
    pub program: String,
    /// The main file tested (display path).
    pub target: String,
    pub verdict: Verdict,
    /// What the sandbox left out (code the user did not ask to trust).
    pub notes: Vec<String>,
}

impl Check {
    /// A check that could not run (the program is missing, or nothing to test), and why.
    fn skipped(program: &str, target: String, why: &str) -> Check {
        Check {
            program: program.to_string(),
            target,
            verdict: Verdict::Skipped(why.to_string()),
            notes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Validation {
    pub checks: Vec<Check>,
}

impl Validation {
    /// The message to refuse the write with, when a program rejected the fixed copy.
    pub fn rejection(&self) -> Option<String> {
        let msgs: Vec<String> = self
            .checks
            .iter()
            .filter_map(|c| match &c.verdict {
                Verdict::Rejected(m) => Some(format!(
                    "{} rejects the fixed {} (the original passes):\n{}",
                    c.program,
                    c.target,
                    indent(m)
                )),
                Verdict::NotValidated(m) => Some(format!(
                    "not validated: {} could not check the fixed {} safely: {m} (--no-validate writes without validation)",
                    c.program, c.target
                )),
                _ => None,
            })
            .collect();
        (!msgs.is_empty()).then(|| msgs.join("\n"))
    }
    /// One line (or a few) per check, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .checks
            .iter()
            .flat_map(|c| c.notes.iter().map(|n| format!("validation: {n}")))
            .collect();
        out.extend(self.checks.iter().map(|c| match &c.verdict {
                Verdict::Passed => {
                    format!("validation: {} accepts the fixed {}", c.program, c.target)
                }
                Verdict::Inconclusive(m) => format!(
                    "validation inconclusive: {} fails on {} before and after the fix alike (the environment, not the fix); writing anyway:\n{}",
                    c.program,
                    c.target,
                    indent(m)
                ),
                Verdict::Rejected(m) => {
                    format!("validation: {} rejects the fixed {}:\n{}", c.program, c.target, indent(m))
                }
                Verdict::Skipped(why) => format!("validation skipped: {why}"),
                Verdict::NotValidated(why) => format!(
                    "not validated: {} on {}: {why}",
                    c.program, c.target
                ),
            }));
        out
    }
}

fn indent(m: &str) -> String {
    m.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn program_name(bin: &Path, default: &str) -> String {
    bin.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| default.into())
}

/// Look for a program in PATH, then /usr/sbin and /sbin.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in ["/usr/sbin", "/sbin"] {
        let d = PathBuf::from(d);
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs
}

fn find_program(name: &str) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// php-fpm for this PHP version: `php-fpmX.Y`, else `php-fpm`, else the highest `php-fpm*`.
pub fn find_fpm(version: Option<&str>) -> Option<PathBuf> {
    if let Some(v) = version {
        if let Some(p) = find_program(&format!("php-fpm{v}")) {
            return Some(p);
        }
    }
    if let Some(p) = find_program("php-fpm") {
        return Some(p);
    }
    last_program(|n| n.starts_with("php-fpm"))
}

/// The last (highest by name) program in the search directories whose file name
/// `wanted` accepts: `php-fpm8.3` over `php-fpm8.2`.
fn last_program(wanted: impl Fn(&str) -> bool) -> Option<PathBuf> {
    let mut any: Vec<PathBuf> = search_dirs()
        .into_iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|rd| rd.filter_map(Result::ok).map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| wanted(&n.to_string_lossy())))
        .collect();
    any.sort();
    any.pop()
}

pub fn find_nginx() -> Option<PathBuf> {
    find_program("nginx")
}

/// The PHP CLI for `php -l`.
pub fn find_php() -> Option<PathBuf> {
    if let Some(p) = find_program("php") {
        return Some(p);
    }
    last_program(|n| {
        n.strip_prefix("php")
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    })
}

/// Validate `changes` (path → (display, old, new)) of `stack` with the real programs:
/// nginx -t for each nginx instance one of whose files changed, php-fpm -t for each
/// php-fpm instance whose configuration, php.ini or scan dir changed (php-fpm reads
/// php.ini at start-up, so a php.ini fix can break it), php -l for each changed
/// wp-config.php. Untouched instances are not run.
pub fn validate(
    stack: &Stack,
    changes: &BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)>,
    opts: &Options,
) -> Validation {
    let mut v = Validation::default();
    let limit = opts.timeout.unwrap_or(TIMEOUT);
    let contents = |which: Which| {
        move |id: FileId| -> Vec<u8> {
            let src = stack.sources.get(id);
            match (changes.get(&src.path), which) {
                (Some((_, old, _)), Which::Original) => old.clone(),
                (Some((_, _, new)), Which::Fixed) => new.clone(),
                (None, _) => src.bytes.clone(),
            }
        }
    };
    let touches = |ids: &mut dyn Iterator<Item = &FileId>| {
        for id in ids {
            if changes.contains_key(&stack.sources.get(*id).path) {
                return true;
            }
        }
        false
    };
    let nginx_touched = stack.nginx.iter().any(|n| touches(&mut n.files.iter()));
    let fpm_touched = stack.fpm.iter().any(|f| {
        touches(
            &mut f
                .files
                .iter()
                .chain(f.php_ini.iter())
                .chain(f.scan_dir.iter()),
        )
    });
    let wp_changed: Vec<&crate::stack::WpConfig> = stack
        .wp
        .iter()
        .filter(|w| changes.contains_key(&stack.sources.get(w.file).path))
        .collect();
    let db_changed: Vec<FileId> = stack
        .databases
        .iter()
        .flat_map(|d| d.files.iter().copied())
        .filter(|id| changes.contains_key(&stack.sources.get(*id).path))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !db_changed.is_empty() {
        let bin = find_program("my_print_defaults");
        for id in db_changed {
            let target = stack.sources.get(id).display.clone();
            let Some(bin) = &bin else {
                v.checks.push(Check::skipped("my_print_defaults", target, "my_print_defaults not found on PATH (MariaDB's or MySQL's client package): the option file was checked by wpstack's own reader only"));
                continue;
            };
            let (verdict, notes) =
                differential(|which| run_my_print_defaults(bin, &contents(which)(id), limit));
            v.checks.push(Check {
                program: "my_print_defaults --mysqld".into(),
                target,
                verdict,
                notes,
            });
        }
    }
    if !nginx_touched && !fpm_touched && wp_changed.is_empty() && v.checks.is_empty() {
        v.checks.push(Check::skipped(
            "",
            String::new(),
            "no nginx or php-fpm file changed: nothing for nginx -t / php-fpm -t to test",
        ));
    }
    if !wp_changed.is_empty() {
        let php = opts.php_bin.clone().or_else(find_php);
        for w in wp_changed {
            let src = stack.sources.get(w.file);
            let target = src.display.clone();
            let Some(php) = &php else {
                v.checks.push(Check::skipped("php -l", target, "php (the CLI) not found on PATH: wp-config.php was checked by wpstack's own tokenizer only"));
                continue;
            };
            let (verdict, notes) =
                differential(|which| run_php_lint(php, &contents(which)(w.file), limit));
            v.checks.push(Check {
                program: format!("{} -l", program_name(php, "php")),
                target,
                verdict,
                notes,
            });
        }
    }
    if nginx_touched {
        let bin = opts.nginx_bin.clone().or_else(find_nginx);
        for n in &stack.nginx {
            let target = stack.sources.get(n.main).display.clone();
            if !touches(&mut n.files.iter()) {
                continue;
            }
            let Some(bin) = &bin else {
                v.checks.push(Check::skipped(
                    "nginx -t",
                    target,
                    "nginx not found on PATH (give --nginx-bin)",
                ));
                break;
            };
            let (verdict, notes) =
                differential(|which| run_nginx(stack, n, bin, &contents(which), limit));
            v.checks.push(Check {
                program: format!("{} -t", program_name(bin, "nginx")),
                target,
                verdict,
                notes,
            });
        }
    }
    for f in &stack.fpm {
        if !touches(
            &mut f
                .files
                .iter()
                .chain(f.php_ini.iter())
                .chain(f.scan_dir.iter()),
        ) {
            continue;
        }
        let target = match f.main {
            Some(m) => stack.sources.get(m).display.clone(),
            None => f
                .files
                .first()
                .map(|id| stack.sources.get(*id).display.clone())
                .unwrap_or_default(),
        };
        let bin = opts
            .fpm_bin
            .clone()
            .or_else(|| find_fpm(f.version.as_deref()));
        let Some(bin) = bin else {
            v.checks.push(Check::skipped(
                "php-fpm -t",
                target,
                "php-fpm not found on PATH (give --fpm-bin)",
            ));
            continue;
        };
        let name = program_name(&bin, "php-fpm");
        let (verdict, notes) =
            differential(|which| run_fpm(stack, f, &bin, &contents(which), limit));
        v.checks.push(Check {
            program: format!("{name} -t"),
            target,
            verdict,
            notes,
        });
    }
    v
}

#[derive(Debug, Clone, Copy)]
enum Which {
    Original,
    Fixed,
}

/// Run on the fixed copy; on failure, on the original; compare. A run that could not
/// be made safely is [`Verdict::NotValidated`] (fail closed).
fn differential(run: impl Fn(Which) -> Result<Outcome, String>) -> (Verdict, Vec<String>) {
    let fixed = match run(Which::Fixed) {
        Ok(o) => o,
        Err(e) => return (Verdict::NotValidated(e), Vec::new()),
    };
    let notes = fixed.notes.clone();
    if fixed.ok {
        return (Verdict::Passed, notes);
    }
    let original = match run(Which::Original) {
        Ok(o) => o,
        Err(e) => return (Verdict::NotValidated(e), notes),
    };
    let verdict = if original.ok {
        Verdict::Rejected(fixed.message)
    } else if normalize(&original.message) == normalize(&fixed.message) {
        Verdict::Inconclusive(fixed.message)
    } else {
        Verdict::Rejected(format!(
            "{}\n(the original fails differently: {})",
            fixed.message,
            original.message.trim()
        ))
    };
    (verdict, notes)
}

/// A message without what differs between two runs: times, pids, line numbers.
fn normalize(m: &str) -> String {
    m.lines()
        .filter(|l| !l.contains("test failed") && !l.contains("FPM initialization failed"))
        .map(|l| {
            l.chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Outcome {
    ok: bool,
    /// What the program printed, its sandbox paths turned back into the real ones.
    message: String,
    /// What the sandbox left out.
    notes: Vec<String>,
}

/// The uid/gid the programs run as when wpstack runs as root: a user `wpstack-validate`
/// when the system has one, else this fixed uid, which no account uses (not `nobody`,
/// whose processes — nginx workers on some systems — could then read the sandbox).
pub const DROP_UID: u32 = 2_147_483_000;

fn drop_ids() -> Option<(u32, u32)> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() > 3 && f[0] == "wpstack-validate" {
            if let (Ok(u), Ok(g)) = (f[2].parse(), f[3].parse()) {
                if u != 0 {
                    return Some((u, g));
                }
            }
        }
    }
    Some((DROP_UID, DROP_UID))
}

/// Sandboxes and process groups alive now, for the signal handler to clean up.
static LIVE: std::sync::Mutex<Vec<Live>> = std::sync::Mutex::new(Vec::new());

#[derive(PartialEq, Eq)]
enum Live {
    Dir(PathBuf),
    Group(i32),
}

fn live(item: Live, add: bool) {
    if let Ok(mut l) = LIVE.lock() {
        if add {
            l.push(item);
        } else {
            l.retain(|x| *x != item);
        }
    }
}

/// Once per process: on SIGTERM, SIGINT or SIGHUP, kill the running programs' process
/// groups and remove the sandboxes, then exit as the signal would have (128 + N).
fn install_cleanup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                cleanup_all();
                std::process::exit(128 + sig);
            }
        });
    });
}

/// Once a signal's cleanup has begun, the thread that notices waits for the handler to
/// end the process (exit 128 + N), instead of going on to make a new sandbox or to
/// report the killed program as a failure of its own.
fn park_if_stopping() {
    while STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Set once a signal asked us to stop: no sandbox is made after it.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn cleanup_all() {
    let items: Vec<Live> = match LIVE.lock() {
        Ok(mut l) => {
            STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
            std::mem::take(&mut *l)
        }
        Err(_) => return,
    };
    for i in &items {
        if let Live::Group(g) = i {
            kill_group(*g);
        }
    }
    for i in &items {
        if let Live::Dir(d) = i {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn kill_group(pgid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

const SANDBOX_PREFIX: &str = "wpstack-validate-";

/// Sandboxes left by a run that was killed (SIGKILL, a power cut): `wpstack-validate-PID-…`
/// whose PID no longer runs. Only our own (or, as root, any).
fn remove_stale(tmp: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir(tmp) else {
        return;
    };
    let me = rustix::process::geteuid();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(SANDBOX_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let ours = meta.uid() == me.as_raw() || me.is_root();
        if ours {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A private temp directory (0700), removed on drop and on SIGTERM. The copy of real
/// path `/a/b` is `DIR/fs/a/b`.
struct Sandbox {
    dir: PathBuf,
    /// As root: the unprivileged ids the programs run as, owners of everything here.
    ids: Option<(u32, u32)>,
}

/// A path wpstack writes into a config it hands to nginx or php-fpm: only characters
/// that need no quoting in either (anything else is refused: fail closed).
fn plain_path(p: &Path) -> Result<(), String> {
    let s = p.to_string_lossy();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+@%,=:".contains(c))
    {
        Ok(())
    } else {
        Err(format!(
            "the path {:?} holds characters that cannot be written into a config safely",
            s
        ))
    }
}

/// Where sandboxes go: the temp dir (`TMPDIR`), or — when the programs run as another
/// uid that could not reach into it (a private TMPDIR of root's) — `/tmp`.
fn base_dir(dropping: bool) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = std::env::temp_dir();
    if !dropping {
        return Ok(tmp);
    }
    let reachable = |d: &Path| {
        absolute(d)
            .ancestors()
            .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
    };
    for d in [tmp.clone(), PathBuf::from("/tmp")] {
        if d.is_dir() && reachable(&d) {
            return Ok(d);
        }
    }
    Err(format!(
        "no temp dir the unprivileged uid can reach ({} is private)",
        tmp.display()
    ))
}

impl Sandbox {
    fn new() -> Result<Sandbox, String> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        install_cleanup();
        let ids = drop_ids();
        let tmp = base_dir(ids.is_some())?;
        remove_stale(&tmp);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for _ in 0..100 {
            let dir = tmp.join(format!(
                "{SANDBOX_PREFIX}{}-{}-{}",
                std::process::id(),
                nanos,
                N.fetch_add(1, Ordering::Relaxed)
            ));
            plain_path(&dir).map_err(|e| format!("no sandbox: {e} (set TMPDIR)"))?;
            // Made and registered under the lock the signal handler takes: a sandbox
            // either is cleaned up by it or is never made.
            let mut registry = LIVE
                .lock()
                .map_err(|_| "no sandbox: the registry is poisoned".to_string())?;
            if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
                drop(registry);
                park_if_stopping();
                return Err("stopping on a signal".into());
            }
            let made = std::fs::DirBuilder::new().mode(0o700).create(&dir);
            if made.is_ok() {
                registry.push(Live::Dir(dir.clone()));
            }
            drop(registry);
            match made {
                Ok(()) => {
                    let sb = Sandbox { dir, ids };
                    sb.own(&sb.dir).map_err(|e| {
                        format!("cannot give the sandbox to the unprivileged uid: {e}")
                    })?;
                    for d in ["fs", "logs", "var", "prefix/log", "prefix/logs"] {
                        sb.mkdir(&sb.dir.join(d))
                            .map_err(|e| format!("cannot make a sandbox: {e}"))?;
                    }
                    return Ok(sb);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot make a sandbox in the temp dir: {e}")),
            }
        }
        Err("cannot make a sandbox in the temp dir".into())
    }
    /// Create `d` and its missing parents inside the sandbox, 0700, owned by the
    /// programs' uid.
    fn mkdir(&self, d: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        if d.is_dir() {
            return Ok(());
        }
        if d == self.dir || !d.starts_with(&self.dir) {
            // Removed under us (a signal's cleanup): never made again.
            return Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        }
        if let Some(parent) = d.parent() {
            self.mkdir(parent)?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        self.own(d)
    }
    fn own(&self, p: &Path) -> std::io::Result<()> {
        match self.ids {
            Some((u, g)) => std::os::unix::fs::lchown(p, Some(u), Some(g)),
            None => Ok(()),
        }
    }
    fn fs(&self) -> PathBuf {
        self.dir.join("fs")
    }
    fn map(&self, real: &Path) -> PathBuf {
        let abs = absolute(real);
        let rel: PathBuf = abs
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect();
        self.fs().join(rel)
    }
    /// Write a file (0600, owned by the programs' uid); refused outside the sandbox.
    fn put(&self, p: &Path, bytes: &[u8]) -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if !p.starts_with(&self.dir) {
            return Err(format!("sandbox: {} is outside it", p.display()));
        }
        if let Some(parent) = p.parent() {
            self.mkdir(parent).map_err(|e| format!("sandbox: {e}"))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(p)
            .map_err(|e| format!("sandbox: {e}"))?;
        f.write_all(bytes).map_err(|e| format!("sandbox: {e}"))?;
        self.own(p).map_err(|e| format!("sandbox: {e}"))
    }
    fn write(&self, real: &Path, bytes: &[u8]) -> Result<PathBuf, String> {
        let p = self.map(real);
        self.put(&p, bytes)?;
        Ok(p)
    }
    /// Sandbox paths in a program's message back to the real ones.
    fn unmap(&self, msg: &str) -> String {
        msg.replace(&self.fs().display().to_string(), "")
            .replace(&self.dir.display().to_string(), "<sandbox>")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        live(Live::Dir(self.dir.clone()), false);
    }
}

/// A path as a config word; refused when it would need quoting (fail closed).
fn word(p: &Path) -> Result<String, String> {
    plain_path(p)?;
    Ok(p.display().to_string())
}

/// [`word`] for an include, whose glob characters stay.
fn glob_word(p: &Path) -> Result<String, String> {
    let s = p.display().to_string();
    plain_path(Path::new(&s.replace(['*', '?', '[', ']'], "")))?;
    Ok(s)
}

/// Apply (span start, span end, replacement) edits.
fn splice(bytes: &[u8], mut edits: Vec<(usize, usize, String)>) -> Vec<u8> {
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for (s, e, r) in edits {
        if s < at || e > bytes.len() {
            continue;
        }
        out.extend_from_slice(&bytes[at..s]);
        out.extend_from_slice(r.as_bytes());
        at = e;
    }
    out.extend_from_slice(&bytes[at.min(bytes.len())..]);
    out
}

/// Paths nginx writes or creates at `-t`, and where they go in the sandbox.
struct Outputs<'a> {
    sb: &'a Sandbox,
    seen: HashMap<String, PathBuf>,
}

impl Outputs<'_> {
    fn file(&mut self, written: &str, sub: &str) -> PathBuf {
        let n = self.seen.len();
        let sb = self.sb;
        self.seen
            .entry(written.to_string())
            .or_insert_with(|| {
                let base: String = Path::new(written)
                    .file_name()
                    .map(|b| b.to_string_lossy().into_owned())
                    .unwrap_or_default()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                sb.dir.join(sub).join(format!("{n}-{base}"))
            })
            .clone()
    }
}

/// A value naming a file the program creates at `-t` (not `off`, `stderr`, syslog…).
/// An absolute path whose directory does not exist here is left as written: the
/// program fails on it as it would at start-up, and creates nothing there.
fn is_file_target(v: &str) -> bool {
    // Devices and /proc paths are left as written: a stream (`/proc/self/fd/2`,
    // `/dev/stderr`) works in the sandbox too, and a file that cannot be created there
    // (`/proc/self/fd/2.www.slow.log`) must make `php-fpm -t` fail as it would on the host.
    let special = v.is_empty()
        || v == "off"
        || v == "stderr"
        || v.starts_with("syslog:")
        || v.starts_with("memory:")
        || v.starts_with("/dev/")
        || v.starts_with("/proc/");
    let missing_dir = v.starts_with('/')
        && Path::new(v)
            .parent()
            .is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir());
    !special && !missing_dir
}

/// `unshare` when this system lets an unprivileged user make a user and network
/// namespace (probed once), else None.
fn userns() -> Option<PathBuf> {
    static CACHE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| {
            let unshare = find_program("unshare")?;
            let mut cmd = Command::new(&unshare);
            cmd.args(["--user", "--map-root-user", "--net", "--", "true"]);
            match run(cmd, &unshare, None, None, Duration::from_secs(5)) {
                Ok((true, _)) => Some(unshare),
                _ => None,
            }
        })
        .clone()
}

/// `nginx -V` (what it was built with), once per binary.
fn nginx_v(bin: &Path, limit: Duration) -> String {
    static CACHE: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    if let Ok(c) = CACHE.lock() {
        if let Some((_, v)) = c.iter().find(|(b, _)| b == bin) {
            return v.clone();
        }
    }
    let mut cmd = Command::new(bin);
    cmd.arg("-V");
    let out = run(cmd, bin, None, None, limit)
        .map(|(_, o)| o)
        .unwrap_or_default();
    if let Ok(mut c) = CACHE.lock() {
        c.push((bin.to_path_buf(), out.clone()));
    }
    out
}

/// nginx's compiled-in prefix (`nginx -V`: `--prefix=/usr/share/nginx`).
fn compiled_prefix(v: &str) -> Option<PathBuf> {
    v.split_whitespace()
        .find_map(|w| w.strip_prefix("--prefix="))
        .map(PathBuf::from)
}

/// nginx's stock files, which copied config directories often leave out.
const STOCK: &[&str] = &[
    "mime.types",
    "fastcgi_params",
    "fastcgi.conf",
    "scgi_params",
    "uwsgi_params",
    "koi-utf",
    "koi-win",
    "win-utf",
];

/// This machine's `/etc/nginx/NAME` for a relative include of a stock file.
fn system_stand_in(written: &str) -> Option<PathBuf> {
    if !STOCK.contains(&written) {
        return None;
    }
    let p = Path::new("/etc/nginx").join(written);
    p.is_file().then_some(p)
}

/// Is `p` (resolved on this machine, links followed) inside one of the system's own
/// module directories: under `roots`, with a path component that names the program
/// (`/usr/lib/nginx/modules`, `/usr/lib/php/20220829`, `/usr/lib64/php/modules`,
/// `/usr/lib/php82/modules`)?
fn in_system_dir(p: &Path, roots: &[&str], program: &str) -> bool {
    let Ok(real) = std::fs::canonicalize(p) else {
        // Not here: nothing to load (the program fails on it, before and after alike).
        return !p.exists() && p.is_absolute() && roots.iter().any(|r| p.starts_with(r));
    };
    roots.iter().any(|r| {
        real.strip_prefix(r).is_ok_and(|rest| {
            rest.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with(program))
        })
    })
}

const NGINX_MODULE_ROOTS: &[&str] = &["/usr/lib", "/usr/lib64", "/usr/share", "/usr/local"];
const PHP_MODULE_ROOTS: &[&str] = &[
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/opt/remi",
    "/opt/cpanel",
    "/opt/plesk",
];

/// nginx's temp directories compiled in as `/var/lib/nginx/*`, created by `-t` when the
/// config sets none: (directive, the module's `--without-…` switch).
const NGINX_TEMP: &[(&str, &str)] = &[
    ("client_body_temp_path", ""),
    ("proxy_temp_path", "--without-http_proxy_module"),
    ("fastcgi_temp_path", "--without-http_fastcgi_module"),
    ("uwsgi_temp_path", "--without-http_uwsgi_module"),
    ("scgi_temp_path", "--without-http_scgi_module"),
];

fn run_nginx(
    stack: &Stack,
    n: &crate::stack::Nginx,
    bin: &Path,
    content: &dyn Fn(FileId) -> Vec<u8>,
    limit: Duration,
) -> Result<Outcome, String> {
    let sb = Sandbox::new()?;
    let main_path = stack.sources.get(n.main).path.clone();
    let prefix = main_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let map = crate::stack::discover::nginx_path_map(&main_path, stack.root.as_deref());
    let mut outs = Outputs {
        sb: &sb,
        seen: HashMap::default(),
    };
    let built = nginx_v(bin, limit);
    // Not root: `nginx -t` binds its ports (below 1024 only as root), so it runs in a
    // user and network namespace of its own where the system allows one — root there,
    // no clash with a live server. Only root is mapped in it, so `user` becomes root
    // (nginx chowns its temp directories to that user).
    let unshare = match sb.ids {
        None if !rustix::process::geteuid().is_root() => userns(),
        _ => None,
    };
    let compiled = compiled_prefix(&built);
    let mut notes = Vec::new();
    // The http block: nginx's compiled-in temp paths not set there go into the sandbox.
    let http = n.scopes.iter().find(|s| s.kind == ScopeKind::Http);
    let mut temp_lines = String::new();
    if let Some(h) = http {
        // The compiled-in access log (/var/log/nginx/access.log), opened by `-t`.
        if h.named("access_log").is_empty() {
            temp_lines.push_str(&format!(
                " access_log {};",
                word(&sb.dir.join("logs/access.log"))?
            ));
        }
        for (name, without) in NGINX_TEMP {
            if h.named(name).is_empty() && (without.is_empty() || !built.contains(without)) {
                let p = sb.dir.join("var").join(name.trim_end_matches("_temp_path"));
                temp_lines.push_str(&format!(" {name} {};", word(&p)?));
            }
        }
    }
    for id in &n.files {
        let src = stack.sources.get(*id);
        let bytes = content(*id);
        let file = nginx::parse(&bytes);
        let mut edits = Vec::new();
        if *id == n.main
            && unshare.is_some()
            && !n
                .scopes
                .iter()
                .any(|s| s.kind == ScopeKind::Main && !s.named("user").is_empty())
        {
            edits.push((0, 0, "user root;\n".to_string()));
        }
        if *id == n.main
            && !n
                .scopes
                .iter()
                .any(|s| s.kind == ScopeKind::Main && !s.named("pid").is_empty())
        {
            // `-t` opens the pid file (/run/nginx.pid) when the config names none.
            edits.push((
                0,
                0,
                format!("pid {};\n", word(&sb.dir.join("logs/nginx.pid"))?),
            ));
        }
        if let Some(b) = http.and_then(|h| h.block).filter(|b| b.file == *id) {
            if !temp_lines.is_empty() && bytes.get(b.open.start..b.open.end) == Some(b"{") {
                edits.push((b.open.end, b.open.end, temp_lines.clone()));
            }
        }
        for d in file.all_directives() {
            let name = d.name.text();
            let Some(arg) = d.args.first() else { continue };
            let value = arg.text();
            let untrusted = |what: &str, notes: &mut Vec<String>, edits: &mut Vec<_>| {
                let (l, _) = src.line_col(d.span.start);
                notes.push(format!(
                    "not loaded: `{name} {value}` at {}:{l} ({what}); the copy was tested without it",
                    src.display
                ));
                edits.push((d.span.start, d.span.end, String::new()));
            };
            let new = match name.as_str() {
                "include" => {
                    let real = map.resolve(&value, &prefix);
                    let glob = value.contains(['*', '?', '[']);
                    match system_stand_in(&value) {
                        // A copied directory without nginx's stock files (mime.types,
                        // fastcgi_params): this machine's copy stands in, read only.
                        Some(sys) if !glob && !real.exists() => Some(sys),
                        _ => Some(sb.map(&real)),
                    }
                }
                "load_module" => {
                    // Relative to nginx's compiled prefix, not to the sandbox's -p.
                    let path = if value.starts_with('/') {
                        Some(PathBuf::from(&value))
                    } else {
                        compiled.as_ref().map(|c| c.join(&value))
                    };
                    match path {
                        Some(p) if in_system_dir(&p, NGINX_MODULE_ROOTS, "nginx") => {
                            (!value.starts_with('/')).then_some(p)
                        }
                        _ => {
                            untrusted(
                                "a module outside nginx's own module directories",
                                &mut notes,
                                &mut edits,
                            );
                            continue;
                        }
                    }
                }
                "user" if unshare.is_some() => {
                    let last = d.args.last().map_or(arg.span.end, |a| a.span.end);
                    edits.push((arg.span.start, last, "root".to_string()));
                    continue;
                }
                "ssl_engine" => {
                    untrusted(
                        "an OpenSSL engine, loaded as a library",
                        &mut notes,
                        &mut edits,
                    );
                    continue;
                }
                "perl_modules"
                | "perl_require"
                | "init_by_lua"
                | "init_by_lua_block"
                | "init_by_lua_file"
                | "init_worker_by_lua"
                | "init_worker_by_lua_block"
                | "init_worker_by_lua_file" => {
                    untrusted(
                        "code run when nginx reads its configuration",
                        &mut notes,
                        &mut edits,
                    );
                    continue;
                }
                "pid" | "lock_file" | "error_log" | "access_log"
                    if !value.contains('$') && is_file_target(&value) =>
                {
                    Some(outs.file(&value, "logs"))
                }
                n if (n.ends_with("_temp_path") || n.ends_with("_cache_path"))
                    && !value.contains('$')
                    && is_file_target(&value) =>
                {
                    Some(outs.file(&value, "var"))
                }
                n if n.starts_with("ssl_") && n != "ssl_ciphers" && value.starts_with('/') => {
                    // Read, never written: a copy of the tree's file inside the
                    // sandbox, readable by the unprivileged programs. Resolved inside
                    // the checked root (a link never leads onto this machine) and read
                    // like every config file: bounded, regular files only, no blocking
                    // open of a FIFO.
                    let r = map.resolve(&value, &prefix);
                    match crate::files::read(stack.root.as_deref(), &r) {
                        Ok((_, b)) if b.len() < 1 << 20 => Some(sb.write(&r, &b)?),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(p) = new {
                let w = if name == "include" {
                    glob_word(&p)?
                } else {
                    word(&p)?
                };
                edits.push((arg.span.start, arg.span.end, w));
            }
        }
        sb.write(&src.path, &splice(&bytes, edits))?;
    }
    let conf = sb.map(&main_path);
    // `nginx -t` binds the ports it listens on. Not root: in a user and network
    // namespace of its own where the system allows one (root there, ports below 1024
    // bindable, no clash with the live server); as root: CAP_NET_BIND_SERVICE alone.
    let mut cmd = match &unshare {
        Some(unshare) => {
            let mut c = Command::new(unshare);
            c.args(["--user", "--map-root-user", "--net", "--"])
                .arg(bin);
            c
        }
        _ => Command::new(bin),
    };
    cmd.arg("-t")
        .arg("-p")
        .arg(sb.dir.join("prefix"))
        .arg("-e")
        .arg(sb.dir.join("logs/startup-error.log"))
        .arg("-c")
        .arg(&conf);
    let (ok, out) = run(cmd, bin, sb.ids, None, limit)?;
    Ok(Outcome {
        ok,
        message: sb.unmap(out.trim_end()),
        notes,
    })
}

/// Does an ini/pool entry load code at start-up, and which kind of entry is it?
fn loads_code(key: &str, index: Option<&str>) -> Option<&'static str> {
    let k = match (key, index) {
        ("php_value" | "php_admin_value", Some(i)) => i,
        (k, None) => k,
        _ => return None,
    };
    match k.to_ascii_lowercase().as_str() {
        "extension" | "zend_extension" => Some("extension"),
        "extension_dir" => Some("extension_dir"),
        "opcache.preload" => Some("opcache.preload"),
        _ => None,
    }
}

/// Neutralise what an ini file (php.ini, conf.d, a pool) would load that is not the
/// system's own: extensions by path outside PHP's module directories, an
/// `extension_dir` elsewhere, `opcache.preload` (PHP code run at start-up).
fn neutralise_ini(
    kind: FileKind,
    bytes: &[u8],
    display: &str,
    notes: &mut Vec<String>,
) -> Vec<(usize, usize, String)> {
    let Syntax::Ini(file) = Syntax::parse(kind, bytes) else {
        return Vec::new();
    };
    let mut edits = Vec::new();
    for line in &file.lines {
        let crate::syntax::ini::LineKind::Entry(e) = &line.kind else {
            continue;
        };
        let v = e.value.text.trim();
        let Some(what) = loads_code(&e.key.name, e.key.index.as_deref()) else {
            continue;
        };
        let trusted = match what {
            "extension" => !v.contains('/') || in_system_dir(Path::new(v), PHP_MODULE_ROOTS, "php"),
            "extension_dir" => v.is_empty() || in_system_dir(Path::new(v), PHP_MODULE_ROOTS, "php"),
            _ => v.is_empty(),
        };
        if trusted {
            continue;
        }
        let l = bytes[..line.span.start.min(bytes.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        notes.push(format!(
            "not loaded: `{} = {v}` at {display}:{l} ({}); the copy was tested without it",
            String::from_utf8_lossy(&bytes[e.key.span.start..e.key.span.end]),
            if what == "opcache.preload" {
                "PHP code run at start-up"
            } else {
                "outside PHP's own module directories"
            }
        ));
        edits.push((e.span.start, e.span.end, String::new()));
    }
    edits
}

fn run_fpm(
    stack: &Stack,
    f: &crate::stack::Fpm,
    bin: &Path,
    content: &dyn Fn(FileId) -> Vec<u8>,
    limit: Duration,
) -> Result<Outcome, String> {
    let sb = Sandbox::new()?;
    let main_dir = match f.main {
        Some(m) => stack
            .sources
            .get(m)
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        None => PathBuf::new(),
    };
    let mut outs = Outputs {
        sb: &sb,
        seen: HashMap::default(),
    };
    let mut notes = Vec::new();
    for id in &f.files {
        let src = stack.sources.get(*id);
        let bytes = content(*id);
        let Syntax::Ini(file) = Syntax::parse(FileKind::Fpm, &bytes) else {
            continue;
        };
        let mut edits = neutralise_ini(FileKind::Fpm, &bytes, &src.display, &mut notes);
        for (section, e) in file.entries() {
            let global = section.is_none_or(|s| s.name.eq_ignore_ascii_case("global"));
            let key = e.key.name.as_str();
            let new = match key {
                "include" if f.main.is_some() => {
                    Some(sb.map(&crate::stack::discover::fpm_include_target(
                        &e.value.text,
                        &main_dir,
                        stack.root.as_deref(),
                    )))
                }
                "pid" | "error_log" if global && is_file_target(&e.value.text) => {
                    Some(outs.file(&e.value.text, "logs"))
                }
                "slowlog" | "access.log"
                    if e.key.index.is_none() && is_file_target(&e.value.text) =>
                {
                    Some(outs.file(&e.value.text, "logs"))
                }
                _ => None,
            };
            if let Some(p) = new {
                // A glob in an include stays a glob; every other byte must be plain.
                edits.push((e.value.span.start, e.value.span.end, glob_word(&p)?));
            }
        }
        sb.write(&src.path, &splice(&bytes, edits))?;
    }
    let conf = match f.main {
        Some(m) => sb.map(&stack.sources.get(m).path),
        None => {
            // Pool files without a php-fpm.conf: a minimal one that includes them.
            let mut text = format!(
                "[global]\nerror_log = {}\n",
                word(&sb.dir.join("logs/php-fpm.log"))?
            );
            for id in &f.files {
                text.push_str(&format!(
                    "include = {}\n",
                    word(&sb.map(&stack.sources.get(*id).path))?
                ));
            }
            let p = sb.dir.join("php-fpm.wpstack.conf");
            sb.put(&p, text.as_bytes())?;
            p
        }
    };
    let mut cmd = Command::new(bin);
    cmd.arg("-t")
        .arg("-y")
        .arg(&conf)
        .arg("-p")
        .arg(sb.dir.join("prefix"));
    let ini_file = |id: FileId, notes: &mut Vec<String>| -> Result<PathBuf, String> {
        let src = stack.sources.get(id);
        let bytes = content(id);
        let edits = neutralise_ini(FileKind::PhpIni, &bytes, &src.display, notes);
        sb.write(&src.path, &splice(&bytes, edits))
    };
    match f.php_ini {
        Some(ini) => {
            let p = ini_file(ini, &mut notes)?;
            cmd.arg("-c").arg(p);
        }
        None => {
            cmd.arg("-n");
        }
    }
    // The scan dir PHP reads after php.ini: the copy's, or none (never the system's).
    let mut scan = String::new();
    for id in &f.scan_dir {
        let p = ini_file(*id, &mut notes)?;
        if scan.is_empty() {
            if let Some(d) = p.parent() {
                scan = d.display().to_string();
            }
        }
    }
    cmd.env("PHP_INI_SCAN_DIR", scan);
    // `${NAME}` in the files: the values the user gave, as php-fpm would read them.
    cmd.envs(&stack.env);
    let (ok, mut out) = run(cmd, bin, sb.ids, None, limit)?;
    if !ok {
        // Once its error_log is open, php-fpm writes its errors there, not to stderr.
        let mut logs: Vec<PathBuf> = std::fs::read_dir(sb.dir.join("logs"))
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        logs.sort();
        for l in logs {
            if let Ok(t) = std::fs::read_to_string(&l) {
                for line in t
                    .lines()
                    .filter(|l| l.contains("ERROR") || l.contains("ALERT"))
                {
                    if !out.contains(line) {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
    }
    Ok(Outcome {
        ok,
        message: sb.unmap(out.trim_end()),
        notes,
    })
}

/// `php -n -l` on wp-config.php's bytes, given on stdin: nothing is copied to disk.
fn run_php_lint(php: &Path, bytes: &[u8], limit: Duration) -> Result<Outcome, String> {
    let mut cmd = Command::new(php);
    cmd.arg("-n").arg("-l");
    // As root, in a private empty directory owned by the unprivileged uid.
    let sb = Sandbox::new()?;
    cmd.current_dir(&sb.dir);
    let (ok, out) = run(cmd, php, sb.ids, Some(bytes.to_vec()), limit)?;
    let message = out
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Errors parsing"))
        .map(|l| l.replace("Standard input code", "wp-config.php"))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Outcome {
        ok,
        message,
        notes: Vec::new(),
    })
}

/// The server's own option-file reader on one fixed option file, in the sandbox, as the
/// unprivileged uid. `!include`/`!includedir` lines are left out (turned into comments
/// of the same length): they name the server's other files, which this check must not
/// read from the machine running wpstack; each file changed is checked on its own.
fn run_my_print_defaults(bin: &Path, bytes: &[u8], limit: Duration) -> Result<Outcome, String> {
    let sb = Sandbox::new()?;
    let parsed = crate::syntax::mycnf::parse(bytes);
    let mut neutral = bytes.to_vec();
    let mut left_out = 0;
    for l in &parsed.lines {
        if matches!(
            l.kind,
            crate::syntax::mycnf::LineKind::Include { .. }
                | crate::syntax::mycnf::LineKind::IncludeDir { .. }
        ) {
            if let Some(i) = (l.span.start..l.span.end).find(|i| neutral[*i] == b'!') {
                neutral[i] = b'#';
                left_out += 1;
            }
        }
    }
    let file = sb.dir.join("my.cnf");
    std::fs::write(&file, &neutral).map_err(|e| format!("cannot write the sandbox: {e}"))?;
    sb.own(&file)
        .map_err(|e| format!("cannot give the sandbox to the unprivileged uid: {e}"))?;
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--defaults-file={}", file.display()))
        .arg("--mysqld")
        .current_dir(&sb.dir);
    let (ok, out) = run(cmd, bin, sb.ids, None, limit)?;
    // On success it prints the options (possibly secrets): only errors are kept.
    let message = if ok {
        String::new()
    } else {
        out.lines()
            .filter(|l| l.contains("error") || l.contains("Error"))
            .map(|l| l.replace(&file.display().to_string(), "my.cnf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Outcome {
        ok,
        message,
        notes: if left_out > 0 {
            vec![format!(
                "my_print_defaults read the fixed option file without its {left_out} !include line(s) (checked on its own)"
            )]
        } else {
            Vec::new()
        },
    })
}

/// Kills the child's whole process group if we leave early.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let pgid = self.0.id() as i32;
        if let Ok(None) = self.0.try_wait() {
            kill_group(pgid);
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
        live(Live::Group(pgid), false);
    }
}

/// `cmd` as uid/gid `u`/`g`: through `setpriv` when there is one (no supplementary
/// groups, no new privileges, only CAP_NET_BIND_SERVICE kept, because `nginx -t` binds
/// the ports it listens on), else by std's setuid/setgid (which also drops the
/// supplementary groups).
fn unprivileged(cmd: Command, u: u32, g: u32) -> Command {
    use std::os::unix::process::CommandExt;
    let mut out = match find_program("setpriv") {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.arg(format!("--reuid={u}"))
                .arg(format!("--regid={g}"))
                .arg("--clear-groups")
                .arg("--inh-caps=-all,+net_bind_service")
                .arg("--ambient-caps=-all,+net_bind_service")
                .arg("--no-new-privs")
                .arg("--")
                .arg(cmd.get_program())
                .args(cmd.get_args());
            c
        }
        None => {
            let mut c = Command::new(cmd.get_program());
            c.args(cmd.get_args()).uid(u).gid(g);
            c
        }
    };
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => out.env(k, v),
            None => out.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        out.current_dir(d);
    }
    out.env("HOME", "/nonexistent");
    out
}

/// Run with a time limit in a process group of its own (killed whole on timeout), as
/// `ids` when given; `stdin` fed from a thread. (success, stderr + stdout).
fn run(
    mut cmd: Command,
    bin: &Path,
    ids: Option<(u32, u32)>,
    stdin: Option<Vec<u8>>,
    limit: Duration,
) -> Result<(bool, String), String> {
    use std::os::unix::process::CommandExt;
    if let Some((u, g)) = ids {
        cmd = unprivileged(cmd, u, g);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    live(Live::Group(child.id() as i32), true);
    let mut child = Child(child);
    park_if_stopping();
    if let (Some(data), Some(mut pipe)) = (stdin, child.0.stdin.take()) {
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&data);
        });
    }
    // Drain the pipes in threads so a chatty program cannot block on a full pipe;
    // keep at most 1 MiB of what it says.
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            use std::io::Read;
            let mut s = Vec::new();
            if let Some(p) = pipe {
                let mut p = p.take(1 << 20);
                let _ = p.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let err = read(
        child
            .0
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let out = read(
        child
            .0
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                drop(child);
                return Err(format!(
                    "{} did not finish in {} s; it and its children were killed",
                    bin.display(),
                    limit.as_secs_f32()
                ));
            }
            Err(e) => return Err(format!("waiting for {}: {e}", bin.display())),
        }
    };
    // Killed by a signal's cleanup: let the handler end the process.
    park_if_stopping();
    // The group may hold children that keep the pipes open: end them before reading.
    kill_group(child.0.id() as i32);
    drop(child);
    let mut text = err.join().unwrap_or_default();
    let o = out.join().unwrap_or_default();
    if !o.trim().is_empty() {
        text.push_str(&o);
    }
    Ok((status.success(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_spans_in_order() {
        let out = splice(
            b"include a; pid b;",
            vec![(15, 16, "/x/y".into()), (8, 9, "\"q r\"".into())],
        );
        assert_eq!(out, b"include \"q r\"; pid /x/y;");
    }

    #[test]
    fn words_are_quoted_when_needed() {
        assert_eq!(word(Path::new("/tmp/a")).as_deref(), Ok("/tmp/a"));
        assert!(word(Path::new("/tmp/a b")).is_err());
        assert!(word(Path::new("/tmp/a\"b;")).is_err());
    }

    #[test]
    fn normalize_ignores_numbers() {
        assert_eq!(
            normalize("nginx: [emerg] x in /a.conf:12"),
            normalize("nginx: [emerg] x in /a.conf:13")
        );
    }
}
