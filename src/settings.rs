//! Run settings: profile, CDN, host facts and thresholds, from the command line and
//! `wpstack.toml` (read with toml_edit; unknown keys are an error naming the key).

use crate::finding::Severity;
use crate::syntax::units;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    #[default]
    Wordpress,
    Woocommerce,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "wordpress" => Some(Profile::Wordpress),
            "woocommerce" => Some(Profile::Woocommerce),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Wordpress => "wordpress",
            Profile::Woocommerce => "woocommerce",
        }
    }
}

/// What sits in front of nginx, and how long it waits for the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cdn {
    #[default]
    None,
    Cloudflare,
    Alb,
    Gcp,
    AzureFrontdoor,
    Fastly,
    Seconds(u64),
}

impl Cdn {
    pub fn parse(s: &str) -> Option<Cdn> {
        Some(match s {
            "none" => Cdn::None,
            "cloudflare" => Cdn::Cloudflare,
            "alb" => Cdn::Alb,
            "gcp" => Cdn::Gcp,
            "azure-frontdoor" => Cdn::AzureFrontdoor,
            "fastly" => Cdn::Fastly,
            n => Cdn::Seconds(n.trim_end_matches('s').parse().ok().filter(|v| *v > 0)?),
        })
    }
    /// Seconds the CDN waits for the origin, and what it answers when it gives up.
    pub fn origin_timeout(self) -> Option<(u64, &'static str)> {
        Some(match self {
            Cdn::None => return None,
            Cdn::Cloudflare => (100, "Cloudflare answers 524 after 100 s"),
            Cdn::Alb => (60, "an AWS ALB closes the idle connection after 60 s (504)"),
            Cdn::Gcp => (
                30,
                "Google Cloud Load Balancing's backend timeout is 30 s (502)",
            ),
            Cdn::AzureFrontdoor => (30, "Azure Front Door gives up after 30 s (503)"),
            Cdn::Fastly => (15, "Fastly's first-byte timeout is 15 s (503)"),
            Cdn::Seconds(s) => (s, "the CDN/load balancer gives up (as configured)"),
        })
    }
    pub fn name(self) -> String {
        match self {
            Cdn::None => "none".into(),
            Cdn::Cloudflare => "cloudflare".into(),
            Cdn::Alb => "alb".into(),
            Cdn::Gcp => "gcp".into(),
            Cdn::AzureFrontdoor => "azure-frontdoor".into(),
            Cdn::Fastly => "fastly".into(),
            Cdn::Seconds(s) => format!("{s}s"),
        }
    }
}

/// Facts about the host the stack runs on. `None` = not given (rules measure this host
/// or say they assumed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub ram: Option<u64>,
    pub cpus: Option<usize>,
    pub worker_mem: Option<u64>,
    pub reserve: Option<u64>,
    pub db_mem: Option<u64>,
}

/// Thresholds the catalog marks *(opt)*; defaults depend on the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// M301: memory_limit below this is low (128M; 256M for WooCommerce).
    pub memory_limit_min: u64,
    /// C201/C202: estimated worker memory when not measured (64M; 128M for WooCommerce).
    pub worker_mem_estimate: u64,
    /// C201: minimum OS reserve (512 MiB) and share of RAM (10 %).
    pub reserve_min: u64,
    pub reserve_percent: u64,
    /// C202: flag when max_children uses less than this % of what the budget allows.
    pub starved_percent: u64,
    /// P402: fastcgi_buffer_size below this is small (16k).
    pub fastcgi_buffer_min: u64,
    /// P403: max_input_vars below this is low (3000).
    pub max_input_vars_min: u64,
    /// U004: listen.backlog below this is small (128).
    pub backlog_min: u64,
    /// M303 (MB and count).
    pub opcache_memory_min: u64,
    pub opcache_files_min: u64,
    /// `tune` hysteresis: a pool's pm.max_children is only raised when the new value is
    /// more than this % above the current one (15), only lowered when more than
    /// `tune_down_percent` % below (30): runs from cron do not flap.
    pub tune_up_percent: u64,
    pub tune_down_percent: u64,
    /// B801: database connections kept for wp-cron, WP-CLI, backups and the admin's own
    /// client beside the PHP workers (10).
    pub db_connection_reserve: u64,
}

