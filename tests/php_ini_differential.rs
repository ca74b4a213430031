//! Differential tests of the INI parser against the real `php` (8.2):
//!
//! - `corpus_php_ini_matches_php`: every php.ini / conf.d file of the corpus is read
//!   by `php -n -c FILE`, and for every key the file sets that PHP knows, our
//!   `Value::text` must equal what `ini_get_all()` reports (`get_cfg_var()` for keys
//!   of extensions that are not loaded, `parse_ini_file()` for the few the CLI forces).
//! - `generated_snippets_match_parse_ini_string`: thousands of generated snippets
//!   (quotes, operators, `${}`, sections, offsets, broken lines...) go through PHP's
//!   own INI parser (`parse_ini_string`, the same scanner and grammar as php.ini) in
//!   one php process; values, keys, offsets, error messages and error line numbers
//!   must all agree.

mod support;

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use support::corpus_dir;
use support::ini_corpus::{files_under, oracle, template_no};
use wpstack::syntax::ini::{self, ValueKind};

// ---------------------------------------------------------------------------
// Corpus files against `php -n -c FILE`.
// ---------------------------------------------------------------------------

/// Settings the CLI SAPI forces whatever php.ini says (sapi/cli/php_cli.c's
/// `INI_DEFAULT`s overwrite them after php.ini is read, even in `get_cfg_var()`):
/// for these we compare with `parse_ini_file()` of the same file — the same scanner
/// and parser, called at run time.
const CLI_FORCED: &[&str] = &[
    "display_errors",
    "html_errors",
    "implicit_flush",
    "max_execution_time",
    "max_input_time",
    "output_buffering",
    "register_argc_argv",
];

const CORPUS_SCRIPT: &str = r#"
$keys = json_decode(file_get_contents($argv[1]), true);
$cfg = [];
foreach ($keys as $k) { $cfg[$k] = get_cfg_var($k); }
$file = parse_ini_file(php_ini_loaded_file(), false, INI_SCANNER_NORMAL);
echo json_encode(['all' => ini_get_all(null, false), 'cfg' => $cfg, 'file' => $file], JSON_INVALID_UTF8_SUBSTITUTE);
"#;

fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Null => Some(String::new()),
        Json::Bool(false) => None, // get_cfg_var: not set
        Json::Array(_) | Json::Object(_) => None,
        other => Some(other.to_string()),
    }
}

