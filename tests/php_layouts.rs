//! The php-fpm / php.ini / wp-config side on real host layouts: each packaging's
//! places (Debian, RHEL/Fedora, Remi, Alpine, the Docker image, cPanel, Plesk), pools
//! layered across files, php-fpm's `prefix`, `${VAR}` from the environment, and the
//! field stacks of ../shared/corpus/field (read in place) judged finding by finding.

mod support;

use std::path::Path;
#[allow(unused_imports)]
use support::corpus_dir;
use support::write_tree;
use wpstack::finding::Finding;
use wpstack::machine::host;
use wpstack::settings::{HostFacts, Settings};
use wpstack::stack::discover::{self, Inputs};
use wpstack::stack::Stack;

/// Check a copied host, never measuring this machine (2 GB, 2 CPUs unless given).
fn check_with(dir: &Path, inputs: Inputs, facts: HostFacts) -> (Stack, Vec<Finding>) {
    let s = Settings::default();
    let facts = HostFacts {
        ram: facts.ram.or(Some(2 << 30)),
        cpus: facts.cpus.or(Some(2)),
        ..facts
    };
    let h = host::resolve(&facts, &Default::default(), false);
    let stack = discover::load(&Inputs {
        paths: vec![dir.to_path_buf()],
        root: Some(dir.to_path_buf()),
        ..inputs
    })
    .expect("load");
    let findings = wpstack::engine::run(&stack, &s, &h);
    (stack, findings)
}

fn check(dir: &Path) -> (Stack, Vec<Finding>) {
    check_with(dir, Inputs::default(), HostFacts::default())
}

fn codes(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.code).collect()
}

fn shown(stack: &Stack, f: &[Finding]) -> String {
    f.iter()
        .map(|f| {
            let at = f.primary.map(|p| stack.display(p)).unwrap_or_default();
            format!("{} {at}: {}\n", f.code, f.message)
        })
        .collect()
}

/// An nginx that passes PHP to `pass` (with the site root /srv/www).
fn nginx(pass: &str) -> String {
    format!(
        "user nginx;\nevents {{}}\nhttp {{\n  server {{\n    listen 80;\n    server_name example.com;\n    root /srv/www;\n    location ~* /(?:uploads|files)/.*\\.php$ {{ deny all; }}\n    location ~ \\.php$ {{\n      try_files $uri =404;\n      fastcgi_pass {pass};\n    }}\n  }}\n}}\n"
    )
}

const POOL_BODY: &str = "user = nginx\ngroup = nginx\nlisten.owner = nginx\nlisten.group = nginx\npm = dynamic\npm.max_children = 8\npm.start_servers = 2\npm.min_spare_servers = 1\npm.max_spare_servers = 3\n";

/// What each layout test asserts: one pool reached from nginx, its PHP settings read
/// from php.ini and the scan dir of that packaging, no false start-up or 502 finding.
fn assert_layout(
    dir: &Path,
    version: Option<&str>,
    memory_limit_from: &str,
    opcache_from: &str,
) -> (Stack, Vec<Finding>) {
    let (stack, findings) = check(dir);
    let out = shown(&stack, &findings);
    assert_eq!(stack.fpm.len(), 1, "one php-fpm instance\n{out}");
    assert_eq!(stack.pools.len(), 1, "{out}");
    assert_eq!(stack.fpm[0].version.as_deref(), version);
    let pool = &stack.pools[0];
    let ml = pool.php("memory_limit").expect("memory_limit known");
    assert_eq!(ml.text(), "256M");
    let at = stack.display(ml.value.place().expect("set in a file"));
    assert!(at.starts_with(memory_limit_from), "{at}");
    let ext = stack.fpm[0]
        .ini
        .extensions
        .iter()
        .find(|e| e.value.contains("opcache"))
        .expect("opcache loaded from the scan dir");
    let at = stack.display(ext.place().expect("place"));
    assert!(at.starts_with(opcache_from), "{at}");
    for bad in ["E006", "U001", "U003", "E005", "M303", "E003"] {
        assert!(!codes(&findings).contains(&bad), "{bad}\n{out}");
    }
    // The site reaches the pool.
    let reached = stack.php_locations().any(|(_, _, l)| !l.pools.is_empty());
    assert!(reached, "nginx reaches the pool\n{out}");
    (stack, findings)
}

#[test]
fn rhel_fedora_layout() {
    // /etc/php-fpm.conf + /etc/php-fpm.d/, /etc/php.ini + /etc/php.d/, and the php-fpm
    // package's /etc/nginx/conf.d/php-fpm.conf, which is nginx (an upstream), not php-fpm.
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("php-fpm").replace("http {\n", "http {\n  include /etc/nginx/conf.d/*.conf;\n")),
        ("etc/nginx/conf.d/php-fpm.conf", "# PHP-FPM FastCGI server\n\nupstream php-fpm {\n        server unix:/run/php-fpm/www.sock;\n}\n"),
        ("etc/php-fpm.conf", "[global]\npid = /run/php-fpm/php-fpm.pid\nerror_log = /var/log/php-fpm/error.log\ndaemonize = yes\ninclude=/etc/php-fpm.d/*.conf\n"),
        ("etc/php-fpm.d/www.conf", &format!("[www]\nlisten = /run/php-fpm/www.sock\nlisten.acl_users = apache,nginx\n{POOL_BODY}")),
        ("etc/php.ini", "[PHP]\nmemory_limit = 256M\n"),
        ("etc/php.d/10-opcache.ini", "zend_extension=opcache\nopcache.enable=1\n"),
        ("srv/www/index.php", "<?php\n"),
    ]);
    assert_layout(t.path(), None, "etc/php.ini", "etc/php.d/10-opcache.ini");
}

