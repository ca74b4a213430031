//! The tuner against real php-fpm 8.2 masters in temp dirs: worker memory measured
//! from /proc agrees with /proc itself and tells a 40 MB pool from a 4 MB one, and
//! `tune --apply --reload` reloads a real master (and rolls back a change it
//! rejects). Every master is stopped by PID when its test ends, also on failure;
//! every wait is bounded; sockets are unix sockets in the temp dir.

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One test at a time: their memory readings and reload timings must not depend on
/// another php-fpm starting next to them.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// The master of `conf` if `pid` is one (never signal anything else).
fn is_our_master(pid: u32, conf: &Path) -> bool {
    let c = cmdline(pid);
    c.starts_with("php-fpm") && c.contains("master process") && c.contains(&*conf.to_string_lossy())
}

fn kill(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// A php-fpm master started by this test (or restarted for it by wpstack): stopped
/// on drop, found by its pid file and checked to run this test's config.
struct Fpm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    child: Option<std::process::Child>,
}

impl Fpm {
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn pid_file(&self) -> PathBuf {
        self.path().join("php-fpm.pid")
    }
    /// The live master, by its pid file.
    fn master(&self) -> Option<u32> {
        read_pid(&self.pid_file()).filter(|p| is_our_master(*p, &self.conf))
    }
    /// Wait (bounded) until the master runs and every socket accepts.
    fn wait_ready(&self, socks: &[&str]) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.master().is_some()
                && socks
                    .iter()
                    .all(|s| UnixStream::connect(self.path().join(s)).is_ok())
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Fpm {
    fn drop(&mut self) {
        use rustix::process::Signal;
        let mut pids: Vec<u32> = self.master().into_iter().collect();
        if let Some(c) = &self.child {
            if !pids.contains(&c.id()) && is_our_master(c.id(), &self.conf) {
                pids.push(c.id());
            }
        }
        for &p in &pids {
            kill(p, Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && pids.iter().any(|p| is_our_master(*p, &self.conf)) {
            if let Some(c) = &mut self.child {
                let _ = c.try_wait();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for &p in &pids {
            if is_our_master(p, &self.conf) {
                kill(p, Signal::KILL);
            }
        }
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A unique pool-name prefix per test process and test.
fn unique(tag: &str) -> String {
    format!("{tag}{}", std::process::id())
}

/// Write php-fpm.conf with `pools` ([name, extra lines]) on unix sockets NAME.sock in
/// a temp dir, and start it (`daemonize`: the master forks away and is followed by its
/// pid file, as under an init script; else it stays the test's child, as with -F).
fn start(pools: &[(&str, &str)], daemonize: bool) -> Fpm {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::create_dir_all(d.join("www")).expect("mkdir");
    // Allocate and touch MB megabytes (str_repeat writes every byte).
    for (name, mb) in [("big.php", 40), ("small.php", 4), ("index.php", 0)] {
        std::fs::write(
            d.join("www").join(name),
            format!("<?php $s = str_repeat('x', {mb} * 1024 * 1024); echo 'ok ', strlen($s);\n"),
        )
        .expect("script");
    }
    let mut conf = format!(
        "[global]\npid = {d}/php-fpm.pid\nerror_log = {d}/php-fpm.log\ndaemonize = {dm}\n",
        d = d.display(),
        dm = if daemonize { "yes" } else { "no" }
    );
    for (name, extra) in pools {
        conf.push_str(&format!(
            "\n[{name}]\nlisten = {d}/{name}.sock\nlisten.mode = 0666\npm = static\npm.max_children = 2\npm.max_requests = 500\n{extra}",
            d = d.display()
        ));
    }
    let conf_path = d.join("php-fpm.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let mut cmd = Command::new("php-fpm8.2");
    cmd.arg("-R")
        .arg("-y")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut fpm = Fpm {
        dir,
        conf: conf_path,
        child: None,
    };
    if daemonize {
        // The starting process exits once the master is up.
        let status = cmd.status().expect("start php-fpm");
        assert!(status.success(), "php-fpm did not start: {}", log(&fpm));
    } else {
        fpm.child = Some(cmd.spawn().expect("start php-fpm"));
    }
    let socks: Vec<String> = pools.iter().map(|(n, _)| format!("{n}.sock")).collect();
    let socks: Vec<&str> = socks.iter().map(String::as_str).collect();
    assert!(fpm.wait_ready(&socks), "php-fpm not ready: {}", log(&fpm));
    fpm
}

fn log(fpm: &Fpm) -> String {
    std::fs::read_to_string(fpm.path().join("php-fpm.log")).unwrap_or_default()
}

/// Run a script through a pool's socket with wpstack's own FastCGI client (the one
/// `tune --sample` reads status pages with): its status and body.
fn fcgi_get(sock: &Path, script: &Path) -> Result<String, String> {
    let listen = wpstack::tune::fpm_status::Listen::Unix(sock.to_path_buf());
    let (_, body) = wpstack::tune::fpm_status::get(&listen, &script.to_string_lossy(), "")?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Pss (smaps_rollup) and VmHWM (status) of a pid, bytes, read here.
fn own_reading(pid: u32) -> (u64, u64) {
    let field = |file: &str, key: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("smaps_rollup", "Pss:"), field("status", "VmHWM:"))
}

fn children_of(master: u32) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.starts_with("PPid:")
                        && l.split_whitespace().nth(1) == Some(&master.to_string())
                })
        })
        .collect();
    out.sort_unstable();
    out
}

const MIB: u64 = 1 << 20;

#[test]
fn worker_memory_agrees_with_proc_and_tells_a_40mb_pool_from_a_4mb_one() {
    if !support::have_program("php-fpm8.2") {
        return;
    }
    let _one = serial();
    let big = unique("big");
    let small = unique("small");
    let tiny = unique("tiny");
    let idle = unique("idle");
    let fpm = start(&[(&big, ""), (&small, ""), (&tiny, ""), (&idle, "")], false);
    let d = fpm.path().to_path_buf();
    // A few requests each: both workers of a pool are likely to serve one; the peak
    // is what counts either way.
    for _ in 0..6 {
        let out = fcgi_get(&d.join(format!("{big}.sock")), &d.join("www/big.php")).expect("big");
        assert!(out.contains("ok 41943040"), "{out}");
        let out =
            fcgi_get(&d.join(format!("{small}.sock")), &d.join("www/small.php")).expect("small");
        assert!(out.contains("ok 4194304"), "{out}");
        let out =
            fcgi_get(&d.join(format!("{tiny}.sock")), &d.join("www/index.php")).expect("tiny");
        assert!(out.contains("ok 0"), "{out}");
    }
    let master = fpm.master().expect("master");
    // A worker frees the script's memory after it has sent the response: wait
    // (bounded) until the readings stop moving before comparing them.
    let kids = children_of(master);
    let mut last: Vec<(u64, u64)> = Vec::new();
    for _ in 0..50 {
        let now: Vec<(u64, u64)> = kids.iter().map(|p| own_reading(*p)).collect();
        if now == last {
            break;
        }
        last = now;
        std::thread::sleep(Duration::from_millis(100));
    }
    let m = wpstack::machine::workers::measure_of(Path::new("/proc"), Some(master));
    let all = wpstack::machine::workers::measure(Path::new("/proc"));
    let (b, s) = (&m[&big], &m[&small]);
    assert_eq!(
        all[&big].pids, b.pids,
        "filtering by master changes nothing here"
    );
    assert_eq!((b.count, s.count), (2, 2));
    let mut every: Vec<u32> = m.values().flat_map(|w| w.pids.clone()).collect();
    every.sort_unstable();
    assert_eq!(every, kids, "the tuner's workers are the master's children");
    // The tuner's numbers against this test's own reading of the same pids. PSS moves
    // a little (shared pages are re-divided as others map them): 1 MiB of tolerance;
    // VmHWM of an idle worker does not move.
    for (name, w) in [
        (&big, b),
        (&small, s),
        (&tiny, &m[&tiny]),
        (&idle, &m[&idle]),
    ] {
        let own: Vec<(u64, u64)> = w.pids.iter().map(|p| own_reading(*p)).collect();
        let pss_max = own.iter().map(|o| o.0).max().unwrap_or(0);
        let hwm_max = own.iter().map(|o| o.1).max().unwrap_or(0);
        assert!(
            w.pss_max.abs_diff(pss_max) <= MIB / 4,
            "{name}: PSS tuner {} vs /proc {pss_max}",
            w.pss_max
        );
        assert_eq!(w.hwm_max, hwm_max, "{name}: VmHWM");
        println!(
            "tune_live: pool {name}: {} workers, PSS max {:.1} MiB avg {:.1} MiB, VmHWM max {:.1} MiB, peak {:.1} MiB, master RssAnon {:.1} MiB, low confidence: {}",
            w.count,
            w.pss_max as f64 / MIB as f64,
            w.pss_avg as f64 / MIB as f64,
            w.hwm_max as f64 / MIB as f64,
            w.peak() as f64 / MIB as f64,
            w.baseline as f64 / MIB as f64,
            w.low_confidence()
        );
    }
    assert!(
        b.peak() >= s.peak() + 30 * MIB,
        "big peak {} vs small peak {}",
        b.peak(),
        s.peak()
    );
    assert!(!b.low_confidence() && !s.low_confidence());
    assert!(
        m[&idle].low_confidence(),
        "workers that served nothing read low"
    );

    // `wpstack tune` on this host, RAM given: the stack's master runs here, so its
    // workers are measured and each pool is sized by its own peak.
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["tune", "--ram", "2G", "--format", "json"])
        .arg(&d)
        .output()
        .expect("run wpstack");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let line = |pool: &str| -> serde_json::Value {
        v["tuning"]["pools"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["pool"] == pool).cloned())
            .unwrap_or_else(|| panic!("{pool} not in {v}"))
    };
    let (bl, sl) = (line(&big), line(&small));
    println!("tune_live: tune --ram 2G: {bl}\ntune_live: tune --ram 2G: {sl}");
    for l in [&bl, &sl] {
        assert_eq!(l["workers_seen"], 2, "{l}");
        assert!(
            l["worker_mem_source"]
                .as_str()
                .is_some_and(|s| s.starts_with("measured")),
            "{l}"
        );
    }
    let (bm, sm) = (
        bl["worker_mem"].as_u64().unwrap_or(0),
        sl["worker_mem"].as_u64().unwrap_or(0),
    );
    // The peak is PSS now + what was freed since VmHWM: PSS moves a little between
    // the two readings (shared pages gain or lose sharers), so allow 2 MiB.
    let near = |a: u64, b: u64| a.abs_diff(b) <= 2 * MIB;
    assert!(
        near(bm, b.peak().min(128 * MIB)),
        "big: worker memory {bm} is its peak {}",
        b.peak()
    );
    assert!(
        near(sm, s.peak().min(128 * MIB)),
        "small: worker memory {sm} is its peak {}",
        s.peak()
    );
    assert!(bm >= sm + 30 * MIB);
    // Both pools had 2 children: the budget is shared by each pool's weight
    // (max_children × worker memory), so the big pool gets the larger share.
    let (ba, sa) = (
        bl["max_children_after"].as_u64().unwrap_or(0),
        sl["max_children_after"].as_u64().unwrap_or(0),
    );
    assert!(
        ba * bm > sa * sm,
        "big pool's share {ba} × {bm} vs small's {sa} × {sm}"
    );
}

fn pool_workers(master: u32, pool: &str) -> usize {
    children_of(master)
        .into_iter()
        .filter(|p| cmdline(*p).trim() == format!("php-fpm: pool {pool}"))
        .count()
}

fn serves(fpm: &Fpm, pool: &str) -> Result<String, String> {
    fcgi_get(
        &fpm.path().join(format!("{pool}.sock")),
        &fpm.path().join("www/index.php"),
    )
}

#[test]
fn apply_reload_reloads_a_real_master_and_the_new_pools_serve() {
    if !support::have_program("php-fpm8.2") {
        return;
    }
    let _one = serial();
    let (a, b) = (unique("ra"), unique("rb"));
    // Daemonized, as under an init script: the reload re-executes the master, which
    // forks again: the pid changes and is followed through the pid file.
    let fpm = start(&[(&a, ""), (&b, "")], true);
    let before = fpm.master().expect("master");
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["tune", "--ram", "1G", "--apply", "--reload"])
        .arg(fpm.path())
        .output()
        .expect("run wpstack");
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("tune_live: tune --apply --reload said:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{}", log(&fpm));
    assert!(stderr.contains("reloaded: master pid"), "{stderr}");
    let after = fpm.master().expect("a live master after the reload");
    let conf = std::fs::read_to_string(&fpm.conf).expect("conf");
    let want: Vec<usize> = conf
        .lines()
        .filter_map(|l| l.strip_prefix("pm.max_children = ")?.trim().parse().ok())
        .collect();
    assert_eq!(want.len(), 2, "{conf}");
    assert!(
        want.iter().all(|n| *n != 2),
        "tune changed max_children: {conf}"
    );
    // The reloaded master runs the new numbers: a static pool forks max_children
    // workers, a dynamic one pm.start_servers, an ondemand one none until asked
    // (bounded wait: they are forked just after the sockets are back).
    let expected: Vec<usize> = conf
        .split("\n[")
        .skip(1)
        .map(|section| {
            let get = |k: &str| {
                section.lines().find_map(|l| {
                    let (key, v) = l.split_once('=')?;
                    (key.trim() == k).then(|| v.trim().to_string())
                })
            };
            let n = |k: &str| get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
            match get("pm").as_deref() {
                Some("static") => n("pm.max_children"),
                Some("dynamic") => n("pm.start_servers"),
                _ => 0,
            }
        })
        .collect();
    assert_eq!(expected.len(), 2, "{conf}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && (pool_workers(after, &a) != expected[0] || pool_workers(after, &b) != expected[1])
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        (pool_workers(after, &a), pool_workers(after, &b)),
        (expected[0], expected[1]),
        "{conf}"
    );
    for pool in [&a, &b] {
        let got = serves(&fpm, pool).expect("serves after reload");
        assert!(got.contains("ok 0"), "{got}");
    }
    println!("tune_live: reload ok: master pid {before} → {after}, max_children 2 → {want:?}");
}

