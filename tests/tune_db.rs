//! `wpstack tune` with the database in the tree (issue 16): pre-deploy it counts the
//! memory the database's my.cnf configures (instead of "none counted"), and proposes
//! the `max_connections` the tuned pools need, as a diff to my.cnf that `--apply`
//! writes and after which `check` has no B801 to report and `tune` nothing to add.

mod support;

use assert_cmd::Command;
use std::path::Path;
use support::{copy_tree, fixtures};

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

fn tune_json(path: &Path, ram: &str, cpus: &str, extra: &[&str]) -> serde_json::Value {
    let out = wpstack()
        .arg("tune")
        .arg(path)
        .args(["--ram", ram, "--cpus", cpus, "--format", "json"])
        .args(extra)
        .output()
        .expect("run tune");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn db_line(t: &serde_json::Value) -> &serde_json::Value {
    t["tuning"]["budget_lines"]
        .as_array()
        .expect("budget lines")
        .iter()
        .find(|b| b["what"] == "database/cache")
        .expect("database line")
}

fn children(t: &serde_json::Value, pool: &str) -> u64 {
    t["tuning"]["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .find(|p| p["pool"] == pool)
        .and_then(|p| p["max_children_after"].as_u64())
        .expect("pool")
}

#[test]
fn the_demo_stack_counts_its_database_before_after() {
    let with_db = fixtures().join("stacks/broken");
    let d = tempfile::tempdir().expect("tempdir");
    copy_tree(&with_db, d.path());
    std::fs::remove_dir_all(d.path().join("etc/mysql")).expect("rm");
    let before = tune_json(d.path(), "4G", "2", &[]);
    let after = tune_json(&with_db, "4G", "2", &[]);
    assert_eq!(db_line(&before)["bytes"], 0);
    assert_eq!(db_line(&before)["source"], "assumed");
    assert_eq!(db_line(&after)["source"], "my.cnf");
    let db = db_line(&after)["bytes"].as_u64().expect("bytes");
    // innodb_buffer_pool_size 2G + MariaDB's key and log buffers + per connection.
    assert!(db > (2u64 << 30) + (144 << 20), "{db}");
    let (b, a) = (
        before["tuning"]["budget"].as_u64().expect("budget"),
        after["tuning"]["budget"].as_u64().expect("budget"),
    );
    assert_eq!(b - a, db);
    let (sb, sa) = (children(&before, "shop"), children(&after, "shop"));
    assert!(sa < sb, "shop {sb} → {sa}");
    println!(
        "tune on the demo stack (4G, 2 CPUs): budget {} MiB without the database → {} MiB with its my.cnf counted ({} MiB); shop pm.max_children 60 → {sb} before, → {sa} after",
        b >> 20,
        a >> 20,
        db >> 20
    );
    let dbs = after["tuning"]["databases"].as_array().expect("databases");
    assert_eq!(dbs.len(), 1);
    // The shop, and pool www through photos and events (DB_HOST names the socket).
    assert_eq!(dbs[0]["pools"], serde_json::json!(["www", "shop"]));
}

#[test]
fn max_connections_follows_the_pools_and_apply_settles_it() {
    let d = support::write_tree(&[
        (
            "etc/mysql/my.cnf",
            "[client-server]\nsocket = /run/mysqld/mysqld.sock\n!includedir /etc/mysql/mariadb.conf.d/\n",
        ),
        (
            "etc/mysql/mariadb.conf.d/50-server.cnf",
            "[mysqld]\nbind-address = 127.0.0.1\nmax_connections = 100\n",
        ),
        (
            "etc/nginx/nginx.conf",
            "user www-data;\nevents {}\nhttp {\n    server {\n        listen 80;\n        server_name example.com;\n        root /var/www/html;\n        location ~ \\.php$ {\n            try_files $uri =404;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }\n    }\n}\n",
        ),
        (
            "etc/php/8.2/fpm/php-fpm.conf",
            "[global]\nerror_log = /var/log/php8.2-fpm.log\n\n[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = ondemand\npm.max_children = 150\npm.max_requests = 500\nrequest_terminate_timeout = 60s\nphp_admin_value[max_execution_time] = 30\n",
        ),
        (
            "var/www/html/wp-config.php",
            "<?php\ndefine( 'DB_HOST', 'localhost' );\nrequire_once ABSPATH . 'wp-settings.php';\n",
        ),
    ]);
    let root = d.path();
    let t = tune_json(root, "64G", "32", &[]);
    let db = &t["tuning"]["databases"][0];
    let want = children(&t, "www") + 10;
    assert_eq!(db["max_connections_before"], 100);
    assert_eq!(db["max_connections_after"].as_u64(), Some(want));
    let diff = t["diff"].as_str().expect("diff");
    assert!(
        diff.contains("+++ b/etc/mysql/mariadb.conf.d/50-server.cnf")
            && diff.contains(&format!("+max_connections = {want}")),
        "{diff}"
    );
    // Before: check says B801. After --apply: no B801, and tune proposes nothing more.
    let codes = |root: &Path| {
        let out = wpstack()
            .arg("check")
            .arg(root)
            .args([
                "--ram",
                "64G",
                "--cpus",
                "32",
                "--format",
                "json",
                "--exit-zero",
            ])
            .output()
            .expect("check");
        support::finding_codes(&out.stdout)
    };
    assert!(codes(root).iter().any(|c| c == "B801"));
    wpstack()
        .arg("tune")
        .arg(root)
        .args(["--ram", "64G", "--cpus", "32", "--apply", "--no-backup"])
        .assert()
        .success();
    let after = codes(root);
    assert!(!after.iter().any(|c| c == "B801"), "{after:?}");
    let again = tune_json(root, "64G", "32", &[]);
    assert_eq!(again["diff"], "", "tune after --apply: {}", again["diff"]);
}
