//! The only way wpstack writes a file (`check --fix`, `tune --apply`, their backups
//! and rollbacks), made safe for root on a shared host where tenants own the
//! directories the configs sit in:
//!
//! - a write target is first resolved like the program would, inside the tree being
//!   checked (an absolute symlink target is re-rooted there, `..` never climbs out of
//!   it, at most 40 links); the real path must lie under the PATHs given (or under
//!   `--root`), else the file is *left alone* and the caller says so;
//! - the target is then opened by walking from `/` one component at a time with
//!   `O_NOFOLLOW` (directories `O_PATH|O_DIRECTORY`): a component that became a
//!   symlink since the resolution (a directory swapped by a tenant) is refused; the
//!   target must be a regular file with one link (fstat), and is never followed;
//! - the temp file is created `O_CREAT|O_EXCL|O_NOFOLLOW` in the held directory fd,
//!   given the original's owner and mode (from the fstat of the file that was read)
//!   before any byte is written, synced, compared once more with what was read, and
//!   `renameat` within the held directory fd;
//! - backups are created the same way (`O_EXCL`, never clobbering: `.NAME.wpstack.bak`,
//!   then `.NAME.wpstack.bak.1`, `.2` …) with the original's owner and mode; a file
//!   under a site's web root (wp-config.php) is backed up outside every web root (see
//!   [`BackupPlan`]).

use super::absolute;
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

/// Names tried for a temp or backup file before giving up.
const MAX_NAMES: usize = 1000;

/// The steps of a write, for tests to fail one (a full disk) or to change the file
/// system behind our back (another editor, a tenant swapping a directory) at the
/// worst moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Before the target's directories are walked (the path is already resolved).
    Open,
    /// The temp file exists; its bytes are about to be written.
    WriteTemp,
    /// The backup file exists; its bytes are about to be written.
    WriteBackup,
    /// Everything is ready; the target is about to be compared once more and replaced.
    BeforeRename,
}

/// The test seam: called at each [`Step`]; an error fails the step.
pub trait Seam {
    fn at(&self, step: Step, target: &Path) -> std::io::Result<()> {
        let _ = (step, target);
        Ok(())
    }
}

/// The real file system: no interference.
pub struct Real;

impl Seam for Real {}

fn io(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

fn reason(e: &std::io::Error) -> String {
    crate::source::io_reason(e)
}

/// Where writes may go, and the tree paths are resolved in.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Canonical directories (everything under them may be written) and files (only
    /// themselves): `(path, is_dir)`.
    allowed: Vec<(PathBuf, bool)>,
    /// Canonical root of the tree being checked (`/` on a live host): absolute
    /// symlink targets resolve inside it.
    root: PathBuf,
    /// The root as the caller wrote it, to recognize paths built from it.
    root_given: PathBuf,
}

/// A write target, resolved and allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The real file (no symlink in it).
    pub real: PathBuf,
    /// The real file relative to the PATH (or `--root`) holding it.
    pub display: String,
}

