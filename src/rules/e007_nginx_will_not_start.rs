//! E007 nginx-will-not-start: what `nginx -t` refuses beyond syntax — an unknown
//! directive, one not allowed in its block, a wrong argument count, `;` vs `{`
//! (ngx_conf_handler with nginx's own command tables), the buffer-family checks of
//! the proxy/fastcgi/uwsgi/scgi merge functions, a duplicate `listen` in one server or
//! a second `default_server` for one address, and `location` nesting nginx rejects.
//!
//! Left to other rules: syntax (E001), `"x" directive is duplicate` (E003), values a
//! directive's own parser rejects (E004), includes (E005). Files with a syntax error
//! are skipped (nginx stops at the syntax error; E001 says where).

use crate::finding::{Finding, Place, Severity};
use crate::fix::{Edit, Fix};
use crate::rules::Context;
use crate::stack::nginx_commands::{self, Ctx, Lookup};
use crate::stack::nginx_model::format_size;
use crate::stack::{Dir, Nginx, ScopeId, ScopeKind};
use crate::syntax::units;
use foldhash::{HashMap, HashSet};

crate::declare_rule!(
    "E007",
    "nginx-will-not-start",
    Error,
    Safe,
    "nginx -t refuses the configuration: unknown or misplaced directive, wrong argument count, buffer sizes, duplicate listen, location nesting",
    check
);

const CONSEQUENCE: &str =
    "nginx -t fails: a reload is refused (the old configuration keeps running) and a restart leaves every site down";

fn emerg(text: &str) -> String {
    format!("nginx will not start: `[emerg] {text}` — {CONSEQUENCE}")
}

fn emerg_with(text: &str, detail: &str) -> String {
    format!("nginx will not start: `[emerg] {text}` ({detail}) — {CONSEQUENCE}")
}

/// The context nginx parses a scope's directives in; `None` for bodies nginx reads
/// with its own handler (`map`, `types`, `geo`…) or blocks it never opens.
fn context(n: &Nginx, id: ScopeId) -> Option<Ctx> {
    let s = n.scope(id);
    let parent = s.parent.map(|p| &n.scope(p).kind);
    let other = |name: &str| matches!(parent, Some(ScopeKind::Other(o)) if o == name);
    Some(match &s.kind {
        ScopeKind::Main => Ctx::Main,
        ScopeKind::Events => Ctx::Events,
        ScopeKind::Http => Ctx::Http,
        ScopeKind::Server if parent == Some(&ScopeKind::Http) => Ctx::Server,
        ScopeKind::Server if other("stream") => Ctx::StreamServer,
        ScopeKind::Server if other("mail") => Ctx::MailServer,
        ScopeKind::Location => Ctx::Location,
        ScopeKind::If if parent == Some(&ScopeKind::Server) => Ctx::ServerIf,
        ScopeKind::If if parent == Some(&ScopeKind::Location) => Ctx::LocationIf,
        ScopeKind::LimitExcept => Ctx::LimitExcept,
        ScopeKind::Upstream if parent == Some(&ScopeKind::Http) => Ctx::Upstream,
        ScopeKind::Upstream if other("stream") => Ctx::StreamUpstream,
        ScopeKind::Other(o) if o == "stream" => Ctx::Stream,
        ScopeKind::Other(o) if o == "mail" => Ctx::Mail,
        _ => return None,
    })
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    let broken: HashSet<_> = stack
        .files
        .iter()
        .filter(|f| !f.syntax.errors().is_empty())
        .map(|f| f.id)
        .collect();
    let mut seen = HashSet::default();
    for n in &stack.nginx {
        let mut found = Vec::new();
        directives(n, &broken, &mut found);
        listens(n, &broken, &mut found);
        locations(n, &broken, &mut found);
        buffers(n, &mut found);
        // A file included from several places (or two nginx instances sharing it) is
        // one finding.
        for f in found {
            if seen.insert((f.primary, f.message.clone())) {
                out.push(f);
            }
        }
    }
}

