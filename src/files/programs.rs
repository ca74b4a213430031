//! Where a live host's programs keep their configuration — discovery on `/` starts here
//! instead of walking the disk (issue 12 item 13): a walk of `/` finds copies, backups
//! and other people's configs under unrelated directories and links them to the real
//! pools.

use std::path::{Path, PathBuf};

/// nginx's main config as nginx itself says (`nginx -V`: `--conf-path=`), then the
/// standard places of the distributions and images, relative to `root`.
pub const NGINX_MAINS: &[&str] = &[
    "etc/nginx/nginx.conf",
    "usr/local/nginx/conf/nginx.conf",
    "usr/local/etc/nginx/nginx.conf",
    "usr/local/openresty/nginx/conf/nginx.conf",
    "opt/bitnami/nginx/conf/nginx.conf",
];

/// php-fpm main configs of Debian/Ubuntu, RHEL/Fedora, Remi, Alpine, the Docker
/// official image, cPanel EA-PHP and Plesk, relative to `root` (globs).
pub const FPM_MAINS: &[&str] = &[
    "etc/php/*/fpm/php-fpm.conf",
    "etc/php-fpm.conf",
    "etc/opt/remi/php*/php-fpm.conf",
    "etc/php*/php-fpm.conf",
    "usr/local/etc/php-fpm.conf",
    "opt/cpanel/ea-php*/root/etc/php-fpm.conf",
    "opt/plesk/php/*/etc/php-fpm.conf",
];

/// The nginx binary's compiled `--conf-path`, when nginx is on this machine.
fn nginx_conf_path() -> Option<PathBuf> {
    let out = std::process::Command::new("nginx")
        .arg("-V")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let conf = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--conf-path="))?;
    Some(PathBuf::from(conf))
}

/// The main configs of the programs on a live host whose `/` is `root` (normally `/`;
/// a directory in tests): nginx's own conf path and the standard places; the configs
/// the running php-fpm masters were started with (`-y`, from their titles) and the
/// standard places. Existing files only, each once, in that order.
pub fn host_mains(root: &Path, live: bool) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut nginx: Vec<PathBuf> = Vec::new();
    let mut fpm: Vec<PathBuf> = Vec::new();
    let push = |v: &mut Vec<PathBuf>, p: PathBuf| {
        if super::resolve::is_file(Some(root), &p) && !v.contains(&p) {
            v.push(p);
        }
    };
    let under = |p: &Path| root.join(p.strip_prefix("/").unwrap_or(p));
    if live {
        if let Some(c) = nginx_conf_path() {
            push(&mut nginx, under(&c));
        }
        for m in crate::machine::host::fpm_masters(Path::new("/proc")) {
            push(&mut fpm, under(&m.conf));
        }
    }
    for p in NGINX_MAINS {
        push(&mut nginx, root.join(p));
    }
    for p in FPM_MAINS {
        for m in super::glob::expand(Some(root), &root.join(p)) {
            push(&mut fpm, m);
        }
    }
    (nginx, fpm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_layouts_main_files_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        let files = [
            "etc/nginx/nginx.conf",
            "etc/php/8.2/fpm/php-fpm.conf",
            "etc/php/8.3/fpm/php-fpm.conf",
            "etc/php-fpm.conf",
            "etc/opt/remi/php83/php-fpm.conf",
            "etc/php82/php-fpm.conf",
            "usr/local/etc/php-fpm.conf",
            "opt/cpanel/ea-php81/root/etc/php-fpm.conf",
            "opt/plesk/php/8.2/etc/php-fpm.conf",
            // Decoys a disk walk would pick up.
            "home/alice/backup/etc/nginx/nginx.conf",
            "root/old/php-fpm.conf",
            "var/www/site/nginx.conf",
        ];
        for f in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let (nginx, fpm) = host_mains(&root, false);
        let rel = |v: &[PathBuf]| -> Vec<String> {
            v.iter()
                .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(rel(&nginx), ["etc/nginx/nginx.conf"]);
        assert_eq!(rel(&fpm), files[1..9].to_vec());
    }
}
