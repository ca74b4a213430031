//! Real programs (nginx, php-fpm, php) used as oracles by differential tests.

use std::path::PathBuf;

/// A real program used as an oracle. `None` with a "skipped" line when it is not
/// installed and `CI` is unset; with `CI` set a missing program fails the test.
pub fn oracle(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} not found, and CI is set: the differential test must run in CI"
        );
        println!("skipped: {name} not found");
    }
    found
}
