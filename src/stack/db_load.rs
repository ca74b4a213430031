//! Reading MySQL/MariaDB option files into [`Database`]s, and linking each
//! wp-config's `DB_HOST` to the server it reaches.

use super::db_model::{self, Database, DbOption, DbTarget, MAX_INCLUDE_DEPTH};
use super::discover::{add_source, parse_into, unreadable};
use super::load::{LoadProblem, PathMap, ProblemKind};
use super::{FileKind, Stack};
use crate::finding::Place;
use crate::syntax::mycnf::LineKind;
use std::path::{Path, PathBuf};

/// Read every main option file (one server each). A main file another main includes
/// is not a main (Debian's `my.cnf` → `mariadb.cnf`). The server reads `/etc/my.cnf`
/// and then `/etc/mysql/my.cnf` (MariaDB's default search order): in one tree both are
/// one server.
pub fn load(stack: &mut Stack, mains: &[PathBuf], root: Option<&Path>) {
    let map = PathMap {
        root: root.map(Path::to_path_buf),
        aliases: Vec::new(),
    };
    let mut mains: Vec<PathBuf> = mains.to_vec();
    mains.sort();
    mains.dedup();
    // Groups of files one server reads, in order.
    let mut groups: Vec<Vec<PathBuf>> = Vec::new();
    for main in &mains {
        let mut main = main.clone();
        // Debian's my.cnf links to /etc/alternatives/my.cnf → mariadb.cnf; a copy of
        // /etc/mysql alone keeps the dangling link: read the file it stands for.
        if crate::files::real(root, &main).is_err() {
            let sibling = main.with_file_name("mariadb.cnf");
            if main.ends_with("mysql/my.cnf") && crate::files::resolve::is_file(root, &sibling) {
                crate::files::note_once(
                    &mut stack.notes,
                    format!(
                        "{} is a link whose target is not in the tree (Debian: /etc/alternatives/my.cnf); read {} in its place",
                        main.display(),
                        sibling.display()
                    ),
                );
                main = sibling;
            }
        }
        let debian_pair = main
            .parent()
            .filter(|_| main.ends_with("mysql/my.cnf") || main.ends_with("mysql/mariadb.cnf"))
            .and_then(Path::parent)
            .map(|etc| etc.join("my.cnf"));
        match debian_pair.and_then(|first| groups.iter().position(|g| g[0] == first)) {
            Some(i) => groups[i].push(main),
            None => groups.push(vec![main]),
        }
    }
    let mut dbs: Vec<Database> = Vec::new();
    for group in groups {
        let first = &group[0];
        let real = crate::files::real(root, first).unwrap_or_else(|_| first.clone());
        if let Some(id) = stack.sources.find(&real) {
            if dbs.iter().any(|d| d.files.contains(&id)) {
                continue;
            }
        }
        // RHEL's /etc/my.cnf alone: its socket; Debian's layout: /run/mysqld.
        let rhel = group.len() == 1 && first.ends_with("etc/my.cnf");
        let mut db = Database {
            default_socket: if rhel {
                "/var/lib/mysql/mysql.sock"
            } else {
                "/run/mysqld/mysqld.sock"
            },
            ..Database::default()
        };
        for f in &group {
            read(stack, f, &map, &mut Vec::new(), &mut db, None, &mut 0);
        }
        if db.files.is_empty() {
            continue;
        }
        db.main = db.files[0];
        // Debian's mysql-common (pulled in by php-mysql) installs a my.cnf for the client
        // library alone: `[client-server]` and includes, no server group. Without a group
        // only mysqld reads there is no server here to judge.
        if server_header(stack, &db).is_none_or(|(id, span, _)| {
            let name =
                String::from_utf8_lossy(stack.sources.get(id).slice(span)).to_ascii_lowercase();
            matches!(name.as_str(), "client-server")
        }) {
            crate::files::note_once(
                &mut stack.notes,
                format!(
                    "{} configures no database server (no [mysqld], [mariadb] or [server] group: a client library's file); the database rules were skipped for it",
                    stack.sources.get(db.main).display
                ),
            );
            continue;
        }
        // A main read earlier as another's include: keep the one that includes it.
        dbs.retain(|d| !db.files.contains(&d.main));
        dbs.push(db);
    }
    stack.databases = dbs;
    link(stack);
}

/// Most option-file reads per server: a file included twice is read twice (as the
/// server does), so this bounds a tree that includes one directory from each of its files.
const MAX_READS: usize = 1000;

