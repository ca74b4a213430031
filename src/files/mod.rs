//! Files and paths: the one layer that knows how the checked host's programs find
//! their files and the one place wpstack writes. Resolution inside the checked root
//! ([`resolve`]), include globs on bytes ([`glob`]), the programs' own places on a live
//! host ([`programs`]), and confined, link-safe writes and backups ([`write`]);
//! everything above asks here instead of touching `std::fs`.

pub mod dumps;
pub mod glob;
pub mod programs;
pub mod resolve;
pub mod write;

use crate::source::ReadError;
use std::path::{Path, PathBuf};

/// `p` made absolute against the current directory, lexically (no link resolved, no
/// `..` folded; an empty path is the current directory); `p` itself when there is no
/// current directory.
pub fn absolute(p: &Path) -> PathBuf {
    let q = if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    };
    std::path::absolute(q).unwrap_or_else(|_| p.to_path_buf())
}

/// Read the config file at `path` the way the checked host's program would reach it:
/// symlinks resolved inside `root`. Returns the real path (the file a fix would
/// change) and the bytes. A link that leads out of the copied tree is reported as
/// such, never followed onto this machine.
pub fn read(root: Option<&Path>, path: &Path) -> Result<(PathBuf, Vec<u8>), ReadError> {
    let real = real(root, path)?;
    let bytes = crate::source::read_resolved(&real)?;
    Ok((real, bytes))
}

/// The real path behind `path` inside `root`, or a reason worded for people.
pub fn real(root: Option<&Path>, path: &Path) -> Result<PathBuf, ReadError> {
    resolve::real_path(root, path).map_err(|why| ReadError {
        path: path.to_path_buf(),
        reason: match why {
            resolve::Unresolved::Loop => "too many levels of symbolic links (a link loop)".into(),
            resolve::Unresolved::Missing => match (root, std::fs::read_link(path)) {
                (Some(r), Ok(target)) if path.starts_with(r) => format!(
                    "a symbolic link to {}, which the copied tree does not have (links are followed inside {}, never onto this machine)",
                    target.display(),
                    r.display()
                ),
                _ => "no such file or directory".into(),
            },
        },
    })
}

/// When `path` is a link (at any depth) that leads out of the copied tree `root`, the
/// note to say instead of an error: what it names exists, if at all, only on the real
/// host, so what it holds is unknown — not a missing file. `None` otherwise.
pub fn left_copy(root: Option<&Path>, path: &Path) -> Option<String> {
    let r = root?;
    let through_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
        || path
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(r))
            .any(|a| std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink()));
    let leaves = path.starts_with(r)
        && resolve::real_path(root, path) == Err(resolve::Unresolved::Missing)
        && through_link;
    if !leaves {
        return None;
    }
    let target = std::fs::read_link(path)
        .map(|t| format!(" to {}", t.display()))
        .unwrap_or_default();
    Some(format!(
        "{} is a link{target} that the copied tree does not have (links are followed inside {}, never onto this machine): what it holds on the real host is unknown and was not checked",
        path.strip_prefix(r).map(|p| Path::new("/").join(p)).unwrap_or_else(|_| path.to_path_buf()).display(),
        r.display()
    ))
}

/// Push `note` unless it was said already (many files can lead to the same note).
pub fn note_once(notes: &mut Vec<String>, note: String) {
    if !notes.contains(&note) {
        notes.push(note);
    }
}
