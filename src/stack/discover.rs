//! Discovery: from the PATHs a user gives, find nginx.conf and what it includes,
//! php-fpm's main configs and pools, the php.ini the FPM SAPI reads with its scan dir,
//! and each site's wp-config.php; read and parse them; build and link the model.

use super::load::{LoadProblem, PathMap, ProblemKind};
use super::nginx_model::{self, NginxInput};
use super::php_model::{self, EffectiveIni, Fpm, Via};
use super::wp_model::WpConfig;
use super::{link, nginx_load, FileKind, Stack, StackFile, Syntax};
use crate::finding::Place;
use crate::source::{read_config, FileId, ReadError, SourceFile};
use crate::syntax::{ini, MAX_DEPTH};
use foldhash::HashMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What to read. Explicit files override discovery.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    /// `${NAME}` values for php-fpm and php.ini files (`--env`, `[env]`); they win over
    /// `env_files`.
    pub env: std::collections::BTreeMap<String, String>,
    /// Docker `.env` files (`--env-file`), read in order.
    pub env_files: Vec<PathBuf>,
    /// Resolve absolute paths inside configs against this directory.
    pub root: Option<PathBuf>,
    pub nginx: Vec<PathBuf>,
    pub fpm: Vec<PathBuf>,
    pub php_ini: Vec<PathBuf>,
    pub wp_config: Vec<PathBuf>,
}

impl Inputs {
    fn explicit(&self) -> bool {
        !(self.nginx.is_empty()
            && self.fpm.is_empty()
            && self.php_ini.is_empty()
            && self.wp_config.is_empty())
    }
}

/// Standard places nginx keeps its configuration; inside a copy of one of them, an
/// absolute path under it means the copy.
const NGINX_PREFIXES: &[&str] = &[
    "/etc/nginx",
    "/usr/local/nginx/conf",
    "/usr/local/etc/nginx",
    "/usr/local/openresty/nginx/conf",
    "/opt/bitnami/nginx/conf",
];

/// Directory names never walked into: they hold no stack config and can be huge.
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "vendor",
    "wp-content",
    "wp-includes",
    "wp-admin",
    "proc",
    "sys",
    "dev",
    "run",
    "tmp",
    "boot",
    "snap",
    "lib",
    "lib64",
    "bin",
    "sbin",
    "target",
    "cache",
    "log",
    "logs",
    "mime-support",
];

/// At most this many directory entries are looked at per PATH.
const MAX_WALK_ENTRIES: usize = 200_000;

/// Guess a lone file's kind from its name, then its content.
pub fn detect_kind(path: &Path, bytes: &[u8]) -> FileKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".php") {
        return FileKind::WpConfig;
    }
    if name.ends_with(".cnf") {
        return FileKind::MyCnf;
    }
    if name == "php-fpm.conf" || parent == "pool.d" || parent == "php-fpm.d" {
        return FileKind::Fpm;
    }
    if name == "php.ini" || name.ends_with(".ini") || name.starts_with("php.ini") {
        return FileKind::PhpIni;
    }
    if name == "nginx.conf" || parent.starts_with("sites-") || parent == "snippets" {
        return FileKind::Nginx;
    }
    // Content: an ini-like file starts (after comments) with `[section]` or `key = value`.
    let text = String::from_utf8_lossy(bytes);
    let mut first = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(';') && !l.starts_with('#'));
    if let Some(l) = first.next() {
        let ini_like = (l.starts_with('[') && l.ends_with(']'))
            || (l.contains('=') && !l.ends_with(';') && !l.contains('{'));
        if ini_like {
            let fpm = text.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with("[global]")
                    || l.starts_with("pm ")
                    || l.starts_with("pm=")
                    || l.starts_with("pm.")
                    || l.starts_with("listen ")
                    || l.starts_with("listen=")
            });
            return if fpm { FileKind::Fpm } else { FileKind::PhpIni };
        }
    }
    FileKind::Nginx
}

/// What a walk of a PATH found.
#[derive(Debug, Default)]
struct Found {
    nginx_mains: Vec<PathBuf>,
    /// Files in `sites-enabled/`, `sites-available/` and nginx's `conf.d/`: linted as
    /// fragments when no nginx.conf loads them and their prefix has none.
    nginx_fragments: Vec<PathBuf>,
    fpm_mains: Vec<PathBuf>,
    pool_files: Vec<PathBuf>,
    php_inis: Vec<PathBuf>,
    wp_configs: Vec<PathBuf>,
    /// Main MySQL/MariaDB option files (`my.cnf`, Debian's `mysql/mariadb.cnf`).
    db_mains: Vec<PathBuf>,
    truncated: bool,
}

/// Walk a PATH for the stack's files. A symlinked directory is not walked into (it may
/// lead anywhere, loop, or show the same files twice; includes follow links properly),
/// a symlinked file is taken by its name and read through the root when loaded.
fn walk(dir: &Path, depth: usize, found: &mut Found, budget: &mut usize) {
    if depth > 10 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    // Each name fetched once (sort_by_key would copy two names per comparison: a
    // directory of 2,000 sites is 44,000 copies).
    let mut entries: Vec<_> = rd
        .filter_map(Result::ok)
        .map(|e| (e.file_name(), e))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (name, e) in entries {
        if *budget == 0 {
            found.truncated = true;
            return;
        }
        *budget -= 1;
        let name = name.to_string_lossy().into_owned();
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) {
                walk(&path, depth + 1, found, budget);
            }
            continue;
        }
        if is_site_dir(dir, &dir_name)
            && !name.starts_with('.')
            && !is_backup_name(&name)
            && !nginx_load::is_template_name(&name)
            && (dir_name != "conf.d" || name.ends_with(".conf"))
        {
            found.nginx_fragments.push(path.clone());
        }
        match name.as_str() {
            "nginx.conf" => found.nginx_mains.push(path),
            // RHEL's nginx keeps its `upstream php-fpm {}` in /etc/nginx/conf.d/php-fpm.conf.
            "php-fpm.conf" if !is_site_dir(dir, &dir_name) => found.fpm_mains.push(path),
            "php.ini" => found.php_inis.push(path),
            "wp-config.php" => found.wp_configs.push(path),
            "my.cnf" => found.db_mains.push(path),
            // Debian's my.cnf is a link to one of these (through /etc/alternatives): they
            // are mains only where no my.cnf stands beside them.
            "mariadb.cnf" | "mysql.cnf"
                if dir_name == "mysql"
                    && std::fs::symlink_metadata(dir.join("my.cnf")).is_err() =>
            {
                found.db_mains.push(path)
            }
            n if n.ends_with(".conf") && (dir_name == "pool.d" || dir_name == "php-fpm.d") => {
                found.pool_files.push(path)
            }
            _ => {}
        }
    }
}

/// Is `dir` (named `dir_name`) one nginx reads site files from: `sites-enabled/`,
/// `sites-available/`, or a `conf.d/` of nginx (its parent is called nginx or holds
/// `sites-*`/`snippets`, unlike php's or MySQL's conf.d)?
fn is_site_dir(dir: &Path, dir_name: &str) -> bool {
    if dir_name.starts_with("sites-") {
        return true;
    }
    if dir_name != "conf.d" {
        return false;
    }
    let Some(parent) = dir.parent() else {
        return false;
    };
    parent.file_name().is_some_and(|n| n == "nginx")
        || ["sites-available", "sites-enabled", "snippets"]
            .iter()
            .any(|d| parent.join(d).is_dir())
}

/// Editor and package-manager leftovers next to site files.
fn is_backup_name(name: &str) -> bool {
    name.ends_with('~')
        || [
            ".bak",
            ".swp",
            ".orig",
            ".save",
            ".old",
            ".rej",
            ".disabled",
        ]
        .iter()
        .any(|s| name.ends_with(s))
        || name.contains(".dpkg-")
        || name.contains(".rpmnew")
        || name.contains(".rpmsave")
}

/// nginx's prefix for a file: the parent of `sites-*/` or `conf.d/` when the file is
/// in one, else its own directory (where nginx.conf lives).
pub(crate) fn nginx_prefix(file: &Path) -> PathBuf {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with("sites-") || name == "conf.d" {
        if let Some(p) = dir.parent() {
            return p.to_path_buf();
        }
    }
    dir
}

