//! nginx as it runs: contexts (main → http → server → location) with their own
//! directives, inheritance, sites, PHP locations and where each `fastcgi_pass` goes.

use super::{Origin, Sourced};
use crate::finding::Place;
use crate::source::{FileId, Span};
use crate::syntax::nginx::{self, Item};
use crate::syntax::MAX_DEPTH;
use foldhash::HashMap;

pub type ScopeId = usize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeKind {
    Main,
    Events,
    Http,
    Server,
    Location,
    If,
    LimitExcept,
    Upstream,
    /// `map`, `geo`, `types`, `split_clients`, `*_by_lua_block`… whose bodies are data.
    Other(String),
}

/// A directive as the model sees it: unquoted words, with their places.
#[derive(Debug, Clone)]
pub struct Dir {
    pub name: compact_str::CompactString,
    pub args: Vec<compact_str::CompactString>,
    /// The whole directive (name to `;`/`}`).
    pub place: Place,
    pub name_span: Span,
    pub arg_spans: Vec<Span>,
    pub scope: ScopeId,
}

impl Dir {
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(compact_str::CompactString::as_str)
    }
    pub fn arg_place(&self, i: usize) -> Place {
        Place::new(
            self.place.file,
            self.arg_spans.get(i).copied().unwrap_or(self.place.span),
        )
    }
    /// All arguments joined with a space, for messages.
    pub fn value_text(&self) -> String {
        self.args.join(" ")
    }
}

/// Where a block's braces are, so fixes can insert into it.
#[derive(Debug, Clone, Copy)]
pub struct BlockAt {
    pub file: FileId,
    /// The directive that opens the block (`location ~ \.php$ {`).
    pub directive: Span,
    pub open: Span,
    pub close: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct Scope {
    pub kind: ScopeKind,
    pub parent: Option<ScopeId>,
    /// Arguments of the block directive (`~ \.php$` for a location).
    pub args: Vec<String>,
    pub directives: Vec<Dir>,
    pub children: Vec<ScopeId>,
    pub block: Option<BlockAt>,
    /// Name → positions in `directives`, built for scopes with many directives (an
    /// `http` block holding thousands of `server`s): a lookup there must not scan
    /// them all, or every location's inherited value costs O(sites).
    index: Option<HashMap<compact_str::CompactString, Vec<u32>>>,
}

/// Scopes with more directives than this get a name index.
const INDEX_FROM: usize = 24;

impl Scope {
    fn build_index(&mut self) {
        if self.directives.len() < INDEX_FROM {
            return;
        }
        let mut index: HashMap<compact_str::CompactString, Vec<u32>> = HashMap::default();
        for (i, d) in self.directives.iter().enumerate() {
            index.entry(d.name.clone()).or_default().push(i as u32);
        }
        self.index = Some(index);
    }

    /// This scope's own directives called `name`, in file order.
    pub fn named<'a>(&'a self, name: &str) -> Vec<&'a Dir> {
        match &self.index {
            Some(index) => index
                .get(name)
                .map(|is| is.iter().map(|i| &self.directives[*i as usize]).collect())
                .unwrap_or_default(),
            None => self.directives.iter().filter(|d| d.name == name).collect(),
        }
    }

    /// The last of this scope's own directives called `name`.
    pub fn last_named(&self, name: &str) -> Option<&Dir> {
        match &self.index {
            Some(index) => index
                .get(name)
                .and_then(|is| is.last())
                .map(|i| &self.directives[*i as usize]),
            None => self.directives.iter().rev().find(|d| d.name == name),
        }
    }
}

/// Where a `fastcgi_pass` sends requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unix(String),
    Tcp {
        host: String,
        port: u16,
    },
    /// An `upstream` block, with its servers (each with the place of its address).
    Upstream {
        name: String,
        servers: Vec<(Target, Place)>,
    },
    /// Built from a variable at run time whose values are not known (`fastcgi_pass
    /// $backend;` with no `map`/`set` giving it one): cannot be followed.
    Variable(String),
    /// Built from a variable that `map` or `set` give a known set of values: each
    /// request goes to one of them (no failover between them). The place of each
    /// option is its value in the `map` entry or `set` directive.
    Choice {
        var: String,
        options: Vec<(Target, Place)>,
    },
    /// A name that is neither an upstream nor an address (U003).
    Undefined(String),
}

