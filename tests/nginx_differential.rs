//! Differential tests against the real nginx: for the corpus trees `nginx -t` can load
//! and for generated broken files, our syntax verdict and error line agree with it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use wpstack::syntax::nginx;

/// nginx's words for the syntax errors ngx_conf_read_token/ngx_conf_parse detect.
fn is_syntax_message(msg: &str) -> bool {
    msg.contains("unexpected ")
        || msg.contains("unbalanced")
        || msg.contains("unexpected end of file")
}

/// Run `nginx -t` on `main` with its prefix; (ok, message, file, line) of the failure.
fn nginx_t(prefix: &Path, main: &Path) -> (bool, String, Option<PathBuf>, Option<usize>) {
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(main)
        .arg("-g")
        .arg(format!("pid {}/nginx.pid;", prefix.display()))
        .output()
        .expect("run nginx");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = err
        .lines()
        .find(|l| l.contains("[emerg]"))
        .unwrap_or("")
        .to_string();
    // "... [emerg] 12#12: unexpected "}" in /tmp/x/nginx.conf:5"
    let (file, lno) = match line.rsplit_once(" in ") {
        Some((_, loc)) => match loc.rsplit_once(':') {
            Some((f, l)) => (Some(PathBuf::from(f)), l.trim().parse().ok()),
            None => (None, None),
        },
        None => (None, None),
    };
    let msg = line
        .split_once(": ")
        .map(|(_, m)| m.to_string())
        .unwrap_or(line);
    (out.status.success(), msg, file, lno)
}

fn our_first_error(path: &Path) -> Option<(usize, String)> {
    let bytes = std::fs::read(path).ok()?;
    let f = nginx::parse(&bytes);
    let e = f.errors.first()?;
    let line = bytes[..e.span.start.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1;
    Some((line, e.message.clone()))
}

const BASE: &str = "events {\n    worker_connections 64;\n}\nhttp {\n    server {\n        listen 127.0.0.1:18080;\n        server_name example.test;\n        location / {\n            return 200 \"ok\";\n        }\n        location ~ \"^/x{2,3}$\" {\n            return 204;\n        }\n    }\n}\n";

/// Broken and tricky variants of BASE (and a few standalone ones).
fn generated() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![("base".into(), BASE.into())];
    // Drop each `;`, each `{`, each `}` in turn.
    for (i, c) in BASE.char_indices() {
        if matches!(c, ';' | '{' | '}')
            && !BASE[..i].ends_with("x{2,3")
            && !BASE[..i].ends_with("x{2")
        {
            let mut s = BASE.to_string();
            s.remove(i);
            v.push((format!("drop {c} at {i}"), s));
        }
    }
    let extra: &[(&str, &str)] = &[
        ("stray close", "events {}\n}\nhttp {}\n"),
        ("lone semicolon", "events {}\n;\nhttp {}\n"),
        ("lone open", "events {}\n{\n}\nhttp {}\n"),
        ("unclosed quote", "events {}\nhttp {\n    server_tokens \"off;\n}\n"),
        ("quote then word", "events {}\nhttp {\n    default_type \"text/plain\"x;\n}\n"),
        ("eof in directive", "events {}\nhttp {\n    sendfile on"),
        ("eof in block", "events {}\nhttp {\n    sendfile on;\n"),
        ("crlf ok", "events {}\r\nhttp {\r\n    sendfile on;\r\n}\r\n"),
        ("comment after directive", "events {} # c\nhttp { sendfile on; # trailing\n}\n"),
        ("hash inside word", "events {}\nhttp {\n    default_type text/x#y;\n}\n"),
        ("escaped quote", "events {}\nhttp {\n    default_type \"te\\\"xt\";\n}\n"),
        ("single quotes", "events {}\nhttp {\n    default_type 'text/plain';\n}\n"),
        ("variable braces", "events {}\nhttp {\n    map $uri ${uri}x { default 1; }\n}\n"),
        ("multi-line directive", "events {}\nhttp {\n    log_format main\n        '$remote_addr'\n        '$status';\n}\n"),
        ("no final newline", "events {}\nhttp {}"),
        ("tabs", "events\t{}\nhttp\t{\n\tsendfile\ton;\n}\n"),
    ];
    v.extend(extra.iter().map(|(n, s)| (n.to_string(), s.to_string())));
    v
}

#[test]
fn generated_files_agree_with_nginx() {
    if !support::have_program("nginx") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut agree, mut semantic, mut earlier) = (0, 0, 0);
    let mut disagree = Vec::new();
    for (i, (name, text)) in generated().into_iter().enumerate() {
        let case = dir.path().join(format!("c{i}"));
        std::fs::create_dir_all(case.join("logs")).expect("mkdir");
        let main = case.join("nginx.conf");
        std::fs::write(&main, &text).expect("write");
        let (ok, msg, _, line) = nginx_t(&case, &main);
        let ours = our_first_error(&main);
        if !ok && !is_syntax_message(&msg) {
            // nginx stopped at a semantic error first: no syntax verdict to compare,
            // unless it stopped before the line of our syntax error (both reject).
            match (&ours, line) {
                (None, _) => {
                    semantic += 1;
                    continue;
                }
                (Some((l, _)), Some(nl)) if nl <= *l => {
                    earlier += 1;
                    continue;
                }
                _ => {}
            }
        }
        let theirs = (!ok).then_some(line);
        match (&ours, theirs) {
            (None, None) => agree += 1,
            (Some((l, _)), Some(Some(nl))) if *l == nl => agree += 1,
            _ => disagree.push(format!(
                "{name}: nginx {ok} {msg} line {line:?}; ours {ours:?}"
            )),
        }
    }
    println!(
        "nginx differential (generated): {agree} files agree with nginx -t, {} disagree ({earlier} more rejected by both, nginx stopping earlier at a semantic check; {semantic} with only semantic errors)",
        disagree.len()
    );
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