/// ngx_conf_handler: unknown directive, not allowed here, `;`/`{`, argument count.
fn directives(n: &Nginx, broken: &HashSet<crate::source::FileId>, out: &mut Vec<Finding>) {
    let loaded_so: Vec<String> = n
        .scope(0)
        .named("load_module")
        .iter()
        .filter_map(|d| d.arg(0))
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .collect();
    // A module we have no table for: its directives are unknown to us, not to nginx.
    let foreign: Vec<&Dir> = n
        .scope(0)
        .named("load_module")
        .into_iter()
        .filter(|d| {
            d.arg(0)
                .is_some_and(|p| !nginx_commands::known_dynamic(p.rsplit('/').next().unwrap_or(p)))
        })
        .collect();
    let loaded = |so: &str| loaded_so.iter().any(|l| l == so);
    let mut hints: HashMap<(String, Ctx), Option<&'static str>> = HashMap::default();
    // Walk from the top so that the body of a refused block is not judged too (nginx
    // never reads it).
    let mut stack_ids = vec![0usize];
    let mut infos = HashSet::default();
    while let Some(id) = stack_ids.pop() {
        let Some(ctx) = context(n, id) else { continue };
        // Site files linted without their nginx.conf sit in an implied `http {}`: they
        // may really be snippets included in a server or location, so only the
        // directive itself and its arguments are judged there, not the context.
        let implied_top = n.implied && id <= 1;
        // Every block directive made one child scope, in order.
        let mut children = n.scope(id).children.iter().peekable();
        for d in &n.scope(id).directives {
            let child = children
                .next_if(|c| {
                    n.scope(**c)
                        .block
                        .is_some_and(|b| b.file == d.place.file && b.directive == d.place.span)
                })
                .copied();
            let opens = child.is_some();
            let problem = if broken.contains(&d.place.file) {
                Some(None)
            } else {
                let mut hint = |name: &str| {
                    *hints
                        .entry((name.to_string(), ctx))
                        .or_insert_with(|| nginx_commands::did_you_mean(name, ctx, &loaded))
                };
                let env = Env {
                    n,
                    loaded: &loaded,
                    foreign: !foreign.is_empty(),
                    hint: &mut hint,
                };
                judge(env, d, ctx, opens, implied_top)
            };
            match problem {
                // An assumption (newer nginx, a module built in) is said once per name
                // (per module for a third-party module).
                Some(Some(f)) if f.severity == Severity::Info => {
                    let key = nginx_commands::third_party(&d.name)
                        .map_or_else(|| d.name.to_string(), str::to_string);
                    if infos.insert(key) {
                        out.push(f);
                    }
                }
                Some(Some(f)) => out.push(f),
                Some(None) => {}
                None => {
                    if let Some(child) = child {
                        stack_ids.push(child);
                    }
                }
            }
        }
    }
}

/// What judging a directive needs besides the directive.
struct Env<'a> {
    n: &'a Nginx,
    loaded: &'a dyn Fn(&str) -> bool,
    /// A module without a table is loaded.
    foreign: bool,
    /// "did you mean", memoized per name and context.
    hint: &'a mut dyn FnMut(&str) -> Option<&'static str>,
}

/// `None`: fine, read its block; `Some(None)`: stop here without a finding;
/// `Some(Some(f))`: nginx refuses it.
fn judge(env: Env, d: &Dir, ctx: Ctx, opens: bool, implied_top: bool) -> Option<Option<Finding>> {
    let Env {
        n,
        loaded,
        foreign,
        hint,
    } = env;
    let name_place = Place::new(d.place.file, d.name_span);
    let name = d.name.as_str();
    if name.starts_with('$') || name.is_empty() {
        return Some(None);
    }
    let cmd = match nginx_commands::lookup(name, ctx, loaded) {
        Lookup::Here(c) => c,
        Lookup::NotAllowedHere if implied_top => return None,
        Lookup::NotAllowedHere => {
            return Some(Some(Finding::at(
                &RULE,
                name_place,
                emerg(&format!("\"{name}\" directive is not allowed here")),
            )));
        }
        Lookup::Unknown(_) if foreign => {
            // Assumed to come from the third-party module; nothing to say.
            return Some(None);
        }
        Lookup::Unknown(Some(so)) => {
            return Some(Some(
                Finding::at(
                    &RULE,
                    name_place,
                    format!(
                        "\"{name}\" comes from the dynamic module {so}, which this configuration does not load: Debian's nginx refuses it (`[emerg] unknown directive \"{name}\"`) until `load_module modules/{so};` (the libnginx-mod package's modules-enabled/*.conf) is read; builds that compile the module in (nginx.org, the Docker image) accept it"
                    ),
                )
                .severity(Severity::Info)
                .assume("the nginx that reads this is built like Debian's (the module is dynamic)"),
            ));
        }
        Lookup::Unknown(None) => {
            if let Some((since, module)) = nginx_commands::newer(name) {
                return Some(Some(
                    Finding::at(
                        &RULE,
                        name_place,
                        format!(
                            "\"{name}\" exists only since nginx {since} ({module}): nginx {} (Debian 12) and older refuse it (`[emerg] unknown directive \"{name}\"`)",
                            nginx_commands::VERSION
                        ),
                    )
                    .severity(Severity::Info)
                    .assume(format!("the nginx that reads this is {since} or later")),
                ));
            }
            if let Some(module) = nginx_commands::third_party(name) {
                return Some(Some(
                    Finding::at(
                        &RULE,
                        name_place,
                        format!(
                            "\"{name}\" comes from the third-party module {module}: nginx refuses it (`[emerg] unknown directive \"{name}\"`) unless that module is compiled in or loaded"
                        ),
                    )
                    .severity(Severity::Info)
                    .assume(format!("this nginx is built with {module}")),
                ));
            }
            let hint = hint(name)
                .map(|m| format!("did you mean \"{m}\"? "))
                .unwrap_or_default();
            // A misspelling one edit away from exactly one directive that fits here
            // (same arguments, `;` or `{`, not already in this block) is corrected.
            let fix = nginx_commands::one_edit_away(name, ctx, loaded)
                .filter(|c| {
                    c.args_ok(d.args.len())
                        && c.is_block() == opens
                        && n.scope(d.scope).named(c.name).is_empty()
                })
                .map(|c| {
                    Fix::safe(
                        format!("rename {name} to {}", c.name),
                        vec![Edit::replace(d.place.file, d.name_span, c.name)],
                    )
                });
            return Some(Some(
                Finding::at(
                    &RULE,
                    name_place,
                    format!(
                        "nginx will not start: `[emerg] unknown directive \"{name}\"` — {hint}{CONSEQUENCE}"
                    ),
                )
                .with_fix(fix),
            ));
        }
    };
    let text = if !cmd.is_block() && opens {
        format!("directive \"{name}\" is not terminated by \";\"")
    } else if cmd.is_block() && !opens {
        format!("directive \"{name}\" has no opening \"{{\"")
    } else if !cmd.args_ok(d.args.len()) {
        format!("invalid number of arguments in \"{name}\" directive")
    } else {
        return None;
    };
    Some(Some(Finding::at(&RULE, name_place, emerg(&text))))
}

