//! Shared test helpers.
#![allow(dead_code)]

pub mod field;
pub mod ini_corpus;

use std::path::{Path, PathBuf};

/// The shared corpus of real third-party configs, when present.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WPSTACK_CORPUS") {
        let p = PathBuf::from(p);
        if p.is_dir() {
            return Some(p);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../shared/corpus"),
        root.join("../../shared/corpus"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// Skip (with the agreed message) when the corpus is absent.
#[macro_export]
macro_rules! corpus_or_skip {
    () => {
        match $crate::support::corpus_dir() {
            Some(c) => c,
            None => {
                println!("skipped: ../shared/corpus not found");
                return;
            }
        }
    };
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Is a real program on PATH? In CI a missing oracle is a failure, elsewhere a skip.
pub fn have_program(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found && std::env::var_os("CI").is_some() {
        panic!("{name} not found, and CI is set: .ci/run must install it");
    }
    if !found {
        println!("skipped: {name} not found");
    }
    found
}

/// A `--diff` output applies to the tree it was made from: `git apply --check` and
/// `patch -p1 --dry-run` (when patch is installed) take it from `dir`. The patch is
/// written to `dir/fix.patch`.
pub fn assert_patch_applies(dir: &Path, patch: &[u8]) {
    std::fs::write(dir.join("fix.patch"), patch).expect("write patch");
    let git = std::process::Command::new("git")
        .args(["apply", "--check", "fix.patch"])
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        git.status.success(),
        "git apply --check: {}",
        String::from_utf8_lossy(&git.stderr)
    );
    if have_program("patch") {
        let p = std::process::Command::new("patch")
            .args(["-p1", "--dry-run", "-i", "fix.patch"])
            .current_dir(dir)
            .output()
            .expect("patch");
        assert!(
            p.status.success(),
            "patch -p1: {}",
            String::from_utf8_lossy(&p.stdout)
        );
    }
}

/// Write files (path, content) under a new temp dir.
pub fn write_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (p, c) in files {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, c).expect("write");
    }
    dir
}

/// Copy a directory tree (files and directories).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("dir").flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// The codes of the findings in `wpstack check --format json` output.
pub fn finding_codes(json: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(json).expect("json report");
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect()
}

/// Every file under `dir`, recursively, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        if e.path().is_dir() {
            v.extend(walk(&e.path()));
        } else {
            v.push(e.path());
        }
    }
    v.sort();
    v
}

/// A process a test started, stopped by its pid when dropped (also when the test
/// fails): SIGTERM first, so nginx and php-fpm stop their workers (SIGKILL would
/// orphan them, still listening), SIGKILL if it is not gone within 5 s.
pub struct Guard(pub std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        use std::time::{Duration, Instant};
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
