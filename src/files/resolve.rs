//! Paths resolved the way the checked host's programs resolve them — inside its root.
//!
//! A copied server tree (`--root DIR`, or a PATH holding `etc/`) stands for `/`. Every
//! symlink met on the way to a file is followed *inside that root*: an absolute target
//! (`conf.d/10-opcache.ini → /etc/php/8.2/mods-available/opcache.ini`) means
//! `DIR/etc/php/8.2/mods-available/opcache.ini`, and `..` stops at `DIR` as it stops at
//! `/` — the semantics of `openat2(RESOLVE_IN_ROOT)` and of `chroot`. Nothing outside the
//! root is reached this way, so nothing of the machine running wpstack is read as part
//! of the copy. Without a root the host's `/` is the root, which is plain resolution.
//!
//! Results name the real file (every component a real directory or file, no link
//! left), so one file reached through two links is one file, and a fix names the file
//! it really changes.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may cross before it is a loop (Linux's limit).
pub const MAX_LINKS: usize = 40;

/// Why a path has no real file behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// A component does not exist (or cannot be looked at).
    Missing,
    /// More than [`MAX_LINKS`] symlinks: a loop.
    Loop,
}

/// The root `path` is confined to: `root` when the path lies under it, else `/`.
fn confining_root<'a>(root: Option<&'a Path>, path: &Path) -> &'a Path {
    match root {
        Some(r) if path.starts_with(r) => r,
        _ => Path::new("/"),
    }
}

/// The real path of `path`, symlinks resolved inside `root` (see the module doc).
/// `path` must be absolute. A path outside `root` resolves against the host's `/`
/// (a PATH the user named outside the copy).
pub fn real_path(root: Option<&Path>, path: &Path) -> Result<PathBuf, Unresolved> {
    resolved(root, path).map(|(real, _)| real)
}

/// A resolution: the real path and, when the last step looked at it, its file type.
type Resolved = Result<(PathBuf, Option<std::fs::FileType>), Unresolved>;

/// [`real_path`] with the file type the resolution saw. Within [`with_dir_cache`] every
/// path is resolved once per run — its parent through the cache, then one `lstat` of
/// its last component — so a directory costs one `lstat` however many files it holds,
/// and a file asked about three times (is it there, where is it really, read it) one.
fn resolved(root: Option<&Path>, path: &Path) -> Resolved {
    if let Some(hit) = DIRS.with(|c| c.borrow().as_ref().map(|m| m.get(root, path))) {
        if let Some(hit) = hit {
            return hit;
        }
    } else {
        return resolve_whole(root, path);
    }
    let base = confining_root(root, path);
    let out = match (path.parent(), path.file_name()) {
        // The confining root itself is where resolution starts: never looked at (as
        // the whole-path resolution does not look at it either).
        _ if path == base => Ok((base.to_path_buf(), None)),
        (Some(parent), Some(name)) => resolved(root, parent)
            .and_then(|(dir, _)| resolve_from(root, path, dir, Path::new(name))),
        _ => resolve_whole(root, path),
    };
    DIRS.with(|c| {
        if let Some(m) = c.borrow_mut().as_mut() {
            m.insert(root, path, out.clone());
        }
    });
    out
}

/// `path` resolved from its confining root, with no cache.
fn resolve_whole(root: Option<&Path>, path: &Path) -> Resolved {
    let base = confining_root(root, path);
    let rel = path.strip_prefix(base).unwrap_or(path);
    resolve_from(root, path, base.to_path_buf(), rel)
}

/// Resolutions of one run, per root (a run has one or two: the copy and `/`).
#[derive(Default)]
struct DirCache {
    /// Keyed by the path's bytes (hashing a `Path` walks its components): a path
    /// spelled two ways is only resolved twice.
    roots: Vec<(Option<PathBuf>, foldhash::HashMap<OsString, Resolved>)>,
}

