//! E003 duplicate-directive: a non-repeatable nginx directive twice in one block
//! (nginx -t: `"x" directive is duplicate`), or a pool key set twice in one file
//! (later silently wins: warning). A later file re-opening a pool to override it is
//! layering, not a duplicate.

use crate::finding::{Finding, Place, Severity};
use crate::fix::{Edit, Fix};
use crate::rules::Context;
use crate::stack::Stack;

crate::declare_rule!(
    "E003",
    "duplicate-directive",
    Error,
    Safe,
    "a non-repeatable nginx directive twice in one block, or a pool key set twice",
    check
);

/// nginx directives stored in a single slot: a second one in the same block is an
/// error (`ngx_conf_set_*_slot` returns "is duplicate").
const SINGLE: &[&str] = &[
    "root",
    "alias",
    "fastcgi_pass",
    "fastcgi_index",
    "fastcgi_read_timeout",
    "fastcgi_send_timeout",
    "fastcgi_connect_timeout",
    "fastcgi_buffer_size",
    "fastcgi_buffers",
    "fastcgi_busy_buffers_size",
    "fastcgi_buffering",
    "fastcgi_intercept_errors",
    "fastcgi_keep_conn",
    "fastcgi_split_path_info",
    "client_max_body_size",
    "client_body_timeout",
    "client_header_timeout",
    "client_body_buffer_size",
    "keepalive_timeout",
    "keepalive_requests",
    "send_timeout",
    "sendfile",
    "tcp_nopush",
    "tcp_nodelay",
    "server_tokens",
    "default_type",
    "types_hash_max_size",
    "server_names_hash_bucket_size",
    "worker_processes",
    "worker_connections",
    "pid",
    "user",
    "try_files",
    "autoindex",
    "charset",
    "proxy_pass",
    "proxy_read_timeout",
    "proxy_connect_timeout",
    "proxy_send_timeout",
    "gzip",
    "gzip_comp_level",
    "gzip_min_length",
    "expires",
    "etag",
    "sendfile_max_chunk",
    "large_client_header_buffers",
    "client_header_buffer_size",
    "ssl_certificate_key",
    "ssl_session_timeout",
    "ssl_session_cache",
    "ssl_prefer_server_ciphers",
    "ssl_ciphers",
];

/// [`SINGLE`]'s positions by name.
fn single_index() -> &'static foldhash::HashMap<&'static str, usize> {
    static INDEX: std::sync::OnceLock<foldhash::HashMap<&'static str, usize>> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| SINGLE.iter().enumerate().map(|(i, s)| (*s, i)).collect())
}

/// Most duplicates of one directive listed per block.
const MAX_PER_BLOCK: usize = 100;

/// Delete a directive, with its whole line when it is alone on it.
pub fn delete_directive(stack: &Stack, place: Place) -> Edit {
    let src = stack.sources.get(place.file);
    let line = src.line_of(place.span.start);
    let start = src.line_start(line);
    let next = src.line_start(line + 1);
    let before = &src.bytes[start..place.span.start];
    let after_end = next.min(src.bytes.len());
    let after = &src.bytes[place.span.end.min(after_end)..after_end];
    let alone = before.iter().all(|b| *b == b' ' || *b == b'\t')
        && after.iter().all(|b| b.is_ascii_whitespace());
    if alone {
        Edit::delete(place.file, crate::source::Span::new(start, after_end))
    } else {
        Edit::delete(place.file, place.span)
    }
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for n in &stack.nginx {
        for scope in &n.scopes {
            // One pass counts the single-slot names; only a name seen twice is
            // gathered (an `http` block holds a `server` per site: scanning it once per
            // name was this rule's whole cost).
            let mut seen = [0u8; SINGLE.len()];
            let mut twice = false;
            for d in &scope.directives {
                if let Some(&i) = single_index().get(d.name.as_str()) {
                    seen[i] = seen[i].saturating_add(1);
                    twice |= seen[i] > 1;
                }
            }
            if !twice {
                continue;
            }
            for (name, _) in SINGLE.iter().zip(seen).filter(|(_, n)| *n > 1) {
                let all = scope.named(name);
                let (first, rest) = (all[0], &all[1..]);
                // nginx -t stops at the first; past MAX_PER_BLOCK the last finding
                // counts the rest (all fixes here are the same edit anyway).
                let listed = rest.len().min(MAX_PER_BLOCK);
                for (i, dup) in rest.iter().take(listed).enumerate() {
                    let more = if i + 1 == listed && rest.len() > listed {
                        format!(
                            " ({} more duplicates of \"{name}\" in this block are not listed)",
                            rest.len() - listed
                        )
                    } else {
                        String::new()
                    };
                    out.push(
                        Finding::at(
                            &RULE,
                            dup.place,
                            format!(
                                "\"{name}\" directive is duplicate: it is already set in this block at {} — nginx -t fails and the reload that carries this file is refused{more}",
                                stack.display(first.place)
                            ),
                        )
                        .related(first.place, "first set here")
                        .with_fix(Some(Fix::safe(format!("remove the earlier {name}"), vec![delete_directive(stack, first.place)]))),
                    );
                }
            }
        }
    }
    // A pool key set twice in one file is a slip (the first value is dead text); a
    // later file re-opening the pool (`zz-docker.conf`, `www2.conf`, a panel's
    // override) is layering, done on purpose, and not reported.
    for pool in &stack.pools {
        let mut seen: foldhash::HashMap<(&str, crate::source::FileId), Place> = Default::default();
        for (key, v) in &pool.entries {
            let Some(place) = v.place() else { continue };
            if let Some(first) = seen.get(&(key.as_str(), place.file)) {
                let first = *first;
                out.push(
                    Finding::at(
                        &RULE,
                        place,
                        format!(
                            "pool {}: `{key}` is set twice — php-fpm silently keeps this later value ({}) and ignores the one at {}",
                            pool.name,
                            v.value,
                            stack.display(first)
                        ),
                    )
                    .severity(Severity::Warning)
                    .related(first, "earlier value, ignored")
                    .with_fix(Some(Fix::safe(format!("remove the earlier {key}"), vec![delete_directive(stack, first)]))),
                );
            } else {
                seen.insert((key.as_str(), place.file), place);
            }
        }
    }
}
