//! `wpstack diagnose` on captured log lines (nginx, php-fpm, kernel) with noise: each
//! signature maps to its rule, and with the configuration to the finding behind it.

mod support;

use assert_cmd::Command;
use support::fixtures;

#[test]
fn outage_logs_are_grouped_and_explained_by_the_config() {
    let logs = fixtures().join("logs");
    let out = Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["diagnose", "--format", "json", "--config-dir"])
        .arg(fixtures().join("stacks/broken"))
        .arg(logs.join("broken-nginx-error.log"))
        .arg(logs.join("broken-php-fpm.log"))
        .arg(logs.join("kern.log"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let groups = v["groups"].as_array().expect("groups");
    let find = |sig: &str| {
        groups
            .iter()
            .find(|g| g["signature"] == sig)
            .unwrap_or_else(|| panic!("no {sig}: {groups:#?}"))
    };
    let u001 = find("socket-missing");
    assert_eq!(u001["count"], 2);
    assert_eq!(u001["server"], "blog.example.com");
    assert!(u001["explained_by"]
        .as_str()
        .unwrap_or("")
        .starts_with("U001 at etc/nginx/sites-enabled/blog.example.com.conf:16"));
    assert!(find("upstream-timeout")["explained_by"]
        .as_str()
        .unwrap_or("")
        .starts_with("T101 at etc/nginx/sites-enabled/shop.example.com.conf:21"));
    assert!(find("header-too-big")["explained_by"]
        .as_str()
        .unwrap_or("")
        .starts_with("P402 at etc/nginx/sites-enabled/blog.example.com.conf:17"));
    assert!(find("fpm-execution-timeout")["explained_by"]
        .as_str()
        .unwrap_or("")
        .starts_with("T102 at etc/php/8.2/fpm/pool.d/www.conf:24"));
    assert_eq!(find("max-children")["server"], "pool shop");
    assert_eq!(find("memory-exhausted")["rule"], "M301");
    assert!(find("oom-killed")["explained_by"]
        .as_str()
        .unwrap_or("")
        .starts_with("C201 at etc/php/8.2/fpm/pool.d/shop.conf:13"));
    // The noise (notices, a buffering warning, the oom-killer's first line) is not counted.
    let total: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
    assert_eq!(total, 8);
}

#[test]
fn logs_without_signatures_exit_zero() {
    let dir = support::write_tree(&[(
        "error.log",
        "2026/11/26 21:17:19 [notice] 1#1: signal process started\n",
    )]);
    Command::cargo_bin("wpstack")
        .expect("bin")
        .arg("diagnose")
        .arg(dir.path().join("error.log"))
        .assert()
        .code(0)
        .stdout(predicates::str::contains("No 502/504 signatures"));
}

#[test]
fn with_no_log_the_configured_logs_are_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().display().to_string();
    std::fs::create_dir_all(dir.path().join("logs")).expect("mkdir");
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!("error_log {d}/logs/error.log;\nevents {{}}\nhttp {{}}\n"),
    )
    .expect("w");
    std::fs::write(
        dir.path().join("logs/error.log"),
        "2026/11/26 21:21:44 [error] 1#1: *12 upstream sent too big header while reading response header from upstream, server: a.test\n",
    )
    .expect("w");
    Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["diagnose", "--config-dir"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicates::str::contains("1× header-too-big [P402]"))
        .stderr(predicates::str::contains("reading"));
}