impl DirCache {
    fn get(&self, root: Option<&Path>, path: &Path) -> Option<Resolved> {
        self.roots
            .iter()
            .find(|(r, _)| r.as_deref() == root)
            .and_then(|(_, m)| m.get(path.as_os_str()).cloned())
    }
    fn insert(&mut self, root: Option<&Path>, path: &Path, r: Resolved) {
        let i = match self.roots.iter().position(|(x, _)| x.as_deref() == root) {
            Some(i) => i,
            None => {
                self.roots
                    .push((root.map(Path::to_path_buf), Default::default()));
                self.roots.len() - 1
            }
        };
        self.roots[i].1.insert(path.as_os_str().to_os_string(), r);
    }
}

thread_local! {
    /// Resolved paths, kept only while [`with_dir_cache`] runs (one load of a stack):
    /// the tree does not change under a run, and nothing is kept between runs.
    static DIRS: std::cell::RefCell<Option<DirCache>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with path resolutions cached (nested calls share the outer cache).
pub fn with_dir_cache<T>(f: impl FnOnce() -> T) -> T {
    let outer = DIRS.with(|c| {
        let mut c = c.borrow_mut();
        let had = c.is_some();
        if !had {
            *c = Some(DirCache::default());
        }
        had
    });
    let out = f();
    if !outer {
        DIRS.with(|c| *c.borrow_mut() = None);
    }
    out
}

/// The resolutions [`with_dir_cache`] made, to hand to another thread's cache
/// ([`import_dir_cache`]): the prefetch job resolves the files a walk found, and the
/// loader need not look at them again.
pub struct DirCacheExport(DirCache);

/// [`with_dir_cache`], keeping the resolutions `f` made.
pub fn with_dir_cache_export<T>(f: impl FnOnce() -> T) -> (T, DirCacheExport) {
    let outer = DIRS.with(|c| c.borrow_mut().replace(DirCache::default()));
    let out = f();
    let made = DIRS.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (out, DirCacheExport(made.unwrap_or_default()))
}

/// Add resolutions made on another thread (in the same run: the tree does not change
/// under it) to this thread's cache, when one is in place; the ones it has stay.
pub fn import_dir_cache(export: DirCacheExport) {
    DIRS.with(|c| {
        if let Some(cache) = c.borrow_mut().as_mut() {
            for (root, map) in export.0.roots {
                for (path, r) in map {
                    if cache.get(root.as_deref(), Path::new(&path)).is_none() {
                        cache.insert(root.as_deref(), Path::new(&path), r);
                    }
                }
            }
        }
    });
}

/// Resolve `rel` starting from the already-real directory `start` (inside the root
/// `path` is confined to).
fn resolve_from(root: Option<&Path>, path: &Path, start: PathBuf, rel: &Path) -> Resolved {
    let base = confining_root(root, path);
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, rel);
    let mut out = start;
    let mut links = 0;
    let mut kind = None;
    while let Some(c) = todo.pop() {
        if c == ".." {
            if out != base {
                out.pop();
            }
            kind = None;
            continue;
        }
        let next = out.join(&c);
        let meta = std::fs::symlink_metadata(&next).map_err(|_| Unresolved::Missing)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(Unresolved::Loop);
            }
            let target = std::fs::read_link(&next).map_err(|_| Unresolved::Missing)?;
            kind = None;
            if target.is_absolute() {
                out = base.to_path_buf();
            }
            push_components(&mut todo, &target);
        } else {
            out = next;
            kind = Some(meta.file_type());
        }
    }
    Ok((out, kind))
}

/// Push `p`'s components onto a stack so that they pop in order; `.` and the root are
/// dropped (an absolute target restarts at the root, which the caller handles).
fn push_components(todo: &mut Vec<OsString>, p: &Path) {
    let parts: Vec<OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    todo.extend(parts.into_iter().rev());
}

