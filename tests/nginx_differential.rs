//! Differential test: our nginx parser and include loader against the real `nginx -t`.
//!
//! For every case, nginx's verdict (the first `[emerg]` line: message, file, line) and
//! ours (the first syntax error or include problem in the order nginx reads the files)
//! must agree. Only syntax-level and include-level verdicts count: when nginx stops on
//! a semantic error (unknown directive, wrong argument count…), the case says nothing
//! about syntax and is listed as skipped with nginx's reason.
//!
//! nginx runs only with `-t`/`-T` (it never binds a port), on copies in temp dirs, with
//! `-p`/`-c` pointing there and `pid` in the temp dir (tests/oracle_support/nginx.rs,
//! shared with the start-up differential).

#[path = "oracle_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use wpstack::source::{FileId, SourceMap};
use wpstack::stack::nginx_load::{self, NginxTree};
use wpstack::syntax::nginx;

/// What `nginx -T` said about a configuration.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// Accepted; the files nginx read, in the order it first opened them.
    Ok(Vec<PathBuf>),
    /// A syntax error (`unexpected …`, `too long parameter …`).
    Syntax(String, PathBuf, usize),
    /// An include that could not be opened (`open() "…" failed …`).
    Open(String, PathBuf, usize),
    /// A semantic error at a place in a file (unknown directive, wrong argument
    /// count…): nginx stopped before reading the rest, so syntax is not settled.
    Other(String),
    /// An error without a place: nginx read every file without a syntax error and
    /// failed afterwards (`no "events" section`, `unknown "x" variable`…).
    AfterParse(String),
}

fn is_syntax_message(msg: &str) -> bool {
    msg.starts_with("unexpected ") || msg.starts_with("too long parameter")
}

fn run_nginx(bin: &Path, dir: &Path, main: &Path) -> Verdict {
    match support::nginx::run(bin, dir, main) {
        support::nginx::Run::Ok(files) => Verdict::Ok(files),
        support::nginx::Run::Emerg(m, Some((file, line))) if is_syntax_message(&m) => {
            Verdict::Syntax(m, file, line)
        }
        support::nginx::Run::Emerg(m, Some((file, line))) if m.starts_with("open() ") => {
            Verdict::Open(m, file, line)
        }
        support::nginx::Run::Emerg(m, Some(_)) => Verdict::Other(m),
        support::nginx::Run::Emerg(m, None) => Verdict::AfterParse(m),
        support::nginx::Run::Other(e) => Verdict::Other(e),
    }
}

/// Our first problem in the order nginx meets them: syntax errors and include
/// directives of a file by position, an include's files before the next directive.
fn first_problem(tree: &NginxTree, file: FileId, depth: usize) -> Option<(FileId, usize, String)> {
    let parsed = tree.file(file)?;
    let mut events: Vec<(usize, Result<&nginx::Directive, String>)> = parsed
        .errors
        .iter()
        .map(|e| (e.span.start, Err(e.message.clone())))
        .collect();
    for d in parsed.all_directives() {
        if d.name_is("include") && matches!(d.end, nginx::End::Semicolon(_)) {
            // nginx handles a directive when it reads its `;`.
            events.push((d.span.end - 1, Ok(d)));
        }
    }
    events.sort_by_key(|e| e.0);
    for (at, ev) in events {
        match ev {
            Err(msg) => return Some((file, at, msg)),
            Ok(d) => {
                if depth < 100 {
                    for &child in tree.included_by(file, d) {
                        if let Some(p) = first_problem(tree, child, depth + 1) {
                            return Some(p);
                        }
                    }
                }
                let place = wpstack::finding::Place::new(file, d.span);
                if let Some(p) = tree.problems.iter().find(|p| p.place == Some(place)) {
                    return Some((file, d.span.end - 1, p.message.clone()));
                }
            }
        }
    }
    None
}

