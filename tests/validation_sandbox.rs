//! Issue 13 items 4 and 7: validation cannot be abused. The sandbox is private (0700,
//! owned by the unprivileged uid the programs run as when wpstack runs as root), gone
//! after SIGTERM and — left by a SIGKILL — removed by the next run; code the user did not
//! ask to trust (`extension=`, `load_module`) is not loaded; a hung program is killed with
//! its children and nothing is written; a path that cannot be written into a config
//! safely fails closed.

mod support;

use assert_cmd::Command;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

fn public_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    d
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

fn broken_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    support::copy_tree(&support::fixtures().join("stacks/broken"), d.path());
    d
}

fn sandboxes(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("wpstack-validate-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn alive(pid: i32) -> bool {
    // Not a zombie waiting for its parent: really running.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn wait_for(p: &Path, secs: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if std::fs::read_to_string(p).is_ok_and(|s| s.ends_with('\n')) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn am_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn the_sandbox_is_private_and_sigterm_removes_it_and_ends_the_program() {
    let stack = broken_copy();
    let bins = public_dir();
    let tmp = public_dir();
    let seen = bins.path().join("seen");
    // An nginx that reports what it sees, starts a child, and hangs.
    let fake = script(
        bins.path(),
        "nginx",
        &format!(
            "case \"$1\" in -V) exit 0;; esac\nwhile [ $# -gt 0 ]; do [ \"$1\" = \"-p\" ] && prefix=\"$2\"; shift; done\nsleep 300 &\necho \"$(id -u) $$ $! $(dirname \"$prefix\")\" > {seen}\nsleep 300\n",
            seen = seen.display()
        ),
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wpstack"))
        .args([
            "check",
            "--fix",
            "--no-backup",
            "--exit-zero",
            "--nginx-bin",
        ])
        .arg(&fake)
        .args(["--fpm-bin", "/bin/true", "--php-bin", "/bin/true"])
        .arg(stack.path())
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    assert!(wait_for(&seen, 60), "the fake nginx never ran");
    let line = std::fs::read_to_string(&seen).expect("seen");
    let f: Vec<&str> = line.split_whitespace().collect();
    let (uid, pid, grandchild, sandbox) = (
        f[0].parse::<u32>().expect("uid"),
        f[1].parse::<i32>().expect("pid"),
        f[2].parse::<i32>().expect("pid"),
        PathBuf::from(f[3]),
    );
    let meta = std::fs::metadata(&sandbox).expect("sandbox");
    assert_eq!(meta.mode() & 0o777, 0o700, "{}", sandbox.display());
    if am_root() {
        assert_ne!(uid, 0, "validation ran the program as root");
        assert_eq!(meta.uid(), uid, "the sandbox belongs to the program's uid");
    }
    for e in support::walk(&sandbox) {
        let m = std::fs::symlink_metadata(&e).expect("meta");
        assert_eq!(m.mode() & 0o077, 0, "{} is readable by others", e.display());
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).expect("pid"),
        rustix::process::Signal::TERM,
    )
    .expect("kill");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(128 + 15), "{status:?}");
    let start = Instant::now();
    while (alive(pid) || alive(grandchild)) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !alive(pid) && !alive(grandchild),
        "the program's group outlived SIGTERM"
    );
    assert!(
        sandboxes(tmp.path()).is_empty(),
        "{:?}",
        sandboxes(tmp.path())
    );
}

#[test]
fn a_sandbox_left_by_sigkill_is_removed_by_the_next_run() {
    let stack = broken_copy();
    let tmp = public_dir();
    // PID above any pid_max: no such process.
    let stale = tmp.path().join("wpstack-validate-999999999-1-1");
    std::fs::create_dir_all(stale.join("fs/etc/php")).expect("mkdir");
    std::fs::write(stale.join("fs/etc/php/www.conf"), "env[DB_PASSWORD] = x\n").expect("write");
    let out = wpstack()
        .args(["check", "--fix", "--no-backup", "--exit-zero"])
        .args(["--nginx-bin", "/bin/true", "--fpm-bin", "/bin/true"])
        .args(["--php-bin", "/bin/true"])
        .arg(stack.path())
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stale.exists(), "the stale sandbox is still there");
    assert!(
        sandboxes(tmp.path()).is_empty(),
        "{:?}",
        sandboxes(tmp.path())
    );
}