impl Target {
    /// Leaf addresses (through an upstream's servers and a variable's values).
    pub fn addresses(&self) -> Vec<&Target> {
        match self {
            Target::Upstream { servers, .. } => servers.iter().map(|(t, _)| t).collect(),
            Target::Choice { options, .. } => {
                options.iter().flat_map(|(t, _)| t.addresses()).collect()
            }
            t => vec![t],
        }
    }
    pub fn describe(&self) -> String {
        match self {
            Target::Unix(p) => format!("unix:{p}"),
            Target::Tcp { host, port } => {
                if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                }
            }
            Target::Upstream { name, .. } => format!("upstream {name}"),
            Target::Variable(v) => v.clone(),
            Target::Choice { var, options } => format!(
                "{var} ({})",
                options
                    .iter()
                    .map(|(t, _)| t.describe())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            Target::Undefined(n) => n.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Location {
    pub scope: ScopeId,
    /// The `location` directive.
    pub place: Place,
    /// `=`, `~`, `~*`, `^~` or empty.
    pub modifier: String,
    pub pattern: String,
    /// This location's own `fastcgi_pass` (also one inside an `if` in it).
    pub fastcgi_pass: Option<Dir>,
    pub target: Option<Target>,
    /// Pools this location reaches (filled by linking).
    pub pools: Vec<super::PoolId>,
    /// What the location serves (filled by linking): WordPress, or an endpoint
    /// that runs no WordPress request.
    pub role: Role,
    /// This location's own `proxy_pass` (also one inside an `if` in it) and where it goes.
    pub proxy: Option<Proxy>,
    /// The server blocks (of this nginx or another nginx in the tree) the `proxy_pass`
    /// reaches, by listen address/port and the Host it sends (filled by linking).
    pub backs: Vec<SiteRef>,
}

/// A server block of one nginx instance of the stack: `stack.nginx[nginx].sites[site]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SiteRef {
    pub nginx: usize,
    pub site: usize,
}

/// A `proxy_pass` and the address part of its URL.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub dir: Dir,
    /// `http` or `https`.
    pub scheme: String,
    /// The host part as written (`127.0.0.1`, `backend`, `php-nginx`): what nginx
    /// sends as `$proxy_host` (the default `Host`).
    pub host: String,
    pub target: Target,
}

/// What a PHP location serves. Timeout, buffer and body-size rules, their fixes and
/// the tuner look only at `WordPress` locations: a status page or a health check
/// answers in milliseconds and its settings say nothing about WordPress requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    WordPress,
    /// php-fpm's `pm.status_path`/`ping.path` page or a health check; the text says
    /// which ("php-fpm status page (pm.status_path of pool www)").
    Probe(String),
    /// Another application next to WordPress (phpMyAdmin, xhprof…), named.
    OtherApp(String),
}

impl Location {
    pub fn is_regex(&self) -> bool {
        self.modifier == "~" || self.modifier == "~*"
    }
    /// Does this location run WordPress requests (not a probe or another app)?
    pub fn runs_wordpress(&self) -> bool {
        self.role == Role::WordPress
    }
}

#[derive(Debug, Clone)]
pub struct Site {
    pub scope: ScopeId,
    /// The `server` directive.
    pub place: Place,
    pub server_names: Vec<String>,
    pub listen: Vec<String>,
    /// Effective `root` at server level (may be inherited from http).
    pub root: Option<Sourced<String>>,
    pub locations: Vec<Location>,
}