enum Outcome {
    /// Same verdict; says which kind.
    Agree(&'static str),
    /// nginx stopped on a semantic error first: nothing to compare.
    Skip(String),
    Disagree(String),
}

/// Compare nginx's verdict on `main` with ours.
fn compare(bin: &Path, dir: &Path, main: &Path) -> Outcome {
    let verdict = run_nginx(bin, dir, main);
    let mut sources = SourceMap::new();
    let tree = match nginx_load::load(main, dir, &Default::default(), &mut sources) {
        Ok(t) => t,
        Err(e) => return Outcome::Disagree(e.to_string()),
    };
    let ours = first_problem(&tree, tree.main, 0).map(|(f, at, msg)| {
        let sf = sources.get(f);
        (msg, sf.path.clone(), sf.line_of(at))
    });
    match (&verdict, &ours) {
        (Verdict::Ok(files), None) => {
            let our_files: Vec<PathBuf> = tree
                .files
                .iter()
                .map(|(id, _)| sources.get(*id).path.clone())
                .collect();
            // We name each file by its real path (a sites-enabled link is its
            // sites-available file); nginx names the path it opened.
            let real = |v: &[PathBuf]| -> Vec<PathBuf> {
                v.iter()
                    .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()))
                    .collect()
            };
            if real(&our_files) == real(files) {
                Outcome::Agree("accepted, same files read")
            } else {
                Outcome::Disagree(format!("nginx read {files:?}, we read {our_files:?}"))
            }
        }
        (Verdict::AfterParse(_), None) => {
            Outcome::Agree("read without syntax error, then a semantic failure")
        }
        (Verdict::Syntax(m, f, l), Some((om, of, ol)))
            if om.starts_with(m.as_str()) && of == f && ol == l =>
        {
            Outcome::Agree("same syntax error at the same line")
        }
        (Verdict::Open(m, f, l), Some((om, of, ol))) if om == m && of == f && ol == l => {
            Outcome::Agree("same missing include at the same line")
        }
        (Verdict::Other(why), _) => Outcome::Skip(why.clone()),
        _ => Outcome::Disagree(format!("nginx: {verdict:?}\nours:  {ours:?}")),
    }
}