/// A site file or snippet rather than a main configuration: no `http`/`events` block
/// and no directive only a main file holds (`user`, `worker_processes`, `pid`,
/// `load_module`…). nginx refuses a main without `events`, so such a file is always
/// included from somewhere: a site file (`server` blocks) or a snippet of
/// `fastcgi_param`s and `try_files` meant for a location (a pre-commit hook lints it
/// alone). A file named `nginx.conf` is a main.
fn is_fragment(path: &Path, root: Option<&Path>) -> bool {
    // Named as nginx's main file: one, whatever it holds (even a misspelled `events`).
    if path.file_name().is_some_and(|n| n == "nginx.conf") {
        return false;
    }
    let Ok((_, bytes)) = crate::files::read(root, path) else {
        return false;
    };
    let parsed = crate::syntax::nginx::parse(&bytes);
    let mut any = false;
    for d in crate::syntax::nginx::directives(&parsed.items) {
        let name = d.name.text();
        match name.as_str() {
            "http" | "events" | "stream" | "mail" => return false,
            "user"
            | "worker_processes"
            | "pid"
            | "load_module"
            | "worker_rlimit_nofile"
            | "daemon"
            | "master_process"
            | "env"
            | "pcre_jit"
            | "thread_pool"
            | "timer_resolution"
            | "working_directory"
            | "lock_file"
            | "worker_priority"
            | "worker_cpu_affinity"
            | "worker_shutdown_timeout"
            | "ssl_engine" => return false,
            _ => any = true,
        }
    }
    any
}

/// Read a file into the stack's source map, once per real file: links are resolved
/// inside the checked root (never onto this machine), and a file reached through two
/// links is one file.
pub(crate) fn add_source(stack: &mut Stack, path: &Path) -> Result<FileId, ReadError> {
    let real = crate::files::real(stack.root.as_deref(), path)?;
    if let Some(id) = stack.sources.find(&real) {
        return Ok(id);
    }
    let ahead = AHEAD.with(|a| {
        let mut a = a.borrow_mut();
        a.get_mut(real.as_os_str()).and_then(|(f, _)| f.take())
    });
    let file = match ahead {
        Some(f) => f,
        None => SourceFile::new(
            &real,
            real.display().to_string(),
            crate::source::read_resolved(&real)?,
        ),
    };
    Ok(stack.sources.add(file))
}

/// The real path of `path` inside the stack's root, or `path` itself when it has none.
fn real_or_same(stack: &Stack, path: &Path) -> PathBuf {
    crate::files::real(stack.root.as_deref(), path).unwrap_or_else(|_| path.to_path_buf())
}

/// `path` made absolute and free of links and `.`/`..` — what the user named, so its
/// own links are followed — so that `.`, `./x`, `x/`, `$PWD/x` and a path through a
/// symlink give the same run.
fn absolute(path: &Path) -> Result<PathBuf, ReadError> {
    std::fs::canonicalize(path).map_err(|e| ReadError {
        path: path.to_path_buf(),
        reason: crate::source::io_reason(&e),
    })
}

pub(crate) fn parse_into(stack: &mut Stack, id: FileId, kind: FileKind) {
    if stack.file(id).is_some() {
        return;
    }
    let ahead = AHEAD.with(|a| {
        let mut a = a.borrow_mut();
        a.remove(stack.sources.get(id).path.as_os_str())
            .and_then(|(_, parsed)| parsed)
            .filter(|p| p.kind == kind)
    });
    let (mut syntax, secrets) = match ahead {
        Some(p) => (p.syntax, p.secrets),
        None => (Syntax::parse(kind, &stack.sources.get(id).bytes), None),
    };
    if let Syntax::Ini(f) = &mut syntax {
        substitute_env(f, &stack.env);
    }
    let file = StackFile { id, kind, syntax };
    match secrets {
        Some(spans) => stack.add_file_with_secrets(file, spans),
        None => stack.add_file(file),
    }
}

/// Does an ini file name an environment variable (`${NAME}`) that
/// [`substitute_env`] may replace?
fn names_env(f: &ini::File) -> bool {
    f.lines.iter().any(|line| match &line.kind {
        ini::LineKind::Entry(e) => !e.value.env.is_empty(),
        ini::LineKind::Section(sec) => !sec.env.is_empty(),
        _ => false,
    })
}

/// php-fpm and PHP expand `${NAME}` from their environment when they read a file. With
/// every name given (`--env`, `--env-file`, `[env]`), the value is what they would
/// read; otherwise it stays unknown (`ValueKind::Computed` with its names in `env`).
fn substitute_env(f: &mut ini::File, env: &std::collections::BTreeMap<String, String>) {
    let expand = |raw: &str| -> String {
        let raw = raw.trim();
        let unquoted = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        let mut out = unquoted.to_string();
        for (k, v) in env {
            out = out.replace(&format!("${{{k}}}"), v);
        }
        out
    };
    for line in &mut f.lines {
        match &mut line.kind {
            ini::LineKind::Entry(e)
                if !e.value.env.is_empty() && e.value.env.iter().all(|n| env.contains_key(n)) =>
            {
                e.value.text = expand(&e.value.raw);
                e.value.kind = ini::ValueKind::Plain;
                e.value.env.clear();
            }
            ini::LineKind::Section(sec)
                if !sec.env.is_empty() && sec.env.iter().all(|n| env.contains_key(n)) =>
            {
                sec.name = expand(&sec.raw);
                sec.env.clear();
            }
            _ => {}
        }
    }
}

/// Read Docker's `.env` format (`docker run --env-file`, Compose's `.env`): `NAME=VALUE`
/// per line, `#` comments and blank lines skipped, an optional `export `, the value
/// taken literally except that one pair of surrounding quotes is removed.
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, ReadError> {
    parse_env_file(path, &read_config(path)?)
}

/// [`read_env_file`]'s reading of `bytes`, the contents of `path`.
fn parse_env_file(path: &Path, bytes: &[u8]) -> Result<Vec<(String, String)>, ReadError> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        let Some((name, value)) = l.split_once('=') else {
            return Err(ReadError {
                path: path.to_path_buf(),
                reason: format!("line {}: expected NAME=VALUE", i + 1),
            });
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ReadError {
                path: path.to_path_buf(),
                reason: format!("line {}: `{name}` is not a variable name", i + 1),
            });
        }
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

/// One note naming the environment variables whose values were needed and not given.
fn note_unknown_env(stack: &mut Stack) {
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut first: Option<Place> = None;
    for f in &stack.files {
        let Syntax::Ini(file) = &f.syntax else {
            continue;
        };
        for line in &file.lines {
            let (env, span) = match &line.kind {
                ini::LineKind::Entry(e) if php_model::from_unknown_env(&e.value) => {
                    (&e.value.env, e.span)
                }
                ini::LineKind::Section(s) if !s.env.is_empty() => (&s.env, s.span),
                _ => continue,
            };
            names.extend(env.iter().cloned());
            first.get_or_insert(Place::new(f.id, span));
        }
    }
    if let Some(at) = first {
        let list: Vec<String> = names.into_iter().collect();
        stack.notes.push(format!(
            "values from the environment were not given: {} (first at {}); the settings that use them are unknown and the rules that need them were skipped — give them with --env NAME=VALUE, --env-file FILE or [env] in wpstack.toml",
            list.join(", "),
            stack.display(at)
        ));
    }
}

/// A file that cannot be read: at the directive that led to it, else at the file
/// itself (line 1), so the finding always has a place.
pub(crate) fn unreadable(stack: &mut Stack, e: ReadError, place: Option<Place>) {
    if let Some(note) = crate::files::left_copy(stack.root.as_deref(), &e.path) {
        return crate::files::note_once(&mut stack.notes, note);
    }
    let p = super::load::unreadable_problem(&mut stack.sources, &e, place);
    stack.problems.push(p);
}

/// Load the stack. `Err` only when an explicitly named file cannot be read or a PATH
/// does not exist (usage errors, exit 2).
pub fn load(inputs: &Inputs) -> Result<Stack, ReadError> {
    let out = crate::files::resolve::with_dir_cache(|| load_uncached(inputs));
    AHEAD.with(|a| a.borrow_mut().clear());
    out
}

/// A file read ahead: its source (until [`add_source`] takes it) and its parse (until
/// [`parse_into`] does).
type ReadAhead = (Option<SourceFile>, Option<Parsed>);

/// A parse made ahead, with the secret values' spans when they could be found on the
/// worker thread too (not for an ini file that names `${NAME}`s: their substitution
/// comes first, on the loader's thread).
struct Parsed {
    kind: FileKind,
    syntax: Syntax,
    secrets: Option<Vec<crate::source::Span>>,
}