/// Read one option file into `db`, as `search_default_file_with_buffers` does. A file
/// may be read more than once (the server re-reads a file included twice); a file that
/// includes itself through its ancestors is a cycle, cut here (the server recurses to
/// its depth limit). A refused line (syntax error) or a missing `!includedir` ends the
/// file: fatal for the main file, and for an included one the server ignores the rest
/// of that file silently.
fn read(
    stack: &mut Stack,
    path: &Path,
    map: &PathMap,
    chain: &mut Vec<crate::source::FileId>,
    db: &mut Database,
    from: Option<Place>,
    reads: &mut usize,
) {
    let depth = chain.len();
    let id = match add_source(stack, path) {
        Ok(id) => id,
        Err(e) => {
            unreadable(stack, e, from);
            return;
        }
    };
    if chain.contains(&id) {
        stack.problems.push(LoadProblem {
            kind: ProblemKind::IncludeCycle,
            place: from,
            message: format!(
                "{} includes itself; the server reads it again until {MAX_INCLUDE_DEPTH} levels deep",
                path.display()
            ),
        });
        return;
    }
    *reads += 1;
    if *reads > MAX_READS {
        if *reads == MAX_READS + 1 {
            stack.problems.push(LoadProblem {
                kind: ProblemKind::TooDeep,
                place: from,
                message: format!("more than {MAX_READS} option files read for one server; the rest were not read"),
            });
        }
        return;
    }
    if !db.files.contains(&id) {
        db.files.push(id);
    }
    chain.push(id);
    parse_into(stack, id, FileKind::MyCnf);
    let Some(syntax) = stack.syntax_mycnf(id).cloned() else {
        return;
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut group: Option<String> = None;
    for line in &syntax.lines {
        match &line.kind {
            LineKind::Group { name, .. } => group = Some(name.clone()),
            LineKind::Option(o) if group.as_deref().is_some_and(db_model::server_group) => {
                let end = o.value_span.map_or(o.name_span.end, |v| v.end);
                db.options.push(DbOption {
                    written: o.name.clone(),
                    value: o.value.clone(),
                    place: Place::new(id, crate::source::Span::new(o.name_span.start, end)),
                    value_place: Place::new(id, o.value_span.unwrap_or(o.name_span)),
                    group: group.clone().unwrap_or_default(),
                });
            }
            LineKind::Include { path: p, path_span }
            | LineKind::IncludeDir { path: p, path_span } => {
                let at = Place::new(id, *path_span);
                if depth + 1 > MAX_INCLUDE_DEPTH {
                    stack.problems.push(LoadProblem {
                        kind: ProblemKind::TooDeep,
                        place: Some(at),
                        message: format!(
                            "includes nested deeper than {MAX_INCLUDE_DEPTH} levels: the server skips {p}"
                        ),
                    });
                    continue;
                }
                let target = map.resolve(p, &dir);
                if matches!(line.kind, LineKind::Include { .. }) {
                    // The server ignores an !include whose file cannot be opened.
                    if crate::files::resolve::is_file(map.root.as_deref(), &target) {
                        read(stack, &target, map, chain, db, Some(at), reads);
                    }
                    continue;
                }
                if !crate::files::resolve::is_dir(map.root.as_deref(), &target) {
                    stack.problems.push(LoadProblem {
                        kind: ProblemKind::IncludeNotFound,
                        place: Some(at),
                        message: format!(
                            "!includedir {p}: no such directory (mysqld stops: `Can't read dir of '{p}'`)"
                        ),
                    });
                    break;
                }
                for f in crate::files::resolve::list_dir(map.root.as_deref(), &target) {
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    // fn_ext2: the extension after the last dot.
                    let ext = name.rfind('.').map(|i| &name[i..]);
                    if ext == Some(".cnf")
                        && crate::files::resolve::is_file(map.root.as_deref(), &f)
                    {
                        read(stack, &f, map, chain, db, Some(at), reads);
                    }
                }
            }
            LineKind::Error => break,
            _ => {}
        }
    }
    chain.pop();
}

/// The socket a `localhost` DB_HOST uses: PHP's `mysqli.default_socket` (of the pool
/// serving the site) when set, else the client library's default for this layout; with
/// where that comes from.
fn client_socket_from(stack: &Stack, pools: &[usize], db: &Database) -> (String, String) {
    for &p in pools {
        if let Some(v) = stack.pools[p].php("mysqli.default_socket") {
            let t = v.text().trim().trim_matches('"').to_string();
            if !t.is_empty() {
                return (
                    super::link::normalize_path(&t),
                    format!(
                        "mysqli.default_socket of pool {}, {}",
                        stack.pools[p].name,
                        stack.origin_text(&v.value.origin)
                    ),
                );
            }
        }
    }
    (
        db.default_socket.to_string(),
        "the PHP client library's default for `localhost`".into(),
    )
}

fn client_socket(stack: &Stack, pools: &[usize], db: &Database) -> String {
    client_socket_from(stack, pools, db).0
}

/// `/var/run` is a link to `/run` on every current distribution.
pub fn same_socket(a: &str, b: &str) -> bool {
    let n = |s: &str| {
        let s = super::link::normalize_path(s);
        match s.strip_prefix("/var/run/") {
            Some(r) => format!("/run/{r}"),
            None => s,
        }
    };
    n(a) == n(b)
}

/// Whether a wp-config's DB_HOST reaches this server.
pub fn reaches(target: &DbTarget, client_socket: &str, db: &Database) -> Option<bool> {
    match target {
        DbTarget::Socket(s) => {
            let want = s.clone().unwrap_or_else(|| client_socket.to_string());
            Some(same_socket(&want, &db.socket().value))
        }
        DbTarget::Tcp { host, port } => {
            let local = matches!(host.as_str(), "::1") || host.starts_with("127.");
            if !local {
                return None;
            }
            Some(db.port() == Some(*port) && db.accepts_from(host))
        }
        DbTarget::Unknown => None,
    }
}

/// The pools serving a wp-config's sites.
pub fn wp_pools(stack: &Stack, wp: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for &(ni, si) in &stack.wp[wp].sites {
        let Some(site) = stack.nginx.get(ni).and_then(|n| n.sites.get(si)) else {
            continue;
        };
        for l in &site.locations {
            if l.fastcgi_pass.is_some() && l.runs_wordpress() {
                for &p in &l.pools {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// The DB_HOST of a wp-config as a target (WordPress's default is `localhost`).
pub fn db_target(stack: &Stack, wp: usize) -> DbTarget {
    match stack.wp[wp].get("DB_HOST").map(|c| c.value.value) {
        Some(crate::syntax::php::PhpValue::Str(s)) => db_model::parse_db_host(&s),
        Some(_) => DbTarget::Unknown,
        None => DbTarget::Socket(None),
    }
}

fn link(stack: &mut Stack) {
    let mut links: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    for wi in 0..stack.wp.len() {
        let pools = wp_pools(stack, wi);
        let target = db_target(stack, wi);
        for (di, db) in stack.databases.iter().enumerate() {
            let sock = client_socket(stack, &pools, db);
            if reaches(&target, &sock, db) == Some(true) {
                links.push((di, wi, pools.clone()));
                break;
            }
        }
    }
    for (di, wi, pools) in links {
        let db = &mut stack.databases[di];
        db.wp.push(wi);
        for p in pools {
            if !db.pools.contains(&p) {
                db.pools.push(p);
            }
        }
    }
}

/// The socket a wp-config's `localhost` means and where that comes from (B802).
pub fn wp_client_socket(stack: &Stack, wp: usize, db: &Database) -> (String, String) {
    client_socket_from(stack, &wp_pools(stack, wp), db)
}

/// The group header a new server option goes under: the last `[mysqld]` read, else the
/// last `[mariadbd]`, `[mariadb]`, `[server]`, else any group mysqld reads (never
/// `[galera]` or `[client-server]` while a better one exists). Its file, the header's
/// name span and the end of its line.
pub fn server_header(
    stack: &Stack,
    db: &Database,
) -> Option<(crate::source::FileId, crate::source::Span, usize)> {
    let rank = |g: &str| match g.to_ascii_lowercase().as_str() {
        "mysqld" => 0,
        "mariadbd" => 1,
        "mariadb" => 2,
        "server" => 3,
        "client-server" => 5,
        _ => 4,
    };
    let mut best: Option<(usize, crate::source::FileId, crate::source::Span, usize)> = None;
    for &id in &db.files {
        let Some(f) = stack.syntax_mycnf(id) else {
            continue;
        };
        for l in &f.lines {
            if let LineKind::Group { name, name_span } = &l.kind {
                if db_model::server_group(name) {
                    let r = rank(name);
                    if best.is_none_or(|b| r <= b.0) {
                        best = Some((r, id, *name_span, l.span.end));
                    }
                }
            }
        }
    }
    best.map(|(_, id, span, end)| (id, span, end))
}

/// Where a finding about a server option goes: the line that sets it, else the group
/// header where the fix adds it, else the main file's start.
pub fn anchor(stack: &Stack, db: &Database, option: &str) -> Place {
    if let Some(o) = db.option(option) {
        return o.place;
    }
    match server_header(stack, db) {
        Some((id, span, _)) => Place::new(id, span),
        None => Place::new(db.main, crate::source::Span::empty(0)),
    }
}

/// The longest a request of a pool may run, in seconds, and the setting that says so:
/// php-fpm's wall-clock `request_terminate_timeout` when set, else PHP's
/// `max_execution_time` (CPU time on Linux, so a lower bound). `None` when unbounded.
pub fn longest_request(pool: &super::Pool) -> Option<(u64, &'static str, Option<Place>)> {
    if let Some(r) = pool.settings.get("request_terminate_timeout") {
        if let Ok(s) = crate::syntax::units::fpm_time(r.value.trim()) {
            if s > 0 {
                return Some((s, "request_terminate_timeout", r.place()));
            }
        }
    }
    let m = pool.php("max_execution_time")?;
    let s = m.text().trim().parse::<i64>().ok().filter(|s| *s > 0)?;
    Some((s as u64, "max_execution_time", m.value.place()))
}
