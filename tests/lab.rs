//! The 502 lab (first scenarios): real nginx and php-fpm on loopback in a temp dir;
//! for each scenario (a) `wpstack check` reports the rule, (b) the real failure
//! happens with the expected status and log line, (c) after `wpstack check --fix` the
//! same request succeeds. Every process is killed by PID when the scenario ends, also
//! when it fails; every wait is bounded.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process killed (and reaped) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // SIGTERM lets nginx and php-fpm stop their workers (SIGKILL would orphan
        // them, still listening); SIGKILL only if they are not gone within 5 s.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

struct Lab {
    dir: tempfile::TempDir,
    port: u16,
}

impl Lab {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write the scenario: nginx (location block body given), one pool, scripts.
    fn new(location: &str, pool_extra: &str, nginx_socket: &str) -> Lab {
        let pool_extra = &if pool_extra.contains("display_errors") {
            pool_extra.to_string()
        } else {
            format!("php_admin_flag[display_errors] = off\n{pool_extra}")
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_path_buf();
        // nginx's workers run as nobody: they must reach the sockets and the docroot.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let port = free_port();
        for sub in ["www", "logs", "tmp"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        let www = d.join("www");
        std::fs::write(www.join("index.php"), "<?php echo 'ok';\n").expect("w");
        std::fs::write(www.join("sleep.php"), "<?php sleep(4); echo 'slept';\n").expect("w");
        std::fs::write(
            www.join("alloc.php"),
            "<?php $s = str_repeat('x', 32 * 1024 * 1024); echo strlen($s);\n",
        )
        .expect("w");
        std::fs::write(
            www.join("notice.php"),
            "<?php echo $undefined_variable; echo 'done';\n",
        )
        .expect("w");
        std::fs::write(
            www.join("header.php"),
            "<?php header('X-Big: ' . str_repeat('a', 8192)); echo 'big';\n",
        )
        .expect("w");
        let nginx = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/nginx-error.log error;\nevents {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/tmp/body;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    proxy_temp_path {d}/tmp/proxy;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n    server {{\n        listen 127.0.0.1:{port};\n        server_name lab.test;\n        root {www};\n        location ~ \\.php$ {{\n            try_files $uri =404;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_param REQUEST_METHOD $request_method;\n            fastcgi_param QUERY_STRING $query_string;\n            fastcgi_param CONTENT_TYPE $content_type;\n            fastcgi_param CONTENT_LENGTH $content_length;\n            fastcgi_param SCRIPT_NAME $fastcgi_script_name;\n            fastcgi_param REQUEST_URI $request_uri;\n            fastcgi_param SERVER_PROTOCOL $server_protocol;\n            fastcgi_param GATEWAY_INTERFACE CGI/1.1;\n            fastcgi_pass unix:{nginx_socket};\n{location}        }}\n    }}\n}}\n",
            d = d.display(),
            www = www.display(),
        );
        std::fs::write(d.join("nginx.conf"), nginx).expect("w");
        let fpm = format!(
            "[global]\npid = {d}/php-fpm.pid\nerror_log = {d}/logs/php-fpm.log\ndaemonize = no\n\n[lab]\nlisten = {d}/php82.sock\n{perms}{pm}pm.max_requests = 500\ncatch_workers_output = yes\nslowlog = {d}/logs/slow.log\nrequest_slowlog_timeout = 1s\n{pool_extra}",
            d = d.display(),
            perms = if pool_extra.contains("listen.") { "" } else { "listen.mode = 0666\n" },
            pm = if pool_extra.contains("pm = ") { "" } else { "pm = static\npm.max_children = 2\n" },
        );
        std::fs::write(d.join("php-fpm.conf"), fpm).expect("w");
        Lab { dir, port }
    }