impl Site {
    pub fn name(&self) -> String {
        self.server_names
            .iter()
            .find(|n| !n.is_empty() && *n != "_")
            .cloned()
            .unwrap_or_else(|| "_".to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Upstream {
    pub name: String,
    pub place: Place,
    pub scope: ScopeId,
}

/// One nginx instance: a main file and everything it includes.
#[derive(Debug, Clone)]
pub struct Nginx {
    pub main: FileId,
    /// Files read for this instance (main first).
    pub files: Vec<FileId>,
    pub scopes: Vec<Scope>,
    pub sites: Vec<Site>,
    pub upstreams: Vec<Upstream>,
    /// No nginx.conf: site files linted as fragments of an implied `http {}` (scope 1,
    /// which has no block in any file). Main-context values (`user`) are unknown.
    pub implied: bool,
}

/// Directives whose values are lists: inherited only when the child sets none of them.
pub const ARRAY_DIRECTIVES: &[&str] = &[
    "fastcgi_param",
    "fastcgi_pass_header",
    "fastcgi_hide_header",
    "fastcgi_catch_stderr",
    "fastcgi_cache_valid",
    "fastcgi_no_cache",
    "fastcgi_cache_bypass",
    "add_header",
    "error_page",
    "index",
    "access_log",
    "error_log",
];

/// A byte count as nginx writes sizes: `64k`, `1m`, or bytes.
pub fn format_size(b: u64) -> String {
    const K: u64 = 1024;
    if b > 0 && b % (K * K) == 0 {
        format!("{}m", b / (K * K))
    } else if b > 0 && b % K == 0 {
        format!("{}k", b / K)
    } else {
        b.to_string()
    }
}

/// nginx's built-in default for directives rules care about (x86-64 Linux).
pub fn default_value(name: &str) -> Option<&'static str> {
    Some(match name {
        "fastcgi_read_timeout" | "fastcgi_send_timeout" | "fastcgi_connect_timeout" => "60s",
        "fastcgi_buffer_size" => "4k",
        "fastcgi_buffers" => "8 4k",
        "proxy_read_timeout" | "proxy_send_timeout" | "proxy_connect_timeout" => "60s",
        "proxy_buffer_size" => "4k",
        "proxy_buffers" => "8 4k",
        "client_max_body_size" => "1m",
        "client_body_timeout" | "client_header_timeout" | "send_timeout" => "60s",
        "keepalive_timeout" => "75s",
        "user" => "nobody nobody",
        "error_log" => "logs/error.log error",
        "root" => "html",
        _ => return None,
    })
}

impl Nginx {
    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id]
    }

    /// The scope and its ancestors, innermost first.
    pub fn chain(&self, id: ScopeId) -> impl Iterator<Item = &Scope> {
        let mut next = Some(id);
        std::iter::from_fn(move || {
            let cur = next?;
            let s = self.scopes.get(cur)?;
            next = s.parent;
            Some(s)
        })
    }

