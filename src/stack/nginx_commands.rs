//! nginx's own directive tables (`ngx_command_t`): every directive's allowed contexts
//! and argument flags, as data read from nginx's sources
//! (`data/nginx-directives-1.22.1.tsv`, written by `tools/nginx-commands.py`), and the
//! checks `ngx_conf_handler` makes with them (unknown directive, not allowed here,
//! invalid number of arguments, `;` vs `{`).

use std::sync::OnceLock;

/// The nginx version the table was read from.
pub const VERSION: &str = "1.22.1";

const DATA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/nginx-directives-1.22.1.tsv"
));

/// A module's type (`NGX_*_MODULE`): nginx only looks at the modules of the block's
/// type (and `NGX_CONF_MODULE`, which holds `include`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModType {
    Core,
    Conf,
    Event,
    Http,
    Stream,
    Mail,
}

/// A configuration context (`cf->cmd_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ctx {
    Main,
    Events,
    Http,
    Server,
    Location,
    Upstream,
    ServerIf,
    LocationIf,
    LimitExcept,
    Stream,
    StreamServer,
    StreamUpstream,
    Mail,
    MailServer,
}

impl Ctx {
    fn bit(self) -> u32 {
        1 << (self as u32)
    }
    fn from_name(s: &str) -> Option<u32> {
        Some(match s {
            "any" => u32::MAX,
            "main" => Ctx::Main.bit(),
            "events" => Ctx::Events.bit(),
            "http" => Ctx::Http.bit(),
            "server" => Ctx::Server.bit(),
            "location" => Ctx::Location.bit(),
            "upstream" => Ctx::Upstream.bit(),
            "server-if" => Ctx::ServerIf.bit(),
            "location-if" => Ctx::LocationIf.bit(),
            "limit_except" => Ctx::LimitExcept.bit(),
            "stream" => Ctx::Stream.bit(),
            "stream-server" => Ctx::StreamServer.bit(),
            "stream-upstream" => Ctx::StreamUpstream.bit(),
            "mail" => Ctx::Mail.bit(),
            "mail-server" => Ctx::MailServer.bit(),
            _ => return None,
        })
    }
    /// The module type nginx reads directives of in this context.
    pub fn module_type(self) -> ModType {
        match self {
            Ctx::Main => ModType::Core,
            Ctx::Events => ModType::Event,
            Ctx::Stream | Ctx::StreamServer | Ctx::StreamUpstream => ModType::Stream,
            Ctx::Mail | Ctx::MailServer => ModType::Mail,
            _ => ModType::Http,
        }
    }
}

// Argument flags, as in ngx_conf_file.h: bit n = "takes n arguments" for n ≤ 7.
const NOARGS: u32 = 1;
const BLOCK: u32 = 1 << 8;
const FLAG: u32 = 1 << 9;
const ANY: u32 = 1 << 10;
const MORE1: u32 = 1 << 11;
const MORE2: u32 = 1 << 12;

fn arg_flag(s: &str) -> Option<u32> {
    let take = |ns: &str| -> u32 {
        ns.bytes()
            .map(|b| 1u32 << (b - b'0') as u32)
            .fold(0, |a, b| a | b)
    };
    Some(match s {
        "NOARGS" => NOARGS,
        "BLOCK" => BLOCK,
        "FLAG" => FLAG,
        "ANY" => ANY,
        "1MORE" => MORE1,
        "2MORE" => MORE2,
        _ => {
            let ns = s.strip_prefix("TAKE")?;
            if ns.is_empty() || !ns.bytes().all(|b| (b'1'..=b'7').contains(&b)) {
                return None;
            }
            take(ns)
        }
    })
}

/// Where a module comes from in the build the table describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    Static,
    /// A dynamic module: its directives exist only after `load_module` of this file.
    Dynamic(&'static str),
}

/// One `ngx_command_t` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: &'static str,
    pub module: &'static str,
    pub mtype: ModType,
    contexts: u32,
    args: u32,
    pub build: Build,
}