/// The http-level cases: (name, contents of case.conf). Each is included from a main
/// file that sets up everything else, so the only problems can be syntactic.
fn generated_cases() -> Vec<(&'static str, Vec<u8>)> {
    let long = "x".repeat(5000);
    let s = |name: &'static str, text: &str| (name, text.as_bytes().to_vec());
    vec![
        // Valid, tricky.
        s("regex-braces-in-quotes", "server {\n    listen 127.0.0.1:8080;\n    location ~ \"^/x{2,3}$\" { return 204; }\n    location ~ '^/(a|b){1}/' { return 204; }\n}\n"),
        s("hash-inside-word", "server {\n    listen 127.0.0.1:8080;\n    add_header X-A a#b;\n    location /a { return 200 \"a#b\"; } # trailing comment\n}\n"),
        s("comments-between-args", "log_format main # first\n    '$remote_addr' # second\n    # alone\n    '$status';\n"),
        s("quoted-names", "\"server\" {\n    'listen' \"127.0.0.1:8080\";\n    \"location\" '/q' { 'return' \"204\"; }\n}\n"),
        s("brace-right-after-quote", "server {\n    listen 127.0.0.1:8080;\n    location \"/x\"{ return 204; }\n}\n"),
        s("paren-after-quote", "server {\n    listen 127.0.0.1:8080;\n    if ($request_uri ~ \"^/x\") { return 404; }\n    if ($http_host = \"a\"){ return 403; }\n}\n"),
        s("dollar-brace-variables", "server {\n    listen 127.0.0.1:8080;\n    set $a \"${host}x\";\n    set $b $host${request_uri};\n    location /y { try_files /a/${uri} /a/${uri}.html =404; }\n}\n"),
        s("map-with-regex-braces", "map $uri $m {\n    default 0;\n    \"~^/a{2}\" 1;\n    '' 2;\n    ~^/b\\{x 3;\n}\n"),
        s("types-block", "types {\n    text/x-foo foo;\n    application/x-bar bar baz;\n}\n"),
        s("crlf", "server {\r\n    listen 127.0.0.1:8080;\r\n    # comment\r\n    location / { return 204; }\r\n}\r\n"),
        s("tabs-trailing-space-no-newline", "server {\t\n\tlisten\t127.0.0.1:8080 ;   \n\tlocation /t {\treturn\t204;\t}  \t\n}"),
        ("non-utf8", b"server {\n    listen 127.0.0.1:8080;\n    # caf\xe9\n    add_header X-L caf\xe9\xff;\n}\n".to_vec()),
        s("escapes", "server {\n    listen 127.0.0.1:8080;\n    add_header X-A \"a\\\"b\\\\c\";\n    add_header X-B a\\;b;\n    add_header X-C 'it\\'s';\n    add_header X-D \\\"a;\n}\n"),
        s("multi-line-directive", "log_format combined2 '$remote_addr - $remote_user [$time_local] '\n                     '\"$request\" $status $body_bytes_sent '\n                     '\"$http_referer\" \"$http_user_agent\"';\n"),
        s("empty-file", ""),
        s("only-comments", "# nothing here\n# at all"),
        s("escaped-specials-in-location", "server {\n    listen 127.0.0.1:8080;\n    location /\\{\\;\\}\\ #\\ ab { return 204; }\n}\n"),
        s("quoted-semicolon-and-newline", "server {\n    listen 127.0.0.1:8080;\n    location \"/sta;\n    tus\" { return 204; }\n}\n"),
        s("long-but-fits", &format!("server {{\n    listen 127.0.0.1:8080;\n    add_header X-L {} ;\n    add_header X-Q \"{}\";\n}}\n", "x".repeat(4094), "y".repeat(4094))),
        // Broken.
        s("missing-semicolon-before-brace", "server {\n    listen 127.0.0.1:8080;\n    location / {\n        return 204\n    }\n}\n"),
        s("missing-semicolon-at-eof", "server {\n    listen 127.0.0.1:8080;\n}\nserver_tokens off"),
        s("stray-close-brace", "server {\n    listen 127.0.0.1:8080;\n}\n}\n"),
        s("extra-close-brace", "server { listen 127.0.0.1:8080; }}\n"),
        s("unclosed-block", "server {\n    listen 127.0.0.1:8080;\n    location / {\n        return 204;\n    }\n"),
        s("unbalanced-double-quote", "server {\n    listen 127.0.0.1:8080;\n    return 200 \"abc;\n}\n"),
        s("unbalanced-single-quote", "server {\n    listen 127.0.0.1:8080;\n    add_header X 'abc;\n}\n\n"),
        s("semicolon-alone", "server {\n    listen 127.0.0.1:8080;\n    ;\n}\n"),
        s("brace-alone", "server {\n    listen 127.0.0.1:8080;\n    {\n    }\n}\n"),
        s("text-after-quote", "server {\n    listen 127.0.0.1:8080;\n    return 200 \"a\"b;\n}\n"),
        s("hash-after-quote", "server {\n    listen 127.0.0.1:8080;\n    return 200 \"a\"#b;\n}\n"),
        s("close-after-quote", "server {\n    listen 127.0.0.1:8080;\n    location / { return 200 'x'}\n}\n"),
        s("quote-after-single-quote", "server {\n    listen 127.0.0.1:8080;\n    add_header X 'a''b';\n}\n"),
        s("close-after-args-deep", "server {\n    listen 127.0.0.1:8080;\n    location /a {\n        location /a/b {\n            add_header X y\n        }\n    }\n}\n"),
        s("crlf-with-error", "server {\r\n    listen 127.0.0.1:8080;\r\n    return 204\r\n}\r\n"),
        s("escaped-quote-never-closed", "server {\n    listen 127.0.0.1:8080;\n    add_header X \"a\\\";\n}\n"),
        s("too-long-comment", &format!("# {long}\nserver {{ listen 127.0.0.1:8080; }}\n")),
        s("too-long-quoted", &format!("server {{\n    listen 127.0.0.1:8080;\n    add_header X \"{long}\";\n}}\n")),
        s("too-long-word", &format!("server {{\n    listen 127.0.0.1:8080;\n    add_header X {} ;\n}}\n", "x".repeat(4095))),
        s("too-long-quoted-edge", &format!("server {{\n    listen 127.0.0.1:8080;\n    add_header X \"{}\" ;\n}}\n", "x".repeat(4094))),
        s("error-after-long-valid-part", &format!("server {{\n    listen 127.0.0.1:8080;\n{}    return 204 }}\n", "    add_header X-A b;\n".repeat(40))),
    ]
}

