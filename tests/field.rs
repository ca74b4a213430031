//! The field corpus judged (issue 12): every real host in `../shared/corpus/field/`,
//! laid out as the real host has it (links as links), checked as a user would
//! (`wpstack check --root DIR DIR`). Every finding has a verdict here, given as an
//! experienced WordPress sysadmin would: a finding judged false fails this test until
//! it is fixed; one judged true must keep being found; a finding nobody judged fails
//! too, so new rules and changes get looked at.

mod support;

use assert_cmd::Command;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    True,
    Debatable,
}

/// (stack, code, file as shown, verdict, why). One row may cover several findings of
/// one code in one file (one per site sharing an include, say).
const VERDICTS: &[(&str, &str, &str, Judged, &str)] = &[];

struct Run {
    files: u64,
    sites: u64,
    php_locations: u64,
    pools: u64,
    wp_configs: u64,
    /// (code, file, message)
    findings: Vec<(String, String, String)>,
}

fn run(stack: &std::path::Path) -> Run {
    let tree = support::field::materialize(stack);
    let root = tree.path();
    let out = Command::cargo_bin("wpstack")
        .unwrap()
        .args(["check", "--format", "json", "--exit-zero", "--root"])
        .arg(root)
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_string(),
                f["file"].as_str().unwrap_or("").to_string(),
                f["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let out = Command::cargo_bin("wpstack")
        .unwrap()
        .args(["dump", "--root"])
        .arg(root)
        .arg(root)
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &d["counts"];
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    Run {
        files: n("files"),
        sites: n("sites"),
        php_locations: n("php_locations"),
        pools: n("pools"),
        wp_configs: n("wp_configs"),
        findings,
    }
}

#[test]
fn field_stacks_give_no_finding_judged_false() {
    let corpus = corpus_or_skip!();
    let stacks = support::field::stacks(&corpus);
    assert!(
        !stacks.is_empty(),
        "no field stacks under {}",
        corpus.display()
    );
    let mut problems = Vec::new();
    let mut used = vec![false; VERDICTS.len()];
    println!(
        "field: {:<28} {:>5} {:>5} {:>4} {:>5} {:>4}  {:>4} {:>4} {:>4}  findings by code",
        "stack", "files", "sites", "php", "pools", "wp", "true", "deb", "false"
    );
    for stack in &stacks {
        let name = stack.file_name().unwrap().to_string_lossy().into_owned();
        let r = run(stack);
        let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut t, mut d, mut f) = (0, 0, 0);
        for (code, file, message) in &r.findings {
            *by_code.entry(code).or_default() += 1;
            let hit = VERDICTS
                .iter()
                .position(|(s, c, fl, _, _)| *s == name && c == code && fl == file);
            match hit {
                Some(i) => {
                    used[i] = true;
                    match VERDICTS[i].3 {
                        Judged::True => t += 1,
                        Judged::Debatable => d += 1,
                    }
                }
                None => {
                    f += 1;
                    problems.push(format!(
                        "{name}: {code} {file}: not judged true — {message}"
                    ));
                }
            }
        }
        if r.sites == 0 || r.pools == 0 || r.wp_configs == 0 {
            problems.push(format!(
                "{name}: {} sites, {} pools, {} wp-config.php linked — every stack has at least one of each",
                r.sites, r.pools, r.wp_configs
            ));
        }
        let codes: Vec<String> = by_code.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        println!(
            "field: {:<28} {:>5} {:>5} {:>4} {:>5} {:>4}  {:>4} {:>4} {:>4}  {}",
            name,
            r.files,
            r.sites,
            r.php_locations,
            r.pools,
            r.wp_configs,
            t,
            d,
            f,
            codes.join(" ")
        );
    }
    for (i, (s, c, fl, j, why)) in VERDICTS.iter().enumerate() {
        if !used[i] && *j == Judged::True {
            problems.push(format!(
                "{s}: {c} {fl} was judged true ({why}) and is no longer found"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "field corpus:\n  {}",
        problems.join("\n  ")
    );
}