#[test]
fn remi_layout() {
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("unix:/var/opt/remi/php82/run/php-fpm/www.sock")),
        ("etc/opt/remi/php82/php-fpm.conf", "[global]\npid = /var/opt/remi/php82/run/php-fpm/php-fpm.pid\nerror_log = /var/opt/remi/php82/log/php-fpm/error.log\ninclude=/etc/opt/remi/php82/php-fpm.d/*.conf\n"),
        ("etc/opt/remi/php82/php-fpm.d/www.conf", &format!("[www]\nlisten = /var/opt/remi/php82/run/php-fpm/www.sock\n{POOL_BODY}")),
        ("etc/opt/remi/php82/php.ini", "[PHP]\nmemory_limit = 256M\n"),
        ("etc/opt/remi/php82/php.d/10-opcache.ini", "zend_extension=opcache\n"),
    ]);
    assert_layout(
        t.path(),
        Some("8.2"),
        "etc/opt/remi/php82/php.ini",
        "etc/opt/remi/php82/php.d/",
    );
}

#[test]
fn alpine_layout() {
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("127.0.0.1:9000")),
        (
            "etc/php82/php-fpm.conf",
            "[global]\nerror_log = /var/log/php82/error.log\ninclude=/etc/php82/php-fpm.d/*.conf\n",
        ),
        (
            "etc/php82/php-fpm.d/www.conf",
            &format!("[www]\nlisten = 127.0.0.1:9000\n{POOL_BODY}"),
        ),
        ("etc/php82/php.ini", "[PHP]\n"),
        (
            "etc/php82/conf.d/00_opcache.ini",
            "zend_extension=opcache\n",
        ),
        ("etc/php82/conf.d/50_setting.ini", "memory_limit = 256M\n"),
    ]);
    assert_layout(
        t.path(),
        Some("8.2"),
        "etc/php82/conf.d/50_setting.ini",
        "etc/php82/conf.d/00_opcache.ini",
    );
}

#[test]
fn docker_official_image_layout_without_php_ini() {
    // php:8.2-fpm: /usr/local/etc/php-fpm.conf includes etc/php-fpm.d/*.conf relative to
    // the prefix /usr/local; there is no php.ini (only php.ini-production), so PHP runs
    // on its built-in defaults plus /usr/local/etc/php/conf.d.
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("127.0.0.1:9000")),
        (
            "usr/local/etc/php-fpm.conf",
            "[global]\ninclude=etc/php-fpm.d/*.conf\n",
        ),
        (
            "usr/local/etc/php-fpm.d/www.conf",
            &format!("[www]\nlisten = 127.0.0.1:9000\n{POOL_BODY}"),
        ),
        (
            "usr/local/etc/php-fpm.d/zz-docker.conf",
            "[global]\ndaemonize = no\n\n[www]\nlisten = 9000\n",
        ),
        (
            "usr/local/etc/php/php.ini-production",
            "[PHP]\nmemory_limit = 128M\n",
        ),
        (
            "usr/local/etc/php/conf.d/docker-php-ext-opcache.ini",
            "zend_extension=opcache\n",
        ),
        (
            "usr/local/etc/php/conf.d/memory.ini",
            "memory_limit = 256M\n",
        ),
    ]);
    let (stack, findings) = assert_layout(
        t.path(),
        None,
        "usr/local/etc/php/conf.d/memory.ini",
        "usr/local/etc/php/conf.d/docker-php-ext-opcache.ini",
    );
    // Without a php.ini, PHP's built-in defaults are known here (not "skip").
    let pool = &stack.pools[0];
    assert_eq!(
        pool.php("max_input_vars")
            .map(|s| s.text().to_string())
            .as_deref(),
        Some("1000")
    );
    assert!(
        codes(&findings).contains(&"P403"),
        "{}",
        shown(&stack, &findings)
    );
    assert!(
        stack.notes.iter().all(|n| !n.contains("no php.ini")),
        "{:?}",
        stack.notes
    );
    // zz-docker.conf re-opens [www] on purpose: the later listen is in effect.
    assert_eq!(pool.listen().map(|l| l.value.as_str()), Some("9000"));
}

#[test]
fn cpanel_ea_php_layout() {
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("unix:/opt/cpanel/ea-php82/root/usr/var/run/php-fpm/example.sock")),
        ("opt/cpanel/ea-php82/root/etc/php-fpm.conf", "[global]\npid = /opt/cpanel/ea-php82/root/usr/var/run/php-fpm/php-fpm.pid\nerror_log = /opt/cpanel/ea-php82/root/usr/var/log/php-fpm/error.log\ninclude=/opt/cpanel/ea-php82/root/etc/php-fpm.d/*.conf\n"),
        ("opt/cpanel/ea-php82/root/etc/php-fpm.d/example.com.conf", &format!("[example_com]\nlisten = /opt/cpanel/ea-php82/root/usr/var/run/php-fpm/example.sock\n{POOL_BODY}")),
        ("opt/cpanel/ea-php82/root/etc/php.ini", "[PHP]\nmemory_limit = 256M\n"),
        ("opt/cpanel/ea-php82/root/etc/php.d/10-opcache.ini", "zend_extension=opcache.so\n"),
    ]);
    assert_layout(
        t.path(),
        Some("8.2"),
        "opt/cpanel/ea-php82/root/etc/php.ini",
        "opt/cpanel/ea-php82/root/etc/php.d/",
    );
}