#[test]
fn a_hung_program_is_killed_with_its_children_and_nothing_is_written() {
    use std::collections::BTreeMap;
    use wpstack::fix::{run, validate};
    let stack_dir = broken_copy();
    let bins = public_dir();
    let pids = bins.path().join("pids");
    let fake = script(
        bins.path(),
        "nginx",
        &format!(
            "case \"$1\" in -V) exit 0;; esac\nsleep 300 &\necho \"$$ $!\" > {}\nsleep 300\n",
            pids.display()
        ),
    );
    let stack = wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
        paths: vec![stack_dir.path().to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let conf = stack_dir.path().join("etc/nginx/nginx.conf");
    let old = std::fs::read(&conf).expect("read");
    let mut new = old.clone();
    new.extend_from_slice(b"# changed\n");
    let mut changes = BTreeMap::new();
    changes.insert(
        conf.clone(),
        ("etc/nginx/nginx.conf".to_string(), old.clone(), new),
    );
    let opts = run::CommitOptions {
        backup: false,
        validate: Some(validate::Options {
            nginx_bin: Some(fake),
            fpm_bin: Some(PathBuf::from("/bin/true")),
            timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = run::commit(&stack, &changes, &opts, &run::RealIo).expect_err("fail closed");
    assert!(err.contains("not validated"), "{err}");
    assert!(err.contains("did not finish in 2 s"), "{err}");
    assert!(err.ends_with("nothing was written"), "{err}");
    assert_eq!(std::fs::read(&conf).expect("read"), old);
    let line = std::fs::read_to_string(&pids).expect("pids");
    for p in line.split_whitespace() {
        let pid: i32 = p.parse().expect("pid");
        let start = Instant::now();
        while alive(pid) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!alive(pid), "process {pid} of the hung program survived");
    }
}

/// `extension=` and `load_module` pointing outside the system's module directories are
/// not loaded by validation, and it says so. With a C compiler, the library is real:
/// its constructor would leave a mark.
#[test]
fn untrusted_extensions_and_modules_are_not_loaded() {
    use wpstack::fix::validate::{find_fpm, find_nginx};
    let (true, true) = (
        support::have_program("nginx"),
        support::have_program("php-fpm8.2"),
    ) else {
        return;
    };
    let (Some(nginx), Some(fpm)) = (find_nginx(), find_fpm(Some("8.2"))) else {
        return;
    };
    let stack = broken_copy();
    let evil_dir = public_dir();
    let mark = evil_dir.path().join("pwned");
    let so = evil_dir.path().join("evil.so");
    let c = evil_dir.path().join("evil.c");
    std::fs::write(
        &c,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {{ FILE *f = fopen(\"{}\", \"w\"); if (f) {{ fputs(\"ran\\n\", f); fclose(f); }} }}\n",
            mark.display()
        ),
    )
    .expect("write");
    let compiled = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&c)
        .status()
        .is_ok_and(|s| s.success());
    if !compiled {
        println!("no C compiler: the library is a stand-in file");
        std::fs::write(&so, b"not a library").expect("write");
    }
    let ini_dir = stack.path().join("etc/php/8.2/fpm/conf.d");
    std::fs::write(
        ini_dir.join("99-evil.ini"),
        format!("extension={}\n", so.display()),
    )
    .expect("write");
    let pool = stack.path().join("etc/php/8.2/fpm/pool.d/www.conf");
    let mut text = std::fs::read_to_string(&pool).expect("pool");
    text.push_str(&format!("php_admin_value[extension] = {}\n", so.display()));
    std::fs::write(&pool, text).expect("write");
    let conf = stack.path().join("etc/nginx/nginx.conf");
    let text = std::fs::read_to_string(&conf).expect("conf");
    std::fs::write(&conf, format!("load_module {};\n{text}", so.display())).expect("write");
    let out = wpstack()
        .args([
            "check",
            "--fix",
            "--no-backup",
            "--exit-zero",
            "--nginx-bin",
        ])
        .arg(&nginx)
        .arg("--fpm-bin")
        .arg(&fpm)
        .arg(stack.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!mark.exists(), "validation ran the library's constructor");
    for what in [
        format!("not loaded: `load_module {}`", so.display()),
        format!("not loaded: `extension = {}`", so.display()),
        format!(
            "not loaded: `php_admin_value[extension] = {}`",
            so.display()
        ),
    ] {
        assert!(err.contains(&what), "missing {what:?}:\n{err}");
    }
    // The system's own modules stay: opcache (zend_extension=opcache.so) is not named.
    assert!(!err.contains("zend_extension = opcache.so"), "{err}");
}

#[test]
fn a_path_that_cannot_be_written_into_a_config_fails_closed() {
    let d = tempfile::tempdir().expect("tempdir");
    let odd = d.path().join("we\"ird;dir");
    std::fs::create_dir(&odd).expect("mkdir");
    support::copy_tree(&support::fixtures().join("stacks/broken"), &odd);
    let before = support::walk(&odd)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).ok()))
        .collect::<Vec<_>>();
    let out = wpstack()
        .args(["check", "--fix", "--no-backup"])
        .args(["--nginx-bin", "/bin/true", "--fpm-bin", "/bin/true"])
        .args(["--php-bin", "/bin/true"])
        .arg(&odd)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not validated"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    for (p, b) in before {
        assert_eq!(std::fs::read(&p).ok(), b, "{} changed", p.display());
    }
    // --no-validate writes.
    let out = wpstack()
        .args([
            "check",
            "--fix",
            "--no-backup",
            "--no-validate",
            "--exit-zero",
        ])
        .arg(&odd)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
}

