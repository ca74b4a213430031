//! Every rule doc is runnable: its Bad example fires the rule (and no other error),
//! its Good example does not fire it.

use std::path::Path;
use wpstack::engine;
use wpstack::finding::Severity;
use wpstack::machine::host;
use wpstack::rules::{self, doc};
use wpstack::settings::{self, Settings, Thresholds};
use wpstack::stack::discover::{self, Inputs};

fn run_example(files: &[doc::ExampleFile]) -> Vec<wpstack::finding::Finding> {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in files {
        let p = dir.path().join(&f.path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, &f.content).expect("write");
    }
    let mut s = Settings::default();
    let mut configured = Default::default();
    let cfg = dir.path().join("wpstack.toml");
    if cfg.is_file() {
        let fs = settings::read_config(&cfg).expect("example wpstack.toml");
        if let Some(p) = fs.profile {
            s.profile = p;
            s.thresholds = Thresholds::for_profile(p);
        }
        for (k, v) in &fs.thresholds {
            s.thresholds.set(k, *v);
        }
        if let Some(c) = fs.cdn {
            s.cdn = c;
        }
        configured = fs.host;
    }
    let h = host::resolve(&Default::default(), &configured, false);
    let stack = discover::load(&Inputs {
        paths: vec![dir.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    engine::run(&stack, &s, &h)
}

fn describe(findings: &[wpstack::finding::Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} {}: {}", f.code, f.severity, f.message))
        .collect::<Vec<_>>()
        .join("\n  ")
}

#[test]
fn every_rule_doc_has_the_sections_and_runnable_examples() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for rule in rules::ALL {
        let file = format!("{}-{}.md", rule.code, rule.name);
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("rules")
                .join(&file)
                .is_file(),
            "missing rules/{file}"
        );
        let secs = doc::sections(rule.doc);
        for req in doc::REQUIRED_SECTIONS {
            assert!(secs.contains(req), "rules/{file} lacks section `## {req}`");
        }
        let bad = doc::example_files(rule.doc, "Bad");
        let good = doc::example_files(rule.doc, "Good");
        assert!(
            !bad.is_empty(),
            "rules/{file}: Bad has no ```lang file=PATH``` block"
        );
        assert!(
            !good.is_empty(),
            "rules/{file}: Good has no ```lang file=PATH``` block"
        );

        let found = run_example(&bad);
        if !found.iter().any(|f| f.code == rule.code) {
            failures.push(format!(
                "{}: Bad example does not fire it; got:\n  {}",
                rule.code,
                describe(&found)
            ));
        }
        let other_errors: Vec<_> = found
            .iter()
            .filter(|f| f.code != rule.code && f.severity == Severity::Error)
            .cloned()
            .collect();
        if !other_errors.is_empty() {
            failures.push(format!(
                "{}: Bad example also fires other errors:\n  {}",
                rule.code,
                describe(&other_errors)
            ));
        }
        let found = run_example(&good);
        if found.iter().any(|f| f.code == rule.code) {
            failures.push(format!(
                "{}: Good example fires it:\n  {}",
                rule.code,
                describe(&found)
            ));
        }
        checked += 1;
    }
    println!("rule docs: {checked} rules, Bad fires and Good does not for each");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn codes_and_names_are_unique() {
    let mut codes = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for r in rules::ALL {
        assert!(codes.insert(r.code), "duplicate code {}", r.code);
        assert!(names.insert(r.name), "duplicate name {}", r.name);
    }
}
