//! Writing is safe as root on a shared host (issue 13 items 1, 2, 5, 6, 11; issue 12
//! items 1 and 14): tenants' symlinks named like wpstack's temp and backup files are
//! never followed, backups are as private as the original and stay out of web roots,
//! nothing outside the PATHs given is written, `--diff` names the real file, and
//! `tune --reload` never signals a master that does not run the files written.
//!
//! Every test writes only under its own temp dir. As root the tenant's files are
//! given to `nobody`, as the attack needs; unprivileged, the owner checks are skipped.

mod support;

use assert_cmd::Command;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wpstack::files::write::{self, Scope, Seam, Step};

fn wpstack() -> Command {
    let mut c = Command::cargo_bin("wpstack").expect("bin");
    c.env("NO_COLOR", "1");
    c
}

/// `d/tree`: a copy of fixtures/stacks/broken (a server's / with etc/ and var/www);
/// `d/outside`: a directory next to it that no write may touch.
fn broken() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let tree = d.path().join("tree");
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&tree).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    support::copy_tree(&support::fixtures().join("stacks/broken"), &tree);
    (d, tree, outside)
}

/// Every entry under `dir` (links not followed): path, kind, bytes or link target,
/// mode, owner.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String, Vec<u8>, u32, u32)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let ft = m.file_type();
        if ft.is_symlink() {
            let t = std::fs::read_link(&p).unwrap_or_default();
            out.push((
                p,
                "link".into(),
                t.into_os_string().into_encoded_bytes(),
                0,
                0,
            ));
        } else if ft.is_dir() {
            out.push((p.clone(), "dir".into(), Vec::new(), m.mode(), m.uid()));
            out.extend(snapshot(&p));
        } else if ft.is_file() {
            let bytes = std::fs::read(&p).unwrap_or_default();
            out.push((p, "file".into(), bytes, m.mode(), m.uid()));
        } else {
            out.push((p, "other".into(), Vec::new(), m.mode(), m.uid()));
        }
    }
    out.sort();
    out
}

/// Give a tenant's file or directory (recursively) to nobody; false when not root.
fn give_to_nobody(p: &Path) -> bool {
    if std::os::unix::fs::lchown(p, Some(65534), Some(65534)).is_err() {
        return false;
    }
    if std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()) {
        for e in std::fs::read_dir(p).expect("dir").flatten() {
            give_to_nobody(&e.path());
        }
    }
    true
}

fn fix(args: &[&str], path: &Path) -> (i32, String) {
    let out = wpstack()
        .args(["check", "--fix", "--no-validate", "--exit-zero"])
        .args(args)
        .arg(path)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), err)
}

/// Files under `dir` whose name says wpstack made them.
fn wpstack_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .map(|(p, ..)| p)
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("wpstack"))
        })
        .collect()
}

#[test]
fn tenant_symlinks_named_like_temp_and_backup_files_are_never_followed() {
    let (_d, tree, outside) = broken();
    let victim = outside.join("shadow");
    std::fs::write(&victim, "root:$6$secret:19000:0:99999:7:::\n").expect("victim");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let site = tree.join("var/www/blog.example.com");
    let conf_dir = tree.join("etc/nginx/sites-enabled");
    // The tenant plants links where wpstack writes its temp files and backups.
    for (dir, name) in [
        (&site, ".wp-config.php.wpstack.tmp"),
        (&site, ".wp-config.php.wpstack.bak"),
        (&conf_dir, ".blog.example.com.conf.wpstack.tmp"),
        (&conf_dir, ".blog.example.com.conf.wpstack.bak"),
    ] {
        symlink(&victim, dir.join(name)).expect("plant");
    }
    let as_root = give_to_nobody(&site);
    let before = snapshot(&outside);
    fix(&[], &tree);
    assert_eq!(snapshot(&outside), before, "the link's target was written");
    // The fixes still happened, through files of wpstack's own.
    let wp = std::fs::read_to_string(site.join("wp-config.php")).expect("wp-config");
    assert!(!wp.contains("'WP_DEBUG', true"), "{wp}");
    let blog = conf_dir.join("blog.example.com.conf");
    assert!(!std::fs::read_to_string(&blog)
        .expect("blog")
        .contains("php8.1-fpm.sock"));
    // The planted links are still links to the victim, and the backup took the next name.
    for name in [
        ".blog.example.com.conf.wpstack.bak",
        ".blog.example.com.conf.wpstack.tmp",
    ] {
        assert_eq!(
            std::fs::read_link(conf_dir.join(name)).expect("still a link"),
            victim
        );
    }
    let bak = conf_dir.join(".blog.example.com.conf.wpstack.bak.1");
    let original = std::fs::read(
        support::fixtures().join("stacks/broken/etc/nginx/sites-enabled/blog.example.com.conf"),
    )
    .expect("fixture");
    assert_eq!(std::fs::read(&bak).expect("numbered backup"), original);
    if as_root {
        let m = std::fs::metadata(site.join("wp-config.php")).expect("meta");
        assert_eq!((m.uid(), m.gid()), (65534, 65534), "owner kept");
    }
    // No temp file is left anywhere.
    for p in wpstack_files(&tree) {
        let n = p.file_name().expect("name").to_string_lossy().into_owned();
        assert!(
            !n.contains(".tmp") || std::fs::symlink_metadata(&p).expect("m").is_symlink(),
            "temp file left: {}",
            p.display()
        );
    }
}