/// `nginx -t` creates its compiled-in temp directories (`/var/lib/nginx/body`…) and
/// opens the default access log and pid file: the copy it gets names sandbox paths
/// for each one the configuration leaves unset.
#[test]
fn nginx_gets_its_compiled_in_paths_pointed_into_the_sandbox() {
    let stack = broken_copy();
    let bins = public_dir();
    let copy = bins.path().join("seen.conf");
    let fake = script(
        bins.path(),
        "nginx",
        &format!(
            "case \"$1\" in -V) echo '--prefix=/usr/share/nginx --http-client-body-temp-path=/var/lib/nginx/body' >&2; exit 0;; esac\nwhile [ $# -gt 0 ]; do [ \"$1\" = \"-c\" ] && conf=\"$2\"; shift; done\ncat \"$conf\" > {}\necho \"nginx: configuration file $conf test is successful\" >&2\n",
            copy.display()
        ),
    );
    let tmp = public_dir();
    let out = wpstack()
        .args([
            "check",
            "--fix",
            "--no-backup",
            "--exit-zero",
            "--nginx-bin",
        ])
        .arg(&fake)
        .args(["--fpm-bin", "/bin/true", "--php-bin", "/bin/true"])
        .arg(stack.path())
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("validation: nginx -t accepts"), "{err}");
    let conf = std::fs::read_to_string(&copy).expect("the copy nginx got");
    for name in [
        "client_body_temp_path",
        "proxy_temp_path",
        "fastcgi_temp_path",
        "uwsgi_temp_path",
        "scgi_temp_path",
    ] {
        let line = conf
            .split(';')
            .find(|d| d.contains(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in:\n{conf}"));
        assert!(line.contains("wpstack-validate-"), "{line}");
    }
    assert!(!conf.contains("/run/nginx.pid"), "{conf}");
    assert!(!conf.contains("/var/log/nginx/"), "{conf}");
    assert!(sandboxes(tmp.path()).is_empty());
}
