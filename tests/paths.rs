//! Paths resolve the way the checked host's programs resolve them, inside the root being
//! checked: the same run whatever spelling of a PATH is given, nothing of this machine
//! read as part of a copy, and names that are not UTF-8 handled (issue 12 items 1–2,
//! issue 13 item 9).

mod support;

use assert_cmd::Command;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use support::fixtures;

/// Write `contents` at `rel` under `root`, making its directories.
fn put(root: &Path, rel: &str, contents: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, contents).unwrap();
}

/// One nginx site, root /var/www/site, whose wp-config.php holds `wp_config`.
fn one_site(root: &Path, wp_config: &str) {
    put(
        root,
        "etc/nginx/nginx.conf",
        "events {}\nhttp {\n  server {\n    listen 80;\n    server_name site.test;\n    root /var/www/site;\n  }\n}\n",
    );
    put(root, "var/www/site/wp-config.php", wp_config);
}

/// What `wpstack dump --show-origin ROOT` prints (the run must succeed).
fn dump(root: &Path) -> String {
    let out = wpstack()
        .args(["dump", "--show-origin"])
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("binary");
    c.env("NO_COLOR", "1").env_remove("WPSTACK_TIMINGS");
    c
}

/// The findings of a JSON report as (code, file, line), sorted: what must not depend on
/// how the PATH was spelled.
fn findings(out: &[u8]) -> Vec<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_slice(out).expect("json report");
    let mut f: Vec<_> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_string(),
                f["file"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    f.sort();
    f
}

fn run_in(dir: &Path, args: &[&str]) -> Vec<(String, String, u64)> {
    let out = wpstack()
        .current_dir(dir)
        .arg("check")
        .args(["--format", "json", "--exit-zero"])
        .args(args)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "wpstack check {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    findings(&out.stdout)
}

#[test]
fn every_spelling_of_a_path_gives_the_same_run() {
    for name in ["broken", "healthy", "multipool", "model"] {
        let stack = fixtures().join("stacks").join(name);
        let abs = stack.canonicalize().unwrap();
        let abs_s = abs.to_str().unwrap();
        let parent = abs.parent().unwrap();
        let link_dir = tempfile::tempdir().unwrap();
        let link = link_dir.path().join("via-link");
        std::os::unix::fs::symlink(&abs, &link).unwrap();

        let want = run_in(parent, &[abs_s]);
        assert!(!want.is_empty() || name == "healthy" || name == "model");
        let spellings: Vec<(&Path, Vec<String>)> = vec![
            (&abs, vec![".".into()]),
            (&abs, vec!["./".into()]),
            (&abs, vec![]),
            (&abs, vec!["--root".into(), ".".into(), ".".into()]),
            (parent, vec![format!("./{name}")]),
            (parent, vec![format!("{name}/")]),
            (parent, vec![format!("{name}/../{name}")]),
            (parent, vec![link.to_str().unwrap().to_string()]),
        ];
        for (cwd, args) in spellings {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let got = run_in(cwd, &args);
            assert_eq!(got, want, "{name}: `check {args:?}` in {}", cwd.display());
        }
        println!(
            "paths: {name}: {} findings, the same for 9 spellings of its PATH",
            want.len()
        );
    }
}

