//! How a `proxy_pass` is followed to the server block behind it (issue 14 item 4), and
//! the edges of U006, T108, P404 and P405 that the docs' examples do not show.

mod support;

use wpstack::finding::Finding;
use wpstack::stack::discover::{self, Inputs};
use wpstack::stack::Stack;

fn check(files: &[(&str, &str)]) -> (Stack, Vec<Finding>) {
    let dir = support::write_tree(files);
    let stack = discover::load(&Inputs {
        paths: vec![dir.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let h = wpstack::machine::host::resolve(&Default::default(), &Default::default(), false);
    let findings = wpstack::engine::run(&stack, &Default::default(), &h);
    (stack, findings)
}

fn codes(findings: &[Finding], code: &str) -> usize {
    findings.iter().filter(|f| f.code == code).count()
}

const POOL: &str = "[global]\nerror_log = /var/log/php-fpm.log\n[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 5\nrequest_terminate_timeout = 300\nphp_admin_value[max_execution_time] = 240\n";

/// Two PHP servers on one port: the Host the front sends picks one, as nginx would.
fn nginx(front: &str) -> String {
    format!(
        "user www-data;\nevents {{}}\nhttp {{\n  server {{\n    listen 80;\n    server_name shop.example.com;\n    location / {{\n{front}    }}\n  }}\n  server {{\n    listen 127.0.0.1:8080 default_server;\n    server_name blog.example.com;\n    root /srv/blog;\n    location ~ \\.php$ {{\n      fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n      fastcgi_read_timeout 30s;\n    }}\n  }}\n  server {{\n    listen 127.0.0.1:8080;\n    server_name shop.example.com;\n    root /srv/shop;\n    location ~ \\.php$ {{\n      fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n      fastcgi_read_timeout 300s;\n      fastcgi_buffer_size 32k;\n      fastcgi_buffers 16 16k;\n    }}\n  }}\n}}\n"
    )
}

fn back_names(stack: &Stack) -> Vec<String> {
    stack.nginx[0]
        .sites
        .iter()
        .flat_map(|s| s.locations.iter())
        .filter(|l| l.proxy.is_some())
        .flat_map(|l| l.backs.iter())
        .map(|r| stack.nginx[r.nginx].sites[r.site].name())
        .collect()
}

#[test]
fn the_host_sent_picks_the_server_block() {
    // `Host $host`: the front site's own name → the shop server on 8080.
    let (stack, f) = check(&[
        (
            "nginx.conf",
            &nginx("      proxy_pass http://127.0.0.1:8080;\n      proxy_set_header Host $host;\n"),
        ),
        ("php-fpm.conf", POOL),
    ]);
    assert_eq!(back_names(&stack), ["shop.example.com"]);
    // 60 s default < min(300 s read, 300 s terminate); 4k < 32k.
    assert_eq!(codes(&f, "T108"), 1);
    assert_eq!(codes(&f, "P404"), 1);

    // No Host header: nginx sends `127.0.0.1`, no name matches → the default_server.
    let (stack, f) = check(&[
        (
            "nginx.conf",
            &nginx("      proxy_pass http://127.0.0.1:8080;\n"),
        ),
        ("php-fpm.conf", POOL),
    ]);
    assert_eq!(back_names(&stack), ["blog.example.com"]);
    // The blog's PHP hop gives up after 30 s: the front's 60 s is enough; 4k = 4k.
    assert_eq!(codes(&f, "T108"), 0);
    assert_eq!(codes(&f, "P404"), 0);

    // Another port, or another machine's name, in the same nginx: nothing is linked.
    for pass in [
        "http://127.0.0.1:8081",
        "http://backend.internal:8080",
        "http://10.0.0.5:8080",
    ] {
        let (stack, _) = check(&[
            (
                "nginx.conf",
                &nginx(&format!(
                    "      proxy_pass {pass};\n      proxy_set_header Host $host;\n"
                )),
            ),
            ("php-fpm.conf", POOL),
        ]);
        assert!(back_names(&stack).is_empty(), "{pass}");
    }
}

#[test]
fn post_retries_need_two_live_backends_and_unlimited_tries() {
    let conf = |servers: &str, extra: &str| {
        format!(
            "user www-data;\nevents {{}}\nhttp {{\n  upstream app {{\n{servers}  }}\n  server {{\n    listen 80;\n    location / {{\n      proxy_pass http://app;\n      proxy_next_upstream error timeout non_idempotent;\n{extra}    }}\n  }}\n}}\n"
        )
    };
    let two = "    server 10.0.0.11:80;\n    server 10.0.0.12:80;\n";
    let (_, f) = check(&[("nginx.conf", &conf(two, ""))]);
    assert_eq!(codes(&f, "P405"), 1);
    let (_, f) = check(&[(
        "nginx.conf",
        &conf(two, "      proxy_next_upstream_tries 1;\n"),
    )]);
    assert_eq!(codes(&f, "P405"), 0, "one try: no retry");
    let (_, f) = check(&[(
        "nginx.conf",
        &conf(
            "    server 10.0.0.11:80;\n    server 10.0.0.12:80 down;\n",
            "",
        ),
    )]);
    assert_eq!(codes(&f, "P405"), 0, "one usable server");
    // fastcgi_next_upstream over two PHP backends.
    let fcgi = "user www-data;\nevents {}\nhttp {\n  upstream php { server 10.0.0.21:9000; server 10.0.0.22:9000; }\n  server {\n    listen 80;\n    root /srv;\n    location ~ \\.php$ {\n      fastcgi_pass php;\n      fastcgi_next_upstream error timeout non_idempotent;\n    }\n  }\n}\n";
    let (_, f) = check(&[("nginx.conf", fcgi)]);
    assert_eq!(codes(&f, "P405"), 1);
}

#[test]
fn only_names_resolved_at_start_up_are_u006() {
    let conf = |pass: &str, http: &str| {
        format!(
            "user www-data;\nevents {{}}\nhttp {{\n{http}  server {{\n    listen 80;\n    root /srv;\n    location ~ \\.php$ {{\n      fastcgi_pass {pass};\n    }}\n  }}\n}}\n"
        )
    };
    for (pass, http, want) in [
        ("php:9000", "", 1),
        ("wordpress:9000", "", 1),
        ("127.0.0.1:9000", "", 0),
        ("localhost:9000", "", 0),
        ("[::1]:9000", "", 0),
        ("unix:/run/php/php8.2-fpm.sock", "", 0),
        (
            "app",
            "  upstream app { server php:9000; server 10.0.0.2:9000; }\n",
            1,
        ),
        (
            "app",
            "  resolver 127.0.0.11;\n  upstream app { zone app 64k; server php:9000 resolve; }\n",
            0,
        ),
        (
            "$php",
            "  resolver 127.0.0.11 valid=10s;\n  map $host $php { default php:9000; }\n",
            0,
        ),
    ] {
        let (_, f) = check(&[("nginx.conf", &conf(pass, http))]);
        assert_eq!(codes(&f, "U006"), want, "fastcgi_pass {pass} with {http:?}");
    }
}

/// Docker Compose: a front nginx container proxies to the `wordpress` service, whose
/// own nginx passes to the `php` service. Two nginx trees in one checked tree: the
/// front's name for the back is not in any file, so the back is found by port.
#[test]
fn a_front_container_reaches_the_php_nginx_by_port() {
    let front = "events {}\nhttp {\n  server {\n    listen 80;\n    server_name example.com;\n    location / {\n      proxy_pass http://wordpress;\n      proxy_set_header Host $host;\n      proxy_read_timeout 20s;\n    }\n  }\n}\n";
    let back = "events {}\nhttp {\n  server {\n    listen 80;\n    server_name _;\n    root /var/www/html;\n    location ~ \\.php$ {\n      fastcgi_pass php:9000;\n      fastcgi_read_timeout 120s;\n    }\n  }\n}\n";
    let pool = "[global]\nerror_log = /proc/self/fd/2\n[www]\nlisten = 9000\npm = static\npm.max_children = 5\nrequest_terminate_timeout = 90\n";
    let (stack, f) = check(&[
        ("front/etc/nginx/nginx.conf", front),
        ("wordpress/etc/nginx/nginx.conf", back),
        ("php/usr/local/etc/php-fpm.conf", pool),
    ]);
    assert_eq!(stack.nginx.len(), 2);
    let linked: Vec<String> = stack
        .proxy_locations()
        .flat_map(|(_, _, l)| stack.back_php_locations(l))
        .map(|(n, _, _)| stack.sources.get(n.main).display.clone())
        .collect();
    assert_eq!(linked, ["wordpress/etc/nginx/nginx.conf"]);
    // The front waits 20 s; the PHP hop may take min(120 s read, the pool's 90 s).
    let t108: Vec<&Finding> = f.iter().filter(|x| x.code == "T108").collect();
    assert_eq!(
        t108.len(),
        1,
        "{:?}",
        f.iter().map(|x| &x.message).collect::<Vec<_>>()
    );
    assert!(
        t108[0].message.contains("up to 90 s"),
        "{}",
        t108[0].message
    );
    assert_eq!(codes(&f, "U006"), 1);
}
