//! Where the time and the allocations of a big check go (development aid, issue 18).
//!
//! - `profile_check N DIR`: write the generated N-site host into DIR and stop (what
//!   benches/compare.sh uses).
//! - `profile_check N`: generate N sites in a temp dir, then time and count the
//!   allocations of each step (load, each slow rule, engine, JSON report).
//! - `profile_check --run ARGS…`: run `wpstack ARGS…` in this process and print its
//!   allocation count, bytes allocated and peak live heap to stderr (stdout is the
//!   command's; send it to /dev/null). Under `valgrind --tool=callgrind` this gives the
//!   instruction count and the allocations of one exact command line.
#[path = "../tests/support/generate.rs"]
mod generate;

use clap::Parser as _;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

/// The system allocator, counting calls, bytes and the peak of live bytes.
struct Counting;
static CALLS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_sub(l.size(), Relaxed);
        note(new);
        System.realloc(p, l, new)
    }
}

/// Bytes allocated by size class (power of two), for `PROFILE_SIZES=1`.
static BY_SIZE: [AtomicUsize; 40] = [const { AtomicUsize::new(0) }; 40];

fn note(size: usize) {
    BY_SIZE[(usize::BITS - size.leading_zeros()) as usize % 40].fetch_add(size, Relaxed);
    CALLS.fetch_add(1, Relaxed);
    BYTES.fetch_add(size, Relaxed);
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

#[global_allocator]
static A: Counting = Counting;

/// Allocation calls and bytes since the last call.
fn step(name: &str, t: Instant) {
    let calls = CALLS.swap(0, Relaxed);
    let bytes = BYTES.swap(0, Relaxed);
    eprintln!(
        "{name:>10}: {:.3} s, {calls} allocations, {:.1} MB allocated, {:.1} MB live",
        t.elapsed().as_secs_f64(),
        bytes as f64 / 1e6,
        LIVE.load(Relaxed) as f64 / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--run") {
        let cli = wpstack::cli::Cli::parse_from(
            std::iter::once("wpstack".to_string()).chain(args[2..].iter().cloned()),
        );
        let code = wpstack::cli::run(cli).unwrap_or(2);
        if std::env::var_os("PROFILE_SIZES").is_some() {
            for (i, b) in BY_SIZE.iter().enumerate() {
                let b = b.load(Relaxed);
                if b > 1_000_000 {
                    eprintln!("allocations < 2^{i} bytes: {:.1} MB", b as f64 / 1e6);
                }
            }
        }
        eprintln!(
            "exit {code}: {} allocations, {:.1} MB allocated, peak live heap {:.1} MB",
            CALLS.load(Relaxed),
            BYTES.load(Relaxed) as f64 / 1e6,
            PEAK.load(Relaxed) as f64 / 1e6
        );
        return;
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    if let Some(keep) = args.get(2) {
        generate::write(std::path::Path::new(keep), n);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    generate::write(dir.path(), n);
    CALLS.store(0, Relaxed);
    BYTES.store(0, Relaxed);
    let mut stack = None;
    for _ in 0..3 {
        drop(stack.take());
        let t = Instant::now();
        stack = Some(
            wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
                paths: vec![dir.path().to_path_buf()],
                ..Default::default()
            })
            .unwrap(),
        );
        step("load", t);
    }
    let mut stack = stack.unwrap();
    if std::env::var_os("PROFILE_MEMORY").is_some() {
        // What of the loaded model holds the live heap: drop it part by part.
        let mut last = LIVE.load(Relaxed);
        let mut part = |name: &str| {
            let now = LIVE.load(Relaxed);
            eprintln!("{name:>12}: {:.1} MB", (last as f64 - now as f64) / 1e6);
            last = now;
        };
        use wpstack::stack::*;
        let dirs: usize = stack
            .nginx
            .iter()
            .flat_map(|n| n.scopes.iter())
            .map(|s| s.directives.len())
            .sum();
        let dcap: usize = stack
            .nginx
            .iter()
            .flat_map(|n| n.scopes.iter())
            .map(|s| s.directives.capacity())
            .sum();
        let scopes: usize = stack.nginx.iter().map(|n| n.scopes.len()).sum();
        let locs: usize = stack
            .nginx
            .iter()
            .flat_map(|n| n.sites.iter())
            .map(|s| s.locations.len())
            .sum();
        eprintln!(
            "Dir {} B × {dirs} (capacity {dcap}), Scope {} B × {scopes}, Location {} B × {locs}, Site {} B, Pool {} B, PhpSetting {} B, WpConst {} B",
            std::mem::size_of::<Dir>(),
            std::mem::size_of::<wpstack::stack::nginx_model::Scope>(),
            std::mem::size_of::<Location>(),
            std::mem::size_of::<Site>(),
            std::mem::size_of::<Pool>(),
            std::mem::size_of::<PhpSetting>(),
            std::mem::size_of::<WpConst>(),
        );
        let mut by_kind = std::collections::BTreeMap::<String, Vec<_>>::new();
        for f in std::mem::take(&mut stack.files) {
            by_kind.entry(format!("{:?}", f.kind)).or_default().push(f);
        }
        part("(nothing)");
        for (k, v) in by_kind {
            drop(v);
            part(&format!("syntax {k}"));
        }
        drop(std::mem::take(&mut stack.nginx));
        part("nginx model");
        drop(std::mem::take(&mut stack.pools));
        drop(std::mem::take(&mut stack.fpm));
        part("pools");
        drop(std::mem::take(&mut stack.wp));
        part("wp model");
        drop(std::mem::take(&mut stack.sources));
        part("sources");
        drop(stack);
        part("rest");
        eprintln!("left: {:.1} MB", LIVE.load(Relaxed) as f64 / 1e6);
        return;
    }
    let fs = wpstack::settings::read_config(&dir.path().join("wpstack.toml")).unwrap();
    let host = wpstack::machine::host::resolve(&Default::default(), &fs.host, false);
    let settings = wpstack::settings::Settings::default();
    let cx = wpstack::rules::Context {
        stack: &stack,
        settings: &settings,
        host: &host,
    };
    for r in wpstack::rules::ALL {
        let t = Instant::now();
        let mut out = Vec::new();
        (r.check)(&cx, &mut out);
        if t.elapsed().as_secs_f64() > 0.005 {
            step(r.code, t);
        } else {
            CALLS.store(0, Relaxed);
            BYTES.store(0, Relaxed);
        }
    }
    let t = Instant::now();
    let f = wpstack::engine::run(&stack, &settings, &host);
    step("engine", t);
    let t = Instant::now();
    let red = wpstack::report::redact::Redactor::new(&stack.sources);
    let _ = red.text("x");
    step("redaction", t);
    let t = Instant::now();
    let summary = wpstack::report::Summary::from_findings(&f, stack.files.len());
    let json = wpstack::report::json_report(&stack.sources, &f, &summary);
    let text = serde_json::to_string_pretty(&json).unwrap();
    step("json", t);
    eprintln!(
        "{} findings, {} bytes of JSON, peak live heap {:.1} MB",
        f.len(),
        text.len(),
        PEAK.load(Relaxed) as f64 / 1e6
    );
}