thread_local! {
    /// Files [`read_ahead`] read and parsed, by real path, until the loader asks for
    /// them ([`add_source`], [`parse_into`]); emptied at the end of each load.
    /// (Keyed by the real path's bytes, like `SourceMap`'s index.)
    static AHEAD: std::cell::RefCell<HashMap<std::ffi::OsString, ReadAhead>> =
        std::cell::RefCell::new(HashMap::default());
}

/// Read and parse `paths` (files of one `kind`: the sites' wp-config.php files, the
/// pools an include glob matched) on the run's threads (`--threads`, else
/// RAYON_NUM_THREADS, else every core) before the loader asks for them one by one.
/// The loader's order is untouched — it still adds each file when it reaches it — so
/// file ids, findings, notes and problems are those of a sequential load; only the
/// reading and parsing overlap. A file that cannot be read is left to the loader,
/// which reports it as before. While fixes are re-linted, the edited contents (the
/// loader thread's overlay) are handed to the workers, so they read what the loader
/// would.
fn read_ahead(stack: &Stack, paths: &[PathBuf], kind: FileKind) {
    if paths.len() < 2 || rayon::current_num_threads() < 2 {
        return;
    }
    let root = stack.root.as_deref();
    let todo: Vec<(PathBuf, FileKind)> = paths
        .iter()
        .filter_map(|p| crate::files::real(root, p).ok())
        .filter(|r| stack.sources.find(r).is_none())
        .filter(|r| !AHEAD.with(|a| a.borrow().contains_key(r.as_os_str())))
        .map(|r| (r, kind))
        .collect();
    stash(parse_ahead(&crate::source::overlay_snapshot(), todo));
}

/// A file read and parsed off the loader's thread, by its real path.
type Done = (PathBuf, SourceFile, Parsed);

/// Read and parse files (by real path) on the run's threads. Everything that needs
/// only the file is done here: the line table, the parse, the secret spans. `overlay`
/// is the loader thread's (edited contents while fixes are re-linted), so the threads
/// read what the loader would. A file that cannot be read is left out: the loader
/// reads it again and reports it.
fn parse_ahead(overlay: &crate::source::Overlay, todo: Vec<(PathBuf, FileKind)>) -> Vec<Done> {
    use rayon::prelude::*;
    todo.into_par_iter()
        .filter_map(|(real, kind)| {
            let bytes = crate::source::read_resolved_over(overlay, &real).ok()?;
            let syntax = Syntax::parse(kind, &bytes);
            let secrets = (!matches!(&syntax, Syntax::Ini(f) if names_env(f)))
                .then(|| crate::report::redact::syntax_secret_spans(&syntax, &bytes));
            let file = SourceFile::new(&real, real.display().to_string(), bytes);
            Some((
                real,
                file,
                Parsed {
                    kind,
                    syntax,
                    secrets,
                },
            ))
        })
        .collect()
}

/// Hand files parsed ahead to the loader's thread.
fn stash(done: Vec<Done>) {
    AHEAD.with(|a| {
        let mut a = a.borrow_mut();
        for (real, file, parsed) in done {
            a.insert(real.into_os_string(), (Some(file), Some(parsed)));
        }
    });
}

/// The pools, php.ini files and wp-config.php files a walk found, read and parsed in
/// the background while the loader builds the nginx model (which only the
/// `read_ahead` of each include glob would otherwise start, one part after the other,
/// with the threads idle while the loader builds each model). What the loader never
/// asks for is dropped at the end of the load; a file it reaches first is read again,
/// as without the prefetch, so the result is that of a sequential load. The work is a
/// job of the run's pool (`--threads`, or the pool a library caller installed).
struct Prefetch(Option<std::sync::mpsc::Receiver<std::thread::Result<Prefetched>>>);

/// The prefetch's files, and the resolutions it made to find them.
type Prefetched = (Vec<Done>, crate::files::resolve::DirCacheExport);

impl Prefetch {
    fn start(root: Option<&Path>, found: &Found) -> Self {
        let jobs: Vec<(PathBuf, FileKind)> = (found.pool_files.iter().map(|p| (p, FileKind::Fpm)))
            .chain(found.php_inis.iter().map(|p| (p, FileKind::PhpIni)))
            .chain(found.wp_configs.iter().map(|p| (p, FileKind::WpConfig)))
            .map(|(p, k)| (p.clone(), k))
            .collect();
        if jobs.len() < 2 || rayon::current_num_threads() < 2 {
            return Prefetch(None);
        }
        let overlay = crate::source::overlay_snapshot();
        let root = root.map(Path::to_path_buf);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rayon::spawn(move || {
            let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // Resolved here, with this job's cache of real directories, inside the
                // root like every read of the loader; the loader gets the cache too.
                let (todo, resolved) = crate::files::resolve::with_dir_cache_export(|| {
                    jobs.into_iter()
                        .filter_map(|(p, k)| {
                            Some((crate::files::real(root.as_deref(), &p).ok()?, k))
                        })
                        .collect::<Vec<(PathBuf, FileKind)>>()
                });
                (parse_ahead(&overlay, todo), resolved)
            }));
            // The loader may have returned early (an error): nobody to tell.
            let _ = tx.send(done);
        });
        Prefetch(Some(rx))
    }

    /// Wait for the background reads and hand them to the loader's thread (a panic
    /// there is the loader's panic). A loader running on a worker of the pool (a
    /// library caller's `install`) runs the pool's jobs meanwhile: blocking there
    /// could leave the prefetch queued behind it.
    fn finish(&mut self) {
        use std::sync::mpsc::TryRecvError;
        let Some(rx) = self.0.take() else { return };
        let msg = loop {
            match rx.try_recv() {
                Ok(m) => break Some(m),
                Err(TryRecvError::Disconnected) => break None,
                Err(TryRecvError::Empty) => match rayon::yield_now() {
                    None => break rx.recv().ok(),
                    Some(rayon::Yield::Executed) => {}
                    Some(rayon::Yield::Idle) => {
                        std::thread::sleep(std::time::Duration::from_micros(200))
                    }
                },
            }
        };
        match msg {
            Some(Ok((done, resolved))) => {
                crate::files::resolve::import_dir_cache(resolved);
                stash(done)
            }
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {}
        }
    }
}

