//! php-fpm and PHP as they run: instances (one per php-fpm.conf), pools with their
//! settings, and each pool's effective PHP configuration
//! (built-in default → php.ini → scan dir in order → pool php_value/php_admin_value).

use super::{Origin, Sourced};
use crate::finding::Place;
use crate::source::FileId;
use crate::syntax::ini;
use std::collections::BTreeMap;

pub type PoolId = usize;

/// How an effective PHP setting was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Default,
    PhpIni,
    ScanDir,
    PhpValue,
    PhpFlag,
    PhpAdminValue,
    PhpAdminFlag,
    /// `fastcgi_param PHP_VALUE` sent by an nginx location.
    NginxPhpValue,
    /// `fastcgi_param PHP_ADMIN_VALUE` sent by an nginx location.
    NginxPhpAdminValue,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Default => "PHP default",
            Via::PhpIni => "php.ini",
            Via::ScanDir => "scan dir",
            Via::PhpValue => "php_value",
            Via::PhpFlag => "php_flag",
            Via::PhpAdminValue => "php_admin_value",
            Via::PhpAdminFlag => "php_admin_flag",
            Via::NginxPhpValue => "fastcgi_param PHP_VALUE",
            Via::NginxPhpAdminValue => "fastcgi_param PHP_ADMIN_VALUE",
        }
    }
    /// Sent by nginx with the request (`fastcgi_param PHP_VALUE`/`PHP_ADMIN_VALUE`).
    pub fn from_nginx(self) -> bool {
        matches!(self, Via::NginxPhpValue | Via::NginxPhpAdminValue)
    }
    /// Set with `php_admin_*` (pool) or `PHP_ADMIN_VALUE` (nginx): `ini_set()` cannot
    /// change it.
    pub fn locked(self) -> bool {
        matches!(
            self,
            Via::PhpAdminValue | Via::PhpAdminFlag | Via::NginxPhpAdminValue
        )
    }
}

/// One effective PHP ini setting.
#[derive(Debug, Clone, PartialEq)]
pub struct PhpSetting {
    /// The string PHP stores (what `ini_get` returns).
    pub value: Sourced<String>,
    /// The text as written (for messages and fixes).
    pub raw: String,
    pub via: Via,
}

impl PhpSetting {
    pub fn text(&self) -> &str {
        &self.value.value
    }
    /// PHP's boolean reading of the value (`On`, `1`, `yes`, `true`).
    pub fn is_on(&self) -> bool {
        crate::syntax::units::ini_bool(&self.value.value)
    }
}

/// PHP's built-in defaults (main.c and extensions) for the keys rules read, as the
/// FPM SAPI sees them.
pub fn php_default(key: &str) -> Option<&'static str> {
    Some(match key {
        "memory_limit" => "128M",
        "max_execution_time" => "30",
        "max_input_time" => "-1",
        "max_input_vars" => "1000",
        "post_max_size" => "8M",
        "upload_max_filesize" => "2M",
        "display_errors" => "1",
        "display_startup_errors" => "1",
        "log_errors" => "1",
        "error_log" => "",
        "expose_php" => "1",
        "allow_url_fopen" => "1",
        "allow_url_include" => "0",
        "cgi.fix_pathinfo" => "1",
        "fastcgi.logging" => "1",
        "default_socket_timeout" => "60",
        "file_uploads" => "1",
        "opcache.enable" => "1",
        "opcache.memory_consumption" => "128",
        "opcache.max_accelerated_files" => "10000",
        "opcache.interned_strings_buffer" => "8",
        _ => return None,
    })
}

/// php-fpm's defaults for pool keys rules read (fpm_conf.c).
pub fn fpm_default(key: &str) -> Option<&'static str> {
    Some(match key {
        "request_terminate_timeout" => "0",
        "request_slowlog_timeout" => "0",
        "pm.max_requests" => "0",
        "pm.process_idle_timeout" => "10s",
        "listen.backlog" => "-1",
        "listen.mode" => "0660",
        "catch_workers_output" => "no",
        "clear_env" => "yes",
        _ => return None,
    })
}

/// The php.ini side of an instance, shared by its pools.
#[derive(Debug, Clone, Default)]
pub struct EffectiveIni {
    pub settings: BTreeMap<String, PhpSetting>,
    /// `extension=` / `zend_extension=` lines, in order.
    pub extensions: Vec<Sourced<String>>,
    /// Keys whose effective value comes from an environment variable that was not
    /// given (`memory_limit = ${PHP_MEMORY_LIMIT}`): unknown, so rules skip them.
    pub unknown: BTreeMap<String, Place>,
}