/// A copied tree whose links point at absolute paths: they are followed inside the
/// copy, and a link to something the copy lacks reads nothing of this machine.
#[test]
fn absolute_links_resolve_inside_the_root_and_never_onto_this_machine() {
    let outside = tempfile::tempdir().unwrap();
    let outside = outside.path().canonicalize().unwrap();
    // What this machine has and the copy must never show: a pool and an ini setting.
    std::fs::create_dir_all(outside.join("pools")).unwrap();
    std::fs::write(
        outside.join("pools/intruder.conf"),
        "[intruder]\nuser = x\ngroup = x\nlisten = /run/intruder.sock\npm = static\npm.max_children = 999\n",
    )
    .unwrap();
    std::fs::write(outside.join("evil.ini"), "memory_limit = 1M\n").unwrap();

    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let w = |p: &str, c: &str| put(&root, p, c);
    w(
        "etc/php/8.2/fpm/php-fpm.conf",
        "[global]\npid = /run/php/php8.2-fpm.pid\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
    );
    w(
        "etc/php/8.2/fpm/pool.d/www.conf",
        "[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = ondemand\npm.max_children = 5\n",
    );
    w("etc/php/8.2/fpm/php.ini", "[PHP]\nmemory_limit = 256M\n");
    w(
        "etc/php/8.2/mods-available/opcache.ini",
        "zend_extension=opcache.so\nopcache.memory_consumption=192\n",
    );
    std::fs::create_dir_all(root.join("etc/php/8.2/fpm/conf.d")).unwrap();
    let link = |target: &Path, at: &str| std::os::unix::fs::symlink(target, root.join(at)).unwrap();
    // Debian's phpenmod link: absolute, into the copy's mods-available.
    link(
        Path::new("/etc/php/8.2/mods-available/opcache.ini"),
        "etc/php/8.2/fpm/conf.d/10-opcache.ini",
    );
    // Links whose absolute targets exist only on this machine (outside the copy).
    link(
        &outside.join("evil.ini"),
        "etc/php/8.2/fpm/conf.d/20-evil.ini",
    );
    link(
        &outside.join("pools/intruder.conf"),
        "etc/php/8.2/fpm/pool.d/intruder.conf",
    );
    // A relative link climbing out of the root stops at the root, as in a chroot.
    link(
        Path::new("../../../../../../../../../../pools/intruder.conf"),
        "etc/php/8.2/fpm/pool.d/climb.conf",
    );

    let out = wpstack()
        .args(["dump", "--root"])
        .arg(&root)
        .arg(&root)
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dump.contains("/run/intruder.sock") && !dump.contains("999"),
        "a pool of this machine was read: {dump}"
    );
    assert!(
        !dump.contains("\"1M\""),
        "an ini file of this machine was read"
    );
    assert!(
        dump.contains("opcache.memory_consumption"),
        "the copy's own link was not followed: {dump}"
    );

    let out = wpstack()
        .args(["check", "--format", "json", "--exit-zero", "--root"])
        .arg(&root)
        .arg(&root)
        .output()
        .unwrap();
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(
        !json.contains("M303"),
        "opcache behind the copy's link was not seen: {json}"
    );
    assert!(
        !json.contains("E005"),
        "a link out of the copy is unknown, not missing: {json}"
    );
    // The links that lead out of the copy are said, not silently skipped.
    let out = wpstack()
        .args(["check", "--exit-zero", "--root"])
        .arg(&root)
        .arg(&root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for link in ["conf.d/20-evil.ini", "pool.d/intruder.conf"] {
        assert!(
            text.lines().any(|l| l.starts_with("note:")
                && l.contains(link)
                && l.contains("the copied tree does not have")),
            "{link} not noted: {text}"
        );
    }
}