    /// A scope's own directives with this name.
    pub fn own<'a>(&'a self, id: ScopeId, name: &'a str) -> impl Iterator<Item = &'a Dir> + 'a {
        self.scopes[id].named(name).into_iter()
    }

    /// The effective directive: the innermost scope that sets it wins (its last
    /// occurrence, as nginx keeps the last for most "set once" slots it tolerates).
    pub fn effective(&self, id: ScopeId, name: &str) -> Option<&Dir> {
        self.chain(id).find_map(|s| s.last_named(name))
    }

    /// Effective list directive: the innermost scope that sets any of them gives all of
    /// its own; outer ones are not merged in.
    pub fn effective_all(&self, id: ScopeId, name: &str) -> Vec<&Dir> {
        for s in self.chain(id) {
            let own = s.named(name);
            if !own.is_empty() {
                return own;
            }
        }
        Vec::new()
    }

    /// Effective value with its origin, or nginx's default. `fastcgi_busy_buffers_size`
    /// and `fastcgi_temp_file_write_size`, when not set, are what nginx derives
    /// (ngx_http_fastcgi_merge_loc_conf): twice the larger of the effective
    /// `fastcgi_buffer_size` and one `fastcgi_buffers` buffer.
    pub fn effective_value(&self, id: ScopeId, name: &str) -> Option<Sourced<String>> {
        match self.effective(id, name) {
            Some(d) => Some(Sourced::at(d.value_text(), d.place)),
            None if matches!(
                name,
                "fastcgi_busy_buffers_size" | "fastcgi_temp_file_write_size"
            ) =>
            {
                let size = |v: &str| crate::syntax::units::nginx_size(v.trim()).ok();
                let buffer = size(&self.effective_value(id, "fastcgi_buffer_size")?.value)?;
                let bufs = self.effective_value(id, "fastcgi_buffers")?;
                let one = size(bufs.value.split_whitespace().nth(1)?)?;
                Some(Sourced {
                    value: format_size(2 * buffer.max(one)),
                    origin: Origin::Default(
                        "nginx default: 2 × the larger of fastcgi_buffer_size and one fastcgi_buffers buffer",
                    ),
                })
            }
            None => default_value(name).map(|v| Sourced {
                value: v.to_string(),
                origin: Origin::Default("nginx default"),
            }),
        }
    }

    /// The `user` directive (main context) as (user, group), or nginx's default.
    pub fn user(&self) -> Sourced<(String, String)> {
        match self.own(0, "user").last() {
            Some(d) => {
                let u = d.arg(0).unwrap_or("nobody").to_string();
                let g = d.arg(1).map(str::to_string).unwrap_or_else(|| u.clone());
                Sourced::at((u, g), d.place)
            }
            None => Sourced::default(
                ("nobody".to_string(), "nogroup".to_string()),
                "nginx default (nobody)",
            ),
        }
    }

    pub fn scopes_of_kind(&self, kind: ScopeKind) -> impl Iterator<Item = (ScopeId, &Scope)> {
        self.scopes
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.kind == kind)
    }

    /// The server scope a scope belongs to.
    pub fn server_of(&self, id: ScopeId) -> Option<ScopeId> {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if self.scopes[c].kind == ScopeKind::Server {
                return Some(c);
            }
            cur = self.scopes[c].parent;
        }
        None
    }
}

/// The parsed files of one nginx instance and how includes connect them.
pub struct NginxInput<'a> {
    pub main: FileId,
    pub files: &'a HashMap<FileId, &'a nginx::File>,
    /// (file, span.start of an `include` directive) → the files it includes, in order.
    pub includes: &'a HashMap<(FileId, usize), Vec<FileId>>,
    /// Site files without an nginx.conf: walked, in order, inside an implied `http {}`
    /// (then `main` is the first of them). Empty for a real nginx.conf.
    pub fragments: &'a [FileId],
}

/// Build the model of one nginx instance.
pub fn build(input: &NginxInput) -> Nginx {
    let mut b = Builder {
        input,
        scopes: vec![Scope {
            kind: ScopeKind::Main,
            parent: None,
            args: Vec::new(),
            directives: Vec::new(),
            children: Vec::new(),
            block: None,
            index: None,
        }],
        active: Vec::new(),
        files: vec![input.main],
        seen: std::iter::once(input.main).collect(),
    };
    if input.fragments.is_empty() {
        if let Some(f) = input.files.get(&input.main) {
            b.active.push(input.main);
            b.walk(input.main, &f.items, 0, 0);
        }
    } else {
        b.scopes.push(Scope {
            kind: ScopeKind::Http,
            parent: Some(0),
            args: Vec::new(),
            directives: Vec::new(),
            children: Vec::new(),
            block: None,
            index: None,
        });
        b.scopes[0].children.push(1);
        for &frag in input.fragments {
            let Some(f) = input.files.get(&frag) else {
                continue;
            };
            if b.seen.insert(frag) {
                b.files.push(frag);
            }
            b.active = vec![frag];
            b.walk(frag, &f.items, 1, 1);
        }
    }
    let Builder {
        mut scopes, files, ..
    } = b;
    for s in &mut scopes {
        // The model lives as long as the run: no doubling slack (a 2,000-site host
        // has ~40,000 directives here).
        s.directives.shrink_to_fit();
        s.children.shrink_to_fit();
        s.build_index();
    }
    scopes.shrink_to_fit();
    let mut n = Nginx {
        main: input.main,
        files,
        scopes,
        sites: Vec::new(),
        upstreams: Vec::new(),
        implied: !input.fragments.is_empty(),
    };
    n.upstreams = collect_upstreams(&n);
    n.sites = collect_sites(&n);
    n
}