fn load_uncached(inputs: &Inputs) -> Result<Stack, ReadError> {
    let mut stack = Stack::default();
    for f in &inputs.env_files {
        stack.env.extend(read_env_file(f)?);
    }
    stack
        .env
        .extend(inputs.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut found = Found::default();
    let mut base: Option<PathBuf> = None;
    let mut root = match &inputs.root {
        Some(r) => Some(absolute(r)?),
        None => None,
    };

    let abs = |v: &[PathBuf]| v.iter().map(|p| absolute(p)).collect::<Result<Vec<_>, _>>();
    let explicit = Found {
        nginx_mains: abs(&inputs.nginx)?,
        fpm_mains: abs(&inputs.fpm)?,
        php_inis: abs(&inputs.php_ini)?,
        wp_configs: abs(&inputs.wp_config)?,
        ..Found::default()
    };
    if root.is_none() {
        // A file or directory inside a copied tree (`COPY/etc/nginx`, `--fpm
        // COPY/etc/php/8.2/fpm/php-fpm.conf`) implies the copy's root: its absolute
        // paths and links mean the copy, never this machine's /etc.
        let given = inputs.paths.iter().filter_map(|p| absolute(p).ok());
        root = given
            .chain(explicit.nginx_mains.iter().cloned())
            .chain(explicit.fpm_mains.iter().cloned())
            .chain(explicit.php_inis.iter().cloned())
            .chain(explicit.wp_configs.iter().cloned())
            .find_map(|p| implied_root(&p));
    }
    let paths = if inputs.paths.is_empty() && !inputs.explicit() {
        vec![PathBuf::from(if live_host_default() { "/" } else { "." })]
    } else {
        inputs.paths.clone()
    };
    for given in &paths {
        let path = &absolute(given)?;
        if path == Path::new("/") && inputs.root.is_none() {
            // A live host: start from the programs' own places, never walk the disk.
            base.get_or_insert_with(|| path.clone());
            let (nginx, fpm) = crate::files::programs::host_mains(path, true);
            found.nginx_mains.extend(nginx);
            found.fpm_mains.extend(fpm);
            for p in ["/etc/mysql/my.cnf", "/etc/my.cnf"] {
                if crate::files::resolve::is_file(None, Path::new(p)) {
                    found.db_mains.push(PathBuf::from(p));
                }
            }
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| ReadError {
            path: given.clone(),
            reason: crate::source::io_reason(&e),
        })?;
        if meta.is_dir() {
            base.get_or_insert_with(|| path.clone());
            if root.is_none() && path != Path::new("/") && path.join("etc").is_dir() {
                // A copied filesystem tree: /etc/... inside configs means PATH/etc/...
                root = Some(path.clone());
            }
            let mut budget = MAX_WALK_ENTRIES;
            walk(path, 0, &mut found, &mut budget);
        } else {
            base.get_or_insert_with(|| path.parent().map(Path::to_path_buf).unwrap_or_default());
            let bytes = read_config(path)?;
            match detect_kind(path, &bytes) {
                FileKind::Nginx => found.nginx_mains.push(path.clone()),
                FileKind::Fpm => found.fpm_mains.push(path.clone()),
                FileKind::PhpIni => found.php_inis.push(path.clone()),
                FileKind::WpConfig => found.wp_configs.push(path.clone()),
                FileKind::MyCnf => found.db_mains.push(path.clone()),
            }
        }
    }
    // Files named on the command line replace what discovery found of their kind.
    if !explicit.nginx_mains.is_empty() {
        found.nginx_mains = explicit.nginx_mains;
    }
    if !explicit.fpm_mains.is_empty() {
        found.fpm_mains = explicit.fpm_mains;
        found.pool_files.clear();
    }
    if !explicit.php_inis.is_empty() {
        found.php_inis = explicit.php_inis;
    }
    if !explicit.wp_configs.is_empty() {
        found.wp_configs = explicit.wp_configs;
    }
    // The database has no explicit option: when the named files imply a copied root
    // and no walk found its option files, they are at their standard places there.
    if found.db_mains.is_empty() {
        if let Some(r) = &root {
            for p in ["etc/mysql/my.cnf", "etc/my.cnf"] {
                if std::fs::symlink_metadata(r.join(p)).is_ok() {
                    found.db_mains.push(r.join(p));
                }
            }
        }
    }
    if found.truncated {
        stack.notes.push(format!(
            "discovery stopped after {MAX_WALK_ENTRIES} directory entries; pass the config directories themselves"
        ));
    }

    stack.root = root.clone();
    let mut laps = crate::timings::Laps::start();
    let mut lap = |what: &str| laps.lap(what);
    lap("discovery walk");
    let mut prefetch = Prefetch::start(root.as_deref(), &found);
    load_nginx(&mut stack, &found, root.as_deref());
    lap("nginx");
    prefetch.finish();
    load_fpm(&mut stack, &found, root.as_deref(), &inputs.php_ini);
    lap("php-fpm and php.ini");
    load_wp(
        &mut stack,
        &found,
        root.as_deref(),
        !inputs.wp_config.is_empty(),
    );
    lap("wp-config");
    link::link_pools(&mut stack);
    super::db_load::load(&mut stack, &found.db_mains, root.as_deref());
    lap("database");

    if stack.pools.is_empty() && !stack.nginx.is_empty() {
        stack.notes.push(
            "no php-fpm configuration found: rules that need the pool (U001, U002, T101…) were skipped; pass the php-fpm directory or --fpm".into(),
        );
    }
    // Files named alone are shown relative to the copy they imply.
    if let Some(b) = base.or(root) {
        set_displays(&mut stack, &b);
    }
    note_unknown_env(&mut stack);
    lap("link and display paths");
    Ok(stack)
}

/// The copied root a path lies in: the parent of its nearest `etc` ancestor, when that
/// is not this machine's `/` (a copy of a server's tree: `COPY/etc/nginx/...`).
fn implied_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "etc"))
        .and_then(Path::parent)
        .filter(|r| *r != Path::new("/"))
        .map(Path::to_path_buf)
}