/// A name that is not UTF-8 in every directory an include globs: no panic, and the
/// glob still matches the other files (issue 13 item 9).
#[test]
fn names_that_are_not_utf8_neither_panic_nor_empty_a_glob() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    support::copy_tree(&fixtures().join("stacks/healthy"), root);
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    for dir in [
        "etc/nginx/sites-enabled",
        "etc/php/8.2/fpm/pool.d",
        "etc/php/8.2/fpm/conf.d",
    ] {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(bad), "").unwrap();
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"\xfe.conf")), "").unwrap();
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"\xfe.ini")), "").unwrap();
    }
    for args in [
        vec!["check", "--exit-zero", "--format", "json"],
        vec!["dump"],
        vec!["tune", "--ram", "4G", "--cpus", "2"],
    ] {
        let out = wpstack().args(&args).arg(root).output().unwrap();
        assert_ne!(
            out.status.code(),
            Some(101),
            "{args:?} panicked: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = wpstack().args(["dump"]).arg(root).output().unwrap();
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(
        dump.contains("\"www\""),
        "the pool glob matched nothing: {dump}"
    );
    let out = wpstack()
        .args(["check", "--format", "json", "--exit-zero"])
        .arg(root)
        .output()
        .unwrap();
    let codes = support::finding_codes(&out.stdout);
    assert!(
        !codes.iter().any(|c| c == "E006" || c == "E005"),
        "{codes:?}"
    );
}

/// `check /` on a live host starts from the programs' own places (nginx -V, the php-fpm
/// masters, the standard paths) and never walks the disk (issue 12 item 13). Read
/// only: it looks at this machine's real configs.
#[test]
fn a_live_host_is_read_from_the_programs_places_not_a_disk_walk() {
    let out = wpstack().args(["dump", "/"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().or(f.as_str()).unwrap_or("").to_string())
        .collect();
    for f in &files {
        let ok = ["etc/", "usr/", "opt/"].iter().any(|p| f.starts_with(p)) || f.ends_with(".php");
        assert!(
            ok,
            "`dump /` read {f}, which is none of the programs' places"
        );
    }
    println!(
        "paths: `dump /` read {} files, all from the programs' places",
        files.len()
    );
}

/// Files named with --nginx/--fpm/--php-ini/--wp-config on a copy are honoured as
/// given, imply the copy's root, and replace discovery of their kind (issue 12 item 13).
#[test]
fn explicit_files_on_a_copy_are_honoured() {
    let b = fixtures().join("stacks/broken").canonicalize().unwrap();
    let s = |p: &str| b.join(p).to_str().unwrap().to_string();
    let want = run_in(&b, &[b.to_str().unwrap()]);
    let explicit = [
        "--nginx",
        &s("etc/nginx/nginx.conf"),
        "--fpm",
        &s("etc/php/8.2/fpm/php-fpm.conf"),
        "--php-ini",
        &s("etc/php/8.2/fpm/php.ini"),
        "--wp-config",
        &s("var/www/blog.example.com/wp-config.php"),
        "--wp-config",
        &s("var/www/shop.example.com/wp-config.php"),
        "--wp-config",
        &s("var/www/photos.example.com/wp-config.php"),
        "--wp-config",
        &s("var/www/events.example.com/wp-config.php"),
    ]
    .map(str::to_string);
    let args: Vec<&str> = explicit.iter().map(String::as_str).collect();
    assert_eq!(run_in(&b, &args), want, "explicit files alone");
    let mut with_path = args.clone();
    with_path.push(b.to_str().unwrap());
    assert_eq!(run_in(&b, &with_path), want, "explicit files and the PATH");
    // A pool file named alone finds its php.ini beside pool.d.
    let out = wpstack()
        .args([
            "check",
            "--exit-zero",
            "--fpm",
            &s("etc/php/8.2/fpm/pool.d/www.conf"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("no php.ini found"), "{text}");
    assert!(!text.contains("no php-fpm configuration found"), "{text}");
}

/// `--diff` through a symlinked `sites-enabled` file names the real file, so `git apply`
/// and `patch -p1` take the patch (issue 12 item 14).
#[test]
fn a_diff_through_a_symlinked_site_names_the_real_file() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    support::copy_tree(&fixtures().join("stacks/broken"), &root);
    let avail = root.join("etc/nginx/sites-available");
    std::fs::create_dir_all(&avail).unwrap();
    for site in [
        "blog.example.com.conf",
        "shop.example.com.conf",
        "news.example.com.conf",
    ] {
        let enabled = root.join("etc/nginx/sites-enabled").join(site);
        std::fs::rename(&enabled, avail.join(site)).unwrap();
        std::os::unix::fs::symlink(Path::new("/etc/nginx/sites-available").join(site), &enabled)
            .unwrap();
    }
    let out = wpstack()
        .current_dir(&root)
        .args(["check", "--diff", "."])
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        diff.contains("+++ b/etc/nginx/sites-available/blog.example.com.conf"),
        "{diff}"
    );
    assert!(!diff.contains("sites-enabled/"), "{diff}");
    support::assert_patch_applies(&root, diff.as_bytes());
}

/// A wp-config.php's `require` is followed the way PHP opens it, inside the checked
/// root: a tenant's link from the copy to a file of this machine is not read.
#[test]
fn a_wp_config_require_never_reads_outside_the_root() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().canonicalize().unwrap().join("host-only.php");
    std::fs::write(
        &secret,
        "<?php\ndefine( 'HOST_ONLY_CONSTANT', 'read-from-this-machine' );\n",
    )
    .unwrap();
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let w = |p: &str, c: &str| put(&root, p, c);
    one_site(
        &root,
        "<?php\nrequire_once __DIR__ . '/local.php';\nrequire_once '/etc/shared.php';\ndefine( 'DISALLOW_FILE_EDIT', true );\n",
    );
    w(
        "etc/shared.php",
        "<?php\ndefine( 'IN_COPY_CONSTANT', 'ok' );\n",
    );
    std::os::unix::fs::symlink(&secret, root.join("var/www/site/local.php")).unwrap();
    let dump = dump(&root);
    assert!(
        dump.contains("IN_COPY_CONSTANT"),
        "the copy's own include was not followed: {dump}"
    );
    assert!(
        !dump.contains("HOST_ONLY_CONSTANT"),
        "a file of this machine was read: {dump}"
    );
}

/// The `.env` a Bedrock-style wp-config.php reads through `env()` is looked up inside the
/// checked root: a `.env` that is a link to a file of this machine is not read.
#[test]
fn a_site_env_file_linked_out_of_the_root_is_not_read() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().canonicalize().unwrap().join("host.env");
    std::fs::write(&secret, "WP_HOME=https://host-only.example\n").unwrap();
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let w = |p: &str, c: &str| put(&root, p, c);
    one_site(
        &root,
        "<?php\ndefine( 'WP_HOME', env( 'WP_HOME' ) );\ndefine( 'WP_SITEURL', env( 'WP_SITEURL' ) );\n",
    );
    std::os::unix::fs::symlink(&secret, root.join("var/www/site/.env")).unwrap();
    let got = dump(&root);
    assert!(
        !got.contains("host-only.example"),
        "a file of this machine was read: {got}"
    );
    // The same .env as a file of the copy is read.
    std::fs::remove_file(root.join("var/www/site/.env")).unwrap();
    w("var/www/site/.env", "WP_SITEURL=https://in-copy.example\n");
    let got = dump(&root);
    assert!(
        got.contains("in-copy.example"),
        "the copy's .env was not read: {got}"
    );
}
