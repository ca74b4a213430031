//! The command line, end to end (assert_cmd): options, formats, exit codes, bad input.

mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use support::{fixtures, write_tree};

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

fn broken() -> std::path::PathBuf {
    fixtures().join("stacks/broken")
}
fn healthy() -> std::path::PathBuf {
    fixtures().join("stacks/healthy")
}

#[test]
fn healthy_stack_exits_zero() {
    wpstack().arg("check").arg(healthy()).assert().code(0);
}

#[test]
fn broken_stack_exits_one_and_names_places() {
    wpstack()
        .arg("check")
        .arg(broken())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("U001"))
        .stdout(predicate::str::contains(
            "sites-enabled/blog.example.com.conf",
        ));
}

#[test]
fn exit_zero_and_fail_on() {
    wpstack()
        .args(["check", "--exit-zero"])
        .arg(broken())
        .assert()
        .code(0);
    // Only infos selected: below the default fail-on (warning).
    wpstack()
        .args(["check", "--select", "S604"])
        .arg(broken())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("S604"));
    wpstack()
        .args(["check", "--select", "S604", "--fail-on", "info"])
        .arg(broken())
        .assert()
        .code(1);
}

#[test]
fn select_and_ignore_by_code_name_and_prefix() {
    let out = wpstack()
        .args([
            "check",
            "--select",
            "timeout-chain-inverted,U",
            "--format",
            "json",
        ])
        .arg(broken())
        .output()
        .expect("run");
    let codes = support::finding_codes(&out.stdout);
    assert!(!codes.is_empty());
    assert!(
        codes.iter().all(|c| *c == "T101" || c.starts_with('U')),
        "{codes:?}"
    );

    let out = wpstack()
        .args(["check", "--ignore", "U,T", "--format", "json"])
        .arg(broken())
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .all(|f| !f["code"].as_str().unwrap_or("").starts_with(['U', 'T'])));
}

#[test]
fn unknown_selector_is_a_usage_error() {
    wpstack()
        .args(["check", "--select", "X999"])
        .arg(broken())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("X999"));
}

#[test]
fn rules_and_explain() {
    wpstack()
        .arg("rules")
        .assert()
        .success()
        .stdout(predicate::str::contains("T101  timeout-chain-inverted"));
    wpstack()
        .args(["explain", "timeout-chain-inverted"])
        .assert()
        .success()
        .stdout(predicate::str::contains("## Why it breaks sites"));
    wpstack().args(["explain", "T999"]).assert().code(2);
}

#[test]
fn formats_are_machine_readable() {
    for fmt in ["json", "sarif"] {
        let out = wpstack()
            .args(["check", "--format", fmt])
            .arg(broken())
            .output()
            .expect("run");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect(fmt);
        assert!(v.is_object());
    }
    wpstack()
        .args(["check", "--format", "github"])
        .arg(broken())
        .assert()
        .stdout(predicate::str::contains("::error file="));
}

#[test]
fn secrets_never_printed() {
    for fmt in ["text", "json", "sarif", "github"] {
        wpstack()
            .args(["check", "--format", fmt])
            .arg(broken())
            .assert()
            .stdout(predicate::str::contains("correct-horse-battery-staple").not())
            .stdout(predicate::str::contains("Tr0ub4dor").not());
    }
    wpstack()
        .args(["dump"])
        .arg(broken())
        .assert()
        .stdout(predicate::str::contains("correct-horse-battery-staple").not());
}

#[test]
fn profile_and_cdn_change_findings() {
    let count = |args: &[&str], code: &str| -> usize {
        let out = wpstack()
            .arg("check")
            .args(args)
            .args(["--format", "json"])
            .arg(healthy())
            .output()
            .expect("run");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["code"] == code)
            .count()
    };
    // 120 s (nginx and php-fpm) is fine without a CDN, too long behind a 100 s Cloudflare:
    // once for fastcgi_read_timeout, once for request_terminate_timeout.
    assert_eq!(count(&[], "T105"), 0);
    assert_eq!(count(&["--cdn", "cloudflare"], "T105"), 2);
    assert!(count(&["--cdn", "30"], "T105") >= 1);
    // The WooCommerce profile estimates 128M per worker: 12 workers still fit 4G.
    assert_eq!(count(&["--profile", "woocommerce"], "C201"), 0);
    assert_eq!(count(&["--ram", "1G"], "C201"), 1);
}

