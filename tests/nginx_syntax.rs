//! The nginx parser on the tricky cases of ngx_conf_file.c, and losslessness on any bytes.

use proptest::prelude::*;
use wpstack::syntax::nginx::{self, End, Item, Quote};

fn parse(s: &str) -> nginx::File {
    nginx::parse(s.as_bytes())
}

fn roundtrip(s: &[u8]) {
    assert_eq!(nginx::print(&nginx::parse(s), s), s);
}

fn line_of(src: &str, at: usize) -> usize {
    src[..at].matches('\n').count() + 1
}

#[test]
fn quotes_and_escapes() {
    let f = parse(r#"add_header X "a \"b\" c" 'd\'e' f\ g;"#);
    let d = f.directives().next().unwrap();
    assert_eq!(d.args[1].quote, Quote::Double);
    assert_eq!(d.args[1].text(), r#"a "b" c"#);
    assert_eq!(d.args[2].quote, Quote::Single);
    assert_eq!(d.args[2].text(), "d'e");
    assert_eq!(d.args[3].text(), r"f\ g");
    assert!(f.errors.is_empty());
}

#[test]
fn hash_starts_a_comment_only_at_a_word_boundary() {
    let f = parse("default_type a#b;\nlisten 80 #c\n;\n");
    let ds: Vec<_> = f.directives().collect();
    assert_eq!(ds[0].args[0].text(), "a#b");
    assert_eq!(
        ds[1].args.len(),
        1,
        "the comment is trivia inside the directive"
    );
    assert!(f.errors.is_empty());
}

#[test]
fn comment_after_directive_and_multiline_directive() {
    let src = "log_format main # the format\n    '$remote_addr'\n    '$status';  # done\n";
    let f = parse(src);
    let d = f.directives().next().unwrap();
    assert_eq!(d.args.len(), 3);
    assert!(matches!(d.end, End::Semicolon(_)));
    roundtrip(src.as_bytes());
}

#[test]
fn variables_with_braces_do_not_open_blocks() {
    let f = parse("set $a ${b}c;\nreturn 200 \"${a}\";\n");
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    assert_eq!(f.directives().count(), 2);
}

#[test]
fn regex_location_with_braces_in_quotes() {
    let f = parse("location ~ \"^/x{2,3}$\" { return 204; }\nlocation ~ ^/y{2}$ { return 204; }\n");
    let ds: Vec<_> = f.directives().collect();
    assert_eq!(ds[0].args[1].text(), "^/x{2,3}$");
    assert!(ds[0].block().is_some());
    // Unquoted, nginx opens the block at the first `{`: that is not what was meant.
    assert_eq!(ds[1].args[1].text(), "^/y");
}

#[test]
fn lua_blocks_are_raw() {
    let src = "content_by_lua_block {\n  local s = \"}\" -- a } in a comment\n  ngx.say([[ { ]])\n}\nlisten 80;\n";
    let f = parse(src);
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    let ds: Vec<_> = f.directives().collect();
    assert!(matches!(ds[0].end, End::RawBlock(_)));
    assert!(ds[1].name_is("listen"));
    roundtrip(src.as_bytes());
}

#[test]
fn map_and_types_bodies_are_directives() {
    let f = parse(
        "map $http_upgrade $c { default upgrade; '' close; }\ntypes { text/html html htm; }\n",
    );
    assert!(f.errors.is_empty());
    let m = f.directives().next().unwrap();
    assert_eq!(m.block().unwrap().directives().count(), 2);
}

#[test]
fn crlf_tabs_trailing_space_no_final_newline_non_utf8() {
    for src in [
        &b"http {\r\n\tsendfile on;  \r\n}\r\n"[..],
        b"events {}\nhttp {}",
        b"server_name caf\xe9.example;\n# comment \xff\n",
        b"",
        b"\n\n   \t",
    ] {
        let f = nginx::parse(src);
        assert!(f.errors.is_empty(), "{:?}", String::from_utf8_lossy(src));
        roundtrip(src);
    }
    let f = nginx::parse(b"server_name caf\xe9.example;");
    assert_eq!(
        f.directives().next().unwrap().args[0].value,
        b"caf\xe9.example"
    );
}

#[test]
fn errors_are_worded_and_placed_like_nginx() {
    let cases: &[(&str, &str, usize)] = &[
        ("events {}\n}\n", "unexpected \"}\"", 2),
        ("events {}\n;\n", "unexpected \";\"", 2),
        (
            "events {}\nhttp {\n  sendfile on\n}\n",
            "unexpected \"}\"",
            4,
        ),
        (
            "http {\n  sendfile on;\n",
            "unexpected end of file, expecting \"}\"",
            3,
        ),
        (
            "http {\n  sendfile on",
            "unexpected end of file, expecting \";\" or \"}\"",
            2,
        ),
        ("default_type \"a\"b;\n", "unexpected \"b\"", 1),
        ("events {}\n{\n}\n", "unexpected \"{\"", 2),
    ];
    for (src, msg, line) in cases {
        let f = parse(src);
        let e = f
            .errors
            .first()
            .unwrap_or_else(|| panic!("no error for {src:?}"));
        assert_eq!(e.message, *msg, "{src:?}");
        // At end of file nginx counts the line after the last newline, as we do.
        assert_eq!(line_of(src, e.span.start), *line, "{src:?}");
        roundtrip(src.as_bytes());
    }
}

#[test]
fn recovery_keeps_the_rest() {
    let f = parse("events {}\n}\nhttp { sendfile on; }\n");
    assert_eq!(f.errors.len(), 1);
    assert!(f.directives().any(|d| d.name_is("http")));
    assert!(f.items.iter().any(|i| matches!(i, Item::Error(_))));
}

#[test]
fn ten_thousand_nested_blocks_is_an_error_not_a_crash() {
    let src = "http {".repeat(10_000);
    let f = nginx::parse(src.as_bytes());
    assert!(!f.errors.is_empty());
    assert!(f.errors.len() <= 100);
    roundtrip(src.as_bytes());
    let closed = format!("{}{}", "a {".repeat(5_000), "}".repeat(5_000));
    roundtrip(closed.as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn lossless_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        roundtrip(&bytes);
    }

    #[test]
    fn lossless_on_config_like_text(s in "[a-z_ ;{}#\"'\\\\$\n\r\t]{0,300}") {
        roundtrip(s.as_bytes());
    }
}
