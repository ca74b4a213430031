//! E004 invalid-value: a value its program rejects or misreads — nginx times and sizes,
//! php.ini quantities (`256MB`), php-fpm values (time suffixes, `pm` modes, numbers).

use crate::finding::{Finding, Place};
use crate::rules::Context;
use crate::stack::{FileKind, Syntax};
use crate::syntax::units;

crate::declare_rule!(
    "E004",
    "invalid-value",
    Error,
    No,
    "a value that its program rejects or misreads (units, quantities, pm modes)",
    check
);

/// nginx directives whose argument is a time (milliseconds mode).
const NGINX_TIMES: &[&str] = &[
    "fastcgi_read_timeout",
    "fastcgi_send_timeout",
    "fastcgi_connect_timeout",
    "client_body_timeout",
    "client_header_timeout",
    "send_timeout",
    "keepalive_timeout",
    "proxy_read_timeout",
    "proxy_send_timeout",
    "proxy_connect_timeout",
    "resolver_timeout",
    "lingering_timeout",
];
/// nginx directives whose argument is a size (`k`, `m`).
const NGINX_SIZES: &[&str] = &[
    "fastcgi_buffer_size",
    "fastcgi_busy_buffers_size",
    "client_body_buffer_size",
    "client_header_buffer_size",
    "proxy_buffer_size",
];
/// Sizes that also take `g` (ngx_parse_offset).
const NGINX_OFFSETS: &[&str] = &["client_max_body_size"];

/// php.ini keys PHP reads as quantities (zend_ini_parse_quantity).
const INI_QUANTITIES: &[&str] = &[
    "memory_limit",
    "post_max_size",
    "upload_max_filesize",
    "realpath_cache_size",
    "output_buffering",
];

fn ini_consequence(key: &str) -> &'static str {
    match key {
        "memory_limit" => "for memory_limit PHP 8.2 rejects the value and the previous one stays",
        "post_max_size" | "upload_max_filesize" => {
            "that many bytes really apply: uploads and POST bodies over it are dropped"
        }
        _ => "the number alone applies",
    }
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    // php-fpm's own verdicts.
    for fpm in &stack.fpm {
        for p in fpm.problems.iter().filter(|p| p.code == "E004") {
            let consequence = if p.fatal {
                "php-fpm refuses to start and every site on it answers 502"
            } else {
                "php-fpm starts but reads it differently from what is written"
            };
            out.push(Finding::new(
                &RULE,
                p.place,
                format!("{}: {consequence}", p.message),
            ));
        }
    }
    // php.ini and scan-dir quantities, and the same keys set by pools.
    for f in &stack.files {
        let (FileKind::PhpIni | FileKind::Fpm, Syntax::Ini(ini)) = (f.kind, &f.syntax) else {
            continue;
        };
        for (_, e) in ini.entries() {
            let key = match (f.kind, e.key.name.as_str(), e.key.index.as_deref()) {
                (FileKind::PhpIni, k, None) => k,
                (FileKind::Fpm, "php_value" | "php_admin_value", Some(k)) => k,
                _ => continue,
            };
            // `${NAME}` nobody gave: the value is unknown, not what is left of it.
            if !INI_QUANTITIES.contains(&key) || crate::stack::php_model::from_unknown_env(&e.value)
            {
                continue;
            }
            let q = units::ini_quantity(&e.value.text);
            if let Some(w) = q.warning {
                out.push(Finding::at(
                    &RULE,
                    Place::new(f.id, e.value.span),
                    format!(
                        "{key} = {}: PHP warns `{w}` — {}; php-fpm -t does not notice",
                        e.value.raw,
                        ini_consequence(key)
                    ),
                ));
            }
        }
    }
    // nginx times and sizes.
    for n in &stack.nginx {
        for scope in &n.scopes {
            for d in &scope.directives {
                let name = d.name.as_str();
                let Some(v) = d.arg(0) else { continue };
                let bad = if NGINX_TIMES.contains(&name) {
                    units::nginx_time(v).err().map(|e| e.to_string())
                } else if NGINX_SIZES.contains(&name) {
                    units::nginx_size(v).err().map(|e| e.to_string())
                } else if NGINX_OFFSETS.contains(&name) {
                    units::nginx_offset(v).err().map(|e| e.to_string())
                } else if name == "fastcgi_buffers" {
                    d.arg(1)
                        .and_then(|s| units::nginx_size(s).err().map(|e| e.to_string()))
                } else {
                    None
                };
                if let Some(why) = bad {
                    out.push(Finding::at(
                        &RULE,
                        d.arg_place(0),
                        format!("{name} {}: {why} — nginx -t fails with `invalid value`, so the reload is refused", d.value_text()),
                    ));
                }
            }
        }
    }
}
