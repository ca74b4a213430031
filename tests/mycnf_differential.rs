//! Differential test of the my.cnf parser and the database model against the real
//! server's option reader: `my_print_defaults --defaults-file=F --mysqld` (MariaDB's
//! `mysys/my_default.c`, the code mysqld itself runs) must print exactly the options,
//! in order, that `Database::options` holds for the same file — for every my.cnf of
//! the corpus (there is none today: the count says so), the option files the
//! installed MariaDB package ships (`/etc/mysql`, read in place), and generated files
//! (groups of every kind, quotes, escapes, comments, bare and `loose-` options,
//! `!include`/`!includedir` with files of other extensions, broken lines). A file the
//! server refuses must carry a syntax error or load problem here.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use wpstack::stack::discover::{self, Inputs};
use wpstack::syntax::mycnf;

/// `my_print_defaults`'s lines, or `None` when it refuses the file.
fn oracle(file: &Path) -> Option<Vec<String>> {
    let out = Command::new("my_print_defaults")
        .arg(format!("--defaults-file={}", file.display()))
        .arg("--mysqld")
        .current_dir(file.parent().expect("parent"))
        .output()
        .expect("run my_print_defaults");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // One option per line, but a value may hold an unescaped `\n`: split on "\n--".
    let mut v: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("--") || v.is_empty() {
            v.push(line.to_string());
        } else if let Some(last) = v.last_mut() {
            last.push_str(line);
        }
    }
    Some(
        v.into_iter()
            .map(|s| s.strip_suffix('\n').unwrap_or(&s).to_string())
            .collect(),
    )
}

