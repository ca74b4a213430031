//! The demo and model stacks: `dump` snapshots (inheritance, upstreams, TCP and unix
//! pools, php.ini precedence, wp-config placement, two PHP versions), a healthy host
//! with no error or warning, and a broken host whose planted problems are each found
//! exactly once at the right place.

mod support;

use support::fixtures;
use wpstack::finding::{Finding, Severity};
use wpstack::settings::{self, Settings, Thresholds};
use wpstack::stack::discover::{self, Inputs};
use wpstack::stack::Stack;
use wpstack::tune::host;

fn load(dir: &std::path::Path) -> Stack {
    discover::load(&Inputs {
        paths: vec![dir.to_path_buf()],
        ..Default::default()
    })
    .expect("load")
}

/// Check a stack with its own wpstack.toml, never measuring this machine.
fn check(dir: &std::path::Path) -> (Stack, Vec<Finding>) {
    let mut s = Settings::default();
    let mut configured = Default::default();
    let cfg = dir.join("wpstack.toml");
    if cfg.is_file() {
        let fs = settings::read_config(&cfg).expect("wpstack.toml");
        if let Some(p) = fs.profile {
            s.profile = p;
            s.thresholds = Thresholds::for_profile(p);
        }
        configured = fs.host;
    }
    let h = host::resolve(&Default::default(), &configured, false);
    let stack = load(dir);
    let findings = wpstack::engine::run(&stack, &s, &h);
    (stack, findings)
}

fn at(stack: &Stack, f: &Finding) -> String {
    match f.primary {
        Some(p) => stack.display(p),
        None => "-".into(),
    }
}

#[test]
fn dump_of_the_model_stack() {
    let stack = load(&fixtures().join("stacks/model"));
    let json = wpstack::stack::dump::dump(&stack, true);
    insta::assert_json_snapshot!("dump_model_show_origin", json);

    // The facts the snapshot shows, asserted so a reader need not diff JSON.
    let site = |name: &str| {
        stack.nginx[0]
            .sites
            .iter()
            .find(|s| s.server_names.iter().any(|n| n == name))
            .expect(name)
    };
    let n = &stack.nginx[0];
    let a = site("a.example");
    let b = site("b.example");
    let (la, lb) = (&a.locations[0], &b.locations[0]);
    // fastcgi_read_timeout: a inherits http's 90s, b overrides with 300s.
    assert_eq!(
        n.effective_value(la.scope, "fastcgi_read_timeout")
            .unwrap()
            .value,
        "90s"
    );
    assert_eq!(
        n.effective_value(lb.scope, "fastcgi_read_timeout")
            .unwrap()
            .value,
        "300s"
    );
    // fastcgi_param: a sets its own, so http's are not inherited; b inherits http's two.
    assert_eq!(n.effective_all(la.scope, "fastcgi_param").len(), 1);
    assert_eq!(n.effective_all(lb.scope, "fastcgi_param").len(), 2);
    // Upstream resolution: a's `php82` upstream reaches the unix pool and the TCP pool.
    let names = |l: &wpstack::stack::Location| -> Vec<String> {
        l.pools
            .iter()
            .map(|p| stack.pools[*p].name.clone())
            .collect()
    };
    assert_eq!(names(la), ["www", "tcp"]);
    assert_eq!(names(lb), ["legacy"]);
    assert_eq!(names(&site("c.example").locations[0]), ["bare"]);
    // PHP precedence: php.ini 128M < scan dir 192M < pool php_admin_value 256M.
    let www = stack.pools.iter().find(|p| p.name == "www").unwrap();
    assert_eq!(www.php("memory_limit").unwrap().text(), "256M");
    assert_eq!(www.php("post_max_size").unwrap().text(), "48M");
    let tcp = stack.pools.iter().find(|p| p.name == "tcp").unwrap();
    assert_eq!(tcp.php("memory_limit").unwrap().text(), "192M");
    // Two PHP versions side by side.
    let mut versions: Vec<_> = stack.fpm.iter().filter_map(|f| f.version.clone()).collect();
    versions.sort();
    assert_eq!(versions, ["8.1", "8.2"]);
    // wp-config one level above a's root, and in b's root.
    assert_eq!(stack.wp.len(), 2);
    assert!(stack.wp.iter().all(|w| w.sites.len() == 1));
}

