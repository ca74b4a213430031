//! U001 fastcgi-target-missing: `fastcgi_pass` points at a socket or port no pool
//! listens on — the classic 502 after a PHP upgrade.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::link::{self, Listen, Reach};
use crate::stack::{Pool, Target};

crate::declare_rule!(
    "U001",
    "fastcgi-target-missing",
    Error,
    Safe,
    "fastcgi_pass points at a socket or host:port that no php-fpm pool listens on",
    check
);

/// Two socket paths that differ only in digits and dots (php8.1-fpm.sock vs php8.2-fpm.sock).
fn same_but_version(a: &str, b: &str) -> bool {
    let strip = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_ascii_digit() && *c != '.')
            .collect()
    };
    strip(a) == strip(b)
}

/// The one pool this address was most likely meant for, if there is exactly one.
fn candidate<'a>(
    addr: &Target,
    pools: &'a [(usize, &'a Pool, Listen)],
) -> Option<&'a (usize, &'a Pool, Listen)> {
    let same_kind: Vec<_> = pools
        .iter()
        .filter(|(_, _, l)| {
            matches!(
                (addr, l),
                (Target::Unix(_), Listen::Unix(_)) | (Target::Tcp { .. }, Listen::Tcp { .. })
            )
        })
        .collect();
    if same_kind.len() == 1 {
        return same_kind.first().copied();
    }
    let Target::Unix(path) = addr else {
        return None;
    };
    let versioned: Vec<_> = same_kind
        .into_iter()
        .filter(|(_, _, l)| matches!(l, Listen::Unix(p) if same_but_version(p, path)))
        .collect();
    (versioned.len() == 1).then(|| versioned[0])
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    if !stack.has_fpm() {
        return;
    }
    let pools: Vec<(usize, &Pool, Listen)> = stack
        .pools
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.listen().map(|l| (i, p, link::parse_listen(&l.value))))
        .collect();
    for (_n, site, loc) in stack.php_locations() {
        let (Some(pass), Some(target)) = (&loc.fastcgi_pass, &loc.target) else {
            continue;
        };
        let servers: Vec<(Target, crate::finding::Place)> = match target {
            Target::Upstream { servers, .. } => servers.clone(),
            t => vec![(t.clone(), pass.arg_place(0))],
        };
        for (addr, addr_place) in servers {
            if !link::is_local(&addr) {
                continue;
            }
            if pools
                .iter()
                .any(|(_, _, l)| link::reaches(&addr, l) == Reach::Yes)
            {
                continue;
            }
            let listening: Vec<String> = pools
                .iter()
                .map(|(_, p, _)| {
                    format!(
                        "{} (pool {})",
                        p.listen().map(|l| l.value.clone()).unwrap_or_default(),
                        p.name
                    )
                })
                .collect();
            let errno = match addr {
                Target::Unix(_) => "(2: No such file or directory)",
                _ => "(111: Connection refused)",
            };
            let mut f = Finding::at(
                &RULE,
                addr_place,
                format!(
                    "fastcgi_pass {} for site {} reaches no php-fpm pool (pools listen on {}): nginx logs `connect() to {} failed {errno} while connecting to upstream` and answers 502 for every PHP request",
                    addr.describe(),
                    site.name(),
                    if listening.is_empty() { "nothing".to_string() } else { listening.join(", ") },
                    addr.describe(),
                ),
            );
            for (_, p, _) in &pools {
                if let Some(l) = p.listen() {
                    f = f.related_opt(l.place(), format!("pool {} listens on {}", p.name, l.value));
                }
            }
            if let Some((_, p, l)) = candidate(&addr, &pools) {
                let new = match l {
                    Listen::Unix(path) => format!("unix:{path}"),
                    Listen::Tcp { host, port } => format!(
                        "{}:{port}",
                        host.as_deref()
                            .filter(|h| *h != "0.0.0.0")
                            .unwrap_or("127.0.0.1")
                    ),
                    Listen::Invalid => String::new(),
                };
                if !new.is_empty() {
                    f = f.with_fix(Some(Fix::safe(
                        format!("point it at pool {} ({new})", p.name),
                        vec![edit::nginx_replace_arg(stack, addr_place, &new)],
                    )));
                }
            }
            out.push(f);
        }
    }
}