/// The type of the real file behind `path` (inside `root`): the resolution's own
/// `lstat` when it made one, else one more.
pub(crate) fn file_type(root: Option<&Path>, path: &Path) -> Option<std::fs::FileType> {
    match resolved(root, path).ok()? {
        (_, Some(t)) => Some(t),
        (real, None) => std::fs::symlink_metadata(real).ok().map(|m| m.file_type()),
    }
}

pub fn is_file(root: Option<&Path>, path: &Path) -> bool {
    file_type(root, path).is_some_and(|t| t.is_file())
}

pub fn is_dir(root: Option<&Path>, path: &Path) -> bool {
    file_type(root, path).is_some_and(|t| t.is_dir())
}

pub fn exists(root: Option<&Path>, path: &Path) -> bool {
    file_type(root, path).is_some()
}

/// The entries of directory `dir` (resolved inside `root`), as `dir/NAME` paths (not
/// resolved: each is resolved when it is read), sorted bytewise as glob(3) and the
/// programs' scan-dir readers sort them. Empty when `dir` is no directory.
pub fn list_dir(root: Option<&Path>, dir: &Path) -> Vec<PathBuf> {
    let Ok(real) = real_path(root, dir) else {
        return Vec::new();
    };
    let Ok(rd) = std::fs::read_dir(&real) else {
        return Vec::new();
    };
    let mut names: Vec<OsString> = rd.filter_map(Result::ok).map(|e| e.file_name()).collect();
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    names.into_iter().map(|n| dir.join(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_links_and_dotdot_stay_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("etc/php/8.2/mods-available")).unwrap();
        std::fs::create_dir_all(root.join("etc/php/8.2/fpm/conf.d")).unwrap();
        std::fs::write(root.join("etc/php/8.2/mods-available/opcache.ini"), "a").unwrap();
        symlink(
            "/etc/php/8.2/mods-available/opcache.ini",
            root.join("etc/php/8.2/fpm/conf.d/10-opcache.ini"),
        )
        .unwrap();
        // An absolute link to a file of this machine that the copy does not have.
        symlink(
            outside.path().join("secret"),
            root.join("etc/php/8.2/fpm/conf.d/20-out.ini"),
        )
        .unwrap();
        // `..` past the root stops at the root.
        symlink(
            "../../../../../../../../etc/php/8.2/mods-available/opcache.ini",
            root.join("etc/php/8.2/fpm/conf.d/30-dots.ini"),
        )
        .unwrap();
        symlink("loop-b", root.join("etc/loop-a")).unwrap();
        symlink("loop-a", root.join("etc/loop-b")).unwrap();

        let r = Some(root.as_path());
        let want = root.join("etc/php/8.2/mods-available/opcache.ini");
        assert_eq!(
            real_path(r, &root.join("etc/php/8.2/fpm/conf.d/10-opcache.ini")),
            Ok(want.clone())
        );
        assert_eq!(
            real_path(r, &root.join("etc/php/8.2/fpm/conf.d/30-dots.ini")),
            Ok(want)
        );
        assert_eq!(
            real_path(r, &root.join("etc/php/8.2/fpm/conf.d/20-out.ini")),
            Err(Unresolved::Missing)
        );
        assert_eq!(
            real_path(r, &root.join("etc/loop-a")),
            Err(Unresolved::Loop)
        );
        // Without a root the host's / is the root: the outside file is reached.
        assert!(real_path(None, &root.join("etc/php/8.2/fpm/conf.d/20-out.ini")).is_ok());
        let listed: Vec<String> = list_dir(r, &root.join("etc/php/8.2/fpm/conf.d"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(listed, ["10-opcache.ini", "20-out.ini", "30-dots.ini"]);
        assert!(is_file(
            r,
            &root.join("etc/php/8.2/fpm/conf.d/10-opcache.ini")
        ));
        assert!(!exists(r, &root.join("etc/php/8.2/fpm/conf.d/20-out.ini")));
    }
}
