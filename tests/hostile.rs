//! Hostile inputs: every one ends on its own, with the right exit code, in bounded time
//! and memory. Each row runs the real binary with a timeout (a hang fails the test
//! instead of hanging it) and measures its peak RSS (`/usr/bin/time -f %M` when
//! present, else the child's VmHWM polled from /proc). Bounds are generous — this is
//! about "seconds, not hours; megabytes, not gigabytes", never a benchmark — and the
//! table is printed (`cargo test --test hostile -- --nocapture`).
//!
//! Everything is written under a temp dir; passes as root and as an unprivileged user.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// No row may take longer (debug build, a loaded 2-core machine): a hang, not a speed test.
const TIMEOUT: Duration = Duration::from_secs(240);
/// No row may use more memory than this.
const MAX_RSS_KB: u64 = 1024 * 1024;

struct Row {
    name: &'static str,
    args: Vec<std::ffi::OsString>,
    /// Bytes for the child's stdin; `None` keeps a pipe open and never writes (a
    /// reader that waits for it would hang).
    stdin_open_pipe: bool,
    want_exit: i32,
    /// Text that must (or must not, with a leading '!') be in stdout+stderr.
    expect: Vec<&'static str>,
}

struct Outcome {
    exit: Option<i32>,
    secs: f64,
    rss_kb: Option<u64>,
    out: Vec<u8>,
}