/// `wpstack check` with no PATH, run as root from `/` or root's home: the live host
/// (`/`), not a walk of whatever directory the shell happens to be in. Elsewhere, and
/// for other users, no PATH means the current directory, as in every linter.
fn live_host_default() -> bool {
    if !rustix::process::geteuid().is_root() {
        return false;
    }
    let Ok(cwd) = std::env::current_dir() else {
        return false;
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    cwd == Path::new("/") || cwd == Path::new("/root") || home.is_some_and(|h| h == cwd)
}

fn set_displays(stack: &mut Stack, base: &Path) {
    let canon_base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    let ids: Vec<FileId> = stack.sources.iter().map(|(i, _)| i).collect();
    for id in ids {
        let p = stack.sources.get(id).path.clone();
        // Most paths are under the PATH as given; canonicalize only the others
        // (symlinks, `..`), which costs a syscall per path component.
        let rel = match p.strip_prefix(base) {
            Ok(rel) => Some(rel.to_path_buf()),
            Err(_) => std::fs::canonicalize(&p)
                .ok()
                .and_then(|abs| abs.strip_prefix(&canon_base).ok().map(Path::to_path_buf)),
        };
        let shown = match rel {
            Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
            _ => p.display().to_string(),
        };
        stack.sources.set_display(id, shown);
    }
}

pub(crate) fn nginx_path_map(main: &Path, root: Option<&Path>) -> PathMap {
    let dir = nginx_prefix(main);
    let mut map = PathMap {
        root: root.map(Path::to_path_buf),
        aliases: Vec::new(),
    };
    if root.is_none() {
        let abs = std::fs::canonicalize(&dir).unwrap_or(dir.clone());
        for p in NGINX_PREFIXES {
            if abs != Path::new(p) {
                map.aliases.push((PathBuf::from(p), dir.clone()));
            }
        }
    }
    map
}

fn load_nginx(stack: &mut Stack, found: &Found, root: Option<&Path>) {
    let mut fragments: Vec<PathBuf> = Vec::new();
    let mut is_fragment_path: foldhash::HashSet<PathBuf> = Default::default();
    let mut loaded: Vec<(nginx_load::NginxTree, Vec<String>)> = Vec::new();
    for main in &found.nginx_mains {
        if stack.sources.find(&real_or_same(stack, main)).is_some() {
            continue;
        }
        if is_fragment(main, root) {
            fragments.push(main.clone());
            is_fragment_path.insert(main.clone());
            continue;
        }
        let prefix = main.parent().map(Path::to_path_buf).unwrap_or_default();
        let map = nginx_path_map(main, root);
        // A copy (--root, or a directory that is not nginx's own) often leaves out the
        // package's stock files; on the host they are there, so their absence is a
        // note, not "nginx will not start". On the live configuration it stays E005.
        let live = root.is_none()
            && std::fs::canonicalize(&prefix)
                .is_ok_and(|p| NGINX_PREFIXES.iter().any(|n| p == Path::new(n)));
        let mut tree = match nginx_load::load_tree(main, &prefix, &map, &mut stack.sources, !live) {
            Ok(t) => t,
            Err(e) => {
                unreadable(stack, e, None);
                continue;
            }
        };
        let mut notes = std::mem::take(&mut tree.notes);
        if !live {
            let stock = nginx_load::take_missing_stock(&mut tree.problems);
            if !stock.is_empty() {
                notes.push(format!(
                    "nginx's stock files missing from the copy of {} were not read (the nginx package installs them): {}",
                    prefix.display(),
                    stock.join(", ")
                ));
            }
        }
        loaded.push((tree, notes));
    }
    // A main file another main includes is not a main (linuxserver's
    // /etc/nginx/nginx.conf only includes /config/nginx/nginx.conf, which the walk
    // finds first): its sites would be counted, and reported, twice.
    let included: Vec<bool> = loaded
        .iter()
        .enumerate()
        .map(|(i, (t, _))| {
            loaded.iter().enumerate().any(|(j, (o, _))| {
                j != i
                    && o.main != t.main
                    && o.files.iter().any(|(id, _)| *id == t.main)
                    && !t.files.iter().any(|(id, _)| *id == o.main)
            })
        })
        .collect();
    for ((tree, mut notes), inc) in loaded.into_iter().zip(included) {
        if inc {
            continue;
        }
        stack.notes.append(&mut notes);
        add_nginx(stack, tree, &[]);
    }
    // Site files no nginx.conf loaded, in a tree that has none for them.
    for p in &found.nginx_fragments {
        if stack.sources.find(p).is_some() || is_fragment_path.contains(p) {
            continue;
        }
        if nginx_prefix(p).join("nginx.conf").is_file() {
            continue;
        }
        fragments.push(p.clone());
    }
    let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for f in fragments {
        // A site file an nginx.conf found later in the walk includes is part of it.
        if stack
            .sources
            .find(&f)
            .and_then(|id| stack.file(id))
            .is_some()
        {
            continue;
        }
        let prefix = nginx_prefix(&f);
        match groups.iter_mut().find(|(p, _)| *p == prefix) {
            Some((_, v)) => v.push(f),
            None => groups.push((prefix, vec![f])),
        }
    }
    let dir_of = |f: &Path| {
        f.parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    for (prefix, mut files) in groups {
        // nginx loads sites-enabled/, not sites-available/, when both are there; and
        // Debian's nginx.conf includes conf.d/*.conf before sites-enabled/*.
        if files.iter().any(|f| dir_of(f) == "sites-enabled") {
            files.retain(|f| dir_of(f) != "sites-available");
        }
        files.sort_by_key(|f| dir_of(f) != "conf.d");
        let map = nginx_path_map(&files[0], root);
        let (mut tree, ids, stock) =
            match nginx_load::load_fragments(&files, &prefix, &map, &mut stack.sources) {
                Ok(t) => t,
                Err(e) => {
                    unreadable(stack, e, None);
                    continue;
                }
            };
        stack.notes.push(format!(
            "no nginx.conf for {}: its {} site file(s) were linted inside an implied http {{}}, includes resolved against {}; what nginx.conf would set (user, http-level timeouts and buffers) is taken as nginx's defaults{}",
            prefix.display(),
            ids.len(),
            prefix.display(),
            if stock.is_empty() {
                String::new()
            } else {
                format!(
                    "; nginx's stock files not in the tree were not read: {}",
                    stock.join(", ")
                )
            }
        ));
        stack.notes.append(&mut tree.notes);
        add_nginx(stack, tree, &ids);
    }
}

/// Build the model of one loaded nginx tree and add it and its files to the stack.
fn add_nginx(stack: &mut Stack, tree: nginx_load::NginxTree, fragments: &[FileId]) {
    stack.problems.extend(tree.problems.iter().cloned());
    let files: HashMap<FileId, &crate::syntax::nginx::File> =
        tree.files.iter().map(|(id, f)| (*id, f)).collect();
    let model = nginx_model::build(&NginxInput {
        main: tree.main,
        files: &files,
        includes: &tree.includes,
        fragments,
    });
    for (id, f) in tree.files {
        stack.add_file(StackFile {
            id,
            kind: FileKind::Nginx,
            syntax: Syntax::Nginx(f),
        });
    }
    stack.nginx.push(model);
}

/// Read an fpm file and everything it `include=`s, in php-fpm's order.
fn read_fpm_tree(
    stack: &mut Stack,
    path: &Path,
    map: &PathMap,
    bases: &[PathBuf],
    out: &mut Vec<FileId>,
    depth: usize,
    from: Option<Place>,
) {
    if depth > MAX_DEPTH {
        stack.problems.push(LoadProblem {
            kind: ProblemKind::TooDeep,
            place: from,
            message: format!("includes nested deeper than {MAX_DEPTH} levels"),
        });
        return;
    }
    let id = match add_source(stack, path) {
        Ok(id) => id,
        Err(e) => return unreadable(stack, e, from),
    };
    if out.contains(&id) {
        stack.problems.push(LoadProblem {
            kind: ProblemKind::IncludeCycle,
            place: from,
            message: format!(
                "{} is included again (include cycle); not read twice",
                path.display()
            ),
        });
        return;
    }
    parse_into(stack, id, FileKind::Fpm);
    out.push(id);
    let includes: Vec<(String, Place)> = match stack.syntax_ini(id) {
        Some(f) => f
            .entries()
            .filter(|(_, e)| e.key.name == "include")
            .map(|(_, e)| (e.value.text.clone(), Place::new(id, e.span)))
            .collect(),
        None => Vec::new(),
    };
    for (pattern, place) in includes {
        let pattern = copied_fpm_prefix(&pattern, map, bases).unwrap_or(pattern);
        let candidates: Vec<PathBuf> = bases.iter().map(|b| map.resolve(&pattern, b)).collect();
        let is_glob = pattern.contains(['*', '?', '[']);
        let mut matched: Vec<PathBuf> = Vec::new();
        for c in &candidates {
            if is_glob {
                matched = map.glob(c);
            } else if map.exists(c) || std::fs::symlink_metadata(c).is_ok() {
                matched = vec![c.clone()];
            }
            if !matched.is_empty() {
                break;
            }
        }
        matched.sort();
        if matched.is_empty() && !is_glob {
            stack.problems.push(LoadProblem {
                kind: ProblemKind::IncludeNotFound,
                place: Some(place),
                message: format!(
                    "Unable to include {}: no such file or directory",
                    candidates
                        .first()
                        .map(|c| c.display().to_string())
                        .unwrap_or(pattern)
                ),
            });
        }
        read_ahead(stack, &matched, FileKind::Fpm);
        for m in matched {
            read_fpm_tree(stack, &m, map, bases, out, depth + 1, Some(place));
        }
    }
}

/// Inside a copy of Debian's `/etc/php/X.Y/fpm` (any X.Y), an absolute include under
/// it means the copy: `/etc/php/8.2/fpm/pool.d/*.conf` → `COPY/pool.d/*.conf`. Not when
/// a `--root` is given (it maps everything) or when the copy is that very directory.
fn copied_fpm_prefix(pattern: &str, map: &PathMap, bases: &[PathBuf]) -> Option<String> {
    if map.root.is_some() {
        return None;
    }
    let rest = pattern.strip_prefix("/etc/php/")?;
    let (version, after) = rest.split_once('/')?;
    let after = after.strip_prefix("fpm/")?;
    let main_dir = bases.last()?;
    let real = PathBuf::from(format!("/etc/php/{version}/fpm"));
    if std::fs::canonicalize(main_dir).ok().as_deref() == Some(real.as_path()) {
        return None;
    }
    Some(main_dir.join(after).to_string_lossy().into_owned())
}

pub(crate) fn fpm_path_map(main_dir: &Path, root: Option<&Path>) -> PathMap {
    let mut map = PathMap {
        root: root.map(Path::to_path_buf),
        aliases: Vec::new(),
    };
    if root.is_none() {
        // Inside a copy of /etc/php/X.Y/fpm, /etc/php/X.Y/fpm/... means the copy.
        if let Some(v) =
            php_model::version_from_path(main_dir).filter(|_| main_dir.ends_with("fpm"))
        {
            let prefix = PathBuf::from(format!("/etc/php/{v}/fpm"));
            if std::fs::canonicalize(main_dir).ok().as_deref() != Some(prefix.as_path()) {
                map.aliases.push((prefix, main_dir.to_path_buf()));
            }
        }
    }
    map
}

/// The directories a relative `include=` may be relative to: php-fpm resolves it
/// against its install prefix (`/usr/local` when php-fpm.conf is `/usr/local/etc/`),
/// and configs are commonly written relative to their own directory.
pub(crate) fn fpm_bases(main_dir: &Path) -> Vec<PathBuf> {
    let mut bases = Vec::new();
    if main_dir.file_name().is_some_and(|n| n == "etc") {
        if let Some(p) = main_dir.parent() {
            bases.push(p.to_path_buf());
        }
    }
    bases.push(main_dir.to_path_buf());
    bases
}

/// Where php-fpm's `include=PATTERN` in an instance whose main file is in `main_dir`
/// points, as `read_fpm_tree` resolves it (the first base where it matches, else the
/// first candidate); a glob stays a glob.
pub(crate) fn fpm_include_target(pattern: &str, main_dir: &Path, root: Option<&Path>) -> PathBuf {
    let map = fpm_path_map(main_dir, root);
    let bases = fpm_bases(main_dir);
    let pattern = copied_fpm_prefix(pattern, &map, &bases).unwrap_or_else(|| pattern.to_string());
    let candidates: Vec<PathBuf> = bases.iter().map(|b| map.resolve(&pattern, b)).collect();
    let is_glob = pattern.contains(['*', '?', '[']);
    candidates
        .iter()
        .find(|c| {
            if is_glob {
                !map.glob(c).is_empty()
            } else {
                map.exists(c)
            }
        })
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from(pattern))
}

/// Where the PHP of a php-fpm instance reads its configuration: the php.ini it looks for
/// (`--with-config-file-path`) and its scan dir (`--with-config-file-scan-dir`), as
/// each packaging builds PHP. Chosen from the directory of php-fpm.conf:
///
/// | layout | php-fpm.conf | php.ini | scan dir |
/// |---|---|---|---|
/// | Debian/Ubuntu (ondrej, DDEV) | `/etc/php/X.Y/fpm/` | same dir | `conf.d/` |
/// | Alpine | `/etc/phpXY/` | same dir | `conf.d/` |
/// | RHEL/Fedora | `/etc/` | `/etc/php.ini` | `/etc/php.d/` |
/// | Remi SCL | `/etc/opt/remi/phpXY/` | same dir | `php.d/` |
/// | cPanel EA-PHP | `/opt/cpanel/ea-phpXY/root/etc/` | same dir | `php.d/` |
/// | Plesk | `/opt/plesk/php/X.Y/etc/` | same dir | `php.d/` |
/// | Docker official image | `/usr/local/etc/` | `php/php.ini` (usually absent) | `php/conf.d/` |
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IniLayout {
    /// Which packaging this looks like (for notes and `dump`).
    pub name: &'static str,
    /// Where PHP looks for php.ini (it may not exist).
    pub php_ini: PathBuf,
    /// The scan dir, when the layout has one.
    pub scan_dir: Option<PathBuf>,
    /// A missing php.ini is normal here: PHP runs on its built-in defaults plus the
    /// scan dir (the Docker image ships only php.ini-production/-development).
    pub ini_optional: bool,
}

/// The layout of the php-fpm instance whose php-fpm.conf is in `dir`.
pub(crate) fn ini_layout(dir: &Path, root: Option<&Path>) -> IniLayout {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let dir_name = name(dir).unwrap_or_default();
    let parent = dir.parent().unwrap_or(Path::new(""));
    let parent_name = name(parent).unwrap_or_default();
    let is_dir = |p: &Path| crate::files::resolve::is_dir(root, p);
    let is_file = |p: &Path| crate::files::resolve::is_file(root, p);
    let first_existing = |cands: &[PathBuf]| cands.iter().find(|p| is_dir(p)).cloned();
    if dir_name == "etc"
        && parent_name == "local"
        && name(parent.parent().unwrap_or(Path::new(""))).as_deref() == Some("usr")
    {
        let php = dir.join("php");
        return IniLayout {
            name: "Docker official image",
            php_ini: php.join("php.ini"),
            scan_dir: Some(php.join("conf.d")),
            ini_optional: true,
        };
    }
    // A php.ini under `php/` next to php-fpm.conf (other source builds).
    if !is_file(&dir.join("php.ini")) && is_file(&dir.join("php").join("php.ini")) {
        let php = dir.join("php");
        return IniLayout {
            name: "source build",
            scan_dir: first_existing(&[php.join("conf.d"), php.join("php.d")]),
            php_ini: php.join("php.ini"),
            ini_optional: false,
        };
    }
    let (layout, preferred): (&'static str, &[&str]) = if dir_name == "fpm"
        && php_model::version_from_path(dir).is_some()
    {
        ("Debian/Ubuntu", &["conf.d"])
    } else if dir_name == "etc"
        && parent_name == "root"
        && name(parent.parent().unwrap_or(Path::new(""))).is_some_and(|n| n.starts_with("ea-php"))
    {
        ("cPanel EA-PHP", &["php.d"])
    } else if dir_name == "etc"
        && name(parent.parent().unwrap_or(Path::new(""))).as_deref() == Some("php")
        && parent
            .parent()
            .and_then(Path::parent)
            .and_then(name)
            .as_deref()
            == Some("plesk")
    {
        ("Plesk", &["php.d"])
    } else if parent_name == "remi" {
        ("Remi", &["php.d"])
    } else if dir_name == "etc" {
        ("RHEL/Fedora", &["php.d"])
    } else if php_model::version_from_path(dir).is_some() {
        ("Alpine", &["conf.d"])
    } else {
        ("unknown", &["conf.d", "php.d"])
    };
    let mut cands: Vec<PathBuf> = preferred.iter().map(|d| dir.join(d)).collect();
    for d in ["conf.d", "php.d"] {
        if !preferred.contains(&d) {
            cands.push(dir.join(d));
        }
    }
    IniLayout {
        name: layout,
        php_ini: dir.join("php.ini"),
        scan_dir: first_existing(&cands),
        ini_optional: false,
    }
}

/// php-fpm's install prefix (`PHP_PREFIX`) for the instance whose php-fpm.conf is in
/// `system_dir` (the path as on the host): relative pool paths are taken from it.
pub(crate) fn install_prefix(system_dir: &Path) -> String {
    let s = system_dir.to_string_lossy();
    let s = s.trim_end_matches('/');
    if let Some(base) = s.strip_suffix("/usr/local/etc") {
        return format!("{base}/usr/local");
    }
    if s.starts_with("/opt/cpanel/") {
        if let Some(base) = s.strip_suffix("/root/etc") {
            return format!("{base}/root/usr");
        }
    }
    if s.starts_with("/opt/plesk/php/") {
        if let Some(base) = s.strip_suffix("/etc") {
            return base.to_string();
        }
    }
    if let Some(v) = s.strip_prefix("/etc/opt/remi/") {
        return format!("/opt/remi/{}/root/usr", v.split('/').next().unwrap_or(v));
    }
    "/usr".to_string()
}

/// The `.ini` files of a scan dir in the order PHP reads them (bytewise by name).
fn scan_dir_files(dir: &Path, root: Option<&Path>) -> Vec<PathBuf> {
    crate::files::resolve::list_dir(root, dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "ini"))
        .collect()
}

/// A file named like a php-fpm main file whose content is nginx's (RHEL's php-fpm
/// package drops `/etc/nginx/conf.d/php-fpm.conf`, an `upstream php-fpm { … }`).
fn looks_like_nginx(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(';') && !l.starts_with('#'))
        .is_some_and(|l| {
            !l.starts_with('[') && (l.ends_with('{') || (l.ends_with(';') && !l.contains('=')))
        })
}

