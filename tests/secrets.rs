//! Issue 13 item 4: no secret is printed. One stack seeded with distinctive secrets (a
//! wp-config password split over lines, keys, pool `env[…]` set twice, php.ini
//! `mysqli.default_pw`, nginx `fastcgi_param`), each next to a line a fix or `tune`
//! changes; every output of every command is grepped for them.

mod support;

use assert_cmd::Command;
use std::path::Path;

const SECRETS: &[&str] = &[
    "Zq9wpDBPW",
    "Zq9wpAUTHKEY",
    "Zq9redisPW",
    "Zq9envDupA",
    "Zq9envDupB",
    "Zq9awsKEY",
    "Zq9mysqliPW",
    "Zq9fcgiPW",
    "Zq9fcgiAWS",
    "Zq9brokenPW",
    "Zq9mycnfPW",
    "Zq9sstAUTH",
    "Zq9dupPW",
];

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

/// Insert `line` after the first line of `file` starting with `after` (trimmed).
fn insert_after(file: &Path, after: &str, line: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    let mut out = String::new();
    let mut done = false;
    for l in text.split_inclusive('\n') {
        out.push_str(l);
        if !done && l.trim_start().starts_with(after) {
            out.push_str(line);
            out.push('\n');
            done = true;
        }
    }
    assert!(done, "{}: no line starting with {after}", file.display());
    std::fs::write(file, out).expect("write");
}

fn seeded() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    support::copy_tree(&support::fixtures().join("stacks/broken"), d.path());
    let root = d.path();
    let pool = root.join("etc/php/8.2/fpm/pool.d/www.conf");
    insert_after(&pool, "pm = dynamic", "env[DB_PASSWORD] = Zq9envDupA");
    insert_after(
        &pool,
        "request_terminate_timeout",
        "env[AWS_SECRET_ACCESS_KEY] = Zq9awsKEY\nenv[DB_PASSWORD] = Zq9envDupB",
    );
    let ini = root.join("etc/php/8.2/fpm/php.ini");
    let text = std::fs::read_to_string(&ini).expect("ini");
    let anchor = ["display_errors", "memory_limit", "[PHP]"]
        .into_iter()
        .find(|a| text.lines().any(|l| l.trim_start().starts_with(a)))
        .expect("anchor");
    insert_after(&ini, anchor, "mysqli.default_pw = Zq9mysqliPW");
    let site = root.join("etc/nginx/sites-enabled/blog.example.com.conf");
    insert_after(
        &site,
        "fastcgi_buffer_size",
        "\t\tfastcgi_param DB_PASSWORD Zq9fcgiPW;\n\t\tfastcgi_param AWS_SECRET_ACCESS_KEY \"Zq9fcgiAWS\";",
    );
    let wp = root.join("var/www/blog.example.com/wp-config.php");
    let text = std::fs::read_to_string(&wp)
        .expect("wp")
        .replace(
            "define( 'DB_PASSWORD', 'correct-horse-battery-staple' );",
            "define( 'DB_PASSWORD',\n\t'Zq9wpDBPW'\n);",
        )
        .replace(
            "'7f#Lq2!zV9@pK4$wN1%xR8^mT3&bJ6*hS0(dF5)gC_yE+aU=iO-e'",
            "'Zq9wpAUTHKEY'",
        )
        .replace(
            "define( 'WP_DEBUG', true );",
            "define( 'WP_REDIS_PASSWORD', 'Zq9redisPW' );\ndefine( 'WP_DEBUG', true );",
        );
    std::fs::write(&wp, text).expect("write wp");
    // my.cnf: a client password, a server-side secret (Galera's SST credentials) in a
    // group mysqld reads, and a password set twice where B801 points.
    let cnf = root.join("etc/mysql/mariadb.conf.d/50-server.cnf");
    insert_after(
        &cnf,
        "[mysqld]",
        "wsrep_sst_auth = root:Zq9sstAUTH\nloose-password = \"Zq9dupPW\"",
    );
    std::fs::write(
        root.join("etc/mysql/conf.d/zz-client.cnf"),
        "[client]\npassword = Zq9mycnfPW\n[mysqld]\npassword=Zq9dupPW\n",
    )
    .expect("write cnf");
    // A wp-config of its own whose password define does not parse.
    std::fs::create_dir_all(root.join("broken")).expect("mkdir");
    std::fs::write(
        root.join("broken/wp-config.php"),
        "<?php\ndefine( 'DB_NAME', 'x' );\ndefine( 'DB_PASSWORD',\n  'Zq9brokenPW\n);\n",
    )
    .expect("write broken");
    d
}

