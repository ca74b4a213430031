//! The shared real-world corpus (../shared/corpus) and its list files.

use std::path::{Path, PathBuf};

/// The shared real-world corpus: `WPSTACK_CORPUS` if set, else `../shared/corpus` or
/// `../../shared/corpus` next to the crate. `None` (and a "skipped" line) when absent.
pub fn corpus_dir() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = std::env::var_os("WPSTACK_CORPUS")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            manifest.join("../shared/corpus"),
            manifest.join("../../shared/corpus"),
        ]);
    for c in candidates {
        if c.join("MANIFEST.tsv").is_file() {
            return Some(c);
        }
    }
    println!("skipped: ../shared/corpus not found");
    None
}

/// Lines of a corpus list file (TEMPLATES.txt, INVALID.txt) split on tabs, comments skipped.
pub fn corpus_list(corpus: &Path, name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(corpus.join(name))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}
