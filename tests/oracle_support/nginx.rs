//! Running the real `nginx -t` on a configuration copied into a temp dir.
//!
//! nginx runs only with `-t`/`-T` (it never binds a port), on copies in temp dirs, with
//! `-p`/`-c` pointing there and `pid` in the temp dir.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What `nginx -T` said about a configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    /// Accepted; the files nginx read, in the order it first opened them.
    Ok(Vec<PathBuf>),
    /// The first `[emerg]`: its message and, when it names one, file and line.
    Emerg(String, Option<(PathBuf, usize)>),
    /// Failed without an `[emerg]` line (stderr).
    Other(String),
}

pub fn run(bin: &Path, dir: &Path, main: &Path) -> Run {
    let pid = format!("pid {}/nginx.pid;", dir.display());
    let out = Command::new(bin)
        .arg("-T")
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(main)
        .arg("-g")
        .arg(&pid)
        .output()
        .expect("run nginx");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let files = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("# configuration file "))
            .filter_map(|l| l.strip_suffix(':'))
            .map(PathBuf::from)
            .collect();
        return Run::Ok(files);
    }
    let lines: Vec<&str> = stderr.lines().collect();
    let Some(first) = lines.iter().position(|l| l.contains("[emerg] ")) else {
        return Run::Other(stderr.into_owned());
    };
    // A message quoting a name with a newline in it goes on over the next lines, up to
    // the next line nginx starts itself (`nginx: …`, or a dated log line).
    let mut line = lines[first].to_string();
    for more in &lines[first + 1..] {
        if more.starts_with("nginx: ") || more.starts_with("20") {
            break;
        }
        line.push('\n');
        line.push_str(more);
    }
    let line = line.as_str();
    let mut msg = line.split_once("[emerg] ").map_or(line, |(_, m)| m);
    // "1234#1234: message" when logging through the error log.
    if let Some((pid, rest)) = msg.split_once(": ") {
        if pid.chars().all(|c| c.is_ascii_digit() || c == '#') {
            msg = rest;
        }
    }
    let located = msg.rsplit_once(" in ").and_then(|(m, at)| {
        let (file, line) = at.rsplit_once(':')?;
        Some((
            m.to_string(),
            PathBuf::from(file),
            line.trim().parse().ok()?,
        ))
    });
    match located {
        Some((m, file, line)) => Run::Emerg(m, Some((file, line))),
        None => Run::Emerg(msg.to_string(), None),
    }
}

/// Line-preserving changes so that a tree runs from a temp dir: `user` and `pid`
/// lines are commented out (-g gives pid; user would chown system dirs), and
/// `/etc/nginx/`, `/var/log/` point into the temp dir.
pub fn relocate(text: &[u8], dir: &Path) -> Vec<u8> {
    let d = dir.display().to_string();
    let text = String::from_utf8_lossy(text);
    // nginx's compiled-in temp directories (/var/lib/nginx/…) would be created by a
    // root nginx -t: point them into the temp dir too, on the `http {` line itself so
    // that no line moves (unless the file sets them already).
    let temp: String = if text.contains("_temp_path") {
        String::new()
    } else {
        ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|t| format!(" {t}_temp_path {d}/tmp/{t};"))
            .collect()
    };
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let opens_http = t
            .strip_prefix("http")
            .is_some_and(|r| r.trim_start().starts_with('{'));
        if opens_http && !temp.is_empty() {
            let (head, tail) = line.split_at(line.find('{').expect("brace") + 1);
            out.push_str(&format!("{head}{temp}{tail}"));
            continue;
        }
        let is_dir = |name: &str| {
            t.strip_prefix(name)
                .is_some_and(|r| r.starts_with([' ', '\t']) && r.trim_end().ends_with(';'))
        };
        if is_dir("user") || is_dir("pid") {
            out.push_str(&format!("# {}", line.trim_start()));
        } else {
            out.push_str(
                &line
                    .replace("/etc/nginx/", &format!("{d}/"))
                    .replace("/var/log/nginx/", &format!("{d}/logs/"))
                    .replace("/var/log/", &format!("{d}/logs/")),
            );
        }
    }
    out.into_bytes()
}

/// Copy a tree into `dir`, relocated for nginx; `enable_sites` links
/// sites-enabled/default as Debian's package does.
pub fn stage_into(src: &Path, dir: &Path, enable_sites: bool) {
    for f in super::files_under(src) {
        let rel = f.strip_prefix(src).expect("under src");
        let dest = dir.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        let bytes = std::fs::read(&f).expect("read corpus file");
        let bytes = if std::str::from_utf8(&bytes).is_ok() {
            relocate(&bytes, dir)
        } else {
            bytes
        };
        std::fs::write(&dest, bytes).expect("write");
    }
    std::fs::create_dir_all(dir.join("logs")).expect("mkdir logs");
    std::fs::create_dir_all(dir.join("tmp")).expect("mkdir tmp");
    // Log files in sub-directories of /var/log (now logs/…): their directories.
    let logs = format!("{}/logs/", dir.display());
    for f in super::files_under(dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
        for (at, _) in text.match_indices(&logs) {
            let path: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '"' | '\''))
                .collect();
            if let Some(parent) = Path::new(&path).parent() {
                let _ = std::fs::create_dir_all(parent);
            }
        }
    }
    if enable_sites && dir.join("sites-available").is_dir() {
        std::fs::create_dir_all(dir.join("sites-enabled")).expect("mkdir");
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            "../sites-available/default",
            dir.join("sites-enabled/default"),
        )
        .expect("symlink");
    }
}

/// Copy a corpus tree into a temp dir ready for nginx; returns the temp dir.
pub fn stage_tree(src: &Path, enable_sites: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    stage_into(src, tmp.path(), enable_sites);
    tmp
}
