//! The field corpus (`../shared/corpus/field/`): real hosts laid out as server copies.
//!
//! The shared copy stores each symlink as a small file holding its target, and may drop
//! empty directories; `SOURCE.txt` lists both ("SYMLINKS (as the real host has them)",
//! "EMPTY DIRECTORIES kept"). [`materialize`] lays a stack out in a temp dir as the real
//! host has it — links as links — reading the corpus in place and writing only there.

use std::path::{Path, PathBuf};

/// Every stack directory of the field corpus, sorted.
pub fn stacks(corpus: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus.join("field"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("SOURCE.txt").is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// (link path as on the host, target) from a stack's SOURCE.txt.
pub fn symlinks(source_txt: &str) -> Vec<(String, String)> {
    section(source_txt, "SYMLINKS")
        .filter_map(|l| {
            let (link, rest) = l.split_once(" -> ")?;
            let target = rest.split("   (").next()?.trim();
            Some((link.trim().to_string(), target.to_string()))
        })
        .collect()
}

/// Empty directories the stack keeps (globbed by includes).
pub fn empty_dirs(source_txt: &str) -> Vec<String> {
    section(source_txt, "EMPTY DIRECTORIES")
        .filter_map(|l| {
            let p = l.split_whitespace().next()?;
            p.starts_with('/')
                .then(|| p.trim_end_matches('/').to_string())
        })
        .collect()
}

fn section<'a>(text: &'a str, heading: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.lines()
        .skip_while(move |l| !l.starts_with(heading))
        .skip(1)
        .take_while(|l| l.starts_with("  ") || l.trim().is_empty())
        .map(str::trim)
        .filter(|l| l.starts_with('/'))
}

/// Lay `stack` out under a new temp dir as the real host has it.
pub fn materialize(stack: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_writable(stack, dir.path());
    let _ = std::fs::remove_file(dir.path().join("SOURCE.txt"));
    let source = std::fs::read_to_string(stack.join("SOURCE.txt")).expect("SOURCE.txt");
    for (link, target) in symlinks(&source) {
        let at = dir.path().join(link.trim_start_matches('/'));
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        let _ = std::fs::remove_file(&at);
        let _ = std::fs::remove_dir_all(&at);
        std::os::unix::fs::symlink(&target, &at).expect("symlink");
    }
    for d in empty_dirs(&source) {
        std::fs::create_dir_all(dir.path().join(d.trim_start_matches('/'))).expect("mkdir");
    }
    dir
}

fn copy_writable(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).expect("mkdir");
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for e in std::fs::read_dir(from).expect("dir").flatten() {
        let dest = to.join(e.file_name());
        let ft = e.file_type().expect("file type");
        if ft.is_dir() {
            copy_writable(&e.path(), &dest);
        } else if ft.is_file() {
            std::fs::copy(e.path(), &dest).expect("copy");
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
}
