//! wp-config.php tokenizer and statement extraction: round trips (any bytes, the
//! corpus), the tricky cases, and differential tests against the real `php`
//! (`token_get_all`, the values of defined constants, `php -l` error messages).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use wpstack::source::{SourceFile, Span};
use wpstack::syntax::php::{self, File, PhpValue, Statement, StatementKind, TokenKind};

// ------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------

fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WPSTACK_CORPUS") {
        let dir = PathBuf::from(dir);
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../shared/corpus"),
        root.join("../../shared/corpus"),
        PathBuf::from("/work/shared/corpus"),
    ]
    .into_iter()
    .find(|d| d.is_dir())
}

/// The `php` CLI, or `None` (after saying so) when it is missing and `CI` is unset.
fn php_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("php"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "php not found and CI is set: the differential tests need it"
        );
        println!("skipped: php not found");
    }
    found
}

/// Parse and check the invariants every parse must keep: tokens cover every byte in
/// order, none is empty, and printing gives the input back.
fn parse(src: &[u8]) -> File {
    let f = php::parse(src);
    let mut at = 0;
    for t in &f.tokens {
        assert_eq!(t.span.start, at, "gap or overlap before {t:?}");
        assert!(t.span.end > t.span.start, "empty token {t:?}");
        at = t.span.end;
    }
    assert_eq!(at, src.len(), "tokens do not reach the end");
    assert_eq!(php::print(&f, src), src, "round trip");
    for s in &f.statements {
        assert!(s.span.start <= s.span.end && s.span.end <= src.len());
    }
    for e in &f.errors {
        assert!(e.span.start <= e.span.end && e.span.end <= src.len());
    }
    f
}

fn text(src: &[u8], span: Span) -> String {
    String::from_utf8_lossy(&src[span.start..span.end]).into_owned()
}

/// `(name, value, conditional)` of every define/const.
fn defines(f: &File) -> Vec<(String, PhpValue, bool)> {
    f.defines()
        .map(|(n, v, s)| (n.to_string(), v.clone(), s.conditional))
        .collect()
}

fn define_of(src: &str) -> (String, PhpValue, bool) {
    let f = parse(src.as_bytes());
    let d = defines(&f);
    assert_eq!(d.len(), 1, "{src}: {d:?}");
    d.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn value(src_expr: &str) -> PhpValue {
    define_of(&format!("<?php define('X', {src_expr});")).1
}

fn s(v: &str) -> PhpValue {
    PhpValue::Str(v.into())
}

fn computed(v: &str) -> PhpValue {
    PhpValue::Computed(v.into())
}

// ------------------------------------------------------------------------------------
// Round trips
// ------------------------------------------------------------------------------------

const FRAGMENTS: &[&str] = &[
    "<?php ",
    "<?php\n",
    "<?=",
    "<?",
    "?>",
    "?>\n",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "'",
    "\"",
    "`",
    "\\",
    "$",
    "{",
    "}",
    "{$",
    "${",
    "(",
    ")",
    "[",
    "]",
    "#[",
    ";",
    ",",
    ".",
    "=",
    "-",
    "||",
    "?",
    ":",
    "//",
    "#",
    "/*",
    "*/",
    "<<<EOT\n",
    "<<<'EOT'\n",
    "<<<\"EOT\"\n",
    "EOT",
    "  EOT",
    "EOT;",
    "define",
    "\\define",
    "DEFINE",
    "ini_set",
    "@",
    "const",
    "$table_prefix",
    "'X'",
    "\"Y\"",
    "1",
    "0x1F",
    "08",
    "1_000",
    "1.5e3",
    "true",
    "null",
    "if",
    "else",
    "elseif",
    "endif",
    "function",
    "fn",
    "class",
    "switch",
    "case",
    "match",
    "=>",
    "$a",
    "$a[",
    "\\u{41}",
    "\\x",
    "é",
    "\u{ff}",
    "\x01",
    "__halt_compiler",
    "getenv('A')",
    "define('A', 1);",
    "<<<",
    "0b",
    "1.",
    "->",
    "::",
];

fn fragments() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..80)
        .prop_map(|v| v.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        parse(&bytes);
        let mut with_tag = b"<?php ".to_vec();
        with_tag.extend_from_slice(&bytes);
        parse(&with_tag);
    }

    #[test]
    fn roundtrip_php_like(bytes in fragments()) {
        let f = parse(&bytes);
        let _ = f.stop_editing_line(&bytes);
        for st in &f.statements {
            let inner = match &st.kind {
                StatementKind::Define { name_span, value_span, .. }
                | StatementKind::Const { name_span, value_span, .. }
                | StatementKind::IniSet { key_span: name_span, value_span, .. } => {
                    vec![*name_span, *value_span]
                }
                StatementKind::TablePrefix { value_span, .. } => vec![*value_span],
            };
            for sp in inner {
                prop_assert!(st.span.start <= sp.start && sp.end <= st.span.end, "{st:?}");
            }
        }
    }
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let mut src = b"<?php define('X', ".to_vec();
    for _ in 0..50_000 {
        src.extend_from_slice(b"(\"{$");
    }
    parse(&src);
    let mut src = b"<?php $a = \"".to_vec();
    for _ in 0..5_000 {
        src.extend_from_slice(b"{$a[\"");
    }
    let f = parse(&src);
    assert!(!f.errors.is_empty());
    let src = format!(
        "<?php define('X', {}1{});",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let f = parse(src.as_bytes());
    assert!(matches!(defines(&f)[0].1, PhpValue::Computed(_)));
    let src = format!("<?php {} define('X', 1);", "if (1) ".repeat(100_000));
    let f = parse(src.as_bytes());
    assert!(defines(&f)[0].2);
}

// ------------------------------------------------------------------------------------
// Tokens
// ------------------------------------------------------------------------------------

fn token_list(src: &str) -> Vec<(TokenKind, &str)> {
    let f = parse(src.as_bytes());
    f.tokens
        .iter()
        .map(|t| (t.kind, &src[t.span.start..t.span.end]))
        .collect()
}

#[test]
fn tokens_of_html_tags_comments_and_close_tag() {
    use TokenKind::*;
    assert_eq!(
        token_list("<b>\n<?php # a ?>x<?= 1 // c\n?>\r\ny<?PHP\r\n#[A]\n"),
        vec![
            (InlineHtml, "<b>\n"),
            (OpenTag, "<?php "),
            (Comment, "# a "),
            (CloseTag, "?>"),
            (InlineHtml, "x"),
            (OpenTag, "<?="),
            (Whitespace, " "),
            (Number, "1"),
            (Whitespace, " "),
            (Comment, "// c"),
            (Whitespace, "\n"),
            (CloseTag, "?>\r\n"),
            (InlineHtml, "y"),
            (OpenTag, "<?PHP\r\n"),
            (Punct, "#["),
            (Ident, "A"),
            (Punct, "]"),
            (Whitespace, "\n"),
        ]
    );
    // `<?php` at the end of the file; `<?phpX` is a short tag.
    assert_eq!(
        token_list("a<?php"),
        vec![(InlineHtml, "a"), (OpenTag, "<?php")]
    );
    assert_eq!(token_list("<?phpx"), vec![(OpenTag, "<?"), (Ident, "phpx")]);
    // Strings with `?>` inside stay strings; `/* ?> */` too.
    assert_eq!(
        token_list("<?php '?>' \"?>\" /* ?> */"),
        vec![
            (OpenTag, "<?php "),
            (String, "'?>'"),
            (Whitespace, " "),
            (String, "\"?>\""),
            (Whitespace, " "),
            (Comment, "/* ?> */"),
        ]
    );
}

