//! Our php-fpm checks against the real `php-fpm8.2 -t`: for every generated
//! configuration (valid ones and broken ones), both must agree on whether php-fpm
//! refuses to start, and when it does, php-fpm's own message must be among ours.
//!
//! php-fpm runs as `php-fpm8.2 -n -t -R -y FILE -p DIR` on a temp dir: `-n` (no
//! php.ini), `-R` (allowed as root, so no `user` is needed; the validator gets the
//! same assumption), pid, error log and sockets inside the temp dir.

mod support;

use std::path::Path;
use std::process::Command;
use support::ini_corpus::oracle;
use wpstack::stack::fpm_validate::{self, Options};
use wpstack::syntax::ini;

const POOL: &str = "[www]\nlisten = {T}/www.sock\npm = static\npm.max_children = 5\n";

fn global() -> String {
    "[global]\npid = {T}/fpm.pid\nerror_log = {T}/fpm.log\n".to_string()
}

/// (name, file text with `{T}` for the temp dir).
fn cases() -> Vec<(&'static str, String)> {
    let g = global();
    let pool = |extra: &str| format!("{g}{POOL}{extra}\n");
    let bare_pool = |body: &str| format!("{g}[www]\n{body}\n");
    vec![
        // --- accepted -------------------------------------------------------
        ("static", pool("")),
        (
            "dynamic, start_servers computed",
            bare_pool("listen = {T}/www.sock\npm = dynamic\npm.max_children = 10\npm.min_spare_servers = 2\npm.max_spare_servers = 6"),
        ),
        (
            "dynamic, start_servers in range",
            bare_pool("listen = {T}/www.sock\npm = dynamic\npm.max_children = 10\npm.start_servers = 3\npm.min_spare_servers = 2\npm.max_spare_servers = 6"),
        ),
        (
            "ondemand",
            bare_pool("listen = {T}/www.sock\npm = ondemand\npm.max_children = 10\npm.process_idle_timeout = 10s"),
        ),
        ("time suffixes", pool("request_terminate_timeout = 5m\npm.process_idle_timeout = 1h\nrequest_slowlog_timeout = 0")),
        ("time in days", pool("request_terminate_timeout = 1d")),
        ("plain number time", pool("request_terminate_timeout = 30")),
        ("misread time 1.5 (accepted)", pool("request_terminate_timeout = 1.5")),
        ("negative time (accepted)", pool("request_terminate_timeout = -1")),
        (
            "php values, flags, env",
            pool("php_value[memory_limit] = 256M\nphp_admin_value[error_log] = {T}/$pool.err\nphp_flag[display_errors] = off\nphp_admin_flag[log_errors] = on\nenv[PATH] = /usr/bin:/bin"),
        ),
        ("$pool in strings", pool("slowlog = {T}/$pool.slow\naccess.log = {T}/$pool.access")),
        ("keywords", pool("catch_workers_output = yes\nclear_env = no\ndecorate_workers_output = Off")),
        ("quoted values", bare_pool("listen = \"{T}/www.sock\"\npm = \"static\"\npm.max_children = '5'")),
        ("case-insensitive keys", bare_pool("LISTEN = {T}/www.sock\nPM = STATIC\nPm.Max_Children = 5")),
        ("comments", pool("; a comment\npm.max_requests = 500 ; recycle\n\n")),
        (
            "two pools",
            format!("{g}{POOL}[b]\nlisten = {{T}}/b.sock\npm = static\npm.max_children = 1\n"),
        ),
        ("pool reopened in another case", format!("{g}{POOL}[WWW]\npm.max_children = 7\n")),
        (
            "global settings",
            format!("{g}log_level = warning\nemergency_restart_threshold = 10\nemergency_restart_interval = 1m\nprocess_control_timeout = 10s\nlog_limit = 4096\n{POOL}"),
        ),
        ("rlimit_core unlimited", pool("rlimit_core = unlimited")),
        (
            "ondemand low backlog (warning only)",
            bare_pool("listen = {T}/www.sock\nlisten.backlog = -5\npm = ondemand\npm.max_children = 2"),
        ),
        ("status and ping", pool("pm.status_path = /status\nping.path = /ping\nping.response = pong")),
        ("slowlog with timeout", pool("slowlog = {T}/slow.log\nrequest_slowlog_timeout = 5s\nrequest_terminate_timeout = 60s")),
        ("include of a missing file (warning only)", pool("include = {T}/none.conf")),
        (
            "entries before any section",
            format!("pid = {{T}}/fpm.pid\nerror_log = {{T}}/fpm.log\n{POOL}"),
        ),
        ("empty ping.response without ping.path", pool("ping.response =")),
        ("a section and a key on one line", format!("{g}[www] listen = {{T}}/www.sock\npm = static\npm.max_children = 2\n")),
        ("CRLF line endings", pool("pm.max_requests = 10").replace('\n', "\r\n")),
        ("no final newline", pool("pm.max_requests = 10").trim_end().to_string()),
        // --- refused --------------------------------------------------------
        ("unknown key", pool("foo = 1")),
        ("misspelled key", pool("pm.max_childs = 5")),
        ("unknown key in global", format!("{g}pm = static\n{POOL}")),
        ("bad pm", bare_pool("listen = {T}/www.sock\npm = dyn\npm.max_children = 5")),
        ("non-numeric int", bare_pool("listen = {T}/www.sock\npm = static\npm.max_children = 5x")),
        ("plus sign int", bare_pool("listen = {T}/www.sock\npm = static\npm.max_children = +5")),
        ("bad time suffix", pool("request_terminate_timeout = 30x")),
        ("empty time", pool("request_terminate_timeout =")),
        (
            "start_servers out of range",
            bare_pool("listen = {T}/www.sock\npm = dynamic\npm.max_children = 10\npm.start_servers = 9\npm.min_spare_servers = 2\npm.max_spare_servers = 6"),
        ),
        ("missing max_children", bare_pool("listen = {T}/www.sock\npm = static")),
        ("max_children 0", bare_pool("listen = {T}/www.sock\npm = static\npm.max_children = 0")),
        ("max_children empty", bare_pool("listen = {T}/www.sock\npm = static\npm.max_children =")),
        (
            "ondemand idle timeout 0",
            bare_pool("listen = {T}/www.sock\npm = ondemand\npm.max_children = 5\npm.process_idle_timeout = 0"),
        ),
        ("missing listen", bare_pool("pm = static\npm.max_children = 5")),
        ("empty listen", bare_pool("listen =\npm = static\npm.max_children = 5")),
        ("missing pm", bare_pool("listen = {T}/www.sock\npm.max_children = 5")),
        (
            "min_spare above max_children",
            bare_pool("listen = {T}/www.sock\npm = dynamic\npm.max_children = 5\npm.min_spare_servers = 6\npm.max_spare_servers = 8"),
        ),
        (
            "max_spare below min_spare",
            bare_pool("listen = {T}/www.sock\npm = dynamic\npm.max_children = 10\npm.min_spare_servers = 4\npm.max_spare_servers = 2"),
        ),
        ("dynamic without spares", bare_pool("listen = {T}/www.sock\npm = dynamic\npm.max_children = 10")),
        (
            "max_spawn_rate 0",
            bare_pool("listen = {T}/www.sock\npm = dynamic\npm.max_children = 10\npm.min_spare_servers = 1\npm.max_spare_servers = 3\npm.max_spawn_rate = 0"),
        ),
        ("bad php_flag", pool("php_flag[display_errors] = maybe")),
        ("php_flag 0 (accepted)", pool("php_admin_flag[log_errors] = 0")),
        ("quoted \"yes\" boolean (accepted)", pool("catch_workers_output = \"yes\"")),
        ("quoted \"Yes\" boolean", pool("catch_workers_output = \"Yes\"")),
        ("quoted \" 1\" boolean", pool("clear_env = \" 1\"")),
        ("array without key", pool("php_value[] = 1")),
        ("empty env value", pool("env[FOO] =")),
        ("unknown array", pool("x[y] = 1")),
        ("array in global", format!("{g}php_value[memory_limit] = 1G\n{POOL}")),
        ("$pool in global", format!("{g}error_log = {{T}}/$pool.log\n{POOL}")),
        ("bad log_level", format!("{g}log_level = verbose\n{POOL}")),
        ("log_limit too small", format!("{g}log_limit = 100\n{POOL}")),
        ("negative process.max", format!("{g}process.max = -1\n{POOL}")),
        ("pool priority out of range", pool("process.priority = 30")),
        ("status path without slash", pool("pm.status_path = status")),
        ("status path too short", pool("pm.status_path = /")),
        ("ping path bad char", pool("ping.path = /p@ng")),
        ("empty ping.response with ping.path", pool("ping.path = /ping\nping.response =")),
        ("slowlog timeout without slowlog", pool("request_slowlog_timeout = 5s")),
        (
            "slowlog timeout above terminate",
            pool("slowlog = {T}/slow.log\nrequest_slowlog_timeout = 60s\nrequest_terminate_timeout = 30s"),
        ),
        ("trace depth without slowlog", pool("request_slowlog_trace_depth = 5")),
        (
            "same listen in two pools",
            format!("{g}{POOL}[b]\nlisten = {{T}}/www.sock\npm = static\npm.max_children = 1\n"),
        ),
        ("no pool", g.clone()),
        ("unterminated quote", pool("pm.status_path = \"/status")),
        ("key without =", pool("pm.max_requests")),
        ("indented section", format!("{g}  [www]\nlisten = {{T}}/www.sock\npm = static\npm.max_children = 5\n")),
        ("boolean 2", pool("catch_workers_output = 2")),
        ("rlimit_core negative", pool("rlimit_core = -1")),
        (
            "ondemand with select",
            format!("{g}events.mechanism = select\n[www]\nlisten = {{T}}/www.sock\npm = ondemand\npm.max_children = 5\n"),
        ),
        ("unknown events.mechanism", format!("{g}events.mechanism = bogus\n{POOL}")),
        ("bad syslog facility", format!("{g}syslog.facility = bogus\n{POOL}")),
        ("equals inside value", pool("pm.max_requests = 1 = 2")),
        ("# comment line", pool("# a comment")),
        ("#-commented key", pool("#pm.max_requests = 5")),
        ("# after a value is part of it", pool("slowlog = {T}/slow.log # not a comment")),
    ]
}