#[test]
fn plesk_layout() {
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("unix:/var/www/vhosts/system/example.com/php-fpm.sock")),
        ("opt/plesk/php/8.2/etc/php-fpm.conf", "[global]\npid = /run/plesk-php82-fpm.pid\nerror_log = /var/log/plesk-php82-fpm/error.log\ninclude=/opt/plesk/php/8.2/etc/php-fpm.d/*.conf\n"),
        ("opt/plesk/php/8.2/etc/php-fpm.d/example.com.conf", &format!("[example.com]\nlisten = /var/www/vhosts/system/example.com/php-fpm.sock\n{POOL_BODY}")),
        ("opt/plesk/php/8.2/etc/php.ini", "[PHP]\nmemory_limit = 256M\n"),
        ("opt/plesk/php/8.2/etc/php.d/opcache.ini", "zend_extension=opcache.so\n"),
    ]);
    assert_layout(
        t.path(),
        Some("8.2"),
        "opt/plesk/php/8.2/etc/php.ini",
        "opt/plesk/php/8.2/etc/php.d/opcache.ini",
    );
}

#[test]
fn debian_layout_still_works() {
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("unix:/run/php/php8.2-fpm.sock")),
        ("etc/php/8.2/fpm/php-fpm.conf", "[global]\npid = /run/php/php8.2-fpm.pid\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n"),
        ("etc/php/8.2/fpm/pool.d/www.conf", &format!("[www]\nlisten = /run/php/php8.2-fpm.sock\n{POOL_BODY}")),
        ("etc/php/8.2/fpm/php.ini", "[PHP]\nmemory_limit = 256M\n"),
        ("etc/php/8.2/fpm/conf.d/10-opcache.ini", "zend_extension=opcache.so\n"),
    ]);
    assert_layout(
        t.path(),
        Some("8.2"),
        "etc/php/8.2/fpm/php.ini",
        "etc/php/8.2/fpm/conf.d/",
    );
}

#[test]
fn c203_sees_memory_limit_of_a_docker_pool() {
    // Issue 14: 8 workers × 512M on a 2 GB host, memory_limit from the image's conf.d.
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("127.0.0.1:9000")),
        (
            "usr/local/etc/php-fpm.conf",
            "[global]\ninclude=etc/php-fpm.d/*.conf\n",
        ),
        (
            "usr/local/etc/php-fpm.d/www.conf",
            &format!("[www]\nlisten = 127.0.0.1:9000\n{POOL_BODY}"),
        ),
        (
            "usr/local/etc/php/conf.d/docker-php-ext-opcache.ini",
            "zend_extension=opcache\n",
        ),
        (
            "usr/local/etc/php/conf.d/docker-php-memlimit.ini",
            "memory_limit = 512M\n",
        ),
    ]);
    let (stack, findings) = check(t.path());
    let c203: Vec<_> = findings.iter().filter(|f| f.code == "C203").collect();
    assert_eq!(c203.len(), 1, "{}", shown(&stack, &findings));
    assert!(
        c203[0].message.contains("4G") || c203[0].message.contains("4096M"),
        "{}",
        c203[0].message
    );
}

#[test]
fn a_pool_reopened_in_a_later_file_is_not_a_duplicate() {
    // Same pool, same key: twice in one file is E003 (warning); once per file is layering.
    let t = write_tree(&[
        ("etc/php/8.2/fpm/php-fpm.conf", "[global]\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n"),
        ("etc/php/8.2/fpm/pool.d/www.conf", &format!("[www]\nlisten = /run/php/php8.2-fpm.sock\n{POOL_BODY}pm.max_requests = 100\npm.max_requests = 500\n")),
        ("etc/php/8.2/fpm/pool.d/zz-override.conf", "[www]\nuser = www-data\ngroup = www-data\npm.max_children = 4\n"),
        ("etc/php/8.2/fpm/php.ini", "[PHP]\n"),
    ]);
    let (stack, findings) = check(t.path());
    let e003: Vec<_> = findings.iter().filter(|f| f.code == "E003").collect();
    assert_eq!(e003.len(), 1, "{}", shown(&stack, &findings));
    assert!(e003[0].message.contains("pm.max_requests"));
    let pool = &stack.pools[0];
    assert_eq!(pool.settings["pm.max_children"].value, "4");
    assert_eq!(pool.settings["user"].value, "www-data");
}