#[test]
fn corpus_php_ini_matches_php() {
    let Some(corpus) = corpus_dir() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let Some(php) = oracle("php") else {
        return;
    };
    let skip = template_no(&corpus);
    let tmp = tempfile::tempdir().expect("temp dir");
    let script = tmp.path().join("run.php");
    std::fs::write(&script, format!("<?php\n{CORPUS_SCRIPT}")).expect("write script");
    let mut files = 0;
    let mut via_ini_get = 0;
    let mut via_cfg = 0;
    let mut via_file = 0;
    let mut via_env = 0;
    let mut mismatches: Vec<String> = Vec::new();
    for (rel, path) in files_under(&corpus, "php-ini") {
        if skip.contains(&rel) {
            continue;
        }
        let src = std::fs::read(&path).expect("read corpus file");
        let file = ini::parse(&src);
        assert!(file.errors.is_empty(), "{rel}: {:?}", file.errors);
        // Last one wins, as in PHP; only entries outside [PATH=]/[HOST=] sections.
        let mut effective: BTreeMap<String, (ValueKind, String)> = BTreeMap::new();
        for (section, e) in file.applied_entries() {
            if section.is_some_and(|s| {
                let n = s.name.to_ascii_uppercase();
                n.starts_with("PATH=") || n.starts_with("HOST=")
            }) {
                continue;
            }
            if e.key.index.is_some() || e.key.name == "extension" || e.key.name == "zend_extension"
            {
                continue;
            }
            effective.insert(e.key.name.clone(), (e.value.kind, e.value.text.clone()));
        }
        // php -c takes the file as php.ini; work on a copy so the corpus stays untouched.
        let copy = tmp.path().join("php.ini");
        std::fs::write(&copy, &src).expect("write temp ini");
        let keys_file = tmp.path().join("keys.json");
        let keys: Vec<&String> = effective.keys().collect();
        std::fs::write(&keys_file, serde_json::to_vec(&keys).expect("json")).expect("write keys");
        let out = Command::new(&php)
            .env_clear()
            .args(["-n", "-c"])
            .arg(&copy)
            .arg(&script)
            .arg(&keys_file)
            .output()
            .expect("run php");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json_start = stdout.find('{').unwrap_or(0);
        let report: Json = serde_json::from_str(&stdout[json_start..]).unwrap_or_else(|e| {
            panic!(
                "{rel}: php printed no JSON ({e}): {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        files += 1;
        for (key, (kind, text)) in effective {
            let php_text = if kind == ValueKind::Computed {
                // php runs with an empty environment: `text` is exactly what PHP
                // stores then. Compare the raw stored value (an empty memory_limit is
                // refused by its on-modify handler, so ini_get would show the default).
                via_env += 1;
                if CLI_FORCED.contains(&key.as_str()) {
                    json_text(&report["file"][&key])
                } else {
                    json_text(&report["cfg"][&key])
                }
            } else if CLI_FORCED.contains(&key.as_str()) {
                via_file += 1;
                json_text(&report["file"][&key])
            } else if let Some(v) = report["all"].get(&key) {
                via_ini_get += 1;
                json_text(v)
            } else {
                via_cfg += 1;
                json_text(&report["cfg"][&key])
            };
            if php_text.as_deref() != Some(text.as_str()) {
                mismatches.push(format!("{rel}: {key}: ours {text:?}, php {php_text:?}"));
            }
        }
    }
    let keys = via_ini_get + via_cfg + via_file + via_env;
    println!(
        "php.ini differential: {files} files, {keys} keys, {} mismatches \
         ({via_ini_get} via ini_get_all, {via_cfg} via get_cfg_var (extension not loaded), \
         {via_file} via parse_ini_file (forced by the CLI), {via_env} ${{VAR}} values with the variable unset)",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(files > 0);
}

// ---------------------------------------------------------------------------
// Generated snippets against parse_ini_string().
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const KEYS: &[&str] = &[
    "a",
    "b",
    "x y",
    " c",
    "\tk",
    "#h",
    "on",
    "one",
    "k[]",
    "k[i]",
    "k[ E_ALL ]",
    "k[\"q\"]",
    "k['r']",
    "k[${NOPE}]",
    "k [j]",
    "a.b-c/d",
    "]z",
    "k[",
    "null",
    "  key",
];
const EQS: &[&str] = &[" = ", "=", " =", "= ", "\t=\t", " "];
const PIECES: &[&str] = &[
    "1",
    "128M",
    "-1",
    "1.5",
    "E_ALL",
    "E_NOTICE",
    "E_STRICT",
    "~",
    "!",
    "&",
    "|",
    "^",
    "(",
    ")",
    " ",
    "\t",
    "\"str\"",
    "\"a;b\"",
    "\"q\\\"x\"",
    "\"C:\\p\\\"",
    "\"e\\\\s\"",
    "'raw'",
    "''",
    "'",
    "\"",
    "${NOPE}",
    "${ V1 }",
    "${W:-d}",
    "${",
    "}",
    "$",
    "$x",
    "On",
    "off",
    "yes",
    "none",
    "NULL",
    "true",
    "foo bar",
    ";c",
    " ; comment",
    "=",
    "\\",
    "{",
    "\"multi\nline\"",
    "abc",
    "files",
    "/var/run/php.sock",
    "\"${NOPE}/x\"",
    "0x1A",
    "07",
    "E_ALL & ~E_DEPRECATED",
    "[x]",
];
/// Pieces that keep a value valid (so that values, not errors, get compared).
const VALID_PIECES: &[&str] = &[
    "1",
    "128M",
    "-1",
    "1.5",
    "E_ALL",
    "E_NOTICE",
    " ",
    "\t",
    "\"str\"",
    "\"a;b\"",
    "\"q\\\"x\"",
    "\"e\\\\s\"",
    "'raw'",
    "${NOPE}",
    "$x",
    "foo bar",
    "abc",
    "files",
    "/var/run/php.sock",
    "\"${NOPE}/x\"",
    "0x1A",
    "E_ALL & ~E_DEPRECATED",
    "| E_STRICT",
    "& ~E_NOTICE",
    "^ 2",
    "{a}",
    "a.b-c/d:e@f",
    "\"multi\nline\"",
    "'single\nline'",
    "\\",
    "#x",
];
const ENDS: &[&str] = &["\n", "\n", "\n", "\r\n", "\r", ""];
const SECTIONS: &[&str] = &[
    "[s]",
    "[PHP]",
    "  [s]",
    "[PATH=/x]",
    "[${NOPE}]",
    "[a;b]",
    "[",
    "[\"q s\"]",
    "['r']",
    "[ sp ]",
    "[a] x = 1",
    "[E_ALL]",
];
const NOISE: &str = "ab =;\"'$[]{}()|&~!^\n\r\t E_AL1#:-";

fn snippet(rng: &mut Rng) -> String {
    let mut s = String::new();
    let lines = 1 + rng.below(4);
    for _ in 0..lines {
        match rng.below(10) {
            0 => s.push_str(rng.pick(&["; comment", "", "   ", "\t; c"])),
            1 => s.push_str(rng.pick(SECTIONS)),
            2 => {
                let chars: Vec<char> = NOISE.chars().collect();
                for _ in 0..rng.below(12) {
                    s.push(chars[rng.below(chars.len())]);
                }
            }
            n => {
                s.push_str(rng.pick(KEYS));
                s.push_str(rng.pick(EQS));
                let pieces = if n % 2 == 0 { VALID_PIECES } else { PIECES };
                if n % 2 == 0 && rng.below(4) == 0 {
                    s.push_str(rng.pick(&["On", "off", "yes", "none", "NULL", "true"]));
                } else {
                    for _ in 0..rng.below(5) {
                        s.push_str(rng.pick(pieces));
                    }
                }
            }
        }
        s.push_str(rng.pick(ENDS));
    }
    s
}

/// What parse_ini_string() returns for an error-free snippet, as (key, value or
/// array of (key, value)) in PHP's array order — simulating php_simple_ini_parser_cb.
type Simple = Vec<(String, Result<String, Vec<(String, String)>>)>;

fn canonical_int(s: &str) -> Option<i64> {
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

fn simulate(file: &ini::File) -> Simple {
    let mut out: Simple = Vec::new();
    for (_, e) in file.applied_entries() {
        let key = e.key.name.clone();
        let val = e.value.text.clone();
        match &e.key.index {
            None => match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = Ok(val),
                None => out.push((key, Ok(val))),
            },
            Some(index) => {
                let pos = match out.iter().position(|(k, _)| *k == key) {
                    Some(p) => p,
                    None => {
                        out.push((key, Err(Vec::new())));
                        out.len() - 1
                    }
                };
                let slot = &mut out[pos].1;
                if slot.is_ok() {
                    *slot = Err(Vec::new());
                }
                if let Err(arr) = slot {
                    if index.is_empty() {
                        let next = arr
                            .iter()
                            .filter_map(|(k, _)| canonical_int(k))
                            .max()
                            .map_or(0, |m| m + 1);
                        arr.push((next.to_string(), val));
                    } else {
                        match arr.iter_mut().find(|(k, _)| k == index) {
                            Some(kv) => kv.1 = val,
                            None => arr.push((index.clone(), val)),
                        }
                    }
                }
            }
        }
    }
    out
}

const PHP_SCRIPT: &str = r#"
$cases = json_decode(file_get_contents($argv[1]), true);
$out = [];
foreach ($cases as $s) {
    error_clear_last();
    $r = @parse_ini_string($s, false, INI_SCANNER_NORMAL);
    if ($r === false) {
        $e = error_get_last();
        $out[] = ['err' => $e ? $e['message'] : ''];
        continue;
    }
    $pairs = [];
    foreach ($r as $k => $v) {
        if (is_array($v)) {
            $sub = [];
            foreach ($v as $k2 => $v2) { $sub[] = [(string)$k2, (string)$v2]; }
            $pairs[] = [(string)$k, null, $sub];
        } else {
            $pairs[] = [(string)$k, (string)$v, null];
        }
    }
    $out[] = ['ok' => $pairs];
}
echo json_encode($out, JSON_INVALID_UTF8_SUBSTITUTE);
"#;

fn php_error_parts(message: &str) -> (String, usize) {
    // "syntax error, unexpected '=' in Unknown on line 3\n"
    let m = message.trim_end();
    match m.rfind(" in Unknown on line ") {
        Some(i) => {
            let line = m[i + " in Unknown on line ".len()..].parse().unwrap_or(0);
            (m[..i].to_string(), line)
        }
        None => (m.to_string(), 0),
    }
}

fn run_php_parse_ini(php: &Path, cases: &[String]) -> Vec<Json> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("cases.json");
    std::fs::write(&input, serde_json::to_vec(cases).expect("json")).expect("write cases");
    let script = tmp.path().join("run.php");
    std::fs::write(&script, format!("<?php\n{PHP_SCRIPT}")).expect("write script");
    let out = Command::new(php)
        .env_clear()
        .arg("-n")
        .arg(&script)
        .arg(&input)
        .output()
        .expect("run php");
    let results: Vec<Json> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "php output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(results.len(), cases.len());
    results
}

fn compare(src: &str, php: &Json) -> Option<String> {
    let file = ini::parse(src.as_bytes());
    if let Some(msg) = php.get("err").and_then(Json::as_str) {
        let (want, line) = php_error_parts(msg);
        return match &file.php_error {
            Some(e) if e.message == want && e.line == line => None,
            Some(e) => Some(format!(
                "{src:?}: php: {want} (line {line}); ours: {} (line {})",
                e.message, e.line
            )),
            None => Some(format!(
                "{src:?}: php: {want} (line {line}); ours: no error"
            )),
        };
    }
    if let Some(e) = &file.php_error {
        if !e.message.is_empty() {
            return Some(format!(
                "{src:?}: php: ok; ours: {} (line {})",
                e.message, e.line
            ));
        }
    }
    let want: Simple = php
        .get("ok")
        .and_then(Json::as_array)
        .map(|pairs| {
            pairs
                .iter()
                .map(|p| {
                    let k = p[0].as_str().unwrap_or_default().to_string();
                    match p[2].as_array() {
                        Some(sub) => (
                            k,
                            Err(sub
                                .iter()
                                .map(|kv| {
                                    (
                                        kv[0].as_str().unwrap_or_default().to_string(),
                                        kv[1].as_str().unwrap_or_default().to_string(),
                                    )
                                })
                                .collect()),
                        ),
                        None => (k, Ok(p[1].as_str().unwrap_or_default().to_string())),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let ours = simulate(&file);
    (ours != want).then(|| format!("{src:?}: php {want:?}; ours {ours:?}"))
}

#[test]
fn generated_snippets_match_parse_ini_string() {
    let Some(php) = oracle("php") else {
        return;
    };
    let seed = std::env::var("INI_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15u64);
    let count = std::env::var("INI_FUZZ_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000usize);
    let mut rng = Rng(seed);
    let mut cases: Vec<String> = (0..count).map(|_| snippet(&mut rng)).collect();
    // Hand-picked cases the generator might miss.
    for s in [
        "x = \"C:\\path\\\"\n",
        "x = \"a\\\"b\"\n",
        "a = 1 = 2\n",
        "x = $\ny = 2\n",
        "x = 1 ;c",
        "x = 1 ",
        "x = 'abc\ny = 1\n",
        "[unclosed\na=1\n",
        "x = (E_ALL) x\n",
        "x[a]b] = 2\n",
        "\u{feff}x = 1\n",
    ] {
        cases.push(s.to_string());
    }
    let results = run_php_parse_ini(&php, &cases);
    let mut bad = Vec::new();
    let mut errors = 0;
    for (src, res) in cases.iter().zip(&results) {
        if res.get("err").is_some() {
            errors += 1;
        }
        if let Some(d) = compare(src, res) {
            bad.push(d);
        }
        // Lossless whatever happens.
        let f = ini::parse(src.as_bytes());
        assert_eq!(ini::print(&f, src.as_bytes()), src.as_bytes(), "{src:?}");
    }
    println!(
        "parse_ini_string differential: {} snippets ({errors} with syntax errors), {} disagree",
        cases.len(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{}",
        bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

// ---------------------------------------------------------------------------
// ini_quantity against PHP 8.2's ini_parse_quantity() (the same C function as
// memory_limit & co use).
// ---------------------------------------------------------------------------

const QUANTITY_SCRIPT: &str = r#"
$cases = json_decode(file_get_contents($argv[1]), true);
$out = [];
foreach ($cases as $s) {
    error_clear_last();
    $v = @ini_parse_quantity($s);
    $e = error_get_last();
    $out[] = [$v, $e ? $e['message'] : null];
}
echo json_encode($out);
"#;

#[test]
fn ini_quantity_matches_ini_parse_quantity() {
    use wpstack::syntax::units::ini_quantity;
    let Some(php) = oracle("php") else {
        return;
    };
    let alphabet: Vec<char> = " \t\n\u{b}+-0123456789xXoObBkKmMgG.B_\\\u{1}\u{1f}\u{7f}a"
        .chars()
        .collect();
    let seed = std::env::var("INI_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0123_4567_89AB_CDEFu64);
    let count = std::env::var("INI_FUZZ_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000usize);
    let mut rng = Rng(seed);
    let mut cases: Vec<String> = [
        "128M",
        "-1",
        "1G",
        "256MB",
        "0x10",
        "0x",
        "0o17",
        "0b101",
        "010",
        "08",
        "0x0x1",
        " 12 k ",
        "",
        "k",
        "1.5M",
        "-2M",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "99999999999999999999",
        "9999999999G",
        "256BM",
        "0z",
        "0x-1",
        "0x 1",
        "0b2",
        "0o8",
        "-0x10",
        "+0b11k",
        "1e3",
        "2 GB",
        "\u{1b}1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for _ in 0..count {
        let n = rng.below(8);
        let s: String = (0..n)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        cases.push(s);
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("cases.json");
    std::fs::write(&input, serde_json::to_vec(&cases).expect("json")).expect("write");
    let script = tmp.path().join("q.php");
    std::fs::write(&script, format!("<?php\n{QUANTITY_SCRIPT}")).expect("write");
    let out = Command::new(&php)
        .env_clear()
        .arg("-n")
        .arg(&script)
        .arg(&input)
        .output()
        .expect("run php");
    let results: Vec<(i64, Option<String>)> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("php output ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let mut bad = Vec::new();
    for (s, (value, warning)) in cases.iter().zip(results) {
        let ours = ini_quantity(s);
        if ours.value != value || ours.warning != warning {
            bad.push(format!(
                "{s:?}: php {value} {warning:?}; ours {} {:?}",
                ours.value, ours.warning
            ));
        }
    }
    println!(
        "ini_parse_quantity differential: {} strings, {} disagree",
        cases.len(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{}",
        bad.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}
