//! A generated 2,000-site host gives exactly the planted counts, and nothing else at
//! warning or above.

mod support;

#[path = "support/generate.rs"]
mod generate;

use std::collections::BTreeMap;
use wpstack::finding::Severity;
use wpstack::stack::discover::{self, Inputs};

#[test]
fn two_thousand_sites_give_exactly_the_planted_counts() {
    let n = 2000;
    let dir = tempfile::tempdir().expect("tempdir");
    generate::write(dir.path(), n);
    let fs = wpstack::settings::read_config(&dir.path().join("wpstack.toml")).expect("toml");
    let host = wpstack::machine::host::resolve(&Default::default(), &fs.host, false);
    let stack = discover::load(&Inputs {
        paths: vec![dir.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    assert_eq!(stack.files.len(), 3 * n + 4);
    let findings = wpstack::engine::run(&stack, &wpstack::settings::Settings::default(), &host);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &findings {
        *counts.entry(f.code).or_default() += 1;
    }
    println!(
        "generated host: {n} sites, {} files, findings per rule: {counts:?}",
        stack.files.len()
    );
    for (code, k) in generate::PLANTED {
        assert_eq!(
            counts.get(code).copied().unwrap_or(0),
            generate::expected(n, *k),
            "{code}"
        );
    }
    let unplanted: Vec<_> = findings
        .iter()
        .filter(|f| {
            f.severity >= Severity::Warning && !generate::PLANTED.iter().any(|(c, _)| *c == f.code)
        })
        .map(|f| format!("{} {}", f.code, f.message))
        .take(5)
        .collect();
    assert!(unplanted.is_empty(), "{unplanted:#?}");
}