/// `listen` address text as nginx prints it (ngx_sock_ntop of the parsed address):
/// `80` → `0.0.0.0:80`. `None` for what we cannot place (host names, variables).
fn listen_addr(arg: &str) -> Option<String> {
    if arg.starts_with("unix:") {
        return Some(arg.to_string());
    }
    if let Some(rest) = arg.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip: std::net::Ipv6Addr = ip.parse().ok()?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse::<u16>().ok()?,
            None if after.is_empty() => 80,
            None => return None,
        };
        return Some(format!("[{ip}]:{port}"));
    }
    let (host, port) = match arg.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()?),
        None => match arg.parse::<u16>() {
            Ok(p) => ("*", p),
            Err(_) => (arg, 80),
        },
    };
    let ip: std::net::Ipv4Addr = if host == "*" {
        std::net::Ipv4Addr::UNSPECIFIED
    } else {
        host.parse().ok()?
    };
    Some(format!("{ip}:{port}"))
}

/// ngx_http_add_addresses / ngx_http_add_listen: the same address twice in one
/// server, or a second `default_server` for one address in the http block.
fn listens(n: &Nginx, broken: &HashSet<crate::source::FileId>, out: &mut Vec<Finding>) {
    let mut default_for: HashMap<String, Place> = HashMap::default();
    for (id, s) in n.scopes_of_kind(ScopeKind::Server) {
        if context(n, id) != Some(Ctx::Server) {
            continue;
        }
        let mut mine: HashMap<String, Place> = HashMap::default();
        for d in s.named("listen") {
            if broken.contains(&d.place.file) {
                continue;
            }
            let Some(addr) = d.arg(0).and_then(listen_addr) else {
                continue;
            };
            let place = Place::new(d.place.file, d.name_span);
            if let Some(first) = mine.get(&addr) {
                out.push(
                    Finding::at(&RULE, place, emerg(&format!("a duplicate listen {addr}")))
                        .related(*first, "first listen on this address in this server"),
                );
                continue;
            }
            mine.insert(addr.clone(), place);
            let is_default = d.args[1..]
                .iter()
                .any(|a| a == "default_server" || a == "default");
            if is_default {
                if let Some(first) = default_for.get(&addr) {
                    out.push(
                        Finding::at(
                            &RULE,
                            place,
                            emerg(&format!("a duplicate default server for {addr}")),
                        )
                        .related(*first, "the first default_server for this address"),
                    );
                } else {
                    default_for.insert(addr, place);
                }
            }
        }
    }
}

