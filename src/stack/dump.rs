//! `wpstack dump`: the effective model as JSON. With `show_origin`, every value is
//! `{"value": …, "origin": "file:line"}` (or the default it came from), like
//! `git config --show-origin`.

use super::nginx_model::{Location, Nginx, ARRAY_DIRECTIVES};
use super::php_model::php_default;
use super::wp_model::wp_default;
use super::{Origin, Sourced, Stack};
use crate::report::redact::{is_secret_ini_key, is_secret_name, Redactor, MASK};
use crate::syntax::php::PhpValue;
use serde_json::{json, Map, Value};

/// `env[DB_PASSWORD]`, `php_admin_value[mysqli.default_pw]`, `mysqli.default_pw`.
fn is_secret_key(key: &str) -> bool {
    match key.split_once('[') {
        Some((name, rest)) => is_secret_ini_key(name, Some(rest.trim_end_matches(']'))),
        None => is_secret_ini_key(key, None),
    }
}

/// Directives shown for each PHP location (effective, with inheritance).
const LOCATION_KEYS: &[&str] = &[
    "root",
    "try_files",
    "fastcgi_index",
    "fastcgi_split_path_info",
    "fastcgi_read_timeout",
    "fastcgi_send_timeout",
    "fastcgi_connect_timeout",
    "fastcgi_buffer_size",
    "fastcgi_buffers",
    "fastcgi_busy_buffers_size",
    "fastcgi_temp_file_write_size",
    "client_max_body_size",
    "fastcgi_param",
];

/// PHP keys always shown for a pool (with their defaults when unset).
const PHP_KEYS: &[&str] = &[
    "memory_limit",
    "max_execution_time",
    "max_input_time",
    "max_input_vars",
    "post_max_size",
    "upload_max_filesize",
    "display_errors",
    "log_errors",
    "error_log",
    "expose_php",
    "allow_url_include",
    "cgi.fix_pathinfo",
    "default_socket_timeout",
    "opcache.enable",
    "opcache.memory_consumption",
    "opcache.max_accelerated_files",
];

const POOL_KEYS: &[&str] = &[
    "request_terminate_timeout",
    "request_slowlog_timeout",
    "pm.max_requests",
    "listen.backlog",
    "listen.mode",
];

struct D<'a> {
    stack: &'a Stack,
    show_origin: bool,
}

impl D<'_> {
    fn origin(&self, o: &Origin) -> Value {
        Value::String(self.stack.origin_text(o))
    }
    fn val(&self, v: Value, o: &Origin) -> Value {
        if self.show_origin {
            json!({"value": v, "origin": self.origin(o)})
        } else {
            v
        }
    }
    fn s(&self, s: &Sourced<String>) -> Value {
        self.val(Value::String(s.value.clone()), &s.origin)
    }
    /// A setting's value, masked when its key carries a secret (`report::redact`).
    fn keyed(&self, key: &str, s: &Sourced<String>) -> Value {
        if is_secret_key(key) {
            self.val(json!(MASK), &s.origin)
        } else {
            self.s(s)
        }
    }
    fn place(&self, p: crate::finding::Place) -> Value {
        Value::String(self.stack.display(p))
    }
}

/// php.ini directives PHP registers as booleans: `php -i` and phpinfo() show them as
/// `On`/`Off`, while ini_get() gives "1"/"" — a dump that printed `""` for
/// `display_errors = Off` read as "unset" to everyone who knows PHP.
const PHP_BOOLEANS: &[&str] = &[
    "allow_url_fopen",
    "allow_url_include",
    "auto_detect_line_endings",
    "cgi.fix_pathinfo",
    "display_errors",
    "display_startup_errors",
    "enable_dl",
    "expose_php",
    "fastcgi.logging",
    "file_uploads",
    "html_errors",
    "ignore_repeated_errors",
    "ignore_repeated_source",
    "ignore_user_abort",
    "implicit_flush",
    "log_errors",
    "mail.add_x_header",
    "opcache.enable",
    "opcache.enable_cli",
    "opcache.save_comments",
    "opcache.validate_timestamps",
    "register_argc_argv",
    "report_memleaks",
    "session.cookie_httponly",
    "session.cookie_secure",
    "session.use_cookies",
    "session.use_only_cookies",
    "session.use_strict_mode",
    "short_open_tag",
    "zend.exception_ignore_args",
    "zlib.output_compression",
];