#[test]
fn halt_compiler_data_is_not_code() {
    use TokenKind::*;
    let src = "<?php define('A', 1);\n__halt_compiler(); define('B', 2); '\n";
    let toks = token_list(src);
    assert_eq!(toks.last(), Some(&(InlineHtml, " define('B', 2); '\n")));
    let f = parse(src.as_bytes());
    assert!(f.errors.is_empty());
    assert_eq!(defines(&f).len(), 1);
}

#[test]
fn tokens_of_names_variables_numbers_and_operators() {
    use TokenKind::*;
    assert_eq!(
        token_list("<?php \\define Foo\\bar $$a ?-> ... <=> 0b101 1_000 .5e-3 0o17 \\"),
        vec![
            (OpenTag, "<?php "),
            (Ident, "\\define"),
            (Whitespace, " "),
            (Ident, "Foo\\bar"),
            (Whitespace, " "),
            (Punct, "$"),
            (Variable, "$a"),
            (Whitespace, " "),
            (Punct, "?->"),
            (Whitespace, " "),
            (Punct, "..."),
            (Whitespace, " "),
            (Punct, "<=>"),
            (Whitespace, " "),
            (Number, "0b101"),
            (Whitespace, " "),
            (Number, "1_000"),
            (Whitespace, " "),
            (Number, ".5e-3"),
            (Whitespace, " "),
            (Number, "0o17"),
            (Whitespace, " "),
            (Punct, "\\"),
        ]
    );
}

