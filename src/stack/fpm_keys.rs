//! The keys php-fpm 8.2 knows, in `[global]` and in pools, with the type of value
//! each one takes. Source: `sapi/fpm/fpm/fpm_conf.c` (`ini_fpm_global_options`,
//! `ini_fpm_pool_options`, `fpm_conf_ini_parser_array`), checked against
//! `php-fpm8.2 -tt` on Debian bookworm (which has syslog, systemd, ACL and AppArmor
//! support compiled in, so their keys are listed too).
//!
//! Matching follows php-fpm: the table keys are case-insensitive (`PM = static`
//! works), the array keys (`php_value[...]`, `env[...]`) and `include` are not.

/// What a key's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Any text; `$pool` in it is replaced by the pool name.
    String,
    /// `yes`/`no`, `on`/`off`, `true`/`false`, `1`/`0`, or empty.
    Bool,
    /// `-` and digits only (`fpm_conf_set_integer`).
    Int,
    /// A number with an optional `s`, `m`, `h` or `d` (`fpm_conf_set_time`), in seconds.
    Time,
    /// `static`, `dynamic` or `ondemand` (any case).
    PmMode,
    /// `debug`, `notice`, `warning`/`warn`, `error`, `alert` (any case).
    LogLevel,
    /// A syslog facility name: `daemon`, `local0`..`local7`, `user`, ...
    SyslogFacility,
    /// An integer ≥ 0 or `unlimited`.
    RlimitCore,
    /// `php_value[name]` / `php_admin_value[name]`: a php.ini value (`$pool` expanded).
    PhpValue,
    /// `php_flag[name]` / `php_admin_flag[name]`: a boolean, passed on as "1"/"0".
    PhpFlag,
    /// `env[NAME]`: a non-empty value (`$pool` expanded).
    Env,
    /// `include = glob`: more files to read, relative to the prefix.
    Include,
}

/// Where a key may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Pool,
    /// `include` may appear anywhere.
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// The key as php-fpm spells it.
    pub name: &'static str,
    pub ty: ValueType,
    pub scope: Scope,
    /// Takes an `[index]`: `php_value[memory_limit]`, `env[PATH]`.
    pub array: bool,
    /// What php-fpm uses when the key is not set, as text (`None`: unset / no value).
    pub default: Option<&'static str>,
}

const fn key(
    name: &'static str,
    ty: ValueType,
    scope: Scope,
    default: Option<&'static str>,
) -> KeySpec {
    KeySpec {
        name,
        ty,
        scope,
        array: false,
        default,
    }
}

const fn array(name: &'static str, ty: ValueType) -> KeySpec {
    KeySpec {
        name,
        ty,
        scope: Scope::Pool,
        array: true,
        default: None,
    }
}

use Scope::{Both, Global, Pool};
use ValueType::*;

/// `[global]` keys, in php-fpm's order.
pub const GLOBAL_KEYS: &[KeySpec] = &[
    key("pid", String, Global, None),
    key("error_log", String, Global, Some("log/php-fpm.log")),
    key("syslog.ident", String, Global, Some("php-fpm")),
    key("syslog.facility", SyslogFacility, Global, Some("daemon")),
    key("log_buffering", Bool, Global, Some("yes")),
    key("log_level", LogLevel, Global, Some("notice")),
    key("log_limit", Int, Global, Some("1024")),
    key("emergency_restart_threshold", Int, Global, Some("0")),
    key("emergency_restart_interval", Time, Global, Some("0")),
    key("process_control_timeout", Time, Global, Some("0")),
    key("process.max", Int, Global, Some("0")),
    key("process.priority", Int, Global, None),
    key("daemonize", Bool, Global, Some("yes")),
    key("rlimit_files", Int, Global, None),
    key("rlimit_core", RlimitCore, Global, None),
    key("events.mechanism", String, Global, None),
    key("systemd_interval", Time, Global, Some("10")),
    key("include", Include, Both, None),
];