fn load_fpm(stack: &mut Stack, found: &Found, root: Option<&Path>, explicit_ini: &[PathBuf]) {
    let mut instances: Vec<(Option<PathBuf>, Vec<FileId>, PathBuf)> = Vec::new();
    for main in &found.fpm_mains {
        // Already read as an nginx file, or nginx syntax under a php-fpm name.
        if let Some(id) = stack.sources.find(main) {
            if stack.file(id).is_some_and(|f| f.kind == FileKind::Nginx) {
                continue;
            }
        } else if crate::files::read(root, main).is_ok_and(|(_, b)| looks_like_nginx(&b)) {
            continue;
        }
        let dir = main.parent().map(Path::to_path_buf).unwrap_or_default();
        let map = fpm_path_map(&dir, root);
        let mut files = Vec::new();
        read_fpm_tree(stack, main, &map, &fpm_bases(&dir), &mut files, 0, None);
        if !files.is_empty() {
            // A pool file named alone (`--fpm pool.d/www.conf`): its php.ini is beside
            // pool.d, as for pools found by a walk.
            let in_pool_dir = dir
                .file_name()
                .is_some_and(|n| n == "pool.d" || n == "php-fpm.d");
            let ini_dir = match dir.parent() {
                Some(p) if in_pool_dir => p.to_path_buf(),
                _ => dir,
            };
            instances.push((Some(main.clone()), files, ini_dir));
        }
    }
    // Pool files no php-fpm.conf included: one instance per directory.
    let mut loose: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for p in &found.pool_files {
        if stack.sources.find(&real_or_same(stack, p)).is_some() {
            continue;
        }
        let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
        match loose.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, v)) => v.push(p.clone()),
            None => loose.push((dir, vec![p.clone()])),
        }
    }
    for (dir, paths) in loose {
        let mut files = Vec::new();
        for p in paths {
            match add_source(stack, &p) {
                Ok(id) => {
                    parse_into(stack, id, FileKind::Fpm);
                    files.push(id);
                }
                Err(e) => unreadable(stack, e, None),
            }
        }
        let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        instances.push((None, files, parent));
    }

    let mut claimed_inis: BTreeSet<PathBuf> = BTreeSet::new();
    for (main, files, dir) in instances {
        let layout = ini_layout(&dir, root);
        let php_ini = explicit_ini.first().cloned().or_else(|| {
            crate::files::resolve::is_file(root, &layout.php_ini).then(|| layout.php_ini.clone())
        });
        // php.ini given by hand: its own directory's scan dir, as before.
        let scan_dir = match explicit_ini.first() {
            Some(p) => p
                .parent()
                .map(|d| d.join("conf.d"))
                .filter(|d| crate::files::resolve::is_dir(root, d)),
            None => layout.scan_dir.clone(),
        };
        let mut ini = EffectiveIni::default();
        let mut php_ini_id = None;
        let mut scan_ids = Vec::new();
        if let Some(path) = &php_ini {
            claimed_inis.insert(path.clone());
            match add_source(stack, path) {
                Ok(id) => {
                    parse_into(stack, id, FileKind::PhpIni);
                    php_ini_id = Some(id);
                    if let Some(f) = stack.syntax_ini(id) {
                        php_model::apply_ini_file(&mut ini, id, f, Via::PhpIni);
                    }
                }
                Err(e) => unreadable(stack, e, None),
            }
        }
        // PHP reads the scan dir whether or not php.ini exists.
        // Every `*.ini`, in bytewise order, links resolved inside the root (Debian's
        // conf.d links into mods-available).
        for e in scan_dir
            .as_deref()
            .map(|d| scan_dir_files(d, root))
            .unwrap_or_default()
        {
            match add_source(stack, &e) {
                Ok(sid) => {
                    parse_into(stack, sid, FileKind::PhpIni);
                    if let Some(f) = stack.syntax_ini(sid) {
                        php_model::apply_ini_file(&mut ini, sid, f, Via::ScanDir);
                    }
                    scan_ids.push(sid);
                }
                // PHP skips a scan-dir entry it cannot stat (a dangling link), silently.
                Err(err) if !crate::files::resolve::exists(root, &e) => {
                    let note = format!("{}: {} — PHP skips it", e.display(), err.reason);
                    crate::files::note_once(&mut stack.notes, note);
                }
                Err(err) => unreadable(stack, err, None),
            }
        }
        // Where php.ini is optional by design (the Docker image), its absence means
        // PHP's built-in defaults plus the scan dir: the defaults are known.
        let ini_known = php_ini_id.is_some() || (explicit_ini.is_empty() && layout.ini_optional);
        let fpm_index = stack.fpm.len();
        let syntaxes: Vec<(FileId, &ini::File)> = files
            .iter()
            .filter_map(|id| stack.syntax_ini(*id).map(|f| (*id, f)))
            .collect();
        let sections = php_model::collect_sections(&syntaxes, fpm_index);
        let problems = php_model::validate(&syntaxes, |name| {
            sections
                .pools
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
                .map(|p| p.place)
        });
        // A problem of no one line (a required key missing, no pool at all) is shown at
        // its pool's header, else at the top of php-fpm.conf (or the first pool file).
        let anchor = main
            .as_deref()
            .and_then(|m| stack.sources.find(m))
            .or(files.first().copied())
            .map(|id| Place::new(id, crate::source::Span::empty(0)));
        let mut problems = problems;
        for p in &mut problems {
            if p.place.is_none() {
                p.place = p
                    .pool
                    .as_deref()
                    .and_then(|n| {
                        sections
                            .pools
                            .iter()
                            .find(|x| x.name.eq_ignore_ascii_case(n))
                    })
                    .map(|x| x.place)
                    .or(anchor);
            }
        }
        if !sections.pools.is_empty()
            && sections
                .pools
                .iter()
                .all(|p| !p.settings.contains_key("user"))
        {
            let what = main
                .as_ref()
                .map(|m| m.display().to_string())
                .unwrap_or_else(|| "the pool files".into());
            stack.notes.push(format!(
                "php-fpm ({what}): no pool sets `user`, so its master is assumed to run as an unprivileged user (a container or a development setup), where php-fpm ignores `user`; started as root it would refuse: `[pool {}] user has not been defined`",
                sections.pools[0].name
            ));
        }
        let mut pool_ids = Vec::new();
        if !ini_known && !sections.pools.is_empty() {
            let what = main
                .as_ref()
                .map(|m| m.display().to_string())
                .unwrap_or_else(|| "the pool files".into());
            stack.notes.push(format!(
                "no php.ini found for php-fpm ({what}): PHP settings come only from the scan dir and the pools' php_value/php_admin_value, and rules do not assume PHP's built-in defaults; pass --php-ini to check them"
            ));
        }
        // The instance's directory as written on the host (inside --root: without it).
        let system_dir = match root {
            Some(r) => dir
                .strip_prefix(r)
                .map(|rel| Path::new("/").join(rel))
                .unwrap_or_else(|_| dir.clone()),
            None => std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
        };
        let prefix = install_prefix(&system_dir);
        let mut sections = sections;
        php_model::apply_global_prefix(&mut sections.global, &prefix);
        let shared_ini = std::sync::Arc::new(ini.settings.clone());
        for mut pool in sections.pools {
            php_model::apply_prefix(&mut pool, &prefix);
            pool.php = php_model::effective_php(&ini, &pool.overrides);
            pool.php_ini = shared_ini.clone();
            for (k, place) in &ini.unknown {
                if !pool.overrides.iter().any(|(o, _)| o == k) {
                    pool.php_unknown.entry(k.clone()).or_insert(*place);
                }
            }
            pool.ini_known = ini_known;
            pool_ids.push(stack.pools.len());
            stack.pools.push(pool);
        }
        let version = main
            .as_deref()
            .or(php_ini.as_deref())
            .and_then(php_model::version_from_path);
        stack.fpm.push(Fpm {
            main: main.as_deref().and_then(|m| stack.sources.find(m)),
            version,
            files,
            global: sections.global,
            php_ini: php_ini_id,
            scan_dir: scan_ids,
            ini,
            pools: pool_ids,
            problems,
        });
    }
    // php.ini files that belong to no php-fpm (CLI, apache2, a repo holding only ini
    // files) are still read, so their file-level problems are reported.
    for p in &found.php_inis {
        if claimed_inis.contains(p) {
            continue;
        }
        match add_source(stack, p) {
            Ok(id) => parse_into(stack, id, FileKind::PhpIni),
            Err(e) => unreadable(stack, e, None),
        }
    }
}

