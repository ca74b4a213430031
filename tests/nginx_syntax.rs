//! nginx syntax: lossless round trip and nginx-compatible errors.

#[path = "oracle_support/mod.rs"]
mod support;

use proptest::prelude::*;
use wpstack::source::SourceFile;
use wpstack::syntax::nginx::{self, Directive, End, File, Item, Quote, TriviaKind};

/// Parse, and check the two invariants every parse must keep: the leaves tile the
/// input and printing gives it back.
fn parse(src: &[u8]) -> File {
    let file = nginx::parse(src);
    let mut at = 0;
    for s in nginx::leaf_spans(&file) {
        assert_eq!(
            s.start,
            at,
            "leaves must tile the input: {:?}",
            String::from_utf8_lossy(src)
        );
        assert!(s.end >= s.start);
        at = s.end;
    }
    assert_eq!(at, src.len(), "leaves must cover the input");
    assert_eq!(nginx::print(&file, src), src);
    file
}

fn parse_ok(src: &str) -> File {
    let f = parse(src.as_bytes());
    assert!(
        f.errors.is_empty(),
        "unexpected errors {:?} in {src:?}",
        f.errors
    );
    f
}

/// Errors as (message, line, column).
fn errors(src: &str) -> Vec<(String, usize, usize)> {
    let f = parse(src.as_bytes());
    let sf = SourceFile::new("t.conf", "t.conf", src.as_bytes().to_vec());
    f.errors
        .iter()
        .map(|e| {
            let (l, c) = sf.line_col(e.span.start);
            (e.message.clone(), l, c)
        })
        .collect()
}

fn first_error(src: &str) -> (String, usize, usize) {
    errors(src).into_iter().next().expect("an error")
}

fn words(d: &Directive) -> Vec<String> {
    std::iter::once(&d.name)
        .chain(&d.args)
        .map(|w| w.text())
        .collect()
}

fn all(f: &File) -> Vec<Vec<String>> {
    f.all_directives().into_iter().map(words).collect()
}

#[test]
fn quotes_and_escapes() {
    let src = r#"set $a "x\"y" 'p\'q' "a\\b" "t\tn\nr\r" c\d "{}" e\;f 'it"s';"#;
    let f = parse_ok(src);
    let d = f.directives().next().unwrap();
    let vals: Vec<&[u8]> = d.args.iter().map(|w| w.value.as_slice()).collect();
    assert_eq!(
        vals,
        vec![
            &b"$a"[..],
            b"x\"y",
            b"p'q",
            b"a\\b",
            b"t\tn\nr\r",
            b"c\\d",
            b"{}",
            b"e\\;f",
            b"it\"s"
        ]
    );
    assert_eq!(d.args[1].quote, Quote::Double);
    assert_eq!(d.args[2].quote, Quote::Single);
    assert_eq!(d.args[5].quote, Quote::None);
    // Raw spans keep the quotes.
    assert_eq!(
        &src.as_bytes()[d.args[1].span.start..d.args[1].span.end],
        br#""x\"y""#
    );
    // Quotes only open at the start of a word.
    let f = parse_ok("a b\"c d\"e;");
    assert_eq!(all(&f), vec![vec!["a", "b\"c", "d\"e"]]);
    // `)` may follow a closing quote: it starts the next word.
    let f = parse_ok("if ($a = \"x\") { return 404; }");
    assert_eq!(all(&f)[0], vec!["if", "($a", "=", "x", ")"]);
    // Empty strings.
    let f = parse_ok("a \"\" '';");
    assert_eq!(all(&f), vec![vec!["a", "", ""]]);
}

#[test]
fn hash_inside_word_is_not_a_comment() {
    let f = parse_ok("add_header a#b c#d;");
    assert_eq!(all(&f), vec![vec!["add_header", "a#b", "c#d"]]);
    let f = parse_ok("add_header a #b c;\n d;");
    assert_eq!(all(&f), vec![vec!["add_header", "a", "d"]]);
    let d = f.directives().next().unwrap();
    assert!(d.inner_trivia.iter().any(|t| t.kind == TriviaKind::Comment));
}

#[test]
fn comment_after_directive_is_trivia_of_the_block() {
    let src = "server {\n    listen 80; # the port\r\n}\n";
    let f = parse_ok(src);
    let server = f.directives().next().unwrap();
    let b = server.block().unwrap();
    let kinds: Vec<_> = b
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Trivia(t) => Some((t.kind, src[t.span.start..t.span.end].to_string())),
            _ => None,
        })
        .collect();
    assert!(kinds.contains(&(TriviaKind::Comment, "# the port".to_string())));
    assert!(kinds.contains(&(TriviaKind::Whitespace, "\r\n".to_string())));
}

