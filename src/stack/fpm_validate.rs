//! php-fpm's own checks, as pure functions over settings: unknown keys (E002),
//! values of the wrong type (E004) and the start-up checks of
//! `fpm_conf_process_all_pools` / `fpm_conf_post_process` (E006), with messages
//! worded as php-fpm words them. Also the effective pool values php-fpm computes
//! (defaults, `pm.start_servers` for `dynamic`, `$pool` replaced).
//!
//! Checks that need the file system (prefix, chroot and chdir directories, the
//! slowlog file, user and group names) are left to the caller.
//!
//! Verified against `php-fpm8.2 -t` by `tests/fpm_differential.rs`.

use super::fpm_keys::{self, KeySpec, ValueType};
use crate::syntax::ini;
use crate::syntax::units::{fpm_bool, fpm_int, fpm_time, fpm_time_raw};

/// One `key = value` line of a section, as PHP's INI parser produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting<'a> {
    /// The key without its `[index]`: `pm`, `php_admin_value`.
    pub name: &'a str,
    /// `Some("memory_limit")` for `php_admin_value[memory_limit]`, `Some("")` for `x[]`.
    pub index: Option<&'a str>,
    /// The value PHP's INI parser gives php-fpm (`ini::Value::text`).
    pub value: &'a str,
    /// The caller's identifier for this line (e.g. the entry's position), echoed in
    /// [`Problem::setting`] and [`Source::Setting`].
    pub id: usize,
}

impl<'a> Setting<'a> {
    /// From a key as written (`php_value[memory_limit]`) and a value.
    pub fn new(key: &'a str, value: &'a str, id: usize) -> Self {
        let (name, index) = match key.find('[') {
            Some(i) if key.ends_with(']') => (&key[..i], Some(&key[i + 1..key.len() - 1])),
            _ => (key, None),
        };
        Setting {
            name,
            index,
            value,
            id,
        }
    }

    /// The key as written, with its index: `php_value[memory_limit]`.
    pub fn key(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{}]", self.name, i),
            None => self.name.to_string(),
        }
    }
}

/// Which rule a problem belongs to (see `rules.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// unknown-fpm-directive
    E002,
    /// invalid-value
    E004,
    /// fpm-will-not-start
    E006,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::E002 => "E002",
            Code::E004 => "E004",
            Code::E006 => "E006",
        }
    }
}

/// The level php-fpm logs the message at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Alert,
    Error,
    Warning,
    Notice,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    /// The key involved, as written (`pm.start_servers`, `php_flag[display_errors]`),
    /// also when it is not set at all (`pm.max_children`).
    pub key: String,
    /// The setting at fault ([`Setting::id`]); `None` when the key is missing.
    pub setting: Option<usize>,
    /// php-fpm's own words (without its `[file:line]` prefix).
    pub message: String,
    pub level: Level,
    /// php-fpm refuses to start. `false`: it starts but reads the value differently
    /// from what was written (`request_terminate_timeout = 1.5` is 1 second).
    pub fatal: bool,
}

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A setting ([`Setting::id`]).
    Setting(usize),
    /// php-fpm's default, and why.
    Default(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val<T> {
    pub value: T,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PmMode {
    Static,
    Dynamic,
    OnDemand,
}

/// How php-fpm will be run, for the checks that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The master process runs as root without `-R` / `--allow-to-run-as-root`
    /// (the usual service setup): every pool then needs `user`.
    pub root_without_allow_flag: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root_without_allow_flag: true,
        }
    }
}

/// The `[global]` values the pool checks and the rules need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalConfig {
    pub events_mechanism: Option<Val<String>>,
    pub process_control_timeout: Option<Val<i64>>,
    pub emergency_restart_threshold: Option<Val<i64>>,
    pub emergency_restart_interval: Option<Val<i64>>,
    pub process_max: Option<Val<i64>>,
    pub error_log: Option<Val<String>>,
    pub pid: Option<Val<String>>,
}

/// A `php_value[...]`, `php_admin_value[...]`, `php_flag[...]` or `php_admin_flag[...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpSetting {
    /// The php.ini key (`memory_limit`).
    pub name: String,
    /// What php-fpm passes to PHP: `$pool` replaced; `"1"`/`"0"` for flags.
    pub value: String,
    /// `php_admin_*`: scripts cannot change it with `ini_set()`.
    pub admin: bool,
    pub setting: usize,
}

/// A pool as php-fpm sees it after reading its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub name: String,
    pub pm: Option<Val<PmMode>>,
    /// No compiled default: unset means php-fpm refuses to start.
    pub max_children: Option<Val<i64>>,
    /// For `dynamic`, php-fpm's computed default when unset or ≤ 0.
    pub start_servers: Option<Val<i64>>,
    pub min_spare_servers: Option<Val<i64>>,
    pub max_spare_servers: Option<Val<i64>>,
    pub max_spawn_rate: Val<i64>,
    /// Seconds.
    pub process_idle_timeout: Val<i64>,
    pub max_requests: Val<i64>,
    /// Seconds; 0 = no limit.
    pub request_terminate_timeout: Val<i64>,
    /// Seconds; 0 = off.
    pub request_slowlog_timeout: Val<i64>,
    /// `$pool` replaced.
    pub listen: Option<Val<String>>,
    pub listen_backlog: Val<i64>,
    pub user: Option<Val<String>>,
    pub group: Option<Val<String>>,
    pub slowlog: Option<Val<String>>,
    pub status_path: Option<Val<String>>,
    pub ping_path: Option<Val<String>>,
    pub clear_env: Val<bool>,
    pub catch_workers_output: Val<bool>,
    pub php_values: Vec<PhpSetting>,
    /// `env[NAME] = value` with `$pool` replaced: (name, value, setting).
    pub env: Vec<(String, String, usize)>,
}