/// Ours: the options of the one database the file configures, or `None` when we
/// found an error the server would stop at.
fn ours(file: &Path) -> Option<Vec<String>> {
    let stack = discover::load(&Inputs {
        paths: vec![file.to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let db = stack.databases.first()?;
    // Errors in the main file are fatal; in an included file the server drops the
    // rest of that file and goes on.
    let refused = stack
        .file(db.main)
        .is_some_and(|f| !f.syntax.errors().is_empty())
        || stack.problems.iter().any(|p| {
            p.kind == wpstack::stack::load::ProblemKind::IncludeNotFound
                && p.place.is_some_and(|pl| pl.file == db.main)
        });
    if refused {
        return None;
    }
    Some(
        db.options
            .iter()
            .map(|o| match &o.value {
                Some(v) => format!("--{}={v}", o.written),
                None => format!("--{}", o.written),
            })
            .collect(),
    )
}

fn compare(file: &Path, failures: &mut Vec<String>) -> bool {
    let (theirs, mine) = (oracle(file), ours(file));
    if theirs != mine {
        failures.push(format!(
            "{}:\n  my_print_defaults: {theirs:?}\n  wpstack:           {mine:?}\n  file: {:?}",
            file.display(),
            std::fs::read_to_string(file).unwrap_or_default()
        ));
        return false;
    }
    // And the parser keeps every byte.
    let bytes = std::fs::read(file).expect("read");
    assert_eq!(mycnf::print(&mycnf::parse(&bytes), &bytes), bytes);
    true
}

/// A small deterministic generator (xorshift), so a failure is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

const GROUPS: &[&str] = &[
    "[mysqld]",
    "[server]",
    "[mariadb]",
    "[mariadbd]",
    "[client-server]",
    "[mariadb-10.11]",
    "[mysqld-10.11]",
    "[mariadb-10.6]",
    "[client]",
    "[mysqld_safe]",
    "[MySQLd]",
    "[ mysqld ]",
    "[mysqld]   # trailing",
    "[galera]",
];

const LINES: &[&str] = &[
    "max_connections = 200",
    "max-connections=5",
    "loose-innodb_buffer_pool_size = 1G",
    "skip-networking",
    "skip_name_resolve   ",
    "socket = /run/mysqld/mysqld.sock",
    "bind-address\t=\t127.0.0.1",
    "wait_timeout = 60 # short",
    "datadir = \"/var/lib/my sql\"",
    "init_connect = 'SET NAMES utf8mb4'",
    "sql_mode = \"a#b\" # c",
    "password = \"p\\\\w\\sd\"",
    "x = \\n\\t\\q",
    "empty =",
    "quote = \"",
    "mixed = 'a\"",
    "  # comment",
    "; comment",
    "",
    "   ",
    "!unknown directive",
    "key_buffer_size=16M",
    "port=3307",
    "a = b = c",
    "[mysqld",
];

fn generate(dir: &Path, seed: u64) -> PathBuf {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let inc = dir.join("inc");
    std::fs::create_dir_all(&inc).expect("mkdir");
    let file = |name: &str, first_group: bool, r: &mut Rng| {
        let mut s = String::new();
        if first_group || r.next() % 8 != 0 {
            s.push_str(r.pick(GROUPS));
            s.push('\n');
        }
        for _ in 0..(r.next() % 12) {
            if r.next() % 5 == 0 {
                s.push_str(r.pick(GROUPS));
            } else {
                s.push_str(r.pick(LINES));
            }
            s.push(if r.next() % 9 == 0 { '\r' } else { ' ' });
            s.push('\n');
        }
        std::fs::write(dir.join(name), s).expect("write");
    };
    for name in [
        "inc/20-b.cnf",
        "inc/10-a.cnf",
        "inc/c.ini",
        "inc/d.cnf.bak",
        "other.cnf",
    ] {
        file(name, r.next() % 4 != 0, &mut r);
    }
    let mut main = String::new();
    if r.next() % 10 == 0 {
        main.push_str("max_connections = 1\n");
    }
    for i in 0..(2 + r.next() % 4) {
        main.push_str(r.pick(GROUPS));
        main.push('\n');
        for _ in 0..(r.next() % 6) {
            main.push_str(r.pick(LINES));
            main.push('\n');
        }
        match (r.next() + i) % 4 {
            0 => main.push_str(&format!("!includedir {}\n", inc.display())),
            1 => main.push_str(&format!("!include {}\n", dir.join("other.cnf").display())),
            2 if r.next() % 10 == 0 => main.push_str("!includedir /nonexistent-wpstack\n"),
            2 => main.push_str("!include other.cnf\n"),
            _ => {}
        }
    }
    // A server group at the end (no options: the list is unchanged), so that the tree
    // configures a server and the model keeps it (a file with only `[client-server]`
    // is a client library's, and no server is modelled for it).
    main.push_str("[mysqld]\n");
    let p = dir.join("my.cnf");
    std::fs::write(&p, main).expect("write");
    p
}

#[test]
fn option_files_match_my_print_defaults() {
    if !support::have_program("my_print_defaults") {
        return;
    }
    let mut failures = Vec::new();
    let (mut corpus, mut shipped, mut generated, mut refused) = (0, 0, 0, 0);
    if let Some(c) = support::corpus_dir() {
        for f in support::walk(&c) {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n == "my.cnf" || n == "mariadb.cnf") {
                corpus += 1;
                compare(&f, &mut failures);
            }
        }
    } else {
        println!("skipped: ../shared/corpus not found");
    }
    // The installed package's own files, read in place (never copied).
    for f in ["/etc/mysql/mariadb.cnf", "/etc/mysql/my.cnf", "/etc/my.cnf"] {
        if Path::new(f).is_file() && std::fs::File::open(f).is_ok() {
            shipped += 1;
            compare(Path::new(f), &mut failures);
        }
    }
    for seed in 1..=600u64 {
        let d = tempfile::tempdir().expect("tempdir");
        let p = generate(&d.path().canonicalize().expect("canon"), seed);
        if oracle(&p).is_none() {
            refused += 1;
        }
        generated += 1;
        compare(&p, &mut failures);
    }
    println!(
        "my.cnf differential: {corpus} corpus files, {shipped} shipped by the MariaDB package, {generated} generated ({refused} refused by the server); {} disagree",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(5)].join("\n")
    );
}
