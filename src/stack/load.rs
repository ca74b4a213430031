//! What can go wrong while reading the files of a stack, and path resolution shared
//! by the nginx and php-fpm loaders.

use crate::finding::Place;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A non-glob include whose file is missing (E005).
    IncludeNotFound,
    /// A file includes itself, directly or through others; the loop is cut.
    IncludeCycle,
    /// A file exists but cannot be read (permission, directory, binary, too large).
    Unreadable,
    /// Includes nested deeper than MAX_DEPTH.
    TooDeep,
}

#[derive(Debug, Clone)]
pub struct LoadProblem {
    pub kind: ProblemKind,
    /// The directive that caused it (the `include` line), when there is one.
    pub place: Option<Place>,
    pub message: String,
}

/// A file that cannot be read, reported at the directive that led to it or, when
/// nothing did (a file discovery found, a php.ini's scan dir), at the file itself: an
/// empty placeholder source stands for it, so the finding still has a file:line
/// (line 1), as ruff reports an unreadable file at the file.
pub fn unreadable_problem(
    sources: &mut crate::source::SourceMap,
    e: &crate::source::ReadError,
    from: Option<Place>,
) -> LoadProblem {
    let place = from.unwrap_or_else(|| {
        let id = sources.find(&e.path).unwrap_or_else(|| {
            sources.add(crate::source::SourceFile::new(
                &e.path,
                e.path.display().to_string(),
                Vec::new(),
            ))
        });
        Place::new(id, crate::source::Span::empty(0))
    });
    LoadProblem {
        kind: ProblemKind::Unreadable,
        place: Some(place),
        message: e.to_string(),
    }
}

/// Where a path written inside a config file really is on this machine.
///
/// - relative paths are relative to `base` (nginx: its prefix = the directory of the
///   main file; php-fpm: its prefix);
/// - absolute paths are resolved inside `root` when linting a copied tree
///   (`--root DIR`: `/etc/nginx/x.conf` → `DIR/etc/nginx/x.conf`), else used as is.
pub fn resolve(written: &str, base: &Path, root: Option<&Path>) -> PathBuf {
    let p = Path::new(written);
    if p.is_absolute() {
        match root {
            Some(r) => {
                let rel: PathBuf = p
                    .components()
                    .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
                    .collect();
                r.join(rel)
            }
            None => p.to_path_buf(),
        }
    } else {
        base.join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_absolute_inside_root_and_relative_to_base() {
        let base = Path::new("/tmp/etc/nginx");
        assert_eq!(
            resolve("/etc/nginx/mime.types", base, Some(Path::new("/tmp"))),
            PathBuf::from("/tmp/etc/nginx/mime.types")
        );
        assert_eq!(
            resolve("/etc/nginx/mime.types", base, None),
            PathBuf::from("/etc/nginx/mime.types")
        );
        assert_eq!(
            resolve("snippets/x.conf", base, None),
            PathBuf::from("/tmp/etc/nginx/snippets/x.conf")
        );
    }
}

/// How paths written in configs map to this machine: a root for a copied filesystem
/// tree (`--root`), and prefix aliases for a copied config directory (`/etc/nginx/x`
/// inside a copy of `/etc/nginx` means `COPY/x`).
#[derive(Debug, Clone, Default)]
pub struct PathMap {
    pub root: Option<PathBuf>,
    /// (absolute prefix as written, local directory), checked before `root`.
    pub aliases: Vec<(PathBuf, PathBuf)>,
}

impl PathMap {
    pub fn resolve(&self, written: &str, base: &Path) -> PathBuf {
        let p = Path::new(written);
        if p.is_absolute() {
            for (prefix, local) in &self.aliases {
                if let Ok(rest) = p.strip_prefix(prefix) {
                    return local.join(rest);
                }
            }
        }
        resolve(written, base, self.root.as_deref())
    }
}

impl PathMap {
    /// The files an include glob matches, every directory and link resolved inside the root.
    pub fn glob(&self, pattern: &Path) -> Vec<PathBuf> {
        crate::files::glob::expand(self.root.as_deref(), pattern)
    }
    /// Whether a file or directory is at `path`, links followed inside the root.
    pub fn exists(&self, path: &Path) -> bool {
        crate::files::resolve::exists(self.root.as_deref(), path)
    }
}
