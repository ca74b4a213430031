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

/// `wpstack diagnose --format json` on the given fixture logs: (signature, rule) → count,
/// summed over upstreams and servers.
fn counts(logs: &[&str]) -> std::collections::BTreeMap<(String, String), u64> {
    let dir = fixtures().join("logs");
    let out = Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["diagnose", "--format", "json"])
        .args(logs.iter().map(|l| dir.join(l)))
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut m = std::collections::BTreeMap::new();
    for g in v["groups"].as_array().expect("groups") {
        let key = (
            g["signature"].as_str().unwrap_or("").to_string(),
            g["rule"].as_str().unwrap_or("-").to_string(),
        );
        *m.entry(key).or_default() += g["count"].as_u64().unwrap_or(0);
    }
    m
}

fn pair(sig: &str, rule: &str) -> (String, String) {
    (sig.to_string(), rule.to_string())
}

/// The lines the 502 lab captured (tests/lab.rs prints them as `lab raw:`), kept with
/// their real text: U004's EAGAIN, T103's slowlog line and the 504 of the request queued
/// behind the hung one, the kill after T103's fix, C202's full pool.
#[test]
fn lab_captured_lines_map_to_their_rules() {
    let c = counts(&["lab-nginx-error.log", "lab-php-fpm.log"]);
    assert_eq!(c.get(&pair("backlog-full", "U004")), Some(&2), "{c:?}");
    assert_eq!(c.get(&pair("slow-request", "T103")), Some(&1), "{c:?}");
    assert_eq!(c.get(&pair("max-children", "C202")), Some(&2), "{c:?}");
    // After T103's fix php-fpm ends the hung request: the line T102's kills also give.
    assert_eq!(
        c.get(&pair("fpm-execution-timeout", "T102")),
        Some(&2),
        "{c:?}"
    );
    // The queued request's 504 reads like any nginx timeout: alone it names T101.
    assert_eq!(c.get(&pair("upstream-timeout", "T101")), Some(&2), "{c:?}");
    assert_eq!(c.values().sum::<u64>(), 9, "{c:?}");
}

/// A hand-made log mixing nginx and php-fpm lines with noise (start-up notices, a
/// slowlog trace, buffering warnings, a deprecation passed through stderr): only the
/// signatures count, each under its rule; `pm.max_children` (dynamic pools) and
/// `max_children` (ondemand) are both C202.
#[test]
fn mixed_noise_counts_only_the_signatures() {
    let c = counts(&["lab-mixed-noise.log"]);
    let want: std::collections::BTreeMap<(String, String), u64> = [
        (pair("backlog-full", "U004"), 2),
        (pair("slow-request", "T103"), 1),
        (pair("max-children", "C202"), 1),
        (pair("upstream-timeout", "T101"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(c, want);
}

/// With the lab's U004 stack beside the logs, the EAGAIN group is explained by the
/// finding on its listen.backlog line.
#[test]
fn backlog_lines_are_explained_by_the_backlog_setting() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().display().to_string();
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!("events {{}}\nhttp {{\n    server {{\n        listen 80;\n        server_name lab.test;\n        root {d}/www;\n        location ~ \\.php$ {{\n            fastcgi_pass unix:{d}/php82.sock;\n        }}\n    }}\n}}\n"),
    )
    .expect("w");
    std::fs::write(
        dir.path().join("php-fpm.conf"),
        format!("[global]\nerror_log = {d}/php-fpm.log\n\n[lab]\nlisten = {d}/php82.sock\nlisten.backlog = 1\npm = static\npm.max_children = 1\n"),
    )
    .expect("w");
    let out = Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["diagnose", "--format", "json", "--config-dir"])
        .arg(dir.path())
        .arg(fixtures().join("logs/lab-nginx-error.log"))
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let g = v["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["signature"] == "backlog-full")
        .cloned()
        .unwrap_or_default();
    assert!(
        g["explained_by"]
            .as_str()
            .unwrap_or("")
            .starts_with("U004 at php-fpm.conf:6"),
        "{g:#}"
    );
}

/// The database's lines (issue 16): PHP's mysqli warnings through php-fpm and nginx,
/// WordPress's "gone away", MariaDB's own log and the kernel's OOM line for mariadbd —
/// each under B801/B802/B803/C201, and with the broken demo's configuration each is
/// explained by the finding planted for it.
#[test]
fn database_lines_map_to_the_b_rules_and_their_findings() {
    let c = counts(&["broken-db.log"]);
    let want: std::collections::BTreeMap<(String, String), u64> = [
        (pair("db-too-many-connections", "B801"), 2),
        (pair("db-socket-missing", "B802"), 1),
        (pair("db-gone-away", "B803"), 1),
        (pair("db-idle-aborted", "B803"), 1),
        (pair("db-out-of-memory", "C201"), 1),
        (pair("db-oom-killed", "C201"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(c, want);
    let out = Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["diagnose", "--format", "json", "--config-dir"])
        .arg(fixtures().join("stacks/broken"))
        .arg(fixtures().join("logs/broken-db.log"))
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let groups = v["groups"].as_array().expect("groups");
    let explained = |sig: &str| -> String {
        groups
            .iter()
            .find(|g| g["signature"] == sig)
            .and_then(|g| g["explained_by"].as_str())
            .unwrap_or("")
            .to_string()
    };
    for (sig, at) in [
        (
            "db-too-many-connections",
            "B801 at etc/mysql/mariadb.conf.d/50-server.cnf:20",
        ),
        (
            "db-socket-missing",
            "B802 at var/www/blog.example.com/wp-config.php:12",
        ),
        (
            "db-gone-away",
            "B803 at etc/mysql/mariadb.conf.d/50-server.cnf:21",
        ),
        (
            "db-oom-killed",
            "C201 at etc/php/8.2/fpm/pool.d/shop.conf:13",
        ),
    ] {
        assert!(explained(sig).starts_with(at), "{sig}: {}", explained(sig));
    }
}