/// A location's name as nginx keeps it, and whether it is exact / named / a regex.
fn location_name(args: &[String]) -> Option<(String, &'static str)> {
    match args {
        [m, name] => Some((
            name.clone(),
            match m.as_str() {
                "=" => "exact",
                "^~" => "prefix",
                "~" | "~*" => "regex",
                _ => return None,
            },
        )),
        [one] => {
            let (name, kind) = if let Some(r) = one.strip_prefix('=') {
                (r, "exact")
            } else if let Some(r) = one.strip_prefix("^~") {
                (r, "prefix")
            } else if let Some(r) = one.strip_prefix("~*").or_else(|| one.strip_prefix('~')) {
                (r, "regex")
            } else if one.starts_with('@') {
                (one.as_str(), "named")
            } else {
                (one.as_str(), "prefix")
            };
            Some((name.to_string(), kind))
        }
        _ => None,
    }
}

/// ngx_http_core_location: modifiers and nesting.
fn locations(n: &Nginx, broken: &HashSet<crate::source::FileId>, out: &mut Vec<Finding>) {
    for (_, s) in n.scopes_of_kind(ScopeKind::Location) {
        let Some(block) = s.block else { continue };
        if broken.contains(&block.file) {
            continue;
        }
        let place = Place::new(block.file, block.directive);
        if let [m, _] = &s.args[..] {
            if !matches!(m.as_str(), "=" | "^~" | "~" | "~*") {
                out.push(Finding::at(
                    &RULE,
                    place,
                    emerg(&format!("invalid location modifier \"{m}\"")),
                ));
                continue;
            }
        }
        let Some(parent) = s.parent.filter(|p| n.scope(*p).kind == ScopeKind::Location) else {
            continue;
        };
        // The parent was judged on its own (modifier, context) first.
        let (Some((name, kind)), Some((pname, pkind))) =
            (location_name(&s.args), location_name(&n.scope(parent).args))
        else {
            continue;
        };
        let text = if pkind == "exact" {
            format!("location \"{name}\" cannot be inside the exact location \"{pname}\"")
        } else if pkind == "named" {
            format!("location \"{name}\" cannot be inside the named location \"{pname}\"")
        } else if kind == "named" {
            format!("named location \"{name}\" can be on the server level only")
        } else if kind != "regex" && !name.starts_with(pname.as_str()) {
            format!("location \"{name}\" is outside location \"{pname}\"")
        } else {
            continue;
        };
        out.push(
            Finding::at(&RULE, place, emerg(&text)).related(
                Place::new(
                    block.file,
                    n.scope(parent)
                        .block
                        .map_or(block.directive, |b| b.directive),
                ),
                "the enclosing location",
            ),
        );
    }
}

/// Each module of the buffer family with its directives, in the order [`buffers`]
/// reads them (named once, not formatted per scope: a big host has 14,000 scopes).
const BUFFER_FAMILIES: [(&str, [&str; 5]); 4] = [
    (
        "proxy",
        [
            "proxy_buffer_size",
            "proxy_buffers",
            "proxy_busy_buffers_size",
            "proxy_temp_file_write_size",
            "proxy_max_temp_file_size",
        ],
    ),
    (
        "fastcgi",
        [
            "fastcgi_buffer_size",
            "fastcgi_buffers",
            "fastcgi_busy_buffers_size",
            "fastcgi_temp_file_write_size",
            "fastcgi_max_temp_file_size",
        ],
    ),
    (
        "uwsgi",
        [
            "uwsgi_buffer_size",
            "uwsgi_buffers",
            "uwsgi_busy_buffers_size",
            "uwsgi_temp_file_write_size",
            "uwsgi_max_temp_file_size",
        ],
    ),
    (
        "scgi",
        [
            "scgi_buffer_size",
            "scgi_buffers",
            "scgi_busy_buffers_size",
            "scgi_temp_file_write_size",
            "scgi_max_temp_file_size",
        ],
    ),
];

