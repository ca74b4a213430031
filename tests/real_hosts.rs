//! nginx-side findings on real hosts' layouts (issue 12): variables in fastcgi_pass,
//! multi-server upstreams (U007), status pages and health checks, config repos without
//! nginx.conf, derived buffer sizes, and a file:line on every finding. Each tree is a
//! small faithful rendering of a real layout, written by the test into a temp dir;
//! the field corpus (../shared/corpus/field) is read in place when present.

use std::path::Path;
use wpstack::finding::Finding;
use wpstack::machine::host;
use wpstack::settings::Settings;
use wpstack::stack::discover::{self, Inputs};
use wpstack::stack::Stack;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (p, c) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, c).expect("write");
    }
}

fn check_inputs(inputs: Inputs) -> (Stack, Vec<Finding>) {
    let stack = discover::load(&inputs).expect("load");
    let h = host::resolve(&Default::default(), &Default::default(), false);
    let findings = wpstack::engine::run(&stack, &Settings::default(), &h);
    (stack, findings)
}

fn check(dir: &Path) -> (Stack, Vec<Finding>) {
    check_inputs(Inputs {
        paths: vec![dir.to_path_buf()],
        ..Default::default()
    })
}

fn at(stack: &Stack, f: &Finding) -> String {
    f.primary
        .map(|p| {
            let src = stack.sources.get(p.file);
            format!("{}:{}", src.display, src.line_of(p.span.start))
        })
        .unwrap_or_else(|| "-".into())
}

