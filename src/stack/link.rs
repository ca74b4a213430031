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
    let mut by_path: foldhash::HashMap<String, Vec<usize>> = Default::default();
    let mut by_port: foldhash::HashMap<u16, Vec<(usize, Listen)>> = Default::default();
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
    link_tiers(stack);
}

/// What an nginx `listen` argument means (`80`, `127.0.0.1:8080`, `[::]:80`, `*:80`,
/// `localhost`, `unix:/run/x.sock`). A server without `listen` is on `*:80`.
pub fn parse_nginx_listen(s: &str) -> Listen {
    let s = s.trim();
    if let Some(p) = s.strip_prefix("unix:") {
        return Listen::Unix(normalize_path(p));
    }
    if let Ok(port) = s.parse::<u16>() {
        return Listen::Tcp { host: None, port };
    }
    if s.starts_with('[') {
        if !s.contains("]:") {
            return Listen::Tcp {
                host: Some(s.trim_matches(|c| c == '[' || c == ']').to_string()),
                port: 80,
            };
        }
        return parse_listen(s);
    }
    if !s.contains(':') {
        return Listen::Tcp {
            host: Some(s.to_string()),
            port: 80,
        };
    }
    parse_listen(s)
}

/// Does a `proxy_pass` address of nginx `front` reach a server of nginx `back` that
/// listens on `listen`? Within one nginx, only loopback/wildcard addresses or the
/// very address a server listens on count (a name or another IP is another machine);
/// another nginx of the tree (a second instance, another container of the same
/// deployment) is reached by port, whatever name or address the front uses for it.
fn proxy_reaches(addr: &Target, listen: &Listen, same_nginx: bool) -> bool {
    match (addr, listen) {
        (Target::Unix(p), Listen::Unix(l)) => normalize_path(p) == *l,
        (Target::Tcp { host, port }, Listen::Tcp { host: lh, port: lp }) => {
            if port != lp {
                return false;
            }
            match lh.as_deref() {
                Some(l) if l == host => true,
                Some(l) if is_loopback(l) && is_loopback(host) => true,
                _ if !same_nginx => true,
                None => is_loopback(host) || is_any(host),
                Some(l) if is_any(l) => is_loopback(host) || is_any(host),
                Some(_) => false,
            }
        }
        _ => false,
    }
}

/// Does `name` (a Host) match one `server_name` (exact, `*.example.com`,
/// `example.*`, `.example.com`)? Regex names (`~…`) are not evaluated.
fn name_matches(server_name: &str, host: &str, wildcard: bool) -> bool {
    let sn = server_name.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    if !wildcard {
        return sn == host;
    }
    if let Some(suffix) = sn.strip_prefix("*.") {
        return host.ends_with(&format!(".{suffix}"));
    }
    if let Some(suffix) = sn.strip_prefix('.') {
        return host == suffix || host.ends_with(&format!(".{suffix}"));
    }
    if let Some(prefix) = sn.strip_suffix(".*") {
        return host.starts_with(&format!("{prefix}."));
    }
    false
}

/// The host names a front location's requests carry to the next hop: its
/// `proxy_set_header Host` (`$host`/`$http_host`/`$server_name` mean the front
/// site's own names), else nginx's default `$proxy_host` (the URL's host part).
fn sent_hosts(
    n: &super::Nginx,
    site: &super::Site,
    loc: &super::Location,
    proxy: &super::Proxy,
) -> Vec<String> {
    let strip_port = |h: &str| -> String {
        if h.starts_with('[') {
            return h
                .split(']')
                .next()
                .unwrap_or(h)
                .trim_start_matches('[')
                .to_string();
        }
        h.rsplit_once(':').map(|(a, _)| a).unwrap_or(h).to_string()
    };
    let header = n
        .effective_all(loc.scope, "proxy_set_header")
        .into_iter()
        .rev()
        .find(|d| d.arg(0).is_some_and(|h| h.eq_ignore_ascii_case("host")))
        .and_then(|d| d.arg(1).map(str::to_string));
    match header {
        Some(v)
            if v.contains("$host") || v.contains("$http_host") || v.contains("$server_name") =>
        {
            site.server_names
                .iter()
                .filter(|s| !s.is_empty() && *s != "_" && !s.starts_with('~'))
                .cloned()
                .collect()
        }
        Some(v) if v.contains('$') => Vec::new(),
        Some(v) => vec![strip_port(&v)],
        None => vec![strip_port(&proxy.host)],
    }
}