/// php-fpm's verdict and its error lines (level and text, prefixes removed).
fn run_fpm(fpm: &Path, dir: &Path, conf: &Path) -> (bool, Vec<String>) {
    let out = Command::new(fpm)
        .args(["-n", "-t", "-R", "-y"])
        .arg(conf)
        .arg("-p")
        .arg(dir)
        .output()
        .expect("run php-fpm");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    text.push_str(&std::fs::read_to_string(dir.join("fpm.log")).unwrap_or_default());
    let mut errors = Vec::new();
    for line in text.lines() {
        // "[26-Nov-2026 19:46:26] ERROR: [t.conf:11] unknown entry 'foo'"
        let rest = line.split_once("] ").map_or(line, |(_, r)| r);
        let (level, msg) = match rest.split_once(": ") {
            Some((l, m)) if matches!(l, "ERROR" | "ALERT") => (l, m),
            _ if line.starts_with("PHP:  ") => ("PHP", line.trim_start_matches("PHP:  ")),
            _ => continue,
        };
        let _ = level;
        if msg.starts_with("failed to ") || msg.starts_with("FPM initialization failed") {
            continue;
        }
        // Drop php-fpm's "[file:line] " prefix.
        let msg = match msg.strip_prefix('[') {
            Some(r) if !msg.starts_with("[pool ") => r.split_once("] ").map_or(msg, |(_, m)| m),
            _ => msg,
        };
        errors.push(msg.to_string());
    }
    let refused = !out.status.success() || !errors.is_empty();
    (refused, errors)
}

