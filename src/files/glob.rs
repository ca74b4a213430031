//! `include` globs expanded as glob(3) expands them for nginx and php-fpm — on bytes.
//!
//! File names are bytes on Linux: a `\xff` in `conf.d/` must neither panic nor make
//! the pattern match nothing. Matching is per path component with glob(3)'s rules:
//! `*`, `?`, `[set]`/`[!set]` with ranges, `\` escapes; a leading `.` of a name is
//! matched only by a literal `.` (so `.x.wpstack.bak` and editor swap files stay out);
//! results are sorted bytewise (the C locale both programs run in); directories are
//! left out, as an include of one fails. Every directory on the way is resolved inside
//! the checked root ([`super::resolve`]).
//!
//! (A small matcher written here rather than a crate: the `glob` crate works on `str`
//! and panics on non-UTF-8 names; globset adds `{a,b}` alternation, which glob(3)
//! without GLOB_BRACE does not have.)

use super::resolve;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Whether `pattern` has glob magic (as nginx decides with `strpbrk(name, "*?[")`).
pub fn is_glob(pattern: &[u8]) -> bool {
    pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// The files matched by `pattern` (an absolute host path with magic in any component),
/// sorted bytewise; directories left out.
pub fn expand(root: Option<&Path>, pattern: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec![PathBuf::from("/")];
    let comps: Vec<Component> = pattern.components().collect();
    let last = comps.len().saturating_sub(1);
    for (i, c) in comps.iter().enumerate() {
        let name = match c {
            Component::RootDir | Component::Prefix(_) => continue,
            Component::CurDir => continue,
            Component::ParentDir => OsStr::new(".."),
            Component::Normal(n) => n,
        };
        let bytes = name.as_bytes();
        let mut next = Vec::new();
        for d in &dirs {
            if is_glob(bytes) {
                for entry in resolve::list_dir(root, d) {
                    let Some(n) = entry.file_name() else { continue };
                    if fnmatch(bytes, n.as_bytes()) {
                        next.push(entry);
                    }
                }
            } else {
                next.push(d.join(name));
            }
        }
        if i < last {
            next.retain(|p| resolve::is_dir(root, p));
        }
        dirs = next;
        if dirs.is_empty() {
            break;
        }
    }
    // Directories are left out; a link whose target is missing stays in, as glob(3)
    // returns it and the program then fails to open it (the loader reports why).
    let mut out: Vec<PathBuf> = dirs
        .into_iter()
        .filter(|p| match resolve::file_type(root, p) {
            Some(t) => !t.is_dir(),
            None => std::fs::symlink_metadata(p).is_ok(),
        })
        .collect();
    out.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    out.dedup();
    out
}

/// glob(3)'s match of one path component (no FNM_PERIOD subtleties beyond the leading
/// dot, no `/` inside a component).
pub fn fnmatch(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    matches(pat, name)
}

fn matches(pat: &[u8], name: &[u8]) -> bool {
    // Iterative with one backtrack point for `*` (linear in practice, no recursion).
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((hit, len)) = bracket(&pat[p..], name[n]) {
                        if hit {
                            p += len;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        // An unclosed `[` is a literal.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() => {
                    if pat[p + 1] == name[n] {
                        p += 2;
                        n += 1;
                        continue;
                    }
                }
                c => {
                    if c == name[n] {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|c| *c == b'*')
}

/// A `[...]` set at the start of `pat`: (whether `c` is in it, the set's length), or
/// None when the bracket is not closed.
fn bracket(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let b = *pat.get(i)?;
        if b == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        let lo = if b == b'\\' {
            i += 1;
            *pat.get(i)?
        } else {
            b
        };
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|x| *x != b']') {
            let hi = pat[i + 2];
            if lo <= c && c <= hi {
                hit = true;
            }
            i += 3;
        } else {
            if lo == c {
                hit = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_glob3() {
        assert!(fnmatch(b"*.conf", b"a.conf"));
        assert!(!fnmatch(b"*.conf", b".a.conf"));
        assert!(fnmatch(b".*.conf", b".a.conf"));
        assert!(!fnmatch(b"*.conf", b"a.conf.bak"));
        assert!(fnmatch(b"*", b"\xff"));
        assert!(fnmatch(b"site?.conf", b"site1.conf"));
        assert!(fnmatch(b"[a-c]*", b"b.ini"));
        assert!(!fnmatch(b"[!a-c]*", b"b.ini"));
        assert!(fnmatch(b"[]x]", b"]"));
        assert!(fnmatch(b"a[", b"a["));
        assert!(fnmatch(b"\\*", b"*"));
        assert!(!fnmatch(b"\\*", b"x"));
        assert!(fnmatch(b"*a*b*c", b"xxaxxbxxc"));
        assert!(!fnmatch(b"*a*b*c", b"xxaxxbxx"));
    }

    #[test]
    fn expands_on_bytes_inside_the_root_sorted_without_dirs() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        let conf = root.join("etc/nginx/conf.d");
        std::fs::create_dir_all(conf.join("dir.conf")).unwrap();
        std::fs::create_dir_all(root.join("etc/nginx/avail")).unwrap();
        std::fs::write(root.join("etc/nginx/avail/z"), "").unwrap();
        for n in ["b.conf", "a.conf", "B.conf", ".hidden.conf", "x.txt"] {
            std::fs::write(conf.join(n), "").unwrap();
        }
        std::fs::write(conf.join(OsStr::from_bytes(b"\xff.conf")), "").unwrap();
        std::os::unix::fs::symlink("/etc/nginx/avail/z", conf.join("link.conf")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/x", conf.join("dangling.conf")).unwrap();
        let got: Vec<Vec<u8>> = expand(Some(&root), &conf.join("*.conf"))
            .iter()
            .map(|p| p.file_name().unwrap().as_bytes().to_vec())
            .collect();
        let want: Vec<&[u8]> = vec![
            b"B.conf",
            b"a.conf",
            b"b.conf",
            b"dangling.conf",
            b"link.conf",
            b"\xff.conf",
        ];
        assert_eq!(got, want);
        // Magic in a directory component.
        let got = expand(Some(&root), &root.join("etc/*/avail/z"));
        assert_eq!(got, vec![root.join("etc/nginx/avail/z")]);
    }
}
