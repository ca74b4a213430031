//! PHP settings nginx sends with each request: `fastcgi_param PHP_VALUE "k=v\nk2=v2"`
//! and `fastcgi_param PHP_ADMIN_VALUE "…"`.
//!
//! php-fpm (sapi/fpm/fpm/fpm_main.c, `init_request_info`) reads the two FastCGI params,
//! appends a newline and parses each with `zend_parse_ini_string` — the php.ini
//! grammar, so entries are separated by newlines (nginx turns `\n` inside a quoted
//! string into one), `;` starts a comment, `On`/`Off` mean `1`/`""`. Only plain
//! `key=value` entries are applied (`[section]` and `key[]=` are refused: "only classic
//! entries are allowed"), through `fpm_php_apply_defines_ex`, PHP_VALUE first and then
//! PHP_ADMIN_VALUE. The FastCGI params are a hash: when nginx sends the same name twice,
//! the last one is the one php-fpm sees.
//!
//! Precedence, as php-fpm 8.2 behaves (checked with the real programs — the lab
//! scenario for S610 in tests/lab.rs and the runs described in the README):
//! php.ini → scan dir → pool `php_value`/`php_flag` → pool `php_admin_value` → nginx
//! `PHP_VALUE` → nginx `PHP_ADMIN_VALUE`. The request that sends a value runs with it,
//! even over a pool `php_admin_value` (`fpm_php_zend_ini_alter_master` checks no
//! permission). `PHP_ADMIN_VALUE` locks the key against `ini_set()`.
//! The values are written into the worker's master ini table, not the per-request one:
//! they stay for the worker's later requests, whatever site those come from (S610).

use super::nginx_model::{Location, Nginx, ScopeId};
use super::php_model::{PhpSetting, PoolId, Via};
use super::{Sourced, Stack};
use crate::finding::Place;
use crate::source::Span;
use crate::syntax::ini;

/// The FastCGI params php-fpm reads PHP settings from, in the order it applies them.
pub const PARAMS: &[(&str, Via)] = &[
    ("PHP_VALUE", Via::NginxPhpValue),
    ("PHP_ADMIN_VALUE", Via::NginxPhpAdminValue),
];

/// One `key=value` an nginx location sends in PHP_VALUE / PHP_ADMIN_VALUE.
#[derive(Debug, Clone, PartialEq)]
pub struct NginxPhpValue {
    pub key: String,
    pub setting: PhpSetting,
    /// The `fastcgi_param` directive.
    pub directive: Place,
    /// The value holds an nginx variable (`open_basedir=$document_root`): its text is
    /// only known per request.
    pub dynamic: bool,
}

impl Stack {
    /// The PHP settings the effective `fastcgi_param PHP_VALUE`/`PHP_ADMIN_VALUE` of a
    /// scope send, in the order php-fpm applies them (a later entry for the same key
    /// wins). Each setting's origin is the key inside the nginx string.
    pub fn nginx_php_values(&self, n: &Nginx, scope: ScopeId) -> Vec<NginxPhpValue> {
        let params = n.effective_all(scope, "fastcgi_param");
        let mut out = Vec::new();
        for (name, via) in PARAMS {
            // The last of a name is what php-fpm's param hash keeps.
            let Some(d) = params.iter().rev().find(|d| d.arg(0) == Some(name)) else {
                continue;
            };
            let Some(text) = d.arg(1) else { continue };
            let arg = d.arg_place(1);
            let raw_word = self
                .sources
                .get(arg.file)
                .bytes
                .get(arg.span.start..arg.span.end)
                .unwrap_or_default();
            let mut src = text.as_bytes().to_vec();
            src.push(b'\n');
            let parsed = ini::parse(&src);
            for (section, e) in parsed.applied_entries() {
                if section.is_some() || e.key.index.is_some() || e.key.name.is_empty() {
                    continue;
                }
                let key = e.key.name.clone();
                // Point at the key inside the quoted string when it can be found there.
                let place = find(raw_word, key.as_bytes())
                    .map(|o| {
                        Place::new(
                            arg.file,
                            Span {
                                start: arg.span.start + o,
                                end: arg.span.start + o + key.len(),
                            },
                        )
                    })
                    .unwrap_or(arg);
                out.push(NginxPhpValue {
                    dynamic: e.value.raw.contains('$'),
                    setting: PhpSetting {
                        value: Sourced::at(e.value.text.clone(), place),
                        raw: e.value.raw.clone(),
                        via: *via,
                    },
                    key,
                    directive: d.place,
                });
            }
        }
        out
    }

    /// The effective PHP setting `key` for requests that go through `loc` to pool
    /// `pid`: what nginx sends there, else the pool's own value. `None` when unknown.
    pub fn php_at(&self, n: &Nginx, loc: &Location, pid: PoolId, key: &str) -> Option<PhpSetting> {
        let pool = self.pools.get(pid)?;
        let own = pool.php(key);
        let sent = self
            .nginx_php_values(n, loc.scope)
            .into_iter()
            .rev()
            .find(|v| v.key == key && !v.dynamic);
        match sent {
            Some(v) => Some(v.setting),
            None => own,
        }
    }

    /// Is this pool setting a `php_admin_*` one? Whether it comes back for the worker's
    /// next request after nginx sent another value varied between runs of php-fpm 8.2
    /// (back with opcache and the same script, leaked in the lab): S610 does not report
    /// such keys, so that it reports no leak it could not defend.
    pub fn pool_locks(&self, _pid: PoolId, own: &PhpSetting) -> bool {
        own.via.locked() && !own.via.from_nginx()
    }

    /// Every value `key` may have in a worker of pool `pid`: the pool's own, and each
    /// value an nginx location reaching the pool sends (its requests run with it, and
    /// it stays in the worker for later ones). The pool's own comes first; the others
    /// once each.
    pub fn php_variants(&self, pid: PoolId, key: &str) -> Vec<PhpSetting> {
        let Some(pool) = self.pools.get(pid) else {
            return Vec::new();
        };
        let own = pool.php(key);
        let mut out: Vec<PhpSetting> = own.iter().cloned().collect();
        if pool.php_unknown.contains_key(key) {
            return out;
        }
        let sent = self.php_values_by_pool.get_or_init(|| self.sent_by_pool());
        for v in sent.get(pid).into_iter().flatten() {
            if v.key == key && !v.dynamic && !out.contains(&v.setting) {
                out.push(v.setting.clone());
            }
        }
        out
    }

    /// For each pool, every value nginx sends it from any location, each once: one
    /// walk over the locations (a walk per pool and key was quadratic on big hosts).
    fn sent_by_pool(&self) -> Vec<Vec<NginxPhpValue>> {
        let mut by_pool: Vec<Vec<NginxPhpValue>> = vec![Vec::new(); self.pools.len()];
        for (n, _, loc) in self.php_locations() {
            if loc.pools.is_empty() {
                continue;
            }
            let sent = self.nginx_php_values(n, loc.scope);
            if sent.is_empty() {
                continue;
            }
            for &pid in &loc.pools {
                let Some(list) = by_pool.get_mut(pid) else {
                    continue;
                };
                for v in &sent {
                    if !list.contains(v) {
                        list.push(v.clone());
                    }
                }
            }
        }
        by_pool
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
