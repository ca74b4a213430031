//! U006 fastcgi-host-resolved-once: `fastcgi_pass php:9000` (or an upstream `server`
//! naming a host) is resolved once, when nginx starts. When the PHP container is
//! recreated with a new address, every request is a 502 until nginx reloads.
//!
//! Not reported: IP addresses, unix sockets, `localhost` (from /etc/hosts, it does
//! not move), an upstream `server … resolve` (re-resolved by nginx ≥ 1.27.3), and the
//! `resolver` + variable form (`fastcgi_pass $php;`), which is the cure.

use crate::finding::Finding;
use crate::rules::Context;
use crate::stack::Target;

crate::declare_rule!(
    "U006",
    "fastcgi-host-resolved-once",
    Warning,
    No,
    "fastcgi_pass (or an upstream server) names a host nginx resolves only at start-up",
    check
);

/// A host name nginx would look up in DNS (not an address, not localhost).
pub fn is_dns_name(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return false;
    }
    !matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "ip6-localhost" | "ip6-loopback" | "*" | ""
    )
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let mut seen = foldhash::HashSet::default();
    for (n, site, loc) in stack.php_locations() {
        let (Some(pass), Some(target)) = (&loc.fastcgi_pass, &loc.target) else {
            continue;
        };
        let hosts: Vec<(String, crate::finding::Place, Option<&str>)> = match target {
            Target::Tcp { host, .. } => vec![(target.describe(), pass.arg_place(0), None)]
                .into_iter()
                .filter(|_| is_dns_name(host))
                .collect(),
            Target::Upstream { name, servers } => {
                let u = n.upstreams.iter().find(|u| u.name == *name);
                servers
                    .iter()
                    .filter(|(t, _)| matches!(t, Target::Tcp { host, .. } if is_dns_name(host)))
                    .filter(|(_, place)| {
                        // `server php:9000 resolve;` is re-resolved (nginx ≥ 1.27.3, with a zone).
                        !u.is_some_and(|u| {
                            n.own(u.scope, "server").any(|d| {
                                d.arg_place(0) == *place && d.args.iter().any(|a| a == "resolve")
                            })
                        })
                    })
                    .map(|(t, place)| (t.describe(), *place, Some(name.as_str())))
                    .collect()
            }
            _ => Vec::new(),
        };
        for (addr, place, upstream) in hosts {
            if !seen.insert(place) {
                continue;
            }
            let via = match upstream {
                Some(u) => format!("server {addr} of upstream {u}"),
                None => format!("fastcgi_pass {addr}"),
            };
            let mut f = Finding::at(
                &RULE,
                place,
                format!(
                    "{via} (site {}) names a host that nginx resolves once, at start-up: when the PHP container or host behind it gets a new address (`docker compose up -d` recreating it, a restart), nginx keeps the old one and every PHP request is a 502 until nginx reloads; use `resolver` with a variable (`set $php {addr}; fastcgi_pass $php;`)",
                    site.name()
                ),
            );
            if upstream.is_some() {
                f = f.related(pass.place, "fastcgi_pass using this upstream");
            }
            out.push(f);
        }
    }
}