impl Thresholds {
    pub fn for_profile(p: Profile) -> Self {
        let woo = p == Profile::Woocommerce;
        Thresholds {
            memory_limit_min: if woo { 256 << 20 } else { 128 << 20 },
            worker_mem_estimate: if woo { 128 << 20 } else { 64 << 20 },
            reserve_min: 512 << 20,
            reserve_percent: 10,
            starved_percent: 25,
            fastcgi_buffer_min: 16 << 10,
            max_input_vars_min: 3000,
            backlog_min: 128,
            opcache_memory_min: 128,
            opcache_files_min: 10000,
            tune_up_percent: 15,
            tune_down_percent: 30,
            db_connection_reserve: 10,
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self::for_profile(Profile::Wordpress)
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Profile,
    pub cdn: Cdn,
    pub host: HostFacts,
    pub thresholds: Thresholds,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// (path glob relative to PATH, codes/names/prefixes).
    pub per_path_ignores: Vec<(String, Vec<String>)>,
    /// `[env]` of wpstack.toml: values for `${NAME}` (the command line's `--env` wins).
    pub env: std::collections::BTreeMap<String, String>,
    pub fail_on: Severity,
    /// Measure this host when host facts are not given (off in tests and doc examples).
    pub measure_host: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            profile: Profile::Wordpress,
            cdn: Cdn::None,
            host: HostFacts::default(),
            thresholds: Thresholds::default(),
            select: Vec::new(),
            ignore: Vec::new(),
            per_path_ignores: Vec::new(),
            env: Default::default(),
            fail_on: Severity::Warning,
            measure_host: false,
        }
    }
}

/// Settings read from a wpstack.toml, each `None` when the file does not say.
#[derive(Debug, Clone, Default)]
pub struct FileSettings {
    pub path: PathBuf,
    pub profile: Option<Profile>,
    pub cdn: Option<Cdn>,
    pub fail_on: Option<Severity>,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub host: HostFacts,
    /// (key, value) threshold overrides, applied after the profile's defaults.
    pub thresholds: Vec<(String, u64)>,
    pub per_path_ignores: Vec<(String, Vec<String>)>,
    /// `backup-dir` (or `backup_dir`): where `--fix` / `tune --apply` keep backups,
    /// relative to the wpstack.toml's directory.
    pub backup_dir: Option<PathBuf>,
    /// `[env]`: values for `${NAME}` in php-fpm and php.ini files.
    pub env: Vec<(String, String)>,
}

/// Find wpstack.toml in `start` or its ancestors.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(start).ok()?;
    let dir = if abs.is_dir() {
        abs
    } else {
        abs.parent()?.to_path_buf()
    };
    dir.ancestors()
        .map(|d| d.join("wpstack.toml"))
        .find(|p| p.is_file())
}

const THRESHOLD_KEYS: &[&str] = &[
    "memory-limit-min",
    "worker-mem-estimate",
    "reserve-min",
    "reserve-percent",
    "starved-percent",
    "fastcgi-buffer-min",
    "max-input-vars-min",
    "backlog-min",
    "db-connection-reserve",
    "opcache-memory-min",
    "opcache-files-min",
    "tune-up-percent",
    "tune-down-percent",
];

/// Parse `4G`, `512M`, `96M`, `1073741824` as bytes.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let q = units::ini_quantity(s.trim());
    if q.warning.is_some() || q.value < 0 {
        return None;
    }
    Some(q.value as u64)
}

