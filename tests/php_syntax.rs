//! The wp-config.php tokenizer: what it extracts, what must not fool it, and
//! losslessness on any bytes and on the corpus.

mod support;

use proptest::prelude::*;
use wpstack::syntax::php::{self, PhpValue, StatementKind};

fn defines(src: &str) -> Vec<(String, PhpValue, bool)> {
    php::parse(src.as_bytes())
        .statements
        .into_iter()
        .filter_map(|s| match s.kind {
            StatementKind::Define { name, value, .. }
            | StatementKind::Const { name, value, .. } => Some((name, value, s.conditional)),
            _ => None,
        })
        .collect()
}

fn roundtrip(b: &[u8]) {
    assert_eq!(php::print(&php::parse(b), b), b);
}

#[test]
fn literals_and_computed_values() {
    let d = defines(
        "<?php\ndefine('A', 'x\\'y');\ndefine(\"B\", \"a\\tb\");\ndefine('C', 42);\ndefine('D', -1.5);\n\
         define('E', TRUE);\ndefine('F', null);\ndefine('G', 'wp_' . 'x' . 1);\ndefine('H', getenv('H'));\n\
         define('I', $_ENV['I'] ?? 'x');\ndefine('J', \"pre$x\");\nconst K = 0x10;\n\\define('L', false);\n",
    );
    let get = |n: &str| d.iter().find(|x| x.0 == n).map(|x| x.1.clone()).unwrap();
    assert_eq!(get("A"), PhpValue::Str("x'y".into()));
    assert_eq!(get("B"), PhpValue::Str("a\tb".into()));
    assert_eq!(get("C"), PhpValue::Int(42));
    assert_eq!(get("D"), PhpValue::Float(-1.5));
    assert_eq!(get("E"), PhpValue::Bool(true));
    assert_eq!(get("F"), PhpValue::Null);
    assert_eq!(get("G"), PhpValue::Str("wp_x1".into()));
    assert_eq!(get("H"), PhpValue::Computed("getenv('H')".into()));
    assert!(matches!(get("I"), PhpValue::Computed(_)));
    assert!(matches!(get("J"), PhpValue::Computed(_)));
    assert_eq!(get("K"), PhpValue::Int(16));
    assert_eq!(get("L"), PhpValue::Bool(false));
}

#[test]
fn conditional_defines_in_every_form() {
    let d = defines(
        "<?php\nif (!defined('A')) {\n  define('A', 1);\n}\nif (getenv('X')) define('B', 1);\n\
         defined('C') || define('C', 1);\nif ($x): define('D', 1); endif;\nfunction f() { define('E', 1); }\n\
         define('F', 1);\nelse_thing();\n$y = $z ? define('G', 1) : 0;\n",
    );
    let cond = |n: &str| d.iter().find(|x| x.0 == n).map(|x| x.2).unwrap();
    for n in ["A", "B", "C", "D", "E", "G"] {
        assert!(cond(n), "{n} should be conditional");
    }
    assert!(!cond("F"));
}

#[test]
fn comments_strings_heredocs_and_close_tags_do_not_fool_it() {
    let src = "<?php\n// define('NO1', 1);\n# define('NO2', 1);\n/* define('NO3', 1); */\n$s = \"define('NO4', 1);\";\n\
               $h = <<<EOT\ndefine('NO5', 1);\nEOT;\n$n = <<<'EOT'\n  define('NO6', 1);\n  EOT;\n?>\n<p>define('NO7', 1);</p>\n<?php\n\
               define(\n  'YES', // the name\n  /* the value */ 'v'\n);\n$obj->define('NO8', 1);\n";
    let d = defines(src);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, "YES");
    assert_eq!(d[0].1, PhpValue::Str("v".into()));
    roundtrip(src.as_bytes());
}

