//! Where the time of a big check goes (development aid).
#[path = "../tests/support/generate.rs"]
mod generate;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    generate::write(dir.path(), n);
    if let Some(keep) = std::env::args().nth(2) {
        generate::write(std::path::Path::new(&keep), n);
        return;
    }
    let mut stack = None;
    for _ in 0..3 {
        let t = Instant::now();
        stack = Some(
            wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
                paths: vec![dir.path().to_path_buf()],
                ..Default::default()
            })
            .unwrap(),
        );
        eprintln!("load: {:.3}", t.elapsed().as_secs_f64());
    }
    let stack = stack.unwrap();
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
        let e = t.elapsed().as_secs_f64();
        if e > 0.005 {
            eprintln!("{} {:.3}", r.code, e);
        }
    }
    let t = Instant::now();
    let f = wpstack::engine::run(&stack, &settings, &host);
    eprintln!(
        "engine: {:.3} ({} findings)",
        t.elapsed().as_secs_f64(),
        f.len()
    );
}