#[test]
fn no_pool_with_user_means_an_unprivileged_master() {
    // DDEV's pool sets no `user`: its master runs as the container's user. A pool
    // lacking `user` next to one that has it is still E006.
    let body = POOL_BODY.replace("user = nginx\n", "");
    let t = write_tree(&[
        ("etc/php/8.4/fpm/php-fpm.conf", "[global]\nerror_log = /dev/stdout\ndaemonize = no\ninclude=/etc/php/8.4/fpm/pool.d/*.conf\n"),
        ("etc/php/8.4/fpm/pool.d/www.conf", &format!("[www]\nlisten = /run/php/php-fpm.sock\n{body}")),
        ("etc/php/8.4/fpm/php.ini", "[PHP]\n"),
    ]);
    let (stack, findings) = check(t.path());
    assert!(
        !codes(&findings).contains(&"E006"),
        "{}",
        shown(&stack, &findings)
    );
    assert!(
        stack.notes.iter().any(|n| n.contains("unprivileged")),
        "{:?}",
        stack.notes
    );

    let t = write_tree(&[
        (
            "etc/php/8.4/fpm/php-fpm.conf",
            "[global]\nerror_log = /var/log/fpm.log\ninclude=/etc/php/8.4/fpm/pool.d/*.conf\n",
        ),
        (
            "etc/php/8.4/fpm/pool.d/a.conf",
            &format!("[a]\nlisten = /run/php/a.sock\n{POOL_BODY}"),
        ),
        (
            "etc/php/8.4/fpm/pool.d/b.conf",
            &format!("[b]\nlisten = /run/php/b.sock\n{body}"),
        ),
        ("etc/php/8.4/fpm/php.ini", "[PHP]\n"),
    ]);
    let (stack, findings) = check(t.path());
    let e006: Vec<_> = findings.iter().filter(|f| f.code == "E006").collect();
    assert_eq!(e006.len(), 1, "{}", shown(&stack, &findings));
    assert!(e006[0]
        .message
        .contains("[pool b] user has not been defined"));
}

#[test]
fn version_from_packaging_paths() {
    use wpstack::stack::php_model::version_from_path as v;
    assert_eq!(v(Path::new("/etc/php/8.2/fpm")).as_deref(), Some("8.2"));
    assert_eq!(v(Path::new("/etc/php82")).as_deref(), Some("8.2"));
    assert_eq!(v(Path::new("/etc/opt/remi/php74")).as_deref(), Some("7.4"));
    assert_eq!(
        v(Path::new("/opt/cpanel/ea-php81/root/etc")).as_deref(),
        Some("8.1")
    );
    assert_eq!(
        v(Path::new("/opt/plesk/php/8.3/etc")).as_deref(),
        Some("8.3")
    );
    assert_eq!(v(Path::new("/usr/local/etc")), None);
    assert_eq!(v(Path::new("/etc/php-fpm.d")), None);
}

#[test]
fn relative_paths_resolve_against_the_pool_prefix() {
    // WordOps: `prefix = /var/run/php`, `listen = php82-fpm.sock`, nginx reaches
    // unix:/var/run/php/php82-fpm.sock through an upstream. Was a false U001.
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("php82").replace("http {\n", "http {\n  upstream php82 {\n    server unix:/var/run/php/php82-fpm.sock;\n  }\n")),
        ("etc/php/8.2/fpm/php-fpm.conf", "[global]\npid = /run/php/php8.2-fpm.pid\nerror_log = /var/log/php/8.2/fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n"),
        ("etc/php/8.2/fpm/pool.d/www-php82.conf", "[www-php82]\nuser = www-data\ngroup = www-data\nprefix = /var/run/php\nlisten = php82-fpm.sock\nlisten.owner = root\nlisten.group = www-data\nlisten.mode = 0660\npm = ondemand\npm.max_children = 20\nslowlog = slow-$pool.log\nrequest_slowlog_timeout = 5s\n"),
        ("etc/php/8.2/fpm/php.ini", "[PHP]\n"),
    ]);
    let (stack, findings) = check(t.path());
    let out = shown(&stack, &findings);
    assert!(!codes(&findings).contains(&"U001"), "{out}");
    let pool = &stack.pools[0];
    assert_eq!(
        pool.listen().map(|l| l.value.as_str()),
        Some("/var/run/php/php82-fpm.sock")
    );
    assert_eq!(
        pool.settings["slowlog"].value,
        "/var/run/php/slow-www-php82.log"
    );
    // The origin is still the line that was written.
    assert!(stack
        .display(pool.listen().and_then(|l| l.place()).expect("place"))
        .ends_with("www-php82.conf:5"));
    assert!(
        stack.php_locations().any(|(_, _, l)| !l.pools.is_empty()),
        "{out}"
    );

    // No pool prefix: relative to php-fpm's install prefix (/usr on a distribution,
    // /usr/local in the Docker image), and a relative prefix is taken from it too.
    let mut pool = stack.pools[0].clone();
    pool.settings.remove("prefix");
    pool.settings.insert(
        "listen".into(),
        wpstack::stack::Sourced::default("run/x.sock".into(), "test"),
    );
    wpstack::stack::php_model::apply_prefix(&mut pool, "/usr/local");
    assert_eq!(
        pool.listen().map(|l| l.value.as_str()),
        Some("/usr/local/run/x.sock")
    );
    let mut pool = stack.pools[0].clone();
    pool.settings.insert(
        "prefix".into(),
        wpstack::stack::Sourced::default("var/p".into(), "test"),
    );
    pool.settings.insert(
        "listen".into(),
        wpstack::stack::Sourced::default("9000".into(), "test"),
    );
    pool.settings.insert(
        "chroot".into(),
        wpstack::stack::Sourced::default("$prefix/jail".into(), "test"),
    );
    wpstack::stack::php_model::apply_prefix(&mut pool, "/usr");
    assert_eq!(
        pool.listen().map(|l| l.value.as_str()),
        Some("9000"),
        "a port stays a port"
    );
    assert_eq!(pool.settings["chroot"].value, "/usr/var/p/jail");
}