#[test]
fn inline_suppressions_and_unused_ones() {
    let dir = write_tree(&[
        (
            "nginx.conf",
            "events {}\nerror_log off; # wpstack: ignore[D505]\nhttp {\n    # wpstack: ignore[T101]\n    keepalive_timeout 65;\n}\n",
        ),
    ]);
    let out = wpstack()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("run");
    let codes = support::finding_codes(&out.stdout);
    assert!(!codes.iter().any(|c| c == "D505"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "I001"), "{codes:?}");
}

#[test]
fn config_file_unknown_key_is_an_error() {
    let dir = write_tree(&[
        ("wpstack.toml", "profil = \"woocommerce\"\n"),
        ("nginx.conf", "events {}\n"),
    ]);
    wpstack()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("profil"));
}

#[test]
fn config_file_is_found_upward_and_applies() {
    let dir = write_tree(&[
        ("wpstack.toml", "ignore = [\"D505\"]\n"),
        ("conf/nginx.conf", "events {}\nerror_log off;\nhttp {}\n"),
    ]);
    wpstack()
        .arg("check")
        .arg(dir.path().join("conf"))
        .assert()
        .code(0);
}

#[test]
fn bad_input_is_exit_2_with_the_file_named() {
    let dir = write_tree(&[("broken.conf", "events {\nhttp {\n")]);
    wpstack()
        .arg("check")
        .arg(dir.path().join("broken.conf"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("broken.conf:"));

    wpstack()
        .arg("check")
        .arg(dir.path().join("missing.conf"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.conf"));

    let bin = dir.path().join("nginx.conf");
    std::fs::write(&bin, b"\x7fELF\x00\x01\x02").expect("write");
    wpstack()
        .args(["check", "--nginx"])
        .arg(&bin)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("binary"));

    let big = dir.path().join("big.conf");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(50 * 1024 * 1024).expect("size");
    wpstack()
        .arg("check")
        .arg(&big)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("big.conf"));

    let deep = dir.path().join("deep.conf");
    std::fs::write(&deep, "http {".repeat(10_000)).expect("write");
    wpstack().arg("check").arg(&deep).assert().code(2);
}

#[test]
fn include_cycle_is_reported_not_looped() {
    let dir = write_tree(&[
        ("nginx.conf", "events {}\nhttp {\n    include a.conf;\n}\n"),
        ("a.conf", "include b.conf;\n"),
        ("b.conf", "include a.conf;\n"),
    ]);
    wpstack()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("E005"));
}

#[test]
fn one_broken_file_does_not_stop_the_rest() {
    let dir = write_tree(&[
        ("nginx.conf", "user www-data;\nevents {}\nhttp {\n    include sites/*.conf;\n}\n"),
        ("sites/a.conf", "server {\n    listen 80;\n    location ~ \\.php$ {\n        fastcgi_pass unix:/run/php/gone.sock;\n"),
        ("sites/b.conf", "server {\n    listen 81;\n    error_log off;\n}\n"),
        ("php-fpm.conf", "[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\npm = ondemand\npm.max_children = 4\n"),
    ]);
    let out = wpstack()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("run");
    let codes = support::finding_codes(&out.stdout);
    assert!(codes.iter().any(|c| c == "E001"), "{codes:?}");
    assert!(
        codes.iter().any(|c| c == "D505"),
        "the file after the broken one is still checked: {codes:?}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn no_php_fpm_config_skips_pool_rules_with_one_note() {
    let dir = write_tree(&[(
        "nginx.conf",
        "user www-data;\nevents {}\nhttp {\n    server {\n        listen 80;\n        location ~ \\.php$ {\n            try_files $uri =404;\n            fastcgi_pass unix:/run/php/php8.1-fpm.sock;\n        }\n    }\n}\n",
    )]);
    let out = wpstack()
        .arg("check")
        .arg(dir.path())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("[U001]"),
        "never a false socket-missing finding: {text}"
    );
    assert_eq!(
        text.matches("no php-fpm configuration found").count(),
        1,
        "{text}"
    );
}