#[test]
fn multi_line_directive() {
    let src = "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n                '$status $body_bytes_sent'\n    # a comment between arguments\n    ;\n";
    let f = parse_ok(src);
    let d = f.directives().next().unwrap();
    assert_eq!(d.args.len(), 3);
    assert_eq!(d.args[2].text(), "$status $body_bytes_sent");
    assert!(matches!(d.end, End::Semicolon(_)));
    assert_eq!(d.span.end, src.len() - 1);
}

#[test]
fn variables_with_braces() {
    let f = parse_ok("try_files /abc/${uri} /abc/${uri}.html =404;\nlocation /x${y} { }");
    let a = all(&f);
    assert_eq!(
        a[0],
        vec!["try_files", "/abc/${uri}", "/abc/${uri}.html", "=404"]
    );
    assert_eq!(a[1], vec!["location", "/x${y}"]);
    // `}` inside a word is an ordinary byte.
    let f = parse_ok("a b}c;");
    assert_eq!(all(&f), vec![vec!["a", "b}c"]]);
}

#[test]
fn lua_blocks_are_raw() {
    let src = r#"http {
    content_by_lua_block {
        ngx.say("a } in a string") -- and } in a comment
        local t = { 1, 2, { 3 } }
        local s = [[ long } string ]] .. [==[ } ]] still ]==]
        --[[ long } comment
        ]]
        ngx.say('single } \' quoted')
    }
    set_by_lua_block $res { return 1 }
    "rewrite_by_lua_block" { a = "{" }
    server_name content_by_lua_block ;
}
"#;
    let f = parse_ok(src);
    let names: Vec<_> = f.all_directives().iter().map(|d| d.name.text()).collect();
    assert_eq!(
        names,
        vec![
            "http",
            "content_by_lua_block",
            "set_by_lua_block",
            "rewrite_by_lua_block",
            "server_name"
        ]
    );
    let raws: Vec<_> = f
        .all_directives()
        .iter()
        .filter_map(|d| match d.end {
            End::RawBlock(s) => Some(src[s.start..s.end].to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(raws.len(), 3);
    assert!(raws[0].starts_with('{') && raws[0].ends_with("quoted')\n    }"));
    assert_eq!(raws[1], "{ return 1 }");
    assert_eq!(raws[2], "{ a = \"{\" }");

    let (msg, line, _) = first_error("content_by_lua_block {\n  if x then { \n");
    assert_eq!(
        msg,
        "unexpected end of file, expecting terminating characters for lua code block"
    );
    assert_eq!(line, 2);
}

#[test]
fn map_and_types_bodies_are_directives() {
    let src = "map $http_user_agent $mobile {\n    default       0;\n    '~Opera Mini' 1;\n    \"~*a{2}\" 2;\n}\ntypes {\n    text/html html htm;\n    image/svg+xml svg svgz;\n}\n";
    let f = parse_ok(src);
    let a = all(&f);
    assert_eq!(a[1], vec!["default", "0"]);
    assert_eq!(a[2], vec!["~Opera Mini", "1"]);
    assert_eq!(a[3], vec!["~*a{2}", "2"]);
    assert_eq!(a[5], vec!["text/html", "html", "htm"]);
}

#[test]
fn regex_location_with_braces_in_quotes() {
    let f = parse_ok("location ~ \"^/x{2,3}$\" { return 404; }\nlocation ~ '^/(a|b){1}' { }");
    let a = all(&f);
    assert_eq!(a[0], vec!["location", "~", "^/x{2,3}$"]);
    assert_eq!(a[2], vec!["location", "~", "^/(a|b){1}"]);
    // Without quotes the `{` opens the block, as in nginx.
    let f = parse_ok("location ~ ^/x{ }");
    assert_eq!(all(&f), vec![vec!["location", "~", "^/x"]]);
}

#[test]
fn bytes_at_the_edges() {
    parse_ok("");
    parse_ok("\n\n");
    parse_ok("# only a comment");
    parse_ok("worker_processes 1;"); // no final newline
    parse_ok("events {\r\n\tworker_connections 1024;\r\n}\r\n");
    parse_ok("events {}   \t\n  \t");
    let f = parse(b"server_name caf\xe9 \xff\xfe;\n# \xe9t\xe9\n");
    assert!(f.errors.is_empty());
    let d = f.directives().next().unwrap();
    assert_eq!(d.args[0].value, b"caf\xe9");
    let f = parse_ok("a\tb\t\"c\"\t;");
    assert_eq!(all(&f), vec![vec!["a", "b", "c"]]);
}

#[test]
fn error_messages_and_places_match_nginx() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("events {}\n}\n", "unexpected \"}\"", 2, 1),
        (
            "http {\n  server {\n    listen 80\n  }\n}\n",
            "unexpected \"}\"",
            4,
            3,
        ),
        (
            "http {\n  listen 80;\n",
            "unexpected end of file, expecting \"}\"",
            3,
            1,
        ),
        (
            "http {\n  listen 80",
            "unexpected end of file, expecting \";\" or \"}\"",
            2,
            12,
        ),
        ("a;\n;\n", "unexpected \";\"", 2, 1),
        ("a;\n  {\n}", "unexpected \"{\"", 2, 3),
        ("a \"b\"c;", "unexpected \"c\"", 1, 6),
        ("a \"b\"#c;", "unexpected \"#\"", 1, 6),
        ("a 'b'}", "unexpected \"}\"", 1, 6),
        ("a \"b\"é;", "unexpected \"é\"", 1, 6),
    ];
    for (src, msg, line, col) in cases {
        assert_eq!(
            first_error(src),
            (msg.to_string(), *line, *col),
            "for {src:?}"
        );
    }
    // An unbalanced quote runs to the end of the file, where nginx complains.
    let (msg, line, _) = first_error("a \"b;\nc;\nd;\n");
    assert!(msg.starts_with("unexpected end of file, expecting \";\" or \"}\""));
    assert!(msg.contains("unbalanced quotes"), "{msg}");
    assert_eq!(line, 4);
}