fn list(stack: &Stack, fs: &[Finding]) -> String {
    fs.iter()
        .map(|f| format!("{} {}: {}", f.code, at(stack, f), f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn codes_at<'a>(stack: &Stack, fs: &'a [Finding], code: &str) -> Vec<(String, &'a Finding)> {
    fs.iter()
        .filter(|f| f.code == code)
        .map(|f| (at(stack, f), f))
        .collect()
}

const POOL_82: &str =
    "[global]\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n";
const PHP_INI: &str = "[PHP]\nmax_execution_time = 30\nmemory_limit = 256M\ndisplay_errors = Off\nlog_errors = On\ncgi.fix_pathinfo = 1\ndefault_socket_timeout = 30\nexpose_php = Off\nmax_input_vars = 5000\npost_max_size = 64M\nupload_max_filesize = 64M\n";
const WWW_82: &str = "[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = dynamic\npm.max_children = 10\npm.start_servers = 2\npm.min_spare_servers = 1\npm.max_spare_servers = 3\npm.max_requests = 500\nrequest_terminate_timeout = 60s\npm.status_path = /fpm-status\nping.path = /ping\n";
const NGINX_MAIN: &str = "user www-data;\nevents {}\nhttp {\n    client_max_body_size 64m;\n    fastcgi_buffer_size 32k;\n    fastcgi_buffers 16 16k;\n    fastcgi_read_timeout 120s;\n    include /etc/nginx/conf.d/*.conf;\n    include /etc/nginx/sites-enabled/*;\n}\n";

fn debian_host(dir: &Path, site: &str, extra: &[(&str, &str)]) {
    write(
        dir,
        &[
            ("etc/nginx/nginx.conf", NGINX_MAIN),
            ("etc/nginx/sites-enabled/example.conf", site),
            ("etc/php/8.2/fpm/php-fpm.conf", POOL_82),
            ("etc/php/8.2/fpm/php.ini", PHP_INI),
            ("etc/php/8.2/fpm/pool.d/www.conf", WWW_82),
        ],
    );
    write(dir, extra);
}

/// Item 7: php-fpm's status and ping pages and health checks run no WordPress request:
/// no T101/T103/T106/P402/S602 for them, and their short timeouts give no number to a
/// fix. Modelled on DDEV's monitoring.conf (`location ~ ^/phpstatus$`) and the common
/// `location = /fpm-status`, `= /ping`, `= /healthcheck` blocks.
#[test]
fn status_pages_and_health_checks_are_not_wordpress() {
    let d = tempfile::tempdir().expect("tmp");
    let site = r#"server {
    listen 80;
    server_name example.com;
    root /var/www/html;
    location / {
        try_files $uri $uri/ /index.php?$args;
    }
    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
    location ~ ^/(fpm-status|ping)$ {
        allow 127.0.0.1;
        deny all;
        fastcgi_read_timeout 5s;
        fastcgi_buffer_size 4k;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
    location = /healthcheck {
        access_log off;
        fastcgi_read_timeout 2s;
        client_max_body_size 1k;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME /var/www/health.php;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
    location ~ ^/phpstatus$ {
        allow all;
        fastcgi_index index.php;
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
"#;
    // A pool without request_terminate_timeout (T103's fix would take a read timeout).
    let www = WWW_82.replace("request_terminate_timeout = 60s\n", "");
    debian_host(
        d.path(),
        site,
        &[
            ("etc/php/8.2/fpm/pool.d/www.conf", www.as_str()),
            (
                "etc/nginx/fastcgi_params",
                "fastcgi_param QUERY_STRING $query_string;\n",
            ),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    println!("{shown}");
    let roles: Vec<String> = stack
        .php_locations()
        .map(|(_, _, l)| format!("{} {} -> {:?}", l.modifier, l.pattern, l.role))
        .collect();
    println!("{}", roles.join("\n"));
    for code in ["T101", "T106", "P401", "P402", "S602"] {
        assert!(
            codes_at(&stack, &fs, code).is_empty(),
            "{code} reported for a probe location:\n{shown}"
        );
    }
    // T103 is still right for the pool (WordPress reaches it), but its fix takes the
    // WordPress location's 120s, never the health check's 2s or the status page's 5s.
    let t103 = codes_at(&stack, &fs, "T103");
    assert_eq!(t103.len(), 1, "{shown}");
    let fix = t103[0].1.fix.as_ref().expect("T103 fix");
    let text: String = fix
        .edits
        .iter()
        .map(|e| String::from_utf8_lossy(&e.replacement).into_owned())
        .collect();
    assert!(
        text.contains("40s"),
        "T103 fix from max_execution_time + 10: {text}"
    );
    assert!(!text.contains("= 5s") && !text.contains("= 2s"), "{text}");
    let probes = stack
        .php_locations()
        .filter(|(_, _, l)| !l.runs_wordpress())
        .count();
    assert_eq!(probes, 3, "{}", roles.join("\n"));
}

/// Item 7: a pool that only a status page reaches gets no T103 (no WordPress request
/// can hang in it), and the tuner's chain ignores the probe's timeout.
#[test]
fn pool_reached_only_by_a_status_page_has_no_t103() {
    let d = tempfile::tempdir().expect("tmp");
    let site = r#"server {
    listen 80;
    server_name example.com;
    root /var/www/html;
    location = /fpm-status {
        allow 127.0.0.1;
        deny all;
        fastcgi_read_timeout 5s;
        include fastcgi_params;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
"#;
    let www = WWW_82.replace("request_terminate_timeout = 60s\n", "");
    debian_host(
        d.path(),
        site,
        &[
            ("etc/php/8.2/fpm/pool.d/www.conf", www.as_str()),
            (
                "etc/nginx/fastcgi_params",
                "fastcgi_param QUERY_STRING $query_string;\n",
            ),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    assert!(codes_at(&stack, &fs, "T103").is_empty(), "{shown}");
    assert!(codes_at(&stack, &fs, "U005").is_empty(), "{shown}");
}

/// Item 6: WordOps-style upstreams listing sockets of PHP versions that are not
/// installed. A dead server beside a live one is U007 (warning, fix removes the line);
/// an upstream with no live server left is U001.
#[test]
fn multi_server_upstream_dead_server_is_u007_not_u001() {
    let d = tempfile::tempdir().expect("tmp");
    let upstreams = "upstream php74 {\n    least_conn;\n\n    server unix:/var/run/php/php74-fpm.sock;\n    server unix:/var/run/php/php74-two-fpm.sock;\n\n    keepalive 5;\n}\n\nupstream multiphp {\n    server unix:/var/run/php/php74-fpm.sock;\n    server unix:/run/php/php8.2-fpm.sock;\n    server unix:/var/run/php/php81-fpm.sock backup;\n    server unix:/var/run/php/php80-fpm.sock down;\n}\n";
    let site = r#"server {
    listen 80;
    server_name example.com;
    root /var/www/html;
    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_pass multiphp;
    }
}
server {
    listen 80;
    server_name old.example.com;
    root /var/www/old;
    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_pass php74;
    }
}
"#;
    debian_host(
        d.path(),
        site,
        &[
            ("etc/nginx/conf.d/upstream.conf", upstreams),
            (
                "etc/nginx/fastcgi_params",
                "fastcgi_param QUERY_STRING $query_string;\n",
            ),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    println!("{shown}");
    let u007: Vec<String> = codes_at(&stack, &fs, "U007")
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    // php74-fpm.sock and php81 (backup) of multiphp; php80 is `down`: never used.
    assert_eq!(
        u007,
        [
            "etc/nginx/conf.d/upstream.conf:11",
            "etc/nginx/conf.d/upstream.conf:13"
        ],
        "{shown}"
    );
    let u001: Vec<String> = codes_at(&stack, &fs, "U001")
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        u001,
        [
            "etc/nginx/conf.d/upstream.conf:4",
            "etc/nginx/conf.d/upstream.conf:5"
        ],
        "{shown}"
    );
    // The U007 fix removes the whole server line and nothing else.
    let f = &codes_at(&stack, &fs, "U007")[0].1;
    let fix = f.fix.as_ref().expect("U007 fix");
    assert_eq!(fix.edits.len(), 1);
    let e = &fix.edits[0];
    let src = stack.sources.get(e.file);
    let removed = String::from_utf8_lossy(&src.bytes[e.range.start..e.range.end]);
    assert_eq!(removed, "    server unix:/var/run/php/php74-fpm.sock;\n");
}

/// Item 5: `fastcgi_pass $upstream;` with `map` (a guide's config mapping to a php7.4
/// socket on a host that runs only 8.2) and with `set`: every value is linked, each
/// dead one is its own U001 at the value, and dump shows the pools.
#[test]
fn variable_fastcgi_pass_resolves_map_and_set_values() {
    let d = tempfile::tempdir().expect("tmp");
    let maps = "map $http_host $php_upstream {\n    default unix:/run/php/php8.2-fpm.sock;\n    legacy.example.com unix:/run/php/php7.4-fpm.sock;\n}\n\nmap $http_host $php_version {\n    default 8.2;\n    ~^old\\. 7.4;\n}\n";
    let site = r#"server {
    listen 80;
    server_name example.com legacy.example.com;
    root /var/www/html;
    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_pass $php_upstream;
    }
}
server {
    listen 80;
    server_name old.example.com;
    root /var/www/old;
    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_pass unix:/run/php/php$php_version-fpm.sock;
    }
}
server {
    listen 80;
    server_name set.example.com;
    root /var/www/set;
    set $backend unix:/run/php/php7.4-fpm.sock;
    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_pass $backend;
    }
}
server {
    listen 80;
    server_name unknown.example.com;
    root /var/www/unknown;
    location ~ \.php$ {
        try_files $uri =404;
        include fastcgi_params;
        fastcgi_pass $undefined_somewhere;
    }
}
"#;
    debian_host(
        d.path(),
        site,
        &[
            ("etc/nginx/conf.d/php-map.conf", maps),
            (
                "etc/nginx/fastcgi_params",
                "fastcgi_param QUERY_STRING $query_string;\n",
            ),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    println!("{shown}");
    let u001 = codes_at(&stack, &fs, "U001");
    let places: Vec<&str> = u001.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        places,
        [
            "etc/nginx/conf.d/php-map.conf:3",
            "etc/nginx/conf.d/php-map.conf:8",
            "etc/nginx/sites-enabled/example.conf:25"
        ],
        "{shown}"
    );
    // A map value that is the whole address is fixed in place; a substituted one is not.
    let fix = u001[0].1.fix.as_ref().expect("fix for the map value");
    assert_eq!(
        String::from_utf8_lossy(&fix.edits[0].replacement),
        "unix:/run/php/php8.2-fpm.sock"
    );
    assert!(u001[1].1.fix.is_none(), "{shown}");
    // dump: the map's location reaches pool www; the unknown variable reaches nothing
    // and says so.
    let dump = wpstack::stack::dump::dump(&stack, false);
    let sites = dump["nginx"][0]["sites"].as_array().expect("sites");
    let first = &sites[0]["php_locations"][0];
    assert_eq!(
        first["pools"],
        serde_json::json!(["www (php 8.2)"]),
        "{first}"
    );
    assert!(first["target"]
        .as_str()
        .expect("target")
        .contains("unix:/run/php/php7.4-fpm.sock"));
    // U005 cannot know (a variable without values), so it stays silent.
    assert!(codes_at(&stack, &fs, "U005").is_empty(), "{shown}");
}

const SNIPPET_FASTCGI_PHP: &str = "# regex to split $uri to $fastcgi_script_name and $fastcgi_path\nfastcgi_split_path_info ^(.+?\\.php)(/.*)$;\n\n# Check that the PHP script exists before passing it\ntry_files $fastcgi_script_name =404;\n\nset $path_info $fastcgi_path_info;\nfastcgi_param PATH_INFO $path_info;\n\nfastcgi_index index.php;\ninclude fastcgi.conf;\n";

const REPO_SITE: &str = r#"server {
    listen 80;
    server_name example.com;
    root /var/www/example.com;
    index index.php;
    location / {
        try_files $uri $uri/ /index.php?$args;
    }
    location ~* /(?:uploads|files)/.*\.php$ {
        deny all;
    }
    location ~ \.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
"#;

fn config_repo(dir: &Path) {
    write(
        dir,
        &[
            ("nginx/sites-available/example.com.conf", REPO_SITE),
            (
                "nginx/sites-available/old.example.com.conf",
                "server {\n    listen 80;\n    server_name old.example.com;\n    include snippets/missing.conf;\n}\n",
            ),
            ("nginx/sites-enabled/example.com.conf", REPO_SITE),
            ("nginx/snippets/fastcgi-php.conf", SNIPPET_FASTCGI_PHP),
            (
                "php/8.2/fpm/pool.d/www.conf",
                &WWW_82.replace("listen.owner = www-data\nlisten.group = www-data\n", "listen.owner = root\nlisten.group = root\n"),
            ),
            ("php/8.2/fpm/php.ini", PHP_INI),
        ],
    );
}

/// Item 13: a config repo with only sites-*/, snippets/ and pool files (no nginx.conf,
/// the common CI case) is linted: site files inside an implied http {}, includes
/// resolved against the nginx prefix (the parent of sites-*/), sites-enabled/ read
/// instead of sites-available/, nginx's stock files (fastcgi.conf) not required, and
/// nginx's user unknown (no U002 guessed from the default `nobody`).
#[test]
fn config_repo_without_nginx_conf_is_linted_as_fragments() {
    let d = tempfile::tempdir().expect("tmp");
    config_repo(d.path());
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    println!("{shown}\n{}", stack.notes.join("\n"));
    assert_eq!(stack.nginx.len(), 1, "{shown}");
    let n = &stack.nginx[0];
    assert!(n.implied);
    let names: Vec<String> = n.sites.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        ["example.com"],
        "sites-enabled wins over sites-available"
    );
    for code in ["E005", "S602", "U002", "U001"] {
        assert!(codes_at(&stack, &fs, code).is_empty(), "{code}:\n{shown}");
    }
    assert!(
        stack.notes.iter().any(|n| n.contains("implied http")
            && n.contains("stock files not in the tree were not read: fastcgi.conf")),
        "{:?}",
        stack.notes
    );
    // The PHP location reaches the pool through the snippet's try_files.
    let loc = &n.sites[0].locations.last().expect("php location");
    assert_eq!(loc.pools.len(), 1);
}

/// Item 13: one site file checked alone (`wpstack check sites-available/x.conf`)
/// resolves `include snippets/…` against the nginx prefix, not its own folder: no false
/// E005, and so no false S602 (the snippet's try_files is read).
#[test]
fn lone_site_file_resolves_snippets_against_the_prefix() {
    let d = tempfile::tempdir().expect("tmp");
    config_repo(d.path());
    let (stack, fs) = check_inputs(Inputs {
        paths: vec![d.path().join("nginx/sites-available/example.com.conf")],
        ..Default::default()
    });
    let shown = list(&stack, &fs);
    assert!(codes_at(&stack, &fs, "E005").is_empty(), "{shown}");
    assert!(codes_at(&stack, &fs, "S602").is_empty(), "{shown}");
    assert_eq!(stack.nginx.len(), 1);
    let n = &stack.nginx[0];
    assert!(n.files.iter().any(|f| stack
        .sources
        .get(*f)
        .path
        .ends_with("snippets/fastcgi-php.conf")));
    // A real missing include in a fragment is still E005, at its line.
    let (stack, fs) = check_inputs(Inputs {
        paths: vec![d.path().join("nginx/sites-available/old.example.com.conf")],
        ..Default::default()
    });
    let e005 = codes_at(&stack, &fs, "E005");
    assert_eq!(e005.len(), 1, "{}", list(&stack, &fs));
    assert!(
        e005[0].0.ends_with("old.example.com.conf:4"),
        "{}",
        e005[0].0
    );
}

/// Item 14: every finding has a file:line — also an unreadable scan-dir file (E005
/// at the file itself) and php-fpm's "No pool defined" (E006 at php-fpm.conf).
#[test]
fn every_finding_has_a_place() {
    let d = tempfile::tempdir().expect("tmp");
    debian_host(
        d.path(),
        "server {\n    listen 80;\n    server_name example.com;\n}\n",
        &[],
    );
    // A directory where a scan-dir .ini is expected cannot be read.
    std::fs::create_dir_all(d.path().join("etc/php/8.2/fpm/conf.d/20-broken.ini")).expect("mkdir");
    // A second php-fpm with no pool at all.
    write(
        d.path(),
        &[(
            "etc/php/8.1/fpm/php-fpm.conf",
            "[global]\nerror_log = /var/log/php8.1-fpm.log\n",
        )],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    println!("{shown}");
    assert!(fs.iter().all(|f| f.primary.is_some()), "{shown}");
    let e005 = codes_at(&stack, &fs, "E005");
    assert!(
        e005.iter().any(|(a, _)| a.ends_with("20-broken.ini:1")),
        "{shown}"
    );
    let e006 = codes_at(&stack, &fs, "E006");
    assert!(
        e006.iter()
            .any(|(a, _)| a == "etc/php/8.1/fpm/php-fpm.conf:1"),
        "{shown}"
    );
}

/// The field corpus (whole real hosts), read in place: every finding has a place, and
/// the nginx-side false findings found there are gone.
#[test]
fn field_corpus_findings_have_places_and_no_known_false_ones() {
    let field = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/field");
    if !field.is_dir() {
        println!("skipped: ../shared/corpus not found");
        return;
    }
    let mut hosts = 0;
    for e in std::fs::read_dir(&field).expect("field").flatten() {
        let dir = e.path();
        if !dir.is_dir() {
            continue;
        }
        hosts += 1;
        let (stack, fs) = check_inputs(Inputs {
            paths: vec![dir.clone()],
            root: Some(dir.clone()),
            ..Default::default()
        });
        let shown = list(&stack, &fs);
        assert!(
            fs.iter().all(|f| f.primary.is_some()),
            "{}: a finding without a place:\n{shown}",
            dir.display()
        );
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name == "ddev-nginx-fpm-php84" {
            // monitoring.conf's ^/phpstatus$ and xhprof's PHP location are no WordPress.
            // (S608 is about that status page itself: `allow all` publishes it; judged
            // in tests/field.rs.)
            for (a, f) in fs.iter().map(|f| (at(&stack, f), f)) {
                assert!(
                    f.code == "S608"
                        || !(a.contains("monitoring.conf") || a.contains("xhprof.conf")),
                    "{}: {a}: {}",
                    f.code,
                    f.message
                );
            }
        }
        if name == "hestiacp-debian12" {
            // phpMyAdmin/phpPgAdmin locations are no WordPress; the per-domain files are
            // reached through conf.d/domains/ links (checked out as files here), so they
            // inherit nginx.conf's user, buffers and body size: no nginx-side finding
            // of those. (E007's info on `http2 on;` — nginx 1.25.1+, which Hestia
            // installs — is about the nginx version, not the linking; S607 is one:
            // Hestia's template sends wp-config.php~. tests/field.rs judges both.)
            for (a, f) in fs
                .iter()
                .filter(|f| !(f.code == "E007" && f.severity == wpstack::finding::Severity::Info))
                .map(|f| (at(&stack, f), f))
            {
                assert!(
                    f.code == "S607"
                        || !(a.starts_with("etc/nginx")
                            || (a.starts_with("home/") && a.contains("/conf/web/"))
                            || matches!(
                                f.code,
                                "U001" | "U002" | "P401" | "P402" | "T101" | "T106" | "S602"
                            )),
                    "{}: {a}: {}",
                    f.code,
                    f.message
                );
            }
            assert_eq!(stack.nginx.len(), 1);
        }
        if name == "debian12-wordpress-pkg" {
            // sites-enabled/wordpress links to sites-available/wordpress: Debian's
            // example still says php7.0-fpm.sock on a PHP 8.2 host, a real U001.
            assert!(codes_at(&stack, &fs, "E001").is_empty(), "{shown}");
            let u001 = codes_at(&stack, &fs, "U001");
            assert_eq!(u001.len(), 1, "{shown}");
            assert!(
                u001[0]
                    .0
                    .starts_with("etc/nginx/sites-available/wordpress:"),
                "{shown}"
            );
        }
        if name == "rhel-fedora-php82" {
            // nginx's conf.d/php-fpm.conf is not php-fpm's: no "No pool defined".
            assert!(codes_at(&stack, &fs, "E006").is_empty(), "{shown}");
        }
        if name == "alpine-linuxserver-php82" {
            assert_eq!(stack.nginx.len(), 1, "{shown}");
        }
        if name == "lando-wordpress-nginx" {
            assert!(codes_at(&stack, &fs, "E005").is_empty(), "{shown}");
        }
        println!("field {name}: {} findings", fs.len());
    }
    assert!(hosts > 0);
}

/// Item 14: dump shows fastcgi_busy_buffers_size as nginx derives it when unset:
/// 2 × the larger of fastcgi_buffer_size and one fastcgi_buffers buffer (here
/// 2 × max(32k, 16k) = 64k from http's settings), not a fixed 8k.
#[test]
fn dump_derives_busy_buffers_size_from_the_buffers() {
    let d = tempfile::tempdir().expect("tmp");
    let site = "server {\n    listen 80;\n    server_name example.com;\n    root /var/www/html;\n    location ~ \\.php$ {\n        try_files $uri =404;\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n    }\n    location ~ ^/big/.+\\.php$ {\n        try_files $uri =404;\n        fastcgi_buffers 8 128k;\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n    }\n}\n";
    debian_host(d.path(), site, &[]);
    let stack = discover::load(&Inputs {
        paths: vec![d.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let dump = wpstack::stack::dump::dump(&stack, true);
    let locs = &dump["nginx"][0]["sites"][0]["php_locations"];
    let busy = &locs[0]["effective"]["fastcgi_busy_buffers_size"];
    assert_eq!(busy["value"], "64k", "{busy}");
    assert!(busy["origin"]
        .as_str()
        .expect("origin")
        .contains("2 × the larger of fastcgi_buffer_size and one fastcgi_buffers buffer"));
    assert_eq!(
        locs[1]["effective"]["fastcgi_busy_buffers_size"]["value"],
        "256k"
    );
}

/// Item 13: a config repo with nginx.conf whose `include /etc/nginx/sites-enabled/*.conf`
/// has no sites-enabled/ in the tree (the repo keeps sites-available/; the host makes
/// the symlinks, as pothi's wordpress-nginx does): the available sites are read in
/// its place, with a note, instead of a site-less check that finds nothing.
#[test]
fn repo_without_sites_enabled_reads_sites_available() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        &[
            (
                "nginx.conf",
                "user www-data;\nevents {}\nhttp {\n    include /etc/nginx/sites-enabled/*.conf;\n}\n",
            ),
            ("sites-available/example.com.conf", REPO_SITE),
            ("snippets/fastcgi-php.conf", SNIPPET_FASTCGI_PHP),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    assert_eq!(stack.nginx.len(), 1);
    assert!(!stack.nginx[0].implied);
    let names: Vec<String> = stack.nginx[0].sites.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["example.com"], "{shown}");
    assert!(
        stack
            .notes
            .iter()
            .any(|n| n.contains("sites-enabled is not in the tree")),
        "{:?}",
        stack.notes
    );
    assert!(codes_at(&stack, &fs, "E005").is_empty(), "{shown}");
}

/// Item 7: with max_execution_time = 0 the T103 fix and the tuner take
/// request_terminate_timeout from the read timeout of the locations reaching the pool —
/// the WordPress location's 120s, never the health check's 2s (one real tree got
/// `request_terminate_timeout = 5s` from a health check).
#[test]
fn health_check_timeout_gives_no_number_to_t103_or_tune() {
    let d = tempfile::tempdir().expect("tmp");
    let site = r#"server {
    listen 80;
    server_name example.com;
    root /var/www/html;
    location = /healthcheck {
        fastcgi_read_timeout 2s;
        fastcgi_param SCRIPT_FILENAME /var/www/health.php;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
    location ~ \.php$ {
        try_files $uri =404;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
"#;
    let www = WWW_82.replace("request_terminate_timeout = 60s\n", "");
    let ini = PHP_INI.replace("max_execution_time = 30", "max_execution_time = 0");
    debian_host(
        d.path(),
        site,
        &[
            ("etc/php/8.2/fpm/pool.d/www.conf", www.as_str()),
            ("etc/php/8.2/fpm/php.ini", ini.as_str()),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    let t103 = codes_at(&stack, &fs, "T103");
    assert_eq!(t103.len(), 1, "{shown}");
    let fix = t103[0].1.fix.as_ref().expect("fix");
    let text = String::from_utf8_lossy(&fix.edits[0].replacement).into_owned();
    assert!(text.contains("120s"), "{text}");

    let given = wpstack::settings::HostFacts {
        ram: Some(4 << 30),
        cpus: Some(2),
        ..Default::default()
    };
    let h = host::resolve(&given, &Default::default(), false);
    let t = wpstack::tune::run::tune(&stack, &h, &Settings::default(), &Default::default())
        .expect("tuning");
    assert_eq!(t.timeout_chain.len(), 1, "only the WordPress location");
    assert_eq!(t.timeout_chain[0].request_terminate_timeout, [0, 120]);
    assert_eq!(t.timeout_chain[0].fastcgi_read_timeout, [120, 120]);
}

/// A main nginx.conf that another includes is not a second instance: linuxserver's
/// /etc/nginx/nginx.conf is only `include /config/nginx/nginx.conf;`, and the walk
/// meets /config first. Before, the site was loaded (and could be reported) twice.
#[test]
fn nginx_conf_included_by_another_is_one_instance() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        &[
            ("etc/nginx/nginx.conf", "include /config/nginx/nginx.conf;\n"),
            (
                "config/nginx/nginx.conf",
                "user abc;\nevents {}\nhttp {\n    include /config/nginx/site-confs/*.conf;\n}\n",
            ),
            (
                "config/nginx/site-confs/default.conf",
                "server {\n    listen 80 default_server;\n    server_name _;\n    root /config/www;\n    location ~ \\.php$ {\n        try_files $uri =404;\n        fastcgi_pass 127.0.0.1:9000;\n    }\n}\n",
            ),
        ],
    );
    let (stack, _) = check(d.path());
    assert_eq!(stack.nginx.len(), 1);
    let main = stack.sources.get(stack.nginx[0].main);
    assert!(
        main.path.ends_with("etc/nginx/nginx.conf"),
        "{}",
        main.display
    );
    assert_eq!(stack.nginx[0].sites.len(), 1);
}

/// RHEL/Fedora's nginx keeps `upstream php-fpm { server unix:/run/php-fpm/www.sock; }` in
/// /etc/nginx/conf.d/php-fpm.conf. That nginx file is not a php-fpm main config: before,
/// it was read as one and gave a false E006 "No pool defined" (with no place at all).
#[test]
fn rhel_nginx_conf_d_php_fpm_conf_is_not_php_fpm() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        &[
            (
                "etc/nginx/nginx.conf",
                "user nginx;\nevents {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n    server {\n        listen 80 default_server;\n        server_name _;\n        root /usr/share/nginx/html;\n        include /etc/nginx/default.d/*.conf;\n    }\n}\n",
            ),
            (
                "etc/nginx/conf.d/php-fpm.conf",
                "# PHP-FPM FastCGI server\n# network or unix domain socket configuration\n\nupstream php-fpm {\n        server unix:/run/php-fpm/www.sock;\n}\n",
            ),
            (
                "etc/nginx/default.d/php.conf",
                "location ~ \\.(php|phar)(/.*)?$ {\n    try_files $uri =404;\n    fastcgi_pass   php-fpm;\n}\n",
            ),
            (
                "etc/php-fpm.conf",
                "include=/etc/php-fpm.d/*.conf\n[global]\npid = /run/php-fpm/php-fpm.pid\nerror_log = /var/log/php-fpm/error.log\n",
            ),
            (
                "etc/php-fpm.d/www.conf",
                "[www]\nuser = apache\ngroup = apache\nlisten = /run/php-fpm/www.sock\nlisten.acl_users = apache,nginx\npm = dynamic\npm.max_children = 50\npm.start_servers = 5\npm.min_spare_servers = 5\npm.max_spare_servers = 35\n",
            ),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    assert!(codes_at(&stack, &fs, "E006").is_empty(), "{shown}");
    assert!(codes_at(&stack, &fs, "U001").is_empty(), "{shown}");
    assert_eq!(stack.fpm.len(), 1, "{shown}");
    assert_eq!(stack.pools.len(), 1);
}

/// Symbolic links checked out as files (git with core.symlinks=false, a flattened
/// archive): HestiaCP's /etc/nginx/conf.d/domains/example.com.conf links to
/// /home/admin/conf/web/example.com/nginx.conf. Read as the link, the site is inside
/// nginx.conf's http {} (its user, buffers and body size), not a false E001 plus a
/// separate instance with nginx's defaults (false P401/P402/U002).
#[test]
fn symlink_checked_out_as_a_file_is_followed() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        &[
            (
                "etc/nginx/nginx.conf",
                "user www-data;\nevents {}\nhttp {\n    client_max_body_size 1024m;\n    fastcgi_buffers 512 4k;\n    fastcgi_buffer_size 256k;\n    fastcgi_read_timeout 300s;\n    include /etc/nginx/conf.d/domains/*.conf;\n}\n",
            ),
            (
                "etc/nginx/conf.d/domains/example.com.conf",
                "/home/admin/conf/web/example.com/nginx.conf",
            ),
            (
                "home/admin/conf/web/example.com/nginx.conf",
                "server {\n    listen 80;\n    server_name example.com;\n    root /home/admin/web/example.com/public_html;\n    location ~* /(?:uploads|files)/.*.php$ {\n        deny all;\n        return 404;\n    }\n    location ~ [^/]\\.php(/|$) {\n        try_files $uri =404;\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n    }\n}\n",
            ),
            ("etc/php/8.2/fpm/php-fpm.conf", POOL_82),
            ("etc/php/8.2/fpm/php.ini", PHP_INI),
            ("etc/php/8.2/fpm/pool.d/www.conf", WWW_82),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    println!("{shown}");
    assert_eq!(stack.nginx.len(), 1, "{shown}");
    assert_eq!(stack.nginx[0].sites.len(), 1);
    for code in ["E001", "P401", "P402", "U002", "T101"] {
        assert!(codes_at(&stack, &fs, code).is_empty(), "{code}:\n{shown}");
    }
    assert!(
        stack
            .notes
            .iter()
            .any(|n| n.contains("core.symlinks=false")),
        "{:?}",
        stack.notes
    );
}

/// Templates rendered at deploy time are not configuration: Trellis keeps
/// `sites-available/wordpress-site.conf.j2`, serversideup's image renders
/// `site-opts.d/http.conf` from `http.conf.template` at start. A config repo with them
/// gets no E001 for Jinja syntax and no E005 for the rendered file (a note instead).
#[test]
fn templates_are_not_config_and_rendered_includes_are_not_missing() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        &[
            (
                "sites-available/wordpress-site.conf.j2",
                "{% for site in sites %}\nserver {\n  server_name {{ site.name }};\n}\n{% endfor %}\n",
            ),
            (
                "sites-available/ssl-off",
                "# HTTP configuration\nserver {\n\tinclude /etc/nginx/site-opts.d/http.conf;\n}\n",
            ),
            (
                "site-opts.d/http.conf.template",
                "listen ${NGINX_HTTP_PORT};\nroot ${NGINX_WEBROOT};\n",
            ),
        ],
    );
    let (stack, fs) = check(d.path());
    let shown = list(&stack, &fs);
    assert!(codes_at(&stack, &fs, "E001").is_empty(), "{shown}");
    assert!(codes_at(&stack, &fs, "E005").is_empty(), "{shown}");
    assert_eq!(stack.nginx.len(), 1, "{shown}");
    assert!(
        stack
            .notes
            .iter()
            .any(|n| n.contains("http.conf.template is: it is rendered at deploy time")),
        "{:?}",
        stack.notes
    );
}

/// A site file named nginx.conf (a panel's per-domain file) that the walk meets before
/// the nginx.conf including it is part of that nginx, not also an implied instance.
#[test]
fn site_file_met_before_its_main_is_not_linted_twice() {
    let d = tempfile::tempdir().expect("tmp");
    write(
        d.path(),
        &[
            (
                "a/conf/web/example.com/nginx.conf",
                "server {\n    listen 80;\n    server_name example.com;\n}\n",
            ),
            (
                "etc/nginx/nginx.conf",
                "user www-data;\nevents {}\nhttp {\n    include /a/conf/web/example.com/nginx.conf;\n}\n",
            ),
        ],
    );
    let (stack, fs) = check(d.path());
    assert_eq!(stack.nginx.len(), 1, "{}", list(&stack, &fs));
    assert!(!stack.nginx[0].implied);
    assert_eq!(stack.nginx[0].sites.len(), 1);
}
