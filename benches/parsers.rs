//! Each parser's throughput in MB/s on the shared corpus of real configs (issue 18):
//! `cargo bench --bench parsers`. A group per parser parses every corpus file of its
//! kind once per iteration; criterion reports bytes per second, so a slower parser
//! shows as a regression against the saved baseline. Without ../shared/corpus the
//! fixtures of this repository are used instead (smaller, same parsers).
//!
//! CI only builds it (`cargo bench --no-run`); the numbers are wall-clock and belong
//! to a quiet machine.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// Every regular file under `dir`, sorted (a stable set of inputs between runs).
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            files(&p, out);
        } else if m.is_file() {
            out.push(p);
        }
    }
}

/// The inputs of one parser: the corpus directory's files, else the fixtures'
/// files whose name `fallback` accepts.
fn inputs(corpus_dir: &str, fallback: fn(&Path) -> bool) -> Vec<Vec<u8>> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = manifest.join("../shared/corpus").join(corpus_dir);
    let mut paths = Vec::new();
    if corpus.is_dir() {
        files(&corpus, &mut paths);
    } else {
        files(&manifest.join("fixtures"), &mut paths);
        paths.retain(|p| fallback(p));
    }
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn bench(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    files: &[Vec<u8>],
    parse: impl Fn(&[u8]) -> usize,
) {
    let bytes: usize = files.iter().map(Vec::len).sum();
    if bytes == 0 {
        eprintln!("{name}: no input files, skipped");
        return;
    }
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(
        format!("{name} ({} files, {bytes} bytes)", files.len()),
        |b| b.iter(|| files.iter().map(|f| parse(black_box(f))).sum::<usize>()),
    );
}

fn name_is(p: &Path, f: impl Fn(&str) -> bool) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(f)
}

fn parsers(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let nginx = inputs("nginx", |p| {
        p.components().any(|c| c.as_os_str() == "nginx") && !name_is(p, |n| n.ends_with(".php"))
    });
    bench(&mut g, "nginx", &nginx, |b| {
        wpstack::syntax::nginx::parse(b).items.len()
    });
    let fpm = inputs("php-fpm", |p| {
        p.components().any(|c| c.as_os_str() == "fpm")
    });
    bench(&mut g, "php-fpm", &fpm, |b| {
        wpstack::syntax::ini::parse_fpm(b).lines.len()
    });
    let ini = inputs("php-ini", |p| name_is(p, |n| n.ends_with(".ini")));
    bench(&mut g, "php.ini", &ini, |b| {
        wpstack::syntax::ini::parse(b).lines.len()
    });
    let wp = inputs("wp-config", |p| name_is(p, |n| n.starts_with("wp-config")));
    bench(&mut g, "wp-config (PHP)", &wp, |b| {
        wpstack::syntax::php::parse(b).tokens.len()
    });
    g.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