#[test]
fn a_tenant_owned_pool_file_linked_to_etc_is_not_written_by_tune_apply() {
    // tune --apply through a pool "file" that is a link out of the tree.
    let (_d, tree, outside) = broken();
    let pool = tree.join("etc/php/8.2/fpm/pool.d/shop.conf");
    let target = outside.join("shop.conf");
    std::fs::rename(&pool, &target).expect("move");
    symlink(&target, &pool).expect("link");
    give_to_nobody(&tree.join("etc/php/8.2/fpm/pool.d"));
    let before = snapshot(&outside);
    let out = wpstack()
        .args([
            "tune",
            "--ram",
            "1G",
            "--cpus",
            "2",
            "--apply",
            "--no-validate",
        ])
        .arg(&tree)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    // A link out of the copied tree is not even read (it is resolved inside the root,
    // where its target does not exist); were it read, it would be left alone.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        err.contains("left alone: etc/php/8.2/fpm/pool.d/shop.conf") || !stdout.contains("[shop]"),
        "{err}"
    );
    assert!(!stdout.contains("pool.d/shop.conf"));
    assert_eq!(snapshot(&outside), before);
    assert!(
        std::fs::symlink_metadata(&pool)
            .expect("m")
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
}

#[test]
fn backups_keep_mode_and_owner_stay_out_of_web_roots_and_are_numbered() {
    let (d, tree, _outside) = broken();
    let site = tree.join("var/www/blog.example.com");
    let wp = site.join("wp-config.php");
    let original = std::fs::read(&wp).expect("wp-config");
    std::fs::set_permissions(&wp, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let as_root = give_to_nobody(&wp);
    fix(&["--select", "D501"], &tree);
    let backups = tree.join("var/backups/wpstack");
    let bak = backups.join("var/www/blog.example.com/wp-config.php.wpstack.bak");
    assert_eq!(std::fs::read(&bak).expect("backup"), original);
    let m = std::fs::metadata(&bak).expect("meta");
    assert_eq!(
        m.mode() & 0o777,
        0o640,
        "the backup is as private as the original"
    );
    if as_root {
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
    }
    assert_eq!(
        std::fs::metadata(&backups).expect("dir").mode() & 0o777,
        0o700
    );
    assert!(
        wpstack_files(&tree.join("var/www")).is_empty(),
        "a backup sits under a web root: {:?}",
        wpstack_files(&tree.join("var/www"))
    );
    // The tenant turns WP_DEBUG on again; a second --fix keeps the first backup.
    let fixed = std::fs::read(&wp).expect("wp-config");
    std::fs::write(&wp, &original).expect("re-break");
    fix(&["--select", "D501"], &tree);
    assert_eq!(std::fs::read(&bak).expect("first backup"), original);
    assert_eq!(
        std::fs::read(bak.with_file_name("wp-config.php.wpstack.bak.1")).expect("second"),
        original
    );
    assert_eq!(std::fs::read(&wp).expect("wp-config"), fixed);
    // --backup-dir: every backup there, by path.
    std::fs::write(&wp, &original).expect("re-break");
    let out = wpstack()
        .args([
            "check",
            "--fix",
            "--no-validate",
            "--exit-zero",
            "--select",
            "D501,U001",
        ])
        .arg("--backup-dir")
        .arg(d.path().join("mine"))
        .arg(&tree)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d
        .path()
        .join("mine/etc/nginx/sites-enabled/blog.example.com.conf.wpstack.bak")
        .is_file());
}

