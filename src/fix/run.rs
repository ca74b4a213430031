//! The fix loop: lint, apply non-overlapping fixes in memory, re-parse and re-lint,
//! until nothing changes (at most `MAX_PASSES`); then diff or write atomically.

use super::apply::{self, unified_diff};
use super::Applicability;
use crate::engine;
use crate::finding::Finding;
use crate::settings::Settings;
use crate::source::{read_config, with_overlay, ReadError};
use crate::stack::discover::{self, Inputs};
use crate::stack::Stack;
use crate::tune::host::Host;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub const MAX_PASSES: usize = 10;

#[derive(Debug)]
pub struct Outcome {
    /// path → (display path, original bytes, fixed bytes)
    pub changes: BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)>,
    pub passes: usize,
    pub converged: bool,
    /// Findings left after the last pass, on the fixed contents.
    pub remaining: Vec<Finding>,
    /// The stack as fixed (for reporting what remains).
    pub stack: Stack,
    /// Files a fix wanted to touch but that do not parse: never written.
    pub refused: Vec<String>,
}

pub fn fixpoint(
    inputs: &Inputs,
    settings: &Settings,
    host: &Host,
    min: Applicability,
) -> Result<Outcome, ReadError> {
    let mut overlay: HashMap<PathBuf, Vec<u8>> = HashMap::new();
    let mut displays: HashMap<PathBuf, String> = HashMap::new();
    let mut refused = Vec::new();
    let mut passes = 0;
    let mut converged = false;
    let (stack, findings) = loop {
        let (stack, findings) = with_overlay(&overlay, || -> Result<_, ReadError> {
            let stack = discover::load(inputs)?;
            let findings = engine::run(&stack, settings, host);
            Ok((stack, findings))
        })?;
        if passes >= MAX_PASSES {
            break (stack, findings);
        }
        let pass = apply::apply(
            &stack.sources,
            findings.iter().filter_map(|f| f.fix.as_ref()),
            min,
        );
        let mut changed = false;
        for (file, bytes) in pass.files {
            let src = stack.sources.get(file);
            let broken = stack
                .file(file)
                .is_some_and(|f| !f.syntax.errors().is_empty());
            if broken {
                if !refused.contains(&src.display) {
                    refused.push(src.display.clone());
                }
                continue;
            }
            displays.insert(src.path.clone(), src.display.clone());
            if overlay.get(&src.path) != Some(&bytes) {
                overlay.insert(src.path.clone(), bytes);
                changed = true;
            }
        }
        passes += 1;
        if !changed {
            converged = true;
            break (stack, findings);
        }
    };
    let mut changes = BTreeMap::new();
    for (path, new) in overlay {
        let old = read_config(&path)?;
        if old != new {
            let shown = displays
                .get(&path)
                .cloned()
                .unwrap_or_else(|| path.display().to_string());
            changes.insert(path, (shown, old, new));
        }
    }
    Ok(Outcome {
        changes,
        passes,
        converged,
        remaining: findings,
        stack,
        refused,
    })
}

/// One unified diff over all changed files.
pub fn diff(outcome: &Outcome) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, (shown, old, new)) in &outcome.changes {
        let kind = outcome
            .stack
            .sources
            .find(path)
            .and_then(|id| outcome.stack.file(id))
            .map(|f| f.kind);
        out.extend(unified_diff(shown, kind, old, new));
    }
    out
}

/// The backup of `name`: `.name.wpstack.bak`, hidden so that the `include
/// sites-enabled/*` and `include=pool.d/*.conf` globs of nginx and php-fpm (glob(3)
/// skips dotfiles) never load the old copy next to the fixed one.
pub fn backup_name(name: &str) -> String {
    format!(".{name}.wpstack.bak")
}

/// The temp file a write goes through, in the same directory (so the rename is atomic).
pub fn temp_name(name: &str) -> String {
    format!(".{name}.wpstack.tmp")
}