/// A php setting as PHP shows it: booleans as `On`/`Off`.
fn php_shown(key: &str, s: &Sourced<String>) -> Sourced<String> {
    let value = if PHP_BOOLEANS.contains(&key) {
        match s.value.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "off" | "no" | "false" | "none" => "Off".to_string(),
            "1" | "on" | "yes" | "true" => "On".to_string(),
            _ => s.value.clone(),
        }
    } else {
        s.value.clone()
    };
    Sourced {
        value,
        origin: s.origin.clone(),
    }
}

pub fn dump(stack: &Stack, show_origin: bool) -> Value {
    let d = D { stack, show_origin };
    let files: Vec<Value> = stack
        .files
        .iter()
        .map(|f| {
            json!({
                "path": stack.sources.get(f.id).display,
                "kind": f.kind.as_str(),
                "errors": f.syntax.errors().len(),
            })
        })
        .collect();
    let nginx: Vec<Value> = stack.nginx.iter().map(|n| dump_nginx(&d, n)).collect();
    let fpm: Vec<Value> = stack
        .fpm
        .iter()
        .map(|f| {
            let pools: Vec<Value> = f.pools.iter().map(|id| dump_pool(&d, *id)).collect();
            let global: Map<String, Value> =
                f.global.iter().map(|(k, v)| (k.clone(), d.keyed(k, v))).collect();
            json!({
                "main": f.main.map(|m| stack.sources.get(m).display.clone()),
                "version": f.version,
                "php_ini": f.php_ini.map(|m| stack.sources.get(m).display.clone()),
                "scan_dir": f.scan_dir.iter().map(|m| stack.sources.get(*m).display.clone()).collect::<Vec<_>>(),
                "global": global,
                "pools": pools,
            })
        })
        .collect();
    let wp: Vec<Value> = stack
        .wp
        .iter()
        .map(|w| {
            let mut consts = Map::new();
            for (name, c) in &w.constants {
                let v = if super::wp_model::is_secret(name) || is_secret_name(name) {
                    json!("********")
                } else {
                    php_json(&c.value.value)
                };
                let mut v = d.val(v, &c.value.origin);
                if c.conditional {
                    v = json!({"value": v, "conditional": true});
                }
                consts.insert(name.clone(), v);
            }
            for name in [
                "WP_MEMORY_LIMIT",
                "WP_MAX_MEMORY_LIMIT",
                "WP_DEBUG",
                "WP_DEBUG_DISPLAY",
                "WP_DEBUG_LOG",
                "WP_ENVIRONMENT_TYPE",
                "DISALLOW_FILE_EDIT",
            ] {
                if !consts.contains_key(name) {
                    if let Some(v) = wp_default(name) {
                        consts.insert(
                            name.to_string(),
                            d.val(php_json(&v), &Origin::Default("WordPress default")),
                        );
                    }
                }
            }
            let sites: Vec<Value> = w
                .sites
                .iter()
                .filter_map(|(ni, si)| stack.nginx.get(*ni)?.sites.get(*si))
                .map(|s| json!(s.name()))
                .collect();
            json!({
                "file": stack.sources.get(w.file).display,
                "sites": sites,
                "constants": consts,
            })
        })
        .collect();
    let databases: Vec<Value> = stack.databases.iter().map(|db| dump_db(&d, db)).collect();
    let problems: Vec<Value> = stack
        .problems
        .iter()
        .map(|p| {
            json!({
                "kind": p.kind,
                "at": p.place.map(|pl| stack.display(pl)),
                "message": p.message,
            })
        })
        .collect();
    let php_locations = stack.php_locations().count();
    let mut out = json!({
        "version": 1,
        "counts": {
            "files": stack.files.len(),
            "sites": stack.nginx.iter().map(|n| n.sites.len()).sum::<usize>(),
            "php_locations": php_locations,
            "pools": stack.pools.len(),
            "wp_configs": stack.wp.len(),
        },
        "files": files,
        "nginx": nginx,
        "fpm": fpm,
        "wordpress": wp,
        "problems": problems,
        "notes": stack.notes,
    });
    // The database layer appears when the tree configures one (my.cnf).
    if !databases.is_empty() {
        out["counts"]["databases"] = json!(databases.len());
        out["databases"] = Value::Array(databases);
    }
    // What the keys above did not catch (a secret quoted in a note or a problem).
    Redactor::new(&stack.sources).json(&mut out);
    out
}

/// Options always shown for a database (with MariaDB's defaults when unset).
const DB_KEYS: &[&str] = &[
    "socket",
    "port",
    "bind-address",
    "max-connections",
    "wait-timeout",
    "innodb-buffer-pool-size",
];