#[test]
fn outside_include_pool_and_root_are_left_alone_and_named() {
    let (_d, tree, outside) = broken();
    let blog = tree.join("etc/nginx/sites-enabled/blog.example.com.conf");
    let text = std::fs::read_to_string(&blog).expect("blog");
    // An include reaching out of the tree, with a fixable server in it.
    std::fs::write(
        outside.join("evil.conf"),
        text.replace("blog.example.com", "evil.example.com"),
    )
    .expect("evil");
    std::fs::write(
        tree.join("etc/nginx/sites-enabled/evil.conf"),
        "include ../../../outside/evil.conf;\n",
    )
    .expect("include");
    // A site whose root is outside, with WP_DEBUG on in its wp-config.
    std::fs::create_dir_all(outside.join("www")).expect("mkdir");
    std::fs::copy(
        tree.join("var/www/blog.example.com/wp-config.php"),
        outside.join("www/wp-config.php"),
    )
    .expect("wp");
    std::fs::write(
        tree.join("etc/nginx/sites-enabled/out.conf"),
        text.replace("blog.example.com;", "out.example.com;")
            .replace(
                "root /var/www/blog.example.com;",
                "root ../../../outside/www;",
            ),
    )
    .expect("out");
    // A pool included from outside.
    std::fs::write(
        outside.join("pool.conf"),
        std::fs::read_to_string(tree.join("etc/php/8.2/fpm/pool.d/shop.conf"))
            .expect("shop")
            .replace("[shop]", "[outside]"),
    )
    .expect("pool");
    let fpm = tree.join("etc/php/8.2/fpm/php-fpm.conf");
    let mut conf = std::fs::read_to_string(&fpm).expect("fpm");
    conf.push_str("include=../../outside/pool.conf\n");
    std::fs::write(&fpm, conf).expect("fpm");
    let before = snapshot(&outside);
    let (_, err) = fix(&["--unsafe-fixes"], &tree);
    assert_eq!(
        snapshot(&outside),
        before,
        "a file outside PATH was written"
    );
    // `..` stops at the copied root, as on the real host, so the outside files are
    // never even read: no fix can name them. (Without a root they would be read and
    // then left alone: `a_root_whose_etc_php_fpm_d_links_outside_is_not_written_there`
    // and the property test cover that path.)
    assert!(
        !err.contains("evil.conf") || err.contains("left alone: "),
        "{err}"
    );
    // The tree's own files were fixed.
    assert!(!std::fs::read_to_string(&blog)
        .expect("blog")
        .contains("php8.1-fpm.sock"));
    // --diff leaves them out too, and says so.
    let out = wpstack()
        .args(["check", "--diff"])
        .arg(&tree)
        .output()
        .expect("run");
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(!diff.contains("outside"), "{diff}");
    assert!(!diff.contains("../"), "{diff}");
}

/// A RHEL-style root (etc/php-fpm.conf, include=/etc/php-fpm.d/*.conf) with its pool
/// directory `link`ed as given; the pool file is `pool`.
fn rhel(d: &Path, link: Option<&str>) -> PathBuf {
    let tree = d.join("tree");
    std::fs::create_dir_all(tree.join("etc")).expect("mkdir");
    std::fs::write(
        tree.join("etc/php-fpm.conf"),
        "[global]\npid = /run/php-fpm/php-fpm.pid\nerror_log = /var/log/php-fpm/error.log\ninclude=/etc/php-fpm.d/*.conf\n",
    )
    .expect("conf");
    let pool = "[www]\nuser = apache\ngroup = apache\nlisten = /run/php-fpm/www.sock\npm = dynamic\npm.max_children = 50\npm.start_servers = 5\npm.min_spare_servers = 5\npm.max_spare_servers = 35\n";
    let pools = match link {
        Some(_) => d.join("outside"),
        None => tree.join("etc/php-fpm.d"),
    };
    std::fs::create_dir_all(&pools).expect("mkdir");
    std::fs::write(pools.join("www.conf"), pool).expect("pool");
    if let Some(l) = link {
        let target = if l == "abs" {
            pools.clone()
        } else {
            PathBuf::from(l)
        };
        symlink(target, tree.join("etc/php-fpm.d")).expect("link");
    }
    tree
}