fn canon(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

impl Scope {
    /// Writes confined to `paths` (files or directories, canonicalized here), or to
    /// `root` alone when given; absolute symlink targets resolve inside `tree_root`
    /// (the copy being checked; `None`: `/`, a live host).
    pub fn new(paths: &[PathBuf], root: Option<&Path>, tree_root: Option<&Path>) -> Scope {
        let allowed: Vec<(PathBuf, bool)> = match root {
            Some(r) => canon(r).map(|c| vec![(c, true)]).unwrap_or_default(),
            None => paths
                .iter()
                .filter_map(|p| {
                    let c = canon(p)?;
                    let dir = c.is_dir();
                    Some((c, dir))
                })
                .collect(),
        };
        let given = tree_root.or(root).map(absolute);
        let root = given
            .as_deref()
            .and_then(canon)
            .unwrap_or_else(|| PathBuf::from("/"));
        Scope {
            allowed,
            root_given: given.unwrap_or_else(|| root.clone()),
            root,
        }
    }

    /// The scope of one file's directory (rollbacks and library callers that name
    /// the file themselves).
    pub fn of_file(path: &Path) -> Scope {
        let dir = match absolute(path).parent() {
            Some(d) => d.to_path_buf(),
            None => PathBuf::from("/"),
        };
        Scope::new(&[dir], None, None)
    }

    /// The canonical root of the tree (`/` on a live host).
    pub fn tree_root(&self) -> &Path {
        &self.root
    }

    /// A copy of a server (`--root DIR`, or a PATH holding `etc/`), not the live host.
    pub fn is_copy(&self) -> bool {
        self.root != Path::new("/")
    }

    /// The first directory writes may go to (private backups fall back under it).
    pub fn first_dir(&self) -> Option<&Path> {
        self.allowed
            .iter()
            .map(|(p, dir)| {
                if *dir {
                    p.as_path()
                } else {
                    p.parent().unwrap_or(Path::new("/"))
                }
            })
            .next()
    }

    /// The PATHs writes are confined to, for messages.
    pub fn describe(&self) -> String {
        let v: Vec<String> = self
            .allowed
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        if v.is_empty() {
            "nothing (no PATH given exists)".into()
        } else {
            v.join(", ")
        }
    }

    fn allows(&self, real: &Path) -> bool {
        self.allowed.iter().any(
            |(p, dir)| {
                if *dir {
                    real.starts_with(p)
                } else {
                    real == p
                }
            },
        )
    }

    /// Resolve `path` inside the tree and check it may be written. The error is why
    /// it is left alone.
    pub fn target(&self, path: &Path) -> Result<Target, String> {
        let real = match self.resolve(path) {
            Ok(r) => r,
            Err(e) => {
                let lexical = normalize(&absolute(path));
                // Where the host's own resolution (the reader's) takes it.
                if let Some(host) = canon(path).filter(|h| !self.allows(h)) {
                    let how = if host == lexical {
                        String::new()
                    } else {
                        format!(" through a link that leaves {}", self.root.display())
                    };
                    return Err(format!(
                        "it is {}{how}, outside the PATHs given ({}); wpstack writes only under them",
                        host.display(),
                        self.describe()
                    ));
                }
                return Err(if self.allows(&lexical) {
                    format!(
                        "cannot resolve it inside {}: {}",
                        self.root.display(),
                        reason(&e)
                    )
                } else {
                    format!(
                        "it is {}, outside the PATHs given ({}); wpstack writes only under them",
                        lexical.display(),
                        self.describe()
                    )
                });
            }
        };
        for (p, dir) in &self.allowed {
            let inside = if *dir {
                real.starts_with(p)
            } else {
                real == *p
            };
            if inside {
                let base = if *dir {
                    p.as_path()
                } else {
                    p.parent().unwrap_or(Path::new("/"))
                };
                let rel = real.strip_prefix(base).unwrap_or(&real);
                let display = if rel.as_os_str().is_empty() {
                    real.display().to_string()
                } else {
                    rel.display().to_string()
                };
                return Ok(Target { real, display });
            }
        }
        let via = if real.as_path() != absolute(path).as_path() {
            format!("it is {}, ", real.display())
        } else {
            String::new()
        };
        Err(format!(
            "{via}outside the PATHs given ({}); wpstack writes only under them",
            self.describe()
        ))
    }

    /// The real path of `path`, every symlink resolved inside the tree root (like
    /// openat2's RESOLVE_IN_ROOT): absolute targets restart at the root, `..` stops
    /// at it.
    pub fn resolve(&self, path: &Path) -> std::io::Result<PathBuf> {
        let abs = absolute(path);
        let abs = match abs.strip_prefix(&self.root_given) {
            Ok(rest) if !abs.starts_with(&self.root) => self.root.join(rest),
            _ => abs,
        };
        super::resolve::real_path(Some(&self.root), &abs).map_err(|e| match e {
            super::resolve::Unresolved::Missing => {
                std::io::Error::from(std::io::ErrorKind::NotFound)
            }
            super::resolve::Unresolved::Loop => std::io::Error::from_raw_os_error(libc_eloop()),
        })
    }
}

/// `path` with `.` and `..` folded away lexically (for messages about paths that do
/// not resolve).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

fn libc_eloop() -> i32 {
    rustix::io::Errno::LOOP.raw_os_error()
}

/// Open the directory `path` (absolute, no `..`) by walking from `/` with
/// `O_NOFOLLOW` at each component; `create`: make missing ones (0700).
fn walk_dir(path: &Path, create: bool) -> std::io::Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut fd = rfs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io)?;
    let mut at = PathBuf::from("/");
    for c in path.components() {
        let name: &OsStr = match c {
            Component::RootDir | Component::CurDir => continue,
            Component::Normal(n) => n,
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} is not a resolved path", path.display()),
                ))
            }
        };
        at.push(name);
        let next = match rfs::openat(&fd, name, flags, Mode::empty()) {
            Err(rustix::io::Errno::NOENT) if create => {
                match rfs::mkdirat(&fd, name, Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(io(e)),
                }
                rfs::openat(&fd, name, flags, Mode::empty())
            }
            r => r,
        };
        fd = next.map_err(|e| match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => std::io::Error::other(format!(
                "{} is a symlink or not a directory (swapped since wpstack resolved the path?)",
                at.display()
            )),
            e => io(e),
        })?;
    }
    Ok(fd)
}