#[test]
fn t107_fix_on_a_container_logging_to_stderr_passes_php_fpm() {
    // Docker image: error_log = /proc/self/fd/2. The slowlog must not become
    // /proc/self/fd/2.$pool.slow.log (php-fpm -t: Unable to create or open slowlog).
    if !support::have_program("php-fpm8.2") {
        return;
    }
    let t = write_tree(&[
        ("usr/local/etc/php-fpm.conf", "[global]\nerror_log = /proc/self/fd/2\ndaemonize = no\ninclude=etc/php-fpm.d/*.conf\n"),
        ("usr/local/etc/php-fpm.d/www.conf", "[www]\nuser = www-data\ngroup = www-data\nlisten = 9000\npm = static\npm.max_children = 4\naccess.log = /proc/self/fd/2\n"),
        ("usr/local/etc/php/conf.d/x.ini", "memory_limit = 256M\n"),
    ]);
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .env("NO_COLOR", "1")
        .args([
            "check",
            "--fix",
            "--no-backup",
            "--select",
            "T107",
            "--root",
        ])
        .arg(t.path())
        .arg(t.path())
        .output()
        .expect("run");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(2), "{text}");
    let pool =
        std::fs::read_to_string(t.path().join("usr/local/etc/php-fpm.d/www.conf")).expect("read");
    assert!(
        pool.contains("slowlog = /var/log/php-fpm.$pool.slow.log"),
        "{pool}\n{text}"
    );
    assert!(!pool.contains("/proc/self/fd/2."), "{pool}");

    // What the old fix produced really stops php-fpm (the claim, measured).
    let bad = write_tree(&[(
        "php-fpm.conf",
        "[global]\nerror_log = /proc/self/fd/2\n[www]\nlisten = 127.0.0.1:9999\npm = static\npm.max_children = 1\nslowlog = /proc/self/fd/2.www.slow.log\nrequest_slowlog_timeout = 10s\n",
    )]);
    let o = std::process::Command::new("php-fpm8.2")
        .args(["-t", "-R", "-n", "-y"])
        .arg(bad.path().join("php-fpm.conf"))
        .arg("-p")
        .arg(bad.path())
        .output()
        .expect("php-fpm");
    let msg = String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{msg}");
    assert!(msg.contains("Unable to create or open slowlog"), "{msg}");
}

#[test]
fn d504_only_where_errors_reach_no_log() {
    // Debian-like pool: log_errors on, no error_log, catch_workers_output off.
    let tree = |nginx_error_log: &str, pool_extra: &str| {
        write_tree(&[
            ("etc/nginx/nginx.conf", &nginx("unix:/run/php/php8.2-fpm.sock").replace("http {\n", &format!("{nginx_error_log}http {{\n"))),
            ("etc/php/8.2/fpm/php-fpm.conf", "[global]\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n"),
            ("etc/php/8.2/fpm/pool.d/www.conf", &format!("[www]\nlisten = /run/php/php8.2-fpm.sock\n{POOL_BODY}{pool_extra}")),
            ("etc/php/8.2/fpm/php.ini", "[PHP]\nlog_errors = On\n"),
        ])
    };
    let d504 = |t: &tempfile::TempDir| {
        let (stack, f) = check(t.path());
        let out = shown(&stack, &f);
        (f.into_iter().filter(|f| f.code == "D504").count(), out)
    };
    // nginx's default error_log, or one at `error`/`warn`: the error is in nginx's log.
    for log in [
        "",
        "error_log /var/log/nginx/error.log;\n",
        "error_log /var/log/nginx/error.log warn;\n",
    ] {
        let (n, out) = d504(&tree(log, ""));
        assert_eq!(n, 0, "{log}\n{out}");
    }
    // nginx logging nowhere at `error`: reported, at nginx's error_log.
    for log in [
        "error_log /var/log/nginx/error.log crit;\n",
        "error_log /dev/null;\n",
    ] {
        let (n, out) = d504(&tree(log, ""));
        assert_eq!(n, 1, "{log}\n{out}");
        assert!(out.contains("logs them nowhere"), "{out}");
    }
    // fastcgi.logging off: the worker's stderr, kept only by catch_workers_output.
    let (n, out) = d504(&tree("", "php_admin_flag[fastcgi.logging] = off\n"));
    assert_eq!(n, 1, "{out}");
    let (n, out) = d504(&tree(
        "",
        "php_admin_flag[fastcgi.logging] = off\ncatch_workers_output = yes\n",
    ));
    assert_eq!(n, 0, "{out}");
    // log_errors off: always.
    let (n, out) = d504(&tree("", "php_admin_flag[log_errors] = off\n"));
    assert_eq!(n, 1, "{out}");
}