#[test]
fn interpolation_with_nested_quotes_is_one_string() {
    use TokenKind::*;
    let src = r#"<?php $a = "x {$b["k"]} ${c} $d[e] {$f("}")}" . 'z';"#;
    let toks = token_list(src);
    assert!(
        toks.contains(&(String, r#""x {$b["k"]} ${c} $d[e] {$f("}")}""#)),
        "{toks:?}"
    );
    assert!(toks.contains(&(String, "'z'")));
    assert!(parse(src.as_bytes()).errors.is_empty());
}

// ------------------------------------------------------------------------------------
// define() forms and values
// ------------------------------------------------------------------------------------

#[test]
fn define_forms() {
    let cases: &[(&str, &str, PhpValue)] = &[
        ("<?php define('A', 1);", "A", PhpValue::Int(1)),
        ("<?php define(\"A\", 'x');", "A", s("x")),
        ("<?php \\define('A', true);", "A", PhpValue::Bool(true)),
        ("<?php DEFINE ( 'A' , FALSE ) ;", "A", PhpValue::Bool(false)),
        ("<?php Define('A', null, true);", "A", PhpValue::Null),
        ("<?php define('A', 1,);", "A", PhpValue::Int(1)),
        (
            "<?php define(value: 2, constant_name: 'A');",
            "A",
            PhpValue::Int(2),
        ),
        (
            "<?php define('WP_' . 'DEBUG', 1);",
            "WP_DEBUG",
            PhpValue::Int(1),
        ),
        (
            "<?php\ndefine(\n  // the name\n  'A', /* the value */\n  # another\n  'v'\n);\n",
            "A",
            s("v"),
        ),
        ("<?php define('A', 1) ?>", "A", PhpValue::Int(1)),
    ];
    for (src, name, v) in cases {
        let (n, got, cond) = define_of(src);
        assert_eq!((&n, &got, cond), (&name.to_string(), v, false), "{src}");
    }
}

#[test]
fn define_spans() {
    let src = "<?php\n  define( 'WP_DEBUG',  false ); // x\n";
    let f = parse(src.as_bytes());
    let st = &f.statements[0];
    assert_eq!(
        text(src.as_bytes(), st.span),
        "define( 'WP_DEBUG',  false );"
    );
    let StatementKind::Define {
        name_span,
        value_span,
        ..
    } = &st.kind
    else {
        panic!("{st:?}")
    };
    assert_eq!(text(src.as_bytes(), *name_span), "'WP_DEBUG'");
    assert_eq!(text(src.as_bytes(), *value_span), "false");
    let sf = SourceFile::new("wp-config.php", "wp-config.php", src.as_bytes().to_vec());
    assert_eq!(sf.line_col(value_span.start), (2, 24));

    // Part of an expression: the call only, not the `;`.
    let src = "<?php defined('A') || define('A', 1);";
    let f = parse(src.as_bytes());
    assert_eq!(text(src.as_bytes(), f.statements[0].span), "define('A', 1)");
    let src = "<?php @ini_set('display_errors', 0);";
    let f = parse(src.as_bytes());
    assert_eq!(
        text(src.as_bytes(), f.statements[0].span),
        src[6..].to_string()
    );
}

#[test]
fn string_values_decode_escapes() {
    assert_eq!(value(r"'it\'s \\ \n $x'"), s(r"it's \ \n $x"));
    assert_eq!(
        value(r#""a\tb\n\\\"\$x\x41\101\u{263A}\e\q""#),
        s("a\tb\n\\\"$xAA☺\u{1b}\\q")
    );
    assert_eq!(value(r#"b"x""#), s("x"));
    assert_eq!(
        value(r#""{not interpolated}" . "$ alone""#),
        s("{not interpolated}$ alone")
    );
    assert_eq!(value("<<<EOT\n    a\\tb\n      c\n    EOT"), s("a\tb\n  c"));
    assert_eq!(value("<<<\"EOT\"\nx\nEOT"), s("x"));
    assert_eq!(
        value("<<<'EOT'\n  raw \\t $x {$y}\n  EOT\n"),
        s("raw \\t $x {$y}")
    );
    assert_eq!(value("<<<EOT\nEOT"), s(""));
}

#[test]
fn literal_values() {
    assert_eq!(value("42"), PhpValue::Int(42));
    assert_eq!(value("-42"), PhpValue::Int(-42));
    assert_eq!(value("0x1F"), PhpValue::Int(31));
    assert_eq!(value("0777"), PhpValue::Int(511));
    assert_eq!(value("0b101"), PhpValue::Int(5));
    assert_eq!(value("1_000_000"), PhpValue::Int(1_000_000));
    assert_eq!(value("1.5"), PhpValue::Float(1.5));
    assert_eq!(value("-2.5e3"), PhpValue::Float(-2500.0));
    assert_eq!(value("TRUE"), PhpValue::Bool(true));
    assert_eq!(value("False"), PhpValue::Bool(false));
    assert_eq!(value("NULL"), PhpValue::Null);
    assert_eq!(value("'wp_' . 'x'"), s("wp_x"));
    assert_eq!(value("('256' . 'M')"), s("256M"));
    assert_eq!(value("'a' . 1 . true . false . null"), s("a11"));
    assert_eq!(value("(-(1))"), PhpValue::Int(-1));
}

#[test]
fn computed_values_keep_their_source() {
    let cases = [
        "getenv('WP_DEBUG')",
        "$_ENV['DB_NAME']",
        "$_SERVER['HTTP_HOST'] . '/x'",
        "getenv_docker('WORDPRESS_DB_NAME', 'wordpress')",
        "ABSPATH . 'wp-content'",
        "__DIR__ . '/'",
        "dirname(__FILE__) . '/'",
        "$a ? 1 : 2",
        "getenv('X') ?: 'y'",
        "!!getenv('X')",
        "\"db-$name\"",
        "`hostname`",
        "PHP_INT_MAX",
        "1 + 1",
        "'a' . 1.5",
        "(string) 1",
        "<<<EOT\n$x\nEOT",
    ];
    for c in cases {
        assert_eq!(value(c), computed(c), "{c}");
    }
}

// ------------------------------------------------------------------------------------
// What is not a statement
// ------------------------------------------------------------------------------------

#[test]
fn define_text_in_strings_comments_and_heredocs_is_not_a_statement() {
    let src = r#"<?php
// define('A', 1);
# define('B', 1);
/* define('C', 1); */
/** define('D', 1); */
$x = 'define("E", 1);';
$y = "define('F', 1); {$z}";
$h = <<<EOT
define('G', 1);
  EOTX
EOT;
$n = <<<'EOT'
    define('H', 1);
    EOT;
?>
define('I', 1);
<?php
$o->define('J', 1);
$o?->define('K', 1);
Foo::define('L', 1);
function define($a, $b) {}
new define('M', 1);
Ns\define('N', 1);
define($name, 1);
define(ABSPATH, 1);
define('O');
define('P', ...$args);
define('Q', 1 // unclosed
"#;
    let f = parse(src.as_bytes());
    let names: Vec<_> = defines(&f).into_iter().map(|d| d.0).collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn class_constants_are_not_global_constants() {
    let src = "<?php class C { const A = 1; public function f() { define('B', 2); } }\n\
               interface I { const C = 3; }\n\
               enum E: int { const D = 4; case X = 1; }\n\
               $o = new class { const F = 5; };\n\
               const G = 6;";
    let f = parse(src.as_bytes());
    assert_eq!(
        defines(&f),
        vec![
            ("B".into(), PhpValue::Int(2), true),
            ("G".into(), PhpValue::Int(6), false),
        ]
    );
}

// ------------------------------------------------------------------------------------
// Conditional statements
// ------------------------------------------------------------------------------------

#[test]
fn conditional_defines_in_every_form() {
    let cases: &[(&str, bool)] = &[
        ("define('X', 1);", false),
        ("if (!defined('X')) define('X', 1);", true),
        ("if (!defined('X'))\n    define('X', 1);", true),
        ("if (!defined('X')) { define('X', 1); }", true),
        ("if (a) {} else { define('X', 1); }", true),
        ("if (a) {} else define('X', 1);", true),
        ("if (a) {} elseif (b) { define('X', 1); }", true),
        ("if (a) {} else if (b) define('X', 1);", true),
        ("if (a): define('X', 1); endif;", true),
        ("if (a): else: define('X', 1); endif;", true),
        ("IF (a) { } ELSE { DEFINE('X', 1); }", true),
        ("switch ($e) { case 'live': define('X', 1); break; }", true),
        ("switch ($e): case 1: define('X', 1); endswitch;", true),
        ("foreach ($a as $v) define('X', 1);", true),
        ("foreach ($a as $v): define('X', 1); endforeach;", true),
        ("while (f()) { define('X', 1); }", true),
        ("for ($i = 0; $i < 1; $i++) define('X', 1);", true),
        ("function f() { define('X', 1); }", true),
        ("$f = function () use ($a) { define('X', 1); };", true),
        ("$f = fn() => define('X', 1);", true),
        ("$a ? define('X', 1) : null;", true),
        ("$a ?: define('X', 1);", true),
        ("$a ?? define('X', 1);", true),
        ("defined('X') || define('X', 1);", true),
        ("defined('X') or define('X', 1);", true),
        ("$a && define('X', 1);", true),
        (
            "try { x(); } catch (Exception $e) { define('X', 1); }",
            true,
        ),
        (
            "$v = match ($a) { 1 => define('X', 1), default => 0 };",
            true,
        ),
        ("try { define('X', 1); } finally { }", false),
        ("do { define('X', 1); } while (0);", false),
        ("{ define('X', 1); }", false),
        ("if (a) { f(); }\ndefine('X', 1);", false),
        ("if (a) f();\ndefine('X', 1);", false),
        ("if (a) if (b) f(); else g();\ndefine('X', 1);", false),
        ("if (a): f(); endif;\ndefine('X', 1);", false),
        ("$a = $b ? 1 : 2; define('X', 1);", false),
        ("$a = $b || $c; define('X', 1);", false),
        ("f($a || $b, define('X', 1));", false),
        ("if ($a || $b) { } define('X', 1);", false),
        ("define('X', $a ? 1 : 2);", false),
        ("function f() {}\ndefine('X', 1);", false),
        ("$f = function () { return 1; };\ndefine('X', 1);", false),
        (
            "class C { function f() { if (1) {} } }\ndefine('X', 1);",
            false,
        ),
        ("if ($x) { ?>html<?php } define('X', 1);", false),
        ("if ($x): ?>html<?php define('X', 1); endif;", true),
        ("if ($x) ?>html<?php define('X', 1);", false),
        ("while (0); define('X', 1);", false),
        ("declare(strict_types=1); define('X', 1);", false),
    ];
    for (body, cond) in cases {
        let src = format!("<?php\n{body}\n");
        let f = parse(src.as_bytes());
        let d: Vec<_> = defines(&f).into_iter().filter(|d| d.0 == "X").collect();
        assert_eq!(d.len(), 1, "{body}: {:?}", f.statements);
        assert_eq!(d[0].2, *cond, "{body}");
    }
}

#[test]
fn find_define_takes_the_first_that_certainly_runs() {
    let f = parse(b"<?php if ($a) define('A', 1); define('A', 2); define('A', 3);");
    let st = f.find_define("A").unwrap_or_else(|| panic!("A"));
    assert!(matches!(
        st.kind,
        StatementKind::Define {
            value: PhpValue::Int(2),
            ..
        }
    ));
    let f = parse(b"<?php if ($a) define('A', 1); else define('A', 2);");
    let st = f.find_define("A").unwrap_or_else(|| panic!("A"));
    assert!(st.conditional);
    assert!(matches!(
        st.kind,
        StatementKind::Define {
            value: PhpValue::Int(1),
            ..
        }
    ));
    assert!(
        f.find_define("a").is_none(),
        "constant names are case-sensitive"
    );
    let f = parse(b"<?php const B = 'x';");
    assert!(f.find_define("B").is_some());
}

// ------------------------------------------------------------------------------------
// const, ini_set, $table_prefix
// ------------------------------------------------------------------------------------

#[test]
fn const_ini_set_and_table_prefix() {
    let src = "<?php\nconst A = 'a' . 'b', B = -1;\n@ini_set( 'memory_limit', '256M' );\n\\ini_set(\"display_errors\", 0);\nini_set('x', getenv('X'));\n$table_prefix  = 'wp_';   // note\nif (!isset($table_prefix)) { $table_prefix = getenv('P') ?: 'wp_'; }\n$table_prefix .= 'x';\n$table_prefix == 'y';\n";
    let f = parse(src.as_bytes());
    let b = src.as_bytes();
    let mut got = Vec::new();
    for st in &f.statements {
        got.push(match &st.kind {
            StatementKind::Const { name, value, .. } => {
                format!("const {name}={value:?} {}", st.conditional)
            }
            StatementKind::IniSet {
                key,
                value,
                key_span,
                ..
            } => {
                format!(
                    "ini {key}={value:?} {} {}",
                    st.conditional,
                    text(b, *key_span)
                )
            }
            StatementKind::TablePrefix { value, value_span } => {
                format!(
                    "prefix {value:?} {} [{}] [{}]",
                    st.conditional,
                    text(b, *value_span),
                    text(b, st.span)
                )
            }
            StatementKind::Define { .. } => format!("{st:?}"),
        });
    }
    assert_eq!(
        got,
        vec![
            "const A=Str(\"ab\") false",
            "const B=Int(-1) false",
            "ini memory_limit=Str(\"256M\") false 'memory_limit'",
            "ini display_errors=Int(0) false \"display_errors\"",
            "ini x=Computed(\"getenv('X')\") false 'x'",
            "prefix Str(\"wp_\") false ['wp_'] [$table_prefix  = 'wp_';]",
            "prefix Computed(\"getenv('P') ?: 'wp_'\") true [getenv('P') ?: 'wp_'] [$table_prefix = getenv('P') ?: 'wp_';]",
        ]
    );
}

// ------------------------------------------------------------------------------------
// Files: ?> and HTML, CRLF, non-UTF-8
// ------------------------------------------------------------------------------------

#[test]
fn close_tag_then_html_then_open_tag() {
    let src =
        "<?php\ndefine('A', 1) ?>\n<p>define('B', 2);</p>\n<?php define('C', 3); ?>\ntrailing\n";
    let f = parse(src.as_bytes());
    let d: Vec<_> = defines(&f).into_iter().map(|d| d.0).collect();
    assert_eq!(d, ["A", "C"]);
    let html: Vec<_> = f
        .tokens
        .iter()
        .filter(|t| t.kind == TokenKind::InlineHtml)
        .map(|t| text(src.as_bytes(), t.span))
        .collect();
    assert_eq!(html, ["<p>define('B', 2);</p>\n", "trailing\n"]);
    assert!(f.errors.is_empty());
}

#[test]
fn crlf_and_non_utf8() {
    let src = b"<?php\r\n// caf\xe9\r\ndefine('A', 'caf\xe9');\r\ndefine('B', \"x\r\ny\");\r\n$t = <<<EOT\r\n  a\r\n  EOT;\r\ndefine('C', $t);\r\n";
    let f = parse(src);
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    let d = defines(&f);
    assert_eq!(d[0].1, s("caf\u{fffd}"));
    assert_eq!(d[1].1, s("x\r\ny"));
    assert_eq!(d[2].1, computed("$t"));
    let heredoc = f.tokens.iter().find(|t| t.kind == TokenKind::Heredoc);
    assert_eq!(
        heredoc.map(|t| text(src, t.span)),
        Some("<<<EOT\r\n  a\r\n  EOT".to_string())
    );
}

// ------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------

fn first_error(src: &str) -> (String, (usize, usize)) {
    let f = parse(src.as_bytes());
    let e = f
        .errors
        .first()
        .unwrap_or_else(|| panic!("no error for {src:?}"));
    let sf = SourceFile::new("wp-config.php", "wp-config.php", src.as_bytes().to_vec());
    (e.message.clone(), sf.line_col(e.span.start))
}

/// Broken inputs, PHP's message for each (as `php -l` prints it, context after
/// "expecting" included where PHP's lexer alone decides it), and where we point.
const BROKEN: &[(&str, &str, (usize, usize))] = &[
    ("<?php\n$a = 'abc", "syntax error, unexpected string content \"abc\"", (2, 6)),
    ("<?php\n$a = '", "syntax error, unexpected string content \"\"", (2, 6)),
    (
        "<?php\n$a = \"abc",
        "syntax error, unexpected end of file, expecting variable or \"${\" or \"{$\"",
        (2, 6),
    ),
    ("<?php\n$a = \"ab$c", "syntax error, unexpected end of file", (2, 6)),
    ("<?php\n\n/* x", "Unterminated comment starting line 3", (3, 1)),
    (
        "<?php\n$a = <<<EOT\nabc\nEOT",
        "syntax error, unexpected end of file, expecting variable or heredoc end or \"${\" or \"{$\"",
        (2, 6),
    ),
    (
        "<?php\n$a = <<<'EOT'\nabc\n",
        "syntax error, unexpected end of file, expecting variable or heredoc end or \"${\" or \"{$\"",
        (2, 6),
    ),
    ("<?php\n$a = `ls", "syntax error, unexpected end of file, expecting \"`\"", (2, 6)),
    ("<?php\n$a = 08;", "Invalid numeric literal", (2, 6)),
    ("<?php\n$a = \"\\u{zz}\";", "Invalid UTF-8 codepoint escape sequence", (2, 6)),
    (
        "<?php\n$a = \"\\u{110000}\";",
        "Invalid UTF-8 codepoint escape sequence: Codepoint too large",
        (2, 6),
    ),
    (
        "<?php\n$a = <<<EOT\n  a\n b\n  EOT;",
        "Invalid body indentation level (expecting an indentation level of at least 2)",
        (2, 6),
    ),
    (
        "<?php\n$a = <<<EOT\n\ta\n  EOT;",
        "Invalid indentation - tabs and spaces cannot be mixed",
        (2, 6),
    ),
    ("<?php\ndefine('X', 1", "Unclosed '('", (2, 7)),
    ("<?php\nif (1) {\n  foo(\n", "Unclosed '(' on line 3", (3, 6)),
    ("<?php\nfoo(]", "Unclosed '(' does not match ']'", (2, 5)),
    ("<?php\nfoo(\n]", "Unclosed '(' on line 2 does not match ']'", (3, 1)),
    ("<?php\n}", "Unmatched '}'", (2, 1)),
    ("<?php\n$a = \"{$b", "Unclosed '{'", (2, 7)),
    ("<?php \x01;", "syntax error, unexpected character 0x01", (1, 7)),
];

#[test]
fn errors_are_worded_like_php_and_point_at_the_cause() {
    for (src, msg, at) in BROKEN {
        assert_eq!(first_error(src), (msg.to_string(), *at), "{src:?}");
    }
    // Still lossless, and statements before the damage are kept.
    let src = b"<?php define('A', 1);\ndefine('B', 'unterminated);\n";
    let f = parse(src);
    assert_eq!(defines(&f).len(), 1);
    let last = f.tokens.last().map(|t| (t.kind, t.span.end));
    assert_eq!(last, Some((TokenKind::Error, src.len())));
}

// ------------------------------------------------------------------------------------
// Insertion point for the fixer
// ------------------------------------------------------------------------------------

#[test]
fn stop_editing_line_finds_the_comment_or_the_require() {
    let at = |src: &str| parse(src.as_bytes()).stop_editing_line(src.as_bytes());
    let src = "<?php\ndefine('A', 1);\n/* Add any custom values between this line and the \"stop editing\" line. */\n\n/* That's all, stop editing! Happy publishing. */\nrequire_once ABSPATH . 'wp-settings.php';\n";
    assert_eq!(at(src), src.find("/* That's"));
    let src = "<?php\r\n  /* That\u{2019}s all, stop editing! Happy blogging. */\r\n";
    assert_eq!(at(src), Some(7));
    let src = "<?php\ndefine('A', 1);\nrequire_once(ABSPATH . 'wp-settings.php');\n";
    assert_eq!(at(src), src.find("require_once"));
    let src = "<?php\ndefine('A', 1);\nif ( file_exists( ABSPATH . '/wp-settings.php' ) ) {\n\trequire_once ABSPATH . '/wp-settings.php';\n}\n";
    assert_eq!(at(src), src.find("if ("));
    let src = "<?php\nif (a) {\n} else {\n  include \"wp-settings.php\";\n}\n";
    assert_eq!(at(src), src.find("if (a)"));
    let src = "<?php require_once ABSPATH . 'wp-settings.php';";
    assert_eq!(at(src), Some(6), "after the open tag, not before it");
    let src = "<?php\n/* a\n */ require ABSPATH . 'wp-settings.php';";
    assert_eq!(at(src), src.find(" require"), "not inside the comment");
    let src = "<?php\n// require_once ABSPATH . 'wp-settings.php';\n$s = 'stop editing';\n";
    assert_eq!(at(src), None);
}

// ------------------------------------------------------------------------------------
// The corpus
// ------------------------------------------------------------------------------------

fn template_unparseable(corpus: &Path) -> Vec<String> {
    let Ok(t) = std::fs::read_to_string(corpus.join("TEMPLATES.txt")) else {
        return Vec::new();
    };
    t.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let path = cols.next()?;
            let verdict = cols.nth(1)?;
            verdict.starts_with("no").then(|| path.to_string())
        })
        .collect()
}

fn wp_config_files(corpus: &Path) -> Vec<(String, PathBuf)> {
    let skip = template_unparseable(corpus);
    let mut files = Vec::new();
    let root = corpus.join("wp-config");
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let rel = format!(
                    "wp-config/{}",
                    p.strip_prefix(&root).unwrap_or(&p).to_string_lossy()
                );
                if !skip.contains(&rel) {
                    files.push((rel, p));
                }
            }
        }
    }
    files.sort();
    files
}

fn stmt_value<'a>(f: &'a File, name: &str) -> Option<(&'a PhpValue, &'a Statement)> {
    f.defines().find(|d| d.0 == name).map(|d| (d.1, d.2))
}

#[test]
fn corpus_wpconfig_roundtrip() {
    let Some(corpus) = corpus_dir() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let files = wp_config_files(&corpus);
    assert!(files.len() >= 10, "{files:?}");
    let mut identical = 0;
    let mut defines_found = 0;
    let mut computed_found = 0;
    let mut by_file: BTreeMap<String, File> = BTreeMap::new();
    for (rel, path) in &files {
        let src = std::fs::read(path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let f = php::parse(&src);
        assert!(f.errors.is_empty(), "{rel}: {:?}", f.errors);
        if php::print(&f, &src) == src {
            identical += 1;
        }
        println!("{rel}:");
        for (name, value, st) in f.defines() {
            defines_found += 1;
            if matches!(value, PhpValue::Computed(_)) {
                computed_found += 1;
            }
            let cond = if st.conditional { " (conditional)" } else { "" };
            println!("  {name} = {value:?}{cond}");
        }
        by_file.insert(rel.clone(), f);
    }
    println!(
        "wp-config corpus round-trip: {identical} of {} files byte-identical, {defines_found} defines found ({computed_found} computed)",
        files.len()
    );
    assert_eq!(identical, files.len());

    let get = |file: &str| {
        by_file
            .get(file)
            .unwrap_or_else(|| panic!("{file} missing"))
    };
    let val = |file: &str, name: &str| {
        stmt_value(get(file), name).unwrap_or_else(|| panic!("{file}: {name} not found"))
    };

    // docker-library: everything from getenv_docker().
    let docker = "wp-config/docker-library-wordpress/wp-config-docker.php";
    assert_eq!(
        val(docker, "DB_NAME").0,
        &computed("getenv_docker('WORDPRESS_DB_NAME', 'wordpress')")
    );
    assert_eq!(
        val(docker, "WP_DEBUG").0,
        &computed("!!getenv_docker('WORDPRESS_DEBUG', '')")
    );
    assert!(val(docker, "ABSPATH").1.conditional);
    assert!(!val(docker, "DB_NAME").1.conditional);
    // The getenv_docker() body has no defines; the wp-config text in comments neither.
    assert_eq!(get(docker).defines().count(), 16);

    // Debian's sample: placeholders, WP_DEBUG false, prefix wp_.
    let sample = "wp-config/debian-wordpress/wp-config-sample.php";
    assert_eq!(val(sample, "AUTH_KEY").0, &s("put your unique phrase here"));
    assert_eq!(
        val(sample, "NONCE_SALT").0,
        &s("put your unique phrase here")
    );
    assert_eq!(val(sample, "WP_DEBUG").0, &PhpValue::Bool(false));
    assert_eq!(val(sample, "DB_COLLATE").0, &s(""));
    assert_eq!(val(sample, "ABSPATH").0, &computed("__DIR__ . '/'"));
    assert!(get(sample).statements.iter().any(|st| matches!(
        &st.kind,
        StatementKind::TablePrefix { value: PhpValue::Str(p), .. } if p == "wp_"
    )));
    let src = std::fs::read(corpus.join(sample)).unwrap_or_default();
    let line = get(sample).stop_editing_line(&src);
    assert!(src[line.unwrap_or(0)..].starts_with(b"/* That's all, stop editing!"));

    // Debian's master config: defaults only if not defined by the host file.
    let debian = "wp-config/debian-wordpress/wp-config.php";
    assert!(get(debian).defines().all(|d| d.2.conditional));
    assert_eq!(val(debian, "DB_NAME").0, &s("wordpress"));
    assert_eq!(val(debian, "DEBIAN_FILE").0, &computed("$debian_file"));
    let src = std::fs::read(corpus.join(debian)).unwrap_or_default();
    let line = get(debian).stop_editing_line(&src).unwrap_or(0);
    assert!(src[line..].starts_with(b"require_once(ABSPATH . 'wp-settings.php');"));

    // ddev: the `defined(X) || define(X, ...)` idiom is conditional.
    let ddev = "wp-config/ddev/wp-config-ddev.php";
    assert_eq!(val(ddev, "DB_HOST").0, &s("ddev-test-wordpress-db"));
    assert!(get(ddev).defines().all(|d| d.2.conditional));
    let ddev_main = "wp-config/ddev/wp-config.php";
    assert_eq!(
        val(ddev_main, "AUTH_KEY").0.clone(),
        s("niCaxQoBrUyUqqOfQkfGxrYfTFNybzWuyZrKiabdTpofQdFXcOdrHFqaNOBrqpkn")
    );
    assert!(val(ddev_main, "ABSPATH").1.conditional);

    // Pantheon: $_ENV values, defines inside `if`/`switch`.
    let pantheon = "wp-config/pantheon/wp-config-pantheon.php";
    assert_eq!(val(pantheon, "DB_NAME").0, &computed("$_ENV['DB_NAME']"));
    assert_eq!(
        val(pantheon, "DB_HOST").0,
        &computed("$_ENV['DB_HOST'] . ':' . $_ENV['DB_PORT']")
    );
    assert!(val(pantheon, "WP_HOME").1.conditional);
    assert!(!val(pantheon, "WP_TEMP_DIR").1.conditional);
    let pantheon_main = "wp-config/pantheon/wp-config.php";
    assert!(val(pantheon_main, "DB_NAME").1.conditional);
    assert_eq!(val(pantheon_main, "WP_DEBUG").0, &PhpValue::Bool(false));

    // VVV: if/else if/else, and `?:`.
    let vvv = "wp-config/vvv/wp-tests-config.php";
    assert_eq!(
        val(vvv, "DB_NAME").0,
        &computed("getenv( 'WP_TESTS_DB_NAME' ) ?: 'wordpress_unit_tests'")
    );
    assert!(!val(vvv, "DB_NAME").1.conditional);
    assert!(val(vvv, "DB_HOST").1.conditional);
    assert_eq!(val(vvv, "WP_DEBUG").0, &PhpValue::Bool(true));
    assert!(
        stmt_value(get(vvv), "WP_TESTS_MULTISITE").is_none(),
        "commented out"
    );

    // trafex: define($capitalized, $value) in a loop has no literal name.
    let trafex = "wp-config/trafex-docker-wordpress/wp-config.php";
    assert_eq!(val(trafex, "WP_AUTO_UPDATE_CORE").0, &PhpValue::Bool(false));
    assert_eq!(get(trafex).defines().count(), 3);

    // WordPress 2.x: `define ('WPLANG', '')`, CRLF, closing `?>`.
    let old = "wp-config/wordpress-2.x-sample/wp-config-sample.php";
    assert_eq!(val(old, "WPLANG").0, &s(""));
    assert_eq!(val(old, "ABSPATH").0, &computed("dirname(__FILE__).'/'"));
    assert_eq!(
        get(old).tokens.last().map(|t| t.kind),
        Some(TokenKind::CloseTag)
    );

    // YunoHost template: placeholders inside quotes are just strings.
    let yuno = "wp-config/yunohost-wordpress/wp-config.php";
    assert_eq!(val(yuno, "DB_PASSWORD").0, &s("__DB_PWD__"));

    // Bedrock: no defines, but a require of wp-settings.php.
    let bedrock = "wp-config/bedrock/wp-config.php";
    assert_eq!(get(bedrock).defines().count(), 0);
    let src = std::fs::read(corpus.join(bedrock)).unwrap_or_default();
    let line = get(bedrock).stop_editing_line(&src).unwrap_or(0);
    assert!(src[line..].starts_with(b"require_once ABSPATH . 'wp-settings.php';"));
}

// ------------------------------------------------------------------------------------
// Differential tests against php
// ------------------------------------------------------------------------------------

/// Files for the tokenizer differential: valid PHP with every construct we lex.
const TOKEN_FIXTURES: &[&str] = &[
    "<?php\n$a = \"x {$b[\"k\"]} ${c} $d[e] $d[0] $d[$e] $o->p {$f(\"}\")}\" . 'z';\n",
    "<?php\necho <<<EOT\n  a {$x['}']} $y\n  EOTX\n  EOT . <<<'N'\n  $raw {$raw}\n N;\n",
    "<?php\n$x = <<<\"EOT\"\r\nb\r\nEOT;\r\n$y = <<<EOT\nEOT;\n",
    "<?php\n// c ?>html<?php # d\n/* ?> */ /** doc */ #[Attr]\nfunction f() {}\n",
    "a<?= 1 ?>\nb<?php\n$x = (int) $y + ( string )$z; ?>\r\n<?php\n",
    "<?php\n$n = [0x1F, 0b11, 0o17, 0777, 1_000, 1.5, .5, 1., 1e3, 1.5E-3, 9223372036854775808];\n",
    "<?php\nnamespace A\\B;\n\\define('X', 1); A\\f(); namespace\\g(); $a?->b; $c::d; $$e; $f ??= 1;\n",
    "<?php\n$s = `ls {$d}`; $t = b'x' . B\"y\\n\"; $u = 'a\\'b\\\\';\n",
    "<?php\nif ($a):\n  echo 1;\nelseif ($b):\nelse:\nendif;\n$a = fn($x) => $x <=> 1 ... 2;\n",
    "<?php\n$a = \"\\\\\" . \"\\\"\" . '\\\\' . \"$\" . \"{ $a}\" . \"\\{$a}\";\n",
    "<?php\n$a = \"é{$é}\"; $b = 'ü'; function ü() {}\n",
    "<?php\n$o->list; $o-> #[x]\n$o->a\\b; $o?->__halt_compiler; $c::class;\n",
    "<?php\n$a = \"{$b ?>html<?php }\"; echo 1;\n",
    "<?php\necho 1;\n__halt_compiler();\x01\u{ff} binary <?php data ?>\n",
    "<?php __halt_compiler ( ) ?>\ndata",
];

fn php_tokens_script(dir: &Path) -> PathBuf {
    let script = dir.join("tokens.php");
    std::fs::write(
        &script,
        "<?php\nforeach (array_slice($argv, 1) as $f) {\n  echo \"FILE\\n\";\n  foreach (token_get_all(file_get_contents($f)) as $t) {\n    if (is_array($t)) { echo token_name($t[0]), \"\\t\", strlen($t[1]), \"\\n\"; }\n    else { echo \"CHAR\\t\", strlen($t), \"\\t\", bin2hex($t), \"\\n\"; }\n  }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    script
}

/// PHP's tokens projected onto ours: strings, heredocs and backticks with their
/// interpolations become one token; casts are marked so that ours inside are skipped.
fn project_php_tokens(lines: &[&str], len: usize) -> Vec<(String, usize, usize)> {
    struct Composite {
        close: &'static str,
        depth: usize,
    }
    let mut out = Vec::new();
    let mut stack: Vec<Composite> = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        let name = cols[0];
        let n: usize = cols[1].parse().unwrap_or(0);
        let ch = if name == "CHAR" {
            cols.get(2).copied().unwrap_or("")
        } else {
            ""
        };
        let (s, e) = (at, at + n);
        at = e;
        let opener = match (name, ch) {
            ("CHAR", "22") => Some("22"),
            ("CHAR", "60") => Some("60"),
            ("T_START_HEREDOC", _) => Some("T_END_HEREDOC"),
            _ => None,
        };
        if let Some(top) = stack.last_mut() {
            if top.depth == 0 {
                let closes = (name == "CHAR" && ch == top.close) || name == top.close;
                if closes {
                    stack.pop();
                    if stack.is_empty() {
                        let kind = if name == "T_END_HEREDOC" {
                            "Heredoc"
                        } else {
                            "String"
                        };
                        out.push((kind.to_string(), start, e));
                    }
                } else if matches!(name, "T_CURLY_OPEN" | "T_DOLLAR_OPEN_CURLY_BRACES") {
                    top.depth += 1;
                }
            } else if matches!(name, "T_CURLY_OPEN" | "T_DOLLAR_OPEN_CURLY_BRACES")
                || (name == "CHAR" && ch == "7b")
            {
                top.depth += 1;
            } else if name == "CHAR" && ch == "7d" {
                top.depth -= 1;
            } else if let Some(close) = opener {
                stack.push(Composite { close, depth: 0 });
            }
            continue;
        }
        if let Some(close) = opener {
            stack.push(Composite { close, depth: 0 });
            start = s;
            continue;
        }
        let kind = match name {
            "T_OPEN_TAG" | "T_OPEN_TAG_WITH_ECHO" => "OpenTag",
            "T_CLOSE_TAG" => "CloseTag",
            "T_INLINE_HTML" => "InlineHtml",
            "T_WHITESPACE" => "Whitespace",
            "T_COMMENT" | "T_DOC_COMMENT" => "Comment",
            "T_CONSTANT_ENCAPSED_STRING" => "String",
            "T_VARIABLE" => "Variable",
            "T_LNUMBER" | "T_DNUMBER" => "Number",
            "T_ENCAPSED_AND_WHITESPACE" | "T_BAD_CHARACTER" => "Error",
            n if n.ends_with("_CAST") => "Cast",
            "CHAR" => "Punct",
            _ => "",
        };
        out.push((kind.to_string(), s, e));
    }
    if !stack.is_empty() {
        out.push(("Error".to_string(), start, len));
    }
    out
}

fn our_tokens(src: &[u8]) -> Vec<(String, usize, usize)> {
    let f = parse(src);
    f.tokens
        .iter()
        .map(|t| (format!("{:?}", t.kind), t.span.start, t.span.end))
        .collect()
}

/// Compare token lists; PHP's keyword and name tokens ("" kind) must be our Ident or
/// Punct by their first byte; our tokens inside a PHP cast are skipped.
fn compare_tokens(
    label: &str,
    src: &[u8],
    ours: &[(String, usize, usize)],
    theirs: &[(String, usize, usize)],
) {
    let mut ours_iter = ours.iter().peekable();
    for (kind, s, e) in theirs {
        if kind == "Cast" {
            while ours_iter.peek().is_some_and(|t| t.1 < *e) {
                ours_iter.next();
            }
            continue;
        }
        let Some(mine) = ours_iter.next() else {
            panic!("{label}: we stop before php's {kind} at {s}");
        };
        let expected = if kind.is_empty() {
            let first = src.get(*s).copied().unwrap_or(0);
            let second = src.get(*s + 1).copied().unwrap_or(0);
            let label_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80;
            if label_start(first) || (first == b'\\' && label_start(second)) {
                "Ident".to_string()
            } else {
                "Punct".to_string()
            }
        } else {
            kind.clone()
        };
        assert_eq!(
            (&mine.0, mine.1, mine.2),
            (&expected, *s, *e),
            "{label}: token differs from php's near {:?}",
            String::from_utf8_lossy(&src[*s.min(&src.len())..(*e).min(src.len())])
        );
    }
    assert!(
        ours_iter.next().is_none(),
        "{label}: we have tokens after php's last"
    );
}

/// Lexically complete pieces (so PHP's lexer state is the same at each boundary) for
/// generated files.
const PIECES: &[&str] = &[
    " ",
    "\n",
    "\r\n",
    "\t",
    "$a",
    "$b",
    "foo",
    "\\bar",
    "A\\b",
    "define",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ";",
    ",",
    ".",
    "=",
    "==",
    "===",
    "?",
    ":",
    "::",
    "->",
    "?->",
    "=>",
    "...",
    "&&",
    "||",
    "!",
    "@",
    "-",
    "+",
    "*",
    "/",
    "%",
    "<",
    ">",
    "<=>",
    "1",
    "0x1F",
    "1.5",
    ".5",
    "1e3",
    "0b11",
    "0o7",
    "07",
    "1_0",
    "'s'",
    "'a\\'b'",
    "'?>'",
    "\"d\"",
    "\"i $a\"",
    "\"{$a['x']}\"",
    "\"${a}\"",
    "\"$a[0]\"",
    "\"$a->b\"",
    "\"\\\"\"",
    "\"{\"",
    "\"$\"",
    "`x`",
    "// c\n",
    "# c\n",
    "/* c */",
    "/** d */",
    "#[A]",
    "?>x<?php ",
    "?>\n<?php\n",
    "<<<EOT\nh $a\nEOT\n",
    "<<<'N'\n  n {$x}\n  N\n",
    "<<<\"Q\"\nq\nQ\n",
    "(int)",
    "( float )",
    "b'x'",
    "é",
    "if",
    "else",
    "endif",
    "function",
    "fn",
    "class",
    "match",
    "const",
    "true",
    "null",
];

fn generated_files(count: usize) -> Vec<String> {
    generated_from(PIECES, count, 0x9E37_79B9_7F4A_7C15)
}

fn generated_from(pieces: &[&str], count: usize, seed: u64) -> Vec<String> {
    let mut state: u64 = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let n = (next() % 60) as usize;
            let mut s = String::from("<?php ");
            for _ in 0..n {
                s.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                s.push(' ');
            }
            s
        })
        .collect()
}

#[test]
fn php_token_get_all_differential() {
    let Some(php) = php_binary() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let script = php_tokens_script(dir.path());
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, f) in TOKEN_FIXTURES.iter().enumerate() {
        inputs.push((format!("fixture {i}"), f.as_bytes().to_vec()));
    }
    for (i, f) in generated_files(300).into_iter().enumerate() {
        inputs.push((format!("generated {i}: {f:?}"), f.into_bytes()));
    }
    // Unbalanced soup too (unterminated strings, `?>` inside interpolations...). After
    // `__halt_compiler` token_get_all counts PHP's own sub-tokens of strings, which we
    // do not mirror for garbage like `__halt_compiler "...`, so those are left out.
    let soup: Vec<String> = generated_from(FRAGMENTS, 1000, 987_654_321)
        .into_iter()
        .filter(|f| !f.contains("__halt_compiler"))
        .collect();
    let soup_count = soup.len();
    for (i, f) in soup.into_iter().enumerate() {
        inputs.push((format!("soup {i}: {f:?}"), f.into_bytes()));
    }
    if let Some(corpus) = corpus_dir() {
        for (rel, path) in wp_config_files(&corpus) {
            inputs.push((rel, std::fs::read(path).unwrap_or_default()));
        }
    }
    let mut paths = Vec::new();
    for (i, (_, bytes)) in inputs.iter().enumerate() {
        let p = dir.path().join(format!("in{i}.php"));
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
        paths.push(p);
    }
    let out = Command::new(php)
        .args(["-n", "-d", "extension=tokenizer", "-d", "short_open_tag=1"])
        .arg(&script)
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("php: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let per_file: Vec<Vec<&str>> = stdout
        .split("FILE\n")
        .skip(1)
        .map(|chunk| chunk.lines().collect())
        .collect();
    assert_eq!(per_file.len(), inputs.len());
    for ((label, bytes), lines) in inputs.iter().zip(&per_file) {
        let theirs = project_php_tokens(lines, bytes.len());
        let ours = our_tokens(bytes);
        compare_tokens(label, bytes, &ours, &theirs);
    }
    println!(
        "token_get_all differential: {} files ({} fixtures, 300 generated, {soup_count} soup, the rest corpus) tokenized identically",
        inputs.len(),
        TOKEN_FIXTURES.len()
    );
}

/// Literal expressions whose value we compute; php computes them too.
const LITERALS: &[&str] = &[
    "'a'",
    "'it\\'s \\\\ \\n'",
    "\"b\\n\\t\\\\\\\"\\$x\"",
    "\"\\x41\\101\\u{263A}\\e\\f\\v\\q\\400\"",
    "\"{x} $ {\"",
    "<<<EOT\n  a\\tb\n    c\n  EOT",
    "<<<'EOT'\n  raw $x \\n\n  EOT",
    "<<<\"EOT\"\n\nEOT",
    "1",
    "-1",
    "0x1F",
    "0777",
    "0o17",
    "0b101",
    "1_000_000",
    "1.5",
    "-2.5e3",
    ".5",
    "1.",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "0xFFFFFFFFFFFFFFFFF",
    "true",
    "FALSE",
    "\\true",
    "null",
    "NULL",
    "'a' . 'b'",
    "'wp_' . 1 . true . false . null",
    "('x')",
    "-(3)",
    "+4",
    "'x' . -1",
    "b'bin'",
];

#[test]
fn php_constant_values_differential() {
    let Some(php) = php_binary() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut src = String::from("<?php\n");
    for (i, lit) in LITERALS.iter().enumerate() {
        src.push_str(&format!("define('C{i}', {lit});\n"));
    }
    let config = dir.path().join("wp-config.php");
    std::fs::write(&config, &src).unwrap_or_else(|e| panic!("{e}"));
    let script = dir.path().join("dump.php");
    std::fs::write(
        &script,
        "<?php\ninclude $argv[1];\nforeach (get_defined_constants(true)['user'] ?? [] as $k => $v) {\n  $t = gettype($v);\n  $s = match ($t) { 'string' => bin2hex($v), 'integer' => (string) $v, 'double' => var_export($v, true), 'boolean' => $v ? 'true' : 'false', default => 'null' };\n  echo $k, \"\\t\", $t, \"\\t\", $s, \"\\n\";\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(php)
        .arg("-n")
        .arg(&script)
        .arg(&config)
        .output()
        .unwrap_or_else(|e| panic!("php: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let theirs: BTreeMap<&str, (&str, &str)> = stdout
        .lines()
        .filter_map(|l| {
            let mut c = l.split('\t');
            Some((c.next()?, (c.next()?, c.next()?)))
        })
        .collect();
    let f = parse(src.as_bytes());
    let ours = defines(&f);
    assert_eq!(ours.len(), LITERALS.len());
    for ((name, value, _), lit) in ours.iter().zip(LITERALS) {
        let (ty, repr) = theirs
            .get(name.as_str())
            .copied()
            .unwrap_or_else(|| panic!("php did not define {name}"));
        let ok = match value {
            PhpValue::Str(s) => {
                ty == "string"
                    && repr
                        == s.as_bytes()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
            }
            PhpValue::Int(i) => ty == "integer" && repr == i.to_string(),
            PhpValue::Float(x) => ty == "double" && repr.parse::<f64>().ok() == Some(*x),
            PhpValue::Bool(b) => ty == "boolean" && repr == b.to_string(),
            PhpValue::Null => ty == "NULL",
            PhpValue::Computed(_) => false,
        };
        assert!(ok, "{lit}: we say {value:?}, php says {ty} {repr}");
    }
    println!(
        "constant values differential: {} literal defines agree with php",
        LITERALS.len()
    );
}

#[test]
fn php_lint_error_differential() {
    let Some(php) = php_binary() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut checked = 0;
    for (i, (src, msg, _)) in BROKEN.iter().enumerate() {
        let p = dir.path().join(format!("b{i}.php"));
        std::fs::write(&p, src).unwrap_or_else(|e| panic!("{e}"));
        let out = Command::new(&php)
            .args(["-n", "-l"])
            .arg(&p)
            .output()
            .unwrap_or_else(|e| panic!("php: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let theirs = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("PHP Parse error:  ")
                    .or_else(|| l.strip_prefix("Parse error: "))
            })
            .and_then(|l| l.rsplit_once(" in ").map(|(m, _)| m.to_string()))
            .unwrap_or_else(|| panic!("{src:?}: php -l said {text}"));
        assert!(
            theirs.starts_with(msg),
            "{src:?}: php says {theirs:?}, we say {msg:?}"
        );
        let ours = parse(src.as_bytes());
        assert_eq!(ours.errors.first().map(|e| e.message.as_str()), Some(*msg));
        checked += 1;
    }
    println!("php -l differential: {checked} broken files, same first error as php");
}
