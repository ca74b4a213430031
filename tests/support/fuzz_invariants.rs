//! The invariants the fuzz targets check (fuzz/fuzz_targets/*.rs include this file), so
//! that every crash input becomes a regression test in tests/fuzz_regressions.rs with
//! the very same checks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use wpstack::fix::{run as fixrun, Applicability};
use wpstack::settings::{HostFacts, Settings};
use wpstack::stack::discover::Inputs;
use wpstack::syntax;

/// nginx parser: every input prints back byte-identical; leaves tile the input;
/// error spans lie inside it.
pub fn nginx_parse(data: &[u8]) {
    let file = syntax::nginx::parse(data);
    assert_eq!(
        syntax::nginx::print(&file, data),
        data,
        "print(parse(x)) != x"
    );
    let mut at = 0;
    for s in syntax::nginx::leaf_spans(&file) {
        assert_eq!(s.start, at, "leaves do not tile the input");
        at = s.end;
    }
    assert_eq!(at, data.len());
    for e in &file.errors {
        assert!(e.span.start <= e.span.end && e.span.end <= data.len());
    }
}

/// php.ini and pool parsers: every input prints back byte-identical.
pub fn ini_parse(data: &[u8]) {
    for file in [syntax::ini::parse(data), syntax::ini::parse_fpm(data)] {
        assert_eq!(
            syntax::ini::print(&file, data),
            data,
            "print(parse(x)) != x"
        );
        for e in &file.errors {
            assert!(e.span.start <= e.span.end && e.span.end <= data.len());
        }
        let _ = file.entries().count();
    }
}

/// wp-config.php parser: every input prints back byte-identical.
pub fn php_parse(data: &[u8]) {
    let file = syntax::php::parse(data);
    assert_eq!(
        syntax::php::print(&file, data),
        data,
        "print(parse(x)) != x"
    );
    for e in &file.errors {
        assert!(e.span.start <= e.span.end && e.span.end <= data.len());
    }
}

/// my.cnf parser: every input prints back byte-identical; lines tile the input; spans
/// of names, values and include paths lie inside their line; the database model built
/// from it never panics.
pub fn mycnf_parse(data: &[u8]) {
    let file = syntax::mycnf::parse(data);
    assert_eq!(
        syntax::mycnf::print(&file, data),
        data,
        "print(parse(x)) != x"
    );
    let mut at = 0;
    for l in &file.lines {
        assert_eq!(l.span.start, at, "lines do not tile the input");
        at = l.span.end;
        let inside = |s: wpstack::source::Span| {
            assert!(l.span.start <= s.start && s.start <= s.end && s.end <= l.span.end)
        };
        match &l.kind {
            syntax::mycnf::LineKind::Group { name_span, .. } => inside(*name_span),
            syntax::mycnf::LineKind::Option(o) => {
                inside(o.name_span);
                if let Some(v) = o.value_span {
                    inside(v);
                }
            }
            syntax::mycnf::LineKind::Include { path_span, .. }
            | syntax::mycnf::LineKind::IncludeDir { path_span, .. } => inside(*path_span),
            _ => {}
        }
    }
    assert_eq!(at, data.len());
    for e in &file.errors {
        assert!(e.span.start <= e.span.end && e.span.end <= data.len());
    }
}

/// Names the site file gets (byte 0 of a check_fix input picks one).
pub const NAMES: &[&[u8]] = &[
    b"site",
    b"site.conf",
    b"a b.conf",
    b"\xff\xfe.conf",
    b"x\x1b[31m.conf",
    b"-n",
    b"caf\xc3\xa9",
    b"..conf",
];

const NGINX_MAIN: &str = "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n";
const FPM_MAIN: &str = "[global]\npid = /run/php/php8.2-fpm.pid\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n";

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn parses(path: &Path, bytes: &[u8]) -> bool {
    let name = path.to_string_lossy();
    if name.ends_with(".php") {
        syntax::php::parse(bytes).errors.is_empty()
    } else if name.ends_with("php.ini") {
        syntax::ini::parse(bytes).errors.is_empty()
    } else if name.contains("/pool.d/") || name.ends_with("php-fpm.conf") {
        syntax::ini::parse_fpm(bytes).errors.is_empty()
    } else {
        syntax::nginx::parse(bytes).errors.is_empty()
    }
}