/// A Docker image that configures php-fpm from its environment (the pattern of images
/// such as `[${PHP_FPM_POOL_NAME}]`, `pm = ${PHP_FPM_PM_CONTROL}`).
fn env_image() -> tempfile::TempDir {
    write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("127.0.0.1:9000")),
        ("usr/local/etc/php-fpm.conf", "[global]\nerror_log = /proc/self/fd/2\ndaemonize = no\ninclude=etc/php-fpm.d/*.conf\n"),
        ("usr/local/etc/php-fpm.d/www.conf", "[${PHP_FPM_POOL_NAME}]\nuser = www-data\ngroup = www-data\nlisten = 127.0.0.1:9000\npm = ${PHP_FPM_PM_CONTROL}\npm.max_children = ${PHP_FPM_PM_MAX_CHILDREN}\npm.start_servers = 2\npm.min_spare_servers = 1\npm.max_spare_servers = 3\nrequest_terminate_timeout = ${PHP_FPM_TERMINATE}\n"),
        ("usr/local/etc/php/conf.d/docker-php-ext-opcache.ini", "zend_extension=opcache\n"),
        ("usr/local/etc/php/conf.d/zz-env.ini", "memory_limit = ${PHP_MEMORY_LIMIT}\npost_max_size = ${PHP_POST_MB}M\n"),
        ("app.env", "# the image's settings\nPHP_FPM_POOL_NAME=www\nPHP_FPM_PM_CONTROL=dynamic\nexport PHP_FPM_PM_MAX_CHILDREN=8\nPHP_FPM_TERMINATE=\"60s\"\nPHP_MEMORY_LIMIT='64M'\nPHP_POST_MB=64\n"),
    ])
}

#[test]
fn env_values_unknown_are_skipped_never_a_start_up_failure() {
    let t = env_image();
    let (stack, findings) = check(t.path());
    let out = shown(&stack, &findings);
    for bad in ["E004", "E006", "M301", "T103", "C203", "C201", "U001"] {
        assert!(!codes(&findings).contains(&bad), "{bad}\n{out}");
    }
    let pool = &stack.pools[0];
    assert_eq!(pool.name, "${PHP_FPM_POOL_NAME}");
    assert!(
        pool.setting("request_terminate_timeout").is_none(),
        "unknown, not the default 0"
    );
    assert!(
        pool.php("memory_limit").is_none(),
        "unknown, not PHP's default 128M"
    );
    let note = stack
        .notes
        .iter()
        .find(|n| n.contains("environment"))
        .expect("a note");
    for name in [
        "PHP_FPM_PM_CONTROL",
        "PHP_FPM_POOL_NAME",
        "PHP_MEMORY_LIMIT",
    ] {
        assert!(note.contains(name), "{note}");
    }
}

#[test]
fn env_values_given_are_checked_like_written_ones() {
    let t = env_image();
    // --env-file in Docker's format, and --env over it.
    let mut env = std::collections::BTreeMap::new();
    env.insert("PHP_FPM_PM_CONTROL".to_string(), "dynamc".to_string());
    let inputs = Inputs {
        env_files: vec![t.path().join("app.env")],
        env,
        ..Default::default()
    };
    let (stack, findings) = check_with(t.path(), inputs, HostFacts::default());
    let out = shown(&stack, &findings);
    let pool = &stack.pools[0];
    assert_eq!(pool.name, "www");
    assert_eq!(
        pool.php("memory_limit")
            .map(|s| s.text().to_string())
            .as_deref(),
        Some("64M")
    );
    assert_eq!(
        pool.setting("request_terminate_timeout")
            .map(|s| s.value)
            .as_deref(),
        Some("60s")
    );
    // The typo given on the command line is php-fpm's own error; the env file's value is checked.
    assert!(
        codes(&findings).contains(&"E004") || codes(&findings).contains(&"E006"),
        "{out}"
    );
    assert!(codes(&findings).contains(&"M301"), "{out}");
    assert!(
        stack.notes.iter().all(|n| !n.contains("environment")),
        "{:?}",
        stack.notes
    );

    // Through the command line and wpstack.toml's [env].
    std::fs::write(t.path().join("wpstack.toml"), "[env]\nPHP_FPM_POOL_NAME = \"www\"\nPHP_FPM_PM_CONTROL = \"static\"\nPHP_FPM_PM_MAX_CHILDREN = 8\nPHP_FPM_TERMINATE = \"60s\"\n").expect("toml");
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args([
            "check",
            "--format",
            "json",
            "--exit-zero",
            "--ram",
            "2G",
            "--cpus",
            "2",
            "--env",
            "PHP_MEMORY_LIMIT=1G",
            "--root",
        ])
        .arg(t.path())
        .arg(t.path())
        .output()
        .expect("run");
    let found = support::finding_codes(&out.stdout);
    assert!(
        found
            .iter()
            .all(|c| c != "E006" && c != "E004" && c != "M301"),
        "{found:?}"
    );
    // 8 × 1G > the 2 GB budget: C203 sees the value given with --env.
    assert!(
        found.iter().any(|c| c == "C203" || c == "C201"),
        "{found:?}"
    );
    let bad = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["check", "--env", "NOT A PAIR"])
        .arg(t.path())
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

const BEDROCK_WP_CONFIG: &str = "<?php\n\n/**\n * Do not edit this file. Edit the config files found in the config/ dir instead.\n */\nrequire_once dirname(__DIR__) . '/vendor/autoload.php';\nrequire_once dirname(__DIR__) . '/config/application.php';\nrequire_once ABSPATH . 'wp-settings.php';\n";