#[test]
fn ini_set_and_table_prefix() {
    let f = php::parse(b"<?php\n@ini_set('display_errors', 0);\n$table_prefix = 'wp_' ;\n");
    let kinds: Vec<_> = f.statements.iter().map(|s| &s.kind).collect();
    assert!(
        matches!(kinds[0], StatementKind::IniSet { key, value: PhpValue::Int(0), .. } if key == "display_errors")
    );
    assert!(
        matches!(kinds[1], StatementKind::TablePrefix { value: PhpValue::Str(p), .. } if p == "wp_")
    );
}

#[test]
fn crlf_non_utf8_and_unterminated() {
    roundtrip(b"<?php\r\ndefine('A', 'caf\xe9');\r\n");
    let f = php::parse(b"<?php\r\ndefine('A', 'caf\xe9');\r\n");
    assert_eq!(f.statements.len(), 1);
    for src in [
        &b"<?php\ndefine('A', 'open"[..],
        b"<?php /* never closed",
        b"<?php $x = <<<EOT\nno end\n",
    ] {
        let f = php::parse(src);
        assert!(!f.errors.is_empty(), "{}", String::from_utf8_lossy(src));
        assert!(f.errors[0]
            .message
            .starts_with("syntax error, unexpected end of file"));
        roundtrip(src);
    }
}

#[test]
fn first_define_wins_and_insertion_point() {
    let src = b"<?php\nif (!defined('X')) define('X', 1);\ndefine('X', 2);\n/* That's all, stop editing! Happy publishing. */\nrequire_once ABSPATH . 'wp-settings.php';\n";
    let f = php::parse(src);
    let s = f.find_define("X").unwrap();
    assert!(!s.conditional);
    let at = f.stop_editing_line(src).unwrap();
    assert!(src[at..].starts_with(b"/* That's all"));
    let src2 = b"<?php\ndefine('A', 1);\nrequire_once( ABSPATH . 'wp-settings.php' );\n";
    let f2 = php::parse(src2);
    assert!(src2[f2.stop_editing_line(src2).unwrap()..].starts_with(b"require_once"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn lossless_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        roundtrip(&bytes);
    }
    #[test]
    fn lossless_on_php_like_text(s in "(<\\?php|\\?>|[a-z_$(),;'\"\\\\/*# <>=.\n]){0,200}") {
        roundtrip(s.as_bytes());
    }
}

#[test]
fn corpus_wp_config_roundtrip() {
    let corpus = corpus_or_skip!();
    let mut n = 0;
    let (mut defs, mut computed) = (0, 0);
    let dir = corpus.join("wp-config");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir).expect("dir").flatten() {
        for f in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
            files.push(f.path());
        }
    }
    files.sort();
    for path in files {
        if path.extension().is_some_and(|x| x == "mustache") {
            continue; // TEMPLATES.txt: not parseable as-is
        }
        let bytes = std::fs::read(&path).expect("read");
        let f = php::parse(&bytes);
        assert!(f.errors.is_empty(), "{}: {:?}", path.display(), f.errors);
        assert_eq!(php::print(&f, &bytes), bytes, "{}", path.display());
        n += 1;
        for (_, v, _) in f.defines() {
            defs += 1;
            if matches!(v, PhpValue::Computed(_)) {
                computed += 1;
            }
        }
        let name = path.to_string_lossy();
        if name.ends_with("docker-library-wordpress/wp-config-docker.php") {
            let s = f.find_define("DB_NAME").unwrap();
            assert!(
                matches!(&s.kind, StatementKind::Define { value: PhpValue::Computed(c), .. } if c.starts_with("getenv_docker("))
            );
        }
        if name.ends_with("debian-wordpress/wp-config-sample.php") {
            let key = f.defines().find(|(n, _, _)| *n == "AUTH_KEY").unwrap();
            assert_eq!(key.1, &PhpValue::Str("put your unique phrase here".into()));
            let dbg = f.defines().find(|(n, _, _)| *n == "WP_DEBUG").unwrap();
            assert_eq!(dbg.1, &PhpValue::Bool(false));
        }
    }
    println!("wp-config corpus round-trip: {n} of {n} files byte-identical, {defs} defines found ({computed} computed)");
    assert!(n >= 14);
}