/// Replace `$pool` with the pool name, as php-fpm does for string keys,
/// `php_value[...]`, `php_admin_value[...]` and `env[...]`.
pub fn expand_pool(value: &str, pool: &str) -> String {
    value.replace("$pool", pool)
}

fn problem(
    code: Code,
    key: impl Into<String>,
    setting: Option<usize>,
    level: Level,
    fatal: bool,
    message: impl Into<String>,
) -> Problem {
    Problem {
        code,
        key: key.into(),
        setting,
        message: message.into(),
        level,
        fatal,
    }
}

/// The value php-fpm's parser for `ty` refuses, with its reason (`None`: accepted).
fn type_error(ty: ValueType, value: &str) -> Option<&'static str> {
    match ty {
        ValueType::String | ValueType::PhpValue | ValueType::Include | ValueType::Env => None,
        ValueType::Bool | ValueType::PhpFlag => {
            fpm_bool(value).err().map(|_| "invalid boolean value")
        }
        ValueType::Int => fpm_int(value)
            .err()
            .map(|_| "is not a valid number (greater or equal than zero)"),
        ValueType::Time => match fpm_time_raw(value) {
            Ok(_) => None,
            Err(_) if value.is_empty() => Some("invalid time value"),
            Err(_) => Some("unknown suffix used in time value"),
        },
        ValueType::PmMode => parse_pm(value)
            .is_none()
            .then_some("invalid process manager (static, dynamic or ondemand)"),
        ValueType::LogLevel => {
            let ok = ["debug", "notice", "warning", "warn", "error", "alert"]
                .iter()
                .any(|l| l.eq_ignore_ascii_case(value));
            (!ok).then_some("invalid value for 'log_level'")
        }
        ValueType::SyslogFacility => {
            let ok = [
                "AUTH", "AUTHPRIV", "CRON", "DAEMON", "FTP", "KERN", "LPR", "MAIL", "NEWS",
                "SYSLOG", "USER", "UUCP", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4",
                "LOCAL5", "LOCAL6", "LOCAL7",
            ]
            .iter()
            .any(|l| l.eq_ignore_ascii_case(value));
            (!ok).then_some("invalid value")
        }
        ValueType::RlimitCore => {
            if value.eq_ignore_ascii_case("unlimited") {
                None
            } else {
                match fpm_int(value) {
                    Err(_) => Some("is not a valid number (greater or equal than zero)"),
                    Ok(n) if n < 0 => Some("must be greater than zero or 'unlimited'"),
                    Ok(_) => None,
                }
            }
        }
    }
}

fn parse_pm(value: &str) -> Option<PmMode> {
    if value.eq_ignore_ascii_case("static") {
        Some(PmMode::Static)
    } else if value.eq_ignore_ascii_case("dynamic") {
        Some(PmMode::Dynamic)
    } else if value.eq_ignore_ascii_case("ondemand") {
        Some(PmMode::OnDemand)
    } else {
        None
    }
}

/// A value php-fpm accepts but reads differently from what was written.
fn misread(ty: ValueType, value: &str) -> Option<String> {
    match ty {
        ValueType::Time => {
            let raw = fpm_time_raw(value).ok()?;
            fpm_time(value)
                .err()
                .map(|_| format!("php-fpm reads `{value}` as {raw} second(s)"))
        }
        ValueType::Int => {
            let n = fpm_int(value).ok()?;
            let written: Option<i64> = value.parse().ok();
            (written != Some(n) && !value.is_empty())
                .then(|| format!("php-fpm stores `{value}` in a C int and reads it as {n}"))
        }
        _ => None,
    }
}