#[test]
fn a_change_the_master_rejects_is_rolled_back_and_the_master_serves_again() {
    if !support::have_program("php-fpm8.2") {
        return;
    }
    let _one = serial();
    for daemonize in [false, true] {
        let (a, b) = (
            unique(if daemonize { "xa" } else { "ya" }),
            unique(if daemonize { "xb" } else { "yb" }),
        );
        let fpm = start(&[(&a, ""), (&b, "")], daemonize);
        let before = fpm.master().expect("master");
        let stack = wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
            paths: vec![fpm.path().to_path_buf()],
            ..Default::default()
        })
        .expect("load");
        let id = stack.sources.find(&fpm.conf).expect("conf loaded");
        let old = stack.sources.get(id).bytes.clone();
        // `php-fpm -t` accepts a listen path in a directory that does not exist; the
        // master finds out when it binds, on the reload.
        let text = String::from_utf8_lossy(&old).into_owned();
        let sock = format!("{}/{b}.sock", fpm.path().display());
        let bad = format!("{}/nodir/{b}.sock", fpm.path().display());
        assert!(text.contains(&sock));
        let new = text.replace(&sock, &bad).into_bytes();
        let t = Command::new("php-fpm8.2")
            .args(["-t", "-R", "-y"])
            .arg(&fpm.conf)
            .stdin(Stdio::null())
            .output()
            .expect("php-fpm -t");
        assert!(t.status.success(), "php-fpm -t");
        wpstack::fix::run::write_one(&fpm.conf, &old, &new, false).expect("write");
        let t = Command::new("php-fpm8.2")
            .args(["-t", "-R", "-y"])
            .arg(&fpm.conf)
            .stdin(Stdio::null())
            .output()
            .expect("php-fpm -t");
        println!(
            "tune_live: php-fpm -t on the bad listen: exit {:?}",
            t.status.code()
        );
        let changed = vec![wpstack::tune::reload::Changed {
            id,
            path: fpm.conf.clone(),
            display: "php-fpm.conf".into(),
            old: old.clone(),
            new: new.clone(),
        }];
        let got = wpstack::tune::reload::reload(&stack, &changed, &Default::default());
        let err = got.expect_err("the master rejects the change");
        println!("tune_live: daemonize={daemonize}: {err}");
        assert!(err.contains("rolled back"), "{err}");
        assert!(
            err.contains("unable to bind listening socket"),
            "php-fpm's own reason is quoted: {err}"
        );
        assert_eq!(
            std::fs::read(&fpm.conf).expect("conf"),
            old,
            "old bytes back"
        );
        assert!(err.contains("on the old config"), "{err}");
        let after = fpm.master().expect("a master runs again");
        for pool in [&a, &b] {
            let got = serves(&fpm, pool).expect("serves after the rollback");
            assert!(got.contains("ok 0"), "{got}\n{}", log(&fpm));
        }
        println!("tune_live: daemonize={daemonize}: master pid {before} → {after} after rollback");
    }
}

