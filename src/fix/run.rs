//! The fix loop: lint, apply non-overlapping fixes in memory, re-parse and re-lint,
//! until nothing changes (at most `MAX_PASSES`); then diff or write atomically.

use super::apply::{self, unified_diff};
use super::Applicability;
use crate::engine;
use crate::finding::Finding;
use crate::machine::host::Host;
use crate::settings::Settings;
use crate::source::{read_config, with_overlay, ReadError};
use crate::stack::discover::{self, Inputs};
use crate::stack::Stack;
use foldhash::HashMap;
use std::collections::BTreeMap;
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
    /// Files a fix wanted to touch outside the PATHs given (or reached through a
    /// link out of them): "display: why"; never changed, not in the diff.
    pub left_alone: Vec<String>,
}

pub fn fixpoint(
    inputs: &Inputs,
    settings: &Settings,
    host: &Host,
    min: Applicability,
) -> Result<Outcome, ReadError> {
    let mut overlay: HashMap<PathBuf, Vec<u8>> = HashMap::default();
    let mut displays: HashMap<PathBuf, String> = HashMap::default();
    let mut refused = Vec::new();
    let mut left_alone: Vec<String> = Vec::new();
    // path → where it may be written (its real file's display) or why not.
    let mut targets: HashMap<PathBuf, Result<String, ()>> = HashMap::default();
    let mut scope: Option<Scope> = None;
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
        let scope = scope.get_or_insert_with(|| scope_of(inputs, stack.root.as_deref()));
        let mut changed = false;
        for (file, bytes) in pass.files {
            let src = stack.sources.get(file);
            let allowed = targets.entry(src.path.clone()).or_insert_with(|| {
                shown_if_writable(scope, &src.path, &src.display).map_err(|why| {
                    left_alone.push(format!("{}: {why}", src.display));
                })
            });
            let Ok(shown) = allowed.clone() else {
                continue;
            };
            let broken = stack
                .file(file)
                .is_some_and(|f| !f.syntax.errors().is_empty());
            if broken {
                if !refused.contains(&src.display) {
                    refused.push(src.display.clone());
                }
                continue;
            }
            displays.insert(src.path.clone(), shown);
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
        left_alone,
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

/// The real file system.
pub use crate::files::write::Real as RealIo;
/// The test seam of every write (see [`crate::files::write::Seam`]).
pub use crate::files::write::Seam as FileIo;
use crate::files::write::{self, BackupPlan, Change, Scope};
pub use crate::files::write::{backup_name, temp_name, Written};

/// Where `check --fix` / `tune --apply` may write: under `--root` when given, else
/// under the PATHs given (`.` when none) and the files named with --nginx, --fpm,
/// --php-ini, --wp-config; links resolve inside `tree_root` (the copy being checked).
pub fn scope_of(inputs: &Inputs, tree_root: Option<&Path>) -> Scope {
    let mut paths = inputs.paths.clone();
    if paths.is_empty()
        && inputs.nginx.is_empty()
        && inputs.fpm.is_empty()
        && inputs.php_ini.is_empty()
        && inputs.wp_config.is_empty()
    {
        paths.push(PathBuf::from("."));
    }
    paths.extend(inputs.nginx.iter().cloned());
    paths.extend(inputs.fpm.iter().cloned());
    paths.extend(inputs.php_ini.iter().cloned());
    paths.extend(inputs.wp_config.iter().cloned());
    Scope::new(&paths, inputs.root.as_deref(), tree_root)
}

/// How to commit.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// Keep a backup of each written file (see [`BackupPlan`] for where).
    pub backup: bool,
    /// `--backup-dir` / `backup_dir`: every backup goes there.
    pub backup_dir: Option<PathBuf>,
    /// Run nginx -t / php-fpm -t on a sandboxed copy first; `None`: do not.
    pub validate: Option<super::validate::Options>,
    /// Where writes may go; `None`: the stack's tree (`--root`, a PATH holding
    /// `etc/`), else each changed file's own directory.
    pub scope: Option<Scope>,
}

/// What a commit did.
#[derive(Debug, Default)]
pub struct Report {
    pub written: Vec<Written>,
    /// What nginx -t / php-fpm -t said (empty when validation was not asked for).
    pub validation: super::validate::Validation,
    /// Files a change was meant for but that are not written: "display: why".
    pub left_alone: Vec<String>,
}

/// The one way `check --fix` and `tune --apply` change files:
///
/// 1. every new content must parse (a fix that breaks a file is a bug: nothing is written);
/// 2. each file is resolved inside the tree and must lie under the PATHs given; any
///    other is left alone (and [`Report::left_alone`] says why);
/// 3. validation by the real programs on a sandboxed copy: a rejection writes nothing;
/// 4. each file is written by [`crate::files::write`] (no link followed, temp file +
///    renameat, owner and mode kept, private non-clobbering backups), its bytes
///    compared with what was read once more right before the rename;
/// 5. all or nothing: when a write fails, the files already written get their old
///    bytes back.
///
/// `changes`: path → (display, bytes read, new bytes). `stack`: the stack the changes
/// belong to (the original or the fixed one: its file list, kinds, tree root and web
/// roots are used).
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
    let scope = match (&opts.scope, &stack.root) {
        (Some(s), _) => s.clone(),
        (None, Some(r)) => Scope::new(std::slice::from_ref(r), Some(r), Some(r)),
        (None, None) => {
            let dirs: Vec<PathBuf> = changes
                .keys()
                .filter_map(|p| p.parent().map(Path::to_path_buf))
                .collect();
            Scope::new(&dirs, None, None)
        }
    };
    let mut report = Report::default();
    let mut kept: BTreeMap<PathBuf, (String, Vec<u8>, Vec<u8>)> = BTreeMap::new();
    let mut set: Vec<Change> = Vec::new();
    for (path, (shown, old, new)) in changes {
        match scope.target(path) {
            Err(why) => report.left_alone.push(format!("{shown}: {why}")),
            Ok(mut t) => {
                if let Err(why) = write::preflight(&t) {
                    report.left_alone.push(format!("{shown}: {why}"));
                    continue;
                }
                if let Some(other) = set.iter().find(|c| c.target.real == t.real) {
                    report.left_alone.push(format!(
                        "{shown}: it is the same file as {}, changed once",
                        other.target.display
                    ));
                    continue;
                }
                if !through_links(&scope, path) {
                    t.display = shown.clone();
                }
                kept.insert(path.clone(), (shown.clone(), old.clone(), new.clone()));
                set.push(Change {
                    path: path.clone(),
                    target: t,
                    old: old.clone(),
                    new: new.clone(),
                });
            }
        }
    }
    if let Some(v) = &opts.validate {
        report.validation = super::validate::validate(stack, &kept, v);
        if let Some(msg) = report.validation.rejection() {
            return Err(format!("{msg}\nnothing was written"));
        }
    }
    let plan = BackupPlan {
        enabled: opts.backup,
        dir: opts.backup_dir.clone(),
        web_roots: discover::web_roots(stack),
    };
    report.written = write::write_set(io, &scope, &set, &plan)?;
    Ok(report)
}