/// The target's directory (held) and its opened, checked self.
struct Opened {
    dir: OwnedFd,
    name: OsString,
    stat: rfs::Stat,
}

fn open_leaf(dir: &OwnedFd, name: &OsStr, real: &Path) -> Result<(File, rfs::Stat), String> {
    let fd = rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::LOOP => format!(
            "{} is a symlink (swapped since wpstack resolved it?); not followed",
            real.display()
        ),
        e => format!("cannot open it: {}", reason(&io(e))),
    })?;
    let st = rfs::fstat(&fd).map_err(|e| format!("cannot stat it: {}", reason(&io(e))))?;
    if rfs::FileType::from_raw_mode(st.st_mode) != rfs::FileType::RegularFile {
        return Err(format!("{} is not a regular file", real.display()));
    }
    Ok((File::from(fd), st))
}

fn open_target(seam: &dyn Seam, real: &Path) -> Result<Opened, String> {
    seam.at(Step::Open, real)
        .map_err(|e| format!("cannot open it: {}", reason(&e)))?;
    let parent = real.parent().unwrap_or(Path::new("/"));
    let name = real
        .file_name()
        .ok_or_else(|| format!("{} names no file", real.display()))?
        .to_os_string();
    let dir = walk_dir(parent, false).map_err(|e| reason(&e))?;
    let (_, stat) = open_leaf(&dir, &name, real)?;
    if stat.st_nlink > 1 {
        return Err(format!(
            "{} has {} hard links (a new file renamed over it would split them)",
            real.display(),
            stat.st_nlink
        ));
    }
    Ok(Opened { dir, name, stat })
}

/// Whether `target` can be written at all: its directories walk without a link, it
/// is a regular file with one hard link. The error says why not (the caller leaves
/// it alone before validating or writing anything).
pub fn preflight(target: &Target) -> Result<(), String> {
    open_target(&Real, &target.real).map(|_| ())
}

/// Read at most `limit + 1` bytes of the target, through the held directory, and
/// check it is still the file that was opened.
fn read_back(o: &Opened, real: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let (f, st) = open_leaf(&o.dir, &o.name, real)?;
    if (st.st_dev, st.st_ino) != (o.stat.st_dev, o.stat.st_ino) {
        return Err(CHANGED.into());
    }
    let mut bytes = Vec::new();
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it back: {}", reason(&e)))?;
    Ok(bytes)
}

const CHANGED: &str =
    "it changed on disk since wpstack read it (another editor or deploy?); not written, run again";

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Give `fd` the owner and mode of `st` (owner first: a chown clears set-id bits).
/// Only root may give a file away; anyone else writes files they own anyway.
fn copy_owner_mode(fd: &File, st: &rfs::Stat) -> std::io::Result<()> {
    // (uid_t)-1 means "unchanged" to chown(2); no file has it.
    let (Some(uid), Some(gid)) = (
        (st.st_uid != u32::MAX).then(|| rustix::fs::Uid::from_raw(st.st_uid)),
        (st.st_gid != u32::MAX).then(|| rustix::fs::Gid::from_raw(st.st_gid)),
    ) else {
        return rfs::fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777)).map_err(io);
    };
    match rfs::fchown(fd, Some(uid), Some(gid)) {
        Ok(()) => {}
        Err(e) if is_root() => return Err(io(e)),
        Err(_) => {
            // Keep at least the group when we may (a member of it).
            let _ = rfs::fchown(fd, None, Some(gid));
        }
    }
    rfs::fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777)).map_err(io)
}

