//! U002 socket-permission-denied: nginx's worker user cannot write to the pool's unix
//! socket, so every connect() fails with EACCES and every PHP request is a 502.

use crate::finding::Finding;
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::link::{self, Listen};

crate::declare_rule!(
    "U002",
    "socket-permission-denied",
    Error,
    Safe,
    "the pool's unix socket would not be writable by nginx's user",
    check
);

fn octal(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim(), 8).ok()
}

fn list(s: Option<crate::stack::Sourced<String>>) -> Vec<String> {
    s.map(|v| {
        v.value
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for (n, _site, loc) in stack.php_locations() {
        // Site files linted without their nginx.conf: nginx's user is not known.
        if n.implied && n.own(0, "user").next().is_none() {
            continue;
        }
        let user = n.user();
        let (nuser, ngroup) = (&user.value.0, &user.value.1);
        if nuser == "root" {
            continue;
        }
        for &pid in &loc.pools {
            let pool = &stack.pools[pid];
            let Some(listen) = pool.listen() else {
                continue;
            };
            let Listen::Unix(path) = link::parse_listen(&listen.value) else {
                continue;
            };
            let acl_users = list(pool.settings.get("listen.acl_users").cloned());
            let acl_groups = list(pool.settings.get("listen.acl_groups").cloned());
            let mut assumptions = Vec::new();
            let allowed;
            let why;
            if !acl_users.is_empty() || !acl_groups.is_empty() {
                // With ACLs php-fpm ignores listen.owner/group/mode.
                allowed =
                    acl_users.iter().any(|u| u == nuser) || acl_groups.iter().any(|g| g == ngroup);
                why = format!(
                    "listen.acl_users = {} / listen.acl_groups = {} do not include nginx's user {nuser} or group {ngroup}",
                    if acl_users.is_empty() { "(unset)".into() } else { acl_users.join(",") },
                    if acl_groups.is_empty() { "(unset)".into() } else { acl_groups.join(",") },
                );
            } else {
                let owner = pool.settings.get("listen.owner").map(|s| s.value.clone());
                let group = pool.settings.get("listen.group").map(|s| s.value.clone());
                let mode_s = pool
                    .setting("listen.mode")
                    .map(|s| s.value)
                    .unwrap_or_else(|| "0660".into());
                let mode = octal(&mode_s).unwrap_or(0o660);
                let owner_v = owner.clone().unwrap_or_else(|| {
                    assumptions.push("listen.owner is unset: the socket belongs to the user the php-fpm master runs as (root under systemd)".to_string());
                    "root".into()
                });
                let group_v = group
                    .clone()
                    .or_else(|| owner.clone())
                    .unwrap_or_else(|| "root".into());
                let bits = if &owner_v == nuser {
                    (mode >> 6) & 0o7
                } else if &group_v == ngroup || &group_v == nuser {
                    (mode >> 3) & 0o7
                } else {
                    mode & 0o7
                };
                allowed = bits & 0o2 != 0;
                if group.is_none() {
                    assumptions.push(format!("listen.group unset: taken as {group_v}"));
                }
                why = format!(
                    "socket {path} is {owner_v}:{group_v} mode {mode_s} and nginx runs as {nuser}:{ngroup}, which may not write to it",
                );
            }
            if allowed {
                continue;
            }
            let mut edits = Vec::new();
            for (k, v) in [
                ("listen.owner", nuser.as_str()),
                ("listen.group", ngroup.as_str()),
                ("listen.mode", "0660"),
            ] {
                if let Some(e) = edit::pool_set(stack, pool, k, v) {
                    edits.push(e);
                }
            }
            let mut f = Finding::at(
                &RULE,
                listen.place().unwrap_or(pool.place),
                format!(
                    "pool {}: {why}: nginx logs `connect() to unix:{path} failed (13: Permission denied)` and answers 502",
                    pool.name
                ),
            )
            .related(user.place().unwrap_or(n.scope(0).directives.first().map(|d| d.place).unwrap_or(loc.place)), format!("nginx worker user {nuser}"))
            .related_opt(loc.fastcgi_pass.as_ref().map(|d| d.place), "this location connects to it");
            if user.is_default() {
                f = f.assume("nginx has no `user` directive: workers run as nobody");
            }
            for a in assumptions {
                f = f.assume(a);
            }
            if acl_users.is_empty() && acl_groups.is_empty() && !edits.is_empty() {
                f = f.with_fix(Some(Fix::safe(
                    format!(
                        "set listen.owner = {nuser}, listen.group = {ngroup}, listen.mode = 0660"
                    ),
                    edits,
                )));
            }
            out.push(f);
        }
    }
}