impl EffectiveIni {
    pub fn opcache_loaded(&self) -> bool {
        self.extensions.iter().any(|e| e.value.contains("opcache"))
    }
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub fpm: usize,
    /// The `[name]` header that opens it (first one when the section is repeated).
    pub place: Place,
    pub file: FileId,
    /// Every plain pool key with its last value (`listen`, `pm`, `pm.max_children`…).
    pub settings: BTreeMap<String, Sourced<String>>,
    /// Every occurrence of every key in order (for duplicate detection and E002/E004).
    pub entries: Vec<(String, Sourced<String>)>,
    /// The PHP settings of this pool's php-fpm (php.ini → scan dir), shared by all its
    /// pools: a host with 2,000 pools holds one copy, not 2,000.
    pub php_ini: std::sync::Arc<BTreeMap<String, PhpSetting>>,
    /// The pool's own php_value/php_admin_value results, over `php_ini`; [`Pool::php`]
    /// reads the two as one effective table.
    pub php: BTreeMap<String, PhpSetting>,
    /// Pool-level php_value/php_admin_value entries in order (with place and kind).
    pub overrides: Vec<(String, PhpSetting)>,
    /// The php.ini of this pool's php-fpm was found and read.
    pub ini_known: bool,
    /// Pool keys whose value comes from an environment variable that was not given
    /// (`pm = ${PHP_FPM_PM}`), with the line: unknown, never a default.
    pub unknown: BTreeMap<String, Place>,
    /// PHP settings (php.ini chain or the pool's php_value) that are unknown the same way.
    pub php_unknown: BTreeMap<String, Place>,
}

impl Pool {
    /// A pool key's effective value, or php-fpm's default.
    pub fn setting(&self, key: &str) -> Option<Sourced<String>> {
        if self.unknown.contains_key(key) {
            return None;
        }
        self.settings.get(key).cloned().or_else(|| {
            fpm_default(key).map(|v| Sourced::default(v.to_string(), "php-fpm default"))
        })
    }
    /// Every PHP setting this pool sets (php.ini chain, then its own overrides), by key.
    pub fn php_settings(&self) -> impl Iterator<Item = (&String, &PhpSetting)> {
        self.php_ini
            .iter()
            .filter(|(k, _)| !self.php.contains_key(*k))
            .chain(self.php.iter())
            .collect::<BTreeMap<_, _>>()
            .into_iter()
    }
    /// An effective PHP setting, or PHP's default — but only when the php.ini this
    /// pool's php-fpm reads was found: without it, a default is a guess (a real host
    /// nearly always has a php.ini), and rules must not report guesses.
    pub fn php(&self, key: &str) -> Option<PhpSetting> {
        if self.php_unknown.contains_key(key) {
            return None;
        }
        self.php
            .get(key)
            .or_else(|| self.php_ini.get(key))
            .cloned()
            .or_else(|| {
                if !self.ini_known {
                    return None;
                }
                php_default(key).map(|v| PhpSetting {
                    value: Sourced::default(v.to_string(), "PHP default"),
                    raw: v.to_string(),
                    via: Via::Default,
                })
            })
    }
    /// The `listen` address as written.
    pub fn listen(&self) -> Option<&Sourced<String>> {
        self.settings.get("listen")
    }
}

/// One php-fpm instance: a php-fpm.conf (or loose pool files) and the php.ini it reads.
#[derive(Debug, Clone)]
pub struct Fpm {
    /// php-fpm.conf; `None` for pool files found without one.
    pub main: Option<FileId>,
    /// PHP version guessed from the path (`/etc/php/8.2/fpm` → 8.2).
    pub version: Option<String>,
    pub files: Vec<FileId>,
    /// `[global]` settings.
    pub global: BTreeMap<String, Sourced<String>>,
    pub php_ini: Option<FileId>,
    /// conf.d files in the order PHP reads them.
    pub scan_dir: Vec<FileId>,
    pub ini: EffectiveIni,
    pub pools: Vec<PoolId>,
    /// What php-fpm itself would say about these files (E002/E004/E006).
    pub problems: Vec<FpmProblem>,
}

