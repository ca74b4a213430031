//! `--nginx-dump` and `--fpm-dump` (issue 14 item 5), fed with real dumps: `nginx -T`
//! and `php-fpm8.2 -tt` run on the demo stack copied to a temp prefix. Linting the dump
//! gives the same findings, at the same original paths and lines, as linting the tree
//! the programs read.

mod support;

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::Path;
use support::{copy_tree, fixtures, have_program};

/// (code, path without its leading `/`, line) of each finding of a JSON report.
fn findings(json: &[u8]) -> BTreeSet<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_slice(json).expect("json report");
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                f["file"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn wpstack(args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("bin");
    c.args(["check", "--format", "json", "--exit-zero"])
        .args(args);
    c
}

/// The broken demo's nginx tree copied under `t`, its absolute paths (includes, logs,
/// pid) pointed into the copy and nginx's temp paths set there, every line kept where
/// it was (so findings keep their lines). Returns the main file.
fn nginx_copy(t: &Path) -> std::path::PathBuf {
    let etc = t.join("etc/nginx");
    std::fs::create_dir_all(&etc).expect("mkdir");
    std::fs::create_dir_all(t.join("log")).expect("mkdir");
    std::fs::create_dir_all(t.join("lib")).expect("mkdir");
    copy_tree(&fixtures().join("stacks/broken/etc/nginx"), &etc);
    // The planted E007 (`gzip_typs`) makes nginx refuse the tree, and a refused tree
    // gives no `nginx -T` dump: the dump is of the rest.
    std::fs::remove_file(etc.join("conf.d/compression.conf")).expect("rm");
    let td = t.display().to_string();
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    };
    let (web, origin) = (port(), port());
    for f in support::walk(&etc) {
        let text = std::fs::read_to_string(&f).expect("read");
        // nginx -t binds the listen ports: unprivileged ones, free now.
        let mut text = text
            .replace("/etc/nginx/", &format!("{td}/etc/nginx/"))
            .replace("/var/log/nginx/", &format!("{td}/log/"))
            .replace("/var/lib/nginx/", &format!("{td}/lib/"))
            .replace("/run/nginx.pid", &format!("{td}/nginx.pid"))
            .replace("listen 80;", &format!("listen 127.0.0.1:{web};"))
            .replace("listen [::]:80;", &format!("listen [::1]:{web};"))
            .replace("127.0.0.1:80;", &format!("127.0.0.1:{web};"))
            .replace("[::1]:80;", &format!("[::1]:{web};"))
            .replace("listen 8080;", &format!("listen 127.0.0.1:{origin};"));
        if f.ends_with("nginx.conf") {
            // nginx -t creates its temp directories: keep them in the copy, on the
            // http block's last line (no line moves).
            let close = text.trim_end().rfind('}').expect("http }");
            let temps: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
                .iter()
                .map(|k| format!("{k}_temp_path {td}/{k}; "))
                .collect();
            text.insert_str(close, &temps);
        }
        std::fs::write(&f, text).expect("write");
    }
    etc.join("nginx.conf")
}