    fn start(&self) -> (Guard, Guard) {
        // Logs of the previous run would hide what this one does.
        let _ = std::fs::remove_file(self.path().join("logs/nginx-error.log"));
        let d = self.path();
        let fpm = Command::new("php-fpm8.2")
            .args(["-n", "-F", "-R", "-y"])
            .arg(d.join("php-fpm.conf"))
            .arg("-p")
            .arg(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start php-fpm");
        let fpm = Guard(fpm);
        let nginx = Command::new("nginx")
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Guard(nginx);
        // Bounded wait for both to be ready.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let up = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            if up && d.join("php82.sock").exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (fpm, nginx)
    }

    /// GET a path: (status, body).
    fn get(&self, path: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(15)))
            .http_status_as_error(false)
            .build()
            .into();
        match agent
            .get(&format!("http://127.0.0.1:{}{path}", self.port))
            .call()
        {
            Ok(mut r) => {
                let status = r.status().as_u16();
                let mut body = String::new();
                let _ = r
                    .body_mut()
                    .as_reader()
                    .take(1 << 20)
                    .read_to_string(&mut body);
                (status, body)
            }
            Err(e) => (0, e.to_string()),
        }
    }

    /// nginx's error log, then php-fpm's (PHP's own messages land in either).
    fn nginx_log(&self) -> String {
        let read =
            |f: &str| std::fs::read_to_string(self.path().join("logs").join(f)).unwrap_or_default();
        read("nginx-error.log") + &read("php-fpm.log")
    }

    fn check_codes(&self) -> Vec<String> {
        let out = assert_cmd::Command::cargo_bin("wpstack")
            .expect("bin")
            .args(["check", "--format", "json", "--exit-zero"])
            .arg(self.path())
            .output()
            .expect("run wpstack");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["code"].as_str().map(str::to_string))
            .collect()
    }

    fn fix(&self) {
        assert_cmd::Command::cargo_bin("wpstack")
            .expect("bin")
            .args(["check", "--fix", "--no-backup", "--exit-zero"])
            .arg(self.path())
            .assert()
            .success();
    }
}

/// Scenarios run one at a time: their timings (2 s, 4 s, 6 s) must not depend on
/// how many other nginx and php-fpm instances share the two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn programs() -> bool {
    support::have_program("nginx") && support::have_program("php-fpm8.2")
}

/// Hold this for the whole scenario (a failed scenario poisons nothing).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// One scenario: rule fires, real failure with status and log line, fixed → 200.
fn scenario(code: &str, lab: &Lab, path: &str, status: u16, log_line: &str) {
    let codes = lab.check_codes();
    assert!(
        codes.iter().any(|c| c == code),
        "{code}: wpstack check did not report it: {codes:?}"
    );
    {
        let _procs = lab.start();
        let (got, body) = lab.get(path);
        assert_eq!(
            got,
            status,
            "{code}: {body}\nnginx log:\n{}",
            lab.nginx_log()
        );
        let log = lab.nginx_log();
        // `a|b`: either line (the kernel words a killed upstream either way).
        let hit = log_line.split('|').find(|alt| log.contains(alt));
        assert!(
            hit.is_some(),
            "{code}: nginx log lacks `{log_line}`:\n{log}"
        );
        let line = log
            .lines()
            .find(|l| hit.is_some_and(|h| l.contains(h)))
            .unwrap_or("");
        println!(
            "lab {code}: {path} → {got}, nginx: {}",
            line.split_once("] ").map(|(_, r)| r).unwrap_or(line)
        );
    }
    lab.fix();
    let codes = lab.check_codes();
    assert!(
        !codes.iter().any(|c| c == code),
        "{code} still reported after --fix: {codes:?}"
    );
    {
        let _procs = lab.start();
        let (got, body) = lab.get(path);
        assert_eq!(
            got,
            200,
            "{code} after --fix: {body}\nnginx log:\n{}",
            lab.nginx_log()
        );
        println!("lab {code}: after wpstack check --fix → 200");
    }
}

#[test]
fn u001_pool_socket_renamed_by_a_php_upgrade() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let sock = tmp.path().join("php81.sock");
    let lab = Lab::new("", "", &sock.to_string_lossy());
    // nginx still points at the old version's socket, in the same directory.
    let old = lab.path().join("php81.sock");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf")).expect("r");
    std::fs::write(
        lab.path().join("nginx.conf"),
        conf.replace(&sock.to_string_lossy().to_string(), &old.to_string_lossy()),
    )
    .expect("w");
    scenario(
        "U001",
        &lab,
        "/index.php",
        502,
        "(2: No such file or directory)",
    );
}