/// Create a new file next to nothing else: `O_CREAT|O_EXCL|O_NOFOLLOW` in `dir`,
/// trying `first`, `first.1`, `first.2` … (an existing name, a planted symlink
/// included, is never opened). Mode 0600 until [`copy_owner_mode`].
fn create_new(dir: &OwnedFd, first: &str) -> Result<(File, String), String> {
    for n in 0..MAX_NAMES {
        let name = if n == 0 {
            first.to_string()
        } else {
            format!("{first}.{n}")
        };
        match rfs::openat(
            dir,
            name.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => return Ok((File::from(fd), name)),
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(reason(&io(e))),
        }
    }
    Err(format!(
        "{first} and {MAX_NAMES} numbered names after it exist"
    ))
}

/// The backup of `name` next to it: `.name.wpstack.bak`, hidden so that the `include
/// sites-enabled/*` and `include=pool.d/*.conf` globs of nginx and php-fpm (glob(3)
/// skips dotfiles) never load the old copy next to the fixed one. Later backups get
/// `.1`, `.2` … appended.
pub fn backup_name(name: &str) -> String {
    format!(".{name}.wpstack.bak")
}

/// The temp file a write goes through, in the same directory (so the rename is
/// atomic); `.1`, `.2` … when the name is taken.
pub fn temp_name(name: &str) -> String {
    format!(".{name}.wpstack.tmp")
}

/// Where backups go.
///
/// - `dir` (`--backup-dir`, `backup_dir` in wpstack.toml): every backup, under the
///   file's path inside the tree (`DIR/etc/nginx/sites-available/x.wpstack.bak`);
/// - else a file outside every web root: next to it (`.NAME.wpstack.bak`);
/// - else (wp-config.php in a site's root): `TREE/var/backups/wpstack/PATH…` — on a
///   live host `/var/backups/wpstack/var/www/site/wp-config.php.wpstack.bak`, in a
///   copy the same place inside the copy; when that cannot be made (not root), a
///   private `.wpstack-backups/` under the first PATH given.
///
/// Backup directories wpstack creates are 0700; an existing one must belong to the
/// user running wpstack and not be writable by others.
#[derive(Debug, Clone, Default)]
pub struct BackupPlan {
    pub enabled: bool,
    pub dir: Option<PathBuf>,
    /// Canonical nginx `root` directories of the stack's sites.
    pub web_roots: Vec<PathBuf>,
}

impl BackupPlan {
    pub fn none() -> BackupPlan {
        BackupPlan::default()
    }
    pub fn beside() -> BackupPlan {
        BackupPlan {
            enabled: true,
            ..Default::default()
        }
    }
}

/// A directory wpstack keeps backups in: private to the user running it.
fn private_dir(path: &Path) -> Result<OwnedFd, String> {
    let fd = walk_dir(path, true).map_err(|e| format!("{}: {}", path.display(), reason(&e)))?;
    let st = rfs::fstat(&fd).map_err(|e| format!("{}: {}", path.display(), reason(&io(e))))?;
    if st.st_uid != rustix::process::geteuid().as_raw() || st.st_mode & 0o022 != 0 {
        return Err(format!(
            "{} belongs to another user or others may write it: not used for backups",
            path.display()
        ));
    }
    Ok(fd)
}