#[test]
fn a_root_whose_etc_php_fpm_d_links_outside_is_not_written_there() {
    // Control: the same pool inside the tree is fixed (the test is not vacuous).
    let inside = tempfile::tempdir().expect("tempdir");
    let tree = rhel(inside.path(), None);
    let pool = tree.join("etc/php-fpm.d/www.conf");
    let was = std::fs::read(&pool).expect("pool");
    let out = wpstack()
        .args([
            "check",
            "--fix",
            "--unsafe-fixes",
            "--no-validate",
            "--exit-zero",
            "--root",
        ])
        .arg(&tree)
        .arg(&tree)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        std::fs::read(&pool).expect("pool"),
        was,
        "control: nothing fixed"
    );
    for how in ["abs", "../../outside", "../../../outside"] {
        let d = tempfile::tempdir().expect("tempdir");
        let tree = rhel(d.path(), Some(how));
        let outside = d.path().join("outside");
        let before = snapshot(&outside);
        let out = wpstack()
            .args([
                "check",
                "--fix",
                "--unsafe-fixes",
                "--no-validate",
                "--exit-zero",
                "--root",
            ])
            .arg(&tree)
            .arg(&tree)
            .output()
            .expect("run");
        println!("{how}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            snapshot(&outside),
            before,
            "{how}: the outside pool changed"
        );
        assert!(
            wpstack_files(&outside).is_empty(),
            "{how}: a backup beside it"
        );
    }
}

#[test]
fn diff_through_a_symlinked_sites_enabled_names_the_real_file() {
    let (_d, tree, _outside) = broken();
    let avail = tree.join("etc/nginx/sites-available");
    std::fs::create_dir_all(&avail).expect("mkdir");
    let enabled = tree.join("etc/nginx/sites-enabled/blog.example.com.conf");
    std::fs::rename(&enabled, avail.join("blog.example.com.conf")).expect("move");
    symlink("../sites-available/blog.example.com.conf", &enabled).expect("link");
    let out = wpstack()
        .args(["check", "--diff"])
        .arg(&tree)
        .output()
        .expect("run");
    let patch = out.stdout;
    let text = String::from_utf8_lossy(&patch);
    assert!(
        text.contains("--- a/etc/nginx/sites-available/blog.example.com.conf\n"),
        "{text}"
    );
    assert!(!text.contains("a/etc/nginx/sites-enabled/blog"), "{text}");
    support::assert_patch_applies(&tree, &patch);
    // --fix writes the real file; the link stays a link.
    let (_, err) = fix(&[], &tree);
    assert!(
        err.contains("fixed etc/nginx/sites-available/blog.example.com.conf"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&enabled)
        .expect("m")
        .file_type()
        .is_symlink());
    assert!(avail.join(".blog.example.com.conf.wpstack.bak").is_file());
}

/// Swaps `dir` for a symlink to `to` when the write starts (after the path was
/// resolved): a tenant racing wpstack.
struct Swap {
    dir: PathBuf,
    to: PathBuf,
}

impl Seam for Swap {
    fn at(&self, step: Step, _target: &Path) -> std::io::Result<()> {
        if step == Step::Open {
            std::fs::rename(&self.dir, self.dir.with_extension("moved"))?;
            symlink(&self.to, &self.dir)?;
        }
        Ok(())
    }
}

#[test]
fn a_directory_swapped_for_a_symlink_between_resolve_and_write_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let site = d.path().join("tree/site");
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&site).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    // The outside file has the very bytes wpstack expects, so only the walk stops it.
    std::fs::write(site.join("wp-config.php"), "old\n").expect("write");
    std::fs::write(outside.join("wp-config.php"), "old\n").expect("write");
    let scope = Scope::new(&[d.path().join("tree")], None, None);
    let target = scope.target(&site.join("wp-config.php")).expect("inside");
    let before = snapshot(&outside);
    let err = write::replace(
        &Swap {
            dir: site.clone(),
            to: outside.clone(),
        },
        &scope,
        &target,
        b"old\n",
        b"new\n",
        &write::BackupPlan::beside(),
    )
    .expect_err("refused");
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(snapshot(&outside), before);
}