fn run(row: &Row) -> Outcome {
    let bin = env!("CARGO_BIN_EXE_wpstack");
    let time = Path::new("/usr/bin/time");
    let rss_file = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(rss_file.path())
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(&row.args)
        .env("NO_COLOR", "1")
        .stdin(if row.stdin_open_pipe {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn wpstack");
    // Keep the write end open (and silent) for the whole run.
    let _stdin = child.stdin.take();
    // Drain output on threads so a full pipe never blocks the child.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let mut hwm = 0u64;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if let Ok(st) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            if let Some(kb) = st
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            {
                hwm = hwm.max(kb);
            }
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = start.elapsed().as_secs_f64();
    let mut out = t1.join().unwrap();
    out.extend(t2.join().unwrap());
    let timed = std::fs::read_to_string(rss_file.path())
        .ok()
        .and_then(|s| s.lines().last()?.trim().parse::<u64>().ok());
    Outcome {
        exit: status.and_then(|s| s.code()),
        secs,
        rss_kb: timed.or((hwm > 0).then_some(hwm)),
        out,
    }
}

fn mkfifo(p: &Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        p,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
}

fn write(p: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A Debian-like copied root: nginx with one WordPress site, php-fpm 8.2 with a pool.
fn small_host(root: &Path) {
    write(
        &root.join("etc/nginx/nginx.conf"),
        "events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n    include /etc/nginx/sites-enabled/*;\n}\n",
    );
    write(
        &root.join("etc/nginx/sites-enabled/site"),
        "server {\n    listen 80;\n    server_name example.test;\n    root /var/www/site;\n    location ~ \\.php$ {\n        try_files $uri =404;\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n    }\n}\n",
    );
    write(
        &root.join("etc/php/8.2/fpm/php-fpm.conf"),
        "[global]\npid = /run/php/php8.2-fpm.pid\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
    );
    write(
        &root.join("etc/php/8.2/fpm/pool.d/www.conf"),
        "[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\npm = dynamic\npm.max_children = 5\npm.start_servers = 2\npm.min_spare_servers = 1\npm.max_spare_servers = 3\n",
    );
    write(
        &root.join("etc/php/8.2/fpm/php.ini"),
        "[PHP]\nmemory_limit = 256M\n",
    );
    std::fs::create_dir_all(root.join("etc/php/8.2/fpm/conf.d")).unwrap();
    std::fs::create_dir_all(root.join("var/www/site")).unwrap();
}

fn os(s: impl AsRef<std::ffi::OsStr>) -> std::ffi::OsString {
    s.as_ref().to_os_string()
}

#[test]
fn hostile_inputs_end_with_bounded_time_and_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut rows: Vec<Row> = Vec::new();
    let row = |name, args: Vec<std::ffi::OsString>, want_exit, expect: Vec<&'static str>| Row {
        name,
        args,
        stdin_open_pipe: false,
        want_exit,
        expect,
    };

    // FIFOs where the discovery reads files: wp-config.php, conf.d, pool.d, the ini scan dir.
    for (name, rel) in [
        ("FIFO as wp-config.php", "var/www/site/wp-config.php"),
        ("FIFO in nginx conf.d", "etc/nginx/conf.d/evil.conf"),
        ("FIFO in php-fpm pool.d", "etc/php/8.2/fpm/pool.d/evil.conf"),
        (
            "FIFO in the ini scan dir",
            "etc/php/8.2/fpm/conf.d/evil.ini",
        ),
    ] {
        let root = t.join(rel.replace('/', "_"));
        small_host(&root);
        mkfifo(&root.join(rel));
        rows.push(row(name, vec![os("check"), os(&root)], 1, vec!["FIFO"]));
    }

    // `include /dev/stdin;` while stdin is a pipe nobody writes to.
    let stdin_conf = t.join("stdin/nginx.conf");
    write(
        &stdin_conf,
        "events {}\nhttp {\n    include /dev/stdin;\n}\n",
    );
    rows.push(Row {
        stdin_open_pipe: true,
        ..row(
            "include /dev/stdin (open pipe)",
            vec![os("check"), os(&stdin_conf)],
            1,
            vec![],
        )
    });
    // A FIFO named on the command line, and /dev/zero as a config.
    let fifo_arg = t.join("arg-fifo.conf");
    mkfifo(&fifo_arg);
    rows.push(row(
        "FIFO given as PATH",
        vec![os("check"), os(&fifo_arg)],
        2,
        vec!["FIFO"],
    ));
    rows.push(row(
        "check /dev/zero",
        vec![os("check"), os("/dev/zero")],
        2,
        vec!["character device"],
    ));
    rows.push(row(
        "diagnose /dev/zero",
        vec![os("diagnose"), os("/dev/zero")],
        2,
        vec!["device"],
    ));
    // A 200 MB log whose one "line" has no newline: streamed, never held whole.
    let huge_log = t.join("huge.log");
    {
        let f = std::fs::File::create(&huge_log).unwrap();
        f.set_len(0).unwrap();
        let mut w = std::io::BufWriter::new(f);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..200 {
            w.write_all(&chunk).unwrap();
        }
        w.write_all(b"\n2026/11/26 21:17:19 [error] 1#1: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: a.test\n").unwrap();
    }
    rows.push(row(
        "diagnose: 200 MB line + a 504",
        vec![os("diagnose"), os(&huge_log)],
        1,
        vec!["upstream-timeout"],
    ));

    // 40 KB of `}`: 40,000 syntax errors on one line.
    let braces = t.join("braces.conf");
    write(&braces, "}".repeat(40_000));
    rows.push(row(
        "40 KB of }",
        vec![os("check"), os(&braces)],
        2,
        vec!["more E001 findings"],
    ));
    // A million `gzip on;` in one block: 999,999 duplicates.
    let gzip = t.join("gzip.conf");
    {
        let mut s = String::with_capacity(10_000_000);
        s.push_str("http {\n");
        for _ in 0..1_000_000 {
            s.push_str("gzip on;\n");
        }
        s.push_str("}\n");
        write(&gzip, s);
    }
    rows.push(row(
        "1e6 x `gzip on;`",
        vec![os("check"), os(&gzip)],
        1,
        vec!["more E003 findings", "not listed"],
    ));
    // 16,000 pools in one pool file, and 16,000 servers in one nginx file.
    let pools = t.join("pools");
    small_host(&pools);
    {
        let mut s = String::new();
        for i in 0..16_000 {
            s.push_str(&format!("[p{i}]\nuser = www-data\ngroup = www-data\nlisten = /run/php/p{i}.sock\npm = dynamic\npm.max_children = 5\npm.start_servers = 2\npm.min_spare_servers = 1\npm.max_spare_servers = 3\npm.max_requests = 0\n\n"));
        }
        write(&pools.join("etc/php/8.2/fpm/pool.d/www.conf"), s);
    }
    rows.push(row(
        "16k pools in one file",
        vec![os("check"), os(&pools)],
        1,
        vec!["more C204 findings"],
    ));
    let servers = t.join("servers");
    small_host(&servers);
    {
        let mut s = String::new();
        for i in 0..16_000 {
            s.push_str(&format!("server {{\n    listen 80;\n    server_name s{i}.test;\n    root /var/www/s{i};\n    location ~ \\.php$ {{\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        fastcgi_buffer_size 4k;\n    }}\n}}\n"));
        }
        write(&servers.join("etc/nginx/sites-enabled/site"), s);
    }
    rows.push(row(
        "16k servers in one file",
        vec![os("check"), os(&servers)],
        1,
        vec!["more P402 findings", "more S602 findings"],
    ));
    // Includes: a file that includes itself, and a chain 300 deep.
    let selfinc = t.join("selfinc/nginx.conf");
    write(&selfinc, "events {}\nhttp {\n    include nginx.conf;\n}\n");
    rows.push(row(
        "nginx.conf includes itself",
        vec![os("check"), os(selfinc.parent().unwrap())],
        1,
        vec![],
    ));
    let chain = t.join("chain");
    write(
        &chain.join("nginx.conf"),
        "events {}\nhttp {\n    include inc/0.conf;\n}\n",
    );
    for i in 0..300 {
        write(
            &chain.join(format!("inc/{i}.conf")),
            format!("include inc/{}.conf;\n", i + 1),
        );
    }
    rows.push(row(
        "include chain 300 deep",
        vec![os("check"), os(&chain)],
        1,
        vec![],
    ));
    // Blocks nested 100,000 deep; PHP nested 100,000 deep.
    let deep = t.join("deep.conf");
    write(&deep, "http {".repeat(100_000));
    rows.push(row(
        "100k nested blocks",
        vec![os("check"), os(&deep)],
        2,
        vec![],
    ));
    let deep_php = t.join("deepphp/wp-config.php");
    write(
        &deep_php,
        format!(
            "<?php\ndefine( 'WP_DEBUG', {}true{} );\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
    );
    rows.push(row(
        "PHP parens 100k deep",
        vec![os("check"), os(&deep_php)],
        0,
        vec![],
    ));
    // One 15 MB line (a comment), and a 17 MB file (over the cap).
    let huge_line = t.join("hugeline/nginx.conf");
    write(
        &huge_line,
        format!(
            "events {{}}\nhttp {{ gzip on; gzip on; # {}\n}}\n",
            "x".repeat(15_000_000)
        ),
    );
    // nginx refuses a word over 4 KB ("too long parameter"): E001, exit 2.
    rows.push(row(
        "one 15 MB line",
        vec![os("check"), os(&huge_line)],
        2,
        vec!["…", "too long parameter"],
    ));
    let too_big = t.join("big/nginx.conf");
    {
        write(&too_big, "");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&too_big)
            .unwrap();
        f.set_len(17 * 1024 * 1024).unwrap();
    }
    rows.push(row(
        "17 MB file",
        vec![os("check"), os(&too_big)],
        2,
        vec!["not read"],
    ));
    // File names with \xff and a terminal escape; comments with escapes.
    let names = t.join("names");
    small_host(&names);
    // (glob 0.3 panicked listing a directory holding a non-UTF-8 name.)
    write(
        &names
            .join("etc/nginx/conf.d")
            .join(std::ffi::OsStr::from_bytes(b"\xff\xfe.conf")),
        "gzip on;\n",
    );
    let evil = std::ffi::OsStr::from_bytes(b"\x1b[2J\x1b]0;pwned\x07.conf");
    write(
        &names.join("etc/nginx/conf.d").join(evil),
        "gzip on; gzip on; # \x1b[31mred\x1b[0m \u{9b}31m\n",
    );
    rows.push(row(
        "\\xff and ESC in names/comments",
        vec![os("check"), os(&names)],
        1,
        vec!["\\x1b[2J", "!\x1b", "!\u{9b}"],
    ));
    // Nothing to read.
    let empty = t.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    rows.push(row(
        "empty directory",
        vec![os("check"), os(&empty)],
        2,
        vec!["nothing was read"],
    ));
    // A hundred thousand suppressions on a hundred thousand findings.
    let sups = t.join("sups.conf");
    {
        let mut s = String::from("http {\n");
        for _ in 0..100_000 {
            s.push_str("gzip on; # wpstack: ignore[E003]\n");
        }
        s.push_str("}\n");
        write(&sups, s);
    }
    rows.push(row(
        "1e5 suppressions",
        vec![os("check"), os(&sups)],
        0,
        vec![],
    ));

    println!(
        "\n{:<34} {:>5} {:>5} {:>9} {:>10}",
        "input", "want", "exit", "time", "peak RSS"
    );
    let mut failures = Vec::new();
    for r in &rows {
        let o = run(r);
        let rss = o
            .rss_kb
            .map(|k| format!("{:.1} MB", k as f64 / 1024.0))
            .unwrap_or_else(|| "?".into());
        let exit = o
            .exit
            .map(|c| c.to_string())
            .unwrap_or_else(|| "hung".into());
        println!(
            "{:<34} {:>5} {:>5} {:>7.2} s {:>10}",
            r.name, r.want_exit, exit, o.secs, rss
        );
        let text = String::from_utf8_lossy(&o.out);
        if o.exit != Some(r.want_exit) {
            failures.push(format!(
                "{}: exit {exit}, want {}\n{}",
                r.name,
                r.want_exit,
                text.chars().take(2000).collect::<String>()
            ));
        }
        if o.rss_kb.is_some_and(|k| k > MAX_RSS_KB) {
            failures.push(format!("{}: peak RSS {rss} over 1 GB", r.name));
        }
        for e in &r.expect {
            let (neg, e) = match e.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, *e),
            };
            if text.contains(e) == neg {
                failures.push(format!(
                    "{}: output {} {e:?}\n{}",
                    r.name,
                    if neg { "contains" } else { "lacks" },
                    text.chars().take(2000).collect::<String>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