fn write_backup(
    seam: &dyn Seam,
    plan: &BackupPlan,
    scope: &Scope,
    o: &Opened,
    real: &Path,
    old: &[u8],
) -> Result<PathBuf, String> {
    let name = o.name.to_string_lossy().into_owned();
    // The file's directory under a backup directory: by its path in the tree (or
    // under `from`, the PATH a private fallback sits in).
    let inside_from = |base: &Path, from: &Path| -> PathBuf {
        let rel = real
            .strip_prefix(from)
            .or_else(|_| real.strip_prefix("/"))
            .unwrap_or(real);
        base.join(rel.parent().unwrap_or(Path::new("")))
    };
    let inside = |base: &Path| inside_from(base, scope.tree_root());
    let under_web_root = plan.web_roots.iter().any(|r| real.starts_with(r));
    let (dir_fd, dir_path, first): (Option<OwnedFd>, PathBuf, String) = if let Some(d) = &plan.dir {
        let d = absolute(d);
        let real_d = canon(&d).unwrap_or_else(|| normalize(&d));
        if let Some(r) = plan.web_roots.iter().find(|r| real_d.starts_with(r)) {
            return Err(format!(
                "the backup directory {} is under the web root {}: nginx could serve the backups",
                d.display(),
                r.display()
            ));
        }
        let top = private_dir(&d)?;
        drop(top);
        let at = inside(&d);
        (
            Some(walk_dir(&at, true).map_err(|e| format!("{}: {}", at.display(), reason(&e)))?),
            at,
            format!("{name}.wpstack.bak"),
        )
    } else if !under_web_root {
        (
            None,
            real.parent().unwrap_or(Path::new("/")).to_path_buf(),
            backup_name(&name),
        )
    } else {
        let base = scope.tree_root().join("var/backups/wpstack");
        let at = match private_dir(&base) {
            Ok(_) => inside(&base),
            Err(e) if scope.is_copy() => return Err(e),
            Err(_) => {
                let from = scope
                    .first_dir()
                    .ok_or("no PATH to keep a private backup under")?;
                let fallback = from.join(".wpstack-backups");
                private_dir(&fallback)?;
                inside_from(&fallback, from)
            }
        };
        (
            Some(walk_dir(&at, true).map_err(|e| format!("{}: {}", at.display(), reason(&e)))?),
            at,
            format!("{name}.wpstack.bak"),
        )
    };
    let dir = dir_fd.as_ref().unwrap_or(&o.dir);
    let (mut f, made) = create_new(dir, &first)?;
    let path = dir_path.join(&made);
    let done = (|| -> std::io::Result<()> {
        copy_owner_mode(&f, &o.stat)?;
        seam.at(Step::WriteBackup, real)?;
        f.write_all(old)?;
        f.sync_all()
    })();
    if let Err(e) = done {
        let _ = rfs::unlinkat(dir, made.as_str(), AtFlags::empty());
        return Err(format!(
            "cannot write the backup {} ({})",
            path.display(),
            reason(&e)
        ));
    }
    Ok(path)
}

/// Remove a file wpstack made (a backup being taken back), through its directory
/// walked without following links.
pub fn remove_made(path: &Path) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or(std::io::ErrorKind::InvalidInput)?;
    let dir = walk_dir(parent, false)?;
    rfs::unlinkat(&dir, name, AtFlags::empty()).map_err(io)
}

/// Replace the file at `target` (holding `expected_old`) with `new`, as described in
/// the module doc. Returns the backup's path when one was made. On error the file is
/// untouched and no temp file or backup is left.
pub fn replace(
    seam: &dyn Seam,
    scope: &Scope,
    target: &Target,
    expected_old: &[u8],
    new: &[u8],
    backup: &BackupPlan,
) -> Result<Option<PathBuf>, String> {
    let real = &target.real;
    let o = open_target(seam, real)?;
    if read_back(&o, real, expected_old.len())? != expected_old {
        return Err(CHANGED.into());
    }
    let name = o.name.to_string_lossy().into_owned();
    let (mut tmp, tmp_name) = create_new(&o.dir, &temp_name(&name)).map_err(|e| {
        format!(
            "cannot create the temp file ({e}) in {}; the file is untouched",
            display_dir(real)
        )
    })?;
    let drop_tmp = || {
        let _ = rfs::unlinkat(&o.dir, tmp_name.as_str(), AtFlags::empty());
    };
    if let Err(e) = copy_owner_mode(&tmp, &o.stat) {
        drop_tmp();
        return Err(format!(
            "cannot give the new file the old one's owner and mode ({}); the file is untouched",
            reason(&e)
        ));
    }
    let wrote = (|| -> std::io::Result<()> {
        seam.at(Step::WriteTemp, real)?;
        tmp.write_all(new)?;
        tmp.sync_all()
    })();
    if let Err(e) = wrote {
        drop_tmp();
        return Err(format!(
            "cannot write the new contents ({}) in {}; the file is untouched",
            reason(&e),
            display_dir(real)
        ));
    }
    drop(tmp);
    let bak = if backup.enabled {
        match write_backup(seam, backup, scope, &o, real, expected_old) {
            Ok(p) => Some(p),
            Err(e) => {
                drop_tmp();
                return Err(format!("{e}; the file is untouched"));
            }
        }
    } else {
        None
    };
    let undo = || {
        drop_tmp();
        if let Some(b) = &bak {
            let _ = remove_made(b);
        }
    };
    // Last look: someone may have written the file while we prepared ours.
    let last = seam
        .at(Step::BeforeRename, real)
        .map_err(|e| format!("cannot read it back before the rename: {}", reason(&e)))
        .and_then(|()| read_back(&o, real, expected_old.len()));
    match last {
        Ok(now) if now == expected_old => {}
        Ok(_) => {
            undo();
            return Err(CHANGED.into());
        }
        Err(e) => {
            undo();
            return Err(e);
        }
    }
    if let Err(e) = rfs::renameat(&o.dir, tmp_name.as_str(), &o.dir, o.name.as_os_str()) {
        undo();
        return Err(format!(
            "cannot replace it ({}); the file is untouched",
            reason(&io(e))
        ));
    }
    // The rename is durable once the directory is (best effort: O_PATH cannot fsync).
    if let Ok(d) = rfs::openat(
        &o.dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        let _ = rfs::fsync(d);
    }
    Ok(bak)
}