/// A problem php-fpm's own checks find (unknown key, invalid value, start-up check).
#[derive(Debug, Clone)]
pub struct FpmProblem {
    pub code: &'static str,
    pub key: String,
    /// The setting at fault; `None` when a required key is missing.
    pub place: Option<Place>,
    pub pool: Option<String>,
    pub message: String,
    /// php-fpm refuses to start (else: it starts but misreads the value).
    pub fatal: bool,
}

/// Run php-fpm's checks over all files of one instance, in include order.
pub fn validate(
    files: &[(FileId, &ini::File)],
    section_place: impl Fn(&str) -> Option<Place>,
) -> Vec<FpmProblem> {
    use super::fpm_validate::{check_all, FpmSections, Options};
    let mut places: Vec<Place> = Vec::new();
    let mut sections = FpmSections::default();
    // Sections (lower-cased pool names; "" for [global]) holding a value from an
    // environment variable nobody gave: php-fpm's start-up checks over them cannot be
    // known, so their E006s are not reported (E002/E004 of known lines still are).
    let mut unknown_sections: std::collections::BTreeSet<String> = Default::default();
    for (_, syntax) in files {
        let mut current = String::new();
        for line in &syntax.lines {
            match &line.kind {
                ini::LineKind::Section(sec) => {
                    current = if sec.name.eq_ignore_ascii_case("global") {
                        String::new()
                    } else {
                        sec.name.to_ascii_lowercase()
                    };
                    if !sec.env.is_empty() {
                        unknown_sections.insert(current.clone());
                    }
                }
                ini::LineKind::Entry(e) if from_unknown_env(&e.value) => {
                    unknown_sections.insert(current.clone());
                }
                _ => {}
            }
        }
    }
    for (file, syntax) in files {
        sections.add_file(syntax, |e| {
            if e.key.name == "include" || from_unknown_env(&e.value) {
                return None;
            }
            places.push(Place::new(*file, e.span));
            Some(places.len() - 1)
        });
    }
    let check = check_all(
        &sections,
        &Options {
            root_without_allow_flag: !master_unprivileged(&sections),
        },
    );
    check
        .problems
        .into_iter()
        .filter(|(pool, p)| {
            let section = pool.as_deref().unwrap_or("").to_ascii_lowercase();
            !(p.code == super::fpm_validate::Code::E006 && unknown_sections.contains(&section))
        })
        .map(|(pool, p)| FpmProblem {
            code: p.code.as_str(),
            place: p
                .setting
                .and_then(|id| places.get(id).copied())
                .or_else(|| pool.as_deref().and_then(&section_place)),
            key: p.key,
            pool,
            message: p.message,
            fatal: p.fatal,
        })
        .collect()
}

/// Pool keys whose relative paths php-fpm makes absolute against the pool's `prefix`
/// (or, without one, the install prefix): `fpm_evaluate_full_path` in fpm_conf.c.
/// `listen` only when it is a unix socket (not an address or a port).
const PREFIXED_KEYS: &[&str] = &["listen", "slowlog", "access.log", "chroot", "chdir"];

/// Make a pool's relative paths absolute as php-fpm does: against its `prefix` (itself
/// made absolute against the install prefix), else against `install_prefix` (`/usr` for
/// distribution packages, `/usr/local` in the Docker image). WordOps writes
/// `prefix = /var/run/php` and `listen = php82-fpm.sock`. `chroot` may start with
/// `$prefix`. The origin stays the line that was written.
pub fn apply_prefix(pool: &mut Pool, install_prefix: &str) {
    let join = |base: &str, rel: &str| format!("{}/{}", base.trim_end_matches('/'), rel);
    let prefix = match pool
        .settings
        .get("prefix")
        .map(|p| p.value.trim().to_string())
    {
        Some(p) if p.starts_with('/') => p,
        Some(p) if !p.is_empty() && !p.contains("${") => join(install_prefix, &p),
        _ => install_prefix.to_string(),
    };
    for key in PREFIXED_KEYS {
        let Some(v) = pool.settings.get_mut(*key) else {
            continue;
        };
        let text = v.value.trim();
        if text.is_empty() || text.starts_with('/') || text.contains("${") {
            continue;
        }
        if *key == "listen"
            && !matches!(
                super::link::parse_listen(text),
                super::link::Listen::Unix(_)
            )
        {
            continue;
        }
        v.value = if *key == "chroot" && text.starts_with("$prefix") {
            let rest = text.trim_start_matches("$prefix");
            if rest.is_empty() {
                prefix.clone()
            } else {
                join(&prefix, rest.trim_start_matches('/'))
            }
        } else {
            join(&prefix, text)
        };
    }
}