fn copy_tree(from: &Path, to: &Path, rewrite: &dyn Fn(&str) -> String) {
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&p, &dest, rewrite);
        } else {
            let bytes = std::fs::read(&p).expect("read");
            let out = match String::from_utf8(bytes.clone()) {
                Ok(s) => rewrite(&s).into_bytes(),
                Err(_) => bytes,
            };
            std::fs::write(&dest, out).expect("write");
        }
    }
}

/// Corpus trees nginx can load as-is once copied to a temp dir (absolute
/// `/etc/nginx/` paths pointed into the copy, `pid` kept in the copy).
const TREES: &[(&str, &str)] = &[
    ("nginx/debian-nginx-common", "nginx.conf"),
    ("nginx/nginx-upstream", "nginx.conf"),
    ("nginx/h5bp-server-configs-nginx", "nginx.conf"),
    ("nginx/crossplane-tests/simple", "nginx.conf"),
    ("nginx/crossplane-tests/with-comments", "nginx.conf"),
    ("nginx/crossplane-tests/messy", "nginx.conf"),
    ("nginx/crossplane-tests/quoted-right-brace", "nginx.conf"),
    ("nginx/crossplane-tests/russian-text", "nginx.conf"),
    ("nginx/crossplane-tests/comments-between-args", "nginx.conf"),
    ("nginx/crossplane-tests/directive-with-space", "nginx.conf"),
    ("nginx/crossplane-tests/empty-value-map", "nginx.conf"),
    ("nginx/crossplane-tests/includes-regular", "nginx.conf"),
    ("nginx/crossplane-tests/includes-globbed", "nginx.conf"),
    ("nginx/crossplane-tests/non-unicode", "nginx.conf"),
    ("nginx/crossplane-tests/quote-behavior", "nginx.conf"),
    (
        "nginx/crossplane-tests/missing-semicolon",
        "broken-above.conf",
    ),
    (
        "nginx/crossplane-tests/missing-semicolon",
        "broken-below.conf",
    ),
    ("nginx/crossplane-tests/spelling-mistake", "nginx.conf"),
    ("nginx/crossplane-tests/bad-args", "nginx.conf"),
];

#[test]
fn corpus_trees_agree_with_nginx() {
    let corpus = corpus_or_skip!();
    if !support::have_program("nginx") {
        return;
    }
    let (mut agree, mut semantic) = (0, Vec::new());
    let mut disagree = Vec::new();
    for (tree, main_name) in TREES {
        let src = corpus.join(tree);
        if !src.is_dir() {
            continue;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        std::fs::create_dir_all(root.join("logs")).expect("logs");
        let prefix = format!("{}/", root.display());
        let rewrite = |s: &str| -> String {
            s.replace("/etc/nginx/", &prefix)
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("pid ") {
                        ""
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + if s.ends_with('\n') { "\n" } else { "" }
        };
        copy_tree(&src, &root, &rewrite);
        let main = root.join(main_name);
        let (ok, msg, file, line) = nginx_t(&root, &main);
        // Our verdict over every file of the tree nginx would read.
        let mut ours: Option<(PathBuf, usize, String)> = None;
        let mut files = vec![main.clone()];
        let mut i = 0;
        while i < files.len() && ours.is_none() {
            let f = files[i].clone();
            i += 1;
            if let Some((l, m)) = our_first_error(&f) {
                ours = Some((f.clone(), l, m));
            }
            let bytes = std::fs::read(&f).unwrap_or_default();
            for d in nginx::parse(&bytes).directives() {
                collect_includes(d, &root, &mut files);
            }
        }
        let syntax_fail = !ok && is_syntax_message(&msg);
        if !ok && !syntax_fail {
            semantic.push(format!("{tree}/{main_name}: {msg}"));
            if ours.is_none() {
                continue;
            }
        }
        match (&ours, syntax_fail) {
            (None, false) => agree += 1,
            (Some((f, l, _)), true) if Some(f) == file.as_ref() && Some(*l) == line => agree += 1,
            _ => disagree.push(format!(
                "{tree}/{main_name}: nginx ok={ok} {msg} at {file:?}:{line:?}; ours {ours:?}"
            )),
        }
    }
    println!(
        "nginx differential (corpus trees): {agree} agree with nginx -t, {} disagree; {} stopped at a semantic error (not a syntax verdict):",
        disagree.len(),
        semantic.len()
    );
    for s in &semantic {
        println!("  {s}");
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

fn collect_includes(d: &nginx::Directive, root: &Path, files: &mut Vec<PathBuf>) {
    if d.name_is("include") {
        if let Some(a) = d.arg(0) {
            let p = root.join(a.text().trim_start_matches(&format!("{}/", root.display())));
            let pattern = if Path::new(&a.text()).is_absolute() {
                PathBuf::from(a.text())
            } else {
                p
            };
            if let Ok(g) = glob::glob(&pattern.to_string_lossy()) {
                let mut v: Vec<PathBuf> = g.flatten().collect();
                v.sort();
                for f in v {
                    if !files.contains(&f) {
                        files.push(f);
                    }
                }
            }
        }
    }
    if let Some(b) = d.block() {
        for c in b.directives() {
            collect_includes(c, root, files);
        }
    }
}