struct Builder<'a> {
    input: &'a NginxInput<'a>,
    scopes: Vec<Scope>,
    /// Files being expanded (cycle guard; the loader reports cycles).
    active: Vec<FileId>,
    files: Vec<FileId>,
    seen: foldhash::HashSet<FileId>,
}

impl Builder<'_> {
    fn walk(&mut self, file: FileId, items: &[Item], scope: ScopeId, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for item in items {
            let Item::Directive(d) = item else { continue };
            let name = compact_str::CompactString::from_utf8_lossy(&d.name.value);
            let dir = Dir {
                name: name.clone(),
                args: d
                    .args
                    .iter()
                    .map(|w| compact_str::CompactString::from_utf8_lossy(&w.value))
                    .collect(),
                place: Place::new(file, d.span),
                name_span: d.name.span,
                arg_spans: d.args.iter().map(|w| w.span).collect(),
                scope,
            };
            self.scopes[scope].directives.push(dir);
            if name == "include" {
                let targets = self
                    .input
                    .includes
                    .get(&(file, d.span.start))
                    .cloned()
                    .unwrap_or_default();
                for inc in targets {
                    if self.active.contains(&inc) {
                        continue;
                    }
                    let Some(f) = self.input.files.get(&inc) else {
                        continue;
                    };
                    if self.seen.insert(inc) {
                        self.files.push(inc);
                    }
                    self.active.push(inc);
                    self.walk(inc, &f.items, scope, depth + 1);
                    self.active.pop();
                }
                continue;
            }
            let Some(block) = d.block() else { continue };
            let kind = match name.as_str() {
                "events" => ScopeKind::Events,
                "http" => ScopeKind::Http,
                "server" if self.scopes[scope].kind != ScopeKind::Upstream => ScopeKind::Server,
                "location" => ScopeKind::Location,
                "if" => ScopeKind::If,
                "limit_except" => ScopeKind::LimitExcept,
                "upstream" => ScopeKind::Upstream,
                other => ScopeKind::Other(other.to_string()),
            };
            // `map` bodies are walked too: their entries (`key value;`) are what a
            // `fastcgi_pass $var;` can resolve to.
            let walk_body = !matches!(kind, ScopeKind::Other(_))
                || matches!(name.as_str(), "stream" | "mail" | "map");
            let id = self.scopes.len();
            self.scopes.push(Scope {
                kind,
                parent: Some(scope),
                args: d.args.iter().map(|w| w.text()).collect(),
                directives: Vec::new(),
                children: Vec::new(),
                block: Some(BlockAt {
                    file,
                    directive: d.span,
                    open: block.open,
                    close: block.close,
                }),
                index: None,
            });
            self.scopes[scope].children.push(id);
            if walk_body {
                self.walk(file, &block.items, id, depth + 1);
            }
        }
    }
}

fn collect_upstreams(n: &Nginx) -> Vec<Upstream> {
    n.scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == ScopeKind::Upstream)
        .filter_map(|(id, s)| {
            let block = s.block?;
            Some(Upstream {
                name: s.args.first().cloned().unwrap_or_default(),
                place: Place::new(block.file, block.directive),
                scope: id,
            })
        })
        .collect()
}

/// Parse an address as nginx's `fastcgi_pass`/upstream `server` take it.
pub fn parse_address(s: &str, default_port: u16) -> Option<Target> {
    if let Some(path) = s.strip_prefix("unix:") {
        return Some(Target::Unix(path.to_string()));
    }
    if s.contains('$') {
        return Some(Target::Variable(s.to_string()));
    }
    // [::1]:9000
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        return Some(Target::Tcp {
            host: host.to_string(),
            port,
        });
    }
    match s.rsplit_once(':') {
        Some((host, port)) => Some(Target::Tcp {
            host: host.to_string(),
            port: port.parse().ok()?,
        }),
        None => None,
    }
}