/// `[global]` `error_log` and `pid` relative to php-fpm's local state dir (`/var` for
/// an install prefix of `/usr`, `PREFIX/var` otherwise).
pub fn apply_global_prefix(global: &mut BTreeMap<String, Sourced<String>>, install_prefix: &str) {
    let statedir = if install_prefix == "/usr" {
        "/var".to_string()
    } else {
        format!("{}/var", install_prefix.trim_end_matches('/'))
    };
    for key in ["error_log", "pid"] {
        if let Some(v) = global.get_mut(key) {
            let t = v.value.trim();
            if !t.is_empty()
                && !t.starts_with('/')
                && !t.contains("${")
                && t != "syslog"
                && !t.starts_with("syslog:")
            {
                v.value = format!("{statedir}/{t}");
            }
        }
    }
}

/// Does this configuration look written for a master that does not run as root?
/// php-fpm requires `user` in every pool only when the master runs as root without
/// `--allow-to-run-as-root`. When *no* pool sets `user`, the files were written for a
/// master started as an unprivileged user (a container's `USER`, DDEV, a developer's
/// own php-fpm), which ignores `user`; when some pools set it and others do not, the
/// master is taken to run as root (the distribution service) and the others fail.
pub fn master_unprivileged(sections: &super::fpm_validate::FpmSections<'_>) -> bool {
    !sections.pools.is_empty()
        && sections
            .pools
            .iter()
            .all(|(_, settings)| settings.iter().all(|s| s.name != "user"))
}

/// Apply one ini file's entries on top of `ini` (sections `[PATH=…]`/`[HOST=…]` only
/// apply to some requests and are skipped).
pub fn apply_ini_file(ini: &mut EffectiveIni, file: FileId, syntax: &ini::File, via: Via) {
    // PHP stops reading a file at its first syntax error: only what came before applies.
    for (section, entry) in syntax.applied_entries() {
        if let Some(s) = section {
            let up = s.name.to_ascii_uppercase();
            if up.starts_with("PATH=") || up.starts_with("HOST=") {
                continue;
            }
        }
        let key = entry.key.name.clone();
        let place = Place::new(file, entry.span);
        if key == "extension" || key == "zend_extension" {
            ini.extensions
                .push(Sourced::at(entry.value.text.clone(), place));
            continue;
        }
        if entry.key.index.is_some() {
            continue;
        }
        if from_unknown_env(&entry.value) {
            ini.settings.remove(&key);
            ini.unknown.insert(key, place);
            continue;
        }
        ini.unknown.remove(&key);
        ini.settings.insert(
            key,
            PhpSetting {
                value: Sourced::at(entry.value.text.clone(), place),
                raw: entry.value.raw.clone(),
                via,
            },
        );
    }
}

/// A value that depends on an environment variable nobody gave (`${NAME}`): discovery
/// substitutes the known ones, so what is left is unknown.
pub fn from_unknown_env(v: &ini::Value) -> bool {
    !v.env.is_empty() && v.kind == ini::ValueKind::Computed
}

/// What a pool key means for its PHP settings, if it is a php_* override.
pub fn override_via(key: &str) -> Option<Via> {
    Some(match key {
        "php_value" => Via::PhpValue,
        "php_flag" => Via::PhpFlag,
        "php_admin_value" => Via::PhpAdminValue,
        "php_admin_flag" => Via::PhpAdminFlag,
        _ => return None,
    })
}

/// Pool sections gathered from the files of one instance, before effective values.
#[derive(Debug, Default)]
pub struct PoolSections {
    pub global: BTreeMap<String, Sourced<String>>,
    pub pools: Vec<Pool>,
}

