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
    for (shown, old, new) in outcome.changes.values() {
        out.extend(unified_diff(shown, old, new));
    }
    out
}

/// Write every change atomically: a temp file in the same directory, the original's
/// permissions, then rename; `FILE.wpstack.bak` unless `backup` is false. A file that
/// changed on disk since it was read is refused.
pub fn write(outcome: &Outcome, backup: bool) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    for (path, (shown, old, new)) in &outcome.changes {
        write_one(path, old, new, backup).map_err(|e| format!("{shown}: {e}"))?;
        written.push(shown.clone());
    }
    Ok(written)
}

/// The backup of `name`: `.name.wpstack.bak`, hidden so that the `include
/// sites-enabled/*` and `include=pool.d/*.conf` globs of nginx and php-fpm (glob(3)
/// skips dotfiles) never load the old copy next to the fixed one.
pub fn backup_name(name: &str) -> String {
    format!(".{name}.wpstack.bak")
}

pub fn write_one(path: &Path, expected_old: &[u8], new: &[u8], backup: bool) -> Result<(), String> {
    use std::io::Write;
    let now = std::fs::read(path).map_err(|e| crate::source::io_reason(&e))?;
    if now != expected_old {
        return Err("changed on disk since it was read; not written".into());
    }
    let meta = std::fs::metadata(path).map_err(|e| crate::source::io_reason(&e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.wpstack.tmp"));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(new)?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, meta.permissions())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let _ = std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()));
        }
        if backup {
            std::fs::write(dir.join(backup_name(&name)), expected_old)?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(crate::source::io_reason(&e));
    }
    Ok(())
}
