//! B804 db-memory-exceeds-ram: the database's configured memory and the PHP workers
//! together need more than the host's RAM.

use crate::capacity;
use crate::finding::Finding;
use crate::rules::{util, Context};
use crate::stack::db_load;

crate::declare_rule!(
    "B804",
    "db-memory-exceeds-ram",
    Error,
    No,
    "innodb_buffer_pool_size + per-connection buffers × max_connections + the PHP workers exceed the RAM",
    check
);

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    if stack.databases.is_empty() {
        return;
    }
    let Some(plan) = capacity::plan(stack, cx.host, cx.settings) else {
        return;
    };
    let ram = plan.ram.value;
    let php = plan.demand();
    let dbs: Vec<_> = stack.databases.iter().map(|d| (d, d.memory())).collect();
    let db_total: u64 = dbs.iter().map(|(_, m)| m.total()).sum();
    if db_total + php <= ram {
        return;
    }
    let Some((db, m)) = dbs.iter().max_by_key(|(_, m)| m.total()) else {
        return;
    };
    let bp = db.number("innodb_buffer_pool_size");
    let msg = format!(
        "the database may take {} (global buffers {} + {} per connection × max_connections {}) and the PHP workers {} (pm.max_children × worker memory): {} in all, above the host's RAM of {}; under load the OOM killer ends mariadbd or PHP (`Out of memory: Killed process … (mariadbd)`), and every site answers \"Error establishing a database connection\" or 502",
        util::human_bytes(db_total),
        util::human_bytes(m.global),
        util::human_bytes(m.per_connection),
        m.max_connections,
        util::human_bytes(php),
        util::human_bytes(db_total + php),
        util::human_bytes(ram),
    );
    let mut f = Finding::at(
        &RULE,
        db_load::anchor(stack, db, "innodb_buffer_pool_size"),
        msg,
    );
    if let Some(b) = &bp {
        if !b.is_default() {
            f = f.related_opt(
                db.option("max_connections").map(|o| o.place),
                "max_connections: each connection may take the per-connection buffers",
            );
        }
    }
    for a in plan.assumptions() {
        if !a.starts_with("database")
            && !a.starts_with("no database")
            && !a.starts_with("OS reserve")
        {
            f = f.assume(a);
        }
    }
    f = f.assume(
        "per connection: sort_buffer_size + read_buffer_size + read_rnd_buffer_size + join_buffer_size + thread_stack + binlog_cache_size, all connections busy at once (the worst case MySQLTuner counts)",
    );
    out.push(f);
}
