//! The database layer of the model (issue 16): discovery of the option files in the
//! Debian and RHEL layouts, read order and origins, and the link from each
//! wp-config's DB_HOST to the server (socket, port, bind-address, skip-networking).

mod support;

use std::path::Path;
use wpstack::stack::discover::{self, Inputs};
use wpstack::stack::Stack;

fn load(dir: &Path) -> Stack {
    discover::load(&Inputs {
        paths: vec![dir.to_path_buf()],
        ..Default::default()
    })
    .expect("load")
}

const NGINX: &str = "user www-data;\nevents {}\nhttp {\n    server {\n        listen 80;\n        server_name example.com;\n        root /var/www/html;\n        location ~ \\.php$ {\n            try_files $uri =404;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }\n    }\n}\n";
const FPM: &str = "[global]\nerror_log = /var/log/php8.2-fpm.log\n\n[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\npm = ondemand\npm.max_children = 30\n";

fn site(db_host: &str, cnf: &[(&str, &str)]) -> tempfile::TempDir {
    let wp = format!(
        "<?php\ndefine( 'DB_HOST', '{db_host}' );\nrequire_once ABSPATH . 'wp-settings.php';\n"
    );
    let mut files = vec![
        ("etc/nginx/nginx.conf", NGINX),
        ("etc/php/8.2/fpm/php-fpm.conf", FPM),
        ("var/www/html/wp-config.php", wp.as_str()),
    ];
    files.extend_from_slice(cnf);
    support::write_tree(&files)
}

fn linked(stack: &Stack) -> bool {
    stack.databases.len() == 1
        && stack.databases[0].wp == vec![0]
        && stack.databases[0].pools.len() == 1
}

#[test]
fn debian_layout_reads_includes_in_order_with_origins() {
    let d = site(
        "localhost",
        &[
            (
                "etc/mysql/mariadb.cnf",
                "[client-server]\nsocket = /run/mysqld/mysqld.sock\n!includedir /etc/mysql/conf.d/\n!includedir /etc/mysql/mariadb.conf.d/\n",
            ),
            ("etc/mysql/conf.d/mysql.cnf", "[mysql]\n"),
            (
                "etc/mysql/mariadb.conf.d/50-server.cnf",
                "[mysqld]\nmax_connections = 100\nwait_timeout = 600\n",
            ),
            (
                "etc/mysql/mariadb.conf.d/90-local.cnf",
                "[mariadb]\nloose-max-connections = 300\n",
            ),
            ("etc/mysql/mariadb.conf.d/99-old.cnf.bak", "[mysqld]\nmax_connections = 1\n"),
        ],
    );
    // my.cnf → /etc/alternatives/my.cnf (not in the tree), as in a copy of /etc/mysql.
    std::os::unix::fs::symlink(
        "/etc/alternatives/my.cnf",
        d.path().join("etc/mysql/my.cnf"),
    )
    .expect("link");
    let stack = load(d.path());
    assert!(linked(&stack), "{:?}", stack.databases);
    let db = &stack.databases[0];
    let mc = db.get("max_connections").expect("max_connections");
    assert_eq!(mc.value, "300");
    assert_eq!(
        stack.origin_text(&mc.origin),
        "etc/mysql/mariadb.conf.d/90-local.cnf:2"
    );
    assert_eq!(db.socket().value, "/run/mysqld/mysqld.sock");
    assert!(stack
        .notes
        .iter()
        .any(|n| n.contains("/etc/alternatives/my.cnf")));
    assert_eq!(db.files.len(), 4, "the .bak is not read");
}

#[test]
fn etc_my_cnf_and_etc_mysql_are_one_server_read_in_that_order() {
    let d = site(
        "localhost",
        &[
            (
                "etc/my.cnf",
                "[mysqld]\nmax_connections = 20\nwait_timeout = 30\n",
            ),
            ("etc/mysql/my.cnf", "[mysqld]\nwait_timeout = 900\n"),
        ],
    );
    let stack = load(d.path());
    assert_eq!(stack.databases.len(), 1);
    let db = &stack.databases[0];
    assert_eq!(db.get("max_connections").expect("mc").value, "20");
    assert_eq!(db.get("wait_timeout").expect("wt").value, "900");
}

#[test]
fn rhel_my_cnf_alone_uses_rhels_socket() {
    let d = site(
        "localhost:/var/lib/mysql/mysql.sock",
        &[
            (
                "etc/my.cnf",
                "[mysqld]\ndatadir=/var/lib/mysql\n!includedir /etc/my.cnf.d\n",
            ),
            (
                "etc/my.cnf.d/mariadb-server.cnf",
                "[server]\n[mysqld]\nlog-error=/var/log/mariadb/mariadb.log\n",
            ),
        ],
    );
    let stack = load(d.path());
    assert!(linked(&stack));
    assert_eq!(
        stack.databases[0].socket().value,
        "/var/lib/mysql/mysql.sock"
    );
    assert_eq!(stack.databases[0].files.len(), 2);
}