/// The merge-time checks of ngx_http_{proxy,fastcgi,uwsgi,scgi}_merge_loc_conf, on
/// every server and location nginx merges (defaults: buffer_size one page, 8 buffers
/// of one page; busy and temp_file_write_size twice the larger of those).
fn buffers(n: &Nginx, out: &mut Vec<Finding>) {
    const PAGE: u64 = 4096;
    let merged = |id: usize| match n.scopes[id].kind {
        ScopeKind::Server => context(n, id) == Some(Ctx::Server),
        ScopeKind::Location | ScopeKind::If | ScopeKind::LimitExcept => true,
        _ => false,
    };
    // Which families each scope sets itself (bit i: BUFFER_FAMILIES[i]), in one pass.
    let own: Vec<u8> = n
        .scopes
        .iter()
        .map(|s| {
            s.directives.iter().fold(0u8, |mask, d| {
                let name = d.name.as_str();
                if !(name.ends_with("_size") || name.ends_with("_buffers")) {
                    return mask;
                }
                BUFFER_FAMILIES
                    .iter()
                    .position(|(_, names)| names.contains(&name))
                    .map_or(mask, |i| mask | 1 << i)
            })
        })
        .collect();
    for (id, s) in n.scopes.iter().enumerate() {
        if !merged(id) {
            continue;
        }
        // A block inside a merged one that sets none of a family's directives has its
        // parent's values: the parent's check already said all there is to say.
        let inherits_checked = s.parent.is_some_and(&merged);
        for (i, (p, names)) in BUFFER_FAMILIES.iter().enumerate() {
            if inherits_checked && own[id] & (1 << i) == 0 {
                continue;
            }
            let dirs: [Option<&Dir>; 5] = names.map(|nm| n.effective(id, nm));
            if dirs.iter().all(Option::is_none) {
                continue;
            }
            // Set twice in one block: nginx stops on `is duplicate` (E003) first.
            if n.chain(id)
                .any(|sc| names.iter().any(|nm| sc.named(nm).len() > 1))
            {
                continue;
            }
            let size = |d: Option<&Dir>, i: usize, def: u64| -> Option<u64> {
                match d {
                    Some(d) => units::nginx_size(d.arg(i)?).ok(),
                    None => Some(def),
                }
            };
            // A value its own parser refuses is E004's; nginx never gets here.
            let Some(buffer) = size(dirs[0], 0, PAGE) else {
                continue;
            };
            let (num, one) = match dirs[1] {
                Some(d) => {
                    let (Some(Ok(num)), Some(Ok(one))) = (
                        d.arg(0).map(|v| v.parse::<u64>()),
                        d.arg(1).map(units::nginx_size),
                    ) else {
                        continue;
                    };
                    (num, one)
                }
                None => (8, PAGE),
            };
            let max = buffer.max(one);
            let Some(busy) = size(dirs[2], 0, 2 * max) else {
                continue;
            };
            let Some(temp) = size(dirs[3], 0, 2 * max) else {
                continue;
            };
            let max_temp = match dirs[4] {
                Some(d) => match d.arg(0).map(units::nginx_offset) {
                    Some(Ok(v)) => v,
                    _ => continue,
                },
                None => 1 << 30,
            };
            let both = format!(
                "the maximum of the value of \"{p}_buffer_size\" and one of the \"{p}_buffers\""
            );
            // (message, the directives it rests on: the first set one is where we point)
            let (text, on): (String, &[usize]) = if num < 2 {
                (format!("there must be at least 2 \"{p}_buffers\""), &[1])
            } else if busy < max {
                (
                    format!("\"{p}_busy_buffers_size\" must be equal to or greater than {both}"),
                    &[2, 0, 1],
                )
            } else if busy > (num - 1) * one {
                (format!("\"{p}_busy_buffers_size\" must be less than the size of all \"{p}_buffers\" minus one buffer"), &[2, 1, 0])
            } else if temp < max {
                (
                    format!("\"{p}_temp_file_write_size\" must be equal to or greater than {both}"),
                    &[3, 0, 1],
                )
            } else if max_temp != 0 && max_temp < max {
                (format!("\"{p}_max_temp_file_size\" must be equal to zero to disable temporary files usage or must be equal to or greater than {both}"), &[4, 0, 1])
            } else {
                continue;
            };
            let Some(at) = on.iter().find_map(|i| dirs[*i]) else {
                continue;
            };
            let values = format!(
                "here {p}_buffer_size is {}, {p}_buffers {num} {}, {p}_busy_buffers_size {}",
                format_size(buffer),
                format_size(one),
                format_size(busy)
            );
            let mut f = Finding::at(
                &RULE,
                Place::new(at.place.file, at.name_span),
                emerg_with(&text, &values),
            );
            for i in on.iter().skip(1) {
                if let Some(d) = dirs[*i] {
                    if d.place != at.place {
                        f = f.related(d.place, format!("{} set here", d.name));
                    }
                }
            }
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::listen_addr;

    #[test]
    fn listen_addresses_as_nginx_prints_them() {
        assert_eq!(listen_addr("80").as_deref(), Some("0.0.0.0:80"));
        assert_eq!(listen_addr("*:8080").as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(listen_addr("127.0.0.1").as_deref(), Some("127.0.0.1:80"));
        assert_eq!(listen_addr("[::]:443").as_deref(), Some("[::]:443"));
        assert_eq!(listen_addr("localhost:80"), None);
    }
}