#[test]
fn t101_nginx_gives_up_before_php() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let lab = lab(
        "            fastcgi_read_timeout 2s;\n",
        "request_terminate_timeout = 10s\nphp_admin_value[max_execution_time] = 8\n",
    );
    scenario(
        "T101",
        &lab,
        "/sleep.php",
        504,
        "upstream timed out (110: Connection timed out)",
    );
}

#[test]
fn p402_headers_bigger_than_the_buffer() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let lab = lab(
        "            fastcgi_buffer_size 1k;\n            fastcgi_buffers 4 1k;\n",
        "",
    );
    scenario(
        "P402",
        &lab,
        "/header.php",
        502,
        "upstream sent too big header",
    );
}

/// A lab whose nginx points at its own pool's socket.
fn lab(location: &str, pool_extra: &str) -> Lab {
    let lab = Lab::new(location, pool_extra, "");
    let conf = std::fs::read_to_string(lab.path().join("nginx.conf")).expect("r");
    let sock = lab.path().join("php82.sock");
    std::fs::write(
        lab.path().join("nginx.conf"),
        conf.replace(
            "fastcgi_pass unix:;",
            &format!("fastcgi_pass unix:{};", sock.display()),
        ),
    )
    .expect("w");
    lab
}

#[test]
fn u002_socket_nginx_may_not_open() {
    let _serial = serial();
    if !programs() {
        return;
    }
    // The master runs as root; nginx's workers as nobody.
    let lab = lab(
        "",
        "listen.owner = root\nlisten.group = root\nlisten.mode = 0660\n",
    );
    scenario("U002", &lab, "/index.php", 502, "(13: Permission denied)");
}

#[test]
fn t102_php_fpm_kills_the_worker_first() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let lab = lab(
        "",
        "request_terminate_timeout = 2s\nphp_admin_value[max_execution_time] = 30\n",
    );
    scenario(
        "T102",
        &lab,
        "/sleep.php",
        502,
        "upstream prematurely closed connection|recv() failed (104: Connection reset by peer)",
    );
    let fpm = std::fs::read_to_string(lab.path().join("logs/php-fpm.log")).unwrap_or_default();
    assert!(fpm.contains("execution timed out"), "php-fpm log:\n{fpm}");
}

#[test]
fn m301_memory_limit_too_low() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let lab = lab(
        "",
        "php_admin_value[memory_limit] = 16M\nphp_admin_value[error_log] = /dev/stderr\nphp_admin_flag[log_errors] = on\n",
    );
    scenario(
        "M301",
        &lab,
        "/alloc.php",
        500,
        "Allowed memory size of 16777216 bytes exhausted",
    );
}

#[test]
fn d502_errors_in_the_page() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let lab = lab("", "php_admin_flag[display_errors] = on\n");
    assert!(lab.check_codes().iter().any(|c| c == "D502"));
    {
        let _procs = lab.start();
        let (status, body) = lab.get("/notice.php");
        assert_eq!(status, 200);
        assert!(
            body.contains("Warning") && body.contains("undefined_variable"),
            "{body}"
        );
        println!("lab D502: /notice.php → 200 with the PHP warning in the body");
    }
    lab.fix();
    let _procs = lab.start();
    let (status, body) = lab.get("/notice.php");
    assert_eq!((status, body.as_str()), (200, "done"));
    println!("lab D502: after wpstack check --fix → 200, no error text");
}

/// nginx config of a lab, edited in place.
fn edit_nginx(lab: &Lab, from: &str, to: &str) {
    let p = lab.path().join("nginx.conf");
    let conf = std::fs::read_to_string(&p).expect("r");
    assert!(conf.contains(from), "lab nginx.conf lacks {from:?}");
    std::fs::write(&p, conf.replacen(from, to, 1)).expect("w");
}

