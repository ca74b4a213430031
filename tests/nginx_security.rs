//! The nginx-side security and cache rules (issue 15) on small stacks: which request
//! forms S601 probes and when nginx + php-fpm really run the upload, what S607 counts
//! as a deny, what K701 accepts as a bypass, when K702 and S608 stay quiet.

use wpstack::engine;
use wpstack::finding::Finding;
use wpstack::machine::host;
use wpstack::settings::{Profile, Settings, Thresholds};
use wpstack::stack::discover::{self, Inputs};

const FPM: &str = "[global]\nerror_log = /var/log/php8.2-fpm.log\n[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 4\n";

/// Check a stack made of an nginx server body (inside `http { server { … } }`), extra
/// pool lines, an optional php.ini and optional wp-config.php at the root.
fn run(
    http: &str,
    server: &str,
    pool: &str,
    php_ini: Option<&str>,
    wp: bool,
    woo: bool,
) -> Vec<Finding> {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let w = |p: &str, s: &str| {
        let p = d.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w(
        "etc/nginx/nginx.conf",
        &format!("user www-data;\nevents {{}}\nhttp {{\n{http}\n    server {{\n        listen 80;\n        server_name example.com;\n        root /var/www/html;\n{server}\n    }}\n}}\n"),
    );
    w("etc/php/8.2/fpm/php-fpm.conf", &format!("{FPM}{pool}"));
    if let Some(ini) = php_ini {
        w("etc/php/8.2/fpm/php.ini", ini);
    }
    if wp {
        w("var/www/html/wp-config.php", "<?php\ndefine( 'DISALLOW_FILE_EDIT', true );\nrequire_once ABSPATH . 'wp-settings.php';\n");
    }
    let mut s = Settings::default();
    if woo {
        s.profile = Profile::Woocommerce;
        s.thresholds = Thresholds::for_profile(Profile::Woocommerce);
    }
    let h = host::resolve(&Default::default(), &Default::default(), false);
    let stack = discover::load(&Inputs {
        paths: vec![d.to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    engine::run(&stack, &s, &h)
}

fn fired(f: &[Finding], code: &str) -> Vec<String> {
    f.iter()
        .filter(|x| x.code == code)
        .map(|x| x.message.clone())
        .collect()
}

const FRONT: &str = "        location / { try_files $uri $uri/ /index.php?$args; }\n";
const UPLOADS_DENY: &str = "        location ~* /uploads/.*\\.php$ { deny all; }\n";

fn split_location(body: &str) -> String {
    format!("        location ~ [^/]\\.php(/|$) {{\n{body}            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }}\n")
}

#[test]
fn s601_path_info_runs_only_as_nginx_and_php_fpm_would() {
    let split = "            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;\n";
    let script = "            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n";
    let fix0 = Some("[PHP]\ncgi.fix_pathinfo = 0\n");
    let case = |body: &str, pool: &str, ini: Option<&str>| {
        let f = run(
            "",
            &format!("{FRONT}{UPLOADS_DENY}{}", split_location(body)),
            pool,
            ini,
            false,
            false,
        );
        fired(&f, "S601")
    };
    // Split + try_files on the script name: the upload runs (the lab's 200).
    let m = case(
        &format!("{split}            try_files $fastcgi_script_name =404;\n{script}"),
        "",
        None,
    );
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("shell.php/x") && m[0].contains("fastcgi_split_path_info"),
        "{m:?}"
    );
    // Split, no try_files, cgi.fix_pathinfo = 0: the split alone names shell.php.
    let f = run(
        "",
        &format!(
            "{FRONT}{UPLOADS_DENY}{}",
            split_location(&format!("{split}{script}"))
        ),
        "",
        fix0,
        false,
        false,
    );
    assert_eq!(
        fired(&f, "S601").len(),
        1,
        "{:?}",
        f.iter()
            .map(|x| format!("{} {}", x.code, x.message))
            .collect::<Vec<_>>()
    );
    // try_files $uri =404: the whole URI is no file → 404.
    assert!(case(
        &format!("{split}            try_files $uri =404;\n{script}"),
        "",
        None
    )
    .is_empty());
    // No split: only cgi.fix_pathinfo = 1 walks back to shell.php.
    assert_eq!(case(script, "", None).len(), 1);
    assert!(case(script, "", fix0).is_empty());
    // SCRIPT_FILENAME from $request_filename ignores the split: fix_pathinfo decides.
    let rf = "            fastcgi_param SCRIPT_FILENAME $request_filename;\n";
    assert!(case(&format!("{split}{rf}"), "", fix0).is_empty());
    // security.limit_extensions without .php: php-fpm refuses the script.
    assert!(case(
        &format!("{split}{script}"),
        "security.limit_extensions = .php8\n",
        None
    )
    .is_empty());
    // `\.php$` locations never see the /x form; the deny with (/|$) covers it.
    let plain = run(
        "",
        &format!(
            "{FRONT}        location ~* /uploads/.*\\.php(/|$) {{ deny all; }}\n{}",
            split_location(&format!("{split}{script}"))
        ),
        "",
        None,
        false,
        false,
    );
    assert!(fired(&plain, "S601").is_empty());
}

#[test]
fn s607_counts_denies_from_includes_and_keeps_well_known() {
    let php = "        location ~ \\.php$ { try_files $uri =404; fastcgi_pass unix:/run/php/php8.2-fpm.sock; }\n";
    let none = run("", &format!("{FRONT}{php}"), "", None, true, false);
    let m = fired(&none, "S607");
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].contains("/.git/config") && m[0].contains("/wp-config.php~"),
        "{m:?}"
    );
    // Hestia's dotfile deny alone: only the wp-config copies remain.
    let hestia = run(
        "",
        &format!(
            "        location ~ /\\.(?!well-known\\/) {{ deny all; return 404; }}\n{FRONT}{php}"
        ),
        "",
        None,
        true,
        false,
    );
    let m = fired(&hestia, "S607");
    assert!(
        m.len() == 1 && !m[0].contains("/.git/config") && m[0].contains(".bak"),
        "{m:?}"
    );
    // Both denies: quiet. No wp-config linked: not certainly WordPress, quiet.
    let both = format!("        location ~ /\\.(?!well-known/) {{ deny all; }}\n        location ~* /wp-config\\.php. {{ deny all; }}\n{FRONT}{php}");
    assert!(fired(&run("", &both, "", None, true, false), "S607").is_empty());
    assert!(fired(
        &run("", &format!("{FRONT}{php}"), "", None, false, false),
        "S607"
    )
    .is_empty());
    // autoindex on is reported even with the denies.
    let listing = run(
        "",
        &format!("        autoindex on;\n{both}"),
        "",
        None,
        true,
        false,
    );
    assert!(fired(&listing, "S607")
        .iter()
        .any(|m| m.contains("autoindex")));
    // The fix's pattern leaves ACME's path alone (checked with the same matcher as nginx).
    let re = fancy_regex::Regex::new(r"/\.(?!well-known/)").unwrap();
    assert!(!re.is_match("/.well-known/acme-challenge/token").unwrap());
    assert!(re.is_match("/.git/config").unwrap());
}

#[test]
fn k701_accepts_map_and_if_bypasses_and_knows_woocommerce() {
    let http = "    fastcgi_cache_path /var/cache/nginx/wp keys_zone=wp:10m;\n";
    let cached = |extra: &str| {
        format!("        location ~ \\.php$ {{\n            try_files $uri =404;\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            fastcgi_cache wp;\n            fastcgi_cache_key \"$scheme$request_method$host$request_uri\";\n            fastcgi_cache_valid 200 10m;\n{extra}        }}\n")
    };
    // No bypass at all.
    assert_eq!(
        fired(
            &run(
                http,
                &format!("{UPLOADS_DENY}{}", cached("")),
                "",
                None,
                false,
                false
            ),
            "K701"
        )
        .len(),
        1
    );
    // A map on the cookie plus ifs for the rest.
    let map_http = format!("{http}    map $http_cookie $wp_private {{\n        default 0;\n        ~*wordpress_logged_in 1;\n        ~*comment_author 1;\n        ~*wp-postpass 1;\n    }}\n");
    let ifs = "        set $skip 0;\n        if ($request_method = POST) { set $skip 1; }\n        if ($query_string != \"\") { set $skip 1; }\n        if ($request_uri ~* \"/wp-admin/\") { set $skip 1; }\n";
    let both = "            fastcgi_cache_bypass $wp_private $skip;\n            fastcgi_no_cache $wp_private $skip;\n";
    let ok = run(
        &map_http,
        &format!("{UPLOADS_DENY}{ifs}{}", cached(both)),
        "",
        None,
        false,
        false,
    );
    assert!(fired(&ok, "K701").is_empty(), "{:?}", fired(&ok, "K701"));
    // The same without fastcgi_no_cache: the private page is still stored.
    let only_bypass = "            fastcgi_cache_bypass $wp_private $skip;\n";
    let m = fired(
        &run(
            &map_http,
            &format!("{UPLOADS_DENY}{ifs}{}", cached(only_bypass)),
            "",
            None,
            false,
            false,
        ),
        "K701",
    );
    assert_eq!(m.len(), 1);
    // WooCommerce profile: the cart pages and cookies are required too.
    let woo = fired(
        &run(
            &map_http,
            &format!("{UPLOADS_DENY}{ifs}{}", cached(both)),
            "",
            None,
            false,
            true,
        ),
        "K701",
    );
    assert!(
        woo.len() == 1 && woo[0].contains("woocommerce_items_in_cart"),
        "{woo:?}"
    );
    // No fastcgi_cache_valid: nginx stores no WordPress page, nothing to leak.
    let no_valid = cached("").replace("            fastcgi_cache_valid 200 10m;\n", "");
    assert!(fired(
        &run(
            http,
            &format!("{UPLOADS_DENY}{no_valid}"),
            "",
            None,
            false,
            false
        ),
        "K701"
    )
    .is_empty());
}

#[test]
fn k702_wants_the_parts_that_tell_pages_apart_here() {
    let http = "    fastcgi_cache_path /var/cache/nginx/wp keys_zone=wp:10m;\n";
    let loc = |key: &str| {
        format!("{UPLOADS_DENY}        location ~ \\.php$ {{\n            try_files $uri =404;\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n            fastcgi_cache wp;\n            fastcgi_cache_key \"{key}\";\n        }}\n")
    };
    let k = |key: &str| fired(&run(http, &loc(key), "", None, false, false), "K702");
    assert!(k("$scheme$request_method$host$request_uri").is_empty());
    // One server, one name, plain http only: neither host nor scheme is needed.
    assert!(k("$request_method$request_uri").is_empty());
    // The query string is always needed.
    assert_eq!(k("$scheme$request_method$host$uri").len(), 1);
    assert!(k("$scheme$request_method$host$uri$is_args$args").is_empty());
}

#[test]
fn s608_status_page_public_restricted_or_local() {
    let pool = "pm.status_path = /status\n";
    let status = |extra: &str| {
        format!("        location = /status {{\n{extra}            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        }}\n")
    };
    assert_eq!(
        fired(&run("", &status(""), pool, None, false, false), "S608").len(),
        1
    );
    assert!(fired(
        &run(
            "",
            &status("            allow 10.0.0.5;\n            deny all;\n"),
            pool,
            None,
            false,
            false
        ),
        "S608"
    )
    .is_empty());
    assert!(fired(&run("", &status("            auth_basic \"status\";\n            auth_basic_user_file /etc/nginx/htpasswd;\n"), pool, None, false, false), "S608").is_empty());
    // `allow all` is no restriction (DDEV's monitoring.conf).
    assert_eq!(
        fired(
            &run(
                "",
                &status("            allow 127.0.0.1;\n            allow all;\n"),
                pool,
                None,
                false,
                false
            ),
            "S608"
        )
        .len(),
        1
    );
    // No location passes /status to PHP: nothing published.
    assert!(fired(&run("", FRONT, pool, None, false, false), "S608").is_empty());
}