fn display_dir(real: &Path) -> String {
    real.parent()
        .unwrap_or(Path::new("/"))
        .display()
        .to_string()
}

/// One file of a set to write: where, what was read, what to write.
#[derive(Debug, Clone)]
pub struct Change {
    /// The path as read (a link, maybe): the caller's key.
    pub path: PathBuf,
    pub target: Target,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

/// One file a [`write_set`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The real file written.
    pub path: PathBuf,
    /// The path the change was given for (as read; a link, maybe).
    pub from: PathBuf,
    pub display: String,
    /// The backup holding the bytes the file had before (None with `--no-backup`).
    pub backup: Option<PathBuf>,
}

/// Write every change, all or nothing: when one fails, the files already written get
/// their old bytes back (and their backups are taken back). The error says what
/// failed and how the restore went.
pub fn write_set(
    seam: &dyn Seam,
    scope: &Scope,
    changes: &[Change],
    backup: &BackupPlan,
) -> Result<Vec<Written>, String> {
    let mut written: Vec<Written> = Vec::new();
    for c in changes {
        match replace(seam, scope, &c.target, &c.old, &c.new, backup) {
            Ok(b) => written.push(Written {
                path: c.target.real.clone(),
                from: c.path.clone(),
                display: c.target.display.clone(),
                backup: b,
            }),
            Err(e) => {
                let mut msg = format!("{}: {e}", c.target.display);
                if written.is_empty() {
                    msg.push_str("; nothing was written");
                } else {
                    msg.push_str(&restore(seam, scope, changes, &written));
                }
                return Err(msg);
            }
        }
    }
    Ok(written)
}

/// Put the old bytes back into files a failed set already wrote; say how it went.
pub fn restore(seam: &dyn Seam, scope: &Scope, changes: &[Change], written: &[Written]) -> String {
    let mut failed = Vec::new();
    for w in written.iter().rev() {
        let Some(c) = changes.iter().find(|c| c.target.real == w.path) else {
            continue;
        };
        match replace(seam, scope, &c.target, &c.new, &c.old, &BackupPlan::none()) {
            Ok(_) => {
                if let Some(b) = &w.backup {
                    let _ = remove_made(b);
                }
            }
            Err(e) => failed.push(format!("{} ({e}; its backup is {})", w.display, {
                w.backup
                    .as_ref()
                    .map(|b| b.display().to_string())
                    .unwrap_or_else(|| "missing: --no-backup".into())
            })),
        }
    }
    let names: Vec<&str> = written.iter().map(|w| w.display.as_str()).collect();
    if failed.is_empty() {
        format!(
            "; the files already written were restored ({}): nothing changed",
            names.join(", ")
        )
    } else {
        format!(
            "; restoring the files already written failed for: {}",
            failed.join(", ")
        )
    }
}

