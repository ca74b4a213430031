//! Benchmark: `wpstack check` on a generated host of N WordPress sites (3 files per
//! site). Run with `cargo bench --bench check [-- SITES...]`; prints the median of
//! several runs per size, and `nginx -t` on the same tree when nginx is installed.

#[path = "../tests/support/generate.rs"]
mod generate;

use std::time::{Duration, Instant};
use wpstack::stack::discover::{self, Inputs};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![500, 1000, 2000]
    } else {
        sizes
    };
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        generate::write(dir.path(), n);
        let fs = wpstack::settings::read_config(&dir.path().join("wpstack.toml")).expect("toml");
        let host = wpstack::machine::host::resolve(&Default::default(), &fs.host, false);
        let settings = wpstack::settings::Settings::default();
        let mut times = Vec::new();
        let mut files = 0;
        let mut findings = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let stack = discover::load(&Inputs {
                paths: vec![dir.path().to_path_buf()],
                ..Default::default()
            })
            .expect("load");
            let f = wpstack::engine::run(&stack, &settings, &host);
            times.push(t.elapsed());
            files = stack.files.len();
            findings = f.len();
        }
        let ours = median(times);
        print!(
            "check: {n} sites, {files} files, {findings} findings: median {:.3} s",
            ours.as_secs_f64()
        );
        // nginx -t on the nginx part of the same tree, for comparison.
        let conf = dir.path().join("etc/nginx/nginx.conf");
        let text = std::fs::read_to_string(&conf).expect("conf");
        let prefix = format!("{}/", dir.path().join("etc/nginx").display());
        std::fs::write(
            &conf,
            text.replace("/etc/nginx/", &prefix)
                .replace("pid /run/nginx.pid;", ""),
        )
        .expect("write");
        let _ = std::fs::create_dir_all(dir.path().join("etc/nginx/logs"));
        let t = Instant::now();
        let out = std::process::Command::new("nginx")
            .arg("-t")
            .arg("-p")
            .arg(dir.path().join("etc/nginx"))
            .arg("-c")
            .arg(&conf)
            .arg("-g")
            .arg(format!("pid {}/nginx.pid;", dir.path().display()))
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let nt = t.elapsed();
                println!(
                    "; nginx -t (nginx files only) {:.3} s ({:.1}x)",
                    nt.as_secs_f64(),
                    nt.as_secs_f64() / ours.as_secs_f64()
                );
            }
            _ => println!("; nginx -t not run"),
        }
    }
}