impl Command {
    pub fn allowed_in(&self, ctx: Ctx) -> bool {
        (self.mtype == ModType::Conf || self.mtype == ctx.module_type())
            && self.contexts & ctx.bit() != 0
    }
    pub fn is_block(&self) -> bool {
        self.args & BLOCK != 0
    }
    /// ngx_conf_handler's argument count check (`nargs` without the name).
    pub fn args_ok(&self, nargs: usize) -> bool {
        let t = self.args;
        if t & ANY != 0 {
            true
        } else if t & FLAG != 0 {
            nargs == 1
        } else if t & MORE1 != 0 {
            nargs >= 1
        } else if t & MORE2 != 0 {
            nargs >= 2
        } else if nargs > 7 {
            false
        } else {
            t & (1 << nargs) != 0
        }
    }
}

/// The whole table, in the order of nginx's sources.
pub fn table() -> &'static [Command] {
    static TABLE: OnceLock<Vec<Command>> = OnceLock::new();
    TABLE.get_or_init(|| {
        DATA.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<&'static str> = l.split('\t').collect();
                let [name, module, mtype, contexts, args, build] = f[..] else {
                    return None;
                };
                let mtype = match mtype {
                    "core" => ModType::Core,
                    "conf" => ModType::Conf,
                    "event" => ModType::Event,
                    "http" => ModType::Http,
                    "stream" => ModType::Stream,
                    "mail" => ModType::Mail,
                    _ => return None,
                };
                let contexts = contexts
                    .split(',')
                    .filter_map(Ctx::from_name)
                    .fold(0, |a, b| a | b);
                let args = args.split(',').filter_map(arg_flag).fold(0, |a, b| a | b);
                let build = match build.strip_prefix("dynamic:") {
                    Some(so) => Build::Dynamic(so),
                    None => Build::Static,
                };
                Some(Command {
                    name,
                    module,
                    mtype,
                    contexts,
                    args,
                    build,
                })
            })
            .collect()
    })
}

/// The dynamic module files the table knows (`ngx_stream_module.so`…).
pub fn known_dynamic(so: &str) -> bool {
    table()
        .iter()
        .any(|c| matches!(c.build, Build::Dynamic(d) if d == so))
}

/// What nginx says about a directive name in a context, given the loaded dynamic
/// modules (ngx_conf_handler's walk over the loaded modules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Allowed here: the entry nginx uses.
    Here(&'a Command),
    /// Known to a loaded module, not in this context.
    NotAllowedHere,
    /// No loaded module knows it; `Some(so)` when a dynamic module we know (not
    /// loaded) has it.
    Unknown(Option<&'static str>),
}

/// Name → positions in `table()`.
fn index() -> &'static foldhash::HashMap<&'static str, Vec<usize>> {
    static INDEX: OnceLock<foldhash::HashMap<&'static str, Vec<usize>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m: foldhash::HashMap<&'static str, Vec<usize>> = Default::default();
        for (i, c) in table().iter().enumerate() {
            m.entry(c.name).or_default().push(i);
        }
        m
    })
}

pub fn lookup(name: &str, ctx: Ctx, loaded: &dyn Fn(&str) -> bool) -> Lookup<'static> {
    let mut found = false;
    let mut dynamic = None;
    let entries = index().get(name).map(Vec::as_slice).unwrap_or_default();
    for c in entries.iter().map(|i| &table()[*i]) {
        if let Build::Dynamic(so) = c.build {
            if !loaded(so) {
                // The module whose context fits is the one meant.
                if dynamic.is_none() || c.allowed_in(ctx) {
                    dynamic = Some(so);
                }
                continue;
            }
        }
        found = true;
        if c.allowed_in(ctx) {
            return Lookup::Here(c);
        }
    }
    if found {
        Lookup::NotAllowedHere
    } else {
        Lookup::Unknown(dynamic)
    }
}

const NEWER: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/nginx-directives-newer.tsv"
));
const THIRD_PARTY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/nginx-third-party.tsv"
));

fn rows(data: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    data.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

/// A directive a later nginx added: (first release that has it, its module).
pub fn newer(name: &str) -> Option<(&'static str, &'static str)> {
    rows(NEWER).find_map(|r| match r[..] {
        [n, since, module] if n == name => Some((since, module)),
        _ => None,
    })
}

/// A widely used third-party module that has this directive (name, prefix or suffix).
pub fn third_party(name: &str) -> Option<&'static str> {
    rows(THIRD_PARTY).find_map(|r| {
        let [pat, module] = r[..] else { return None };
        let hit = if let Some(p) = pat.strip_suffix('*') {
            name.starts_with(p)
        } else if let Some(s) = pat.strip_prefix('*') {
            name.ends_with(s)
        } else {
            name == pat
        };
        hit.then_some(module)
    })
}