fn php_lint_ok(dir: &Path, bytes: &[u8]) -> Option<bool> {
    let f = dir.join("lint.php");
    std::fs::write(&f, bytes).ok()?;
    let out = std::process::Command::new("php")
        .args(["-n", "-l"])
        .arg(&f)
        .output()
        .ok()?;
    Some(out.status.success())
}

/// `check --fix` on a small stack built from `data` under a temp dir: byte 0 picks the
/// site file's name, the rest is split at NUL bytes into the nginx site, the pool
/// file, php.ini and wp-config.php. No panic; a file that parsed still parses after
/// its fixes; a fixed wp-config.php passes `php -l` when the original did; a second
/// `--fix` over the fixed files changes nothing.
pub fn check_fix(data: &[u8]) {
    if data.is_empty() || data.len() > 64 * 1024 {
        return;
    }
    let name = NAMES[data[0] as usize % NAMES.len()];
    let mut parts = data[1..].split(|b| *b == 0);
    let site = parts.next().unwrap_or_default();
    let pool = parts.next().unwrap_or_default();
    let ini = parts.next().unwrap_or_default();
    let wp = parts.next();

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    write(&root.join("etc/nginx/nginx.conf"), NGINX_MAIN.as_bytes());
    let site_path = root
        .join("etc/nginx/sites-enabled")
        .join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name));
    write(&site_path, site);
    write(
        &root.join("etc/php/8.2/fpm/php-fpm.conf"),
        FPM_MAIN.as_bytes(),
    );
    write(&root.join("etc/php/8.2/fpm/pool.d/www.conf"), pool);
    write(&root.join("etc/php/8.2/fpm/php.ini"), ini);
    if let Some(wp) = wp {
        write(&root.join("var/www/site/wp-config.php"), wp);
    }

    let inputs = Inputs {
        paths: vec![root.clone()],
        root: Some(root.clone()),
        ..Default::default()
    };
    let settings = Settings::default();
    let facts = HostFacts {
        ram: Some(2 << 30),
        cpus: Some(2),
        ..Default::default()
    };
    let host = wpstack::machine::host::resolve(&facts, &HostFacts::default(), false);
    let Ok(first) = fixrun::fixpoint(&inputs, &settings, &host, Applicability::Unsafe) else {
        return;
    };
    let _ = fixrun::diff(&first);
    for (path, (shown, old, new)) in &first.changes {
        if parses(path, old) {
            assert!(
                parses(path, new),
                "{shown}: parsed before its fixes, not after:\n--- before\n{}\n--- after\n{}",
                String::from_utf8_lossy(old),
                String::from_utf8_lossy(new)
            );
        }
        if path.extension().is_some_and(|e| e == "php") {
            if let (Some(true), Some(after)) =
                (php_lint_ok(tmp.path(), old), php_lint_ok(tmp.path(), new))
            {
                assert!(
                    after,
                    "{shown}: php -l passed before the fixes, fails after:\n{}",
                    String::from_utf8_lossy(new)
                );
            }
        }
    }
    if !first.converged || first.changes.is_empty() {
        return;
    }
    let fixed: Vec<(PathBuf, Vec<u8>)> = first
        .changes
        .iter()
        .map(|(p, (_, _, new))| (p.clone(), new.clone()))
        .collect();
    for (p, new) in &fixed {
        std::fs::write(p, new).unwrap();
    }
    let second = fixrun::fixpoint(&inputs, &settings, &host, Applicability::Unsafe)
        .expect("the fixed stack no longer loads");
    assert!(
        second.changes.is_empty(),
        "a second --fix changed {:?}",
        second
            .changes
            .values()
            .map(|(s, old, new)| format!(
                "{s}:\n--- first fix\n{}\n--- second fix\n{}",
                String::from_utf8_lossy(old),
                String::from_utf8_lossy(new)
            ))
            .collect::<Vec<_>>()
    );
}
