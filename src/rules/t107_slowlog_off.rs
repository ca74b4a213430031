//! T107 slowlog-off: without a slowlog nobody can tell which plugin made requests slow.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::{util, Context};

crate::declare_rule!(
    "T107",
    "slowlog-off",
    Info,
    Safe,
    "no slowlog (request_slowlog_timeout = 0 or no slowlog path), or a slowlog timeout that never fires",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for pool in &stack.pools {
        let rst = pool.setting("request_slowlog_timeout");
        let rst_s = rst.as_ref().and_then(util::fpm_seconds).unwrap_or(0);
        let slowlog = pool.settings.get("slowlog");
        let rtt_s = pool
            .setting("request_terminate_timeout")
            .and_then(|r| util::fpm_seconds(&r))
            .unwrap_or(0);
        if rst_s > 0 && slowlog.is_some() {
            if rtt_s > 0 && rst_s >= rtt_s {
                out.push(Finding::at(
                    &RULE,
                    rst.as_ref().and_then(|r| r.place()).unwrap_or(pool.place),
                    format!(
                        "pool {}: request_slowlog_timeout {rst_s} s is not below request_terminate_timeout {rtt_s} s: the worker is killed before its backtrace is written",
                        pool.name
                    ),
                ));
            }
            continue;
        }
        let mut edits = Vec::new();
        if slowlog.is_none() {
            let path = slowlog_path(stack, pool);
            edits.extend(edit::pool_insert(stack, pool, "slowlog", &path));
        }
        if rst_s == 0 {
            edits.extend(edit::pool_set(
                stack,
                pool,
                "request_slowlog_timeout",
                "10s",
            ));
        }
        out.push(
            Finding::at(
                &RULE,
                rst.as_ref().and_then(|r| r.place()).unwrap_or(pool.place),
                format!(
                    "pool {}: no slowlog ({}): when pages get slow there is no record of which plugin or query was running",
                    pool.name,
                    if slowlog.is_none() { "no slowlog path" } else { "request_slowlog_timeout = 0" }
                ),
            )
            .with_fix((!edits.is_empty()).then(|| Fix::safe("log requests slower than 10 s with their PHP backtrace", edits))),
        );
    }
}

/// Where the slowlog goes: next to the instance's absolute `error_log` when that is a
/// file (`/var/log/php8.2-fpm.log` → `/var/log/php8.2-fpm.$pool.slow.log`, Debian's
/// layout), else in `/var/log`, which exists everywhere: php-fpm refuses to start when
/// the slowlog cannot be created (`Unable to create or open slowlog`). Never next to a
/// device or stream (`/proc/self/fd/2`, `/dev/stderr` in containers): no file can be
/// created in `/proc/self/fd/` or `/dev/`.
fn slowlog_path(stack: &crate::stack::Stack, pool: &crate::stack::Pool) -> String {
    let error_log = stack
        .fpm
        .get(pool.fpm)
        .and_then(|f| f.global.get("error_log"))
        .map(|v| v.value.clone())
        .filter(|v| v.starts_with('/') && !v.contains('$') && !is_device(v));
    if let Some(log) = error_log {
        let p = std::path::Path::new(&log);
        if let (Some(dir), Some(stem)) = (p.parent(), p.file_stem()) {
            return format!(
                "{}/{}.$pool.slow.log",
                dir.display(),
                stem.to_string_lossy()
            )
            .replace("//", "/");
        }
    }
    "/var/log/php-fpm.$pool.slow.log".into()
}

/// A device, a process's file descriptor or a kernel file, not a file in a directory
/// one may create files in.
fn is_device(path: &str) -> bool {
    ["/dev/", "/proc/", "/sys/"]
        .iter()
        .any(|p| path.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::discover::{load, Inputs};

    fn path_for(error_log: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("php-fpm.conf");
        std::fs::write(
            &conf,
            format!("[global]\nerror_log = {error_log}\n[www]\nuser = www-data\nlisten = 9000\npm = static\npm.max_children = 2\n"),
        )
        .expect("write");
        let stack = load(&Inputs {
            fpm: vec![conf],
            ..Default::default()
        })
        .expect("load");
        slowlog_path(&stack, &stack.pools[0])
    }

    #[test]
    fn slowlog_never_next_to_a_device() {
        assert_eq!(
            path_for("/var/log/php8.2-fpm.log"),
            "/var/log/php8.2-fpm.$pool.slow.log"
        );
        for dev in [
            "/proc/self/fd/2",
            "/dev/stderr",
            "/dev/stdout",
            "syslog",
            "/sys/x",
        ] {
            assert_eq!(path_for(dev), "/var/log/php-fpm.$pool.slow.log", "{dev}");
        }
    }
}