/// E002/E004 for one setting of `[global]` (`pool == None`) or of a pool.
fn check_setting(s: &Setting<'_>, pool: Option<&str>) -> Vec<Problem> {
    let mut out = Vec::new();
    let key = s.key();
    if let Some(index) = s.index {
        // fpm_conf_ini_parser_array, in its order.
        if index.is_empty() {
            out.push(problem(
                Code::E004,
                key,
                Some(s.id),
                Level::Error,
                true,
                format!("You must provide a key for field '{}'", s.name),
            ));
            return out;
        }
        if pool.is_none() {
            out.push(problem(
                Code::E002,
                key,
                Some(s.id),
                Level::Error,
                true,
                "Array are not allowed in the global section",
            ));
            return out;
        }
        let Some(spec) = fpm_keys::array_key(s.name) else {
            out.push(problem(
                Code::E002,
                key,
                Some(s.id),
                Level::Error,
                true,
                format!("unknown directive '{}'", s.name),
            ));
            return out;
        };
        if spec.ty == ValueType::Env && s.value.is_empty() {
            out.push(problem(
                Code::E004,
                key,
                Some(s.id),
                Level::Error,
                true,
                "empty value",
            ));
        } else if let Some(err) = type_error(spec.ty, s.value) {
            out.push(problem(
                Code::E004,
                key.clone(),
                Some(s.id),
                Level::Error,
                true,
                format!("error while parsing '{key}' : {err}"),
            ));
        }
        return out;
    }
    if s.name == "include" {
        return out;
    }
    let spec: Option<KeySpec> = match pool {
        None => fpm_keys::global_key(s.name),
        Some(_) => fpm_keys::pool_key(s.name),
    };
    let Some(spec) = spec.filter(|k| !k.array) else {
        out.push(problem(
            Code::E002,
            key,
            Some(s.id),
            Level::Error,
            true,
            format!("unknown entry '{}'", s.name),
        ));
        return out;
    };
    if let Some(err) = type_error(spec.ty, s.value) {
        out.push(problem(
            Code::E004,
            key,
            Some(s.id),
            Level::Error,
            true,
            format!("unable to parse value for entry '{}': {err}", spec.name),
        ));
    } else if pool.is_none() && fpm_keys::expands_pool(&spec) && s.value.contains("$pool") {
        out.push(problem(
            Code::E004,
            key,
            Some(s.id),
            Level::Error,
            true,
            format!(
                "unable to parse value for entry '{}': Can't use '$pool' when the pool is not defined",
                spec.name
            ),
        ));
    } else if let Some(why) = misread(spec.ty, s.value) {
        out.push(problem(
            Code::E004,
            key,
            Some(s.id),
            Level::Warning,
            false,
            why,
        ));
    }
    out
}

/// The last valid setting of a table key (php-fpm: the later line wins).
fn last<'s, 'a>(settings: &'s [Setting<'a>], name: &str) -> Option<&'s Setting<'a>> {
    settings
        .iter()
        .rev()
        .find(|s| s.index.is_none() && s.name.eq_ignore_ascii_case(name))
}

