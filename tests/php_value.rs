//! `fastcgi_param PHP_VALUE` / `PHP_ADMIN_VALUE` in the model: parsed as php-fpm parses
//! them, effective per location with the nginx line as origin, over the pool's
//! php_admin_value, and seen by the rules that compare PHP settings.

mod support;

use wpstack::engine;
use wpstack::finding::Finding;
use wpstack::machine::host;
use wpstack::settings::Settings;
use wpstack::stack::discover::{self, Inputs};
use wpstack::stack::{Stack, Via};

const FPM: &str = "[global]\nerror_log = /var/log/fpm.log\n\n[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 4\nrequest_terminate_timeout = 100s\nphp_admin_value[memory_limit] = 256M\n";

const INI: &str = "[PHP]\nmax_execution_time = 30\nmemory_limit = 128M\npost_max_size = 8M\nupload_max_filesize = 2M\n";

fn nginx(php_location_extra: &str) -> String {
    format!(
        "user www-data;\nevents {{}}\nhttp {{\n    server {{\n        listen 80;\n        server_name a.example;\n        root /var/www/a;\n        location ~* /(?:uploads|files)/.*\\.php$ {{ deny all; }}\n        location ~ \\.php$ {{\n            try_files $uri =404;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n{php_location_extra}            fastcgi_read_timeout 120s;\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }}\n    }}\n}}\n"
    )
}

fn load(nginx_conf: &str) -> (tempfile::TempDir, Stack) {
    let dir = support::write_tree(&[
        ("etc/nginx/nginx.conf", nginx_conf),
        ("etc/php/8.2/fpm/php-fpm.conf", FPM),
        ("etc/php/8.2/fpm/php.ini", INI),
    ]);
    let stack = discover::load(&Inputs {
        paths: vec![dir.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    (dir, stack)
}

fn run(stack: &Stack) -> Vec<Finding> {
    let h = host::resolve(&Default::default(), &Default::default(), false);
    engine::run(stack, &Settings::default(), &h)
}

fn php_location(stack: &Stack) -> (&wpstack::stack::Nginx, &wpstack::stack::Location) {
    let (n, _, l) = stack.php_locations().next().expect("a PHP location");
    (n, l)
}

#[test]
fn php_value_is_parsed_like_php_fpm_with_its_nginx_line() {
    // `\n` escapes (nginx turns them into newlines), blanks around entries, a real
    // newline inside the quotes, a comment, a section and an array entry php-fpm refuses.
    let conf = nginx(
        "            fastcgi_param PHP_VALUE \"max_execution_time=600 \\n post_max_size = 64M\n  display_errors=Off ; comment\n[x]\nfoo[]=1\";\n",
    );
    let (_d, stack) = load(&conf);
    let (n, loc) = php_location(&stack);
    let vals = stack.nginx_php_values(n, loc.scope);
    let keys: Vec<_> = vals.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(
        keys,
        ["max_execution_time", "post_max_size", "display_errors"]
    );
    let met = stack
        .php_at(n, loc, loc.pools[0], "max_execution_time")
        .expect("value");
    assert_eq!(met.text(), "600");
    assert_eq!(met.via, Via::NginxPhpValue);
    let origin = stack.origin_text(&met.value.origin);
    assert!(origin.ends_with("nginx.conf:12"), "{origin}");
    let de = stack
        .php_at(n, loc, loc.pools[0], "display_errors")
        .unwrap();
    assert_eq!(de.text(), "", "Off is stored as the empty string");
    assert_eq!(
        stack
            .php_at(n, loc, loc.pools[0], "post_max_size")
            .unwrap()
            .text(),
        "64M"
    );
}

#[test]
fn nginx_values_win_over_the_pool_and_php_admin_value_from_nginx_over_php_value() {
    let conf = nginx(
        "            fastcgi_param PHP_VALUE \"memory_limit=512M\\nmax_execution_time=100\";\n            fastcgi_param PHP_ADMIN_VALUE \"max_execution_time=90\";\n",
    );
    let (_d, stack) = load(&conf);
    let (n, loc) = php_location(&stack);
    let pid = loc.pools[0];
    // Even over the pool's php_admin_value: the request that sends it runs with it.
    let ml = stack.php_at(n, loc, pid, "memory_limit").unwrap();
    assert_eq!((ml.text(), ml.via), ("512M", Via::NginxPhpValue));
    let met = stack.php_at(n, loc, pid, "max_execution_time").unwrap();
    assert_eq!((met.text(), met.via), ("90", Via::NginxPhpAdminValue));
    assert!(met.via.locked(), "PHP_ADMIN_VALUE locks against ini_set");
    // What a worker of the pool may hold: php.ini's 30 and nginx's 90.
    let variants: Vec<String> = stack
        .php_variants(pid, "max_execution_time")
        .iter()
        .map(|s| s.text().to_string())
        .collect();
    assert_eq!(variants, ["30", "100", "90"]);
}

#[test]
fn t101_sees_max_execution_time_sent_by_nginx() {
    let (_d, stack) = load(&nginx(""));
    assert!(
        !run(&stack).iter().any(|f| f.code == "T101"),
        "30 s under a 120 s read timeout is fine"
    );
    let (_d, stack) = load(&nginx(
        "            fastcgi_param PHP_VALUE \"max_execution_time=600\";\n",
    ));
    let findings = run(&stack);
    let t101: Vec<_> = findings.iter().filter(|f| f.code == "T101").collect();
    assert_eq!(t101.len(), 1, "{findings:#?}");
    assert!(
        t101[0].message.contains("max_execution_time 600")
            && t101[0].message.contains("fastcgi_param PHP_VALUE"),
        "{}",
        t101[0].message
    );
}

#[test]
fn a_dynamic_value_is_not_taken_as_a_number() {
    let (_d, stack) = load(&nginx(
        "            fastcgi_param PHP_ADMIN_VALUE \"open_basedir=$document_root:/tmp\\nmax_execution_time=$x\";\n",
    ));
    let (n, loc) = php_location(&stack);
    let vals = stack.nginx_php_values(n, loc.scope);
    assert!(vals.iter().all(|v| v.dynamic));
    let met = stack
        .php_at(n, loc, loc.pools[0], "max_execution_time")
        .unwrap();
    assert_eq!(met.text(), "30");
}
