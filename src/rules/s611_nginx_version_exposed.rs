//! S611 nginx-version-exposed: `server_tokens` is on (nginx's default) for a site.

use crate::finding::{Finding, Place};
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::ScopeKind;

crate::declare_rule!(
    "S611",
    "nginx-version-exposed",
    Info,
    Safe,
    "server_tokens on (the default): every response and error page names the nginx version",
    check
);

/// One finding per nginx for the sites that inherit `on` from `http` (or the default),
/// at the `http` directive that sets it or the `http` block, fixed there once; one per
/// server that turns it on itself.
fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for n in &stack.nginx {
        let mut inherited = Vec::new();
        // Sites that run PHP: the stack wpstack checks (a static or proxy-only server
        // block is another tool's business).
        for site in n
            .sites
            .iter()
            .filter(|s| s.locations.iter().any(|l| l.fastcgi_pass.is_some()))
        {
            let eff = n.effective(site.scope, "server_tokens");
            if eff.is_some_and(|d| {
                d.arg(0).is_some_and(|v| {
                    v.eq_ignore_ascii_case("off") || v.starts_with('$') || v.starts_with('"')
                })
            }) {
                continue;
            }
            match eff {
                Some(d) if n.server_of(d.scope) == Some(site.scope) => {
                    out.push(
                        Finding::at(
                            &RULE,
                            d.place,
                            format!(
                                "site {}: `server_tokens {}` puts the nginx version in the Server header and on every error page, telling scanners which known nginx bugs to try",
                                site.name(),
                                d.value_text()
                            ),
                        )
                        .with_fix(Some(Fix::safe(
                            "server_tokens off",
                            vec![edit::nginx_replace_arg(stack, d.arg_place(0), "off")],
                        ))),
                    );
                }
                _ => inherited.push(site),
            }
        }
        if inherited.is_empty() {
            continue;
        }
        let Some((http, hs)) = n.scopes_of_kind(ScopeKind::Http).next() else {
            continue;
        };
        let set = n.own(http, "server_tokens").last();
        let place = match (set, hs.block) {
            (Some(d), _) => d.place,
            (None, Some(b)) => Place::new(b.file, b.directive),
            (None, None) => inherited[0].place,
        };
        let names: Vec<String> = inherited.iter().take(5).map(|s| s.name()).collect();
        let more = if inherited.len() > 5 {
            format!(" and {} more", inherited.len() - 5)
        } else {
            String::new()
        };
        let how = match set {
            Some(d) => format!("`server_tokens {}`", d.value_text()),
            None => "server_tokens is on (nginx's default)".to_string(),
        };
        let mut f = Finding::at(
            &RULE,
            place,
            format!(
                "{how} for site {}{more}: the Server header and every error page carry the nginx version, telling scanners which known nginx bugs to try",
                names.join(", ")
            ),
        );
        if hs.block.is_some() {
            f = f.with_fix(
                edit::nginx_set(stack, n, http, "server_tokens", "off")
                    .map(|e| Fix::safe("server_tokens off in the http block", vec![e])),
            );
        }
        out.push(f);
    }
}
