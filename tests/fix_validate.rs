//! Issue 8, parts 4–5: `check --fix` writes nothing that nginx -t / php-fpm -t reject,
//! nothing over a file it may not write, and for every fixable rule the fix makes the
//! rule stop firing without new errors, touches only the lines its edits name, and the
//! real programs accept the result.

#[path = "oracle_support/oracle.rs"]
mod oracle;
mod support;

use assert_cmd::Command;
use oracle::oracle;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::{fixtures, walk};
use wpstack::rules::{self, doc, Fixable};

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("bin");
    c.env("NO_COLOR", "1");
    c
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).expect("read");
            (p, b)
        })
        .collect()
}

fn broken_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    support::copy_tree(&fixtures().join("stacks/broken"), d.path());
    d
}

#[test]
fn a_read_only_file_is_refused_with_a_clear_message_and_left_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "setpriv not found, and CI is set"
        );
        println!("skipped: setpriv not found");
        return;
    };
    let d = tempfile::tempdir().expect("tempdir");
    let tree = d.path().join("stack");
    std::fs::create_dir(&tree).expect("mkdir");
    support::copy_tree(&fixtures().join("stacks/broken"), &tree);
    // nobody must reach the binary and the tree, and may write none of it.
    let bin = d.path().join("wpstack");
    std::fs::copy(assert_cmd::cargo::cargo_bin("wpstack"), &bin).expect("copy bin");
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    mode(d.path(), 0o755);
    mode(&bin, 0o755);
    for p in walk(&tree) {
        mode(&p, 0o444);
    }
    let mut dirs = vec![tree.clone()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("dir").flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
        mode(&dir, 0o555);
    }
    let before = snapshot(&tree);
    // As root, as nobody; as any other user, as that user (whom 0555/0444 bind too).
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut c = std::process::Command::new(&setpriv);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let out = cmd
        .args(["check", "--fix", "--no-validate", "--exit-zero"])
        .arg(&tree)
        .env("NO_COLOR", "1")
        .current_dir(d.path())
        .output()
        .expect("setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    // Give the temp dir back to root's cleanup.
    for p in std::iter::once(tree.clone()).chain(walk(&tree)) {
        mode(&p, 0o755);
    }
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("the file is untouched"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(snapshot(&tree) == before, "a read-only file changed");
}

/// A stand-in nginx that rejects the fixed copy only (it recognises the fastcgi_pass
/// U001's fix writes into blog.example.com.conf), as a real nginx rejects a bad fix.
fn fake_nginx(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    // As root, validation runs the program as an unprivileged uid: it must reach it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let p = dir.join("fake-nginx");
    std::fs::write(
        &p,
        r#"#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = "-c" ] && conf="$2"; shift; done
site="$(dirname "$conf")/sites-enabled/blog.example.com.conf"
if grep -q 'php8.2-fpm.sock' "$site"; then
  echo "nginx: [emerg] invented rejection of the fixed copy in $site:16" >&2
  echo "nginx: configuration file $conf test failed" >&2
  exit 1
fi
echo "nginx: configuration file $conf test is successful" >&2
exit 0
"#,
    )
    .expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

#[test]
fn an_nginx_rejection_writes_nothing_and_shows_nginx_s_message() {
    let d = broken_copy();
    let bin_dir = tempfile::tempdir().expect("tempdir");
    let fake = fake_nginx(bin_dir.path());
    let before = snapshot(d.path());
    let out = wpstack()
        .args(["check", "--fix", "--nginx-bin"])
        .arg(&fake)
        .arg("--fpm-bin")
        .arg("/bin/true")
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fake-nginx -t rejects the fixed etc/nginx/nginx.conf"),
        "{err}"
    );
    // nginx's own words, with the real path (not the sandbox's).
    let real = d
        .path()
        .join("etc/nginx/sites-enabled/blog.example.com.conf");
    assert!(
        err.contains(&format!(
            "nginx: [emerg] invented rejection of the fixed copy in {}:16",
            real.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("wpstack-validate"),
        "sandbox path leaked: {err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert!(
        snapshot(d.path()) == before,
        "files changed after a rejection"
    );
}

#[test]
fn a_program_that_fails_before_and_after_alike_is_inconclusive_and_the_fix_is_written() {
    let d = broken_copy();
    let out = wpstack()
        .args(["check", "--fix", "--exit-zero", "--nginx-bin", "/bin/false"])
        .args(["--fpm-bin", "/bin/true"])
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("validation inconclusive: false -t fails"),
        "{err}"
    );
    assert!(err.contains("validation: true -t accepts"), "{err}");
    assert!(err.contains("fixed etc/nginx/sites-enabled/blog.example.com.conf"));
}

#[test]
fn without_the_programs_validation_says_it_was_skipped() {
    let d = broken_copy();
    let out = wpstack()
        .args(["check", "--fix", "--exit-zero"])
        .env("PATH", "/nonexistent")
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    // /usr/sbin is searched too: skipped only where the programs are not installed.
    if !Path::new("/usr/sbin/nginx").exists() {
        assert!(
            err.contains("validation skipped: nginx not found on PATH (give --nginx-bin)"),
            "{err}"
        );
    }
    let d = broken_copy();
    let out = wpstack()
        .args(["check", "--fix", "--exit-zero", "--no-validate"])
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped (--no-validate)"), "{err}");
    // A program named on the command line that is not there is a usage error.
    let d = broken_copy();
    let before = snapshot(d.path());
    let out = wpstack()
        .args(["check", "--fix", "--nginx-bin", "/nonexistent/nginx"])
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--nginx-bin /nonexistent/nginx: no such file"),
        "{err}"
    );
    assert!(snapshot(d.path()) == before);
}

#[test]
fn the_real_programs_validate_the_fixed_broken_stack() {
    let (Some(nginx), Some(fpm)) = (oracle("nginx"), oracle("php-fpm8.2")) else {
        return;
    };
    let d = broken_copy();
    let out = wpstack()
        .args(["check", "--fix", "--exit-zero", "--nginx-bin"])
        .arg(&nginx)
        .arg("--fpm-bin")
        .arg(&fpm)
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("validation: nginx -t accepts the fixed etc/nginx/nginx.conf"),
        "{err}"
    );
    // The fixture's pool `shop` runs as user `shop`, which this machine does not have:
    // php-fpm -t fails on the original exactly as on the fixed copy.
    assert!(
        err.contains("validation: php-fpm8.2 -t accepts")
            || err.contains("validation inconclusive: php-fpm8.2 -t fails")
                && err.contains("cannot get uid for user 'shop'"),
        "{err}"
    );
    // tune --apply goes through the same commit.
    let out = wpstack()
        .args([
            "tune",
            "--apply",
            "--ram",
            "8G",
            "--cpus",
            "4",
            "--nginx-bin",
        ])
        .arg(&nginx)
        .arg("--fpm-bin")
        .arg(&fpm)
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    if err.contains("tuned ") {
        assert!(err.contains("php-fpm8.2 -t"), "{err}");
    }
}

