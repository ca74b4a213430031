//! `check --diff` and `check --fix`: a reviewable patch that git and patch accept,
//! atomic writes with backups, idempotence, and the real programs still accepting the
//! fixed files.

mod support;

use assert_cmd::Command;
use std::path::Path;
use support::{fixtures, walk};

fn broken_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    support::copy_tree(&fixtures().join("stacks/broken"), d.path());
    d
}

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("bin");
    c.env("NO_COLOR", "1");
    c
}

fn findings(dir: &Path) -> Vec<String> {
    let out = wpstack()
        .args(["check", "--format", "json"])
        .arg(dir)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["code"].as_str().unwrap_or(""),
                f["file"].as_str().unwrap_or(""),
                f["line"]
            )
        })
        .collect()
}

#[test]
fn diff_is_a_patch_git_and_patch_accept_and_changes_nothing() {
    let d = broken_copy();
    let before = std::fs::read(d.path().join("etc/nginx/nginx.conf")).expect("read");
    let out = wpstack()
        .args(["check", "--diff"])
        .arg(d.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "a non-empty diff exits 1");
    let patch = out.stdout;
    let text = String::from_utf8_lossy(&patch);
    assert!(
        text.contains("--- a/etc/nginx/sites-enabled/blog.example.com.conf"),
        "{text}"
    );
    assert!(
        text.contains("+\t\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;"),
        "{text}"
    );
    assert!(!text.contains("correct-horse-battery-staple"));
    // The golden diff: reviewed once, then any change to a fix shows up here.
    insta::assert_snapshot!("broken_diff", text);
    assert_eq!(
        std::fs::read(d.path().join("etc/nginx/nginx.conf")).expect("read"),
        before
    );
    support::assert_patch_applies(d.path(), &patch);
}

#[test]
fn fix_writes_backups_is_idempotent_and_leaves_other_bytes() {
    let d = broken_copy();
    let before = findings(d.path());
    let blog = d
        .path()
        .join("etc/nginx/sites-enabled/blog.example.com.conf");
    let original = std::fs::read_to_string(&blog).expect("read");
    wpstack()
        .args(["check", "--fix", "--exit-zero"])
        .arg(d.path())
        .assert()
        .success();
    let after = findings(d.path());
    assert!(
        after.len() < before.len(),
        "before {before:?}\nafter {after:?}"
    );
    for code in [
        "U001", "U002", "T101", "T102", "T103", "P401", "P402", "S601", "S602", "D501", "D502",
        "D503", "S604", "S606", "M303", "C204",
    ] {
        assert!(
            !after.iter().any(|f| f.starts_with(code)),
            "{code} still fires after --fix: {after:?}"
        );
    }
    // Backups hold the original bytes; lines not involved are unchanged.
    let bak = blog.with_file_name(".blog.example.com.conf.wpstack.bak");
    assert_eq!(std::fs::read_to_string(bak).expect("bak"), original);
    let fixed = std::fs::read_to_string(&blog).expect("read");
    assert!(fixed.contains("# blog.example.com — the company blog, still on the default pool\n"));
    assert!(fixed.contains("\t\tinclude snippets/fastcgi-php.conf;\n"));
    // A second --fix changes nothing.
    let snapshot = |d: &Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut v: Vec<_> = walk(d)
            .into_iter()
            .map(|p| (p.clone(), std::fs::read(&p).expect("read")))
            .collect();
        v.sort();
        v
    };
    let first = snapshot(d.path());
    wpstack()
        .args(["check", "--fix", "--exit-zero"])
        .arg(d.path())
        .assert()
        .success();
    assert!(first == snapshot(d.path()), "second --fix changed files");
    // What --diff still shows is the unsafe fix (C201: it rests on estimated worker memory).
    let out = wpstack()
        .args(["check", "--diff"])
        .arg(d.path())
        .output()
        .expect("run");
    let rest = String::from_utf8_lossy(&out.stdout);
    assert!(rest.contains("-pm.max_children = 60"), "{rest}");
    let changed: Vec<&str> = rest
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    assert!(
        changed.iter().all(|l| l.starts_with("-pm.max_children")
            || l.starts_with("-define( 'DB_HOST'")
            || l.starts_with("-pm.start_servers")
            || l.starts_with("-pm.max_spare_servers")),
        "{rest}"
    );
}

#[test]
fn fixed_stack_is_accepted_by_nginx_and_php_fpm() {
    if !support::have_program("nginx") || !support::have_program("php-fpm8.2") {
        return;
    }
    let d = broken_copy();
    wpstack()
        .args(["check", "--fix", "--no-backup", "--exit-zero"])
        .arg(d.path())
        .assert()
        .success();
    let etc = d.path().join("etc/nginx");
    // Point the absolute paths of the copy into it, as the corpus differential does —
    // logs, pid and nginx's compiled-in temp directories too: the test writes nothing
    // outside its temp dir (/var/log, /run, /var/lib/nginx stay untouched).
    let var = d.path().join("var");
    for sub in ["log/nginx", "lib/nginx", "run/php"] {
        std::fs::create_dir_all(var.join(sub)).expect("mkdir");
    }
    let temp: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|t| format!("\n\t{t}_temp_path {}/lib/nginx/{t};", var.display()))
        .collect();
    for f in walk(&etc) {
        let s = std::fs::read_to_string(&f).expect("read");
        std::fs::write(
            &f,
            s.replace("/etc/nginx/", &format!("{}/", etc.display()))
                .replace("/var/log/", &format!("{}/log/", var.display()))
                .replace("/var/lib/nginx/", &format!("{}/lib/nginx/", var.display()))
                .replace("pid /run/nginx.pid;", "")
                .replace("http {", &format!("http {{{temp}")),
        )
        .expect("write");
    }
    std::fs::create_dir_all(etc.join("logs")).expect("logs");
    let out = std::process::Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(&etc)
        .arg("-c")
        .arg(etc.join("nginx.conf"))
        .arg("-g")
        .arg(format!(
            "pid {}/nginx.pid; error_log stderr;",
            etc.display()
        ))
        .output()
        .expect("nginx");
    let err = String::from_utf8_lossy(&out.stderr);
    // nginx -t binds the ports it listens on: port 80 is root's alone.
    let root = rustix::process::geteuid().is_root();
    assert!(
        out.status.success()
            || !root
                && err.contains("syntax is ok")
                && err.contains("bind() to")
                && err.contains("(13: Permission denied)"),
        "nginx -t: {err}"
    );
    let fpm = d.path().join("etc/php/8.2/fpm");
    for f in walk(&fpm) {
        let s = std::fs::read_to_string(&f).expect("read");
        // This machine has no `shop` user: php-fpm -t (as root) would refuse it.
        let s = s
            .replace("/etc/php/8.2/fpm/", &format!("{}/", fpm.display()))
            .replace("/var/log/", &format!("{}/log/", var.display()))
            .replace("/run/", &format!("{}/run/", var.display()))
            .replace("= shop\n", "= www-data\n");
        std::fs::write(&f, s).expect("write");
    }
    let out = std::process::Command::new("php-fpm8.2")
        .args(["-t", "-n", "-R", "-y"])
        .arg(fpm.join("php-fpm.conf"))
        .arg("-p")
        .arg(d.path())
        .output()
        .expect("php-fpm");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "php-fpm -t: {err}");
}
