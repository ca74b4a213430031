//! The shared corpus of real configs: every parseable file round-trips byte for byte,
//! the intentionally broken ones give their errors, and every complete tree links and
//! checks without a crash (per-rule counts printed for review).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wpstack::stack::discover::{self, Inputs};
use wpstack::stack::{FileKind, Syntax};

fn list(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut v: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    v.sort();
    for p in v {
        if p.is_dir() {
            list(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Files TEMPLATES.txt says are not parseable as-is.
fn unparseable_templates(corpus: &Path) -> Vec<String> {
    std::fs::read_to_string(corpus.join("TEMPLATES.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split('\t');
            let path = f.next()?;
            let _engine = f.next()?;
            let verdict = f.next()?;
            verdict.starts_with("no").then(|| path.to_string())
        })
        .collect()
}

fn syntax_invalid(corpus: &Path) -> Vec<String> {
    std::fs::read_to_string(corpus.join("INVALID.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (p, why) = l.split_once('\t')?;
            why.starts_with("SYNTAX").then(|| p.to_string())
        })
        .collect()
}

/// Files that are not in INVALID.txt or TEMPLATES.txt but that nginx itself refuses
/// (checked in tests/nginx_differential.rs where a tree can be loaded): they must still
/// round-trip, and must give an error.
const NGINX_REJECTS: &[(&str, &str)] = &[
    (
        "nginx/crossplane-tests/includes-regular/conf.d/bar.conf",
        "says 'this file should never be included': a bare word with no `;`",
    ),
    (
        "nginx/crossplane-tests/includes-regular/conf.d/foo.conf",
        "same as bar.conf",
    ),
    (
        "nginx/crossplane-tests/includes-globbed/servers/locations/not-included.conf",
        "same as bar.conf",
    ),
    (
        "nginx/crossplane-tests/quote-behavior/nginx.conf",
        "`\"left\"-quote`: nginx -t says unexpected \"-\" (crossplane is laxer than nginx)",
    ),
    (
        "nginx/vvv/custom-sites/site-fallback.conf",
        "a VVV template: `{vvv_tls_cert}` placeholders where directives go",
    ),
];

fn kind_of(rel: &str) -> Option<FileKind> {
    let top = rel.split('/').next()?;
    Some(match top {
        "nginx" => FileKind::Nginx,
        "php-fpm" => FileKind::Fpm,
        "php-ini" => FileKind::PhpIni,
        "wp-config" => FileKind::WpConfig,
        _ => return None,
    })
}

fn print(s: &Syntax, src: &[u8]) -> Vec<u8> {
    match s {
        Syntax::Nginx(f) => wpstack::syntax::nginx::print(f, src),
        Syntax::Ini(f) => wpstack::syntax::ini::print(f, src),
        Syntax::Php(f) => wpstack::syntax::php::print(f, src),
        Syntax::MyCnf(f) => wpstack::syntax::mycnf::print(f, src),
    }
}

#[test]
fn corpus_round_trip() {
    let corpus = corpus_or_skip!();
    let skip = unparseable_templates(&corpus);
    let invalid = syntax_invalid(&corpus);
    let mut files = Vec::new();
    list(&corpus, &mut files);
    let (mut total, mut identical, mut clean) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(&corpus)
            .expect("prefix")
            .to_string_lossy()
            .replace('\\', "/");
        let Some(kind) = kind_of(&rel) else { continue };
        if skip.contains(&rel) {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let syntax = Syntax::parse(kind, &bytes);
        total += 1;
        if print(&syntax, &bytes) == bytes {
            identical += 1;
        } else {
            failures.push(format!("{rel}: not byte-identical"));
        }
        let errs = syntax.errors();
        if invalid.contains(&rel) || NGINX_REJECTS.iter().any(|(p, _)| *p == rel) {
            if errs.is_empty() {
                failures.push(format!("{rel}: broken but parsed without error"));
            }
        } else if errs.is_empty() {
            clean += 1;
        } else {
            failures.push(format!(
                "{rel}: {} at byte {}",
                errs[0].message, errs[0].span.start
            ));
        }
    }
    println!(
        "corpus round-trip: {identical} of {total} files byte-identical ({clean} parse cleanly; {} in INVALID.txt and {} that nginx -t rejects too give their errors)",
        invalid.len(),
        NGINX_REJECTS.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(total > 200, "only {total} corpus files found");
}

/// Complete trees, as the corpus README lists them, with the main file(s) to start from.
const TREES: &[&str] = &[
    "nginx/debian-nginx-common",
    "nginx/h5bp-server-configs-nginx",
    "nginx/pothi-wordpress-nginx",
    "nginx/nginx-upstream",
    "nginx/centminmod",
    "nginx/crossplane-tests/includes-regular",
    "nginx/crossplane-tests/includes-globbed",
    "php-fpm/debian-php8.2-fpm",
    "php-fpm/centminmod",
    "php-fpm/vvv",
    "php-fpm/docker-library-php",
];

#[test]
fn corpus_trees_link_and_check() {
    let corpus = corpus_or_skip!();
    let settings = wpstack::settings::Settings::default();
    let host = wpstack::machine::host::resolve(&Default::default(), &Default::default(), false);
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for tree in TREES {
        let dir = corpus.join(tree);
        if !dir.is_dir() {
            continue;
        }
        // The repos ship sites-available/ only: enable every site, as a2ensite-style
        // symlinks would, in a temp copy.
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = if dir.join("sites-available").is_dir() {
            support::copy_tree(&dir, tmp.path());
            let enabled = tmp.path().join("sites-enabled");
            std::fs::create_dir_all(&enabled).expect("mkdir");
            for e in std::fs::read_dir(tmp.path().join("sites-available"))
                .expect("dir")
                .flatten()
            {
                std::fs::copy(e.path(), enabled.join(e.file_name())).expect("copy");
            }
            tmp.path().to_path_buf()
        } else {
            dir
        };
        let stack = discover::load(&Inputs {
            paths: vec![dir.clone()],
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{tree}: {e}"));
        let findings = wpstack::engine::run(&stack, &settings, &host);
        let e001 = findings.iter().filter(|f| f.code == "E001").count();
        let sites: usize = stack.nginx.iter().map(|n| n.sites.len()).sum();
        println!(
            "corpus tree {tree}: {} files, {} sites, {} PHP locations, {} pools, {} findings, {} problems",
            stack.files.len(),
            sites,
            stack.php_locations().count(),
            stack.pools.len(),
            findings.len(),
            stack.problems.len()
        );
        for p in &stack.problems {
            println!("  problem: {}", p.message);
        }
        assert_eq!(e001, 0, "{tree}: E001 on a corpus file that parses");
        for f in &findings {
            *per_rule.entry(f.code).or_default() += 1;
        }
    }
    println!("corpus findings per rule: {per_rule:?}");
}
