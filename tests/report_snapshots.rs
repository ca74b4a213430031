//! What users see: the text, JSON, SARIF and GitHub reports of the broken demo stack
//! (insta snapshots), the SARIF validated against the official 2.1.0 schema; the
//! Checkstyle and JUnit XML parsed and held to their schemas' required elements and
//! attributes, the GitLab Code Quality JSON validated against its JSON schema.

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
            ..Default::default()
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
    for f in [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Checkstyle,
        Format::Junit,
        Format::Gitlab,
    ] {
        let out = render_broken(f);
        assert!(!out.contains("correct-horse-battery-staple"), "{f:?}");
        assert!(!out.contains("Tr0ub4dor"), "{f:?}");
    }
}

/// An XML element as the tests see it: name, attributes, children, text.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: std::collections::BTreeMap<String, String>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn attr(&self, k: &str) -> &str {
        self.attrs
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("<{}> without {k}: {:?}", self.name, self.attrs))
    }
    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

/// Parse XML with quick-xml into a tree (well-formedness is quick-xml's to judge).
fn parse_xml(xml: &str) -> El {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    r.config_mut().check_end_names = true;
    let mut stack: Vec<El> = vec![El::default()];
    let el_of = |e: &quick_xml::events::BytesStart| El {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().expect("escaped value").into_owned(),
                )
            })
            .collect(),
        ..Default::default()
    };
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => stack.push(el_of(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(el_of(&e)),
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Event::Text(t) => stack
                .last_mut()
                .unwrap()
                .text
                .push_str(&t.unescape().expect("text")),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children.pop().unwrap()
}

fn broken_count() -> usize {
    let v: serde_json::Value = serde_json::from_str(&render_broken(Format::Json)).unwrap();
    v["findings"].as_array().unwrap().len()
}

/// Checkstyle 4.3 (checkstyle's own DTD, as Jenkins warnings-ng and reviewdog read
/// it): `<checkstyle>` holds `<file name>`s, each holds `<error>`s with the required
/// line, severity (error|warning|info|ignore) and message; column and source optional.
#[test]
fn checkstyle_report_has_the_schemas_structure() {
    let root = parse_xml(&render_broken(Format::Checkstyle));
    assert_eq!(root.name, "checkstyle");
    let mut errors = 0;
    for file in &root.children {
        assert_eq!(file.name, "file", "only <file> under <checkstyle>");
        assert!(!file.attr("name").is_empty());
        for e in &file.children {
            assert_eq!(e.name, "error", "only <error> under <file>");
            assert!(e.attr("line").parse::<u32>().unwrap() >= 1);
            assert!(e.attr("column").parse::<u32>().unwrap() >= 1);
            assert!(["error", "warning", "info", "ignore"].contains(&e.attr("severity")));
            assert!(!e.attr("message").is_empty());
            assert!(e.attr("source").starts_with("wpstack."));
            errors += 1;
        }
    }
    assert_eq!(errors, broken_count());
    // The S603 finding, with its file and place.
    let f = root
        .all("file")
        .into_iter()
        .find(|f| f.attr("name") == "var/www/shop.example.com/wp-config.php")
        .expect("wp-config file");
    let e = f.all("error")[0];
    assert_eq!((e.attr("line"), e.attr("source")), ("21", "wpstack.S603"));
}

/// JUnit XML as the Jenkins/GitLab parsers (and the common JUnit XSD) take it:
/// `<testsuites>` of `<testsuite name tests failures errors>` of `<testcase name
/// classname>` with at most one `<failure message type>`; the counts add up.
#[test]
fn junit_report_has_the_schemas_structure() {
    let root = parse_xml(&render_broken(Format::Junit));
    assert_eq!(root.name, "testsuites");
    let mut cases = 0;
    let mut failures = 0;
    for suite in &root.children {
        assert_eq!(suite.name, "testsuite");
        assert!(!suite.attr("name").is_empty());
        let tests: usize = suite.attr("tests").parse().unwrap();
        let failed: usize = suite.attr("failures").parse().unwrap();
        assert_eq!(suite.attr("errors"), "0");
        assert_eq!(suite.all("testcase").len(), tests);
        let mut failed_here = 0;
        for case in &suite.children {
            assert_eq!(case.name, "testcase");
            assert!(!case.attr("name").is_empty() && !case.attr("classname").is_empty());
            let f = case.all("failure");
            assert!(f.len() <= 1, "one failure per test case");
            if let Some(f) = f.first() {
                assert!(!f.attr("message").is_empty());
                assert!(["error", "warning", "info"].contains(&f.attr("type")));
                assert!(f.text.contains("wpstack explain"), "{}", f.text);
                failed_here += 1;
            }
        }
        assert_eq!(failed_here, failed);
        cases += tests;
        failures += failed;
    }
    assert_eq!(root.attr("tests").parse::<usize>().unwrap(), cases);
    assert_eq!(root.attr("failures").parse::<usize>().unwrap(), failures);
    assert_eq!(failures, broken_count());
}

/// GitLab Code Quality: the JSON schema of the fields GitLab reads (its docs' required
/// list) and unique fingerprints, which GitLab uses to tell new issues from fixed ones.
#[test]
fn gitlab_report_validates_against_code_quality_schema() {
    let v: serde_json::Value = serde_json::from_str(&render_broken(Format::Gitlab)).unwrap();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/schemas/gitlab-code-quality.json"),
    )
    .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), broken_count());
    let prints: std::collections::BTreeSet<&str> = list
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(prints.len(), list.len(), "fingerprints are unique");
}

/// SARIF: files outside the checked PATH (shown with an absolute path) are absolute
/// `file://` URIs, never `%SRCROOT%` + an absolute path.
#[test]
fn sarif_absolute_paths_are_file_uris() {
    let d = tempfile::tempdir().unwrap();
    let wp = d.path().join("my site/wp-config.php");
    std::fs::create_dir_all(wp.parent().unwrap()).unwrap();
    std::fs::write(
        &wp,
        "<?php\ndefine( 'AUTH_KEY', 'put your unique phrase here' );\n",
    )
    .unwrap();
    let stack = discover::load(&Inputs {
        wp_config: vec![wp.clone()],
        ..Default::default()
    })
    .expect("load");
    let findings = wpstack::engine::run(
        &stack,
        &Settings::default(),
        &host::resolve(&Default::default(), &Default::default(), false),
    );
    let summary = Summary::from_findings(&findings, stack.files.len());
    let out = report::render(
        Format::Sarif,
        &stack.sources,
        &findings,
        wpstack::rules::ALL,
        &summary,
        &RenderOptions::default(),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let locs: Vec<&serde_json::Value> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["locations"][0]["physicalLocation"]["artifactLocation"])
        .collect();
    assert!(!locs.is_empty(), "{out}");
    for l in locs {
        let uri = l["uri"].as_str().unwrap();
        if uri.starts_with("file://") {
            assert!(l.get("uriBaseId").is_none(), "{l}");
            assert!(uri.ends_with("/my%20site/wp-config.php"), "{uri}");
        } else {
            assert!(!uri.starts_with('/'), "absolute path under %SRCROOT%: {l}");
        }
    }
}