fn generated_main(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "events {{}}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/tmp/body;\n    proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n    include case.conf;\n}}\n"
    )
}

use support::nginx::stage_tree;

#[test]
fn nginx_differential() {
    let Some(bin) = support::oracle("nginx") else {
        return;
    };
    let mut agree: Vec<(&'static str, usize)> = Vec::new();
    let mut disagree = Vec::new();
    let mut skipped = Vec::new();
    let mut record = |name: String, outcome: Outcome| match outcome {
        Outcome::Agree(kind) => {
            println!("agree ({kind}): {name}");
            match agree.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => agree.push((kind, 1)),
            }
        }
        Outcome::Skip(why) => skipped.push(format!(
            "{name}: nginx stops on a semantic error first: {why}"
        )),
        Outcome::Disagree(why) => disagree.push(format!("{name}:\n{why}")),
    };

    // Generated files.
    for (name, text) in generated_cases() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path();
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(dir.join("tmp").join(sub)).expect("mkdir");
        }
        std::fs::write(dir.join("nginx.conf"), generated_main(dir)).expect("write");
        std::fs::write(dir.join("case.conf"), &text).expect("write");
        let r = compare(&bin, dir, &dir.join("nginx.conf"));
        record(format!("generated/{name}"), r);
    }

    // Corpus trees.
    if let Some(corpus) = support::corpus_dir() {
        let nginx_dir = corpus.join("nginx");
        let mut mains: Vec<(String, PathBuf, &str, bool)> = vec![
            (
                "debian-nginx-common".into(),
                nginx_dir.join("debian-nginx-common"),
                "nginx.conf",
                false,
            ),
            (
                "debian-nginx-common + sites-enabled/default".into(),
                nginx_dir.join("debian-nginx-common"),
                "nginx.conf",
                true,
            ),
            (
                "h5bp-server-configs-nginx".into(),
                nginx_dir.join("h5bp-server-configs-nginx"),
                "nginx.conf",
                false,
            ),
            (
                "nginx-upstream".into(),
                nginx_dir.join("nginx-upstream"),
                "nginx.conf",
                false,
            ),
            (
                "pothi-wordpress-nginx".into(),
                nginx_dir.join("pothi-wordpress-nginx"),
                "nginx.conf",
                false,
            ),
            (
                "centminmod".into(),
                nginx_dir.join("centminmod"),
                "nginx.conf",
                false,
            ),
        ];
        let crossplane = nginx_dir.join("crossplane-tests");
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&crossplane)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        fixtures.sort();
        for fx in fixtures {
            let name = fx
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if fx.join("nginx.conf").is_file() {
                mains.push((
                    format!("crossplane-tests/{name}"),
                    fx.clone(),
                    "nginx.conf",
                    false,
                ));
            }
            // The two INVALID.txt SYNTAX fixtures, and crossplane's "never included"
            // decoys, read as main files.
            let extra: &[&'static str] = match name.as_str() {
                "missing-semicolon" => &["broken-above.conf", "broken-below.conf"],
                "includes-regular" => &["conf.d/foo.conf", "conf.d/bar.conf"],
                "includes-globbed" => &["servers/locations/not-included.conf"],
                _ => &[],
            };
            for f in extra {
                mains.push((format!("crossplane-tests/{name}/{f}"), fx.clone(), f, false));
            }
        }
        for (name, src, main, enable_sites) in mains {
            let tmp = stage_tree(&src, enable_sites);
            let r = compare(&bin, tmp.path(), &tmp.path().join(main));
            record(name, r);
        }
    }

    for s in &skipped {
        println!("skipped {s}");
    }
    assert!(
        disagree.is_empty(),
        "{} disagree with nginx -t:\n{}",
        disagree.len(),
        disagree.join("\n\n")
    );
    let total: usize = agree.iter().map(|(_, n)| n).sum();
    let kinds: Vec<String> = agree.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "nginx differential: {total} files agree with nginx -t, 0 disagree ({}; {} skipped because nginx stops on a semantic error first)",
        kinds.join(", "),
        skipped.len()
    );
}