#[test]
fn healthy_stack_has_no_error_or_warning() {
    let (stack, findings) = check(&fixtures().join("stacks/healthy"));
    let bad: Vec<String> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| format!("{} {} {}", f.code, at(&stack, f), f.message))
        .collect();
    assert!(bad.is_empty(), "healthy stack:\n{}", bad.join("\n"));
    assert!(stack.problems.is_empty(), "{:?}", stack.problems);
}

/// (code, file:line) of every problem planted in fixtures/stacks/broken.
const PLANTED: &[(&str, &str)] = &[
    ("D505", "etc/nginx/nginx.conf:4"),
    ("P401", "etc/nginx/nginx.conf:30"),
    ("S601", "etc/nginx/sites-enabled/blog.example.com.conf:14"),
    ("U001", "etc/nginx/sites-enabled/blog.example.com.conf:16"),
    ("P402", "etc/nginx/sites-enabled/blog.example.com.conf:17"),
    ("S602", "etc/nginx/sites-enabled/shop.example.com.conf:19"),
    ("T101", "etc/nginx/sites-enabled/shop.example.com.conf:21"),
    ("M303", "etc/php/8.2/fpm/conf.d/10-opcache.ini:5"),
    ("S604", "etc/php/8.2/fpm/php.ini:23"),
    ("E004", "etc/php/8.2/fpm/php.ini:67"),
    ("S606", "etc/php/8.2/fpm/php.ini:75"),
    ("C204", "etc/php/8.2/fpm/pool.d/shop.conf:2"),
    // No error_log in the pool: PHP sends its errors to nginx, whose error_log is at crit.
    ("D504", "etc/nginx/nginx.conf:4"),
    ("T103", "etc/php/8.2/fpm/pool.d/shop.conf:2"),
    ("U002", "etc/php/8.2/fpm/pool.d/shop.conf:7"),
    ("C201", "etc/php/8.2/fpm/pool.d/shop.conf:13"),
    ("T102", "etc/php/8.2/fpm/pool.d/www.conf:24"),
    ("D501", "var/www/blog.example.com/wp-config.php:32"),
    ("D502", "var/www/blog.example.com/wp-config.php:32"),
    ("D503", "var/www/blog.example.com/wp-config.php:33"),
    ("S603", "var/www/shop.example.com/wp-config.php:21"),
    ("M302", "var/www/shop.example.com/wp-config.php:36"),
    // The database (etc/mysql, new files; the shop pool's socket line is appended).
    ("B801", "etc/mysql/mariadb.conf.d/50-server.cnf:20"),
    ("B803", "etc/mysql/mariadb.conf.d/50-server.cnf:21"),
    ("B804", "etc/mysql/mariadb.conf.d/50-server.cnf:22"),
    ("B802", "var/www/blog.example.com/wp-config.php:12"),
];

#[test]
fn broken_stack_gives_each_planted_problem_once() {
    let (stack, findings) = check(&fixtures().join("stacks/broken"));
    let got: Vec<(String, String)> = findings
        .iter()
        .map(|f| (f.code.to_string(), at(&stack, f)))
        .collect();
    let mut missing = Vec::new();
    for (code, place) in PLANTED {
        let n = got.iter().filter(|(c, p)| c == code && p == place).count();
        if n != 1 {
            missing.push(format!("{code} at {place}: found {n} times"));
        }
    }
    // Nothing else at error/warning level beyond what was planted.
    let extra: Vec<String> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .filter(|f| {
            !PLANTED
                .iter()
                .any(|(c, p)| *c == f.code && *p == at(&stack, f))
        })
        .map(|f| format!("{} {} {}", f.code, at(&stack, f), f.message))
        .collect();
    println!(
        "broken stack: {} findings, {} planted problems checked",
        findings.len(),
        PLANTED.len()
    );
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing:\n{}\nunexpected:\n{}\nall:\n{}",
        missing.join("\n"),
        extra.join("\n"),
        got.iter()
            .map(|(c, p)| format!("{c} {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
