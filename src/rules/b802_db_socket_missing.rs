//! B802 db-socket-missing: a wp-config's DB_HOST names a socket (or a local port) the
//! database server configured in the tree does not listen on.

use crate::finding::{Finding, Place};
use crate::fix::{edit, Fix};
use crate::rules::Context;
use crate::stack::db_load;
use crate::stack::db_model::DbTarget;

crate::declare_rule!(
    "B802",
    "db-socket-missing",
    Error,
    Sometimes,
    "DB_HOST names a socket or local port the database server in the tree does not listen on",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    if stack.databases.is_empty() {
        return;
    }
    for (wi, wp) in stack.wp.iter().enumerate() {
        let target = db_load::db_target(stack, wi);
        let local = match &target {
            DbTarget::Socket(_) => true,
            DbTarget::Tcp { host, .. } => host == "::1" || host.starts_with("127."),
            DbTarget::Unknown => false,
        };
        if !local || stack.databases.iter().any(|d| d.wp.contains(&wi)) {
            continue;
        }
        let host = wp.get("DB_HOST");
        let place = host
            .as_ref()
            .and_then(|c| c.value_place.or(c.value.place()))
            .unwrap_or(Place::new(wp.file, crate::source::Span::empty(0)));
        let shown = host
            .as_ref()
            .map(|c| crate::stack::wp_model::value_text(&c.value.value))
            .unwrap_or_else(|| "'localhost' (WordPress's default)".into());
        let db = &stack.databases[0];
        let (wanted, listens) = match &target {
            DbTarget::Socket(s) => (
                format!(
                    "the socket {}",
                    s.clone().unwrap_or_else(|| {
                        let (sock, whose) = db_load::wp_client_socket(stack, wi, db);
                        format!("{sock} ({whose})")
                    })
                ),
                stack
                    .databases
                    .iter()
                    .map(|d| {
                        let s = d.socket();
                        format!("socket {} ({})", s.value, stack.origin_text(&s.origin))
                    })
                    .collect::<Vec<_>>(),
            ),
            DbTarget::Tcp { host, port } => (
                format!("{host}:{port}"),
                stack
                    .databases
                    .iter()
                    .map(|d| match d.port() {
                        Some(p) => format!(
                            "port {p} on {}",
                            d.get("bind-address").map(|b| b.value).unwrap_or_default()
                        ),
                        None => "no TCP (skip-networking)".into(),
                    })
                    .collect(),
            ),
            DbTarget::Unknown => continue,
        };
        let msg = format!(
            "DB_HOST {shown} connects to {wanted}, but the database server configured in this tree listens on {}: every request fails with \"Error establishing a database connection\" (`No such file or directory` / `Connection refused`)",
            listens.join("; ")
        );
        let mut f = Finding::at(&RULE, place, msg);
        for d in &stack.databases {
            let s = d.socket();
            f = f.related_opt(s.place(), "the server's socket");
        }
        if stack.databases.len() == 1 && matches!(target, DbTarget::Socket(_)) {
            let sock = db.socket().value;
            if let Some(e) = edit::wp_define(stack, wp, "DB_HOST", &format!("'localhost:{sock}'")) {
                f = f.with_fix(Some(Fix::unsafe_(
                    format!("DB_HOST 'localhost:{sock}', the one server in the tree"),
                    vec![e],
                )));
            }
        }
        out.push(f);
    }
}
