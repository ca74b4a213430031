//! Issue 13 item 3: a fix never breaks PHP. Differential mutation test: valid wp-config
//! variants (fixtures and the corpus's, each mutated in ways PHP accepts: `;` on its own
//! line, comments between a call and its `;`, the "stop editing" comment inside a
//! statement, `?>` with or without HTML after it, no final newline, CRLF…) go through
//! `check --fix --unsafe-fixes`; `php -l` must still accept every result. And `--fix`
//! itself runs `php -l`: a fixed wp-config that fails while the original passes is
//! refused with exit 2.

mod support;

use assert_cmd::Command;
use proptest::prelude::*;
use std::path::PathBuf;

fn php() -> Option<PathBuf> {
    if !support::have_program("php") {
        return None;
    }
    Some(PathBuf::from("php"))
}

fn lint(bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut child = std::process::Command::new("php")
        .args(["-n", "-l"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("php");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr))
    }
}

fn bases() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for site in ["blog.example.com", "shop.example.com"] {
        let p = support::fixtures().join(format!("stacks/broken/var/www/{site}/wp-config.php"));
        v.push((p.display().to_string(), std::fs::read(&p).expect("fixture")));
    }
    if let Some(c) = support::corpus_dir() {
        for p in support::walk(&c) {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with("wp-config") && n.ends_with(".php")) {
                if let Ok(b) = std::fs::read(&p) {
                    v.push((p.display().to_string(), b));
                }
            }
        }
    } else {
        println!("skipped: ../shared/corpus not found (fixtures only)");
    }
    v
}

/// The mutations: each keeps PHP valid (checked: an invalid one is not used).
fn mutate(src: &str, which: u8, pick: usize) -> String {
    let defines: Vec<usize> = src.match_indices(");").map(|(i, _)| i).collect();
    let at = defines.get(pick % defines.len().max(1)).copied();
    match which % 10 {
        // `)\n;`
        0 => at.map_or(src.into(), |i| {
            format!("{})\n;{}", &src[..i], &src[i + 2..])
        }),
        // the stop-editing comment between a call and its `;`
        1 => {
            let s = src.replace("/* That's all, stop editing! Happy publishing. */", "");
            let s = s.replace("/* That's all, stop editing! Happy blogging. */", "");
            let defines: Vec<usize> = s.match_indices(");").map(|(i, _)| i).collect();
            match defines.get(pick % defines.len().max(1)) {
                Some(&i) => format!(
                    "{})\n/* That's all, stop editing! Happy publishing. */\n;{}",
                    &s[..i],
                    &s[i + 2..]
                ),
                None => s,
            }
        }
        // a comment between `)` and `;`
        2 => at.map_or(src.into(), |i| {
            format!("{}) /* x */ // y\n;{}", &src[..i], &src[i + 2..])
        }),
        // `?>` at the end, then HTML
        3 => format!("{}\n?>\n<!-- end -->\n", src.trim_end()),
        // `?>` at the end, the last statement without `;`
        4 => {
            let t = src.trim_end();
            match t.strip_suffix(';') {
                Some(u) => format!("{u} ?>"),
                None => format!("{t}\n?>"),
            }
        }
        // no final newline
        5 => src.trim_end().to_string(),
        // CRLF
        6 => src.replace("\r\n", "\n").replace('\n', "\r\n"),
        // no stop-editing comment at all
        7 => src
            .lines()
            .filter(|l| !l.to_lowercase().contains("stop editing"))
            .collect::<Vec<_>>()
            .join("\n"),
        // everything after the stop comment on the same line as a statement
        8 => src.replace(
            "/* That's all, stop editing! Happy publishing. */",
            "$x = 1; /* That's all, stop editing! Happy publishing. */ $y = 2;",
        ),
        // a define split over lines
        _ => src.replacen(
            "define( 'WP_DEBUG', true );",
            "define(\n\t'WP_DEBUG',\n\ttrue\n)\n;",
            1,
        ),
    }
}

fn fix(bytes: &[u8]) -> (Vec<u8>, String) {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().join("wp-config.php");
    std::fs::write(&p, bytes).expect("write");
    let out = Command::cargo_bin("wpstack")
        .expect("bin")
        .args([
            "check",
            "--fix",
            "--unsafe-fixes",
            "--no-backup",
            "--exit-zero",
            "--no-validate",
            "--wp-config",
        ])
        .arg(&p)
        .output()
        .expect("run");
    (
        std::fs::read(&p).expect("read"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn a_fixed_wp_config_still_passes_php_lint(base in 0usize..1000, which in 0u8..10, pick in 0usize..50) {
        if php().is_none() {
            return Ok(());
        }
        let all = bases();
        let (name, bytes) = &all[base % all.len()];
        let src = String::from_utf8_lossy(bytes).into_owned();
        let mutated = mutate(&src, which, pick);
        if lint(mutated.as_bytes()).is_err() {
            return Ok(()); // not valid PHP to begin with: not this test's input
        }
        let (fixed, err) = fix(mutated.as_bytes());
        if let Err(e) = lint(&fixed) {
            prop_assert!(false, "{name}, mutation {which}/{pick}: php -l fails after --fix:\n{e}\n{err}\n--- input ---\n{mutated}\n--- fixed ---\n{}", String::from_utf8_lossy(&fixed));
        }
    }
}

/// The case, exactly.
#[test]
fn a_define_whose_semicolon_is_on_the_next_line_gets_the_insertion_after_it() {
    if php().is_none() {
        return;
    }
    let src = "<?php\ndefine( 'WP_DEBUG', true )\n/* That's all, stop editing! Happy publishing. */\n;\nrequire_once ABSPATH . 'wp-settings.php';\n";
    lint(src.as_bytes()).expect("valid input");
    let (fixed, err) = fix(src.as_bytes());
    let fixed = String::from_utf8_lossy(&fixed);
    println!("{fixed}");
    lint(fixed.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{err}\n{fixed}"));
    assert!(fixed.contains("define( 'WP_DEBUG', false )"), "{fixed}");
}

/// `--fix` runs `php -l` on the edited wp-config.php: a result PHP rejects (here a
/// stand-in php that rejects `'WP_DEBUG', false`) is refused with
/// exit 2 and the file is left as it was.
#[test]
fn fix_refuses_a_wp_config_that_php_lint_rejects() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().expect("tempdir");
    // As root, validation runs programs as an unprivileged uid: it must reach the stand-in.
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let fake = d.path().join("php");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif grep -q \"'WP_DEBUG', false\"; then echo 'PHP Parse error:  syntax error, unexpected token \";\" in Standard input code on line 9'; exit 255; fi\necho 'No syntax errors detected in Standard input code'\n",
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let p = d.path().join("wp-config.php");
    let src = "<?php\ndefine( 'WP_DEBUG', true );\n/* That's all, stop editing! */\nrequire_once ABSPATH . 'wp-settings.php';\n";
    std::fs::write(&p, src).expect("write");
    let out = Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["check", "--fix", "--no-backup", "--php-bin"])
        .arg(&fake)
        .arg("--wp-config")
        .arg(&p)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("php -l rejects the fixed"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(std::fs::read_to_string(&p).expect("read"), src);
    // And a real php accepts what wpstack writes.
    if php().is_some() {
        let out = Command::cargo_bin("wpstack")
            .expect("bin")
            .args(["check", "--fix", "--no-backup", "--wp-config"])
            .arg(&p)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("validation: php -l accepts the fixed"),
            "{err}"
        );
        lint(&std::fs::read(&p).expect("read")).expect("valid");
    }
}