#[test]
fn nginx_dump_gives_the_findings_of_the_tree() {
    if !have_program("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let main = nginx_copy(t);
    let out = std::process::Command::new("nginx")
        .arg("-T")
        .arg("-c")
        .arg(&main)
        .arg("-p")
        .arg(t)
        .output()
        .expect("nginx -T");
    assert!(
        out.status.success(),
        "nginx -T failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = t.join("nginx-T.txt");
    std::fs::write(&dump, &out.stdout).expect("write dump");

    let tree = wpstack(&["--root", "/", "--nginx"])
        .arg(&main)
        .output()
        .expect("run");
    let from_tree = findings(&tree.stdout);
    let from_file = findings(
        &wpstack(&["--nginx-dump"])
            .arg(&dump)
            .output()
            .expect("run")
            .stdout,
    );
    // `nginx -T 2>&1 | wpstack check --nginx-dump -`: nginx's status lines mixed in.
    let mut merged = out.stderr.clone();
    merged.extend_from_slice(&out.stdout);
    let from_stdin = findings(
        &wpstack(&["--nginx-dump", "-"])
            .write_stdin(merged)
            .output()
            .expect("run")
            .stdout,
    );
    let codes: BTreeSet<&str> = from_tree.iter().map(|(c, _, _)| c.as_str()).collect();
    for c in ["D505", "S601", "P402", "S602"] {
        assert!(codes.contains(c), "tree check lacks {c}: {from_tree:?}");
    }
    assert_eq!(from_file, from_tree, "nginx -T dump file vs tree");
    assert_eq!(from_stdin, from_tree, "nginx -T on stdin vs tree");
    // Findings name the original paths.
    assert!(from_file
        .iter()
        .all(|(_, f, _)| f.starts_with(t.display().to_string().trim_start_matches('/'))));
    println!(
        "nginx -T dump: {} files, {} findings, the same (code, file, line) as the tree",
        String::from_utf8_lossy(&out.stdout)
            .matches("# configuration file ")
            .count(),
        from_file.len()
    );
}

#[test]
fn fpm_dump_gives_the_pool_findings_of_the_tree() {
    if !have_program("php-fpm8.2") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let t = tmp.path();
    let fpm = t.join("etc/php/8.2/fpm");
    std::fs::create_dir_all(&fpm).expect("mkdir");
    copy_tree(&fixtures().join("stacks/broken/etc/php/8.2/fpm"), &fpm);
    // php-fpm -tt reads no php.ini here (-n) and prints none: neither side has one.
    std::fs::remove_file(fpm.join("php.ini")).expect("rm");
    std::fs::remove_dir_all(fpm.join("conf.d")).expect("rm");
    let td = t.display().to_string();
    let conf = fpm.join("php-fpm.conf");
    let text = std::fs::read_to_string(&conf)
        .expect("read")
        .replace("/etc/php/8.2/fpm/", &format!("{td}/etc/php/8.2/fpm/"))
        .replace("/run/php/php8.2-fpm.pid", &format!("{td}/fpm.pid"))
        .replace("/var/log/php8.2-fpm.log", &format!("{td}/fpm.log"));
    std::fs::write(&conf, text).expect("write");
    // Logs and slowlogs into the copy (php-fpm -t opens them).
    for f in support::walk(&fpm.join("pool.d")) {
        let text = std::fs::read_to_string(&f)
            .expect("read")
            .replace("/var/log/", &format!("{td}/"));
        std::fs::write(&f, text).expect("write");
    }
    // The demo's shop pool runs as a user this machine lacks (php-fpm -t refuses it).
    let shop = fpm.join("pool.d/shop.conf");
    let text = std::fs::read_to_string(&shop)
        .expect("read")
        .replace("= shop\n", "= www-data\n");
    std::fs::write(&shop, text).expect("write");
    let out = std::process::Command::new("php-fpm8.2")
        .args(["-n", "-tt", "-y"])
        .arg(&conf)
        .output()
        .expect("php-fpm -tt");
    let mut dump = out.stdout.clone();
    dump.extend_from_slice(&out.stderr);
    assert!(
        out.status.success(),
        "php-fpm -tt failed: {}",
        String::from_utf8_lossy(&dump)
    );
    let dump_path = t.join("fpm-tt.txt");
    std::fs::write(&dump_path, &dump).expect("write dump");

    let strip = |s: BTreeSet<(String, String, u64)>| -> BTreeSet<String> {
        s.into_iter()
            .map(|(c, f, _)| format!("{c} {}", f.rsplit('/').next().unwrap_or(&f)))
            .collect()
    };
    let tree = findings(
        &wpstack(&["--root", "/", "--fpm"])
            .arg(&conf)
            .output()
            .expect("run")
            .stdout,
    );
    let from_dump = findings(
        &wpstack(&["--fpm-dump"])
            .arg(&dump_path)
            .output()
            .expect("run")
            .stdout,
    );
    // The same rules fire for the same pools; the dump's findings name its lines.
    let tree_codes: BTreeSet<String> = tree.iter().map(|(c, _, _)| c.clone()).collect();
    let dump_codes: BTreeSet<String> = from_dump.iter().map(|(c, _, _)| c.clone()).collect();
    assert!(!tree_codes.is_empty());
    assert_eq!(
        dump_codes,
        tree_codes,
        "tree {:?}\ndump {:?}",
        strip(tree),
        strip(from_dump)
    );
    let dump_name = dump_path.display().to_string();
    assert!(from_dump
        .iter()
        .all(|(_, f, l)| *f == dump_name.trim_start_matches('/') && *l > 0));
    println!(
        "php-fpm -tt dump: findings {:?}, the same rules as the pool files",
        dump_codes
    );
}

#[test]
fn dumps_refuse_what_they_cannot_be() {
    let tmp = tempfile::tempdir().expect("tmp");
    let not = tmp.path().join("not-a-dump.txt");
    std::fs::write(&not, "server { listen 80; }\n").expect("w");
    for flag in ["--nginx-dump", "--fpm-dump"] {
        let out = wpstack(&[flag]).arg(&not).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not the output of"));
    }
    // A dump path with `..` is not placed outside the private directory.
    let evil = tmp.path().join("evil.txt");
    std::fs::write(
        &evil,
        "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include /etc/nginx/x.conf; }\n\n# configuration file /etc/nginx/../../../../tmp/pwned.conf:\nserver {}\n\n",
    )
    .expect("w");
    let out = Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["check", "--exit-zero", "--nginx-dump"])
        .arg(&evil)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("a path with `.` or `..`"));
    // Not combined with a tree, and not fixed.
    for extra in [&["--fix"][..], &["--diff"], &["."]] {
        let out = wpstack(&["--nginx-dump"])
            .arg(&evil)
            .args(extra)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
    }
}