#[test]
fn reload_needs_apply_and_a_pid_file() {
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["tune", "--ram", "1G", "--reload", "."])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        d.path().join("php-fpm.conf"),
        "[global]\nerror_log = /dev/null\n\n[www]\nlisten = /tmp/nowhere.sock\npm = static\npm.max_children = 2\n",
    )
    .expect("conf");
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .args(["tune", "--ram", "1G", "--apply", "--reload", "--no-backup"])
        .arg(d.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sets no `pid =`"), "{stderr}");
    // Settled before writing: the pools stay as they were.
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(std::fs::read_to_string(d.path().join("php-fpm.conf"))
        .expect("conf")
        .contains("pm.max_children = 2\n"));
}

fn http_get(port: u16, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: lab.test\r\n\r\n");
    let mut out = String::new();
    let _ = s.take(1 << 20).read_to_string(&mut out);
    out
}

#[test]
fn nginx_files_changed_reload_nginx_and_a_rejected_one_is_rolled_back() {
    if !support::have_program("php-fpm8.2") || !support::have_program("nginx") {
        return;
    }
    let _one = serial();
    let pool = unique("ng");
    let fpm = start(&[(&pool, "")], false);
    let d = fpm.path().to_path_buf();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(d.join(sub)).expect("mkdir");
    }
    let conf = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/nginx-error.log error;\nevents {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/tmp/body;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    proxy_temp_path {d}/tmp/proxy;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n    server {{\n        listen 127.0.0.1:{port};\n        root {d}/www;\n        location ~ \\.php$ {{\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_param REQUEST_METHOD $request_method;\n            fastcgi_pass unix:{d}/{pool}.sock;\n            fastcgi_read_timeout 60s;\n        }}\n    }}\n}}\n",
        d = d.display()
    );
    let nginx_conf = d.join("nginx.conf");
    std::fs::write(&nginx_conf, &conf).expect("nginx.conf");
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&d)
        .arg("-c")
        .arg(&nginx_conf)
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = support::Guard(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !http_get(port, "/index.php").contains("ok 0") {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(http_get(port, "/index.php").contains("200 OK"));
    let load = || {
        wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
            paths: vec![d.clone()],
            ..Default::default()
        })
        .expect("load")
    };
    // A good nginx change (a longer read timeout): nginx reloads (same master).
    let stack = load();
    let id = stack.sources.find(&nginx_conf).expect("nginx.conf loaded");
    let good = conf.replace("fastcgi_read_timeout 60s;", "fastcgi_read_timeout 90s;");
    wpstack::fix::run::write_one(&nginx_conf, conf.as_bytes(), good.as_bytes(), false)
        .expect("write");
    let changed = |old: &str, new: &str| {
        vec![wpstack::tune::reload::Changed {
            id,
            path: nginx_conf.clone(),
            display: "nginx.conf".into(),
            old: old.as_bytes().to_vec(),
            new: new.as_bytes().to_vec(),
        }]
    };
    let said = wpstack::tune::reload::reload(&stack, &changed(&conf, &good), &Default::default())
        .expect("reload");
    println!("tune_live: {}", said.join("; "));
    assert!(said.iter().any(|l| l.contains("nginx")), "{said:?}");
    assert!(
        said.iter().all(|l| !l.contains("php-fpm")),
        "php-fpm is left alone: {said:?}"
    );
    assert_eq!(read_pid(&d.join("nginx.pid")), Some(nginx.0.id()));
    assert!(http_get(port, "/index.php").contains("ok 0"));
    // A change nginx rejects: rolled back, nginx serves on.
    let stack = load();
    let bad = good.replace(
        "fastcgi_read_timeout 90s;",
        "fastcgi_read_timeout 90s;\n            no_such_directive on;",
    );
    wpstack::fix::run::write_one(&nginx_conf, good.as_bytes(), bad.as_bytes(), false)
        .expect("write");
    let err = wpstack::tune::reload::reload(&stack, &changed(&good, &bad), &Default::default())
        .expect_err("nginx rejects it");
    println!("tune_live: {err}");
    assert!(err.contains("unknown directive"), "{err}");
    assert_eq!(std::fs::read_to_string(&nginx_conf).expect("read"), good);
    assert_eq!(read_pid(&d.join("nginx.pid")), Some(nginx.0.id()));
    assert!(http_get(port, "/index.php").contains("ok 0"));
    drop(nginx);
}