/// wp-config.php for a site root: in the root, or one directory above it when that
/// directory is not itself a WordPress install (wp-load.php's rule).
fn wp_config_for_root(root_dir: &Path, root: Option<&Path>) -> Option<PathBuf> {
    let is_file = |p: &Path| crate::files::resolve::is_file(root, p);
    let here = root_dir.join("wp-config.php");
    if is_file(&here) {
        return Some(here);
    }
    let parent = root_dir.parent()?;
    let above = parent.join("wp-config.php");
    (is_file(&above) && !is_file(&parent.join("wp-settings.php"))).then_some(above)
}

/// `explicit`: the user named the wp-config.php files; site roots only link to them.
fn load_wp(stack: &mut Stack, found: &Found, root: Option<&Path>, explicit: bool) {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    // Only to match site roots against the files the user named (a syscall per path
    // component, so not for the thousands a walk finds).
    let named: Vec<PathBuf> = if explicit {
        found.wp_configs.iter().map(|p| canon(p)).collect()
    } else {
        Vec::new()
    };
    let mut by_file: Vec<(PathBuf, Vec<(usize, usize)>)> = Vec::new();
    // (Keyed by the path's bytes: hashing a `Path` walks its components.)
    let mut index: HashMap<std::ffi::OsString, usize> = HashMap::default();
    for (ni, n) in stack.nginx.iter().enumerate() {
        let main_path = stack.sources.get(n.main).path.clone();
        let map = nginx_path_map(&main_path, root);
        let prefix = nginx_prefix(&main_path);
        for (si, s) in n.sites.iter().enumerate() {
            let Some(r) = &s.root else { continue };
            if r.value.contains('$') {
                continue;
            }
            let dir = map.resolve(&r.value, &prefix);
            if let Some(mut cfg) = wp_config_for_root(&dir, root) {
                if explicit {
                    match found
                        .wp_configs
                        .iter()
                        .zip(&named)
                        .find(|(_, c)| **c == canon(&cfg))
                    {
                        Some((given, _)) => cfg = given.clone(),
                        None => continue,
                    }
                }
                let cfg = crate::files::real(root, &cfg).unwrap_or(cfg);
                match index.get(cfg.as_os_str()) {
                    Some(i) => by_file[*i].1.push((ni, si)),
                    None => {
                        index.insert(cfg.as_os_str().to_os_string(), by_file.len());
                        by_file.push((cfg, vec![(ni, si)]));
                    }
                }
            }
        }
    }
    for p in &found.wp_configs {
        let p = crate::files::real(root, p).unwrap_or_else(|_| p.clone());
        if !index.contains_key(p.as_os_str()) {
            index.insert(p.as_os_str().to_os_string(), by_file.len());
            by_file.push((p, Vec::new()));
        }
    }
    let paths: Vec<PathBuf> = by_file.iter().map(|(p, _)| p.clone()).collect();
    read_ahead(stack, &paths, FileKind::WpConfig);
    for (path, sites) in by_file {
        match add_source(stack, &path) {
            Ok(id) => {
                parse_into(stack, id, FileKind::WpConfig);
                if let Some(f) = stack.syntax_php(id) {
                    let mut wp = WpConfig::from_syntax(id, f);
                    wp.sites = sites;
                    follow_wp_includes(stack, &mut wp, &path, root);
                    stack.wp.push(wp);
                }
            }
            Err(e) => unreadable(stack, e, None),
        }
    }
}