fn codes(dir: &Path) -> Vec<String> {
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["check", "--format", "json", "--exit-zero"])
        .arg(dir)
        .output()
        .expect("run");
    support::finding_codes(&out.stdout)
}

#[test]
fn db_host_forms_link_or_report_b802() {
    let server = |extra: &str| {
        format!("[mysqld]\nsocket = /run/mysqld/mysqld.sock\nport = 3307\nbind-address = 127.0.0.1\n{extra}")
    };
    // (DB_HOST, my.cnf extra, linked, B802)
    let cases: &[(&str, &str, bool, bool)] = &[
        ("localhost", "", true, false),
        // mysqli ignores a port after `localhost`: the socket.
        ("localhost:3306", "", true, false),
        ("localhost:/var/run/mysqld/mysqld.sock", "", true, false),
        ("localhost:/tmp/mysql.sock", "", false, true),
        ("127.0.0.1:3307", "", true, false),
        ("127.0.0.1", "", false, true),
        ("127.0.0.1:3307", "skip-networking\n", false, true),
        // Another host: not judged (its server is not in the tree).
        ("db.internal:3306", "", false, false),
    ];
    for (host, extra, link, b802) in cases {
        let cnf = server(extra);
        let d = site(host, &[("etc/mysql/my.cnf", cnf.as_str())]);
        let stack = load(d.path());
        assert_eq!(linked(&stack), *link, "{host} {extra}");
        let c = codes(d.path());
        assert_eq!(
            c.iter().any(|c| c == "B802"),
            *b802,
            "{host} {extra}: {c:?}"
        );
    }
}

#[test]
fn mysqli_default_socket_of_the_pool_is_what_localhost_means() {
    let fpm = format!("{FPM}php_admin_value[mysqli.default_socket] = /run/mysqld/other.sock\n");
    let d = site(
        "localhost",
        &[(
            "etc/mysql/my.cnf",
            "[mysqld]\nsocket = /run/mysqld/other.sock\n",
        )],
    );
    std::fs::write(d.path().join("etc/php/8.2/fpm/php-fpm.conf"), fpm).expect("w");
    let stack = load(d.path());
    assert!(linked(&stack));
    assert!(!codes(d.path()).iter().any(|c| c == "B802"));
}

#[test]
fn b801_counts_only_the_pools_using_the_server_and_the_reserve() {
    // 30 children + 10 reserve = 40.
    for (mc, fires) in [("39", true), ("40", false), ("5", true)] {
        let cnf = format!("[mysqld]\nmax_connections = {mc}\n");
        let d = site("localhost", &[("etc/mysql/my.cnf", cnf.as_str())]);
        let c = codes(d.path());
        assert_eq!(c.iter().any(|c| c == "B801"), fires, "{mc}: {c:?}");
    }
    // A wp-config on another host's database: its pool is not counted.
    let d = site(
        "db.internal",
        &[("etc/mysql/my.cnf", "[mysqld]\nmax_connections = 10\n")],
    );
    assert!(!codes(d.path()).iter().any(|c| c == "B801"));
}

/// A fix to an option file is checked by the server's own reader (my_print_defaults, in
/// the validation sandbox, its includes left out) before it is written.
#[test]
fn fixes_to_my_cnf_are_validated_by_my_print_defaults() {
    if !support::have_program("my_print_defaults") {
        return;
    }
    let d = site(
        "localhost",
        &[
            (
                "etc/mysql/my.cnf",
                "[mysqld]\nwait_timeout = 20\n!includedir /etc/mysql/conf.d/\n",
            ),
            ("etc/mysql/conf.d/x.cnf", "[mysqld]\n"),
        ],
    );
    let fpm = format!("{FPM}request_terminate_timeout = 120s\n");
    std::fs::write(d.path().join("etc/php/8.2/fpm/php-fpm.conf"), fpm).expect("w");
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["check", "--fix", "--no-backup", "--select", "B803"])
        .arg(d.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("my_print_defaults --mysqld accepts the fixed etc/mysql/my.cnf"),
        "{err}"
    );
    let cnf = std::fs::read_to_string(d.path().join("etc/mysql/my.cnf")).expect("r");
    assert!(cnf.contains("wait_timeout = 120\n"), "{cnf}");
}

/// Debian's mysql-common (pulled in by php8.2-mysql) installs a my.cnf for the client
/// library on web servers whose database is elsewhere: no server is modelled for it, so
/// no B rule judges a server that is not there.
#[test]
fn a_client_only_my_cnf_is_no_server() {
    let d = site(
        "localhost:/run/mysqld/other.sock",
        &[
            (
                "etc/mysql/my.cnf",
                "[client-server]\n# Import all .cnf files from configuration directory\n!includedir /etc/mysql/conf.d/\n",
            ),
            ("etc/mysql/conf.d/mysql.cnf", "[mysql]\n"),
        ],
    );
    let stack = load(d.path());
    assert!(stack.databases.is_empty());
    assert!(stack
        .notes
        .iter()
        .any(|n| n.contains("configures no database server")));
    assert!(!codes(d.path()).iter().any(|c| c.starts_with('B')));
}
