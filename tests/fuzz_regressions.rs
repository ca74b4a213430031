//! The fuzz targets' invariants (tests/support/fuzz_invariants.rs, shared with
//! fuzz/fuzz_targets/) on the fixtures, on the shared corpus (read in place), and on
//! every input a fuzz run found crashing (`CRASHES` below: one entry per crash, with
//! the run that found it).

#[path = "support/fuzz_invariants.rs"]
mod inv;
mod support;

use std::path::Path;

/// Inputs that made a fuzz target fail, kept forever: (target, input).
///
/// The 2026-11-30 runs (fuzz/run.sh: nginx_parse 194,107 execs, php_parse 218,811,
/// ini_parse 41,897, check_fix 3,530) found none; the first entry is the panic that
/// tests/hostile.rs found just before (glob 0.3 unwrapped `to_str()` on a non-UTF-8
/// name in an included directory), as a check_fix input: name byte 3 = `\xff\xfe.conf`.
const CRASHES: &[(&str, &[u8])] = &[(
    "check_fix",
    b"\x03server {\n    listen 80;\n    root /var/www/site;\n    location ~ \\.php$ {\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n    }\n}\n\x00[www]\nlisten = /run/php/php8.2-fpm.sock\npm = static\npm.max_children = 5\n\x00[PHP]\nmemory_limit = 64M\n\x00<?php\ndefine( 'WP_DEBUG', true );\n",
)];

fn run(target: &str, data: &[u8]) {
    match target {
        "nginx_parse" => inv::nginx_parse(data),
        "ini_parse" => inv::ini_parse(data),
        "php_parse" => inv::php_parse(data),
        "mycnf_parse" => inv::mycnf_parse(data),
        "check_fix" => inv::check_fix(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

#[test]
fn every_crash_found_by_fuzzing_stays_fixed() {
    for (target, data) in CRASHES {
        run(target, data);
    }
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    support::walk(dir)
        .into_iter()
        .filter(|p| p.is_file() && std::fs::metadata(p).is_ok_and(|m| m.len() < 1 << 20))
        .collect()
}

#[test]
fn parsers_print_back_every_fixture_and_corpus_file() {
    let mut dirs = vec![support::fixtures()];
    match support::corpus_dir() {
        Some(c) => dirs.push(c),
        None => println!("skipped: ../shared/corpus not found"),
    }
    let mut n = 0;
    for dir in dirs {
        for f in files(&dir) {
            let Ok(bytes) = std::fs::read(&f) else {
                continue;
            };
            // Every parser is total: each must round-trip any file, not only its own kind.
            inv::nginx_parse(&bytes);
            inv::ini_parse(&bytes);
            inv::php_parse(&bytes);
            inv::mycnf_parse(&bytes);
            n += 1;
        }
    }
    println!("{n} files round-tripped by all four parsers");
    assert!(n > 0);
}

/// The fixture stacks as check_fix inputs (as fuzz/run.sh seeds them), under every
/// file name the target tries.
#[test]
fn fix_invariants_hold_on_the_fixture_stacks() {
    let find = |dir: &Path, pred: &dyn Fn(&str) -> bool| -> Vec<u8> {
        support::walk(dir)
            .into_iter()
            .find(|p| pred(&p.to_string_lossy()))
            .and_then(|p| std::fs::read(p).ok())
            .unwrap_or_default()
    };
    let stacks = support::fixtures().join("stacks");
    let mut n = 0;
    for entry in std::fs::read_dir(&stacks).unwrap().flatten() {
        let dir = entry.path();
        let site = find(&dir, &|p| p.contains("sites-enabled/"));
        let pool = find(&dir, &|p| p.contains("pool.d/"));
        if site.is_empty() && pool.is_empty() {
            continue;
        }
        let site = String::from_utf8_lossy(&site);
        let site: String = site
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("root ") {
                    "    root /var/www/site;".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let ini = find(&dir, &|p| p.ends_with("php.ini"));
        let wp = find(&dir, &|p| p.ends_with("wp-config.php"));
        for name in 0..inv::NAMES.len() as u8 {
            let mut data = vec![name];
            data.extend_from_slice(site.as_bytes());
            data.push(0);
            data.extend_from_slice(&pool);
            data.push(0);
            data.extend_from_slice(&ini);
            data.push(0);
            data.extend_from_slice(&wp);
            inv::check_fix(&data);
            n += 1;
        }
    }
    assert!(n > 0, "no fixture stack found under {}", stacks.display());
}
