//! Differential proof for E007 (nginx-will-not-start) against the real `nginx -t`.
//!
//! Bases: the fixture stacks' nginx trees, a generated WordPress site, and the corpus
//! trees `nginx -t` accepts. Each base must be clean (no E007 error on a tree nginx
//! accepts). Mutations of the files nginx reads — a misspelled directive, a directive
//! moved to another block, an argument dropped or added, `;` turned into a block,
//! broken buffer relations, a duplicate `listen` / `default_server`, a nested
//! `location` — are each run through `nginx -t` (in a temp prefix, bounded parallel
//! threads) and through wpstack's E007, and must agree:
//!
//! - nginx accepts → no E007 error;
//! - nginx refuses with a message E007 covers → an E007 error quoting nginx's message at
//!   the same file:line (buffer checks run when nginx merges the http block, so nginx
//!   names the http block's last line; there the message alone is compared);
//! - nginx refuses for a reason E007 does not cover (`invalid value`, `is duplicate`…:
//!   other rules' business) → no E007 error.

#[path = "oracle_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use support::nginx::{self as ngx, Run};
use wpstack::finding::Severity;
use wpstack::source::Span;
use wpstack::stack::discover::{self, Inputs};
use wpstack::syntax::nginx::{self, Directive, Item};

/// Mutations the test makes.
const MIN_MUTATIONS: usize = 500;

/// Documented limits: (text in the mutation's description or nginx's message, why
/// wpstack cannot agree). Empty: every disagreement is a bug.
const LIMITS: &[(&str, &str)] = &[
    (
        "_by_lua",
        "a third-party module's directive (OpenResty's lua) is an info, not an error: whether this nginx is built with it cannot be read from the configuration",
    ),
    (
        "unknown directive \"more_set_headers\"",
        "a third-party module's directive (headers-more) is an info, as above",
    ),
];

/// Does E007 cover this `[emerg]` message?
fn e007_covers(msg: &str) -> bool {
    msg.starts_with("unknown directive ")
        || msg.ends_with(" directive is not allowed here")
        || msg.starts_with("invalid number of arguments in ")
        || (msg.starts_with("directive ")
            && (msg.ends_with("is not terminated by \";\"")
                || msg.ends_with("has no opening \"{\"")))
        || is_merge_message(msg)
        || msg.starts_with("a duplicate listen ")
        || msg.starts_with("a duplicate default server for ")
        || (msg.starts_with("location \"")
            && (msg.contains("\" cannot be inside the ")
                || msg.contains("\" is outside location \"")))
        || (msg.starts_with("named location ") && msg.ends_with("can be on the server level only"))
        || msg.starts_with("invalid location modifier ")
}

/// The checks nginx makes when it merges the http block (reported at its end).
fn is_merge_message(msg: &str) -> bool {
    msg.starts_with("there must be at least 2 \"")
        || (msg.contains("_buffers_size\" must be")
            || msg.contains("_temp_file_write_size\" must be")
            || msg.contains("_max_temp_file_size\" must be"))
}

struct Base {
    name: String,
    src: PathBuf,
    main: &'static str,
    enable_sites: bool,
}

/// A mutation: the base, the file (relative to the tree), its new source, and what
/// was done.
struct Mutation {
    base: usize,
    file: PathBuf,
    text: Vec<u8>,
    what: String,
}

/// A tiny deterministic generator (xorshift), so the mutations are the same each run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// A directive with the names of its enclosing blocks (outermost first).
struct Found<'a> {
    d: &'a Directive,
    parents: Vec<String>,
}

const DATA_BLOCKS: &[&str] = &[
    "map",
    "types",
    "geo",
    "split_clients",
    "charset_map",
    "match",
];

fn walk<'a>(items: &'a [Item], parents: &mut Vec<String>, out: &mut Vec<Found<'a>>) {
    for it in items {
        let Item::Directive(d) = it else { continue };
        if parents.iter().any(|p| DATA_BLOCKS.contains(&p.as_str())) {
            continue;
        }
        out.push(Found {
            d,
            parents: parents.clone(),
        });
        if let Some(b) = d.block() {
            parents.push(d.name.text());
            walk(&b.items, parents, out);
            parents.pop();
        }
    }
}