#[test]
fn tune_reload_on_a_copy_is_refused_before_anything_is_written() {
    let (_d, tree, _outside) = broken();
    let before = snapshot(&tree);
    let out = wpstack()
        .args(["tune", "--ram", "1G", "--cpus", "2", "--apply", "--reload"])
        .arg(&tree)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--reload refused"), "{err}");
    assert!(err.contains("copy of a server"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(snapshot(&tree), before, "files were written");
}

/// A php-fpm.conf in a temp dir (this host's layout, not a copy) whose pid file names
/// `pid`; `proc`: a fake /proc where that pid runs `runs`.
fn fpm_with_pid(pid: u32, runs: Option<&str>) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let conf = d.path().join("php-fpm.conf");
    let pid_file = d.path().join("php-fpm.pid");
    std::fs::write(&pid_file, format!("{pid}\n")).expect("pid");
    std::fs::write(
        &conf,
        format!(
            "[global]\npid = {}\nerror_log = /dev/null\n\n[www]\nlisten = {}/www.sock\npm = static\npm.max_children = 2\n",
            pid_file.display(),
            d.path().display()
        ),
    )
    .expect("conf");
    let proc_root = d.path().join("proc");
    let p = proc_root.join(pid.to_string());
    std::fs::create_dir_all(&p).expect("mkdir");
    if let Some(r) = runs {
        std::fs::write(
            p.join("cmdline"),
            format!("php-fpm: master process ({r})\0"),
        )
        .expect("cmdline");
        std::fs::write(p.join("status"), "State:\tS (sleeping)\nUid:\t0\t0\t0\t0\n")
            .expect("status");
    }
    (d, conf, proc_root)
}

fn changed_of(
    conf: &Path,
    new: &[u8],
) -> (wpstack::stack::Stack, Vec<wpstack::tune::reload::Changed>) {
    let stack = wpstack::stack::discover::load(&wpstack::stack::discover::Inputs {
        paths: vec![conf.parent().expect("dir").to_path_buf()],
        ..Default::default()
    })
    .expect("load");
    let id = stack.sources.find(conf).expect("loaded");
    let old = stack.sources.get(id).bytes.clone();
    let changed = vec![wpstack::tune::reload::Changed {
        id,
        path: conf.to_path_buf(),
        display: "php-fpm.conf".into(),
        old,
        new: new.to_vec(),
    }];
    (stack, changed)
}

#[test]
fn a_master_running_another_config_is_never_signalled() {
    let (_d, conf, proc_root) = fpm_with_pid(4_194_000, Some("/etc/php/8.2/fpm/php-fpm.conf"));
    let old = std::fs::read(&conf).expect("conf");
    let new = String::from_utf8_lossy(&old)
        .replace("max_children = 2", "max_children = 3")
        .into_bytes();
    let (stack, changed) = changed_of(&conf, &new);
    let opts = wpstack::tune::reload::Options {
        proc_root,
        ..Default::default()
    };
    let err = wpstack::tune::reload::prepare(&stack, &changed, &opts).expect_err("refused");
    assert!(err.contains("runs /etc/php/8.2/fpm/php-fpm.conf"), "{err}");
    assert!(err.contains("not signalled"), "{err}");
}

#[test]
fn a_reload_that_cannot_happen_restores_the_files_written() {
    // The pid file names no php-fpm master (pid 1 is init).
    let (_d, conf, _proc) = fpm_with_pid(1, None);
    let old = std::fs::read(&conf).expect("conf");
    let new = String::from_utf8_lossy(&old)
        .replace("max_children = 2", "max_children = 3")
        .into_bytes();
    let (stack, changed) = changed_of(&conf, &new);
    write::write_one(&conf, &old, &new, false).expect("written");
    let err = wpstack::tune::reload::reload(&stack, &changed, &Default::default())
        .expect_err("cannot reload");
    assert!(err.contains("no php-fpm master"), "{err}");
    assert!(err.contains("restored php-fpm.conf"), "{err}");
    assert_eq!(std::fs::read(&conf).expect("conf"), old, "old bytes back");
}

/// Places in the broken stack a tenant (or a careless deploy) may turn into a link.
const SLOTS: &[&str] = &[
    "etc/nginx/sites-enabled/blog.example.com.conf",
    "etc/nginx/sites-enabled/shop.example.com.conf",
    "etc/nginx/sites-enabled/extra.conf",
    "etc/nginx/sites-enabled",
    "etc/nginx/snippets/fastcgi-php.conf",
    "etc/php/8.2/fpm/pool.d",
    "etc/php/8.2/fpm/pool.d/shop.conf",
    "etc/php/8.2/fpm/php.ini",
    "etc/php/8.2/fpm/conf.d",
    "var/www/blog.example.com",
    "var/www/blog.example.com/wp-config.php",
    "var/www/shop.example.com/wp-config.php",
    "etc/nginx/sites-enabled/.blog.example.com.conf.wpstack.tmp",
    "etc/nginx/sites-enabled/.blog.example.com.conf.wpstack.bak",
    "var/www/blog.example.com/.wp-config.php.wpstack.tmp",
    "var/backups",
];

/// Where a link points: `{out}` is the outside directory (absolute), `{tree}` the
/// tree; relative ones are written as is.
const TARGETS: &[&str] = &[
    "{out}/blog.conf",
    "{out}/pool.d",
    "{out}/www",
    "{out}/wp-config.php",
    "{out}/sites",
    "{out}",
    "../../../../outside/blog.conf",
    "../../../outside/pool.d",
    "../../outside/www",
    "/etc/nginx/sites-enabled/shop.example.com.conf",
    "../sites-enabled/shop.example.com.conf",
    "shop.example.com.conf",
    "{tree}/var/www/shop.example.com",
    "/nonexistent/dangling",
    "dangling-relative",
    "/dev/null",
    "/dev/zero",
];

/// The outside directory: copies of fixable files a link may lead to.
fn fill_outside(outside: &Path, tree: &Path) {
    let f = support::fixtures().join("stacks/broken");
    std::fs::create_dir_all(outside.join("pool.d")).expect("mkdir");
    std::fs::create_dir_all(outside.join("www")).expect("mkdir");
    std::fs::create_dir_all(outside.join("sites")).expect("mkdir");
    let blog = f.join("etc/nginx/sites-enabled/blog.example.com.conf");
    std::fs::copy(&blog, outside.join("blog.conf")).expect("copy");
    std::fs::copy(&blog, outside.join("sites/blog.conf")).expect("copy");
    std::fs::copy(
        f.join("etc/php/8.2/fpm/pool.d/shop.conf"),
        outside.join("pool.d/shop.conf"),
    )
    .expect("copy");
    let wp = f.join("var/www/blog.example.com/wp-config.php");
    std::fs::copy(&wp, outside.join("wp-config.php")).expect("copy");
    std::fs::copy(&wp, outside.join("www/wp-config.php")).expect("copy");
    let _ = tree;
}

fn plant(tree: &Path, outside: &Path, slot: &str, target: &str) {
    let at = tree.join(slot);
    match std::fs::symlink_metadata(&at) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&at).expect("rm -r"),
        Ok(_) => std::fs::remove_file(&at).expect("rm"),
        Err(_) => {}
    }
    if let Some(p) = at.parent() {
        if std::fs::create_dir_all(p).is_err() {
            return; // its parent is now a link to a file, or dangling
        }
    }
    let t = target
        .replace("{out}", &outside.to_string_lossy())
        .replace("{tree}", &tree.to_string_lossy());
    let _ = symlink(t, &at);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Issue 13 item 11: random links (inside, outside, dangling, to devices) in a
    /// tree; `--fix --unsafe-fixes` and `tune --apply` never change anything outside
    /// it, and never replace a link.
    #[test]
    fn random_links_never_lead_a_write_outside_the_root(
        ops in proptest::collection::vec((0..SLOTS.len(), 0..TARGETS.len()), 1..6)
    ) {
        let d = tempfile::tempdir().expect("tempdir");
        let tree = d.path().join("tree");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&tree).expect("mkdir");
        support::copy_tree(&support::fixtures().join("stacks/broken"), &tree);
        fill_outside(&outside, &tree);
        for (s, t) in &ops {
            plant(&tree, &outside, SLOTS[*s], TARGETS[*t]);
        }
        let links = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
            snapshot(dir)
                .into_iter()
                .filter(|(_, k, ..)| k == "link")
                .map(|(p, _, t, ..)| (p, t))
                .collect()
        };
        let before_out = snapshot(&outside);
        let before_links = links(&tree);
        let out = wpstack()
            .args(["check", "--fix", "--unsafe-fixes", "--no-validate", "--exit-zero", "--ram", "2G", "--cpus", "2"])
            .arg(&tree)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        proptest::prop_assert!(out.status.code().is_some(), "killed: {err}");
        proptest::prop_assert!(!err.contains("panicked"), "{err}");
        let _ = wpstack()
            .args(["tune", "--ram", "1G", "--cpus", "2", "--apply", "--no-validate"])
            .arg(&tree)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run");
        proptest::prop_assert_eq!(snapshot(&outside), before_out, "{:?}\n{}", ops, err);
        proptest::prop_assert_eq!(links(&tree), before_links, "{:?}\n{}", ops, err);
        let dev = std::fs::metadata("/dev/null").expect("/dev/null");
        proptest::prop_assert!(std::os::unix::fs::FileTypeExt::is_char_device(&dev.file_type()));
        // Nothing new next to the tree either.
        let mut top: Vec<_> = std::fs::read_dir(d.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        top.sort();
        proptest::prop_assert_eq!(top, vec![std::ffi::OsString::from("outside"), std::ffi::OsString::from("tree")]);
    }
}

