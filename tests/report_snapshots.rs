//! What users see: the text, JSON, SARIF and GitHub reports of the broken demo stack
//! (insta snapshots), the SARIF validated against the official 2.1.0 schema.

mod support;

use support::fixtures;
use wpstack::machine::host;
use wpstack::report::{self, Format, RenderOptions, Summary};
use wpstack::settings::{self, Settings, Thresholds};
use wpstack::stack::discover::{self, Inputs};

fn render_broken(format: Format) -> String {
    let dir = fixtures().join("stacks/broken");
    let fs = settings::read_config(&dir.join("wpstack.toml")).expect("toml");
    let mut s = Settings::default();
    if let Some(p) = fs.profile {
        s.profile = p;
        s.thresholds = Thresholds::for_profile(p);
    }
    let h = host::resolve(&Default::default(), &fs.host, false);
    let stack = discover::load(&Inputs {
        paths: vec![dir],
        ..Default::default()
    })
    .expect("load");
    let findings = wpstack::engine::run(&stack, &s, &h);
    let summary = Summary::from_findings(&findings, stack.files.len());
    report::render(
        format,
        &stack.sources,
        &findings,
        wpstack::rules::ALL,
        &summary,
        &RenderOptions {
            color: false,
            show_fixes: true,
        },
    )
}

#[test]
fn text_report() {
    insta::assert_snapshot!("broken_text", render_broken(Format::Text));
}

#[test]
fn github_report() {
    insta::assert_snapshot!("broken_github", render_broken(Format::Github));
}

#[test]
fn json_report() {
    let out = render_broken(Format::Json);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["version"], 1);
    for f in v["findings"].as_array().expect("findings") {
        for key in [
            "code",
            "name",
            "severity",
            "message",
            "file",
            "line",
            "column",
            "end_line",
            "end_column",
            "related",
            "fix",
            "assumptions",
        ] {
            assert!(f.get(key).is_some(), "finding without {key}: {f}");
        }
    }
    insta::assert_snapshot!("broken_json", out);
}

#[test]
fn sarif_report_is_valid_sarif_2_1_0() {
    let out = render_broken(Format::Sarif);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    // The schema has one ECMA-only pattern: a bare `]` that ECMAScript reads as a literal
    // and Rust regex engines refuse. Escape it (same meaning) before compiling.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/schemas/sarif-schema-2.1.0.json"),
    )
    .expect("schema")
    .replace("-[a-zA-Z]{2}]?$", "-[a-zA-Z]{2}\\\\]?$");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
    // GitHub code scanning needs these.
    let rules = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules.len(), wpstack::rules::ALL.len());
    for r in rules {
        assert!(r["helpUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")));
        assert!(r["fullDescription"]["text"]
            .as_str()
            .is_some_and(|t| t.len() > 20));
    }
    // Snapshot without the rule docs (they have their own tests).
    let mut trimmed = v.clone();
    trimmed["runs"][0]["tool"]["driver"]["rules"] = serde_json::json!(rules.len());
    insta::assert_json_snapshot!("broken_sarif_results", trimmed);
}

#[test]
fn secrets_never_in_any_format() {
    for f in [Format::Text, Format::Json, Format::Sarif, Format::Github] {
        let out = render_broken(f);
        assert!(!out.contains("correct-horse-battery-staple"), "{f:?}");
        assert!(!out.contains("Tr0ub4dor"), "{f:?}");
    }
}