fn resolve_target(n: &Nginx, value: &str) -> Target {
    if let Some(t) = parse_address(value, 80) {
        return t;
    }
    // A bare name: an upstream block, or a host name with the default port.
    if let Some(u) = n.upstreams.iter().find(|u| u.name == value) {
        let servers = n
            .own(u.scope, "server")
            .filter_map(|d| {
                let addr = d.arg(0)?;
                let t = parse_address(addr, 80).unwrap_or_else(|| Target::Tcp {
                    host: addr.to_string(),
                    port: 80,
                });
                Some((t, d.arg_place(0)))
            })
            .collect();
        return Target::Upstream {
            name: value.to_string(),
            servers,
        };
    }
    Target::Undefined(value.to_string())
}

/// A value a variable can take, with the place it is written.
type Value = (String, Place);

/// The values `map` and `set` give each variable, read once for all locations.
struct VarValues {
    /// `$name` → (value, place of the value) from `map … $name { key value; }`.
    maps: HashMap<String, Vec<(String, Place)>>,
    /// (`$name`, server scope) → (value, place of the value) from `set $name value;`,
    /// by server so that a host with a `set` in each of thousands of servers stays linear.
    sets: HashMap<(String, Option<ScopeId>), Vec<Value>>,
}

impl VarValues {
    fn new(n: &Nginx) -> Self {
        let mut v = VarValues {
            maps: HashMap::default(),
            sets: HashMap::default(),
        };
        for (id, s) in n.scopes.iter().enumerate() {
            if s.kind == ScopeKind::Other("map".into()) {
                let Some(dst) = s.args.get(1) else { continue };
                let entries = v.maps.entry(var_name(dst)).or_default();
                for d in &s.directives {
                    if matches!(d.name.as_str(), "include" | "hostnames" | "volatile") {
                        continue;
                    }
                    if let Some(val) = d.arg(0) {
                        entries.push((val.to_string(), d.arg_place(0)));
                    }
                }
                continue;
            }
            for d in s.named("set") {
                let (Some(name), Some(val)) = (d.arg(0), d.arg(1)) else {
                    continue;
                };
                v.sets
                    .entry((var_name(name), n.server_of(id)))
                    .or_default()
                    .push((val.to_string(), d.arg_place(1)));
            }
        }
        v
    }

    /// Every value `$name` can take in a location of `server`: the map's entries
    /// (default included), and the `set`s of that server.
    fn values(&self, name: &str, server: Option<ScopeId>) -> Vec<(&str, Place)> {
        let mut out: Vec<(&str, Place)> = Vec::new();
        for (val, place) in self.maps.get(name).into_iter().flatten() {
            out.push((val, *place));
        }
        for (val, place) in self
            .sets
            .get(&(name.to_string(), server))
            .into_iter()
            .flatten()
        {
            out.push((val, *place));
        }
        out
    }
}

/// `$name` for `$name` and `${name}`.
fn var_name(written: &str) -> String {
    let inner = written.trim_start_matches('$');
    let inner = inner
        .strip_prefix('{')
        .and_then(|i| i.strip_suffix('}'))
        .unwrap_or(inner);
    format!("${inner}")
}

/// The first variable in a value, as written (`$backend`, `${ver}`).
fn first_var(value: &str) -> Option<&str> {
    let start = value.find('$')?;
    let rest = &value[start + 1..];
    let len = if rest.starts_with('{') {
        rest.find('}')? + 1
    } else {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    };
    (len > 0).then(|| &value[start..start + 1 + len])
}

/// Where a `fastcgi_pass` argument sends requests. A variable that `map`/`set` give
/// known values becomes a `Choice` of each value's target (its first variable is
/// substituted; a value still holding a variable stays unknown).
fn resolve_pass(n: &Nginx, vars: &VarValues, value: &str, server: Option<ScopeId>) -> Target {
    if !value.contains('$') {
        return resolve_target(n, value);
    }
    let Some(written) = first_var(value) else {
        return Target::Variable(value.to_string());
    };
    let var = var_name(written);
    let mut options: Vec<(Target, Place)> = Vec::new();
    for (val, place) in vars.values(&var, server) {
        let text = value.replacen(written, val, 1);
        let t = if text.contains('$') {
            Target::Variable(text)
        } else {
            resolve_target(n, &text)
        };
        if !options.iter().any(|(o, _)| *o == t) {
            options.push((t, place));
        }
    }
    if options.is_empty() {
        return Target::Variable(value.to_string());
    }
    Target::Choice { var, options }
}