fn int_of(settings: &[Setting<'_>], name: &str) -> Option<Val<i64>> {
    let s = last(settings, name)?;
    fpm_int(s.value).ok().map(|v| Val {
        value: v,
        source: Source::Setting(s.id),
    })
}

fn time_of(settings: &[Setting<'_>], name: &str) -> Option<Val<i64>> {
    let s = last(settings, name)?;
    fpm_time_raw(s.value).ok().map(|v| Val {
        value: v,
        source: Source::Setting(s.id),
    })
}

fn bool_of(settings: &[Setting<'_>], name: &str, default: bool, why: &'static str) -> Val<bool> {
    last(settings, name)
        .and_then(|s| {
            fpm_bool(s.value).ok().map(|v| Val {
                value: v,
                source: Source::Setting(s.id),
            })
        })
        .unwrap_or(Val {
            value: default,
            source: Source::Default(why),
        })
}

fn string_of(settings: &[Setting<'_>], name: &str, pool: &str) -> Option<Val<String>> {
    let s = last(settings, name)?;
    Some(Val {
        value: expand_pool(s.value, pool),
        source: Source::Setting(s.id),
    })
}

fn or_default(v: Option<Val<i64>>, default: i64, why: &'static str) -> Val<i64> {
    v.unwrap_or(Val {
        value: default,
        source: Source::Default(why),
    })
}

/// Check `[global]` (E002/E004 per setting and php-fpm's global start-up checks).
pub fn check_global(settings: &[Setting<'_>]) -> (GlobalConfig, Vec<Problem>) {
    let mut problems: Vec<Problem> = settings
        .iter()
        .flat_map(|s| check_setting(s, None))
        .collect();
    let bad = |name: &str| problems_for(&problems, name);
    let cfg = GlobalConfig {
        events_mechanism: last(settings, "events.mechanism").map(|s| Val {
            value: s.value.to_string(),
            source: Source::Setting(s.id),
        }),
        process_control_timeout: time_of(settings, "process_control_timeout"),
        emergency_restart_threshold: int_of(settings, "emergency_restart_threshold"),
        emergency_restart_interval: time_of(settings, "emergency_restart_interval"),
        process_max: int_of(settings, "process.max"),
        error_log: last(settings, "error_log").map(|s| Val {
            value: s.value.to_string(),
            source: Source::Setting(s.id),
        }),
        pid: last(settings, "pid").map(|s| Val {
            value: s.value.to_string(),
            source: Source::Setting(s.id),
        }),
    };
    let mut more = Vec::new();
    // fpm_conf_post_process, in its order.
    if !bad("log_limit") {
        if let Some(v) = int_of(settings, "log_limit").filter(|v| v.value < 512) {
            more.push(global_problem(
                "log_limit",
                &v,
                "log_limit must be greater than 512",
            ));
        }
    }
    if !bad("process.max") {
        if let Some(v) = cfg.process_max.as_ref().filter(|v| v.value < 0) {
            more.push(global_problem(
                "process.max",
                v,
                "process_max can't be negative",
            ));
        }
    }
    if !bad("process.priority") {
        if let Some(v) = int_of(settings, "process.priority")
            .filter(|v| v.value != 64 && !(-19..=20).contains(&v.value))
        {
            more.push(global_problem(
                "process.priority",
                &v,
                "process.priority must be included into [-19,20]",
            ));
        }
    }
    if let Some(v) = &cfg.events_mechanism {
        let known = ["epoll", "poll", "select"];
        if !v.value.is_empty() && !known.iter().any(|k| k.eq_ignore_ascii_case(&v.value)) {
            let msg = format!(
                "event mechanism '{}' is not available on this system",
                v.value
            );
            more.push(global_problem("events.mechanism", v, &msg));
        }
    }
    problems.append(&mut more);
    (cfg, problems)
}

fn global_problem<T>(key: &str, v: &Val<T>, message: &str) -> Problem {
    let setting = match v.source {
        Source::Setting(id) => Some(id),
        Source::Default(_) => None,
    };
    problem(Code::E006, key, setting, Level::Error, true, message)
}

/// Did a setting of this key already get a fatal E002/E004? Then the start-up
/// checks that use it are skipped (php-fpm would have stopped earlier).
fn problems_for(problems: &[Problem], name: &str) -> bool {
    problems
        .iter()
        .any(|p| p.fatal && p.key.eq_ignore_ascii_case(name))
}

/// Check one pool: E002/E004 per setting, then php-fpm's start-up checks (E006),
/// and the pool's effective values.
pub fn check_pool(
    name: &str,
    settings: &[Setting<'_>],
    global: &GlobalConfig,
    opts: &Options,
) -> (PoolConfig, Vec<Problem>) {
    let mut problems: Vec<Problem> = settings
        .iter()
        .flat_map(|s| check_setting(s, Some(name)))
        .collect();
    let cfg = pool_config(name, settings);
    let mut e6 = Vec::new();
    let bad = |k: &str| problems_for(&problems, k);
    let alert = |key: &str, setting: Option<usize>, msg: String| {
        problem(Code::E006, key, setting, Level::Alert, true, msg)
    };
    let error = |key: &str, setting: Option<usize>, msg: String| {
        problem(Code::E006, key, setting, Level::Error, true, msg)
    };
    let id = |v: &Option<Val<i64>>| match v.as_ref().map(|v| &v.source) {
        Some(Source::Setting(id)) => Some(*id),
        _ => None,
    };
    let pre = format!("[pool {name}]");

    if opts.root_without_allow_flag && cfg.user.is_none() {
        e6.push(alert(
            "user",
            None,
            format!("{pre} user has not been defined"),
        ));
    }
    if cfg.listen.as_ref().is_none_or(|v| v.value.is_empty()) {
        let setting = cfg.listen.as_ref().and_then(|v| match v.source {
            Source::Setting(id) => Some(id),
            Source::Default(_) => None,
        });
        e6.push(alert(
            "listen",
            setting,
            format!("{pre} no listen address have been defined!"),
        ));
    }
    if !bad("process.priority") {
        if let Some(v) = int_of(settings, "process.priority") {
            if v.value != 64 && !(-19..=20).contains(&v.value) {
                e6.push(error(
                    "process.priority",
                    id(&Some(v)),
                    format!("{pre} process.priority must be included into [-19,20]"),
                ));
            }
        }
    }
    let pm = cfg.pm.as_ref().map(|v| v.value);
    if pm.is_none() && !bad("pm") {
        e6.push(alert(
            "pm",
            None,
            format!("{pre} the process manager is missing (static, dynamic or ondemand)"),
        ));
    }
    let max_children = cfg.max_children.as_ref().map_or(0, |v| v.value);
    let children_ok = max_children >= 1;
    if !children_ok && !bad("pm.max_children") {
        e6.push(alert(
            "pm.max_children",
            id(&cfg.max_children),
            format!("{pre} pm.max_children must be a positive value"),
        ));
    }
    let spare_keys = [
        "pm.start_servers",
        "pm.min_spare_servers",
        "pm.max_spare_servers",
        "pm.max_spawn_rate",
        "pm.max_children",
    ];
    if pm == Some(PmMode::Dynamic) && children_ok && !spare_keys.iter().any(|k| bad(k)) {
        let min = int_of(settings, "pm.min_spare_servers");
        let max = int_of(settings, "pm.max_spare_servers");
        let start = int_of(settings, "pm.start_servers");
        let (minv, maxv) = (
            min.as_ref().map_or(0, |v| v.value),
            max.as_ref().map_or(0, |v| v.value),
        );
        let startv = start.as_ref().map_or(0, |v| v.value);
        if minv <= 0 {
            e6.push(alert(
                "pm.min_spare_servers",
                id(&min),
                format!("{pre} pm.min_spare_servers({minv}) must be a positive value"),
            ));
        } else if maxv <= 0 {
            e6.push(alert(
                "pm.max_spare_servers",
                id(&max),
                format!("{pre} pm.max_spare_servers({maxv}) must be a positive value"),
            ));
        } else if minv > max_children || maxv > max_children {
            let (key, sid) = if minv > max_children {
                ("pm.min_spare_servers", id(&min))
            } else {
                ("pm.max_spare_servers", id(&max))
            };
            e6.push(alert(
                key,
                sid,
                format!(
                    "{pre} pm.min_spare_servers({minv}) and pm.max_spare_servers({maxv}) cannot be greater than pm.max_children({max_children})"
                ),
            ));
        } else if maxv < minv {
            e6.push(alert(
                "pm.max_spare_servers",
                id(&max),
                format!(
                    "{pre} pm.max_spare_servers({maxv}) must not be less than pm.min_spare_servers({minv})"
                ),
            ));
        } else if startv > 0 && (startv < minv || startv > maxv) {
            e6.push(alert(
                "pm.start_servers",
                id(&start),
                format!(
                    "{pre} pm.start_servers({startv}) must not be less than pm.min_spare_servers({minv}) and not greater than pm.max_spare_servers({maxv})"
                ),
            ));
        } else if cfg.max_spawn_rate.value < 1 {
            let sid = match cfg.max_spawn_rate.source {
                Source::Setting(id) => Some(id),
                Source::Default(_) => None,
            };
            e6.push(alert(
                "pm.max_spawn_rate",
                sid,
                format!("{pre} pm.max_spawn_rate must be a positive value"),
            ));
        }
    } else if pm == Some(PmMode::OnDemand) && children_ok {
        let edge = global.events_mechanism.as_ref().is_none_or(|m| {
            m.value.is_empty()
                || m.value.eq_ignore_ascii_case("epoll")
                || m.value.eq_ignore_ascii_case("kqueue")
        });
        if !edge {
            e6.push(alert(
                "pm",
                cfg.pm.as_ref().and_then(|v| match v.source {
                    Source::Setting(id) => Some(id),
                    Source::Default(_) => None,
                }),
                format!(
                    "{pre} ondemand process manager can ONLY be used when events.mechanism is either epoll (Linux) or kqueue (*BSD)."
                ),
            ));
        } else if cfg.process_idle_timeout.value < 1 && !bad("pm.process_idle_timeout") {
            let v = &cfg.process_idle_timeout;
            e6.push(alert(
                "pm.process_idle_timeout",
                match v.source {
                    Source::Setting(id) => Some(id),
                    Source::Default(_) => None,
                },
                format!(
                    "{pre} pm.process_idle_timeout({}s) must be greater than 0s",
                    v.value
                ),
            ));
        } else if cfg.listen_backlog.value < -1 {
            let v = &cfg.listen_backlog;
            e6.push(problem(
                Code::E004,
                "listen.backlog",
                match v.source {
                    Source::Setting(id) => Some(id),
                    Source::Default(_) => None,
                },
                Level::Warning,
                false,
                format!(
                    "{pre} listen.backlog({}) was too low for the ondemand process manager. I updated it for you to -1.",
                    v.value
                ),
            ));
        }
    }
    let status_listen = last(settings, "pm.status_listen").is_some();
    for (key, what, v) in [
        ("pm.status_path", "status", &cfg.status_path),
        ("ping.path", "ping", &cfg.ping_path),
    ] {
        let Some(v) = v.as_ref().filter(|v| !v.value.is_empty()) else {
            continue;
        };
        let sid = match v.source {
            Source::Setting(id) => Some(id),
            Source::Default(_) => None,
        };
        let path = &v.value;
        if !path.starts_with('/') {
            e6.push(error(
                key,
                sid,
                format!("{pre} the {what} path '{path}' must start with a '/'"),
            ));
        } else if path.len() < 2 && !(what == "status" && status_listen) {
            e6.push(error(
                key,
                sid,
                format!("{pre} the {what} path '{path}' is not long enough"),
            ));
        } else if !path
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/-_.~".contains(&c))
        {
            e6.push(error(
                key,
                sid,
                format!(
                    "{pre} the {what} path '{path}' must contain only the following characters '[alphanum]/_-.~'"
                ),
            ));
        } else if what == "ping" {
            if let Some(r) = last(settings, "ping.response").filter(|r| r.value.is_empty()) {
                e6.push(error(
                    "ping.response",
                    Some(r.id),
                    format!("{pre} the ping response page '' is not long enough"),
                ));
            }
        }
    }
    let slowlog_set = cfg.slowlog.as_ref().is_some_and(|v| !v.value.is_empty());
    let slow = &cfg.request_slowlog_timeout;
    if slow.value != 0 && !bad("request_slowlog_timeout") {
        let sid = match slow.source {
            Source::Setting(id) => Some(id),
            Source::Default(_) => None,
        };
        let term = cfg.request_terminate_timeout.value;
        if !slowlog_set {
            e6.push(error(
                "request_slowlog_timeout",
                sid,
                format!("{pre} 'slowlog' must be specified for use with 'request_slowlog_timeout'"),
            ));
        } else if term != 0 && slow.value > term && !bad("request_terminate_timeout") {
            e6.push(error(
                "request_slowlog_timeout",
                sid,
                format!(
                    "{pre} 'request_slowlog_timeout' ({}) can't be greater than 'request_terminate_timeout' ({term})",
                    slow.value
                ),
            ));
        }
    }
    if !bad("request_slowlog_trace_depth") {
        if let Some(v) = int_of(settings, "request_slowlog_trace_depth").filter(|v| v.value != 0) {
            let sid = id(&Some(v.clone()));
            if !slowlog_set {
                e6.push(error(
                    "request_slowlog_trace_depth",
                    sid,
                    format!(
                        "{pre} 'slowlog' must be specified for use with 'request_slowlog_trace_depth'"
                    ),
                ));
            } else if v.value <= 0 {
                e6.push(error(
                    "request_slowlog_trace_depth",
                    sid,
                    format!(
                        "{pre} 'request_slowlog_trace_depth' ({}) must be a positive value",
                        v.value
                    ),
                ));
            }
        }
    }
    problems.append(&mut e6);
    (cfg, problems)
}

/// A pool's effective values (php-fpm's defaults where unset).
pub fn pool_config(name: &str, settings: &[Setting<'_>]) -> PoolConfig {
    let pm = last(settings, "pm").and_then(|s| {
        parse_pm(s.value).map(|m| Val {
            value: m,
            source: Source::Setting(s.id),
        })
    });
    let min = int_of(settings, "pm.min_spare_servers");
    let max = int_of(settings, "pm.max_spare_servers");
    let mut start = int_of(settings, "pm.start_servers");
    if pm.as_ref().map(|v| v.value) == Some(PmMode::Dynamic)
        && start.as_ref().map_or(0, |v| v.value) <= 0
    {
        let (a, b) = (
            min.as_ref().map_or(0, |v| v.value),
            max.as_ref().map_or(0, |v| v.value),
        );
        start = Some(Val {
            value: a + (b - a) / 2,
            source: Source::Default(
                "php-fpm: pm.min_spare_servers + (pm.max_spare_servers - pm.min_spare_servers) / 2",
            ),
        });
    }
    let mut php_values = Vec::new();
    let mut env = Vec::new();
    for s in settings {
        let Some(index) = s.index.filter(|i| !i.is_empty()) else {
            continue;
        };
        match s.name {
            "php_value" | "php_admin_value" => php_values.push(PhpSetting {
                name: index.to_string(),
                value: expand_pool(s.value, name),
                admin: s.name == "php_admin_value",
                setting: s.id,
            }),
            "php_flag" | "php_admin_flag" => {
                if let Ok(b) = fpm_bool(s.value) {
                    php_values.push(PhpSetting {
                        name: index.to_string(),
                        value: if b { "1" } else { "0" }.to_string(),
                        admin: s.name == "php_admin_flag",
                        setting: s.id,
                    });
                }
            }
            "env" if !s.value.is_empty() => {
                env.push((index.to_string(), expand_pool(s.value, name), s.id));
            }
            _ => {}
        }
    }
    PoolConfig {
        name: name.to_string(),
        pm,
        max_children: int_of(settings, "pm.max_children"),
        start_servers: start,
        min_spare_servers: min,
        max_spare_servers: max,
        max_spawn_rate: or_default(int_of(settings, "pm.max_spawn_rate"), 32, "php-fpm default"),
        process_idle_timeout: or_default(
            time_of(settings, "pm.process_idle_timeout"),
            10,
            "php-fpm default (10s)",
        ),
        max_requests: or_default(
            int_of(settings, "pm.max_requests"),
            0,
            "php-fpm default (0: never recycle)",
        ),
        request_terminate_timeout: or_default(
            time_of(settings, "request_terminate_timeout"),
            0,
            "php-fpm default (0: no limit)",
        ),
        request_slowlog_timeout: or_default(
            time_of(settings, "request_slowlog_timeout"),
            0,
            "php-fpm default (0: off)",
        ),
        listen: string_of(settings, "listen", name),
        listen_backlog: or_default(
            int_of(settings, "listen.backlog"),
            -1,
            "php-fpm default (-1: the kernel's maximum)",
        ),
        user: string_of(settings, "user", name).filter(|v| !v.value.is_empty()),
        group: string_of(settings, "group", name).filter(|v| !v.value.is_empty()),
        slowlog: string_of(settings, "slowlog", name),
        status_path: string_of(settings, "pm.status_path", name),
        ping_path: string_of(settings, "ping.path", name),
        clear_env: bool_of(settings, "clear_env", true, "php-fpm default (yes)"),
        catch_workers_output: bool_of(
            settings,
            "catch_workers_output",
            false,
            "php-fpm default (no)",
        ),
        php_values,
        env,
    }
}

/// Checks across pools: none at all, or two sharing a listen address.
pub fn check_pools(pools: &[PoolConfig]) -> Vec<Problem> {
    let mut out = Vec::new();
    if pools.is_empty() {
        out.push(problem(
            Code::E006,
            "",
            None,
            Level::Error,
            true,
            "No pool defined. at least one pool section must be specified in config file",
        ));
    }
    // First pool to claim each address (a map keeps this linear for hosts with
    // thousands of pools).
    let mut first: foldhash::HashMap<&str, &PoolConfig> = foldhash::HashMap::default();
    for b in pools {
        let Some(lb) = &b.listen else { continue };
        if lb.value.is_empty() {
            continue;
        }
        match first.get(lb.value.as_str()) {
            Some(a) => out.push(problem(
                Code::E006,
                "listen",
                match lb.source {
                    Source::Setting(id) => Some(id),
                    Source::Default(_) => None,
                },
                Level::Error,
                true,
                format!(
                    "[pool {}] unable to set listen address as it's already used in another pool '{}'",
                    b.name, a.name
                ),
            )),
            None => {
                first.insert(lb.value.as_str(), b);
            }
        }
    }
    out
}

/// One parsed php-fpm file split the way php-fpm reads it: entries before any
/// section and in `[global]` go to the global settings; every other section is a
/// pool (a later `[www]` — any case — adds to the same pool). Setting ids are the
/// entries' positions in `file.entries()`.
#[derive(Default)]
pub struct FpmSections<'f> {
    pub global: Vec<Setting<'f>>,
    /// (pool name as first written, settings) in the order pools appear.
    pub pools: Vec<(String, Vec<Setting<'f>>)>,
    /// Lower-cased pool name → index in `pools` (php-fpm compares names without case).
    by_name: foldhash::HashMap<String, usize>,
}

impl<'f> FpmSections<'f> {
    /// Add one file's entries, as php-fpm reads them: `[global]` and entries before
    /// any section go to the globals, a pool's sections merge by name wherever they
    /// are, and a section header with no entries still creates a pool. `id` numbers
    /// each entry (the caller keeps its place); `None` leaves the entry out.
    pub fn add_file(
        &mut self,
        file: &'f ini::File,
        mut id: impl FnMut(&ini::Entry) -> Option<usize>,
    ) {
        for (section, e) in file.entries() {
            let Some(id) = id(e) else { continue };
            let s = Setting {
                name: &e.key.name,
                index: e.key.index.as_deref(),
                value: &e.value.text,
                id,
            };
            match section {
                None => self.global.push(s),
                Some(sec) if sec.name.eq_ignore_ascii_case("global") => self.global.push(s),
                Some(sec) => {
                    let i = self.pool_index(&sec.name);
                    self.pools[i].1.push(s);
                }
            }
        }
        for l in &file.lines {
            if let ini::LineKind::Section(sec) = &l.kind {
                if !sec.name.eq_ignore_ascii_case("global") {
                    self.pool_index(&sec.name);
                }
            }
        }
    }

    fn pool_index(&mut self, name: &str) -> usize {
        let key = name.to_ascii_lowercase();
        if let Some(i) = self.by_name.get(&key) {
            return *i;
        }
        self.by_name.insert(key, self.pools.len());
        self.pools.push((name.to_string(), Vec::new()));
        self.pools.len() - 1
    }
}

pub fn sections(file: &ini::File) -> FpmSections<'_> {
    let mut out = FpmSections::default();
    let mut next = 0;
    out.add_file(file, |_| {
        next += 1;
        Some(next - 1)
    });
    out
}

/// The outcome of [`check_all`].
#[derive(Debug, Clone)]
pub struct FpmCheck {
    pub global: GlobalConfig,
    pub pools: Vec<PoolConfig>,
    /// Every problem, with the pool it is in (`None`: `[global]` or the whole file).
    pub problems: Vec<(Option<String>, Problem)>,
}

impl FpmCheck {
    /// Would php-fpm refuse to start?
    pub fn fatal(&self) -> bool {
        self.problems.iter().any(|(_, p)| p.fatal)
    }
}

/// Everything php-fpm checks for one complete configuration (all included files
/// already merged into `sections`).
pub fn check_all(sections: &FpmSections<'_>, opts: &Options) -> FpmCheck {
    let (global, gp) = check_global(&sections.global);
    let mut problems: Vec<(Option<String>, Problem)> = gp.into_iter().map(|p| (None, p)).collect();
    let mut pools = Vec::new();
    for (name, settings) in &sections.pools {
        let (cfg, pp) = check_pool(name, settings, &global, opts);
        problems.extend(pp.into_iter().map(|p| (Some(name.clone()), p)));
        pools.push(cfg);
    }
    for p in check_pools(&pools) {
        let pool = p
            .message
            .strip_prefix("[pool ")
            .and_then(|r| r.split(']').next())
            .map(str::to_string);
        problems.push((pool, p));
    }
    FpmCheck {
        global,
        pools,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(lines: &[(&'static str, &'static str)]) -> (PoolConfig, Vec<Problem>) {
        let settings: Vec<Setting<'_>> = lines
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Setting::new(k, v, i))
            .collect();
        check_pool(
            "www",
            &settings,
            &GlobalConfig::default(),
            &Options {
                root_without_allow_flag: false,
            },
        )
    }

    fn fatal(lines: &[(&'static str, &'static str)]) -> Vec<(Code, String, String)> {
        pool(lines)
            .1
            .into_iter()
            .filter(|p| p.fatal)
            .map(|p| (p.code, p.key, p.message))
            .collect()
    }

    const BASE: &[(&str, &str)] = &[
        ("listen", "/run/www.sock"),
        ("pm", "static"),
        ("pm.max_children", "5"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v = BASE.to_vec();
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn valid_pool_has_no_problems() {
        assert_eq!(fatal(BASE), vec![]);
    }

    #[test]
    fn unknown_keys_are_e002() {
        let p = fatal(&with(&[("pm.start_server", "2")]));
        assert_eq!(
            p,
            vec![(
                Code::E002,
                "pm.start_server".into(),
                "unknown entry 'pm.start_server'".into()
            )]
        );
        let p = fatal(&with(&[("x[y]", "1")]));
        assert_eq!(p[0].2, "unknown directive 'x'");
        let p = fatal(&with(&[("php_value", "1")]));
        assert_eq!(p[0].2, "unknown entry 'php_value'");
        assert_eq!(
            fatal(&with(&[("PM", "static"), ("Listen.Backlog", "5")])),
            vec![]
        );
    }

    #[test]
    fn bad_values_are_e004() {
        let p = fatal(&with(&[("pm", "dyn")]));
        assert_eq!(
            p,
            vec![(
                Code::E004,
                "pm".into(),
                "unable to parse value for entry 'pm': invalid process manager (static, dynamic or ondemand)".into()
            )]
        );
        let p = fatal(&with(&[("request_terminate_timeout", "30x")]));
        assert!(p[0].2.ends_with("unknown suffix used in time value"));
        let p = fatal(&with(&[("pm.max_children", "5x")]));
        assert!(p[0].2.contains("is not a valid number"));
        let p = fatal(&with(&[("php_flag[display_errors]", "maybe")]));
        assert_eq!(
            p[0].2,
            "error while parsing 'php_flag[display_errors]' : invalid boolean value"
        );
        let p = fatal(&with(&[("php_value[]", "1")]));
        assert_eq!(p[0].2, "You must provide a key for field 'php_value'");
        let p = fatal(&with(&[("env[X]", "")]));
        assert_eq!(p[0].2, "empty value");
        // Accepted by php-fpm but misread: a warning, not fatal.
        let (_, all) = pool(&with(&[("request_terminate_timeout", "1.5")]));
        assert!(all.iter().any(|p| !p.fatal && p.code == Code::E004));
    }

    #[test]
    fn start_up_checks_are_e006() {
        let p = fatal(&[("pm", "static")]);
        assert_eq!(p[0].2, "[pool www] no listen address have been defined!");
        assert_eq!(
            p[1].2,
            "[pool www] pm.max_children must be a positive value"
        );
        let p = fatal(&[("listen", "x"), ("pm.max_children", "5")]);
        assert_eq!(
            p[0].2,
            "[pool www] the process manager is missing (static, dynamic or ondemand)"
        );
        let dynamic = |extra: &[(&'static str, &'static str)]| {
            let mut v = vec![("listen", "x"), ("pm", "dynamic"), ("pm.max_children", "5")];
            v.extend_from_slice(extra);
            fatal(&v)
        };
        assert_eq!(
            dynamic(&[])[0].2,
            "[pool www] pm.min_spare_servers(0) must be a positive value"
        );
        assert_eq!(
            dynamic(&[("pm.min_spare_servers", "1"), ("pm.max_spare_servers", "9")])[0].2,
            "[pool www] pm.min_spare_servers(1) and pm.max_spare_servers(9) cannot be greater than pm.max_children(5)"
        );
        assert_eq!(
            dynamic(&[("pm.min_spare_servers", "3"), ("pm.max_spare_servers", "2")])[0].2,
            "[pool www] pm.max_spare_servers(2) must not be less than pm.min_spare_servers(3)"
        );
        let p = dynamic(&[
            ("pm.min_spare_servers", "1"),
            ("pm.max_spare_servers", "2"),
            ("pm.start_servers", "3"),
        ]);
        assert_eq!(p[0].1, "pm.start_servers");
        assert_eq!(
            p[0].2,
            "[pool www] pm.start_servers(3) must not be less than pm.min_spare_servers(1) and not greater than pm.max_spare_servers(2)"
        );
        let p = fatal(&[
            ("listen", "x"),
            ("pm", "ondemand"),
            ("pm.max_children", "5"),
            ("pm.process_idle_timeout", "0"),
        ]);
        assert_eq!(
            p[0].2,
            "[pool www] pm.process_idle_timeout(0s) must be greater than 0s"
        );
    }

    #[test]
    fn dynamic_start_servers_default() {
        let (cfg, p) = pool(&[
            ("listen", "x"),
            ("pm", "dynamic"),
            ("pm.max_children", "10"),
            ("pm.min_spare_servers", "2"),
            ("pm.max_spare_servers", "7"),
        ]);
        assert!(p.is_empty(), "{p:?}");
        let start = cfg.start_servers.expect("computed");
        assert_eq!(start.value, 4);
        assert!(matches!(start.source, Source::Default(_)));
    }

    #[test]
    fn pool_name_is_substituted() {
        let (cfg, _) = pool(&[
            ("listen", "/run/php/$pool.sock"),
            ("php_admin_value[error_log]", "/var/log/$pool.log"),
        ]);
        assert_eq!(
            cfg.listen.map(|v| v.value).as_deref(),
            Some("/run/php/www.sock")
        );
        assert_eq!(cfg.php_values[0].value, "/var/log/www.log");
        let (_, p) = check_global(&[Setting::new("pid", "/run/$pool.pid", 0)]);
        assert!(p[0]
            .message
            .contains("Can't use '$pool' when the pool is not defined"));
    }

    #[test]
    fn global_checks() {
        let (_, p) = check_global(&[Setting::new("log_limit", "100", 0)]);
        assert_eq!(p[0].message, "log_limit must be greater than 512");
        let (_, p) = check_global(&[Setting::new("php_value[x]", "1", 0)]);
        assert_eq!(p[0].message, "Array are not allowed in the global section");
        let (_, p) = check_global(&[Setting::new("pm", "static", 0)]);
        assert_eq!(p[0].code, Code::E002);
        assert!(check_global(&[Setting::new("Pid", "/x.pid", 0)])
            .1
            .is_empty());
        assert_eq!(check_pools(&[]).len(), 1);
    }

    #[test]
    fn user_is_needed_as_root() {
        let settings: Vec<_> = BASE
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Setting::new(k, v, i))
            .collect();
        let (_, p) = check_pool(
            "www",
            &settings,
            &GlobalConfig::default(),
            &Options::default(),
        );
        assert_eq!(p[0].message, "[pool www] user has not been defined");
    }
}