/// Apply non-overlapping edits (span, replacement).
fn apply(src: &[u8], mut edits: Vec<(Span, String)>) -> Vec<u8> {
    edits.sort_by_key(|e| std::cmp::Reverse(e.0.start));
    let mut out = src.to_vec();
    for (span, rep) in edits {
        out.splice(span.start..span.end, rep.into_bytes());
    }
    out
}

/// Blank out a span, keeping its newlines (line numbers stay).
fn blank(src: &[u8], span: Span) -> String {
    src[span.start..span.end]
        .iter()
        .map(|b| if *b == b'\n' { '\n' } else { ' ' })
        .collect()
}

fn typo(name: &str, rng: &mut Rng) -> String {
    let b: Vec<char> = name.chars().collect();
    match rng.below(4) {
        0 => format!("{name}{}", b[b.len() - 1]),
        1 if b.len() > 3 => {
            let i = 1 + rng.below(b.len() - 2);
            b.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| c)
                .collect()
        }
        2 if b.len() > 3 => {
            let i = 1 + rng.below(b.len() - 2);
            let mut v = b.clone();
            v.swap(i, i - 1);
            v.into_iter().collect()
        }
        _ => format!("{name}s"),
    }
}

/// Every mutation of one file, at most `limit`, spread over the kinds.
fn mutations_of(src: &[u8], rng: &mut Rng, limit: usize) -> Vec<(String, Vec<u8>)> {
    let file = nginx::parse(src);
    if !file.errors.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    walk(&file.items, &mut Vec::new(), &mut found);
    let blocks: Vec<&Found> = found.iter().filter(|f| f.d.block().is_some()).collect();
    let text = |s: Span| String::from_utf8_lossy(&src[s.start..s.end]).into_owned();
    let mut kinds: Vec<Vec<(String, Vec<u8>)>> = vec![Vec::new(); 11];
    for f in &found {
        let d = f.d;
        let name = d.name.text();
        if name == "include" || name.starts_with('$') {
            continue;
        }
        let at = |s: &str| format!("{s} `{name}` (byte {})", d.span.start);
        // 0: misspell the name.
        if d.name.quote == nginx::Quote::None {
            let t = typo(&name, rng);
            kinds[0].push((
                at(&format!("typo {t} for")),
                apply(src, vec![(d.name.span, t)]),
            ));
        }
        // 1: drop the last argument.
        if let Some(last) = d.args.last() {
            let from = d
                .args
                .len()
                .checked_sub(2)
                .map_or(d.name.span.end, |i| d.args[i].span.end);
            kinds[1].push((
                at("drop the last argument of"),
                apply(src, vec![(Span::new(from, last.span.end), String::new())]),
            ));
        }
        // 2: add an argument.
        let end = d.args.last().map_or(d.name.span.end, |w| w.span.end);
        let extra = match rng.below(3) {
            0 => "on".to_string(),
            1 => d.args.last().map_or("x".to_string(), |w| text(w.span)),
            _ => "16k".to_string(),
        };
        kinds[2].push((
            at(&format!("add `{extra}` to")),
            apply(src, vec![(Span::new(end, end), format!(" {extra}"))]),
        ));
        // 3: move a simple directive into another block.
        if d.block().is_none() && !matches!(d.end, nginx::End::RawBlock(_)) && !blocks.is_empty() {
            let target = rng.pick(&blocks);
            let open = target.d.block().expect("block").open;
            if !(open.start > d.span.start && open.end <= d.span.end) {
                let moved = text(d.span);
                kinds[3].push((
                    at(&format!(
                        "move into `{}` at byte {}",
                        target.d.name.text(),
                        open.start
                    )),
                    apply(
                        src,
                        vec![
                            (d.span, blank(src, d.span)),
                            (Span::new(open.end, open.end), format!(" {moved}")),
                        ],
                    ),
                ));
            }
        }
        // 4: a block where nginx wants `;`.
        if let nginx::End::Semicolon(semi) = d.end {
            kinds[4].push((
                at("`{}` instead of `;` after"),
                apply(src, vec![(semi, " {}".to_string())]),
            ));
        }
    }
    for b in &blocks {
        let name = b.d.name.text();
        let open = b.d.block().expect("block").open;
        let inside = |s: String| apply(src, vec![(Span::new(open.end, open.end), s)]);
        let own: Vec<String> =
            b.d.block()
                .expect("block")
                .directives()
                .map(|d| d.name.text())
                .collect();
        // 5: buffer relations, where nginx merges them.
        if matches!(name.as_str(), "http" | "server" | "location")
            && !b.parents.iter().any(|p| p == "upstream" || p == "stream")
        {
            let p = *rng.pick(&["fastcgi", "proxy", "uwsgi", "scgi", "fastcgi", "proxy"]);
            if !own.iter().any(|n| {
                n.starts_with(&format!("{p}_")) && (n.contains("buffer") || n.contains("temp_file"))
            }) {
                let n = *rng.pick(&["1", "2", "4", "8", "16", "32"]);
                let s = *rng.pick(&["4k", "8k", "16k", "32k"]);
                let busy = *rng.pick(&["4k", "8k", "16k", "24k", "32k", "64k", "128k", "256k"]);
                let set = match rng.below(4) {
                    0 => format!(" {p}_buffers {n} {s}; {p}_busy_buffers_size {busy};"),
                    1 => format!(" {p}_buffer_size {busy}; {p}_buffers {n} {s};"),
                    2 => format!(" {p}_buffers {n} {s}; {p}_temp_file_write_size {busy};"),
                    _ => format!(
                        " {p}_buffer_size {s}; {p}_max_temp_file_size {};",
                        rng.pick(&["0", "1k", "4k", "16k", "1m"])
                    ),
                };
                kinds[5].push((
                    format!(
                        "insert `{}` into `{name}` at byte {}",
                        set.trim(),
                        open.start
                    ),
                    inside(set),
                ));
            }
        }
        // 6: listen twice in one server / default_server twice.
        if name == "server" && b.parents.last().is_some_and(|p| p == "http") {
            let listens: Vec<&Directive> =
                b.d.block()
                    .expect("block")
                    .directives()
                    .filter(|d| d.name_is("listen"))
                    .collect();
            if let Some(l) = listens.first() {
                let first = l.arg(0).map(|w| w.text()).unwrap_or_default();
                let variant = match first.parse::<u16>() {
                    Ok(p) if rng.below(2) == 0 => format!("*:{p}"),
                    Ok(p) => format!("0.0.0.0:{p}"),
                    Err(_) => first.clone(),
                };
                kinds[6].push((
                    format!(
                        "listen {variant} again in the server at byte {}",
                        open.start
                    ),
                    inside(format!(" listen {variant};")),
                ));
            }
            kinds[6].push((
                format!(
                    "listen 127.0.0.1:8099 default_server in the server at byte {}",
                    open.start
                ),
                inside(" listen 127.0.0.1:8099 default_server;".to_string()),
            ));
        }
        // 7: nested locations.
        if name == "location" {
            let child = *rng.pick(&[
                "/zz-nested",
                "@named",
                "= /exact",
                "~ \\.zz$",
                "^~ /zz",
                "/",
                "~* \\.zz$",
            ]);
            kinds[7].push((
                format!(
                    "nest `location {child}` in the location at byte {}",
                    open.start
                ),
                inside(format!(" location {child} {{ return 204; }}")),
            ));
        }
    }
    for b in &blocks {
        let name = b.d.name.text();
        let block = b.d.block().expect("block");
        let Some(close) = block.close else { continue };
        let whole = Span::new(block.open.start, close.end);
        // 9: `;` where nginx wants a block (`directive "x" has no opening "{"`).
        kinds[9].push((
            format!(
                "`;` instead of the block of `{name}` at byte {}",
                block.open.start
            ),
            apply(
                src,
                vec![(
                    whole,
                    format!(";{}", blank(src, Span::new(whole.start + 1, whole.end))),
                )],
            ),
        ));
        // 10: a whole block moved into another block.
        let target = rng.pick(&blocks);
        let open = target.d.block().expect("block").open;
        if open.start < b.d.span.start || open.start >= b.d.span.end {
            // Newlines kept: a `#` comment inside must not swallow the rest.
            let moved = text(b.d.span);
            kinds[10].push((
                format!(
                    "move block `{name}` at byte {} into `{}` at byte {}",
                    b.d.span.start,
                    target.d.name.text(),
                    open.start
                ),
                apply(
                    src,
                    vec![
                        (b.d.span, blank(src, b.d.span)),
                        (Span::new(open.end, open.end), format!(" {moved}")),
                    ],
                ),
            ));
        }
    }
    // Two servers both `default_server` on one address.
    let servers: Vec<&&Found> = blocks
        .iter()
        .filter(|b| b.d.name_is("server") && b.parents.last().is_some_and(|p| p == "http"))
        .collect();
    if servers.len() >= 2 {
        let edits = servers[..2]
            .iter()
            .map(|s| {
                let open = s.d.block().expect("block").open;
                (
                    Span::new(open.end, open.end),
                    " listen 127.0.0.1:8098 default_server;".to_string(),
                )
            })
            .collect();
        kinds[8].push((
            "default_server for 127.0.0.1:8098 in two servers".to_string(),
            apply(src, edits),
        ));
    }
    // Round-robin over the kinds, each shuffled.
    for k in &mut kinds {
        for i in (1..k.len()).rev() {
            let j = rng.below(i + 1);
            k.swap(i, j);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < limit && kinds.iter().any(|k| i < k.len()) {
        for k in &kinds {
            if let Some(m) = k.get(i) {
                if out.len() < limit {
                    out.push(m.clone());
                }
            }
        }
        i += 1;
    }
    out
}

#[derive(Debug)]
enum Outcome {
    Agree(&'static str),
    Disagree(String),
}

/// wpstack's E007 errors on a staged tree: (message, file, lines). The lines run
/// from the directive's name to its `;` or `{`, where nginx reports it.
fn ours(main: &Path) -> Result<Vec<(String, PathBuf, std::ops::RangeInclusive<usize>)>, String> {
    ours_and_files(main).map(|(found, _)| found)
}

type Ours = Vec<(String, PathBuf, std::ops::RangeInclusive<usize>)>;

/// As `ours`, with the nginx files wpstack read (real paths).
fn ours_and_files(main: &Path) -> Result<(Ours, Vec<PathBuf>), String> {
    let stack = discover::load(&Inputs {
        nginx: vec![main.to_path_buf()],
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let settings = wpstack::settings::Settings {
        select: vec!["E007".to_string()],
        ..Default::default()
    };
    let host = wpstack::machine::host::resolve(&Default::default(), &Default::default(), false);
    let files = stack
        .nginx
        .iter()
        .flat_map(|n| n.files.iter())
        .map(|id| {
            let p = &stack.sources.get(*id).path;
            std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())
        })
        .collect();
    let found = wpstack::engine::run(&stack, &settings, &host)
        .into_iter()
        .filter(|f| f.code == "E007" && f.severity == Severity::Error)
        .filter_map(|f| {
            let p = f.primary?;
            let src = stack.sources.get(p.file);
            let parsed = nginx::parse(&src.bytes);
            let end = parsed
                .all_directives()
                .into_iter()
                .find(|d| d.name.span.start == p.span.start || d.span.start == p.span.start)
                .and_then(|d| match &d.end {
                    nginx::End::Semicolon(s) => Some(s.start),
                    nginx::End::Block(b) => Some(b.open.start),
                    _ => None,
                })
                .unwrap_or(p.span.start);
            Some((
                f.message.clone(),
                src.path.clone(),
                src.line_of(p.span.start)..=src.line_of(end),
            ))
        })
        .collect();
    Ok((found, files))
}

fn same_file(a: &Path, b: &Path) -> bool {
    let c = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    c(a) == c(b)
}

fn compare(verdict: &Run, ours: &[(String, PathBuf, std::ops::RangeInclusive<usize>)]) -> Outcome {
    let show = || {
        ours.iter()
            .map(|(m, f, l)| format!("{}:{l:?}: {m}", f.display()))
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    match verdict {
        Run::Ok(_) if ours.is_empty() => Outcome::Agree("accepted by both"),
        Run::Ok(_) => Outcome::Disagree(format!("nginx accepts; E007 says:\n  {}", show())),
        Run::Emerg(msg, at) if e007_covers(msg) => {
            // nginx prints names as they are: one with a newline in it ends the
            // first line of its message (then no place is parsed), so compare that part.
            let quoted = match at {
                Some(_) => format!("`[emerg] {msg}`"),
                None => format!("`[emerg] {msg}"),
            };
            let hit = ours.iter().any(|(m, f, l)| {
                m.contains(&quoted)
                    && (is_merge_message(msg)
                        || at.is_none()
                        || at
                            .as_ref()
                            .is_some_and(|(nf, nl)| same_file(f, nf) && l.contains(nl)))
            });
            if hit {
                Outcome::Agree("refused by both, same words and place")
            } else {
                Outcome::Disagree(format!("nginx: {msg} at {at:?}\nE007:\n  {}", show()))
            }
        }
        Run::Emerg(_, _) if ours.is_empty() => {
            Outcome::Agree("refused by nginx for a reason outside E007, no E007")
        }
        // nginx stops at its first error. One it meets while reading comes before the
        // buffer checks (made when it merges, after reading every file) and before
        // anything later in the same file: those E007s are neither confirmed nor refuted.
        Run::Emerg(msg, Some((nf, nl)))
            if !is_merge_message(msg)
                && ours.iter().all(|(m, f, l)| {
                    m.split_once("`[emerg] ")
                        .is_some_and(|(_, rest)| is_merge_message(rest))
                        || (same_file(f, nf) && l.start() > nl)
                }) =>
        {
            Outcome::Agree(
                "refused by nginx for another reason before it reaches what E007 reports",
            )
        }
        Run::Emerg(msg, at) => Outcome::Disagree(format!(
            "nginx refuses for a reason outside E007 ({msg} at {at:?}); E007 says:\n  {}",
            show()
        )),
        Run::Other(e) => Outcome::Disagree(format!("nginx failed without [emerg]: {e}")),
    }
}

const WORDPRESS_SITE: &str = r#"user www-data;
worker_processes auto;
events { worker_connections 768; }
http {
    include mime.types;
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;
    gzip on;
    gzip_types text/css application/javascript;
    client_max_body_size 64m;
    fastcgi_buffers 16 16k;
    fastcgi_buffer_size 32k;
    upstream php { server unix:/run/php/php8.2-fpm.sock; }
    server {
        listen 80 default_server;
        listen [::]:80 default_server;
        server_name example.com www.example.com;
        root /var/www/html;
        index index.php;
        location / { try_files $uri $uri/ /index.php?$args; }
        location = /favicon.ico { log_not_found off; access_log off; }
        location ~* \.(css|js|png|jpg|gif|ico|svg)$ { expires max; }
        location ~ /\. { deny all; }
        location /wp-content/uploads/ {
            location ~ \.php$ { deny all; }
        }
        location ~ \.php$ {
            try_files $uri =404;
            fastcgi_split_path_info ^(.+\.php)(/.+)$;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_index index.php;
            fastcgi_read_timeout 300;
            fastcgi_pass php;
        }
    }
    server {
        listen 8080;
        server_name shop.example.com;
        location / {
            proxy_pass http://127.0.0.1:8081;
            proxy_set_header Host $host;
            proxy_read_timeout 120s;
            proxy_buffers 8 16k;
            proxy_buffer_size 16k;
        }
        location @fallback { return 503; }
        if ($http_user_agent ~ "bot") { set $limit 1; }
    }
}
"#;

#[test]
fn nginx_startup_differential() {
    let Some(bin) = support::oracle("nginx") else {
        return;
    };
    // nginx -t binds the ports the trees listen on (80, 443) and opens their logs:
    // only root's verdict is the one the configuration gets in production.
    if !rustix::process::geteuid().is_root() {
        println!("skipped: nginx -t binds ports 80/443 of the trees, which needs root");
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = tempfile::tempdir().expect("temp dir");
    std::fs::write(generated.path().join("nginx.conf"), WORDPRESS_SITE).expect("write");
    std::fs::write(
        generated.path().join("mime.types"),
        "types { text/html html; }\n",
    )
    .expect("write");
    let mut bases = vec![Base {
        name: "generated/wordpress".into(),
        src: generated.path().to_path_buf(),
        main: "nginx.conf",
        enable_sites: false,
    }];
    for fx in ["healthy", "broken", "model", "multipool"] {
        let src = manifest.join("fixtures/stacks").join(fx).join("etc/nginx");
        if src.join("nginx.conf").is_file() {
            bases.push(Base {
                name: format!("fixtures/stacks/{fx}"),
                src,
                main: "nginx.conf",
                enable_sites: false,
            });
        }
    }
    if let Some(corpus) = support::corpus_dir() {
        let nginx_dir = corpus.join("nginx");
        for (name, enable) in [
            ("debian-nginx-common", true),
            ("h5bp-server-configs-nginx", false),
            ("nginx-upstream", false),
            ("pothi-wordpress-nginx", false),
            ("centminmod", false),
        ] {
            bases.push(Base {
                name: name.into(),
                src: nginx_dir.join(name),
                main: "nginx.conf",
                enable_sites: enable,
            });
        }
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(nginx_dir.join("crossplane-tests"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.join("nginx.conf").is_file())
                    .collect()
            })
            .unwrap_or_default();
        fixtures.sort();
        for fx in fixtures {
            bases.push(Base {
                name: format!(
                    "crossplane-tests/{}",
                    fx.file_name().unwrap_or_default().to_string_lossy()
                ),
                src: fx,
                main: "nginx.conf",
                enable_sites: false,
            });
        }
    } else {
        println!("skipped: ../shared/corpus not found (fixtures and generated bases only)");
    }

    // The bases themselves: the corpus must stay clean, and what nginx refuses must
    // be what E007 says (or outside it).
    let mut results: Vec<(String, Outcome)> = Vec::new();
    let mut accepted: Vec<(usize, Vec<PathBuf>)> = Vec::new();
    for (i, b) in bases.iter().enumerate() {
        let tmp = ngx::stage_tree(&b.src, b.enable_sites);
        let main = tmp.path().join(b.main);
        let verdict = ngx::run(&bin, tmp.path(), &main);
        let (mine, our_files) = ours_and_files(&main).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        results.push((format!("base {}", b.name), compare(&verdict, &mine)));
        if let Run::Ok(files) = &verdict {
            // wpstack lints site files nginx does not read (sites-available/ of a tree
            // without sites-enabled/): mutations there would compare different trees.
            let theirs: std::collections::BTreeSet<PathBuf> = files
                .iter()
                .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()))
                .collect();
            let extra: Vec<&PathBuf> = our_files.iter().filter(|f| !theirs.contains(*f)).collect();
            if !extra.is_empty() {
                println!(
                    "base {} not mutated: wpstack also reads {} files nginx does not ({})",
                    b.name,
                    extra.len(),
                    extra[0].display()
                );
                continue;
            }
        }
        if let Run::Ok(files) = verdict {
            let rel: Vec<PathBuf> = files
                .iter()
                .filter_map(|f| {
                    let real = std::fs::canonicalize(f).ok()?;
                    let root = std::fs::canonicalize(tmp.path()).ok()?;
                    real.strip_prefix(root).ok().map(Path::to_path_buf)
                })
                .filter(|r| b.src.join(r).is_file())
                .collect();
            accepted.push((i, rel));
        } else {
            println!("base {} refused by nginx: {verdict:?}", b.name);
        }
    }
    let base_results = results.len();

    // Mutations, spread over the accepted bases and their files.
    // A fixed seed, so every run makes the same mutations; WPSTACK_MUTATION_SEED explores
    // others.
    let seed = std::env::var("WPSTACK_MUTATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_e007_2026_u64);
    let mut rng = Rng(seed.max(1));
    let per_base = (MIN_MUTATIONS * 2) / accepted.len().max(1) + 1;
    let mut muts = Vec::new();
    for (bi, files) in &accepted {
        let per_file = per_base / files.len().max(1) + 1;
        let mut mine = Vec::new();
        for f in files {
            let Ok(src) = std::fs::read(bases[*bi].src.join(f)) else {
                continue;
            };
            if std::str::from_utf8(&src).is_err() || f.ends_with("mime.types") {
                continue;
            }
            for (what, text) in mutations_of(&src, &mut rng, per_file.max(8)) {
                mine.push(Mutation {
                    base: *bi,
                    file: f.clone(),
                    text,
                    what,
                });
            }
        }
        // Keep the base's share, taking files in turn.
        for i in (1..mine.len()).rev() {
            let j = rng.below(i + 1);
            mine.swap(i, j);
        }
        mine.truncate(per_base.max(20));
        muts.extend(mine);
    }

    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(m) = muts.get(i) else { break };
                let b = &bases[m.base];
                let tmp = tempfile::tempdir().expect("temp dir");
                ngx::stage_into(&b.src, tmp.path(), b.enable_sites);
                std::fs::write(tmp.path().join(&m.file), ngx::relocate(&m.text, tmp.path()))
                    .expect("write");
                let main = tmp.path().join(b.main);
                let verdict = ngx::run(&bin, tmp.path(), &main);
                let outcome = match ours(&main) {
                    Ok(mine) => compare(&verdict, &mine),
                    Err(e) => Outcome::Disagree(format!("wpstack could not load it: {e}")),
                };
                let name = format!("{} {}: {}", b.name, m.file.display(), m.what);
                done.lock().expect("lock").push((name, outcome));
            });
        }
    });
    results.extend(done.into_inner().expect("lock"));

    let mut kinds: Vec<(&'static str, usize)> = Vec::new();
    let mut disagree = Vec::new();
    let mut limited = Vec::new();
    let mut agree = 0;
    for (i, (name, o)) in results.iter().enumerate() {
        match o {
            Outcome::Agree(k) => {
                if i >= base_results {
                    agree += 1;
                }
                match kinds.iter_mut().find(|(x, _)| x == k) {
                    Some((_, n)) => *n += 1,
                    None => kinds.push((k, 1)),
                }
            }
            Outcome::Disagree(why) => {
                match LIMITS
                    .iter()
                    .find(|(pat, _)| name.contains(pat) || why.contains(pat))
                {
                    Some((_, reason)) => limited.push(format!("{name}: {reason}")),
                    None => disagree.push(format!("{name}\n{why}")),
                }
            }
        }
    }
    let n = results.len() - base_results;
    // Mutations per kind and how many nginx refused.
    let mut per_kind: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (name, o) in &results[base_results..] {
        let what = name.split(": ").nth(1).unwrap_or("");
        let kind = match what.split_whitespace().next().unwrap_or("") {
            "`{}`" => "block-for-semicolon",
            "`;`" => "semicolon-for-block",
            "insert" => "buffers",
            "default_server" => "default_server",
            k => k,
        };
        let e = per_kind.entry(kind).or_default();
        e.0 += 1;
        if matches!(o, Outcome::Agree(k) if k.starts_with("refused")) {
            e.1 += 1;
        }
    }
    println!(
        "mutations by kind (refused by nginx): {}",
        per_kind
            .iter()
            .map(|(k, (all, refused))| format!("{k} {all} ({refused})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mutation_disagree = disagree.iter().filter(|d| !d.starts_with("base ")).count();
    for l in &limited {
        println!("documented limit: {l}");
    }
    println!(
        "nginx start-up differential: {n} mutations, agree {agree}, disagree {mutation_disagree} (and {base_results} unmutated bases, {} of them disagreeing; outcomes: {}; {} documented limits)",
        disagree.len() - mutation_disagree,
        kinds.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", "),
        limited.len()
    );
    assert!(
        n >= MIN_MUTATIONS || support::corpus_dir().is_none(),
        "only {n} mutations"
    );
    assert!(
        disagree.is_empty(),
        "{} disagree with nginx -t:\n\n{}",
        disagree.len(),
        disagree.join("\n\n")
    );
}

/// The cases of issue 14, each an E007 in nginx's words at the line nginx names (and,
/// when nginx is installed, nginx really says it).
#[test]
fn issue_cases_in_nginx_words() {
    let site = |inner: &str, loc: &str| {
        format!(
            "events {{}}\nhttp {{ access_log off;\n{inner}\n    server {{\n        listen 127.0.0.1:8080;\n        location ~ \\.php$ {{\n{loc}\n            fastcgi_pass 127.0.0.1:9000;\n        }}\n    }}\n}}\n"
        )
    };
    let cases: Vec<(&str, String, &str, usize, Option<&str>)> = vec![
        (
            "busy buffers",
            site("", "            fastcgi_buffers 16 16k;\n            fastcgi_busy_buffers_size 256k;"),
            "\"fastcgi_busy_buffers_size\" must be less than the size of all \"fastcgi_buffers\" minus one buffer",
            8,
            None,
        ),
        (
            "misspelled directive",
            site("", "            proxy_passs http://127.0.0.1:8081;"),
            "unknown directive \"proxy_passs\"",
            7,
            Some("did you mean \"proxy_pass\"?"),
        ),
        (
            "wrong context",
            site("    fastcgi_pass 127.0.0.1:9000;", ""),
            "\"fastcgi_pass\" directive is not allowed here",
            3,
            None,
        ),
        (
            "user without argument",
            format!("user;\n{}", site("", "")),
            "invalid number of arguments in \"user\" directive",
            1,
            None,
        ),
    ];
    let bin = support::oracle("nginx");
    for (name, conf, emerg, line, extra) in cases {
        let tmp = tempfile::tempdir().expect("temp dir");
        let main = tmp.path().join("nginx.conf");
        std::fs::write(&main, ngx::relocate(conf.as_bytes(), tmp.path())).expect("write");
        std::fs::create_dir_all(tmp.path().join("tmp")).expect("mkdir");
        let mine = ours(&main).expect("load");
        let hit = mine.iter().find(|(m, _, l)| {
            m.contains(&format!("`[emerg] {emerg}`"))
                && (l.contains(&line) || name == "busy buffers")
        });
        let Some((msg, _, lines)) = hit else {
            panic!("{name}: no E007 with `{emerg}` at line {line}: {mine:?}")
        };
        if let Some(extra) = extra {
            assert!(msg.contains(extra), "{name}: {msg}");
        }
        println!("{name}: nginx.conf:{}: {msg}", lines.start());
        if let Some(bin) = &bin {
            match ngx::run(bin, tmp.path(), &main) {
                Run::Emerg(m, _) => assert_eq!(m, emerg, "{name}: nginx says otherwise"),
                other => panic!("{name}: nginx -t: {other:?}"),
            }
        }
    }
}

/// Directives nginx 1.22 does not know but another nginx may: a later release's
/// (`http2 on;`), a third-party module's, a Debian dynamic module not loaded — infos with
/// their assumption, never errors; `load_module` makes a dynamic module's directives
/// known, and a module wpstack has no table for silences unknown names.
#[test]
fn other_builds_are_assumptions_not_errors() {
    let e007 = |conf: &str| -> Vec<(Severity, String)> {
        let tmp = tempfile::tempdir().expect("temp dir");
        let main = tmp.path().join("nginx.conf");
        std::fs::write(&main, conf).expect("write");
        let stack = discover::load(&Inputs {
            nginx: vec![main],
            ..Default::default()
        })
        .expect("load");
        let settings = wpstack::settings::Settings {
            select: vec!["E007".to_string()],
            ..Default::default()
        };
        let host = wpstack::machine::host::resolve(&Default::default(), &Default::default(), false);
        wpstack::engine::run(&stack, &settings, &host)
            .into_iter()
            .map(|f| (f.severity, f.message))
            .collect()
    };
    let http = |inner: &str| {
        format!("events {{}}\nhttp {{\n    server {{\n        listen 8080;\n{inner}\n    }}\n}}\n")
    };
    let infos =
        |v: &[(Severity, String)]| v.iter().all(|(s, _)| *s == Severity::Info) && !v.is_empty();

    let got = e007(&http("        http2 on;"));
    assert!(
        infos(&got) && got[0].1.contains("since nginx 1.25.1"),
        "{got:?}"
    );
    let got = e007(&http(
        "        more_set_headers \"Server: x\";\n        more_clear_headers X-Powered-By;",
    ));
    assert!(
        infos(&got) && got.len() == 1 && got[0].1.contains("headers-more"),
        "{got:?}"
    );
    let stream = "events {}\nstream {\n    server {\n        listen 3306;\n        proxy_pass 10.0.0.2:3306;\n    }\n}\n";
    let got = e007(stream);
    assert!(
        infos(&got) && got[0].1.contains("ngx_stream_module.so"),
        "{got:?}"
    );
    let got = e007(&format!(
        "load_module modules/ngx_stream_module.so;\n{stream}"
    ));
    assert!(got.is_empty(), "{got:?}");
    let got = e007(&format!(
        "load_module modules/ngx_stream_module.so;\n{}",
        stream.replace("proxy_pass", "proxy_pas")
    ));
    assert!(
        got.iter()
            .any(|(s, m)| *s == Severity::Error && m.contains("unknown directive \"proxy_pas\"")),
        "{got:?}"
    );
    let got = e007(&format!(
        "load_module modules/ngx_http_brotli_filter_module.so;\n{}",
        http("        brotli_typez text/css;")
    ));
    assert!(got.is_empty(), "{got:?}");
    // A snippet included in two servers is judged in each.
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("php.conf"),
        "location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; fastcgi_buffers 1 4k; }\n",
    )
    .expect("write");
    let conf = format!(
        "events {{}}\nhttp {{\n    server {{ listen 8080; include {d}/php.conf; }}\n    server {{ listen 8081; include {d}/php.conf; }}\n}}\n",
        d = tmp.path().display()
    );
    let got = e007(&conf);
    assert_eq!(got.len(), 1, "one finding for the one place: {got:?}");
    assert!(
        got[0]
            .1
            .contains("there must be at least 2 \"fastcgi_buffers\""),
        "{got:?}"
    );
}