#[test]
fn s601_php_runs_in_uploads() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let lab = lab("", "");
    // A WordPress site: a front controller, and an upload that is really PHP.
    edit_nginx(
        &lab,
        "        location ~ \\.php$ {",
        "        location / {\n            try_files $uri $uri/ /index.php?$args;\n        }\n        location ~ \\.php$ {",
    );
    let uploads = lab.path().join("www/wp-content/uploads/2026/11");
    std::fs::create_dir_all(&uploads).expect("mkdir");
    std::fs::write(uploads.join("shell.php"), "<?php echo 'pwned';\n").expect("w");
    assert!(lab.check_codes().iter().any(|c| c == "S601"));
    {
        let _procs = lab.start();
        let (status, body) = lab.get("/wp-content/uploads/2026/11/shell.php");
        assert_eq!((status, body.as_str()), (200, "pwned"));
        println!("lab S601: uploaded shell.php → 200 and its output");
    }
    lab.fix();
    assert!(!lab.check_codes().iter().any(|c| c == "S601"));
    let _procs = lab.start();
    let (status, _) = lab.get("/wp-content/uploads/2026/11/shell.php");
    assert_eq!(status, 403);
    let (status, body) = lab.get("/index.php");
    assert_eq!((status, body.as_str()), (200, "ok"));
    println!("lab S601: after wpstack check --fix → 403 for the upload, 200 for the site");
}

#[test]
fn s602_image_runs_as_php() {
    let _serial = serial();
    if !programs() {
        return;
    }
    // php-fpm runs with -n (cgi.fix_pathinfo = 1, PHP's default); the php.ini beside it
    // tells wpstack the same. security.limit_extensions is widened, as hosts often do.
    let lab = lab("", "security.limit_extensions = .php .jpg\n");
    std::fs::write(
        lab.path().join("php.ini"),
        "[PHP]\ncgi.fix_pathinfo = 1\ndisplay_errors = Off\n",
    )
    .expect("w");
    edit_nginx(&lab, "            try_files $uri =404;\n", "");
    std::fs::write(
        lab.path().join("www/avatar.jpg"),
        "<?php echo 'image ran';\n",
    )
    .expect("w");
    assert!(lab.check_codes().iter().any(|c| c == "S602"));
    {
        let _procs = lab.start();
        let (status, body) = lab.get("/avatar.jpg/x.php");
        assert_eq!((status, body.as_str()), (200, "image ran"));
        println!("lab S602: /avatar.jpg/x.php → 200, the image ran as PHP");
    }
    lab.fix();
    assert!(!lab.check_codes().iter().any(|c| c == "S602"));
    let _procs = lab.start();
    let (status, _) = lab.get("/avatar.jpg/x.php");
    assert_eq!(status, 404);
    println!("lab S602: after wpstack check --fix → 404");
}

#[test]
fn p401_post_larger_than_post_max_size() {
    let _serial = serial();
    if !programs() {
        return;
    }
    let lab = lab(
        "            client_max_body_size 8m;\n",
        "php_admin_value[post_max_size] = 1M\n",
    );
    // php-fpm runs with -n (upload_max_filesize = 2M, PHP's default); the php.ini
    // beside it tells wpstack the same.
    std::fs::write(
        lab.path().join("php.ini"),
        "[PHP]\nupload_max_filesize = 2M\ndisplay_errors = Off\ncgi.fix_pathinfo = 0\n",
    )
    .expect("w");
    std::fs::write(
        lab.path().join("www/post.php"),
        "<?php echo count($_POST);\n",
    )
    .expect("w");
    let post = |lab: &Lab| -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(15)))
            .http_status_as_error(false)
            .build()
            .into();
        let body = format!("field={}", "x".repeat(1_500_000));
        match agent
            .post(&format!("http://127.0.0.1:{}/post.php", lab.port))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())
        {
            Ok(mut r) => {
                let status = r.status().as_u16();
                let mut text = String::new();
                let _ = r
                    .body_mut()
                    .as_reader()
                    .take(1 << 20)
                    .read_to_string(&mut text);
                (status, text)
            }
            Err(e) => (0, e.to_string()),
        }
    };
    assert!(lab.check_codes().iter().any(|c| c == "P401"));
    {
        let _procs = lab.start();
        let (status, body) = post(&lab);
        assert_eq!(
            (status, body.as_str()),
            (200, "0"),
            "a 1.5 MB POST over a 1M post_max_size arrives empty"
        );
        println!("lab P401: 1.5 MB POST → 200 with an empty $_POST");
    }
    lab.fix();
    assert!(!lab.check_codes().iter().any(|c| c == "P401"));
    let _procs = lab.start();
    let (status, body) = post(&lab);
    assert_eq!((status, body.as_str()), (200, "1"));
    println!("lab P401: after wpstack check --fix → the field arrives");
}