/// Follow every `proxy_pass` to the server blocks it reaches (front hop → PHP hop):
/// by listen address/port (sockets too), then by the Host sent, as nginx picks a
/// server: exact name, wildcard name, the `default_server` of that port, else the
/// first server on it. Fills `Location::backs`.
pub fn link_tiers(stack: &mut Stack) {
    use super::SiteRef;
    // Every server's listen sockets, once.
    let mut listens: Vec<(SiteRef, Listen, bool)> = Vec::new();
    for (ni, n) in stack.nginx.iter().enumerate() {
        for (si, site) in n.sites.iter().enumerate() {
            let dirs: Vec<&super::Dir> = n.own(site.scope, "listen").collect();
            if dirs.is_empty() {
                listens.push((
                    SiteRef {
                        nginx: ni,
                        site: si,
                    },
                    Listen::Tcp {
                        host: None,
                        port: 80,
                    },
                    false,
                ));
            }
            for d in dirs {
                let Some(a) = d.arg(0) else { continue };
                let default = d
                    .args
                    .iter()
                    .any(|x| x == "default_server" || x == "default");
                listens.push((
                    SiteRef {
                        nginx: ni,
                        site: si,
                    },
                    parse_nginx_listen(a),
                    default,
                ));
            }
        }
    }
    let mut found: Vec<(usize, usize, usize, Vec<SiteRef>)> = Vec::new();
    for (ni, n) in stack.nginx.iter().enumerate() {
        for (si, site) in n.sites.iter().enumerate() {
            for (li, loc) in site.locations.iter().enumerate() {
                let Some(proxy) = &loc.proxy else { continue };
                let hosts = sent_hosts(n, site, loc, proxy);
                let mut backs: Vec<SiteRef> = Vec::new();
                for addr in proxy.target.addresses() {
                    let cands: Vec<&(SiteRef, Listen, bool)> = listens
                        .iter()
                        .filter(|(r, l, _)| {
                            !(r.nginx == ni && r.site == si)
                                && proxy_reaches(addr, l, r.nginx == ni)
                        })
                        .collect();
                    let mut instances: Vec<usize> = cands.iter().map(|(r, _, _)| r.nginx).collect();
                    instances.dedup();
                    for inst in instances {
                        let here: Vec<&&(SiteRef, Listen, bool)> =
                            cands.iter().filter(|(r, _, _)| r.nginx == inst).collect();
                        let names = |r: &SiteRef| &stack.nginx[r.nginx].sites[r.site].server_names;
                        let pick = [false, true]
                            .iter()
                            .find_map(|wild| {
                                here.iter().find(|(r, _, _)| {
                                    names(r)
                                        .iter()
                                        .any(|sn| hosts.iter().any(|h| name_matches(sn, h, *wild)))
                                })
                            })
                            .or_else(|| here.iter().find(|(_, _, d)| *d))
                            .or_else(|| here.first());
                        if let Some((r, _, _)) = pick {
                            if !backs.contains(r) {
                                backs.push(*r);
                            }
                        }
                    }
                }
                if !backs.is_empty() {
                    found.push((ni, si, li, backs));
                }
            }
        }
    }
    for (ni, si, li, backs) in found {
        stack.nginx[ni].sites[si].locations[li].backs = backs;
    }
}

impl Stack {
    /// The PHP locations a request reaches behind a front location: the WordPress
    /// PHP locations of the server blocks its `proxy_pass` reaches.
    pub fn back_php_locations<'a>(
        &'a self,
        loc: &'a super::Location,
    ) -> impl Iterator<Item = (&'a super::Nginx, &'a super::Site, &'a super::Location)> + 'a {
        loc.backs.iter().flat_map(move |r| {
            let n = &self.nginx[r.nginx];
            let site = &n.sites[r.site];
            site.locations
                .iter()
                .filter(|l| l.fastcgi_pass.is_some() && l.runs_wordpress())
                .map(move |l| (n, site, l))
        })
    }
    /// Every location with a `proxy_pass`, with its nginx and site.
    pub fn proxy_locations(
        &self,
    ) -> impl Iterator<Item = (&super::Nginx, &super::Site, &super::Location)> {
        self.nginx.iter().flat_map(|n| {
            n.sites.iter().flat_map(move |s| {
                s.locations
                    .iter()
                    .filter(|l| l.proxy.is_some())
                    .map(move |l| (n, s, l))
            })
        })
    }
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