#[test]
fn a_change_the_real_nginx_rejects_is_refused_and_nothing_is_written() {
    use wpstack::fix::{run, validate};
    let Some(nginx) = oracle("nginx") else {
        return;
    };
    let d = broken_copy();
    let conf = d.path().join("etc/nginx/nginx.conf");
    let old = std::fs::read(&conf).expect("read");
    // Our parser takes any word; nginx wants a number here.
    let new = String::from_utf8_lossy(&old)
        .replace("worker_connections 768;", "worker_connections 768x;")
        .into_bytes();
    assert_ne!(old, new);
    let stack = wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
        paths: vec![d.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let mut changes = BTreeMap::new();
    changes.insert(
        conf.clone(),
        ("etc/nginx/nginx.conf".to_string(), old.clone(), new),
    );
    // A private temp dir: the sandboxes must be gone afterwards.
    let before = snapshot(d.path());
    let opts = run::CommitOptions {
        backup: true,
        validate: Some(validate::Options {
            nginx_bin: Some(nginx),
            fpm_bin: Some(PathBuf::from("/bin/true")),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = run::commit(&stack, &changes, &opts, &run::RealIo).expect_err("rejected");
    assert!(
        err.contains("nginx -t rejects the fixed etc/nginx/nginx.conf (the original passes)"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "nginx: [emerg] invalid number \"768x\" in {}:8",
            conf.display()
        )),
        "{err}"
    );
    assert!(err.ends_with("nothing was written"), "{err}");
    assert!(
        snapshot(d.path()) == before,
        "files changed after a rejection"
    );
}

#[test]
fn a_copy_without_nginx_s_stock_files_is_validated_with_this_machine_s() {
    use wpstack::fix::validate::{self, Verdict};
    let Some(nginx) = oracle("nginx") else {
        return;
    };
    if !Path::new("/etc/nginx/mime.types").is_file() {
        println!("skipped: no /etc/nginx/mime.types here");
        return;
    }
    let d = support::write_tree(&[(
        "nginx.conf",
        "events {}\nhttp {\n    include mime.types;\n    server {\n        listen 8080;\n    }\n}\n",
    )]);
    let conf = d.path().join("nginx.conf");
    let stack = wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
        paths: vec![d.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let old = std::fs::read(&conf).expect("read");
    let new = String::from_utf8_lossy(&old)
        .replace(
            "listen 8080;",
            "listen 8080;\n        client_max_body_size 64m;",
        )
        .into_bytes();
    let mut changes = BTreeMap::new();
    changes.insert(conf, ("nginx.conf".to_string(), old, new));
    let v = validate::validate(
        &stack,
        &changes,
        &validate::Options {
            nginx_bin: Some(nginx),
            fpm_bin: None,
            ..Default::default()
        },
    );
    assert_eq!(v.checks.len(), 1, "{v:?}");
    assert_eq!(v.checks[0].verdict, Verdict::Passed, "{v:?}");
}

#[test]
fn validation_leaves_nothing_behind_in_the_temp_dir() {
    let (Some(nginx), Some(fpm)) = (oracle("nginx"), oracle("php-fpm8.2")) else {
        return;
    };
    let d = broken_copy();
    let tmp = tempfile::tempdir().expect("tempdir");
    // Reachable by the unprivileged uid validation runs as under root (else the
    // sandboxes would go to /tmp instead of here).
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let out = wpstack()
        .args(["check", "--fix", "--exit-zero", "--nginx-bin"])
        .arg(&nginx)
        .arg("--fpm-bin")
        .arg(&fpm)
        .arg(d.path())
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("validation: nginx -t accepts"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "sandboxes left behind: {left:?}");
}

// ---- every fixable rule -------------------------------------------------------------

#[derive(Debug)]
struct Found {
    code: String,
    severity: String,
    /// (file, start, end) of each edit of its fix.
    edits: Vec<(String, usize, usize)>,
}

fn check_json(dir: &Path) -> Vec<Found> {
    let out = wpstack()
        .args(["check", "--format", "json", "--exit-zero"])
        .arg(dir)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| Found {
            code: f["code"].as_str().unwrap_or("").to_string(),
            severity: f["severity"].as_str().unwrap_or("").to_string(),
            edits: f["fix"]["edits"]
                .as_array()
                .map(|es| {
                    es.iter()
                        .map(|e| {
                            (
                                e["file"].as_str().unwrap_or("").to_string(),
                                e["start"].as_u64().unwrap_or(0) as usize,
                                e["end"].as_u64().unwrap_or(0) as usize,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Line index (0-based) of each line start.
fn line_starts(b: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            b.iter()
                .enumerate()
                .filter(|(_, c)| **c == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|i| *i < b.len() || *i == 0)
        .collect()
}

/// The old lines of `old` that differ in `new` (deleted or replaced), and the old line
/// indices before which lines were inserted.
fn changed_lines(old: &[u8], new: &[u8]) -> (BTreeSet<usize>, BTreeSet<usize>) {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut deleted = BTreeSet::new();
    let mut inserted_at = BTreeSet::new();
    for op in diff.ops() {
        match *op {
            similar::DiffOp::Equal { .. } => {}
            similar::DiffOp::Delete {
                old_index, old_len, ..
            } => deleted.extend(old_index..old_index + old_len),
            similar::DiffOp::Insert { old_index, .. } => {
                inserted_at.insert(old_index);
            }
            similar::DiffOp::Replace {
                old_index, old_len, ..
            } => deleted.extend(old_index..old_index + old_len),
        }
    }
    (deleted, inserted_at)
}

#[test]
fn every_fixable_rule_fixes_without_new_errors_touching_only_its_lines_and_validates() {
    let nginx = oracle("nginx");
    let fpm = oracle("php-fpm8.2");
    let mut fixed = 0;
    let mut by_nginx = 0;
    let mut by_fpm = 0;
    let mut needing = 0;
    let mut inconclusive = 0;
    let mut failures = Vec::new();
    let fixable = rules::ALL
        .iter()
        .filter(|r| r.fixable != Fixable::No)
        .count();
    for rule in rules::ALL.iter().filter(|r| r.fixable != Fixable::No) {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in doc::example_files(rule.doc, "Bad") {
            let p = dir.path().join(&f.path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, &f.content).expect("write");
        }
        let before = check_json(dir.path());
        let mine: Vec<&Found> = before.iter().filter(|f| f.code == rule.code).collect();
        if mine.is_empty() {
            failures.push(format!("{}: its Bad example does not fire it", rule.code));
            continue;
        }
        let edits: Vec<(String, usize, usize)> =
            mine.iter().flat_map(|f| f.edits.iter().cloned()).collect();
        if edits.is_empty() {
            // `fix*`: this example is one of the cases the rule cannot fix.
            println!("{}: no fix offered for its Bad example (fix*)", rule.code);
            continue;
        }
        let old = snapshot(dir.path());
        let mut cmd = wpstack();
        cmd.args([
            "check",
            "--fix",
            "--unsafe-fixes",
            "--exit-zero",
            "--no-backup",
        ])
        .args(["--select", rule.code]);
        if let Some(n) = &nginx {
            cmd.arg("--nginx-bin").arg(n);
        }
        if let Some(f) = &fpm {
            cmd.arg("--fpm-bin").arg(f);
        }
        let out = cmd.arg(dir.path()).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(0) {
            failures.push(format!("{}: check --fix failed:\n{err}", rule.code));
            continue;
        }
        let after = check_json(dir.path());
        if after.iter().any(|f| f.code == rule.code) {
            failures.push(format!("{}: still fires after its fix", rule.code));
        }
        let errors_before: BTreeSet<&str> = before
            .iter()
            .filter(|f| f.severity == "error")
            .map(|f| f.code.as_str())
            .collect();
        let new_errors: Vec<&str> = after
            .iter()
            .filter(|f| f.severity == "error" && !errors_before.contains(f.code.as_str()))
            .map(|f| f.code.as_str())
            .collect();
        if !new_errors.is_empty() {
            failures.push(format!(
                "{}: its fix brings new errors {new_errors:?}",
                rule.code
            ));
        }
        // Every changed line is a line the fix's edits name.
        let new = snapshot(dir.path());
        for (path, old_bytes) in &old {
            let new_bytes = new.get(path).cloned().unwrap_or_default();
            if *old_bytes == new_bytes {
                continue;
            }
            let shown = path
                .strip_prefix(dir.path())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let starts = line_starts(old_bytes);
            let line_of = |off: usize| starts.partition_point(|s| *s <= off).saturating_sub(1);
            let mut touched = BTreeSet::new();
            for (_, s, e) in edits.iter().filter(|(f, _, _)| *f == shown) {
                let (a, b) = (line_of(*s), line_of(e.saturating_sub(1).max(*s)));
                touched.extend(a..=b);
                // An insertion at a line start goes before that line.
                touched.insert(line_of(*s) + usize::from(*s == old_bytes.len()));
            }
            let (deleted, inserted_at) = changed_lines(old_bytes, &new_bytes);
            let stray: Vec<usize> = deleted
                .iter()
                .copied()
                .filter(|l| !touched.contains(l))
                .chain(
                    inserted_at
                        .iter()
                        .copied()
                        .filter(|l| !(touched.contains(l) || *l > 0 && touched.contains(&(l - 1)))),
                )
                .collect();
            if !stray.is_empty() {
                failures.push(format!(
                    "{}: {shown}: lines {:?} changed outside the fix's edits (lines {:?})",
                    rule.code,
                    stray.iter().map(|l| l + 1).collect::<Vec<_>>(),
                    touched.iter().map(|l| l + 1).collect::<Vec<_>>()
                ));
            }
        }
        if old == new {
            failures.push(format!("{}: --fix changed nothing", rule.code));
            continue;
        }
        if err.contains(" rejects ") {
            failures.push(format!(
                "{}: validation rejected its fix:\n{err}",
                rule.code
            ));
            continue;
        }
        let verdict = |prog: &str| -> &str {
            if err.contains(&format!("validation: {prog} -t accepts")) {
                "passed"
            } else if err.contains(&format!("validation inconclusive: {prog} -t")) {
                "inconclusive"
            } else {
                "not needed"
            }
        };
        let (vn, vf) = (verdict("nginx"), verdict("php-fpm8.2"));
        // The programs run for the instances whose files the fix changed.
        let changed = |ends: &[&str]| {
            old.iter().any(|(p, b)| {
                new.get(p) != Some(b) && ends.iter().any(|e| p.to_string_lossy().ends_with(e))
            })
        };
        let nginx_changed = changed(&["nginx.conf"]);
        let fpm_changed = changed(&["php-fpm.conf", ".ini", "pool.d/legacy.conf"]);
        if nginx.is_some() && nginx_changed && vn == "not needed"
            || fpm.is_some() && fpm_changed && vf == "not needed"
            || !nginx_changed && vn != "not needed"
            || !fpm_changed && vf != "not needed"
        {
            failures.push(format!(
                "{}: validation did not run for exactly the programs whose files changed (nginx {nginx_changed}, php-fpm {fpm_changed}):\n{err}",
                rule.code
            ));
        }
        if vn == "not needed" && vf == "not needed" {
            // A wp-config.php fix is checked by php -l instead.
            assert!(
                err.contains("nothing for nginx -t / php-fpm -t to test")
                    || err.contains("validation: php -l accepts the fixed")
                    || err.contains("validation: my_print_defaults --mysqld accepts the fixed")
                    || err.contains("validation skipped: php (the CLI) not found"),
                "{err}"
            );
            println!(
                "{}: its fix changes no nginx or php-fpm file: nothing for them to validate",
                rule.code
            );
            fixed += 1;
            continue;
        }
        needing += 1;
        inconclusive += usize::from(vn == "inconclusive" || vf == "inconclusive");
        by_nginx += usize::from(vn == "passed");
        by_fpm += usize::from(vf == "passed");
        if vn == "inconclusive" || vf == "inconclusive" {
            let why: Vec<&str> = err
                .lines()
                .filter(|l| l.starts_with("  "))
                .take(3)
                .collect();
            println!(
                "{}: nginx -t {vn}, php-fpm -t {vf}: {}",
                rule.code,
                why.join(" | ")
            );
        } else {
            println!("{}: nginx -t {vn}, php-fpm -t {vf}", rule.code);
        }
        fixed += 1;
    }
    println!(
        "fixable rules: {fixed} of {fixable} fixed, validated by nginx -t: {by_nginx}, php-fpm -t: {by_fpm} ({needing} fixes change nginx/php-fpm/php.ini files; inconclusive: {inconclusive})"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The files nginx reads for TLS (`ssl_certificate`…) are copied into the validation
/// sandbox from the checked tree, resolved inside it: a tenant's link to a file of this
/// machine is not followed (its contents would be copied where the unprivileged
/// validation programs read them).
#[test]
fn validation_copies_tls_files_from_the_tree_never_through_a_link_out_of_it() {
    use std::os::unix::fs::PermissionsExt;
    let outside = tempfile::tempdir().expect("tempdir");
    let host_file = outside.path().join("host.pem");
    std::fs::write(&host_file, "HOST-SECRET-PEM").expect("write");
    let bin_dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    // Says what the sandboxed ssl_certificate holds, and rejects the fixed copy so that
    // its words are shown.
    let fake = bin_dir.path().join("fake-nginx");
    std::fs::write(
        &fake,
        r#"#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = "-c" ] && conf="$2"; shift; done
dir="$(dirname "$conf")"
cert="$(grep -ho 'ssl_certificate [^;]*' "$dir"/conf.d/*.conf | head -n 1 | cut -d' ' -f2)"
site="$dir/sites-enabled/blog.example.com.conf"
if grep -q 'php8.2-fpm.sock' "$site"; then
  echo "nginx: [emerg] cert holds [$(cat "$cert" 2>/dev/null)] in $site:16" >&2
  exit 1
fi
exit 0
"#,
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = |tree: &Path| {
        let out = wpstack()
            .args(["check", "--fix", "--nginx-bin"])
            .arg(&fake)
            .arg("--fpm-bin")
            .arg("/bin/true")
            .arg(tree)
            .output()
            .expect("run");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let with_cert = |make: &dyn Fn(&Path)| {
        let d = broken_copy();
        std::fs::write(
            d.path().join("etc/nginx/conf.d/tls.conf"),
            "ssl_certificate /etc/nginx/ssl/blog.pem;\n",
        )
        .expect("write");
        std::fs::create_dir_all(d.path().join("etc/nginx/ssl")).expect("mkdir");
        make(&d.path().join("etc/nginx/ssl/blog.pem"));
        run(d.path())
    };
    // The tree's own file is copied (the fake nginx shows it).
    let err = with_cert(&|p| std::fs::write(p, "IN-COPY-PEM").expect("write"));
    assert!(err.contains("cert holds [IN-COPY-PEM]"), "{err}");
    // A link to this machine's file is not followed.
    let err = with_cert(&|p| std::os::unix::fs::symlink(&host_file, p).expect("symlink"));
    assert!(
        err.contains("cert holds ["),
        "the fake nginx did not run: {err}"
    );
    assert!(
        !err.contains("HOST-SECRET-PEM"),
        "a file of this machine was copied: {err}"
    );
}
