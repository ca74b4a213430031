//! `tune --apply --drop-in`: the tuned pool keys in one file per php-fpm instance,
//! `zz-wpstack.conf` in the directory of php-fpm.conf's last `include=` glob (Debian's
//! `pool.d/*.conf`), re-opening each `[pool]` (php-fpm merges a repeated section into
//! the pool it names, later keys winning), so the package's and the config manager's
//! files are never edited and an upgrade does not fight the tuning. A later `tune`
//! reads the drop-in like any pool file and rewrites it whole: the keys it held stay
//! (with their values, or new ones when tuned again), new tuned keys are added.
//! `--remove-drop-in` removes it. The default stays span edits in the pools' own
//! files: the choice for configuration kept in git, where the diff is reviewed.
//!
//! The drop-in must load last: the glob's file pattern must match `zz-wpstack.conf`,
//! no file it matches may sort after it, and php-fpm.conf must open no pool after the
//! include line. Otherwise the tuner refuses and says why.

use super::run::PoolSet;
use crate::source::FileId;
use crate::stack::Stack;
use std::path::{Path, PathBuf};

pub const NAME: &str = "zz-wpstack.conf";

/// Where one instance's drop-in goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub fpm: usize,
    pub path: PathBuf,
    /// The drop-in as loaded (it exists).
    pub existing: Option<FileId>,
    /// The file php-fpm loads last today: the drop-in will load right after it.
    pub last: FileId,
    /// A file of the same directory whose owner and mode the new file gets.
    pub like: PathBuf,
}

/// The drop-in of php-fpm instance `fpm`, or why there can be none.
pub fn locate(stack: &Stack, fpm: usize) -> Result<Target, String> {
    let f = &stack.fpm[fpm];
    let main = f.main.ok_or(
        "its pools were found without a php-fpm.conf: no include glob to drop a file into",
    )?;
    let main_src = stack.sources.get(main);
    let ini = stack
        .syntax_ini(main)
        .ok_or_else(|| format!("{} was not read as php-fpm.conf", main_src.display))?;
    let includes: Vec<(usize, String)> = ini
        .entries()
        .filter(|(_, e)| e.key.name == "include")
        .map(|(_, e)| (e.span.start, e.value.text.clone()))
        .collect();
    let Some((at, pattern)) = includes.last().cloned() else {
        return Err(format!(
            "{} has no include= line: a drop-in would not be loaded",
            main_src.display
        ));
    };
    if !pattern.contains(['*', '?', '[']) {
        return Err(format!(
            "{}'s last include ({pattern}) is not a glob: a drop-in beside it would not be loaded",
            main_src.display
        ));
    }
    let reopened = ini
        .lines
        .iter()
        .any(|l| matches!(&l.kind, crate::syntax::ini::LineKind::Section(s) if s.span.start > at));
    if reopened {
        return Err(format!(
            "{} opens a section after its last include: the drop-in would not load last",
            main_src.display
        ));
    }
    let main_dir = main_src.path.parent().unwrap_or(Path::new("/"));
    let glob_path =
        crate::stack::discover::fpm_include_target(&pattern, main_dir, stack.root.as_deref());
    let dir = glob_path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let file_pattern = glob_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let matches = glob::Pattern::new(&file_pattern).is_ok_and(|p| p.matches(NAME));
    if !matches {
        return Err(format!(
            "the include glob {} does not match {NAME}",
            glob_path.display()
        ));
    }
    let path = dir.join(NAME);
    let mut existing = None;
    let mut like = None;
    for id in &f.files {
        let p = &stack.sources.get(*id).path;
        if p.parent() != Some(dir.as_path()) {
            continue;
        }
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        match name.as_deref() {
            Some(NAME) => existing = Some(*id),
            Some(n) if n > NAME => {
                return Err(format!(
                    "{} sorts after {NAME}: its values would win over the drop-in's",
                    stack.sources.get(*id).display
                ))
            }
            _ => like = like.or(Some(p.clone())),
        }
    }
    let last = *f.files.last().unwrap_or(&main);
    Ok(Target {
        fpm,
        path,
        existing,
        last,
        like: like.unwrap_or_else(|| main_src.path.clone()),
    })
}

/// The drop-in's text: for each pool of the instance (in load order) the keys the
/// existing drop-in held and the keys tuned now (`sets`, later winning), one
/// `[pool]` section each. Empty when no pool has a key.
pub fn render(stack: &Stack, t: &Target, sets: &[PoolSet]) -> Vec<u8> {
    // pool name → [(key, value)] in first-set order.
    let mut by_pool: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut put = |pool: &str, key: String, value: String| {
        let i = match by_pool
            .iter()
            .position(|(p, _)| p.eq_ignore_ascii_case(pool))
        {
            Some(i) => i,
            None => {
                by_pool.push((pool.to_string(), Vec::new()));
                by_pool.len() - 1
            }
        };
        let keys = &mut by_pool[i].1;
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some(kv) => kv.1 = value,
            None => keys.push((key, value)),
        }
    };
    if let Some(ini) = t.existing.and_then(|id| stack.syntax_ini(id)) {
        let mut current: Option<String> = None;
        for l in &ini.lines {
            match &l.kind {
                crate::syntax::ini::LineKind::Section(s) => current = Some(s.name.clone()),
                crate::syntax::ini::LineKind::Entry(e) => {
                    if let Some(pool) = &current {
                        let key = match &e.key.index {
                            Some(i) => format!("{}[{i}]", e.key.name),
                            None => e.key.name.clone(),
                        };
                        put(pool, key, e.value.raw.clone());
                    }
                }
                _ => {}
            }
        }
    }
    let pools: Vec<&str> = stack
        .pools
        .iter()
        .filter(|p| p.fpm == t.fpm)
        .map(|p| p.name.as_str())
        .collect();
    for s in sets.iter().filter(|s| pools.contains(&s.pool.as_str())) {
        put(&s.pool, s.key.clone(), s.value.clone());
    }
    // Pools in the instance's load order.
    by_pool.sort_by_key(|(p, _)| pools.iter().position(|q| q.eq_ignore_ascii_case(p)));
    if by_pool.iter().all(|(_, k)| k.is_empty()) {
        return Vec::new();
    }
    let mut out = String::from(
        "; Written by `wpstack tune --apply --drop-in`: the tuned keys of each pool, loaded\n\
         ; last so they win over the pool files. `wpstack tune --drop-in` updates this file,\n\
         ; `wpstack tune --remove-drop-in` removes it.\n",
    );
    for (pool, keys) in by_pool {
        if keys.is_empty() {
            continue;
        }
        out.push_str(&format!("\n[{pool}]\n"));
        for (k, v) in keys {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
    out.into_bytes()
}

/// The change that stands for the new drop-in in validation: the file php-fpm loads
/// last today with the drop-in appended (php-fpm reads them in that order either way).
pub fn as_appended(
    stack: &Stack,
    t: &Target,
    text: &[u8],
) -> (PathBuf, (String, Vec<u8>, Vec<u8>)) {
    let src = stack.sources.get(t.last);
    let mut new = src.bytes.clone();
    if !new.is_empty() && !new.ends_with(b"\n") {
        new.push(b'\n');
    }
    new.extend_from_slice(text);
    (
        src.path.clone(),
        (src.display.clone(), src.bytes.clone(), new),
    )
}