/// Split a `proxy_pass` URL into scheme and host part (`http://127.0.0.1:8080/x` →
/// `http`, `127.0.0.1:8080`; `http://unix:/run/a.sock:/x` → `http`, `unix:/run/a.sock`).
pub fn split_proxy_url(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    if !scheme_ok {
        return None;
    }
    if let Some(path) = rest.strip_prefix("unix:") {
        // The socket path ends at the `:` before the URI, if any.
        let end = path.find(':').map(|i| i + 5).unwrap_or(rest.len());
        return Some((scheme, &rest[..end]));
    }
    let end = rest.find('/').unwrap_or(rest.len());
    Some((scheme, &rest[..end]))
}

/// Where a `proxy_pass` goes: an `upstream` of this nginx (by name, no port), a
/// socket, an address (default port by scheme) or a variable's known values.
fn resolve_proxy(n: &Nginx, vars: &VarValues, dir: Dir, server: Option<ScopeId>) -> Option<Proxy> {
    let url = dir.arg(0)?.to_string();
    if url.starts_with('$') && !url.contains("://") {
        // `proxy_pass $backend;`: the scheme is in the variable's values.
        return Some(Proxy {
            dir,
            scheme: String::new(),
            host: url.clone(),
            target: Target::Variable(url),
        });
    }
    let (scheme, host) = split_proxy_url(&url)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    let target = if host.contains('$') {
        resolve_pass(n, vars, host, server)
    } else if let Some(path) = host.strip_prefix("unix:") {
        Target::Unix(path.to_string())
    } else if n.upstreams.iter().any(|u| u.name == host) {
        resolve_target(n, host)
    } else {
        match parse_address(host, default_port) {
            Some(t) => t,
            None => Target::Tcp {
                host: host.to_string(),
                port: default_port,
            },
        }
    };
    let host = host.to_string();
    Some(Proxy {
        dir,
        scheme,
        host,
        target,
    })
}

fn collect_sites(n: &Nginx) -> Vec<Site> {
    let mut sites = Vec::new();
    let vars = VarValues::new(n);
    for (sid, s) in n.scopes.iter().enumerate() {
        if s.kind != ScopeKind::Server {
            continue;
        }
        let Some(block) = s.block else { continue };
        let server_names = n
            .own(sid, "server_name")
            .flat_map(|d| d.args.iter().map(|a| a.to_string()))
            .collect();
        let listen = n
            .own(sid, "listen")
            .filter_map(|d| d.arg(0).map(str::to_string))
            .collect();
        let root = n
            .effective(sid, "root")
            .map(|d| Sourced::at(d.value_text(), d.place));
        let mut locations = Vec::new();
        collect_locations(n, &vars, sid, &mut locations, 0);
        sites.push(Site {
            scope: sid,
            place: Place::new(block.file, block.directive),
            server_names,
            listen,
            root,
            locations,
        });
    }
    sites
}