fn dump_db(d: &D, db: &super::Database) -> Value {
    let stack = d.stack;
    let mut effective = Map::new();
    for k in DB_KEYS {
        if let Some(v) = db.get(k) {
            effective.insert((*k).to_string(), d.s(&v));
        }
    }
    // Every option set in a server group, the winning line of each.
    for o in &db.options {
        let (name, _) = crate::syntax::mycnf::normalize_name(&o.written);
        let v = if crate::report::redact::is_secret_mycnf_key(&o.written) {
            json!(MASK)
        } else {
            match &o.value {
                Some(v) => json!(v),
                None => json!(true),
            }
        };
        effective.insert(name, d.val(v, &Origin::At(o.place)));
    }
    let m = db.memory();
    json!({
        "main": stack.sources.get(db.main).display,
        "files": db.files.iter().map(|f| stack.sources.get(*f).display.clone()).collect::<Vec<_>>(),
        "options": effective,
        "memory": {
            "global_buffers": m.global,
            "per_connection": m.per_connection,
            "max_connections": m.max_connections,
            "worst_case": m.total(),
        },
        "wordpress": db.wp.iter().map(|w| {
            let wp = &stack.wp[*w];
            json!({
                "file": stack.sources.get(wp.file).display,
                "db_host": wp.get("DB_HOST").map(|c| d.val(php_json(&c.value.value), &c.value.origin)),
            })
        }).collect::<Vec<_>>(),
        "pools": db.pools.iter().map(|p| stack.pools[*p].name.clone()).collect::<Vec<_>>(),
    })
}

fn php_json(v: &PhpValue) -> Value {
    match v {
        PhpValue::Str(s) => json!(s),
        PhpValue::Int(i) => json!(i),
        PhpValue::Float(f) => json!(f),
        PhpValue::Bool(b) => json!(b),
        PhpValue::Null => Value::Null,
        PhpValue::Computed(src) => json!({ "computed": src }),
    }
}

fn dump_nginx(d: &D, n: &Nginx) -> Value {
    let user = n.user();
    let sites: Vec<Value> = n
        .sites
        .iter()
        .map(|s| {
            let locs: Vec<Value> = s
                .locations
                .iter()
                .filter(|l| l.fastcgi_pass.is_some())
                .map(|l| dump_location(d, n, l))
                .collect();
            let proxies: Vec<Value> = s
                .locations
                .iter()
                .filter(|l| l.proxy.is_some())
                .map(|l| dump_proxy(d, n, l))
                .collect();
            let mut site = json!({
                "server_name": s.server_names,
                "listen": s.listen,
                "at": d.place(s.place),
                "root": s.root.as_ref().map(|r| d.s(r)),
                "locations": s.locations.len(),
                "php_locations": locs,
            });
            if !proxies.is_empty() {
                site["proxy_locations"] = Value::Array(proxies);
            }
            site
        })
        .collect();
    json!({
        "main": d.stack.sources.get(n.main).display,
        "implied_http": n.implied,
        "files": n.files.len(),
        "user": d.val(json!(format!("{} {}", user.value.0, user.value.1)), &user.origin),
        "upstreams": n.upstreams.iter().map(|u| json!({"name": u.name, "at": d.place(u.place)})).collect::<Vec<_>>(),
        "sites": sites,
    })
}