const BEDROCK_APPLICATION: &str = "<?php\n\nuse Roots\\WPConfig\\Config;\nuse function Env\\env;\n\n$root_dir = dirname(__DIR__);\n$webroot_dir = $root_dir . '/web';\n\n$dotenv = Dotenv\\Dotenv::createUnsafeImmutable($root_dir, ['.env'], false);\nif (file_exists($root_dir . '/.env')) {\n    $dotenv->load();\n}\n\ndefine('WP_ENV', env('WP_ENV') ?: 'production');\n\nConfig::define('DB_NAME', env('DB_NAME'));\nConfig::define('DB_PASSWORD', env('DB_PASSWORD'));\nConfig::define('AUTH_KEY', env('AUTH_KEY'));\nConfig::define('SECURE_AUTH_KEY', env('SECURE_AUTH_KEY'));\nConfig::define('LOGGED_IN_KEY', env('LOGGED_IN_KEY'));\nConfig::define('NONCE_KEY', env('NONCE_KEY'));\nConfig::define('AUTH_SALT', env('AUTH_SALT'));\nConfig::define('SECURE_AUTH_SALT', env('SECURE_AUTH_SALT'));\nConfig::define('LOGGED_IN_SALT', env('LOGGED_IN_SALT'));\nConfig::define('NONCE_SALT', env('NONCE_SALT'));\nConfig::define('AUTOMATIC_UPDATER_DISABLED', true);\nConfig::define('DISALLOW_FILE_EDIT', true);\nConfig::define('DISALLOW_FILE_MODS', true);\nConfig::define('WP_DEBUG', env('WP_DEBUG') ?: false);\nConfig::define('WP_DEBUG_DISPLAY', false);\nConfig::define('WP_DEBUG_LOG', env('WP_DEBUG_LOG') ?? false);\nini_set('display_errors', '0');\n\n$env_config = __DIR__ . '/environments/' . WP_ENV . '.php';\nif (file_exists($env_config)) {\n    require_once $env_config;\n}\n\nConfig::apply();\n\nif (!defined('ABSPATH')) {\n    define('ABSPATH', $webroot_dir . '/wp/');\n}\n";

fn bedrock(env: &str) -> tempfile::TempDir {
    write_tree(&[
        (
            "etc/nginx/nginx.conf",
            &nginx("unix:/run/php/php8.2-fpm.sock").replace("root /srv/www;", "root /srv/app/web;"),
        ),
        ("srv/app/web/wp-config.php", BEDROCK_WP_CONFIG),
        ("srv/app/web/index.php", "<?php\n"),
        ("srv/app/config/application.php", BEDROCK_APPLICATION),
        ("srv/app/.env", env),
    ])
}

#[test]
fn bedrock_constants_come_from_config_application_and_env() {
    let t = bedrock("DB_NAME='wp'\nWP_ENV='production'\nWP_DEBUG=true\n");
    let (stack, findings) = check(t.path());
    let out = shown(&stack, &findings);
    assert_eq!(stack.wp.len(), 1, "{out}");
    let wp = &stack.wp[0];
    assert_eq!(
        wp.included.len(),
        1,
        "config/application.php followed; vendor/ and wp-settings.php not"
    );
    let at = |name: &str| stack.display(wp.constants[name].statement.expect("statement"));
    assert!(
        at("DISALLOW_FILE_EDIT").starts_with("srv/app/config/application.php:"),
        "{}",
        at("DISALLOW_FILE_EDIT")
    );
    // Set through Config::define in another file: S605 is not a finding.
    assert!(!codes(&findings).contains(&"S605"), "{out}");
    // env('WP_DEBUG') from .env: true; D501 names application.php.
    assert_eq!(
        wp.constants["WP_DEBUG"].value.value,
        wpstack::syntax::php::PhpValue::Bool(true)
    );
    let d501: Vec<_> = findings.iter().filter(|f| f.code == "D501").collect();
    assert_eq!(d501.len(), 1, "{out}");
    assert!(
        stack
            .display(d501[0].primary.expect("place"))
            .starts_with("srv/app/config/application.php"),
        "{out}"
    );
    // Keys from .env that is silent about them stay computed, not "missing".
    assert!(!codes(&findings).contains(&"S603"), "{out}");
    assert!(matches!(
        wp.constants["AUTH_KEY"].value.value,
        wpstack::syntax::php::PhpValue::Computed(_)
    ));

    // WP_DEBUG unset in .env: `env('WP_DEBUG') ?: false` is false.
    let t = bedrock("DB_NAME='wp'\n");
    let (stack, findings) = check(t.path());
    assert!(
        !codes(&findings).contains(&"D501"),
        "{}",
        shown(&stack, &findings)
    );
}