#[test]
fn recovers_after_errors() {
    let f = parse("}\nevents {}\nhttp { a; ; b; }\n".as_bytes());
    assert_eq!(f.errors.len(), 2);
    let names: Vec<_> = f.all_directives().iter().map(|d| d.name.text()).collect();
    assert_eq!(names, vec!["events", "http", "a", "b"]);
    // A directive without `;` before `}` keeps its words and ends Missing.
    let f = parse("location / {\n  proxy_pass http://x\n}\nlisten 80;\n".as_bytes());
    assert_eq!(f.errors.len(), 1);
    let loc = f.directives().next().unwrap();
    let inner = loc.block().unwrap().directives().next().unwrap();
    assert!(matches!(inner.end, End::Missing));
    assert_eq!(words(inner), vec!["proxy_pass", "http://x"]);
    assert!(loc.block().unwrap().close.is_some());
    assert_eq!(
        f.directives().nth(1).map(|d| d.name.text()),
        Some("listen".into())
    );
    // `{` with no directive: its block becomes one error span, parsing goes on.
    let f = parse("{ a; }\nb;\n".as_bytes());
    assert!(matches!(f.items[0], Item::Error(_)));
    assert_eq!(all(&f), vec![vec!["b"]]);
}

#[test]
fn too_long_parameters_like_nginx() {
    let long = "x".repeat(5000);
    let (msg, line, _) = first_error(&format!("events {{}}\n# {long}\nhttp {{}}\n"));
    assert_eq!(msg, "too long parameter \"# xxxxxxxx...\" started");
    assert_eq!(line, 2);
    let (msg, line, _) = first_error(&format!("http {{\n add_header X \"{long}\";\n}}\n"));
    assert_eq!(
        msg,
        "too long parameter, probably missing terminating \"\"\" character"
    );
    assert_eq!(line, 2);
    // The exact limits, checked against nginx 1.22.
    let at = |n: usize, tail: &str| {
        errors(&format!(
            "http {{\n add_header X {}{tail}\n}}\n",
            "x".repeat(n)
        ))
    };
    assert_eq!(at(4095, " ;").len(), 1);
    assert!(at(4094, " ;").is_empty());
    assert!(at(4095, ";").is_empty());
    let q = |n: usize, tail: &str| {
        errors(&format!(
            "http {{\n add_header X \"{}\"{tail}\n}}\n",
            "x".repeat(n)
        ))
    };
    assert_eq!(q(4094, " ;").len(), 1);
    assert!(q(4093, " ;").is_empty());
    assert_eq!(q(4095, ";").len(), 1);
    assert!(q(4094, ";").is_empty());
}

#[test]
fn ten_thousand_nested_blocks_are_an_error_not_a_crash() {
    let src = format!("{}{}", "a {".repeat(10_000), "}".repeat(10_000));
    let f = parse(src.as_bytes());
    assert_eq!(f.errors.len(), 1);
    assert!(f.errors[0].message.contains("nested more than 100"));
    let src = "{".repeat(10_000);
    let f = parse(src.as_bytes());
    let msgs: Vec<_> = f.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "unexpected \"{\"",
            "unexpected end of file, expecting \"}\""
        ]
    );
    let src = format!("{}x", "a {".repeat(10_000));
    let f = parse(src.as_bytes());
    assert!(!f.errors.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_parse_is_identity_for_any_bytes(src in proptest::collection::vec(any::<u8>(), 0..300)) {
        parse(&src);
    }

    #[test]
    fn print_parse_is_identity_for_config_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("a"), Just("b c"), Just(" "), Just("\n"), Just("\r\n"), Just("\t"),
                Just(";"), Just("{"), Just("}"), Just("\""), Just("'"), Just("\\"),
                Just("#"), Just("$"), Just("${"), Just(")"), Just("_by_lua_block"),
                Just("--"), Just("[["), Just("]]"), Just("é"),
            ],
            0..80,
        )
    ) {
        parse(parts.concat().as_bytes());
    }
}