fn dump_location(d: &D, n: &Nginx, l: &Location) -> Value {
    let mut eff = Map::new();
    for key in LOCATION_KEYS {
        if ARRAY_DIRECTIVES.contains(key) {
            let all = n.effective_all(l.scope, key);
            if all.is_empty() {
                continue;
            }
            let list: Vec<Value> = all
                .iter()
                .map(|dir| {
                    let text = dir.value_text();
                    let shown = match text.split_once(char::is_whitespace) {
                        Some((name, _)) if is_secret_name(name) => format!("{name} {MASK}"),
                        _ => text,
                    };
                    d.val(json!(shown), &Origin::At(dir.place))
                })
                .collect();
            eff.insert((*key).to_string(), Value::Array(list));
        } else if let Some(v) = n.effective_value(l.scope, key) {
            eff.insert((*key).to_string(), d.s(&v));
        }
    }
    // PHP settings this location sends (PHP_VALUE, then PHP_ADMIN_VALUE: the later
    // wins), shown only when there are some.
    let mut php = Map::new();
    for v in d.stack.nginx_php_values(n, l.scope) {
        let shown = if is_secret_key(&v.key) {
            json!(MASK)
        } else {
            json!(v.setting.raw.trim())
        };
        let shown = if d.show_origin {
            json!({"value": shown, "via": v.setting.via.as_str(), "origin": d.origin(&v.setting.value.origin)})
        } else {
            shown
        };
        php.insert(v.key.clone(), shown);
    }
    if !php.is_empty() {
        eff.insert("php".to_string(), Value::Object(php));
    }
    let pass = l
        .fastcgi_pass
        .as_ref()
        .map(|p| d.val(json!(p.value_text()), &Origin::At(p.place)));
    let pools: Vec<Value> = l
        .pools
        .iter()
        .filter_map(|id| d.stack.pools.get(*id))
        .map(|p| {
            let v = d.stack.fpm.get(p.fpm).and_then(|f| f.version.clone());
            json!(match v {
                Some(v) => format!("{} (php {v})", p.name),
                None => p.name.clone(),
            })
        })
        .collect();
    json!({
        "location": format!("{} {}", l.modifier, l.pattern).trim().to_string(),
        "at": d.place(l.place),
        "fastcgi_pass": pass,
        "target": l.target.as_ref().map(|t| t.describe()),
        "pools": pools,
        "serves": match &l.role {
            super::nginx_model::Role::WordPress => "WordPress".to_string(),
            super::nginx_model::Role::Probe(what) => what.clone(),
            super::nginx_model::Role::OtherApp(app) => app.clone(),
        },
        "effective": eff,
    })
}

/// Directives shown for each proxying location (the front hop).
const PROXY_KEYS: &[&str] = &[
    "proxy_read_timeout",
    "proxy_buffer_size",
    "proxy_buffers",
    "proxy_busy_buffers_size",
    "proxy_next_upstream",
    "proxy_next_upstream_tries",
];

/// A front hop: where its `proxy_pass` goes and which server blocks (of which nginx)
/// it reaches, so a request can be followed front hop → PHP hop → pool.
fn dump_proxy(d: &D, n: &Nginx, l: &Location) -> Value {
    let Some(p) = &l.proxy else {
        return Value::Null;
    };
    let mut eff = Map::new();
    for key in PROXY_KEYS {
        if let Some(v) = n.effective_value(l.scope, key) {
            eff.insert((*key).to_string(), d.s(&v));
        }
    }
    let backs: Vec<Value> = l
        .backs
        .iter()
        .filter_map(|r| {
            let bn = d.stack.nginx.get(r.nginx)?;
            let site = bn.sites.get(r.site)?;
            let pools: Vec<Value> = site
                .locations
                .iter()
                .filter(|bl| bl.fastcgi_pass.is_some())
                .flat_map(|bl| bl.pools.iter())
                .filter_map(|id| d.stack.pools.get(*id))
                .map(|pool| json!(pool.name))
                .collect();
            Some(json!({
                "site": site.name(),
                "at": d.place(site.place),
                "nginx": d.stack.sources.get(bn.main).display,
                "pools": pools,
            }))
        })
        .collect();
    json!({
        "location": format!("{} {}", l.modifier, l.pattern).trim().to_string(),
        "at": d.place(l.place),
        "proxy_pass": d.val(json!(p.dir.value_text()), &Origin::At(p.dir.place)),
        "target": p.target.describe(),
        "reaches": backs,
        "effective": eff,
    })
}

fn dump_pool(d: &D, id: usize) -> Value {
    let Some(p) = d.stack.pools.get(id) else {
        return Value::Null;
    };
    let mut settings = Map::new();
    for (k, v) in &p.settings {
        settings.insert(k.clone(), d.keyed(k, v));
    }
    for k in POOL_KEYS {
        if !settings.contains_key(*k) {
            if let Some(v) = p.setting(k) {
                settings.insert((*k).to_string(), d.s(&v));
            }
        }
    }
    let mut php = Map::new();
    for (k, s) in p.php_settings() {
        let mut v = d.keyed(k, &php_shown(k, &s.value));
        if d.show_origin {
            if let Value::Object(m) = &mut v {
                m.insert("via".into(), json!(s.via.as_str()));
            }
        }
        php.insert(k.clone(), v);
    }
    for k in PHP_KEYS {
        if !php.contains_key(*k) && php_default(k).is_some() {
            if let Some(s) = p.php(k) {
                php.insert((*k).to_string(), d.s(&php_shown(k, &s.value)));
            }
        }
    }
    json!({
        "name": p.name,
        "at": d.place(p.place),
        "listen": p.listen().map(|l| d.s(l)),
        "settings": settings,
        "php": php,
    })
}