/// The modules the table covers, for the rule doc: (module, build).
pub fn modules() -> Vec<(&'static str, Build)> {
    let mut out: Vec<(&'static str, Build)> = Vec::new();
    for c in table() {
        if !out.iter().any(|(m, _)| *m == c.module) {
            out.push((c.module, c.build));
        }
    }
    out
}

/// The closest known directive to a misspelled one: among names usable in this
/// context first, then any name; Damerau–Levenshtein distance at most 2 (1 for names
/// of 4 letters or fewer).
pub fn did_you_mean(name: &str, ctx: Ctx, loaded: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    let max = if name.len() <= 4 { 1 } else { 2 };
    let usable = |c: &Command| match c.build {
        Build::Static => true,
        Build::Dynamic(so) => loaded(so),
    };
    let best = |here: bool| {
        table()
            .iter()
            .filter(|c| usable(c) && (!here || c.allowed_in(ctx)))
            .map(|c| (strsim::damerau_levenshtein(name, c.name), c.name))
            .filter(|(d, _)| *d <= max)
            .min()
            .map(|(_, n)| n)
    };
    best(true).or_else(|| best(false))
}

/// The one directive usable in this context exactly one edit (Damerau–Levenshtein)
/// away from `name`, when there is exactly one: a misspelling that can be corrected
/// without guessing.
pub fn one_edit_away(
    name: &str,
    ctx: Ctx,
    loaded: &dyn Fn(&str) -> bool,
) -> Option<&'static Command> {
    let mut hits = table().iter().filter(|c| {
        c.allowed_in(ctx)
            && match c.build {
                Build::Static => true,
                Build::Dynamic(so) => loaded(so),
            }
            && strsim::damerau_levenshtein(name, c.name) == 1
    });
    let first = hits.next()?;
    // The same name from two modules (`server`) is still one name.
    hits.all(|c| c.name == first.name).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_reads_nginx_flags() {
        assert!(table().len() > 500);
        let none = |_: &str| false;
        let Lookup::Here(c) = lookup("fastcgi_buffers", Ctx::Location, &none) else {
            panic!()
        };
        assert!(c.args_ok(2) && !c.args_ok(1) && !c.args_ok(3));
        assert_eq!(
            lookup("fastcgi_pass", Ctx::Server, &none),
            Lookup::NotAllowedHere
        );
        assert_eq!(
            lookup("proxy_passs", Ctx::Location, &none),
            Lookup::Unknown(None)
        );
        assert_eq!(
            lookup("stream", Ctx::Main, &none),
            Lookup::Unknown(Some("ngx_stream_module.so"))
        );
        let stream = |so: &str| so == "ngx_stream_module.so";
        assert!(matches!(
            lookup("stream", Ctx::Main, &stream),
            Lookup::Here(_)
        ));
        // `server` in an upstream is the upstream module's, taking an address.
        let Lookup::Here(c) = lookup("server", Ctx::Upstream, &none) else {
            panic!()
        };
        assert!(!c.is_block() && c.args_ok(3));
        assert!(matches!(
            lookup("include", Ctx::Events, &none),
            Lookup::Here(_)
        ));
        let Lookup::Here(gzip) = lookup("gzip", Ctx::Http, &none) else {
            panic!()
        };
        assert!(gzip.args_ok(1) && !gzip.args_ok(2));
        assert_eq!(
            did_you_mean("proxy_passs", Ctx::Location, &none),
            Some("proxy_pass")
        );
        assert_eq!(newer("http2"), Some(("1.25.1", "ngx_http_v2_module")));
        assert!(third_party("more_set_headers").is_some());
        assert!(third_party("content_by_lua_block").is_some());
        assert_eq!(third_party("proxy_passs"), None);
        let Lookup::Unknown(Some(so)) = lookup("geoip_country", Ctx::Http, &none) else {
            panic!()
        };
        assert_eq!(so, "ngx_http_geoip_module.so");
        assert_eq!(did_you_mean("wordpress", Ctx::Location, &none), None);
    }
}
