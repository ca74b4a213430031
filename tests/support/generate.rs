#![allow(dead_code)]
//! A synthetic host with N WordPress sites (3 files each: an nginx site, a pool, a
//! wp-config.php, plus the shared main files), with problems planted at known rates.
//! Used by the exact-count test and by the benchmark.

use std::fmt::Write as _;
use std::path::Path;

/// Every `k`-th site (site 0 included) gets problem `code`.
pub const PLANTED: &[(&str, usize)] = &[
    ("U001", 10),
    ("T102", 7),
    ("P402", 11),
    ("D501", 13),
    ("S603", 17),
];

/// How many of `n` sites get the problem planted every `k` sites.
pub fn expected(n: usize, k: usize) -> usize {
    n.div_ceil(k)
}

fn planted(code: &str, i: usize) -> bool {
    PLANTED.iter().any(|(c, k)| *c == code && i % k == 0)
}

pub fn write(dir: &Path, n: usize) {
    let w = |p: &str, s: &str| {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, s).expect("write");
    };
    // Enough RAM that the pools fit (capacity is not what this host tests).
    let ram_gb = (n * 2 * 64 * 2 / 1024 + 8).max(8);
    w(
        "wpstack.toml",
        &format!("[host]\nram = \"{ram_gb}G\"\ncpus = 32\n"),
    );
    w(
        "etc/nginx/nginx.conf",
        "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\nerror_log /var/log/nginx/error.log;\n\nevents {\n\tworker_connections 4096;\n}\n\nhttp {\n\tsendfile on;\n\tclient_max_body_size 64m;\n\tfastcgi_read_timeout 60s;\n\tfastcgi_buffer_size 32k;\n\tfastcgi_buffers 16 16k;\n\tinclude /etc/nginx/sites-enabled/*.conf;\n}\n",
    );
    w(
        "etc/php/8.2/fpm/php-fpm.conf",
        "[global]\npid = /run/php/php8.2-fpm.pid\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
    );
    w(
        "etc/php/8.2/fpm/php.ini",
        "[PHP]\nexpose_php = Off\nmax_execution_time = 30\nmax_input_vars = 5000\nmemory_limit = 256M\ndisplay_errors = Off\nlog_errors = On\npost_max_size = 64M\nupload_max_filesize = 64M\ncgi.fix_pathinfo = 0\nallow_url_include = Off\ndefault_socket_timeout = 30\n",
    );
    w(
        "etc/php/8.2/fpm/conf.d/10-opcache.ini",
        "zend_extension=opcache.so\nopcache.enable=1\nopcache.memory_consumption=256\nopcache.max_accelerated_files=20000\n",
    );
    let mut key = String::new();
    for i in 0..n {
        let name = format!("site{i:04}");
        let sock = if planted("U001", i) {
            format!("/run/php/{name}-php8.1.sock")
        } else {
            format!("/run/php/{name}.sock")
        };
        let buffer = if planted("P402", i) {
            "\t\tfastcgi_buffer_size 4k;\n"
        } else {
            ""
        };
        w(
            &format!("etc/nginx/sites-enabled/{name}.conf"),
            &format!(
                "server {{\n\tlisten 80;\n\tserver_name {name}.example.com;\n\troot /var/www/{name};\n\tindex index.php;\n\n\tlocation ~* /(?:uploads|files)/.*\\.php$ {{\n\t\tdeny all;\n\t}}\n\tlocation = /wp-content/debug.log {{\n\t\tdeny all;\n\t}}\n\tlocation ~ /\\.(?!well-known/) {{\n\t\tdeny all;\n\t}}\n\tlocation ~* /wp-config\\.php. {{\n\t\tdeny all;\n\t}}\n\tlocation / {{\n\t\ttry_files $uri $uri/ /index.php?$args;\n\t}}\n\tlocation ~ \\.php$ {{\n\t\ttry_files $uri =404;\n\t\tfastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n\t\tfastcgi_pass unix:{sock};\n{buffer}\t}}\n}}\n"
            ),
        );
        let rtt = if planted("T102", i) { "20s" } else { "40s" };
        w(
            &format!("etc/php/8.2/fpm/pool.d/{name}.conf"),
            &format!(
                "[{name}]\nuser = {name}\ngroup = {name}\nlisten = /run/php/{name}.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = ondemand\npm.max_children = 2\npm.max_requests = 500\nrequest_terminate_timeout = {rtt}\nslowlog = /var/log/php-fpm/$pool.slow.log\nrequest_slowlog_timeout = 10s\ncatch_workers_output = yes\n"
            ),
        );
        let mut wp = String::from("<?php\n");
        let _ = writeln!(wp, "define( 'DB_NAME', '{name}' );\ndefine( 'DB_USER', '{name}' );\ndefine( 'DB_PASSWORD', 'secret-{i}' );");
        for (k, kname) in wpstack::stack::wp_model::AUTH_KEYS.iter().enumerate() {
            key.clear();
            if planted("S603", i) {
                key.push_str("put your unique phrase here");
            } else {
                let _ = write!(key, "{name}-{k}-{:x}", (i * 7919 + k * 104729) * 2654435761);
            }
            let _ = writeln!(wp, "define( '{kname}', '{key}' );");
        }
        let debug = if planted("D501", i) { "true" } else { "false" };
        let _ = writeln!(wp, "$table_prefix = 'wp_';\ndefine( 'WP_DEBUG', {debug} );\ndefine( 'WP_DEBUG_DISPLAY', false );\ndefine( 'DISALLOW_FILE_EDIT', true );\n/* That's all, stop editing! Happy publishing. */\nrequire_once ABSPATH . 'wp-settings.php';");
        w(&format!("var/www/{name}/wp-config.php"), &wp);
    }
}
