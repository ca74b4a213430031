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
    // Most lookups are files in the same few directories (sites-enabled, pool.d,
    // conf.d): resolve each directory once per run, then only the last component.
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
        let dir = DIRS.with(|c| {
            c.borrow_mut().as_mut().map(|m| {
                m.entry((root.map(Path::to_path_buf), parent.to_path_buf()))
                    .or_insert_with(|| resolve_whole(root, parent))
                    .clone()
            })
        });
        if let Some(dir) = dir {
            return resolve_from(root, path, dir?, Path::new(name));
        }
    }
    resolve_whole(root, path)
}

/// `path` resolved from its confining root, with no cache.
fn resolve_whole(root: Option<&Path>, path: &Path) -> Result<PathBuf, Unresolved> {
    let base = confining_root(root, path);
    let rel = path.strip_prefix(base).unwrap_or(path);
    resolve_from(root, path, base.to_path_buf(), rel)
}

type DirCache = std::collections::HashMap<(Option<PathBuf>, PathBuf), Result<PathBuf, Unresolved>>;

thread_local! {
    /// Resolved directories, kept only while [`with_dir_cache`] runs (one load of a
    /// stack): directories do not change under a run, and nothing is kept between runs.
    static DIRS: std::cell::RefCell<Option<DirCache>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with directory resolutions cached (nested calls share the outer cache).
pub fn with_dir_cache<T>(f: impl FnOnce() -> T) -> T {
    let outer = DIRS.with(|c| {
        let mut c = c.borrow_mut();
        let had = c.is_some();
        if !had {
            *c = Some(DirCache::new());
        }
        had
    });
    let out = f();
    if !outer {
        DIRS.with(|c| *c.borrow_mut() = None);
    }
    out
}

/// Resolve `rel` starting from the already-real directory `start` (inside the root
/// `path` is confined to).
fn resolve_from(
    root: Option<&Path>,
    path: &Path,
    start: PathBuf,
    rel: &Path,
) -> Result<PathBuf, Unresolved> {
    let base = confining_root(root, path);
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, rel);
    let mut out = start;
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            if out != base {
                out.pop();
            }
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
            if target.is_absolute() {
                out = base.to_path_buf();
            }
            push_components(&mut todo, &target);
        } else {
            out = next;
        }
    }
    Ok(out)
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

/// Metadata of the real file behind `path` (inside `root`).
pub fn metadata(root: Option<&Path>, path: &Path) -> Option<std::fs::Metadata> {
    let real = real_path(root, path).ok()?;
    std::fs::symlink_metadata(real).ok()
}

pub fn is_file(root: Option<&Path>, path: &Path) -> bool {
    metadata(root, path).is_some_and(|m| m.is_file())
}

pub fn is_dir(root: Option<&Path>, path: &Path) -> bool {
    metadata(root, path).is_some_and(|m| m.is_dir())
}

pub fn exists(root: Option<&Path>, path: &Path) -> bool {
    metadata(root, path).is_some()
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
