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
    let keep = |c: &char| !c.is_ascii_digit() && *c != '.';
    a.chars().filter(keep).eq(b.chars().filter(keep))
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

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
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
    let listen_text: Vec<&str> = pools
        .iter()
        .map(|(_, p, _)| p.listen().map(|l| l.value.as_str()).unwrap_or(""))
        .collect();
    let unix: std::collections::HashSet<&str> = pools
        .iter()
        .filter_map(|(_, _, l)| match l {
            Listen::Unix(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    let mut by_port: std::collections::HashMap<u16, Vec<&Listen>> = Default::default();
    for (_, _, l) in &pools {
        if let Listen::Tcp { port, .. } = l {
            by_port.entry(*port).or_default().push(l);
        }
    }
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
            let reached = match &addr {
                Target::Unix(p) => unix.contains(link::normalize_path(p).as_str()),
                Target::Tcp { port, .. } => by_port
                    .get(port)
                    .is_some_and(|ls| ls.iter().any(|l| link::reaches(&addr, l) == Reach::Yes)),
                _ => true,
            };
            if reached {
                continue;
            }
            // Name the likeliest pools (same kind, most similar address) rather than all.
            let addr_text = addr.describe();
            // Score each pool once, then keep the best few (linear per missing address).
            let target_path = addr_text.trim_start_matches("unix:");
            let mut scored: Vec<(usize, &(usize, &Pool, Listen))> = pools
                .iter()
                .zip(&listen_text)
                .map(|(p, l)| (common_prefix(l, target_path), p))
                .collect();
            let k = 3.min(scored.len());
            if k > 0 {
                scored.select_nth_unstable_by_key(k - 1, |(score, _)| std::cmp::Reverse(*score));
                scored.truncate(k);
                scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
            }
            let nearest: Vec<&(usize, &Pool, Listen)> =
                scored.into_iter().map(|(_, p)| p).collect();
            let shown = 3;
            let mut listening: Vec<String> = nearest
                .iter()
                .take(shown)
                .map(|(_, p, _)| {
                    format!(
                        "{} (pool {})",
                        p.listen().map(|l| l.value.clone()).unwrap_or_default(),
                        p.name
                    )
                })
                .collect();
            if pools.len() > shown {
                listening.push(format!("{} more", pools.len() - shown));
            }
            let errno = match addr {
                Target::Unix(_) => "(2: No such file or directory)",
                _ => "(111: Connection refused)",
            };
            let mut f = Finding::at(
                &RULE,
                addr_place,
                format!(
                    "fastcgi_pass {} for site {} reaches no php-fpm pool (pools listen on {}): nginx logs `connect() to {} failed {errno} while connecting to upstream` and answers 502 for every PHP request",
                    addr_text,
                    site.name(),
                    if listening.is_empty() { "nothing".to_string() } else { listening.join(", ") },
                    addr_text,
                ),
            );
            for (_, p, _) in nearest.iter().take(shown) {
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
