//! The INI parser keeps every byte: `print(parse(x)) == x` for the corpus and for
//! any bytes at all.

mod support;

use proptest::prelude::*;
use support::corpus_dir;
use support::ini_corpus::{files_under, template_no};
use wpstack::syntax::ini::{self, File, LineKind};

/// Lines tile the input: each line's pieces are contiguous, non-empty and cover it.
fn check_tiling(f: &File, len: usize) -> Result<(), String> {
    let mut pos = 0;
    for (n, l) in f.lines.iter().enumerate() {
        if l.span.start != pos {
            return Err(format!(
                "line {n} starts at {} instead of {pos}",
                l.span.start
            ));
        }
        for p in &l.pieces {
            if p.start != pos || p.end <= p.start {
                return Err(format!("line {n}: piece {p:?} at {pos}"));
            }
            pos = p.end;
        }
        if l.span.end != pos {
            return Err(format!("line {n} ends at {} instead of {pos}", l.span.end));
        }
        if let LineKind::Entry(e) = &l.kind {
            for s in [e.span, e.key.span, e.value.span] {
                if s.start < l.span.start || s.end > l.span.end || s.start > s.end {
                    return Err(format!("line {n}: span {s:?} outside {:?}", l.span));
                }
            }
        }
    }
    if pos != len {
        return Err(format!("lines cover {pos} of {len} bytes"));
    }
    Ok(())
}

#[test]
fn corpus_ini_roundtrip() {
    let Some(corpus) = corpus_dir() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let skip = template_no(&corpus);
    let mut total = 0;
    let mut identical = 0;
    let mut problems = Vec::new();
    for category in ["php-ini", "php-fpm"] {
        for (rel, path) in files_under(&corpus, category) {
            if skip.contains(&rel) {
                continue;
            }
            total += 1;
            let src = std::fs::read(&path).expect("read corpus file");
            let file = if category == "php-fpm" {
                ini::parse_fpm(&src)
            } else {
                ini::parse(&src)
            };
            if !file.errors.is_empty() {
                problems.push(format!("{rel}: errors {:?}", file.errors));
            }
            if let Err(e) = check_tiling(&file, src.len()) {
                problems.push(format!("{rel}: {e}"));
            }
            if ini::print(&file, &src) == src {
                identical += 1;
            } else {
                problems.push(format!("{rel}: printed text differs"));
            }
        }
    }
    println!("ini corpus round-trip: {identical} of {total} files byte-identical");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(total > 0);
}

#[test]
fn corpus_values_people_rely_on() {
    let Some(corpus) = corpus_dir() else {
        println!("skipped: ../shared/corpus not found");
        return;
    };
    let src =
        std::fs::read(corpus.join("php-fpm/debian-php8.2-fpm/pool.d/www.conf")).expect("www.conf");
    let f = ini::parse_fpm(&src);
    let get = |k: &str| {
        f.entries()
            .filter(|(_, e)| e.key.name == k)
            .last()
            .map(|(s, e)| (s.map(|s| s.name.clone()), e.value.text.clone()))
    };
    assert_eq!(get("pm"), Some((Some("www".into()), "dynamic".into())));
    assert_eq!(
        get("pm.max_children"),
        Some((Some("www".into()), "5".into()))
    );
    assert_eq!(
        get("listen"),
        Some((Some("www".into()), "/run/php/php8.2-fpm.sock".into()))
    );
    let src = std::fs::read(corpus.join("php-ini/php-src/php.ini-production")).expect("php.ini");
    let f = ini::parse(&src);
    let er = f
        .entries()
        .filter(|(_, e)| e.key.name == "error_reporting")
        .last()
        .map(|(_, e)| e.value.text.clone());
    assert_eq!(er.as_deref(), Some("22527"));
}

fn ini_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"key".to_vec()),
        Just(b" = ".to_vec()),
        Just(b"=".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"'".to_vec()),
        Just(b"${".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b";".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"E_ALL".to_vec()),
        Just(b"|~&!^()".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"$".to_vec()),
        Just(b" \t".to_vec()),
        Just(b"on".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_roundtrip(src in prop::collection::vec(any::<u8>(), 0..200)) {
        for f in [ini::parse(&src), ini::parse_fpm(&src)] {
            prop_assert_eq!(ini::print(&f, &src), src.clone());
            prop_assert_eq!(check_tiling(&f, src.len()), Ok(()));
        }
    }

    #[test]
    fn ini_like_bytes_roundtrip(src in ini_like()) {
        for f in [ini::parse(&src), ini::parse_fpm(&src)] {
            prop_assert_eq!(ini::print(&f, &src), src.clone());
            prop_assert_eq!(check_tiling(&f, src.len()), Ok(()));
        }
    }
}

/// Large broken inputs: an error on every line, unterminated quotes, one huge
/// line. Each must parse in one pass over the bytes (a quadratic parser would make
/// this test hang) and print back identically.
#[test]
fn big_broken_inputs_roundtrip() {
    let inputs: Vec<Vec<u8>> = vec![
        b"x = \"\n".repeat(4_000),
        b"=\n".repeat(4_000),
        b"x = 'a\n".repeat(4_000),
        b"[a\n".repeat(4_000),
        b"x = ${\n".repeat(4_000),
        b"k".repeat(60_000),
        b"x = ((((".repeat(10_000),
        b"x = a"
            .iter()
            .chain(b" |".repeat(20_000).iter())
            .copied()
            .collect(),
    ];
    for src in inputs {
        for f in [ini::parse(&src), ini::parse_fpm(&src)] {
            assert_eq!(ini::print(&f, &src), src);
            assert_eq!(check_tiling(&f, src.len()), Ok(()));
        }
    }
}
