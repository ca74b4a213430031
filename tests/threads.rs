//! Reading and parsing on several threads (`--threads N`, issue 18) changes nothing a
//! user sees: the same files in the same order (ids), the same findings, notes and
//! problems, the same JSON, for 1 thread and for many.

#[path = "support/generate.rs"]
mod generate;

use std::path::Path;
use wpstack::stack::discover::{self, Inputs};

/// Everything a check prints about `dir`, loaded on a pool of `threads` threads.
fn check_on(threads: usize, dir: &Path) -> String {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| {
        let stack = discover::load(&Inputs {
            paths: vec![dir.to_path_buf()],
            ..Default::default()
        })
        .expect("load");
        let settings = wpstack::settings::Settings::default();
        let host = wpstack::machine::host::resolve(&Default::default(), &Default::default(), false);
        let findings = wpstack::engine::run(&stack, &settings, &host);
        let summary = wpstack::report::Summary::from_findings(&findings, stack.files.len());
        let json = wpstack::report::json_report(&stack.sources, &findings, &summary);
        let files: Vec<String> = stack
            .sources
            .iter()
            .map(|(id, f)| format!("{id} {}", f.display))
            .collect();
        let problems: Vec<&str> = stack.problems.iter().map(|p| p.message.as_str()).collect();
        format!(
            "{}\n{files:#?}\n{:#?}\n{problems:#?}",
            serde_json::to_string_pretty(&json).expect("json"),
            stack.notes
        )
    })
}

#[test]
fn one_thread_and_many_give_the_same_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate::write(dir.path(), 150);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks");
    for d in [
        dir.path().to_path_buf(),
        fixtures.join("broken"),
        fixtures.join("healthy"),
    ] {
        let one = check_on(1, &d);
        assert!(one.contains("\"findings\""), "{one}");
        for n in [2, 4] {
            assert_eq!(one, check_on(n, &d), "{} on {n} threads", d.display());
        }
    }
}

/// `check --diff` re-lints the fixed files with the edits in an overlay; the read-ahead
/// workers read that overlay too, so the diff is the same on 1 thread and on many.
#[test]
fn one_thread_and_many_give_the_same_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate::write(dir.path(), 60);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks");
    let diff = |threads: usize, d: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wpstack"))
            .args([
                "--threads",
                &threads.to_string(),
                "check",
                "--diff",
                "--unsafe-fixes",
            ])
            .arg(d)
            .env("NO_COLOR", "1")
            .output()
            .expect("run wpstack");
        assert!(out.status.code().is_some(), "killed: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for d in [dir.path().to_path_buf(), fixtures.join("broken")] {
        let one = diff(1, &d);
        assert!(one.contains("+++ "), "no diff for {}: {one}", d.display());
        for n in [2, 4] {
            assert_eq!(one, diff(n, &d), "{} on {n} threads", d.display());
        }
    }
}