/// How a file a fix or tune wants to change is named in diffs and messages — its real
/// file relative to PATH when a link leads there, else `shown` — or why it is left
/// alone (outside the PATHs given, not a regular file, a hard link …).
pub fn shown_if_writable(scope: &Scope, path: &Path, shown: &str) -> Result<String, String> {
    let t = scope.target(path)?;
    write::preflight(&t)?;
    Ok(if through_links(scope, path) {
        t.display
    } else {
        shown.to_string()
    })
}

/// Whether `path` reaches its file through a symlink (then the real file's name is
/// shown, not the link's).
fn through_links(scope: &Scope, path: &Path) -> bool {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    scope.resolve(path).is_ok_and(|real| {
        real != abs
            && std::fs::canonicalize(abs.parent().unwrap_or(Path::new("/")))
                .map(|d| d.join(abs.file_name().unwrap_or_default()))
                .is_ok_and(|c| c != real)
    })
}

/// [`crate::files::write::write_one`]: one file, confined to its directory.
pub fn write_one(path: &Path, expected_old: &[u8], new: &[u8], backup: bool) -> Result<(), String> {
    write::write_one(path, expected_old, new, backup)
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
            Some(b) => {
                // Next to the file: its name; elsewhere (a backup directory): the path.
                let shown = if b.parent() == w.path.parent() {
                    b.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    b.display().to_string()
                };
                lines.push(format!("{verb} {} (backup: {shown})", w.display))
            }
            None => lines.push(format!("{verb} {}", w.display)),
        }
    }
    for l in &report.left_alone {
        lines.push(format!("left alone: {l}"));
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

    fn same(a: &Path, b: &Path) -> bool {
        let c = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        c(a) == c(b)
    }

    impl FileIo for Faulty {
        fn at(&self, step: write::Step, target: &Path) -> std::io::Result<()> {
            if step == write::Step::WriteTemp {
                self.writes.set(self.writes.get() + 1);
                if self.fail_on.as_deref().is_some_and(|f| same(f, target)) {
                    return Err(std::io::Error::from_raw_os_error(28));
                }
            }
            if step == write::Step::BeforeRename
                && self.meddle.as_deref().is_some_and(|m| same(m, target))
            {
                std::fs::write(target, b"someone else's edit\n")?;
            }
            Ok(())
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
            ..Default::default()
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
        // Confined to `enabled/` alone, the file behind the link is outside: left alone.
        let r = commit(&Stack::default(), &via_link, &opts(), &RealIo).expect("commit");
        assert!(r.written.is_empty());
        assert!(
            r.left_alone[0].contains("outside the PATHs given"),
            "{:?}",
            r.left_alone
        );
        assert_eq!(std::fs::read(&target).expect("read"), b"site.conf old\n");
        let o = CommitOptions {
            scope: Some(Scope::new(&[d.path().to_path_buf()], None, None)),
            ..opts()
        };
        let r = commit(&Stack::default(), &via_link, &o, &RealIo).expect("commit");
        // The real file is named, relative to the PATH.
        assert_eq!(r.written[0].display, "site.conf");
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