/// The file operations a commit performs, so tests can make one fail (a full disk)
/// or change a file behind our back (another editor) at the worst moment.
pub trait FileIo {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// Create (or truncate) `path` and write `bytes` to it, synced.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()>;
    /// Give `tmp` the mode and owner of `like`.
    fn copy_mode_owner(&self, like: &Path, tmp: &Path) -> std::io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()>;
    fn remove(&self, path: &Path) -> std::io::Result<()>;
}

/// The real file system.
pub struct RealIo;

impl FileIo for RealIo {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }
    fn copy_mode_owner(&self, like: &Path, tmp: &Path) -> std::io::Result<()> {
        let meta = std::fs::metadata(like)?;
        std::fs::set_permissions(tmp, meta.permissions())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // Only root may give a file away; anyone else writes files they own anyway.
            let _ = std::os::unix::fs::chown(tmp, Some(meta.uid()), Some(meta.gid()));
        }
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }
}

/// How to commit.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// Leave `.NAME.wpstack.bak` next to each written file.
    pub backup: bool,
    /// Run nginx -t / php-fpm -t on a sandboxed copy first; `None`: do not.
    pub validate: Option<super::validate::Options>,
}

/// One file a commit wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub display: String,
    /// The backup holding the bytes the file had before (None with `--no-backup`).
    pub backup: Option<PathBuf>,
}

/// What a commit did.
#[derive(Debug, Default)]
pub struct Report {
    pub written: Vec<Written>,
    /// What nginx -t / php-fpm -t said (empty when validation was not asked for).
    pub validation: super::validate::Validation,
}

/// The one way `check --fix` and `tune --apply` change files:
///
/// 1. every new content must parse (a fix that breaks a file is a bug: nothing is written);
/// 2. validation by the real programs on a sandboxed copy: a rejection writes nothing;
/// 3. each file is written atomically (temp file + rename, mode and owner kept), its
///    bytes compared with what was read once more right before the rename;
/// 4. all or nothing: when a write fails, the files already written get their old
///    bytes back.
///
/// `changes`: path → (display, bytes read, new bytes). `stack`: the stack the changes
/// belong to (the original or the fixed one: only its file list and kinds are used).
pub fn commit(
    stack: &Stack,
    changes: &BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)>,
    opts: &CommitOptions,
    io: &dyn FileIo,
) -> Result<Report, String> {
    for (path, (shown, _, new)) in changes {
        let kind = stack
            .sources
            .find(path)
            .and_then(|id| stack.file(id))
            .map(|f| f.kind);
        if let Some(kind) = kind {
            let syntax = crate::stack::Syntax::parse(kind, new);
            if let Some(e) = syntax.errors().first() {
                return Err(format!(
                    "{shown}: the fixed file would not parse ({}); nothing was written",
                    e.message
                ));
            }
        }
    }
    let mut report = Report::default();
    if let Some(v) = &opts.validate {
        report.validation = super::validate::validate(stack, changes, v);
        if let Some(msg) = report.validation.rejection() {
            return Err(format!("{msg}\nnothing was written"));
        }
    }
    for (path, (shown, old, new)) in changes {
        match write_atomic(io, path, old, new, opts.backup) {
            Ok(backup) => report.written.push(Written {
                path: path.clone(),
                display: shown.clone(),
                backup,
            }),
            Err(e) => {
                let mut msg = format!("{shown}: {e}");
                if !report.written.is_empty() {
                    msg.push_str(&restore(io, changes, &report.written));
                } else {
                    msg.push_str("; nothing was written");
                }
                return Err(msg);
            }
        }
    }
    Ok(report)
}

