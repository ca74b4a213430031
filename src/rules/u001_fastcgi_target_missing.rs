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

/// A socket path without its digits and dots: php8.1-fpm.sock and php8.2-fpm.sock
/// give the same key.
fn version_key(path: &str) -> String {
    path.chars()
        .filter(|c| !c.is_ascii_digit() && *c != '.')
        .collect()
}

/// The pools by listen kind and by versionless socket path, to name the one pool an
/// address was most likely meant for without scanning every pool per address.
struct Candidates {
    unix: Vec<usize>,
    tcp: Vec<usize>,
    by_version_key: foldhash::HashMap<String, Vec<usize>>,
}

impl Candidates {
    fn new(pools: &[(usize, &Pool, Listen)]) -> Self {
        let mut c = Candidates {
            unix: Vec::new(),
            tcp: Vec::new(),
            by_version_key: Default::default(),
        };
        for (i, (_, _, l)) in pools.iter().enumerate() {
            match l {
                Listen::Unix(p) => {
                    c.unix.push(i);
                    c.by_version_key.entry(version_key(p)).or_default().push(i);
                }
                Listen::Tcp { .. } => c.tcp.push(i),
                Listen::Invalid => {}
            }
        }
        c
    }

    /// The one pool of the same kind, or the one whose socket differs only in its
    /// version; `None` when that is not a single pool.
    fn candidate(&self, addr: &Target) -> Option<usize> {
        let same_kind = match addr {
            Target::Unix(_) => &self.unix,
            Target::Tcp { .. } => &self.tcp,
            _ => return None,
        };
        if same_kind.len() == 1 {
            return same_kind.first().copied();
        }
        let Target::Unix(path) = addr else {
            return None;
        };
        match self.by_version_key.get(&version_key(path))?.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    scan(cx.stack, false, out);
}

/// Judge every server a `fastcgi_pass` can reach: a dead one with nothing live left
/// beside it is U001; a dead one in an upstream that still has a live server is U007
/// (`upstream_servers`: report those instead).
pub(crate) fn scan(stack: &crate::stack::Stack, upstream_servers: bool, out: &mut Vec<Finding>) {
    if !stack.has_fpm() {
        return;
    }
    // A pool listening where an environment variable nobody gave says
    // (`listen = ${PHP_FPM_LISTEN}`) may be the one: nothing can be said.
    if stack.pools.iter().any(|p| p.unknown.contains_key("listen")) {
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
    let mut sorted: Vec<(&str, usize)> = listen_text.iter().copied().zip(0..).collect();
    sorted.sort_unstable();
    let candidates = Candidates::new(&pools);
    // A pool's `pm.status_listen` is a second socket php-fpm listens on (for its
    // status page): nginx passing to it reaches php-fpm too.
    let status_listens: Vec<Listen> = stack
        .pools
        .iter()
        .filter_map(|p| p.settings.get("pm.status_listen"))
        .map(|v| link::parse_listen(&v.value))
        .collect();
    let listening = || pools.iter().map(|(_, _, l)| l).chain(&status_listens);
    let unix: foldhash::HashSet<&str> = listening()
        .filter_map(|l| match l {
            Listen::Unix(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    let mut by_port: foldhash::HashMap<u16, Vec<&Listen>> = Default::default();
    for l in listening() {
        if let Listen::Tcp { port, .. } = l {
            by_port.entry(*port).or_default().push(l);
        }
    }
    let reached = |addr: &Target| -> Option<bool> {
        if !link::is_local(addr) {
            return None; // another host, or a variable: cannot be known
        }
        Some(match addr {
            Target::Unix(p) => unix.contains(link::normalize_path(p).as_str()),
            Target::Tcp { port, .. } => by_port
                .get(port)
                .is_some_and(|ls| ls.iter().any(|l| link::reaches(addr, l) == Reach::Yes)),
            _ => true,
        })
    };
    let mut seen: foldhash::HashSet<crate::finding::Place> = Default::default();
    for (n, site, loc) in stack.php_locations() {
        let (Some(pass), Some(target)) = (&loc.fastcgi_pass, &loc.target) else {
            continue;
        };
        let mut routes = Vec::new();
        push_routes(n, target, pass.arg_place(0), None, &mut routes);
        // A map/set value can be rewritten only when it is the whole address.
        let whole_var = pass.arg(0).is_some_and(|a| {
            a.starts_with('$')
                && a[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '{' | '}'))
        });
        for route in routes {
            let states: Vec<(&Target, crate::finding::Place, Option<bool>)> = route
                .servers
                .iter()
                .map(|(t, p, _)| (t, *p, reached(t)))
                .collect();
            let alive = states.iter().any(|(_, _, r)| *r != Some(false));
            for (addr, addr_place, r) in &states {
                if *r != Some(false) || !seen.insert(*addr_place) {
                    continue;
                }
                if alive && route.upstream.is_some() != upstream_servers {
                    continue;
                }
                if !alive && upstream_servers {
                    continue;
                }
                if alive {
                    if let Some(u) = &route.upstream {
                        let directive = route
                            .servers
                            .iter()
                            .find(|(_, p, _)| p == addr_place)
                            .map(|(_, _, d)| *d)
                            .unwrap_or(*addr_place);
                        out.push(super::u007_upstream_server_missing::finding(
                            stack,
                            u,
                            addr,
                            *addr_place,
                            directive,
                            &states
                                .iter()
                                .filter(|(_, _, r)| *r != Some(false))
                                .map(|(t, p, _)| (*t, *p))
                                .collect::<Vec<_>>(),
                            &site.name(),
                        ));
                    }
                    continue;
                }
                let addr = (*addr).clone();
                let addr_place = *addr_place;
                let fixable = route.fixable || whole_var;
                // Name the likeliest pools (same kind, most similar address) rather than all.
                let addr_text = addr.describe();
                // The pools whose socket shares the longest prefix with it are next to it in
                // sorted order: look at a few on each side instead of scoring every pool.
                let target_path = addr_text.trim_start_matches("unix:");
                let at = sorted.partition_point(|(l, _)| *l < target_path);
                let mut scored: Vec<(usize, usize)> = sorted
                    [at.saturating_sub(3)..(at + 3).min(sorted.len())]
                    .iter()
                    .map(|(l, i)| (common_prefix(l, target_path), *i))
                    .collect();
                scored.sort_by_key(|(score, i)| (std::cmp::Reverse(*score), *i));
                let nearest: Vec<&(usize, &Pool, Listen)> =
                    scored.iter().take(3).map(|(_, i)| &pools[*i]).collect();
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
                    "fastcgi_pass {} for site {} reaches no php-fpm pool (pools listen on {}): nginx logs `connect() to {} failed {errno} while connecting to upstream` and answers 502 for every PHP request{}",
                    match &route.variable {
                        Some(v) => format!("{v} = {addr_text}"),
                        None => addr_text.clone(),
                    },
                    site.name(),
                    if listening.is_empty() { "nothing".to_string() } else { listening.join(", ") },
                    addr_text,
                    if route.variable.is_some() { " that takes this value" } else { "" },
                ),
            );
                for (_, p, _) in nearest.iter().take(shown) {
                    if let Some(l) = p.listen() {
                        f = f.related_opt(
                            l.place(),
                            format!("pool {} listens on {}", p.name, l.value),
                        );
                    }
                }
                if let Some((_, p, l)) = candidates.candidate(&addr).map(|i| &pools[i]) {
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
                    if !new.is_empty() && fixable {
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
}

/// Servers nginx fails over between: one upstream's servers, or a single address.
struct Route {
    /// The upstream's name, when the servers are an upstream's.
    upstream: Option<String>,
    /// (address, place of the address, place of the whole `server` directive); servers
    /// marked `down` are left out (nginx never uses them).
    servers: Vec<(Target, crate::finding::Place, crate::finding::Place)>,
    /// The address is written where a fix can rewrite it (not built from a variable).
    fixable: bool,
    /// The variable (`$php_upstream`) whose `map`/`set` value this is.
    variable: Option<String>,
}

fn push_routes(
    n: &crate::stack::Nginx,
    target: &Target,
    place: crate::finding::Place,
    from_variable: Option<&str>,
    out: &mut Vec<Route>,
) {
    match target {
        Target::Upstream { name, servers } => {
            let dirs: Vec<&crate::stack::Dir> = n
                .upstreams
                .iter()
                .filter(|u| u.name == *name)
                .flat_map(|u| n.own(u.scope, "server"))
                .collect();
            let servers = servers
                .iter()
                .filter_map(|(t, p)| {
                    let d = dirs.iter().find(|d| d.arg_place(0) == *p);
                    if d.is_some_and(|d| d.args.iter().any(|a| a == "down")) {
                        return None;
                    }
                    Some((t.clone(), *p, d.map(|d| d.place).unwrap_or(*p)))
                })
                .collect();
            out.push(Route {
                upstream: Some(name.clone()),
                servers,
                fixable: true,
                variable: None,
            });
        }
        Target::Choice { var, options } => {
            for (t, p) in options {
                push_routes(n, t, *p, Some(var), out);
            }
        }
        Target::Variable(_) | Target::Undefined(_) => {}
        t => out.push(Route {
            upstream: None,
            servers: vec![(t.clone(), place, place)],
            fixable: from_variable.is_none(),
            variable: from_variable.map(str::to_string),
        }),
    }
}