#[test]
fn a_directory_where_a_file_is_expected() {
    let dir = write_tree(&[("x/y", "")]);
    wpstack()
        .args(["check", "--nginx"])
        .arg(dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a directory"));
}

#[test]
fn explicit_files_override_discovery() {
    let b = broken();
    let out = wpstack()
        .args(["check", "--format", "json", "--exit-zero"])
        .arg("--nginx")
        .arg(b.join("etc/nginx/nginx.conf"))
        .arg("--fpm")
        .arg(b.join("etc/php/8.2/fpm/php-fpm.conf"))
        .arg("--php-ini")
        .arg(b.join("etc/php/8.2/fpm/php.ini"))
        .arg("--wp-config")
        .arg(b.join("var/www/blog.example.com/wp-config.php"))
        .arg("--root")
        .arg(&b)
        .output()
        .expect("run");
    let codes = support::finding_codes(&out.stdout);
    // nginx + pools + php.ini + the one wp-config given: U001 (nginx→pool), E004 (php.ini), D501 (wp-config).
    for c in ["U001", "E004", "D501"] {
        assert!(codes.iter().any(|x| x == c), "{c} missing: {codes:?}");
    }
    // The shop's wp-config was not given: its S603 is not reported.
    assert!(!codes.iter().any(|c| c == "S603"), "{codes:?}");
}

#[test]
fn root_maps_absolute_paths_into_a_copy() {
    // Without --root the copy's absolute includes would point at this machine's /etc.
    let dir = write_tree(&[
        ("srv/etc/nginx/nginx.conf", "events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n    include /etc/nginx/extra.conf;\n}\n"),
        ("srv/etc/nginx/conf.d/a.conf", "server { listen 80; error_log off; }\n"),
        ("srv/etc/nginx/extra.conf", "keepalive_timeout 65;\n"),
    ]);
    let out = wpstack()
        .args(["check", "--format", "json", "--root"])
        .arg(dir.path().join("srv"))
        .arg("--nginx")
        .arg(dir.path().join("srv/etc/nginx/nginx.conf"))
        .output()
        .expect("run");
    let codes = support::finding_codes(&out.stdout);
    assert_eq!(
        codes,
        ["D505"],
        "the glob and the plain include both resolved inside the copy"
    );
}

#[test]
fn explicit_config_quiet_and_no_color() {
    let dir = write_tree(&[
        (
            "conf/settings.toml",
            "select = [\"D505\"]\nfail-on = \"error\"\n",
        ),
        ("nginx.conf", "events {}\nerror_log off;\nhttp {}\n"),
    ]);
    let out = wpstack()
        .args(["check", "-q", "--no-color", "--config"])
        .arg(dir.path().join("conf/settings.toml"))
        .arg(dir.path())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "D505 is a warning, fail-on error: {text}"
    );
    assert!(text.contains("warning[D505]"));
    assert!(!text.contains('\x1b'));
}

#[test]
fn dump_shows_origins() {
    let out = wpstack()
        .args(["dump", "--show-origin"])
        .arg(fixtures().join("stacks/model"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["counts"]["pools"], 4);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"origin\": \"etc/php/8.2/fpm/pool.d/www.conf:13\""),
        "{text}"
    );
    assert!(
        text.contains("\"origin\": \"nginx default\"")
            || text.contains("\"origin\": \"PHP default\"")
    );
    assert!(!text.contains("never-printed"));
}

