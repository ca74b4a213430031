//! S609, S610 and E008 on their edges: what a sysadmin would not want reported.

mod support;

use wpstack::engine;
use wpstack::finding::Finding;
use wpstack::machine::host;
use wpstack::settings::Settings;
use wpstack::stack::discover::{self, Inputs};

const POOL: &str = "[global]\nerror_log = /var/log/fpm.log\n\n[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 4\n";

fn server(name: &str, root: &str, extra: &str) -> String {
    format!(
        "    server {{\n        listen 80;\n        server_name {name};\n        root {root};\n        location ~* /(?:uploads|files)/.*\\.php$ {{ deny all; }}\n        location ~ \\.php$ {{\n            try_files $uri =404;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n{extra}            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }}\n    }}\n"
    )
}

fn run(files: &[(&str, &str)]) -> Vec<Finding> {
    let dir = support::write_tree(files);
    let stack = discover::load(&Inputs {
        paths: vec![dir.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let h = host::resolve(&Default::default(), &Default::default(), false);
    engine::run(&stack, &Settings::default(), &h)
}

fn codes(f: &[Finding], code: &str) -> Vec<String> {
    f.iter()
        .filter(|f| f.code == code)
        .map(|f| f.message.clone())
        .collect()
}

const WP: &str =
    "<?php\ndefine( 'DISALLOW_FILE_EDIT', true );\nrequire_once ABSPATH . 'wp-settings.php';\n";

#[test]
fn s609_two_installs_yes_one_install_on_two_server_blocks_no() {
    let two = format!(
        "user www-data;\nevents {{}}\nhttp {{\n{}{}}}\n",
        server("a.example", "/var/www/a", ""),
        server("b.example", "/var/www/b", "")
    );
    let f = run(&[
        ("etc/nginx/nginx.conf", &two),
        ("etc/php/8.2/fpm/php-fpm.conf", POOL),
        ("var/www/a/wp-config.php", WP),
        ("var/www/b/wp-config.php", WP),
    ]);
    let s609 = codes(&f, "S609");
    assert_eq!(s609.len(), 1, "{f:#?}");
    assert!(s609[0].contains("a.example") && s609[0].contains("b.example"));
    // www and bare domain: two server blocks, one root, one wp-config.php.
    let same = format!(
        "user www-data;\nevents {{}}\nhttp {{\n{}{}}}\n",
        server("a.example", "/var/www/a", ""),
        server("www.a.example", "/var/www/a", "")
    );
    let f = run(&[
        ("etc/nginx/nginx.conf", &same),
        ("etc/php/8.2/fpm/php-fpm.conf", POOL),
        ("var/www/a/wp-config.php", WP),
    ]);
    assert!(codes(&f, "S609").is_empty(), "{:?}", codes(&f, "S609"));
    // open_basedir is mentioned when set.
    let f = run(&[
        ("etc/nginx/nginx.conf", &two),
        (
            "etc/php/8.2/fpm/php-fpm.conf",
            &format!("{POOL}php_admin_value[open_basedir] = /var/www:/tmp\n"),
        ),
        ("var/www/a/wp-config.php", WP),
        ("var/www/b/wp-config.php", WP),
    ]);
    assert!(codes(&f, "S609")[0].contains("open_basedir /var/www:/tmp"));
}

#[test]
fn s610_only_for_a_key_the_other_site_does_not_send_and_the_pool_does_not_lock() {
    let pv = "            fastcgi_param PHP_VALUE \"upload_max_filesize=64M\";\n";
    let conf = |b_extra: &str| {
        format!(
            "user www-data;\nevents {{}}\nhttp {{\n    client_max_body_size 64m;\n{}{}}}\n",
            server("a.example", "/var/www/a", pv),
            server("b.example", "/var/www/b", b_extra)
        )
    };
    let leak = run(&[
        ("etc/nginx/nginx.conf", &conf("")),
        ("etc/php/8.2/fpm/php-fpm.conf", POOL),
    ]);
    let s610 = codes(&leak, "S610");
    assert_eq!(s610.len(), 1, "{leak:#?}");
    assert!(s610[0].contains("upload_max_filesize=64M") && s610[0].contains("b.example"));
    // b sends the key itself: replaced on each of its requests.
    let own = "            fastcgi_param PHP_VALUE \"upload_max_filesize=8M\";\n";
    let f = run(&[
        ("etc/nginx/nginx.conf", &conf(own)),
        ("etc/php/8.2/fpm/php-fpm.conf", POOL),
    ]);
    assert!(codes(&f, "S610").is_empty());
    // The pool locks the key: nginx cannot change it.
    let f = run(&[
        ("etc/nginx/nginx.conf", &conf("")),
        (
            "etc/php/8.2/fpm/php-fpm.conf",
            &format!("{POOL}php_admin_value[upload_max_filesize] = 32M\n"),
        ),
    ]);
    assert!(codes(&f, "S610").is_empty());
}

#[test]
fn e008_judges_only_what_php_would_ignore() {
    let nginx = format!(
        "user www-data;\nevents {{}}\nhttp {{\n{}}}\n",
        server("a.example", "/var/www/a", "")
    );
    let ini = "[PHP]\nengine = On\nmemory_limt = 256M\nnewrelic.appname = \"shop\"\nopcache.memory_consumtion = 256\nmagic_quotes_gpc = Off\nregister_globals = On\nmysqli.reconnect = Off\n";
    let f = run(&[
        ("etc/nginx/nginx.conf", &nginx),
        ("etc/php/8.2/fpm/php-fpm.conf", POOL),
        ("etc/php/8.2/fpm/php.ini", ini),
    ]);
    let e008 = codes(&f, "E008");
    assert_eq!(e008.len(), 3, "{e008:#?}");
    assert!(e008[0].contains("`memory_limt`") && e008[0].contains("Did you mean `memory_limit`"));
    assert!(e008[1].contains("Did you mean `opcache.memory_consumption`"));
    assert!(e008[2].contains("`register_globals`") && e008[2].contains("no longer available"));
    // PHP 7.4: outside the table's versions, not judged.
    let f = run(&[
        ("etc/nginx/nginx.conf", &nginx.replace("8.2", "7.4")),
        ("etc/php/7.4/fpm/php-fpm.conf", &POOL.replace("8.2", "7.4")),
        ("etc/php/7.4/fpm/php.ini", ini),
    ]);
    assert!(codes(&f, "E008").is_empty(), "{:?}", codes(&f, "E008"));
}
