//! Linking: which pool each `fastcgi_pass` reaches, and which WordPress each site runs.

use super::nginx_model::Target;
use super::Stack;

/// Whether an nginx target and a pool's `listen` are the same socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Yes,
    No,
    /// The target is on another host (a container name, a remote address) or built
    /// from a variable: we cannot tell from these files.
    Unknown,
}

/// What a pool `listen` value means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix(String),
    /// `host` is `None` for a bare port (all addresses).
    Tcp {
        host: Option<String>,
        port: u16,
    },
    Invalid,
}

pub fn parse_listen(s: &str) -> Listen {
    let s = s.trim();
    if s.starts_with('/') {
        return Listen::Unix(normalize_path(s));
    }
    if let Ok(port) = s.parse::<u16>() {
        return Listen::Tcp { host: None, port };
    }
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            if let Ok(port) = p.parse() {
                return Listen::Tcp {
                    host: Some(h.to_string()),
                    port,
                };
            }
        }
        return Listen::Invalid;
    }
    match s.rsplit_once(':') {
        Some((h, p)) => match p.parse() {
            Ok(port) => Listen::Tcp {
                host: Some(h.to_string()),
                port,
            },
            Err(_) => Listen::Invalid,
        },
        None if !s.is_empty() => Listen::Unix(normalize_path(s)),
        None => Listen::Invalid,
    }
}

pub fn normalize_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut last_slash = false;
    for c in p.chars() {
        if c == '/' && last_slash {
            continue;
        }
        last_slash = c == '/';
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

fn is_loopback(h: &str) -> bool {
    matches!(h, "127.0.0.1" | "localhost" | "::1" | "ip6-localhost") || h.starts_with("127.")
}

fn is_any(h: &str) -> bool {
    matches!(h, "0.0.0.0" | "::" | "*")
}

/// Does `target` (one address) reach a pool listening on `listen`?
pub fn reaches(target: &Target, listen: &Listen) -> Reach {
    match (target, listen) {
        (Target::Unix(p), Listen::Unix(l)) => {
            if normalize_path(p) == *l {
                Reach::Yes
            } else {
                Reach::No
            }
        }
        (Target::Tcp { host, port }, Listen::Tcp { host: lh, port: lp }) => {
            if port != lp {
                return Reach::No;
            }
            match lh.as_deref() {
                None => Reach::Yes,
                Some(l) if is_any(l) => Reach::Yes,
                Some(l) if l == host => Reach::Yes,
                Some(l) if is_loopback(l) && is_loopback(host) => Reach::Yes,
                Some(_) => Reach::No,
            }
        }
        (Target::Variable(_), _) => Reach::Unknown,
        _ => Reach::No,
    }
}

/// Is this target (one address) on this host, so a missing pool is a real miss?
pub fn is_local(target: &Target) -> bool {
    match target {
        Target::Unix(_) => true,
        Target::Tcp { host, .. } => is_loopback(host) || is_any(host),
        _ => false,
    }
}

/// Fill `Location::pools` for every PHP location. Pools are indexed by socket path
/// and by port, so linking stays linear in the number of sites and pools.
pub fn link_pools(stack: &mut Stack) {
    let mut by_path: std::collections::HashMap<String, Vec<usize>> = Default::default();
    let mut by_port: std::collections::HashMap<u16, Vec<(usize, Listen)>> = Default::default();
    for (i, p) in stack.pools.iter().enumerate() {
        let Some(l) = p.listen() else { continue };
        match parse_listen(&l.value) {
            Listen::Unix(path) => by_path.entry(path).or_default().push(i),
            t @ Listen::Tcp { port, .. } => by_port.entry(port).or_default().push((i, t)),
            Listen::Invalid => {}
        }
    }
    for n in &mut stack.nginx {
        for site in &mut n.sites {
            for loc in &mut site.locations {
                let Some(t) = &loc.target else { continue };
                let mut pools = Vec::new();
                for addr in t.addresses() {
                    let hits: Vec<usize> = match addr {
                        Target::Unix(p) => {
                            by_path.get(&normalize_path(p)).cloned().unwrap_or_default()
                        }
                        Target::Tcp { port, .. } => by_port
                            .get(port)
                            .map(|v| {
                                v.iter()
                                    .filter(|(_, l)| reaches(addr, l) == Reach::Yes)
                                    .map(|(i, _)| *i)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        _ => Vec::new(),
                    };
                    for i in hits {
                        if !pools.contains(&i) {
                            pools.push(i);
                        }
                    }
                }
                loc.pools = pools;
            }
        }
    }
    classify_locations(stack);
}

/// Set each PHP location's `role` (WordPress, a probe, another application), knowing
/// the `pm.status_path`/`ping.path` of the pools it reaches.
fn classify_locations(stack: &mut Stack) {
    let mut roles: Vec<(usize, usize, usize, super::nginx_model::Role)> = Vec::new();
    for (ni, n) in stack.nginx.iter().enumerate() {
        for (si, site) in n.sites.iter().enumerate() {
            for (li, loc) in site.locations.iter().enumerate() {
                if loc.fastcgi_pass.is_none() {
                    continue;
                }
                let mut paths: Vec<(String, String)> = Vec::new();
                for &p in &loc.pools {
                    let pool = &stack.pools[p];
                    for (key, page) in [("pm.status_path", "status"), ("ping.path", "ping")] {
                        if let Some(v) = pool.settings.get(key) {
                            paths.push((
                                v.value.trim().to_string(),
                                format!("php-fpm {page} page ({key} of pool {})", pool.name),
                            ));
                        }
                    }
                }
                let role = super::nginx_match::role(n, site, loc, &paths);
                if role != super::nginx_model::Role::WordPress {
                    roles.push((ni, si, li, role));
                }
            }
        }
    }
    for (ni, si, li, role) in roles {
        stack.nginx[ni].sites[si].locations[li].role = role;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(h: &str, p: u16) -> Target {
        Target::Tcp {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn listen_forms() {
        assert_eq!(
            parse_listen("9000"),
            Listen::Tcp {
                host: None,
                port: 9000
            }
        );
        assert_eq!(
            parse_listen("[::1]:9000"),
            Listen::Tcp {
                host: Some("::1".into()),
                port: 9000
            }
        );
        assert_eq!(
            parse_listen("/run/php//php8.2-fpm.sock"),
            Listen::Unix("/run/php/php8.2-fpm.sock".into())
        );
    }

    #[test]
    fn matching() {
        assert_eq!(
            reaches(&tcp("127.0.0.1", 9000), &parse_listen("9000")),
            Reach::Yes
        );
        assert_eq!(
            reaches(&tcp("localhost", 9000), &parse_listen("127.0.0.1:9000")),
            Reach::Yes
        );
        assert_eq!(
            reaches(&tcp("::1", 9000), &parse_listen("[::1]:9000")),
            Reach::Yes
        );
        assert_eq!(
            reaches(&tcp("127.0.0.1", 9001), &parse_listen("9000")),
            Reach::No
        );
        assert_eq!(
            reaches(
                &Target::Unix("/run/php/php8.1-fpm.sock".into()),
                &parse_listen("/run/php/php8.2-fpm.sock")
            ),
            Reach::No
        );
    }
}