fn collect_locations(
    n: &Nginx,
    vars: &VarValues,
    scope: ScopeId,
    out: &mut Vec<Location>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for &child in &n.scopes[scope].children {
        let s = &n.scopes[child];
        if s.kind != ScopeKind::Location {
            continue;
        }
        let Some(block) = s.block else { continue };
        let (modifier, pattern) = match s.args.as_slice() {
            [m, p, ..] if matches!(m.as_str(), "=" | "~" | "~*" | "^~") => (m.clone(), p.clone()),
            [p, ..] => {
                // `location ~\.php$` (modifier glued to the pattern) is accepted by nginx too.
                if let Some(rest) = p.strip_prefix("~*") {
                    ("~*".to_string(), rest.to_string())
                } else if let Some(rest) = p.strip_prefix('~') {
                    ("~".to_string(), rest.to_string())
                } else if let Some(rest) = p.strip_prefix('=') {
                    ("=".to_string(), rest.to_string())
                } else {
                    (String::new(), p.clone())
                }
            }
            [] => (String::new(), String::new()),
        };
        let fastcgi_pass = n.own(child, "fastcgi_pass").last().cloned().or_else(|| {
            s.children
                .iter()
                .filter(|c| n.scopes[**c].kind == ScopeKind::If)
                .find_map(|c| n.own(*c, "fastcgi_pass").last().cloned())
        });
        let target = fastcgi_pass
            .as_ref()
            .and_then(|d| d.arg(0))
            .map(|v| resolve_pass(n, vars, v, n.server_of(child)));
        let proxy = n
            .own(child, "proxy_pass")
            .last()
            .cloned()
            .or_else(|| {
                s.children
                    .iter()
                    .filter(|c| n.scopes[**c].kind == ScopeKind::If)
                    .find_map(|c| n.own(*c, "proxy_pass").last().cloned())
            })
            .and_then(|d| resolve_proxy(n, vars, d, n.server_of(child)));
        out.push(Location {
            scope: child,
            place: Place::new(block.file, block.directive),
            modifier,
            pattern,
            fastcgi_pass,
            target,
            pools: Vec::new(),
            role: Role::WordPress,
            proxy,
            backs: Vec::new(),
        });
        collect_locations(n, vars, child, out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_buffers_derived_as_nginx_does() {
        use crate::source::{SourceFile, SourceMap};
        let text = "http {\n fastcgi_buffer_size 32k;\n server {\n  location / { fastcgi_buffers 16 16k; }\n  location /b { fastcgi_buffers 4 64k; }\n  location /c { fastcgi_busy_buffers_size 48k; }\n }\n}\n";
        let mut sm = SourceMap::new();
        let id = sm.add(SourceFile::new(
            "n.conf",
            "n.conf",
            text.as_bytes().to_vec(),
        ));
        let parsed = nginx::parse(text.as_bytes());
        let files: HashMap<FileId, &nginx::File> = [(id, &parsed)].into_iter().collect();
        let n = build(&NginxInput {
            main: id,
            files: &files,
            includes: &HashMap::default(),
            fragments: &[],
        });
        let locs: Vec<ScopeId> = n
            .scopes_of_kind(ScopeKind::Location)
            .map(|(i, _)| i)
            .collect();
        let busy = |i: usize| {
            n.effective_value(locs[i], "fastcgi_busy_buffers_size")
                .unwrap()
                .value
        };
        // 2 × max(32k, 16k), 2 × max(32k, 64k), the location's own 48k.
        assert_eq!(busy(0), "64k");
        assert_eq!(busy(1), "128k");
        assert_eq!(busy(2), "48k");
        // Nothing set: 2 × max(4k, 4k) = 8k (one page on x86-64).
        let empty = build(&NginxInput {
            main: id,
            files: &HashMap::default(),
            includes: &HashMap::default(),
            fragments: &[],
        });
        assert_eq!(
            empty
                .effective_value(0, "fastcgi_busy_buffers_size")
                .unwrap()
                .value,
            "8k"
        );
        assert_eq!(
            n.effective_value(locs[0], "fastcgi_temp_file_write_size")
                .unwrap()
                .value,
            "64k"
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("unix:/run/php/php8.2-fpm.sock", 80),
            Some(Target::Unix("/run/php/php8.2-fpm.sock".into()))
        );
        assert_eq!(
            parse_address("127.0.0.1:9000", 80),
            Some(Target::Tcp {
                host: "127.0.0.1".into(),
                port: 9000
            })
        );
        assert_eq!(
            parse_address("[::1]:9000", 80),
            Some(Target::Tcp {
                host: "::1".into(),
                port: 9000
            })
        );
        assert_eq!(parse_address("php", 80), None);
    }
}