/// Put the old bytes back into files a failed commit already wrote; say how it went.
fn restore(
    io: &dyn FileIo,
    changes: &BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)>,
    written: &[Written],
) -> String {
    let mut failed = Vec::new();
    for w in written.iter().rev() {
        let Some((_, old, new)) = changes.get(&w.path) else {
            continue;
        };
        match write_atomic(io, &w.path, new, old, false) {
            Ok(_) => {
                if let Some(b) = &w.backup {
                    let _ = io.remove(b);
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

/// [`write_atomic`] on the real file system.
pub fn write_one(path: &Path, expected_old: &[u8], new: &[u8], backup: bool) -> Result<(), String> {
    write_atomic(&RealIo, path, expected_old, new, backup).map(|_| ())
}

/// Write `new` to `path` through a temp file in the same directory and a rename; the
/// file's mode and owner are kept. Refused when the file's bytes are not
/// `expected_old`, checked when starting and again immediately before the rename.
/// Returns the backup path when one was written.
pub fn write_atomic(
    io: &dyn FileIo,
    path: &Path,
    expected_old: &[u8],
    new: &[u8],
    backup: bool,
) -> Result<Option<PathBuf>, String> {
    // sites-enabled/x -> ../sites-available/x: write the file the link points to, so
    // the link stays a link (a rename over it would replace it with a plain file).
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path).map_err(|e| {
                format!(
                    "cannot follow the symlink: {}",
                    crate::source::io_reason(&e)
                )
            })?;
            resolved.as_path()
        }
        _ => path,
    };
    let changed = "it changed on disk since wpstack read it (another editor or deploy?); not written, run again";
    let now = io.read(path).map_err(|e| {
        format!(
            "cannot read it back before writing: {}",
            crate::source::io_reason(&e)
        )
    })?;
    if now != expected_old {
        return Err(changed.into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(temp_name(&name));
    let bak = dir.join(backup_name(&name));
    let cleanup = |wrote_backup: bool| {
        let _ = io.remove(&tmp);
        if wrote_backup {
            let _ = io.remove(&bak);
        }
    };
    if let Err(e) = io.write_new(&tmp, new) {
        cleanup(false);
        return Err(format!(
            "cannot write the new contents ({}) in {}; the file is untouched",
            crate::source::io_reason(&e),
            dir.display()
        ));
    }
    if let Err(e) = io.copy_mode_owner(path, &tmp) {
        cleanup(false);
        return Err(format!(
            "cannot give the new file the old one's mode ({}); the file is untouched",
            crate::source::io_reason(&e)
        ));
    }
    if backup {
        if let Err(e) = io.write_new(&bak, expected_old) {
            cleanup(true);
            return Err(format!(
                "cannot write the backup {} ({}); the file is untouched",
                bak.display(),
                crate::source::io_reason(&e)
            ));
        }
    }
    // Last look: someone may have written the file while we prepared ours.
    match io.read(path) {
        Ok(now) if now == expected_old => {}
        Ok(_) => {
            cleanup(backup);
            return Err(changed.into());
        }
        Err(e) => {
            cleanup(backup);
            return Err(format!(
                "cannot read it back before the rename: {}",
                crate::source::io_reason(&e)
            ));
        }
    }
    if let Err(e) = io.rename(&tmp, path) {
        cleanup(backup);
        return Err(format!(
            "cannot replace it ({}); the file is untouched",
            crate::source::io_reason(&e)
        ));
    }
    Ok(backup.then_some(bak))
}

/// The changes of one applied pass, as [`commit`] takes them.
pub fn changes_of(
    sources: &crate::source::SourceMap,
    files: &BTreeMap<crate::source::FileId, Vec<u8>>,
) -> BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)> {
    files
        .iter()
        .map(|(id, new)| {
            let src = sources.get(*id);
            (
                src.path.clone(),
                (src.display.clone(), src.bytes.clone(), new.clone()),
            )
        })
        .filter(|(_, (_, old, new))| old != new)
        .collect()
}

/// What a commit says on stderr: the validation first, then each file written.
pub fn describe(report: &Report, verb: &str, validated: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if validated {
        lines.extend(report.validation.lines());
    } else {
        lines.push("validation with nginx -t / php-fpm -t skipped (--no-validate)".into());
    }
    for w in &report.written {
        match &w.backup {
            Some(b) => lines.push(format!(
                "{verb} {} (backup: {})",
                w.display,
                b.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )),
            None => lines.push(format!("{verb} {}", w.display)),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// The real file system, except: writing `fail_on` fails with ENOSPC after half the
    /// bytes (a full disk), and writing a temp file for `meddle` changes `meddle` on disk
    /// (another program saving it between our read and our rename).
    struct Faulty {
        fail_on: Option<PathBuf>,
        meddle: Option<PathBuf>,
        writes: Cell<usize>,
    }

    impl FileIo for Faulty {
        fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
            RealIo.read(path)
        }
        fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
            self.writes.set(self.writes.get() + 1);
            let target = |p: &Path| {
                path.parent() == p.parent()
                    && p.file_name().is_some_and(|n| {
                        path.file_name() == Some(temp_name(&n.to_string_lossy()).as_ref())
                    })
            };
            if self.fail_on.as_deref().is_some_and(target) {
                std::fs::write(path, &bytes[..bytes.len() / 2])?;
                return Err(std::io::Error::from_raw_os_error(28));
            }
            if let Some(m) = self.meddle.as_deref().filter(|m| target(m)) {
                std::fs::write(m, b"someone else's edit\n")?;
            }
            RealIo.write_new(path, bytes)
        }
        fn copy_mode_owner(&self, like: &Path, tmp: &Path) -> std::io::Result<()> {
            RealIo.copy_mode_owner(like, tmp)
        }
        fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
            RealIo.rename(from, to)
        }
        fn remove(&self, path: &Path) -> std::io::Result<()> {
            RealIo.remove(path)
        }
    }

    type Changes = BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)>;

    fn setup(names: &[&str]) -> (tempfile::TempDir, Changes) {
        let d = tempfile::tempdir().expect("tempdir");
        let mut changes = BTreeMap::new();
        for n in names {
            let p = d.path().join(n);
            let old = format!("{n} old\n").into_bytes();
            std::fs::write(&p, &old).expect("write");
            changes.insert(
                p,
                (
                    n.to_string(),
                    old,
                    format!("{n} new, longer than before\n").into_bytes(),
                ),
            );
        }
        (d, changes)
    }

    fn listing(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn opts() -> CommitOptions {
        CommitOptions {
            backup: true,
            validate: None,
        }
    }

    #[test]
    fn writes_all_with_backups_and_mode_kept() {
        use std::os::unix::fs::PermissionsExt;
        let (d, changes) = setup(&["a.conf", "b.conf"]);
        let a = d.path().join("a.conf");
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let io = RealIo;
        let r = commit(&Stack::default(), &changes, &opts(), &io).expect("commit");
        assert_eq!(r.written.len(), 2);
        for (p, (_, old, new)) in &changes {
            assert_eq!(&std::fs::read(p).expect("read"), new);
            let w = r.written.iter().find(|w| &w.path == p).expect("written");
            assert_eq!(
                &std::fs::read(w.backup.as_ref().expect("bak")).expect("bak"),
                old
            );
        }
        let mode = std::fs::metadata(&a).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            listing(d.path()),
            [
                ".a.conf.wpstack.bak",
                ".b.conf.wpstack.bak",
                "a.conf",
                "b.conf"
            ]
        );
    }

    #[test]
    fn keeps_the_owner_and_writes_through_a_symlink() {
        use std::os::unix::fs::MetadataExt;
        let (d, changes) = setup(&["site.conf"]);
        let target = d.path().join("site.conf");
        // As root (CI, containers) the owner can be given away and must come back.
        let root = std::os::unix::fs::chown(&target, Some(65534), Some(65534)).is_ok();
        let enabled = d.path().join("enabled");
        std::fs::create_dir(&enabled).expect("mkdir");
        let link = enabled.join("site.conf");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let (shown, old, new) = changes.get(&target).cloned().expect("change");
        let mut via_link = BTreeMap::new();
        via_link.insert(link.clone(), (shown, old, new.clone()));
        commit(&Stack::default(), &via_link, &opts(), &RealIo).expect("commit");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).expect("read"), new);
        if root {
            let m = std::fs::metadata(&target).expect("meta");
            assert_eq!((m.uid(), m.gid()), (65534, 65534));
        }
        assert_eq!(
            listing(d.path()),
            [".site.conf.wpstack.bak", "enabled", "site.conf"]
        );
    }

    #[test]
    fn disk_full_leaves_the_original_and_no_temp_file() {
        let (d, changes) = setup(&["a.conf"]);
        let a = d.path().join("a.conf");
        let io = Faulty {
            fail_on: Some(a.clone()),
            meddle: None,
            writes: Cell::new(0),
        };
        let err = commit(&Stack::default(), &changes, &opts(), &io).expect_err("must fail");
        println!("{err}");
        assert!(
            err.contains("a.conf: cannot write the new contents"),
            "{err}"
        );
        assert!(err.contains("no space left on device"), "{err}");
        assert!(err.contains("nothing was written"), "{err}");
        assert_eq!(std::fs::read(&a).expect("read"), b"a.conf old\n");
        assert_eq!(
            listing(d.path()),
            ["a.conf"],
            "temp file or backup left behind"
        );
    }

    #[test]
    fn a_file_changed_between_read_and_rename_is_refused() {
        let (d, changes) = setup(&["a.conf"]);
        let a = d.path().join("a.conf");
        let io = Faulty {
            fail_on: None,
            meddle: Some(a.clone()),
            writes: Cell::new(0),
        };
        let err = commit(&Stack::default(), &changes, &opts(), &io).expect_err("must refuse");
        println!("{err}");
        assert!(
            err.contains("changed on disk since wpstack read it"),
            "{err}"
        );
        // Their edit stays; ours is not written over it.
        assert_eq!(std::fs::read(&a).expect("read"), b"someone else's edit\n");
        assert_eq!(listing(d.path()), ["a.conf"]);
        // Changed before we even start: refused as well.
        let err = commit(&Stack::default(), &changes, &opts(), &RealIo).expect_err("refuse");
        assert!(err.contains("changed on disk"), "{err}");
    }

    #[test]
    fn a_failure_midway_restores_the_files_already_written() {
        let (d, changes) = setup(&["a.conf", "b.conf", "c.conf"]);
        let io = Faulty {
            fail_on: Some(d.path().join("c.conf")),
            meddle: None,
            writes: Cell::new(0),
        };
        let err = commit(&Stack::default(), &changes, &opts(), &io).expect_err("must fail");
        println!("{err}");
        assert!(err.contains("c.conf: cannot write"), "{err}");
        assert!(err.contains("restored (a.conf, b.conf)"), "{err}");
        for (p, (_, old, _)) in &changes {
            assert_eq!(&std::fs::read(p).expect("read"), old, "{}", p.display());
        }
        assert_eq!(listing(d.path()), ["a.conf", "b.conf", "c.conf"]);
    }

    #[test]
    fn a_fix_that_breaks_the_syntax_is_never_written() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("nginx.conf");
        std::fs::write(&p, "events {}\n").expect("write");
        let stack = discover::load(&Inputs {
            paths: vec![p.clone()],
            ..Default::default()
        })
        .expect("load");
        let mut changes = BTreeMap::new();
        changes.insert(
            p.clone(),
            (
                "nginx.conf".to_string(),
                b"events {}\n".to_vec(),
                b"events {\n".to_vec(),
            ),
        );
        let err = commit(&stack, &changes, &opts(), &RealIo).expect_err("must refuse");
        assert!(err.contains("would not parse"), "{err}");
        assert_eq!(std::fs::read(&p).expect("read"), b"events {}\n");
    }
}