#[test]
fn a_hard_linked_or_special_file_is_left_alone_and_the_rest_is_written() {
    let (d, tree, _outside) = broken();
    // A hard link: renaming a new file over one name would split them silently.
    let shop = tree.join("etc/nginx/sites-enabled/shop.example.com.conf");
    let twin = d.path().join("twin.conf");
    std::fs::hard_link(&shop, &twin).expect("link");
    let before = std::fs::read(&twin).expect("twin");
    let (_, err) = fix(&[], &tree);
    assert!(
        err.contains("left alone: etc/nginx/sites-enabled/shop.example.com.conf"),
        "{err}"
    );
    assert!(err.contains("hard links"), "{err}");
    assert_eq!(std::fs::read(&twin).expect("twin"), before);
    assert_eq!(std::fs::read(&shop).expect("shop"), before);
    // The other files were fixed.
    assert!(
        err.contains("fixed etc/nginx/sites-enabled/blog.example.com.conf"),
        "{err}"
    );
}

#[test]
fn unprivileged_on_this_host_a_web_root_backup_goes_to_a_private_dir_under_path() {
    if rustix::process::geteuid().is_root() {
        // As root this host's /var/backups/wpstack would be used: not in a test.
        println!("skipped: runs unprivileged only (the suite's nobody run)");
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let site = d.path().join("www/site");
    std::fs::create_dir_all(&site).expect("mkdir");
    let wp = site.join("wp-config.php");
    std::fs::write(&wp, "<?php\n").expect("write");
    std::fs::set_permissions(&wp, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let scope = Scope::new(&[d.path().to_path_buf()], None, None);
    let target = scope.target(&wp).expect("inside");
    let plan = write::BackupPlan {
        enabled: true,
        dir: None,
        web_roots: vec![std::fs::canonicalize(&site).expect("canon")],
    };
    let bak = write::replace(
        &write::Real,
        &scope,
        &target,
        b"<?php\n",
        b"<?php\n// x\n",
        &plan,
    )
    .expect("written")
    .expect("a backup");
    println!("{}", bak.display());
    let private = std::fs::canonicalize(d.path())
        .expect("canon")
        .join(".wpstack-backups");
    assert_eq!(bak, private.join("www/site/wp-config.php.wpstack.bak"));
    assert!(!bak.starts_with(std::fs::canonicalize(&site).expect("canon")));
    assert_eq!(
        std::fs::metadata(&private).expect("dir").mode() & 0o777,
        0o700
    );
    assert_eq!(std::fs::metadata(&bak).expect("bak").mode() & 0o777, 0o640);
}

#[test]
fn an_nginx_master_running_another_config_is_never_signalled() {
    let d = tempfile::tempdir().expect("tempdir");
    let conf = d.path().join("nginx.conf");
    let pid = 4_194_001u32;
    std::fs::write(d.path().join("nginx.pid"), format!("{pid}\n")).expect("pid");
    std::fs::write(
        &conf,
        format!(
            "pid {}/nginx.pid;\nevents {{}}\nhttp {{\n    server {{\n        listen 8080;\n        fastcgi_read_timeout 60s;\n    }}\n}}\n",
            d.path().display()
        ),
    )
    .expect("conf");
    let proc_root = d.path().join("proc");
    std::fs::create_dir_all(proc_root.join(pid.to_string())).expect("mkdir");
    std::fs::write(
        proc_root.join(pid.to_string()).join("cmdline"),
        "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;\0",
    )
    .expect("cmdline");
    let new = std::fs::read_to_string(&conf)
        .expect("conf")
        .replace("60s", "90s")
        .into_bytes();
    let (stack, changed) = changed_of(&conf, &new);
    let opts = wpstack::tune::reload::Options {
        proc_root,
        ..Default::default()
    };
    let err = wpstack::tune::reload::prepare(&stack, &changed, &opts).expect_err("refused");
    assert!(err.contains("runs nginx's default config"), "{err}");
    assert!(err.contains("not signalled"), "{err}");
}

#[test]
fn a_signal_that_fails_after_writing_restores_the_files() {
    // Above Linux's PID_MAX_LIMIT: no real process can have it, so nothing is signalled.
    let pid = 4_194_305u32;
    let d = tempfile::tempdir().expect("tempdir");
    let conf = d.path().join("php-fpm.conf");
    let pid_file = d.path().join("php-fpm.pid");
    std::fs::write(&pid_file, format!("{pid}\n")).expect("pid");
    std::fs::write(
        &conf,
        format!(
            "[global]\npid = {}\nerror_log = /dev/null\n\n[www]\nlisten = {}/www.sock\npm = static\npm.max_children = 2\n",
            pid_file.display(),
            d.path().display()
        ),
    )
    .expect("conf");
    let proc_root = d.path().join("proc");
    let p = proc_root.join(pid.to_string());
    std::fs::create_dir_all(&p).expect("mkdir");
    std::fs::write(
        p.join("cmdline"),
        format!("php-fpm: master process ({})\0", conf.display()),
    )
    .expect("cmdline");
    std::fs::write(p.join("status"), "State:\tS (sleeping)\nUid:\t0\t0\t0\t0\n").expect("status");
    let old = std::fs::read(&conf).expect("conf");
    let new = String::from_utf8_lossy(&old)
        .replace("max_children = 2", "max_children = 3")
        .into_bytes();
    let (stack, changed) = changed_of(&conf, &new);
    let opts = wpstack::tune::reload::Options {
        proc_root,
        timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let plan = wpstack::tune::reload::prepare(&stack, &changed, &opts).expect("our master");
    write::write_one(&conf, &old, &new, false).expect("written");
    let err = wpstack::tune::reload::run(&plan, &changed, &opts).expect_err("cannot signal");
    assert!(err.contains("cannot signal pid"), "{err}");
    assert!(err.contains("rolled back"), "{err}");
    assert!(err.contains("restored php-fpm.conf"), "{err}");
    assert_eq!(std::fs::read(&conf).expect("conf"), old, "old bytes back");
}

#[test]
fn a_backup_dir_under_a_web_root_is_refused_and_nothing_is_written() {
    let (_d, tree, _outside) = broken();
    let wp = tree.join("var/www/blog.example.com/wp-config.php");
    let before = std::fs::read(&wp).expect("wp");
    let out = wpstack()
        .args([
            "check",
            "--fix",
            "--no-validate",
            "--exit-zero",
            "--select",
            "D501",
        ])
        .arg("--backup-dir")
        .arg(tree.join("var/www/blog.example.com/bk"))
        .arg(&tree)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nginx could serve the backups"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(std::fs::read(&wp).expect("wp"), before);
    assert!(!tree.join("var/www/blog.example.com/bk").exists());
}

#[test]
fn without_a_root_a_file_read_outside_the_path_is_left_alone() {
    // A copy of /etc/nginx alone (no etc/, so no root): its relative include reaches a
    // file outside the PATH, which is read as nginx would read it — and never written.
    let (d, tree, outside) = broken();
    let conf = d.path().join("conf");
    std::fs::rename(tree.join("etc/nginx"), &conf).expect("move");
    let blog =
        std::fs::read_to_string(conf.join("sites-enabled/blog.example.com.conf")).expect("blog");
    std::fs::write(
        outside.join("evil.conf"),
        blog.replace("blog.example.com", "evil.example.com"),
    )
    .expect("evil");
    std::fs::write(
        conf.join("sites-enabled/evil.conf"),
        "include ../outside/evil.conf;\n",
    )
    .expect("include");
    let before = snapshot(&outside);
    let (_, err) = fix(&["--unsafe-fixes"], &conf);
    assert_eq!(
        snapshot(&outside),
        before,
        "a file outside PATH was written"
    );
    assert!(err.contains("left alone: "), "{err}");
    assert!(err.contains("evil.conf"), "{err}");
    assert!(err.contains("outside the PATHs given"), "{err}");
}

/// A site's web root reached through a link of the copy (`/var/www/blog.example.com ->
/// /srv/blog`, re-rooted inside the tree) is still a web root: the wp-config.php backup
/// goes to var/backups/wpstack, not next to the file where nginx could serve it. (The
/// web roots were canonicalized on this machine, where `/srv/blog` does not exist.)
#[test]
fn a_web_root_behind_a_link_of_the_copy_gets_no_backup() {
    let (_d, tree, _outside) = broken();
    let site = tree.join("var/www/blog.example.com");
    let real_site = tree.join("srv/blog");
    std::fs::create_dir_all(tree.join("srv")).expect("mkdir");
    std::fs::rename(&site, &real_site).expect("move");
    std::os::unix::fs::symlink("/srv/blog", &site).expect("symlink");
    let original = std::fs::read(real_site.join("wp-config.php")).expect("wp-config");
    let (code, err) = fix(&["--select", "D501"], &tree);
    assert_eq!(code, 0, "{err}");
    assert_ne!(
        std::fs::read(real_site.join("wp-config.php")).expect("wp-config"),
        original,
        "D501 was not fixed: {err}"
    );
    assert!(
        wpstack_files(&tree.join("srv")).is_empty(),
        "a backup sits under the web root: {:?}",
        wpstack_files(&tree.join("srv"))
    );
    let bak = tree.join("var/backups/wpstack/srv/blog/wp-config.php.wpstack.bak");
    assert_eq!(std::fs::read(&bak).expect("backup"), original);
}
