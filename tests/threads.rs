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
