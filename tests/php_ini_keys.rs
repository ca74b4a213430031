//! E008's key table against the oracle: every directive the PHP installed here
//! registers (`ini_get_all()` of php-cli, `php-fpm -i` for the FPM SAPI) is in
//! data/php-ini-keys.tsv, so E008 never calls a real directive unknown.

mod support;

use std::process::Command;
use wpstack::stack::php_ini_keys;

fn lines(cmd: &mut Command) -> Option<Vec<String>> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    })
}

#[test]
fn every_directive_of_the_installed_php_is_known() {
    let Some(php) = ["php8.2", "php"]
        .into_iter()
        .find(|p| support::have_program(p))
    else {
        println!("skipped: php not installed");
        return;
    };
    // With the configuration's extensions loaded (opcache, mysqli…) and without (-n).
    let mut keys = Vec::new();
    for args in [&["-r"][..], &["-n", "-r"][..]] {
        let got = lines(
            Command::new(php)
                .args(args)
                .arg("foreach (array_keys(ini_get_all(null, false)) as $k) echo $k, \"\\n\";"),
        )
        .expect("php -r ini_get_all");
        keys.extend(got);
    }
    if support::have_program("php-fpm8.2") {
        let info = lines(Command::new("php-fpm8.2").args(["-n", "-i"])).unwrap_or_default();
        keys.extend(
            info.iter()
                .filter(|l| {
                    l.starts_with("cgi.") || l.starts_with("fastcgi.") || l.starts_with("fpm.")
                })
                .filter_map(|l| l.split(" => ").next().map(str::to_string)),
        );
    }
    keys.sort();
    keys.dedup();
    assert!(keys.len() > 150, "{} keys from {php}", keys.len());
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| php_ini_keys::extension_of(k).is_none())
        .collect();
    println!(
        "oracle: {} directives of {php}, table holds {}",
        keys.len(),
        php_ini_keys::all().count()
    );
    assert!(
        missing.is_empty(),
        "not in data/php-ini-keys.tsv: {missing:?}"
    );
}