/// Collect `[global]` and pool sections of the given files (in include order). Repeated
/// sections with the same name are one pool, later keys winning, as in php-fpm.
pub fn collect_sections(files: &[(FileId, &ini::File)], fpm_index: usize) -> PoolSections {
    let mut out = PoolSections::default();
    let mut by_name: foldhash::HashMap<String, usize> = Default::default();
    for (file, syntax) in files {
        let mut current: Option<usize> = None; // index into out.pools; None = global
        for line in &syntax.lines {
            match &line.kind {
                ini::LineKind::Section(s) => {
                    // `[${PHP_FPM_POOL_NAME}]` with the variable not given: shown as written.
                    let name = if s.env.is_empty() {
                        s.name.trim().to_string()
                    } else {
                        s.raw.trim().to_string()
                    };
                    if name.eq_ignore_ascii_case("global") {
                        current = None;
                    } else if let Some(i) = by_name.get(&name.to_ascii_lowercase()) {
                        current = Some(*i);
                    } else {
                        by_name.insert(name.to_ascii_lowercase(), out.pools.len());
                        out.pools.push(Pool {
                            name,
                            fpm: fpm_index,
                            place: Place::new(*file, s.span),
                            file: *file,
                            settings: BTreeMap::new(),
                            entries: Vec::new(),
                            php_ini: Default::default(),
                            php: BTreeMap::new(),
                            overrides: Vec::new(),
                            ini_known: false,
                            unknown: BTreeMap::new(),
                            php_unknown: BTreeMap::new(),
                        });
                        current = Some(out.pools.len() - 1);
                    }
                }
                ini::LineKind::Entry(e) => {
                    let place = Place::new(*file, e.span);
                    let key = e.key.name.clone();
                    if key == "include" {
                        continue;
                    }
                    match current {
                        None => {
                            out.global
                                .insert(key, Sourced::at(e.value.text.clone(), place));
                        }
                        Some(i) => {
                            let pool = &mut out.pools[i];
                            let value = e.value.text.replace("$pool", &pool.name);
                            let unknown = from_unknown_env(&e.value);
                            if let (Some(_), Some(idx), true) =
                                (override_via(&key), &e.key.index, unknown)
                            {
                                pool.php_unknown.insert(idx.clone(), place);
                                continue;
                            }
                            if let (Some(via), Some(idx)) = (override_via(&key), &e.key.index) {
                                pool.php_unknown.remove(idx);
                                pool.overrides.push((
                                    idx.clone(),
                                    PhpSetting {
                                        value: Sourced::at(value, place),
                                        raw: e.value.raw.clone(),
                                        via,
                                    },
                                ));
                                continue;
                            }
                            let full = match &e.key.index {
                                Some(idx) => format!("{key}[{idx}]"),
                                None => key,
                            };
                            if unknown {
                                pool.settings.remove(&full);
                                pool.unknown.insert(full, place);
                                continue;
                            }
                            pool.unknown.remove(&full);
                            pool.entries
                                .push((full.clone(), Sourced::at(value.clone(), place)));
                            pool.settings.insert(full, Sourced::at(value, place));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// What a pool's overrides make of the instance's ini: the keys they set, as they end
/// (admin values win over non-admin ones whatever their order, as `php_value` cannot
/// change a value php-fpm locked). The rest of the pool's PHP settings are the ini's
/// ([`Pool::php_ini`]).
pub fn effective_php(
    ini: &EffectiveIni,
    overrides: &[(String, PhpSetting)],
) -> BTreeMap<String, PhpSetting> {
    let mut php: BTreeMap<String, PhpSetting> = BTreeMap::new();
    for (key, s) in overrides {
        if let Some(prev) = php.get(key).or_else(|| ini.settings.get(key)) {
            if prev.via.locked() && !s.via.locked() {
                continue;
            }
        }
        let mut s = s.clone();
        if matches!(s.via, Via::PhpFlag | Via::PhpAdminFlag) {
            let on = crate::syntax::units::ini_bool(&s.value.value);
            s.value.value = if on { "1".into() } else { "".into() };
        }
        php.insert(key.clone(), s);
    }
    php
}

/// Version from a path: `/etc/php/8.2/fpm/php-fpm.conf` (Debian), `/opt/plesk/php/8.2/etc`
/// → 8.2; `/etc/php82/` (Alpine), `/etc/opt/remi/php82/` (Remi),
/// `/opt/cpanel/ea-php82/root/etc` (cPanel) → 8.2.
pub fn version_from_path(path: &std::path::Path) -> Option<String> {
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let dotted = comps.windows(2).find_map(|w| {
        let v = &w[1];
        let looks = v.split('.').count() == 2
            && v.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        (w[0] == "php" && looks).then(|| v.clone())
    });
    dotted.or_else(|| {
        comps.iter().find_map(|c| {
            let digits = c.strip_prefix("ea-php").or_else(|| c.strip_prefix("php"))?;
            let ok = (2..=3).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
            ok.then(|| format!("{}.{}", &digits[..1], &digits[1..]))
        })
    })
}

impl Origin {
    pub fn is_default(&self) -> bool {
        matches!(self, Origin::Default(_))
    }
}