/// Issue 17's proof: a real php-fpm with two pools under a bounded loopback load, and
/// `tune --sample` watching it. `hot` (pm dynamic, 2 children) gets 6 concurrent
/// clients of a script that allocates 24 MiB and holds it 300 ms: it saturates, and
/// php-fpm counts `max children reached`. `cool` (3 children) gets one client of an
/// 8 MiB script. Checked within stated tolerances: the per-worker peaks the window
/// measured (24 MiB script: 24–40 MiB; 8 MiB: 8–20 MiB: the script's string plus the
/// worker's own few MiB), the busy peak (hot: both children; cool: one or two, see
/// below), the
/// saturated pool named from `max children reached` and grown first (its share is
/// its busy peak plus one: cool's is its busy peak), and the
/// `--drop-in` output: php-fpm -t accepts it, `check` then reports no C201/C202. One
/// snapshot taken at the quiet moment before the load is printed beside it.
#[test]
fn sampling_under_load_measures_peaks_and_concurrency_and_names_the_saturated_pool() {
    if !support::have_program("php-fpm8.2") {
        return;
    }
    let _one = serial();
    let hot = unique("hot");
    let cool = unique("cool");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::create_dir_all(d.join("www")).expect("mkdir");
    std::fs::create_dir_all(d.join("pool.d")).expect("mkdir");
    for (name, mb, ms) in [("hold24.php", 24, 300), ("hold8.php", 8, 150)] {
        std::fs::write(
            d.join("www").join(name),
            format!(
                "<?php $s = str_repeat('x', {mb} * 1024 * 1024); usleep({ms} * 1000); echo 'ok ', strlen($s);\n"
            ),
        )
        .expect("script");
    }
    let conf = d.join("php-fpm.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\npid = {d}/php-fpm.pid\nerror_log = {d}/php-fpm.log\ndaemonize = no\n\ninclude = {d}/pool.d/*.conf\n",
            d = d.display()
        ),
    )
    .expect("conf");
    std::fs::write(
        d.join("pool.d/hot.conf"),
        format!(
            "[{hot}]\nlisten = {d}/{hot}.sock\nlisten.mode = 0666\npm = dynamic\npm.max_children = 2\npm.start_servers = 1\npm.min_spare_servers = 1\npm.max_spare_servers = 2\npm.max_requests = 500\nrequest_terminate_timeout = 40s\npm.status_path = /status\npm.status_listen = {d}/{hot}-status.sock\n",
            d = d.display()
        ),
    )
    .expect("pool");
    std::fs::write(
        d.join("pool.d/cool.conf"),
        format!(
            "[{cool}]\nlisten = {d}/{cool}.sock\nlisten.mode = 0666\npm = static\npm.max_children = 3\npm.max_requests = 500\nrequest_terminate_timeout = 40s\npm.status_path = /status\n",
            d = d.display()
        ),
    )
    .expect("pool");
    let child = Command::new("php-fpm8.2")
        .arg("-R")
        .arg("-y")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start php-fpm");
    let fpm = Fpm {
        dir,
        conf: conf.clone(),
        child: Some(child),
    };
    let socks = [format!("{hot}.sock"), format!("{cool}.sock")];
    assert!(
        fpm.wait_ready(&[&socks[0], &socks[1]]),
        "php-fpm not ready: {}",
        log(&fpm)
    );
    let wpstack = |args: &[&str]| -> std::process::Output {
        assert_cmd::Command::cargo_bin("wpstack")
            .expect("bin")
            .arg("tune")
            .args(["--ram", "4G", "--cpus", "2"])
            .args(args)
            .arg(&d)
            .output()
            .expect("run wpstack")
    };
    let json_of = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let pool_line = |v: &serde_json::Value, pool: &str| -> serde_json::Value {
        v["tuning"]["pools"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["pool"] == pool).cloned())
            .unwrap_or_else(|| panic!("{pool} not in {v}"))
    };
    // One snapshot at a quiet moment, before any request.
    let snap = json_of(&wpstack(&["--format", "json"]));
    let (snap_hot, snap_cool) = (pool_line(&snap, &hot), pool_line(&snap, &cool));

    // The load: bounded in time, each request bounded by the client's read timeout.
    let load_for = Duration::from_millis(4500);
    let started = Instant::now();
    let spawn = |sock: PathBuf, script: PathBuf, want: &'static str| {
        std::thread::spawn(move || {
            let mut n = 0u32;
            while started.elapsed() < load_for {
                match fcgi_get(&sock, &script) {
                    Ok(out) => assert!(out.contains(want), "{out}"),
                    // --reload at the end of the window restarts the workers: the
                    // requests they were serving are cut. Only then.
                    Err(e) => return (n, Some((started.elapsed(), e))),
                }
                n += 1;
            }
            (n, None)
        })
    };
    let mut hot_clients = Vec::new();
    for _ in 0..6 {
        hot_clients.push(spawn(
            d.join(format!("{hot}.sock")),
            d.join("www/hold24.php"),
            "ok 25165824",
        ));
    }
    let cool_client = spawn(
        d.join(format!("{cool}.sock")),
        d.join("www/hold8.php"),
        "ok 8388608",
    );
    // `check --live` in the middle of the window (php-fpm's maintenance counts
    // `max children reached` once a second; the reload at the end resets it).
    let live = {
        let d = d.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2300));
            let out = assert_cmd::Command::cargo_bin("wpstack")
                .expect("bin")
                .arg("check")
                .arg(&d)
                .args(["--ram", "4G", "--cpus", "2", "--live", "--exit-zero"])
                .output()
                .expect("run check --live");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let out = wpstack(&[
        "--sample",
        "3s",
        "--interval",
        "200ms",
        "--drop-in",
        "--apply",
        "--reload",
        "--format",
        "json",
    ]);
    let mut results: Vec<(u32, Option<(Duration, String)>)> = hot_clients
        .into_iter()
        .map(|h| h.join().expect("client"))
        .collect();
    let hot_requests: u32 = results.iter().map(|r| r.0).sum();
    results.push(cool_client.join().expect("client"));
    let cool_requests = results.last().map_or(0, |r| r.0);
    for (_, cut) in &results {
        if let Some((at, e)) = cut {
            assert!(
                *at >= Duration::from_millis(3300),
                "a request failed at {at:?}, inside the window: {e}"
            );
        }
    }
    let v = json_of(&out);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let (h, c) = (pool_line(&v, &hot), pool_line(&v, &cool));
    let (hs, cs) = (&h["sample"], &c["sample"]);
    let mib = |x: &serde_json::Value| x.as_u64().unwrap_or(0) as f64 / MIB as f64;
    println!(
        "tune_live: load applied: {hot}: 6 clients × {:.1} s of a 24 MiB / 300 ms script = {hot_requests} requests on 2 children; {cool}: 1 client of an 8 MiB / 150 ms script = {cool_requests} requests on 3 children",
        load_for.as_secs_f64()
    );
    println!(
        "tune_live: sampled {hot}: p95 {:.1} MiB, max {:.1} MiB per worker ({} readings, {} workers, {} ticks), busy peak {}, saturation {}; {cool}: p95 {:.1} MiB, max {:.1} MiB, busy peak {}; max_children {} → {} and {} → {}",
        mib(&hs["p95"]),
        mib(&hs["max"]),
        hs["readings"],
        hs["workers"],
        hs["ticks"],
        hs["busy_peak"],
        hs["saturation"],
        mib(&cs["p95"]),
        mib(&cs["max"]),
        cs["busy_peak"],
        h["max_children_before"],
        h["max_children_after"],
        c["max_children_before"],
        c["max_children_after"],
    );
    println!(
        "tune_live: one snapshot before the load said: {hot}: {} workers, worker memory {:.1} MiB {} (low confidence {}), max_children {}; {cool}: worker memory {:.1} MiB {}, max_children {}",
        snap_hot["workers_seen"],
        mib(&snap_hot["worker_mem"]),
        snap_hot["worker_mem_source"],
        snap_hot["low_confidence"],
        snap_hot["max_children_after"],
        mib(&snap_cool["worker_mem"]),
        snap_cool["worker_mem_source"],
        snap_cool["max_children_after"],
    );
    println!("tune_live: {said}");
    assert!(out.status.success(), "{said}");
    // Per-worker peaks: the script's string plus the worker's own few MiB.
    let (hp, cp) = (
        hs["p95"].as_u64().unwrap_or(0),
        cs["p95"].as_u64().unwrap_or(0),
    );
    assert!((24 * MIB..=40 * MIB).contains(&hp), "hot p95 {hp}");
    assert!((8 * MIB..=20 * MIB).contains(&cp), "cool p95 {cp}");
    assert!(hs["max"].as_u64().unwrap_or(0) >= hp);
    assert_eq!(h["worker_mem"].as_u64(), Some(hp), "sized from the p95");
    // Concurrency: both hot children busy. Cool has one client: at most one worker
    // running its request and one still `Finishing` the one before (php-fpm counts
    // both active: the second has answered but is still freeing its 8 MiB).
    assert_eq!(hs["busy_peak"], 2, "{hs}");
    assert!(
        cs["busy_peak"]
            .as_u64()
            .is_some_and(|b| (1..=2).contains(&b)),
        "{cs}"
    );
    assert!(hs["ticks"].as_u64().unwrap_or(0) >= 5, "{hs}");
    // The saturated pool, named from php-fpm's own counter, grows; cool does not.
    assert_eq!(h["saturated"], true, "{h}");
    assert_eq!(c["saturated"], false, "{c}");
    assert!(
        hs["saturation"]["max_children_reached"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{hs}"
    );
    let (ha, ca) = (
        h["max_children_after"].as_u64().unwrap_or(0),
        c["max_children_after"].as_u64().unwrap_or(0),
    );
    assert!(ha > 2 && ha > ca, "hot {ha} cool {ca}");
    // The snapshot at the quiet moment had nothing to go on.
    assert_eq!(snap_hot["worker_mem_source"], "assumed", "{snap_hot}");
    // The drop-in: written, accepted by php-fpm -t (the sandbox's and this test's own),
    // and check agrees.
    let dropin = d.join("pool.d/zz-wpstack.conf");
    let text = std::fs::read_to_string(&dropin).expect("drop-in written");
    println!("tune_live: zz-wpstack.conf:\n{text}");
    assert!(
        text.contains(&format!("[{hot}]\npm.max_children = {ha}")),
        "{text}"
    );
    assert!(said.contains("accepts"), "{said}");
    assert!(said.contains("reload"), "{said}");
    let t = Command::new("php-fpm8.2")
        .arg("-R")
        .arg("-t")
        .arg("-y")
        .arg(&conf)
        .output()
        .expect("php-fpm -t");
    assert!(
        t.status.success(),
        "{}{}",
        String::from_utf8_lossy(&t.stdout),
        String::from_utf8_lossy(&t.stderr)
    );
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .arg("check")
        .arg(&d)
        .args([
            "--ram",
            "4G",
            "--cpus",
            "2",
            "--format",
            "json",
            "--exit-zero",
        ])
        .output()
        .expect("run check");
    let found = support::finding_codes(&out.stdout);
    assert!(
        !found.iter().any(|c| c == "C201" || c == "C202"),
        "{found:?}"
    );
    // `check --live`, run during the load, said the same without tuning.
    let text = live.join().expect("check --live");
    println!(
        "tune_live: check --live during the load:\n{}",
        text.lines()
            .filter(|l| l.starts_with("live:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let line = |pool: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("live: pool {pool}:")))
            .unwrap_or_else(|| panic!("{pool} not in {text}"))
            .to_string()
    };
    assert!(line(&hot).contains("SATURATED"), "{text}");
    assert!(line(&cool).contains("never ran out of workers"), "{text}");
    // The pools serve after the reload; --remove-drop-in --reload takes the drop-in
    // back: emptied (validated), reloaded, removed, and the pools serve.
    let out = assert_cmd::Command::cargo_bin("wpstack")
        .expect("bin")
        .arg("tune")
        .arg(&d)
        .args([
            "--ram",
            "4G",
            "--cpus",
            "2",
            "--remove-drop-in",
            "--apply",
            "--reload",
        ])
        .output()
        .expect("run remove");
    let said = String::from_utf8_lossy(&out.stderr);
    println!("tune_live: --remove-drop-in --apply --reload:\n{said}");
    assert!(out.status.success(), "{said}");
    assert!(said.contains("removed"), "{said}");
    assert!(!dropin.exists());
    for pool in [&hot, &cool] {
        let script = if pool == &hot {
            "www/hold24.php"
        } else {
            "www/hold8.php"
        };
        let out = fcgi_get(&d.join(format!("{pool}.sock")), &d.join(script)).expect("serves");
        assert!(out.contains("ok "), "{out}");
    }
    drop(fpm);
}
