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

use crate::source::FileId;
use crate::stack::{FileKind, Stack, Syntax};
use crate::syntax::nginx;
use std::collections::{BTreeMap, HashMap};
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
}

#[derive(Debug, Clone)]
pub struct Check {
    /// "nginx -t" or "php-fpm8.2 -t".
    pub program: String,
    /// The main file tested (display path).
    pub target: String,
    pub verdict: Verdict,
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
                _ => None,
            })
            .collect();
        (!msgs.is_empty()).then(|| msgs.join("\n"))
    }
    /// One line (or a few) per check, for people.
    pub fn lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| match &c.verdict {
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
            })
            .collect()
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
    let mut any: Vec<PathBuf> = search_dirs()
        .into_iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|rd| rd.filter_map(Result::ok).map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("php-fpm"))
        })
        .collect();
    any.sort();
    any.pop()
}

pub fn find_nginx() -> Option<PathBuf> {
    find_program("nginx")
}

/// Validate `changes` (path → (display, old, new)) of `stack` with the real programs:
/// nginx -t for each nginx instance one of whose files changed, php-fpm -t for each
/// php-fpm instance whose configuration, php.ini or scan dir changed (php-fpm reads
/// php.ini at start-up, so a php.ini fix can break it). Untouched instances are not run.
pub fn validate(
    stack: &Stack,
    changes: &BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)>,
    opts: &Options,
) -> Validation {
    let mut v = Validation::default();
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
    // An instance is tested when the changes touch one of its files (php.ini and its
    // scan dir count for php-fpm): a fix to wp-config.php alone needs neither program.
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
    if !nginx_touched && !fpm_touched {
        v.checks.push(Check {
            program: String::new(),
            target: String::new(),
            verdict: Verdict::Skipped(
                "no nginx or php-fpm file changed: nothing for nginx -t / php-fpm -t to test"
                    .into(),
            ),
        });
    }
    if nginx_touched {
        let bin = opts.nginx_bin.clone().or_else(find_nginx);
        for n in &stack.nginx {
            let target = stack.sources.get(n.main).display.clone();
            if !touches(&mut n.files.iter()) {
                continue;
            }
            let Some(bin) = &bin else {
                v.checks.push(Check {
                    program: "nginx -t".into(),
                    target,
                    verdict: Verdict::Skipped("nginx not found on PATH (give --nginx-bin)".into()),
                });
                break;
            };
            let verdict = differential(|which| run_nginx(stack, n, bin, &contents(which)));
            v.checks.push(Check {
                program: format!("{} -t", program_name(bin, "nginx")),
                target,
                verdict,
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
            v.checks.push(Check {
                program: "php-fpm -t".into(),
                target,
                verdict: Verdict::Skipped("php-fpm not found on PATH (give --fpm-bin)".into()),
            });
            continue;
        };
        let name = program_name(&bin, "php-fpm");
        let verdict = differential(|which| run_fpm(stack, f, &bin, &contents(which)));
        v.checks.push(Check {
            program: format!("{name} -t"),
            target,
            verdict,
        });
    }
    v
}

#[derive(Debug, Clone, Copy)]
enum Which {
    Original,
    Fixed,
}

/// Run on the fixed copy; on failure, on the original; compare.
fn differential(run: impl Fn(Which) -> Result<Outcome, String>) -> Verdict {
    let fixed = match run(Which::Fixed) {
        Ok(o) => o,
        Err(e) => return Verdict::Skipped(e),
    };
    if fixed.ok {
        return Verdict::Passed;
    }
    let original = match run(Which::Original) {
        Ok(o) => o,
        Err(e) => return Verdict::Skipped(e),
    };
    if original.ok {
        return Verdict::Rejected(fixed.message);
    }
    if normalize(&original.message) == normalize(&fixed.message) {
        Verdict::Inconclusive(fixed.message)
    } else {
        Verdict::Rejected(format!(
            "{}\n(the original fails differently: {})",
            fixed.message,
            original.message.trim()
        ))
    }
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
}

/// A temp directory removed on drop. The copy of real path `/a/b` is `DIR/fs/a/b`.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new() -> Result<Sandbox, String> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for _ in 0..100 {
            let dir = std::env::temp_dir().join(format!(
                "wpstack-validate-{}-{}-{}",
                std::process::id(),
                nanos,
                N.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    let sb = Sandbox { dir };
                    for d in ["fs", "logs", "var", "prefix/log", "prefix/logs"] {
                        std::fs::create_dir_all(sb.dir.join(d))
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
    fn write(&self, real: &Path, bytes: &[u8]) -> Result<PathBuf, String> {
        let p = self.map(real);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("sandbox: {e}"))?;
        }
        std::fs::write(&p, bytes).map_err(|e| format!("sandbox: {e}"))?;
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
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// A path as a config word: bare when it can be, else double-quoted.
fn word(p: &Path) -> String {
    let s = p.display().to_string();
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "\"';{}#$\\".contains(c)) {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s
    }
}

/// Apply (span start, span end, replacement) edits.
fn splice(bytes: &[u8], mut edits: Vec<(usize, usize, String)>) -> Vec<u8> {
    edits.sort_by_key(|e| e.0);
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
                let base = Path::new(written)
                    .file_name()
                    .map(|b| b.to_string_lossy().into_owned())
                    .unwrap_or_default();
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

/// nginx's compiled-in prefix (`nginx -V`: `--prefix=/usr/share/nginx`).
fn compiled_prefix(bin: &Path) -> Option<PathBuf> {
    let mut cmd = Command::new(bin);
    cmd.arg("-V");
    let (_, out) = run(cmd, bin).ok()?;
    out.split_whitespace()
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

fn run_nginx(
    stack: &Stack,
    n: &crate::stack::Nginx,
    bin: &Path,
    content: &dyn Fn(FileId) -> Vec<u8>,
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
        seen: HashMap::new(),
    };
    let needs_prefix = n.files.iter().any(|id| {
        let b = content(*id);
        b.windows(11).any(|w| w == b"load_module")
    });
    let compiled = if needs_prefix {
        compiled_prefix(bin)
    } else {
        None
    };
    for id in &n.files {
        let src = stack.sources.get(*id);
        let bytes = content(*id);
        let file = nginx::parse(&bytes);
        let mut edits = Vec::new();
        for d in file.all_directives() {
            let name = d.name.text();
            let Some(arg) = d.args.first() else { continue };
            let value = arg.text();
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
                "load_module" if !value.starts_with('/') => {
                    // Relative to nginx's compiled prefix, not to the sandbox's -p.
                    compiled.as_ref().map(|c| c.join(&value))
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
                    // Read, never written: the copy's file when the tree holds one.
                    let r = map.resolve(&value, &prefix);
                    r.is_file().then_some(r)
                }
                _ => None,
            };
            if let Some(p) = new {
                edits.push((arg.span.start, arg.span.end, word(&p)));
            }
        }
        sb.write(&src.path, &splice(&bytes, edits))?;
    }
    let conf = sb.map(&main_path);
    let mut cmd = Command::new(bin);
    cmd.arg("-t")
        .arg("-p")
        .arg(sb.dir.join("prefix"))
        .arg("-e")
        .arg(sb.dir.join("logs/startup-error.log"))
        .arg("-c")
        .arg(&conf);
    let (ok, out) = run(cmd, bin)?;
    Ok(Outcome {
        ok,
        message: sb.unmap(out.trim_end()),
    })
}

fn run_fpm(
    stack: &Stack,
    f: &crate::stack::Fpm,
    bin: &Path,
    content: &dyn Fn(FileId) -> Vec<u8>,
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
        seen: HashMap::new(),
    };
    for id in &f.files {
        let src = stack.sources.get(*id);
        let bytes = content(*id);
        let Syntax::Ini(file) = Syntax::parse(FileKind::Fpm, &bytes) else {
            continue;
        };
        let mut edits = Vec::new();
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
                let s = p.display().to_string();
                let v = if s.contains(|c: char| c.is_whitespace() || c == '"' || c == ';') {
                    format!("\"{s}\"")
                } else {
                    s
                };
                edits.push((e.value.span.start, e.value.span.end, v));
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
                sb.dir.join("logs/php-fpm.log").display()
            );
            for id in &f.files {
                text.push_str(&format!(
                    "include = {}\n",
                    sb.map(&stack.sources.get(*id).path).display()
                ));
            }
            let p = sb.dir.join("php-fpm.wpstack.conf");
            std::fs::write(&p, text).map_err(|e| format!("sandbox: {e}"))?;
            p
        }
    };
    let mut cmd = Command::new(bin);
    cmd.arg("-t")
        .arg("-y")
        .arg(&conf)
        .arg("-p")
        .arg(sb.dir.join("prefix"));
    match f.php_ini {
        Some(ini) => {
            let p = sb.write(&stack.sources.get(ini).path, &content(ini))?;
            cmd.arg("-c").arg(p);
        }
        None => {
            cmd.arg("-n");
        }
    }
    // The scan dir PHP reads after php.ini: the copy's, or none (never the system's).
    let mut scan = String::new();
    for id in &f.scan_dir {
        let p = sb.write(&stack.sources.get(*id).path, &content(*id))?;
        if scan.is_empty() {
            if let Some(d) = p.parent() {
                scan = d.display().to_string();
            }
        }
    }
    cmd.env("PHP_INI_SCAN_DIR", scan);
    // `${NAME}` in the files: the values the user gave, as php-fpm would read them.
    cmd.envs(&stack.env);
    let (ok, mut out) = run(cmd, bin)?;
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
    })
}

/// Kills the child if we leave early.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Run with a time limit; (success, stderr + stdout).
fn run(mut cmd: Command, bin: &Path) -> Result<(bool, String), String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let mut child = Child(child);
    // Drain the pipes in threads so a chatty program cannot block on a full pipe.
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut p) = pipe {
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
            Ok(None) if start.elapsed() < TIMEOUT => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                drop(child);
                return Err(format!(
                    "{} -t did not finish in {} s; killed",
                    bin.display(),
                    TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for {}: {e}", bin.display())),
        }
    };
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
        assert_eq!(word(Path::new("/tmp/a")), "/tmp/a");
        assert_eq!(word(Path::new("/tmp/a b")), "\"/tmp/a b\"");
    }

    #[test]
    fn normalize_ignores_numbers() {
        assert_eq!(
            normalize("nginx: [emerg] x in /a.conf:12"),
            normalize("nginx: [emerg] x in /a.conf:13")
        );
    }
}