pub fn read_config(path: &Path) -> Result<FileSettings, String> {
    // Read like every config file: regular files only, no blocking open, bounded (a
    // wpstack.toml found above a checked tree may be anyone's).
    let bytes = crate::source::read_config(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: is not UTF-8 text (TOML must be)", path.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {}", path.display(), e))?;
    let at = |key: &str| format!("{}: {}", path.display(), key);
    let mut fs = FileSettings {
        path: path.to_path_buf(),
        ..Default::default()
    };
    let str_of = |item: &toml_edit::Item, key: &str| -> Result<String, String> {
        item.as_str()
            .map(str::to_string)
            .or_else(|| item.as_integer().map(|i| i.to_string()))
            .ok_or_else(|| format!("{}: expected a string", at(key)))
    };
    let list_of = |item: &toml_edit::Item, key: &str| -> Result<Vec<String>, String> {
        item.as_array()
            .ok_or_else(|| format!("{}: expected an array of strings", at(key)))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{}: expected an array of strings", at(key)))
            })
            .collect()
    };
    let bytes_of = |item: &toml_edit::Item, key: &str| -> Result<u64, String> {
        if let Some(i) = item.as_integer() {
            return u64::try_from(i).map_err(|_| format!("{}: must not be negative", at(key)));
        }
        let s = str_of(item, key)?;
        parse_bytes(&s).ok_or_else(|| format!("{}: `{s}` is not a size (like 512M or 4G)", at(key)))
    };
    for (key, item) in doc.iter() {
        match key {
            "profile" => {
                let s = str_of(item, key)?;
                fs.profile = Some(Profile::parse(&s).ok_or_else(|| {
                    format!("{}: unknown profile `{s}` (wordpress, woocommerce)", at(key))
                })?);
            }
            "cdn" => {
                let s = str_of(item, key)?;
                fs.cdn = Some(Cdn::parse(&s).ok_or_else(|| {
                    format!("{}: unknown cdn `{s}` (none, cloudflare, alb, gcp, azure-frontdoor, fastly or SECONDS)", at(key))
                })?);
            }
            "fail-on" => {
                let s = str_of(item, key)?;
                fs.fail_on = Some(Severity::parse(&s).ok_or_else(|| {
                    format!("{}: `{s}` is not error, warning or info", at(key))
                })?);
            }
            "select" => fs.select = list_of(item, key)?,
            "ignore" => fs.ignore = list_of(item, key)?,
            "host" => {
                let t = item
                    .as_table_like()
                    .ok_or_else(|| format!("{}: expected a table", at(key)))?;
                for (k, v) in t.iter() {
                    let full = format!("host.{k}");
                    match k {
                        "ram" => fs.host.ram = Some(bytes_of(v, &full)?),
                        "worker-mem" => fs.host.worker_mem = Some(bytes_of(v, &full)?),
                        "reserve" => fs.host.reserve = Some(bytes_of(v, &full)?),
                        "db-mem" => fs.host.db_mem = Some(bytes_of(v, &full)?),
                        "cpus" => {
                            fs.host.cpus = Some(
                                v.as_integer()
                                    .and_then(|i| usize::try_from(i).ok())
                                    .filter(|i| *i > 0)
                                    .ok_or_else(|| format!("{}: expected a positive integer", at(&full)))?,
                            )
                        }
                        _ => return Err(format!("{}: unknown key `{full}`", path.display())),
                    }
                }
            }
            "thresholds" => {
                let t = item
                    .as_table_like()
                    .ok_or_else(|| format!("{}: expected a table", at(key)))?;
                for (k, v) in t.iter() {
                    let full = format!("thresholds.{k}");
                    if !THRESHOLD_KEYS.contains(&k) {
                        return Err(format!(
                            "{}: unknown key `{full}` (known: {})",
                            path.display(),
                            THRESHOLD_KEYS.join(", ")
                        ));
                    }
                    fs.thresholds.push((k.to_string(), bytes_of(v, &full)?));
                }
            }
            "per-path-ignores" => {
                let t = item
                    .as_table_like()
                    .ok_or_else(|| format!("{}: expected a table", at(key)))?;
                for (k, v) in t.iter() {
                    fs.per_path_ignores
                        .push((k.to_string(), list_of(v, &format!("per-path-ignores.{k}"))?));
                }
            }
            "backup-dir" | "backup_dir" => {
                let s = str_of(item, key)?;
                let base = path.parent().unwrap_or(Path::new("."));
                fs.backup_dir = Some(base.join(s));
            }
            "env" => {
                let t = item
                    .as_table_like()
                    .ok_or_else(|| format!("{}: expected a table", at(key)))?;
                for (k, v) in t.iter() {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_integer().map(|i| i.to_string()))
                        .ok_or_else(|| format!("{}: expected a string", at(&format!("env.{k}"))))?;
                    fs.env.push((k.to_string(), v));
                }
            }
            other => {
                return Err(format!(
                    "{}: unknown key `{other}` (known: profile, cdn, fail-on, select, ignore, host, thresholds, per-path-ignores, backup-dir, env)",
                    path.display()
                ))
            }
        }
    }
    Ok(fs)
}

impl Thresholds {
    pub fn set(&mut self, key: &str, v: u64) {
        match key {
            "memory-limit-min" => self.memory_limit_min = v,
            "worker-mem-estimate" => self.worker_mem_estimate = v,
            "reserve-min" => self.reserve_min = v,
            "reserve-percent" => self.reserve_percent = v,
            "starved-percent" => self.starved_percent = v,
            "fastcgi-buffer-min" => self.fastcgi_buffer_min = v,
            "max-input-vars-min" => self.max_input_vars_min = v,
            "backlog-min" => self.backlog_min = v,
            "opcache-memory-min" => self.opcache_memory_min = v,
            "opcache-files-min" => self.opcache_files_min = v,
            "tune-up-percent" => self.tune_up_percent = v,
            "tune-down-percent" => self.tune_down_percent = v.min(100),
            "db-connection-reserve" => self.db_connection_reserve = v,
            _ => {}
        }
    }
}

#[cfg(test)]
mod backup_dir_tests {
    use super::*;

    /// wpstack.toml is read like a config file: a FIFO is refused (not waited on), and
    /// bytes that are not text are an error, not a panic.
    #[test]
    fn settings_files_are_read_with_the_config_bounds() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("wpstack.toml");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_config(&fifo).unwrap_err();
        assert!(e.contains("FIFO"), "{e}");
        let bin = d.path().join("bin.toml");
        std::fs::write(&bin, b"x = \"\xff\"\n").unwrap();
        assert!(read_config(&bin).unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn backup_dir_is_read_relative_to_the_toml() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("wpstack.toml");
        std::fs::write(&p, "backup-dir = \"bk\"\n").expect("write");
        assert_eq!(
            read_config(&p).expect("read").backup_dir,
            Some(d.path().join("bk"))
        );
        std::fs::write(&p, "backup_dir = \"/var/backups/x\"\n").expect("write");
        assert_eq!(
            read_config(&p).expect("read").backup_dir,
            Some(PathBuf::from("/var/backups/x"))
        );
    }
}