/// Our verdict: syntax errors of any line, then every check of the validator.
fn ours(src: &str) -> (bool, Vec<String>) {
    let file = ini::parse_fpm(src.as_bytes());
    let mut messages: Vec<String> = file.errors.iter().map(|e| e.message.clone()).collect();
    let check = fpm_validate::check_all(
        &fpm_validate::sections(&file),
        &Options {
            root_without_allow_flag: false,
        },
    );
    messages.extend(
        check
            .problems
            .iter()
            .filter(|(_, p)| p.fatal)
            .map(|(_, p)| p.message.clone()),
    );
    (!file.errors.is_empty() || check.fatal(), messages)
}

#[test]
fn fpm_checks_agree_with_php_fpm() {
    let Some(fpm) = oracle("php-fpm8.2") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut agree = 0;
    let mut disagree = Vec::new();
    let mut refused = 0;
    let mut worded = 0;
    let cases = cases();
    for (i, (name, text)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("case{i}"));
        std::fs::create_dir_all(&dir).expect("case dir");
        let text = text.replace("{T}", &dir.to_string_lossy());
        let conf = dir.join("php-fpm.conf");
        std::fs::write(&conf, &text).expect("write conf");
        let (fpm_refused, fpm_errors) = run_fpm(&fpm, &dir, &conf);
        let (we_refuse, our_messages) = ours(&text);
        if fpm_refused != we_refuse {
            disagree.push(format!(
                "{name}: php-fpm {}, we {} — php-fpm said {fpm_errors:?}, we said {our_messages:?}\n{text}",
                if fpm_refused { "refuses" } else { "accepts" },
                if we_refuse { "refuse" } else { "accept" },
            ));
            continue;
        }
        agree += 1;
        if fpm_refused {
            refused += 1;
            // php-fpm's first complaint must be one of ours, word for word (a PHP
            // syntax error ends in "in Unknown on line N", which we leave out).
            let first = fpm_errors.first().cloned().unwrap_or_default();
            let first = first
                .split(" in Unknown on line ")
                .next()
                .unwrap_or_default()
                .to_string();
            let fpm_null = first.contains("value is NULL for a ZEND_INI_PARSER_ENTRY");
            if our_messages
                .iter()
                .any(|m| *m == first || (fpm_null && m.contains("value is NULL")))
            {
                worded += 1;
            } else {
                disagree.push(format!(
                    "{name}: both refuse, but php-fpm says {first:?} and we say {our_messages:?}"
                ));
            }
        }
    }
    println!(
        "fpm differential: {agree} files agree with php-fpm -t, {} disagree ({refused} refused by both, php-fpm's message among ours in {worded})",
        disagree.len()
    );
    assert!(disagree.is_empty(), "{}", disagree.join("\n\n"));
}