/// Corpus files that nginx itself rejects on syntax, with the first error it reports
/// (message, line). Checked with nginx 1.22.1; tests/nginx_differential.rs compares
/// the ones nginx can load on their own live.
const REJECTED: &[(&str, &str, usize)] = &[
    // INVALID.txt "SYNTAX": a directive missing its `;` before `}`.
    (
        "nginx/crossplane-tests/missing-semicolon/broken-above.conf",
        "unexpected \"}\"",
        5,
    ),
    (
        "nginx/crossplane-tests/missing-semicolon/broken-below.conf",
        "unexpected \"}\"",
        8,
    ),
    // Not in INVALID.txt, but nginx rejects them as well:
    // crossplane's own lexer is laxer than nginx about text after a closing quote;
    (
        "nginx/crossplane-tests/quote-behavior/nginx.conf",
        "unexpected \"-\"",
        1,
    ),
    // crossplane decoys ("this file should never be included": a bare word, no `;`);
    (
        "nginx/crossplane-tests/includes-globbed/servers/locations/not-included.conf",
        "unexpected end of file, expecting \";\" or \"}\"",
        3,
    ),
    (
        "nginx/crossplane-tests/includes-regular/conf.d/bar.conf",
        "unexpected end of file, expecting \";\" or \"}\"",
        3,
    ),
    (
        "nginx/crossplane-tests/includes-regular/conf.d/foo.conf",
        "unexpected end of file, expecting \";\" or \"}\"",
        3,
    ),
    // a VVV template (`{vvv_tls_cert}` placeholders filled in by provision-site.sh)
    // that TEMPLATES.txt does not list. nginx stops earlier, at line 4, with
    // `directive "server_name" is not terminated by ";"`: it knows server_name takes
    // no block; syntax alone first fails at the bare `{` on line 11.
    (
        "nginx/vvv/custom-sites/site-fallback.conf",
        "unexpected \"{\"",
        11,
    ),
];

#[test]
fn corpus_nginx_roundtrip() {
    let Some(corpus) = support::corpus_dir() else {
        return;
    };
    let templates_no: Vec<String> = support::corpus_list(&corpus, "TEMPLATES.txt")
        .into_iter()
        .filter(|cols| cols.get(2).is_some_and(|v| v.starts_with("no")))
        .map(|cols| cols[0].clone())
        .collect();
    let invalid_syntax: Vec<String> = support::corpus_list(&corpus, "INVALID.txt")
        .into_iter()
        .filter(|cols| cols.get(1).is_some_and(|v| v.starts_with("SYNTAX")))
        .map(|cols| cols[0].clone())
        .collect();
    for p in &invalid_syntax {
        assert!(
            REJECTED.iter().any(|r| r.0 == p),
            "{p} is INVALID SYNTAX but has no expected error here"
        );
    }

    let (mut identical, mut total, mut skipped, mut rejected) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in support::files_under(&corpus.join("nginx")) {
        let rel = path
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if templates_no.contains(&rel) {
            skipped += 1;
            continue;
        }
        let src = std::fs::read(&path).unwrap();
        total += 1;
        let file = nginx::parse(&src);
        if nginx::print(&file, &src) == src {
            identical += 1;
        } else {
            failures.push(format!("{rel}: does not round-trip"));
        }
        let sf = SourceFile::new(&path, &rel, src.clone());
        match REJECTED.iter().find(|r| r.0 == rel) {
            Some(&(_, msg, line)) => {
                rejected += 1;
                match file.errors.first() {
                    Some(e) if e.message == msg && sf.line_of(e.span.start) == line => {
                        println!("{rel}:{line}: E001 {msg}");
                    }
                    other => failures.push(format!(
                        "{rel}: expected {msg} at line {line}, got {other:?}"
                    )),
                }
            }
            None if !file.errors.is_empty() => {
                failures.push(format!("{rel}: unexpected syntax errors {:?}", file.errors));
            }
            None => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        total > 100,
        "expected the whole nginx corpus, got {total} files"
    );
    println!(
        "nginx corpus round-trip: {identical} of {total} files byte-identical; {} parse without error, {rejected} are rejected by nginx too (E001 at nginx's line); {skipped} templates marked \"no\" skipped",
        total - rejected
    );
}