/// The sites' web roots (nginx `root` of every server, resolved like the sites' own
/// wp-config.php lookup, to their real paths inside the checked root; roots with
/// variables are left out): where a backup must never land, since nginx may serve it.
pub fn web_roots(stack: &Stack) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for n in &stack.nginx {
        let main_path = stack.sources.get(n.main).path.clone();
        let map = nginx_path_map(&main_path, stack.root.as_deref());
        let prefix = main_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for s in &n.sites {
            let Some(r) = &s.root else { continue };
            if r.value.contains('$') {
                continue;
            }
            let dir = map.resolve(&r.value, &prefix);
            // Its real path as the files under it are resolved (inside the checked
            // root: a copy's `/var/www/site -> /srv/site` is the copy's /srv/site, not
            // this machine's), so a file's real path starts with it.
            let dir = crate::files::real(stack.root.as_deref(), &dir).unwrap_or(dir);
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
    }
    out
}

/// Files a wp-config.php loads, followed as PHP would (literal paths only), and the
/// constants they define merged in run-time order: the first `define()` to run wins,
/// so a file required before wp-config.php's own define of a name wins over it.
/// `env('X')`/`getenv('X')` values are looked up in a `.env` beside the site (the
/// directory of wp-config.php or of a loaded file, or the one above: Bedrock's root).
fn follow_wp_includes(stack: &mut Stack, wp: &mut WpConfig, main: &Path, root: Option<&Path>) {
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    seen.insert(main.to_path_buf());
    let abspath = main.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut dirs: Vec<PathBuf> = vec![abspath.clone()];
    add_config_defines(stack, wp, wp.file, false);
    visit_wp_file(
        stack, wp, wp.file, main, &abspath, root, 0, false, &mut seen, &mut dirs,
    );
    // The .env beside the site, looked for only when a constant reads the environment
    // (`env('X')`, `getenv('X')`), and resolved like every other file: inside the
    // checked root, a link followed only within it.
    let reads_env = wp.constants.values().any(|c| {
        matches!(&c.value.value, crate::syntax::php::PhpValue::Computed(t) if t.contains("env("))
    });
    let mut env = std::collections::BTreeMap::new();
    if reads_env {
        let mut candidates: Vec<PathBuf> = Vec::new();
        for d in &dirs {
            candidates.push(d.join(".env"));
            if let Some(p) = d.parent() {
                candidates.push(p.join(".env"));
            }
        }
        // Read as every file of the site is: resolved inside the root, opened with no
        // link swapped in since.
        let found = candidates
            .iter()
            .find(|p| crate::files::resolve::is_file(root, p))
            .and_then(|p| crate::files::read(root, p).ok());
        if let Some((real, bytes)) = found {
            if let Ok(vars) = parse_env_file(&real, &bytes) {
                env.extend(vars);
            }
        }
    }
    for c in wp.constants.values_mut() {
        if let crate::syntax::php::PhpValue::Computed(text) = &c.value.value {
            if let Some(v) = super::wp_model::literal_value(text, &env) {
                c.value.value = v;
            }
        }
    }
}

/// Bedrock's `Config::define()` calls of one file as constants.
fn add_config_defines(stack: &Stack, wp: &mut WpConfig, id: FileId, conditional: bool) {
    let Some(f) = stack.syntax_php(id) else {
        return;
    };
    let src = &stack.sources.get(id).bytes;
    for (name, value, statement) in super::wp_model::config_defines(f, src) {
        if wp.constants.contains_key(&name) {
            continue;
        }
        let text = String::from_utf8_lossy(&src[value.clone()]).into_owned();
        // Literals now; `env()` once the site's .env is known.
        let v = (!text.contains("env("))
            .then(|| super::wp_model::literal_value(&text, &Default::default()))
            .flatten()
            .unwrap_or(crate::syntax::php::PhpValue::Computed(text));
        let vplace = Place::new(id, crate::source::Span::new(value.start, value.end));
        wp.constants.insert(
            name,
            super::wp_model::WpConst {
                value: super::Sourced::at(v, vplace),
                conditional,
                statement: Some(Place::new(
                    id,
                    crate::source::Span::new(statement.start, statement.end),
                )),
                value_place: Some(vplace),
            },
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn visit_wp_file(
    stack: &mut Stack,
    wp: &mut WpConfig,
    id: FileId,
    path: &Path,
    abspath: &Path,
    root: Option<&Path>,
    depth: usize,
    conditional: bool,
    seen: &mut BTreeSet<PathBuf>,
    dirs: &mut Vec<PathBuf>,
) {
    if depth > 8 {
        return;
    }
    let Some(f) = stack.syntax_php(id) else {
        return;
    };
    let incs = super::wp_model::includes(f, &stack.sources.get(id).bytes);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for inc in incs {
        use super::wp_model::IncludeBase;
        let written = match inc.base {
            IncludeBase::Dir => dir.join(inc.path.trim_start_matches('/')),
            IncludeBase::Abspath => abspath.join(&inc.path),
            IncludeBase::Absolute => super::load::resolve(&inc.path, &dir, root),
        };
        // WordPress itself (wp-config.php's last line requires wp-settings.php, even
        // through a link to a shared core) defines no site settings: not even looked up.
        if written
            .file_name()
            .is_some_and(|n| n == "wp-settings.php" || n == "wp-load.php")
        {
            continue;
        }
        // Resolved as PHP opens it, links and `..` inside the checked root (its
        // `__FILE__` is the real path too); a file that is not there is not followed.
        let Ok(target) = crate::files::resolve::real_path(root, &written) else {
            continue;
        };
        if !crate::files::resolve::is_file(root, &target) {
            continue;
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // WordPress itself and Composer's autoloader define no site settings.
        let skip = name == "wp-settings.php"
            || name == "wp-load.php"
            || target.components().any(|c| c.as_os_str() == "vendor");
        if skip || !seen.insert(target.clone()) {
            continue;
        }
        let sub_id = match add_source(stack, &target) {
            Ok(sid) => sid,
            Err(e) => {
                unreadable(stack, e, None);
                continue;
            }
        };
        parse_into(stack, sub_id, FileKind::WpConfig);
        let Some(sf) = stack.syntax_php(sub_id) else {
            continue;
        };
        let cond = conditional || inc.conditional;
        let sub = WpConfig::from_syntax(sub_id, sf);
        for (name, mut c) in sub.constants {
            c.conditional |= cond;
            let replace = match wp.constants.get(&name) {
                None => true,
                // Defined in the including file after this require: the included file's
                // define ran first.
                Some(e) => e
                    .statement
                    .is_some_and(|p| p.file == id && p.span.start > inc.offset),
            };
            if replace {
                wp.constants.insert(name, c);
            }
        }
        wp.ini_sets.extend(sub.ini_sets);
        if wp.table_prefix.is_none() {
            wp.table_prefix = sub.table_prefix;
        }
        wp.included.push(sub_id);
        if let Some(d) = target.parent() {
            dirs.push(d.to_path_buf());
        }
        add_config_defines(stack, wp, sub_id, cond);
        visit_wp_file(
            stack,
            wp,
            sub_id,
            &target,
            abspath,
            root,
            depth + 1,
            cond,
            seen,
            dirs,
        );
    }
}
