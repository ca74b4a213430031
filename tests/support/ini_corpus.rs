//! Helpers shared by the INI tests: where the corpus is, which files to skip, and
//! how to find the real programs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Files TEMPLATES.txt says cannot be parsed as they are ("no: ...").
pub fn template_no(corpus: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(corpus.join("TEMPLATES.txt")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let path = cols.next()?;
            let _engine = cols.next()?;
            let verdict = cols.next()?;
            verdict.starts_with("no").then(|| path.to_string())
        })
        .collect()
}

/// Every file under `corpus/<category>`, as (path relative to the corpus, full path), sorted.
pub fn files_under(corpus: &Path, category: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![corpus.join(category)];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(corpus) {
                out.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
            }
        }
    }
    out.sort();
    out
}

/// A program on PATH (or at an absolute path).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|c| c.is_file())
    })
}

/// The program, or `None` after printing "skipped: NAME not found" — unless `CI` is
/// set, where a missing oracle is a failure.
pub fn oracle(name: &str) -> Option<PathBuf> {
    match find_program(name) {
        Some(p) => Some(p),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{name} not found and CI is set: the differential test needs it"
            );
            println!("skipped: {name} not found");
            None
        }
    }
}