/// Create the file `path` (which must not exist) holding `new`: its directory is
/// resolved inside the tree and must lie under the PATHs given, walked without
/// following a link; the bytes go to a temp file made `O_EXCL|O_NOFOLLOW` there, given
/// the owner and mode of `like` (a file of the same directory the program already
/// reads, e.g. a pool file), synced, then linked in under its name with
/// `renameat2(RENAME_NOREPLACE)`: a file that appeared meanwhile is never replaced.
pub fn create(scope: &Scope, path: &Path, new: &[u8], like: &Path) -> Result<Target, String> {
    let parent = path.parent().ok_or("no directory")?;
    let name = path.file_name().ok_or("names no file")?.to_os_string();
    let dir_t = scope.target(parent)?;
    let like_t = scope.target(like)?;
    let o = open_target(&Real, &like_t.real)?;
    let dir = walk_dir(&dir_t.real, false).map_err(|e| reason(&e))?;
    let first = name.to_string_lossy().into_owned();
    let (mut tmp, tmp_name) = create_new(&dir, &temp_name(&first)).map_err(|e| {
        format!(
            "cannot create the temp file ({e}) in {}",
            dir_t.real.display()
        )
    })?;
    let drop_tmp = || {
        let _ = rfs::unlinkat(&dir, tmp_name.as_str(), AtFlags::empty());
    };
    let wrote = copy_owner_mode(&tmp, &o.stat)
        .and_then(|()| tmp.write_all(new))
        .and_then(|()| tmp.sync_all());
    if let Err(e) = wrote {
        drop_tmp();
        return Err(format!("cannot write it: {}", reason(&e)));
    }
    drop(tmp);
    if let Err(e) = rfs::renameat_with(
        &dir,
        tmp_name.as_str(),
        &dir,
        name.as_os_str(),
        rfs::RenameFlags::NOREPLACE,
    ) {
        drop_tmp();
        return Err(match e {
            rustix::io::Errno::EXIST => {
                "it exists now (made since wpstack looked); not replaced, run again".to_string()
            }
            e => format!("cannot create it: {}", reason(&io(e))),
        });
    }
    let real = dir_t.real.join(&name);
    let display = match dir_t.display.as_str() {
        d if d == dir_t.real.display().to_string() => real.display().to_string(),
        d => Path::new(d).join(&name).display().to_string(),
    };
    Ok(Target { real, display })
}

/// Remove the file at `target` (holding `expected_old`), as [`replace`] checks it
/// (no link followed, one hard link, unchanged since read), after a backup when
/// asked. Returns the backup's path.
pub fn remove(
    scope: &Scope,
    target: &Target,
    expected_old: &[u8],
    backup: &BackupPlan,
) -> Result<Option<PathBuf>, String> {
    let real = &target.real;
    let o = open_target(&Real, real)?;
    if read_back(&o, real, expected_old.len())? != expected_old {
        return Err(CHANGED.into());
    }
    let bak = if backup.enabled {
        Some(write_backup(&Real, backup, scope, &o, real, expected_old)?)
    } else {
        None
    };
    if let Err(e) = rfs::unlinkat(&o.dir, o.name.as_os_str(), AtFlags::empty()) {
        if let Some(b) = &bak {
            let _ = remove_made(b);
        }
        return Err(format!("cannot remove it: {}", reason(&io(e))));
    }
    Ok(bak)
}