/// Pool keys, in php-fpm's order, then the array keys and `include`.
pub const POOL_KEYS: &[KeySpec] = &[
    key("prefix", String, Pool, None),
    key("user", String, Pool, None),
    key("group", String, Pool, None),
    key("listen", String, Pool, None),
    key("listen.backlog", Int, Pool, Some("-1")),
    key("listen.acl_users", String, Pool, None),
    key("listen.acl_groups", String, Pool, None),
    key("listen.owner", String, Pool, None),
    key("listen.group", String, Pool, None),
    key("listen.mode", String, Pool, None),
    key("listen.allowed_clients", String, Pool, None),
    key("process.priority", Int, Pool, None),
    key("process.dumpable", Bool, Pool, Some("no")),
    key("pm", PmMode, Pool, None),
    key("pm.max_children", Int, Pool, None),
    key("pm.start_servers", Int, Pool, None),
    key("pm.min_spare_servers", Int, Pool, None),
    key("pm.max_spare_servers", Int, Pool, None),
    key("pm.max_spawn_rate", Int, Pool, Some("32")),
    key("pm.process_idle_timeout", Time, Pool, Some("10s")),
    key("pm.max_requests", Int, Pool, Some("0")),
    key("pm.status_path", String, Pool, None),
    key("pm.status_listen", String, Pool, None),
    key("ping.path", String, Pool, None),
    key("ping.response", String, Pool, Some("pong")),
    key("access.log", String, Pool, None),
    key(
        "access.format",
        String,
        Pool,
        Some("%R - %u %t \"%m %r\" %s"),
    ),
    key("slowlog", String, Pool, None),
    key("request_slowlog_timeout", Time, Pool, Some("0")),
    key("request_slowlog_trace_depth", Int, Pool, Some("20")),
    key("request_terminate_timeout", Time, Pool, Some("0")),
    key(
        "request_terminate_timeout_track_finished",
        Bool,
        Pool,
        Some("no"),
    ),
    key("rlimit_files", Int, Pool, None),
    key("rlimit_core", RlimitCore, Pool, None),
    key("chroot", String, Pool, None),
    key("chdir", String, Pool, None),
    key("catch_workers_output", Bool, Pool, Some("no")),
    key("decorate_workers_output", Bool, Pool, Some("yes")),
    key("clear_env", Bool, Pool, Some("yes")),
    key(
        "security.limit_extensions",
        String,
        Pool,
        Some(".php .phar"),
    ),
    key("apparmor_hat", String, Pool, None),
    array("php_value", PhpValue),
    array("php_admin_value", PhpValue),
    array("php_flag", PhpFlag),
    array("php_admin_flag", PhpFlag),
    array("env", Env),
    key("include", Include, Both, None),
];

fn find(table: &[KeySpec], name: &str) -> Option<KeySpec> {
    table
        .iter()
        .find(|k| {
            if k.array || k.ty == Include {
                k.name == name
            } else {
                k.name.eq_ignore_ascii_case(name)
            }
        })
        .copied()
}

/// A key of the `[global]` section (`name` without any `[index]`).
pub fn global_key(name: &str) -> Option<KeySpec> {
    find(GLOBAL_KEYS, name)
}

/// A key of a pool section (`name` without any `[index]`: `php_admin_value`).
pub fn pool_key(name: &str) -> Option<KeySpec> {
    find(POOL_KEYS, name)
}

/// The array keys (`php_value`, `env`, ...), whatever the section.
pub fn array_key(name: &str) -> Option<KeySpec> {
    POOL_KEYS
        .iter()
        .find(|k| k.array && k.name == name)
        .copied()
}

/// Does php-fpm replace `$pool` with the pool name in this key's value?
/// (`fpm_conf_set_string` and the non-flag arrays do.)
pub fn expands_pool(spec: &KeySpec) -> bool {
    matches!(spec.ty, String | PhpValue | Env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_follow_php_fpm_case_rules() {
        assert_eq!(pool_key("pm").map(|k| k.ty), Some(PmMode));
        assert_eq!(pool_key("PM").map(|k| k.name), Some("pm"));
        assert_eq!(pool_key("LISTEN.BACKLOG").map(|k| k.ty), Some(Int));
        assert!(pool_key("php_admin_value").is_some_and(|k| k.array));
        assert!(pool_key("Env").is_none());
        assert!(pool_key("Include").is_none());
        assert!(pool_key("include").is_some());
        assert!(global_key("include").is_some());
        assert!(global_key("pm").is_none());
        assert!(global_key("php_value").is_none());
        assert!(pool_key("pid").is_none());
        assert_eq!(global_key("Pid").map(|k| k.name), Some("pid"));
        assert_eq!(
            pool_key("request_terminate_timeout").map(|k| k.ty),
            Some(Time)
        );
        assert_eq!(
            global_key("process_control_timeout").map(|k| k.ty),
            Some(Time)
        );
        assert!(pool_key("pm.max_spawn_rate").is_some());
        assert!(pool_key("pm.start_server").is_none());
    }

    #[test]
    fn names_are_unique_per_table() {
        for table in [GLOBAL_KEYS, POOL_KEYS] {
            for (i, a) in table.iter().enumerate() {
                for b in &table[i + 1..] {
                    assert_ne!(a.name, b.name);
                }
            }
        }
    }

    #[test]
    fn pool_expansion() {
        assert!(pool_key("listen").is_some_and(|k| expands_pool(&k)));
        assert!(pool_key("php_value").is_some_and(|k| expands_pool(&k)));
        assert!(!pool_key("php_flag").is_some_and(|k| expands_pool(&k)));
        assert!(!pool_key("pm").is_some_and(|k| expands_pool(&k)));
    }
}