#[test]
fn fixes_never_define_a_constant_another_loaded_file_defines() {
    // The common `wp-config-local.php` pattern, loaded before wp-config.php's own
    // defines: a fix edits the define that runs, in the file that holds it.
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("unix:/run/php/php8.2-fpm.sock")),
        ("srv/www/index.php", "<?php\n"),
        ("srv/www/wp-config.php", "<?php\nif ( file_exists( dirname( __FILE__ ) . '/wp-config-local.php' ) ) {\n\tinclude( dirname( __FILE__ ) . '/wp-config-local.php' );\n}\nrequire_once __DIR__ . '/wp-config-keys.php';\ndefine( 'DB_NAME', 'wp' );\n$table_prefix = 'wp_';\n/* That's all, stop editing! Happy publishing. */\nif ( ! defined( 'ABSPATH' ) ) {\n\tdefine( 'ABSPATH', __DIR__ . '/' );\n}\nrequire_once ABSPATH . 'wp-settings.php';\n"),
        ("srv/www/wp-config-local.php", "<?php\ndefine( 'DISALLOW_FILE_EDIT', false );\ndefine( 'WP_DEBUG', false );\n"),
        ("srv/www/wp-config-keys.php", "<?php\ndefine( 'AUTH_KEY', 'put your unique phrase here' );\n"),
    ]);
    let (stack, findings) = check(t.path());
    let out = shown(&stack, &findings);
    let s605: Vec<_> = findings.iter().filter(|f| f.code == "S605").collect();
    assert_eq!(s605.len(), 1, "{out}");
    let fix = s605[0].fix.as_ref().expect("a fix");
    for e in &fix.edits {
        let f = &stack.sources.get(e.file).display;
        assert_eq!(
            f, "srv/www/wp-config-local.php",
            "the fix edits the file that defines it"
        );
        let r = String::from_utf8_lossy(&e.replacement);
        assert!(!r.contains("define("), "{r}");
    }
    // S603 sees the keys file.
    let s603: Vec<_> = findings.iter().filter(|f| f.code == "S603").collect();
    assert_eq!(s603.len(), 1, "{out}");
}

#[test]
fn a_require_of_a_variable_assigned_a_literal_path_is_followed() {
    // DDEV: `$ddev_settings = __DIR__ . '/wp-config-ddev.php';` … `require_once( $ddev_settings );`
    let t = write_tree(&[
        ("etc/nginx/nginx.conf", &nginx("unix:/run/php/php8.2-fpm.sock")),
        ("srv/www/index.php", "<?php\n"),
        ("srv/www/wp-config.php", "<?php\n$ddev_settings = __DIR__ . '/wp-config-ddev.php';\nif ( getenv( 'IS_DDEV_PROJECT' ) === 'true' && is_readable( $ddev_settings ) ) {\n\trequire_once( $ddev_settings );\n}\n$x = $y;\nrequire $x;\nrequire_once ABSPATH . 'wp-settings.php';\n"),
        ("srv/www/wp-config-ddev.php", "<?php\ndefined( 'DISALLOW_FILE_EDIT' ) || define( 'DISALLOW_FILE_EDIT', true );\nrequire __DIR__ . '/wp-config.php';\n"),
    ]);
    let (stack, findings) = check(t.path());
    assert_eq!(
        stack.wp[0].included.len(),
        1,
        "followed once; the cycle back is cut"
    );
    assert!(stack.wp[0].constants.contains_key("DISALLOW_FILE_EDIT"));
    assert!(
        !codes(&findings).contains(&"S605")
            || stack.wp[0].constants["DISALLOW_FILE_EDIT"].conditional
    );
}

/// The field stacks of ../shared/corpus/field, read in place: the false findings of
/// issue 12 on real hosts are gone (each line: stack, code, why it was false).
#[test]
fn field_stacks_have_none_of_the_false_php_findings() {
    let corpus = corpus_or_skip!();
    let field = corpus.join("field");
    if !field.is_dir() {
        println!("skipped: ../shared/corpus/field not found");
        return;
    }
    let gone: &[(&str, &str, &str)] = &[
        (
            "rhel-fedora-php82",
            "E006",
            "php-fpm.conf includes /etc/php-fpm.d; nginx's conf.d/php-fpm.conf is an upstream",
        ),
        (
            "rhel-fedora-php82",
            "M303",
            "/etc/php.d/10-opcache.ini loads opcache",
        ),
        (
            "ddev-nginx-fpm-php84",
            "E006",
            "no pool sets user: an unprivileged master",
        ),
        (
            "lando-wordpress-nginx",
            "E003",
            "zz-lando.conf re-opens [www] on purpose",
        ),
        (
            "lando-wordpress-nginx",
            "M301",
            "memory_limit = ${PHP_MEMORY_LIMIT} is unknown, not empty",
        ),
        (
            "lando-wordpress-nginx",
            "D504",
            "errors reach nginx's log (fastcgi.logging)",
        ),
        (
            "hestiacp-debian12",
            "E003",
            "www.conf re-opens dummy.conf's [www]",
        ),
        (
            "alpine-linuxserver-php82",
            "D504",
            "errors reach nginx's log (fastcgi.logging)",
        ),
        (
            "debian12-wordpress-pkg",
            "D504",
            "errors reach nginx's log (fastcgi.logging)",
        ),
    ];
    for (stack_name, code, why) in gone {
        let dir = field.join(stack_name);
        if !dir.is_dir() {
            println!("skipped: {stack_name} not in the field corpus");
            continue;
        }
        let (stack, findings) = check(&dir);
        assert!(
            !codes(&findings).contains(code),
            "{stack_name}: {code} ({why})\n{}",
            shown(&stack, &findings)
        );
        println!("field {stack_name}: no {code} — {why}");
    }
    // What the layouts now read.
    let (stack, _) = check(&field.join("rhel-fedora-php82"));
    assert_eq!(stack.pools.len(), 1);
    assert!(stack.fpm[0].scan_dir.len() > 20, "/etc/php.d read");
    let (stack, findings) = check(&field.join("lando-wordpress-nginx"));
    assert!(
        stack.pools[0].ini_known,
        "the Docker image's built-in defaults are known"
    );
    assert!(
        codes(&findings).contains(&"D502"),
        "display_errors = on in conf.d is seen now"
    );
}
