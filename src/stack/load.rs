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

/// Expand an include glob as glob(3) does for nginx and php-fpm: `*` and `?` never
/// match a leading dot (so `.x.wpstack.bak` and editor swap files stay out), results
/// sorted bytewise, directories left out.
pub fn expand_glob(pattern: &Path) -> Vec<PathBuf> {
    // `require_literal_leading_dot` makes glob 0.3 unwrap `to_str()` on every name it
    // lists: one non-UTF-8 file name in conf.d panicked the run. Dotfiles are skipped
    // here instead, by bytes: a name that a wildcard component matched may not start
    // with `.` unless the pattern's component does (as glob(3) and nginx do).
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let pat: Vec<&std::ffi::OsStr> = pattern.iter().collect();
    let hidden_by_wildcard = |p: &Path| {
        let comps: Vec<&std::ffi::OsStr> = p.iter().collect();
        comps.len() == pat.len()
            && comps.iter().zip(&pat).any(|(c, q)| {
                let (c, q) = (c.as_encoded_bytes(), q.as_encoded_bytes());
                c.starts_with(b".")
                    && !q.starts_with(b".")
                    && q.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
            })
    };
    let mut v: Vec<PathBuf> = glob::glob_with(&pattern.to_string_lossy(), opts)
        .map(|g| {
            g.filter_map(Result::ok)
                .filter(|p| !hidden_by_wildcard(p) && !p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    v
}