fn assert_clean(what: &str, out: &std::process::Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        for s in SECRETS {
            assert!(
                !text.contains(s),
                "{what}: {stream} prints the secret {s}:\n{text}"
            );
        }
    }
}

fn run(what: &str, cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert_clean(what, &out);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn no_output_of_any_command_prints_a_secret() {
    let d = seeded();
    let root = d.path();
    let mut outputs = Vec::new();
    for format in ["text", "json", "sarif", "github"] {
        outputs.push(run(
            &format!("check --format {format}"),
            wpstack().args(["check", "--format", format]).arg(root),
        ));
    }
    let json = &outputs[1];
    assert!(
        json.contains("`env[DB_PASSWORD]` is set twice"),
        "the duplicate env is reported: {json}"
    );
    let text = &outputs[0];
    assert!(text.contains("********"), "masked snippets: {text}");
    let diff = run(
        "check --diff",
        wpstack().args(["check", "--diff"]).arg(root),
    );
    assert!(diff.contains("+++ b/"), "{diff}");
    for show in [false, true] {
        let mut c = wpstack();
        c.arg("dump").arg(root);
        if show {
            c.arg("--show-origin");
        }
        let dump = run("dump", &mut c);
        assert!(dump.contains("env[DB_PASSWORD]"), "{dump}");
        assert!(dump.contains("********"), "{dump}");
    }
    for format in ["text", "json"] {
        let out = run(
            &format!("tune --format {format}"),
            wpstack()
                .args(["tune", "--ram", "2G", "--cpus", "2", "--format", format])
                .arg(root),
        );
        assert!(out.contains("pm.max_children"), "{out}");
    }
    let broken = root.join("broken/wp-config.php");
    for format in ["text", "json", "sarif", "github"] {
        let out = run(
            &format!("check broken wp-config --format {format}"),
            wpstack().args(["check", "--format", format]).arg(&broken),
        );
        assert!(
            out.contains("E001") || out.contains("unterminated"),
            "{out}"
        );
    }
    run(
        "dump broken wp-config",
        wpstack().arg("dump").arg(root.join("broken")),
    );
    // --fix with validation (whatever programs this machine has): its messages too.
    let fixed = seeded();
    run(
        "check --fix",
        wpstack()
            .args(["check", "--fix", "--unsafe-fixes", "--no-backup"])
            .arg(fixed.path()),
    );
    run(
        "tune --apply",
        wpstack()
            .args([
                "tune",
                "--ram",
                "2G",
                "--cpus",
                "2",
                "--apply",
                "--no-backup",
            ])
            .arg(fixed.path()),
    );
}

#[test]
fn a_one_letter_password_set_twice_is_not_quoted_by_e003() {
    let d = support::write_tree(&[(
        "pool.d/www.conf",
        "[www]\nlisten = /run/php.sock\npm = static\npm.max_children = 2\nenv[DB_PASSWORD] = v\nenv[DB_PASSWORD] = v\n",
    )]);
    let out = wpstack()
        .args(["check", "--format", "json", "--select", "E003"])
        .arg(d.path().join("pool.d/www.conf"))
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let msg = v["findings"][0]["message"].as_str().expect("a finding");
    assert!(msg.contains("later value (********)"), "{msg}");
    let text = wpstack()
        .args(["check", "--select", "E003"])
        .arg(d.path().join("pool.d/www.conf"))
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(!text.contains("= v"), "{text}");
    assert!(!text.contains("(v)"), "{text}");
}