/// Write one file the caller names (confined to its directory), no backup by
/// default: rollbacks and tests.
pub fn write_one(path: &Path, expected_old: &[u8], new: &[u8], backup: bool) -> Result<(), String> {
    let scope = Scope::of_file(path);
    let target = scope.target(path)?;
    let plan = if backup {
        BackupPlan::beside()
    } else {
        BackupPlan::none()
    };
    replace(&Real, &scope, &target, expected_old, new, &plan).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_never_replaces_and_remove_checks_what_it_removes() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tempdir");
        let dir = d.path().join("pool.d");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let like = dir.join("www.conf");
        std::fs::write(&like, "[www]\n").expect("write");
        std::fs::set_permissions(&like, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let scope = Scope::new(&[d.path().to_path_buf()], None, None);
        let path = dir.join("zz-wpstack.conf");
        let t = create(&scope, &path, b"[www]\npm.max_children = 4\n", &like).expect("create");
        assert_eq!(t.display, "pool.d/zz-wpstack.conf");
        assert_eq!(
            std::fs::metadata(&path).expect("made").permissions().mode() & 0o777,
            0o640,
            "the sibling's mode"
        );
        // It exists now: a second create does not replace it.
        let e = create(&scope, &path, b"other", &like).unwrap_err();
        assert!(e.contains("exists"), "{e}");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            b"[www]\npm.max_children = 4\n"
        );
        // Outside the PATHs given: refused.
        let other = tempfile::tempdir().expect("tempdir");
        assert!(create(&scope, &other.path().join("x.conf"), b"x", &like).is_err());
        // A planted link in its place is not followed.
        let evil = dir.join("evil.conf");
        std::os::unix::fs::symlink(other.path().join("target"), &evil).expect("link");
        assert!(create(&scope, &evil, b"x", &like).is_err());
        assert!(!other.path().join("target").exists());
        // Remove: only what was read, with a backup the glob skips.
        let target = scope.target(&path).expect("target");
        let e = remove(&scope, &target, b"something else", &BackupPlan::beside()).unwrap_err();
        assert!(e.contains("changed on disk"), "{e}");
        let bak = remove(
            &scope,
            &target,
            b"[www]\npm.max_children = 4\n",
            &BackupPlan::beside(),
        )
        .expect("remove")
        .expect("backup");
        assert!(!path.exists());
        assert_eq!(bak, dir.join(".zz-wpstack.conf.wpstack.bak"));
        // No temp file is left behind.
        let left: Vec<String> = std::fs::read_dir(&dir)
            .expect("ls")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn resolves_links_inside_the_root() {
        let d = tempfile::tempdir().expect("tempdir");
        let root = d.path();
        std::fs::create_dir_all(root.join("etc/nginx/sites-available")).expect("mkdir");
        std::fs::create_dir_all(root.join("etc/nginx/sites-enabled")).expect("mkdir");
        std::fs::write(root.join("etc/nginx/sites-available/a"), "x").expect("write");
        std::os::unix::fs::symlink(
            "/etc/nginx/sites-available/a",
            root.join("etc/nginx/sites-enabled/a"),
        )
        .expect("link");
        std::os::unix::fs::symlink(
            "../../../../../../../etc/nginx/sites-available/a",
            root.join("etc/nginx/sites-enabled/b"),
        )
        .expect("link");
        let scope = Scope::new(&[root.to_path_buf()], None, Some(root));
        let want = canon(&root.join("etc/nginx/sites-available/a")).expect("canon");
        for l in ["a", "b"] {
            let t = scope
                .target(&root.join("etc/nginx/sites-enabled").join(l))
                .expect("inside");
            assert_eq!(t.real, want);
            assert_eq!(t.display, "etc/nginx/sites-available/a");
        }
    }

    struct FailBackup;
    impl Seam for FailBackup {
        fn at(&self, step: Step, _: &Path) -> std::io::Result<()> {
            if step == Step::WriteBackup {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            Ok(())
        }
    }

    #[test]
    fn a_backup_that_cannot_be_written_leaves_the_file_and_no_debris() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("x.conf");
        std::fs::write(&p, "old").expect("write");
        let scope = Scope::of_file(&p);
        let t = scope.target(&p).expect("inside");
        let e = replace(
            &FailBackup,
            &scope,
            &t,
            b"old",
            b"new",
            &BackupPlan::beside(),
        )
        .expect_err("fails");
        assert!(e.contains("no space left on device"), "{e}");
        assert!(e.contains("the file is untouched"), "{e}");
        assert_eq!(std::fs::read(&p).expect("read"), b"old");
        let names: Vec<_> = std::fs::read_dir(d.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("x.conf")]);
    }

    #[test]
    fn a_link_loop_is_an_error_not_a_hang() {
        let d = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink("b", d.path().join("a")).expect("link");
        std::os::unix::fs::symlink("a", d.path().join("b")).expect("link");
        let scope = Scope::new(&[d.path().to_path_buf()], None, None);
        let e = scope.target(&d.path().join("a")).expect_err("loop");
        assert!(e.contains("cannot resolve"), "{e}");
    }

    #[test]
    fn mode_and_owner_are_copied_before_the_bytes() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("wp-config.php");
        std::fs::write(&p, "old").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let as_root = std::os::unix::fs::chown(&p, Some(65534), Some(65534)).is_ok();
        write_one(&p, b"old", b"new", true).expect("write");
        let m = std::fs::metadata(&p).expect("meta");
        assert_eq!(m.mode() & 0o777, 0o640);
        let b = std::fs::metadata(d.path().join(".wp-config.php.wpstack.bak")).expect("bak");
        assert_eq!(b.mode() & 0o777, 0o640);
        if as_root {
            assert_eq!((m.uid(), m.gid()), (65534, 65534));
            assert_eq!((b.uid(), b.gid()), (65534, 65534));
        }
        // A second write keeps the first backup and numbers the next.
        write_one(&p, b"new", b"newer", true).expect("write");
        assert_eq!(
            std::fs::read(d.path().join(".wp-config.php.wpstack.bak")).expect("bak"),
            b"old"
        );
        assert_eq!(
            std::fs::read(d.path().join(".wp-config.php.wpstack.bak.1")).expect("bak"),
            b"new"
        );
    }
}
