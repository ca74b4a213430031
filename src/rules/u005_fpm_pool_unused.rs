//! U005 fpm-pool-unused: a pool no fastcgi_pass reaches holds workers and RAM for nothing.

use crate::finding::Finding;
use crate::rules::Context;
use crate::stack::Target;

crate::declare_rule!(
    "U005",
    "fpm-pool-unused",
    Info,
    No,
    "a pool that no fastcgi_pass reaches (dead workers holding RAM)",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    // Without nginx, or when a target cannot be followed, "unused" cannot be known.
    if stack.php_locations().next().is_none() {
        return;
    }
    let unknowable = stack.php_locations().any(|(_, _, l)| {
        matches!(&l.target, Some(Target::Variable(_)))
            || l.target.as_ref().is_some_and(|t| {
                t.addresses()
                    .iter()
                    .any(|a| !crate::stack::link::is_local(a))
            })
    });
    if unknowable {
        return;
    }
    let reached = crate::rules::util::reached_pools(stack);
    for (i, pool) in stack.pools.iter().enumerate() {
        if reached.contains(&i) {
            continue;
        }
        let listen = pool
            .listen()
            .map(|l| l.value.clone())
            .unwrap_or_else(|| "(no listen)".into());
        out.push(Finding::at(
            &RULE,
            pool.place,
            format!(
                "pool {} listens on {listen} but no fastcgi_pass reaches it: its workers hold memory that the pools in use could have (remove it, or point the site that needs it here)",
                pool.name
            ),
        ));
    }
}