#[test]
fn tune_pre_deploy_sizes_pools_to_the_given_host() {
    let children = |ram: &str, cpus: &str| -> Vec<u64> {
        let out = wpstack()
            .args(["tune", "--format", "json", "--ram", ram, "--cpus", cpus])
            .arg(broken())
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["tuning"]["pools"]
            .as_array()
            .expect("pools")
            .iter()
            .map(|p| p["max_children_after"].as_u64().unwrap_or(0))
            .collect()
    };
    let small = children("2G", "2");
    // More RAM alone does not help 2 CPUs (at most 8 children per CPU): give both.
    let big = children("64G", "32");
    // 2 GB for two pools gives a handful of workers each, not 50.
    assert!(small.iter().all(|c| (2..=12).contains(c)), "{small:?}");
    assert!(
        big.iter().zip(&small).all(|(b, s)| b > s),
        "{big:?} vs {small:?}"
    );
    // The diff is a patch of pm.* lines only; nothing is written without --apply.
    let out = wpstack()
        .args(["tune", "--ram", "2G"])
        .arg(broken())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("= budget "), "{text}");
    assert!(text.contains("+pm.max_children = "), "{text}");
}

#[test]
fn a_pools_status_socket_is_a_socket_php_fpm_listens_on() {
    // nginx serving php-fpm's status page from the pool's `pm.status_listen` socket
    // reaches php-fpm: not U001 (found by the lab's T103 scenario).
    let dir = write_tree(&[
        (
            "nginx.conf",
            "events {}\nhttp {\n  server {\n    listen 80;\n    root /srv/www;\n    location ~ \\.php$ { fastcgi_pass unix:/run/php/www.sock; }\n    location = /fpm-status { fastcgi_pass unix:/run/php/www-status.sock; }\n  }\n}\n",
        ),
        (
            "php-fpm.conf",
            "[global]\npid = /run/php-fpm.pid\n[www]\nuser = www-data\nlisten = /run/php/www.sock\npm = static\npm.max_children = 4\npm.status_path = /fpm-status\npm.status_listen = /run/php/www-status.sock\n",
        ),
    ]);
    let out = wpstack()
        .args([
            "check",
            "--format",
            "json",
            "--exit-zero",
            "--select",
            "U001",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    let codes = support::finding_codes(&out.stdout);
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn no_color_is_accepted_by_every_subcommand() {
    // Issue 12 item 14: `tune --no-color` was a usage error.
    let healthy = support::fixtures().join("stacks/healthy");
    let log = support::fixtures().join("logs/broken-nginx-error.log");
    let runs: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["check".into(), healthy.clone().into()],
        vec!["dump".into(), healthy.clone().into()],
        vec![
            "tune".into(),
            "--ram".into(),
            "4G".into(),
            "--cpus".into(),
            "2".into(),
            healthy.clone().into(),
        ],
        vec!["diagnose".into(), log.into()],
        vec!["rules".into()],
        vec!["explain".into(), "U001".into()],
    ];
    for args in runs {
        for before in [true, false] {
            let mut c = wpstack();
            if before {
                c.arg("--no-color").args(&args);
            } else {
                c.args(&args).arg("--no-color");
            }
            let out = c.output().expect("run");
            assert_ne!(
                out.status.code(),
                Some(2),
                "{args:?} (--no-color first: {before}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Issue 19 item 1: the default text is scannable — errors before warnings before
/// infos, no line past the width (bar an unbreakable word), related places as one
/// compact note each, S603 one finding whose keys share one note.
#[test]
fn text_output_is_ordered_wrapped_and_compact() {
    let out = wpstack()
        .args(["check"])
        .arg(broken())
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let sevs: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            ["error[", "warning[", "info["]
                .into_iter()
                .find(|p| l.starts_with(p))
        })
        .collect();
    let rank = |s: &str| ["error[", "warning[", "info["].iter().position(|p| *p == s);
    assert!(
        sevs.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "{sevs:?}"
    );
    for l in text.lines() {
        assert!(
            l.chars().count() <= 100 || !l.trim().contains(' '),
            "line over 100 columns: {l}"
        );
    }
    let s603: Vec<&str> = text
        .split("\n\n")
        .filter(|b| b.contains("[S603]"))
        .collect();
    assert_eq!(s603.len(), 1, "{text}");
    assert_eq!(s603[0].matches("= note:").count(), 1, "{}", s603[0]);
    assert!(s603[0].contains("NONCE_SALT (28)"), "{}", s603[0]);
    // Compact: about ten lines a finding (the message wrapped, the source line and its
    // caret, a note or two, the fix) for the 40 planted problems.
    assert!(
        text.lines().count() < 40 * 11,
        "{} lines",
        text.lines().count()
    );
    assert!(text.contains("Found 15 errors"), "{text}");
}

#[test]
fn concise_statistics_and_quiet() {
    let out = wpstack()
        .args(["check", "--output-format", "concise"])
        .arg(broken())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines
        .iter()
        .any(|l| l.starts_with("etc/php/8.2/fpm/pool.d/www.conf:24:1: T102 [*] pool www")));
    assert_eq!(
        lines.iter().filter(|l| !l.starts_with("Found ")).count(),
        40,
        "{text}"
    );
    // -q: only the findings.
    let out = wpstack()
        .args(["check", "-q", "--output-format", "concise"])
        .arg(broken())
        .output()
        .unwrap();
    let quiet = String::from_utf8(out.stdout).unwrap();
    assert_eq!(quiet.lines().count(), 40, "{quiet}");
    assert!(!quiet.contains("Found "));
    // --statistics: counts per code, in text and JSON.
    let out = wpstack()
        .args(["check", "--statistics"])
        .arg(broken())
        .output()
        .unwrap();
    let stats = String::from_utf8(out.stdout).unwrap();
    assert!(
        stats
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["1", "S603", "error", "wp-keys-placeholder"]),
        "{stats}"
    );
    let out = wpstack()
        .args(["check", "--statistics", "--format", "json"])
        .arg(broken())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["statistics"].as_array().unwrap().len(), 40);
    wpstack()
        .args(["check", "--statistics", "--format", "sarif"])
        .arg(broken())
        .assert()
        .code(2);
}

#[test]
fn help_rules_and_dump_speak_plainly() {
    wpstack()
        .args(["check", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[default: .]"))
        .stdout(predicate::str::contains("[default: warning"));
    let out = wpstack().arg("rules").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["CODE", "NAME", "SEVERITY", "FIX", "SUMMARY"]);
    // Columns line up: every row's name starts where the header's does.
    let col = text.lines().next().unwrap().find("NAME").unwrap();
    for l in text.lines().skip(1).take_while(|l| !l.is_empty()) {
        if !l.starts_with(' ') {
            assert_eq!(&l[col - 2..col], "  ", "{l}");
        }
    }
    assert!(text.contains("FIX: safe = --fix applies it"), "{text}");
    // dump shows php.ini booleans as PHP does.
    let out = wpstack().arg("dump").arg(broken()).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pool = &v["fpm"][0]["pools"][0]["php"];
    assert_eq!(pool["display_errors"], "Off", "{pool}");
    assert_eq!(pool["short_open_tag"], "Off", "{pool}");
    assert_eq!(pool["expose_php"], "On", "{pool}");
}

/// Issue 19 item 9: the bash completion sources in bash and completes subcommands and
/// options; zsh and fish scripts are produced.
#[test]
fn completions_source_in_bash() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("wpstack.bash");
    let out = wpstack().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    std::fs::write(&script, &out.stdout).unwrap();
    let probe = format!(
        "source '{}' || exit 9\n\
         complete -p wpstack || exit 8\n\
         COMP_WORDS=(wpstack che); COMP_CWORD=1; COMP_LINE='wpstack che'; COMP_POINT=11\n\
         _wpstack wpstack che wpstack; echo \"sub: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(wpstack check --outp); COMP_CWORD=2; COMP_LINE='wpstack check --outp'; COMP_POINT=20\n\
         _wpstack wpstack --outp check; echo \"opt: ${{COMPREPLY[*]}}\"\n",
        script.display()
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("sub: check"), "{text}");
    assert!(text.contains("opt: --output-format"), "{text}");
    for shell in ["zsh", "fish"] {
        let out = wpstack().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
    }
}

/// Issue 19 item 9: the man pages render with `man -l` (groff when man-db is absent).
#[test]
fn man_pages_render() {
    let d = tempfile::tempdir().unwrap();
    for (args, name, must) in [
        (vec!["man"], "wpstack.1", "completions"),
        (vec!["man", "check"], "wpstack-check.1", "--output-format"),
    ] {
        let out = wpstack().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let page = d.path().join(name);
        std::fs::write(&page, &out.stdout).unwrap();
        let rendered = std::process::Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .output()
            .or_else(|_| {
                std::process::Command::new("groff")
                    .args(["-man", "-Tutf8"])
                    .arg(&page)
                    .output()
            });
        let Ok(rendered) = rendered else {
            println!("skipped: neither man nor groff is installed");
            return;
        };
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        assert!(text.contains("NAME") && text.contains(must), "{text}");
    }
    wpstack().args(["man", "nope"]).assert().code(2);
}

/// Issue 19 item 4: colours on a terminal (text and --diff), none with NO_COLOR or
/// --no-color, none in a pipe; no progress output on a pipe.
#[test]
fn colours_follow_the_terminal_and_no_color() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: script (util-linux) is not installed");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("wpstack");
    let on_tty = |args: &str, no_color: bool| -> String {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"]);
        c.env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    let b = broken();
    let b = b.display();
    assert!(on_tty(&format!("check {b}"), false).contains("\x1b[1;31merror"));
    assert!(on_tty(&format!("check --diff {b}"), false).contains("\x1b[32m+"));
    assert!(!on_tty(&format!("check {b}"), true).contains('\x1b'));
    assert!(!on_tty(&format!("--no-color check --diff {b}"), false).contains('\x1b'));
    assert!(!on_tty(&format!("check --diff {b} --no-color"), false).contains('\x1b'));
    // A pipe: no colour and nothing on stderr.
    let out = std::process::Command::new(&bin)
        .arg("check")
        .arg(broken())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\x1b'));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 19 item 5: `check -` lints standard input (kind from --kind or its content),
/// shown as `-`; a file alone whose kind came from its content says so.
#[test]
fn stdin_and_kind() {
    let out = wpstack()
        .args(["check", "--output-format", "concise", "-"])
        .write_stdin("server {\n gzip on;\n gzip on;\n}\n")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("-:3:2: E003 "), "{text}");
    assert!(
        text.contains("was read as an nginx config by its content"),
        "{text}"
    );
    let out = wpstack()
        .args(["check", "--kind", "php-ini", "--format", "json", "-"])
        .write_stdin("memory_limit = 64MB\n")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["code"], "E004", "{v}");
    assert_eq!(v["findings"][0]["file"], "-", "{v}");
    // A file named for nothing says which kind it was taken for.
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("passwd");
    std::fs::write(&f, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let out = wpstack().arg("check").arg(&f).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("was read as an nginx config by its content"),
        "{text}"
    );
    let out = wpstack()
        .args(["check", "--kind", "php-ini"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("by its content"));
    wpstack()
        .args(["check", "--kind", "nginx"])
        .arg(broken())
        .assert()
        .code(2);
}

/// Issue 19 item 6: a baseline hides the findings it knows, also after lines move
/// above them, and shows the new ones.
#[test]
fn baseline_survives_line_moves() {
    let t = write_tree(&[(
        "etc/php/8.2/fpm/php.ini",
        "[PHP]\nexpose_php = On\nupload_max_filesize = 128MB\n",
    )]);
    let ini = t.path().join("etc/php/8.2/fpm/php.ini");
    let base = t.path().join("baseline.json");
    wpstack()
        .args(["check", "--write-baseline"])
        .arg(&base)
        .arg(&ini)
        .assert()
        .code(0);
    let known = std::fs::read_to_string(&base).unwrap();
    assert!(known.contains("\"fingerprint\""), "{known}");
    // Lines move (a comment block on top), one new problem appears.
    std::fs::write(
        &ini,
        "; managed by ansible\n; do not edit\n[PHP]\nexpose_php = On\nupload_max_filesize = 128MB\npost_max_size = 8MB\n",
    )
    .unwrap();
    let out = wpstack()
        .args(["check", "--format", "json", "--baseline"])
        .arg(&base)
        .arg(&ini)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(found, [("E004".to_string(), 6)], "{v}");
    wpstack()
        .args(["check", "--baseline"])
        .arg(t.path().join("nope.json"))
        .arg(&ini)
        .assert()
        .code(2);
}
