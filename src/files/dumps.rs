//! `nginx -T` and `php-fpm -tt` output as input (issue 14 item 5): on a locked-down
//! host people can run the programs but not copy `/etc`. A dump is read bounded (a
//! file, or stdin for `-`), split into the files it holds, and materialized in a
//! private directory (mode 0700, removed when the run ends) laid out as the host has
//! them, so the normal loader reads them as a copied tree (`--root`) and findings point
//! at the original paths.
//!
//! - `nginx -T` prints `# configuration file /path:` before each file it read, the
//!   file's bytes, then one newline. Lines before the first marker (nginx's own
//!   `syntax is ok` on a merged stderr) and nginx's closing `test is successful` line
//!   are not part of any file.
//! - `php-fpm -tt` logs every effective value of `[global]` and each pool as NOTICE
//!   lines (`[date] NOTICE: \tkey = value`), then `configuration file PATH test is
//!   successful`. They become one php-fpm.conf at PATH whose line N is the dump's line
//!   N (other lines become comments), so a finding names the dump's line. Values the
//!   dump prints for a key that is not set (`undefined`, `listen.backlog = -1`, the
//!   `0` of an unset rlimit or `process.max`, the numeric `syslog.facility`) are left
//!   out, so they read as php-fpm's defaults, not as settings.

use crate::source::{ReadError, MAX_FILE_BYTES};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The largest dump read (nginx -T of a host with thousands of sites is big; the
/// files in it are each bounded like any config file).
pub const MAX_DUMP_BYTES: u64 = 4 * MAX_FILE_BYTES;

/// Read a dump: a regular file (bounded, like a config), or stdin for `-` (bounded).
pub fn read_dump(arg: &Path) -> Result<(String, Vec<u8>), ReadError> {
    let err = |reason: String| ReadError {
        path: arg.to_path_buf(),
        reason,
    };
    if arg == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_DUMP_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(crate::source::io_reason(&e)))?;
        if bytes.len() as u64 > MAX_DUMP_BYTES {
            return Err(err(format!(
                "stdin holds more than {MAX_DUMP_BYTES} bytes: not a configuration dump"
            )));
        }
        return Ok(("<stdin>".into(), bytes));
    }
    let (file, st) =
        crate::source::open_nonblocking(arg).map_err(|e| err(crate::source::io_reason(&e)))?;
    if !crate::source::is_regular(&st) {
        return Err(err(
            "is not a regular file (give a FIFO or a pipe as `-`, on stdin)".into(),
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_DUMP_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(crate::source::io_reason(&e)))?;
    if bytes.len() as u64 > MAX_DUMP_BYTES {
        return Err(err(format!(
            "file is over {MAX_DUMP_BYTES} bytes: not a configuration dump"
        )));
    }
    Ok((arg.display().to_string(), bytes))
}

/// A path from a dump made safe to place under the private root: absolute, no `..`
/// or `.` component (refused), no empty name.
fn in_root(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => out.push(n),
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// One file of a dump: its original path and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

const MARKER: &[u8] = b"# configuration file ";

/// Is this line (without its newline) nginx's own status line on a merged stderr?
fn nginx_status_line(line: &[u8]) -> bool {
    let l = String::from_utf8_lossy(line);
    let l = l.trim_end();
    l.starts_with("nginx: ")
        && (l.ends_with("syntax is ok")
            || l.ends_with("test is successful")
            || l.contains("[warn]")
            || l.contains("[notice]"))
}

/// Split `nginx -T` output into its files, in order (the first is the main file).
pub fn split_nginx(dump: &[u8]) -> Vec<DumpFile> {
    let mut files: Vec<DumpFile> = Vec::new();
    let mut cur: Option<DumpFile> = None;
    let mut start = 0;
    while start < dump.len() {
        let end = dump[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|i| start + i + 1)
            .unwrap_or(dump.len());
        let line = &dump[start..end];
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        let marker = bare
            .strip_prefix(MARKER)
            .and_then(|rest| rest.strip_suffix(b":"))
            .filter(|p| p.first() == Some(&b'/') || !p.is_empty());
        if let Some(path) = marker {
            if let Some(f) = cur.take() {
                files.push(f);
            }
            cur = Some(DumpFile {
                path: String::from_utf8_lossy(path).into_owned(),
                bytes: Vec::new(),
            });
        } else if let Some(f) = cur.as_mut() {
            f.bytes.extend_from_slice(line);
        }
        start = end;
    }
    if let Some(f) = cur.take() {
        files.push(f);
    }
    for f in &mut files {
        // nginx's status lines, when stderr was merged in after the dump.
        loop {
            let body = f.bytes.strip_suffix(b"\n").unwrap_or(&f.bytes);
            let last_start = body
                .iter()
                .rposition(|b| *b == b'\n')
                .map(|i| i + 1)
                .unwrap_or(0);
            if last_start < body.len() && nginx_status_line(&body[last_start..]) {
                f.bytes.truncate(last_start);
            } else {
                break;
            }
        }
        // The newline nginx writes after each file.
        if f.bytes.ends_with(b"\n") {
            f.bytes.pop();
        }
    }
    files
}

/// Keys whose printed value means "not set" in `php-fpm -tt`.
fn fpm_unset(key: &str, value: &str) -> bool {
    value == "undefined"
        || (key == "listen.backlog" && value == "-1")
        || (matches!(key, "rlimit_files" | "rlimit_core" | "process.max") && value == "0")
        || key == "syslog.facility"
        || key == "prefix"
}

/// `php-fpm -tt` output as a php-fpm.conf whose line N is the dump's line N, and the
/// php-fpm.conf path it names (`configuration file PATH test is successful`).
pub fn fpm_conf(dump: &[u8]) -> Option<(Option<String>, Vec<u8>)> {
    let text = String::from_utf8_lossy(dump);
    let mut out = String::with_capacity(text.len());
    let mut conf_path = None;
    let mut settings = 0;
    for line in text.split_inclusive('\n') {
        let nl = if line.ends_with('\n') { "\n" } else { "" };
        let bare = line.trim_end_matches(['\n', '\r']);
        let notice = bare.find("NOTICE: ").map(|i| &bare[i + "NOTICE: ".len()..]);
        let Some(body) = notice else {
            out.push_str(if bare.is_empty() { "" } else { ";" });
            out.push_str(nl);
            continue;
        };
        if let Some(p) = body
            .strip_prefix("configuration file ")
            .and_then(|r| r.strip_suffix(" test is successful"))
        {
            conf_path = Some(p.to_string());
            out.push(';');
            out.push_str(nl);
            continue;
        }
        let t = body.trim();
        if t.starts_with('[') && t.ends_with(']') {
            out.push_str(t);
        } else if let Some((k, v)) = t.split_once(" = ") {
            let (k, v) = (k.trim(), v.trim());
            if fpm_unset(k, v) {
                out.push(';');
            } else {
                let v = if k == "log_level" {
                    v.to_ascii_lowercase()
                } else {
                    v.to_string()
                };
                settings += 1;
                // Quoted: values keep their spaces and ini operators (`|`, `!`) as
                // php-fpm printed them; a value holding a quote stays as it is.
                if v.contains('"') || v.is_empty() {
                    out.push_str(&format!("{k} = {v}"));
                } else {
                    out.push_str(&format!("{k} = \"{v}\""));
                }
            }
        } else if !t.is_empty() {
            out.push(';');
        }
        out.push_str(nl);
    }
    (settings > 0).then(|| (conf_path, out.into_bytes()))
}

/// A private directory holding a dump's files at their original paths.
pub struct Materialized {
    pub dir: tempfile::TempDir,
    /// The nginx main file (the dump's first file), under `dir`.
    pub nginx_main: Option<PathBuf>,
    /// The php-fpm.conf made of a `-tt` dump, under `dir`, and the name shown for it.
    pub fpm_main: Option<(PathBuf, String)>,
    /// Original path (as the dump says) of each nginx file written, by path under `dir`.
    pub shown: Vec<(PathBuf, String)>,
    /// What could not be placed (a path with `..`, a file given twice).
    pub notes: Vec<String>,
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// Materialize an nginx -T dump and/or a php-fpm -tt dump (each: name shown, bytes).
pub fn materialize(
    nginx: Option<(&str, &[u8])>,
    fpm: Option<(&str, &[u8])>,
) -> Result<Materialized, String> {
    let dir = tempfile::Builder::new()
        .prefix("wpstack-dump-")
        .tempdir()
        .map_err(|e| format!("cannot make a private directory for the dump: {e}"))?;
    let mut m = Materialized {
        dir,
        nginx_main: None,
        fpm_main: None,
        shown: Vec::new(),
        notes: Vec::new(),
    };
    if let Some((name, bytes)) = nginx {
        let files = split_nginx(bytes);
        if files.is_empty() {
            return Err(format!(
                "{name}: no `# configuration file PATH:` line: not the output of `nginx -T`"
            ));
        }
        for f in files {
            let Some(rel) = in_root(&f.path) else {
                m.notes.push(format!(
                    "{name}: {} was not read: a path with `.` or `..` in it",
                    f.path
                ));
                continue;
            };
            let at = m.dir.path().join(&rel);
            if m.shown.iter().any(|(p, _)| *p == at) {
                m.notes.push(format!(
                    "{name}: {} is in the dump twice; the first copy was read",
                    f.path
                ));
                continue;
            }
            write_new(&at, &f.bytes)
                .map_err(|e| format!("{name}: cannot place {}: {e}", f.path))?;
            m.nginx_main.get_or_insert_with(|| at.clone());
            let original = if f.path.starts_with('/') {
                f.path.clone()
            } else {
                format!("/{}", rel.display())
            };
            m.shown.push((at, original));
        }
    }
    if let Some((name, bytes)) = fpm {
        let (path, conf) = fpm_conf(bytes).ok_or_else(|| {
            format!("{name}: no `NOTICE: key = value` lines: not the output of `php-fpm -tt` (its output is on stderr: `php-fpm -tt 2>&1`)")
        })?;
        let rel = path
            .as_deref()
            .and_then(in_root)
            .unwrap_or_else(|| PathBuf::from("etc/php-fpm.conf"));
        let at = m.dir.path().join(&rel);
        write_new(&at, &conf).map_err(|e| format!("{name}: cannot place it: {e}"))?;
        m.fpm_main = Some((at, name.to_string()));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_dump_splits_into_its_files() {
        let dump = b"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { include /etc/nginx/a.conf; }\n\n# configuration file /etc/nginx/a.conf:\nserver {}\n\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n";
        let files = split_nginx(dump);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "/etc/nginx/nginx.conf");
        assert_eq!(
            files[0].bytes,
            b"events {}\nhttp { include /etc/nginx/a.conf; }\n"
        );
        assert_eq!(files[1].bytes, b"server {}\n");
        assert_eq!(in_root("/etc/../x"), None);
        assert_eq!(
            in_root("/etc/nginx/a.conf"),
            Some("etc/nginx/a.conf".into())
        );
    }

    #[test]
    fn fpm_dump_keeps_lines_and_drops_unset_values() {
        let dump = b"[30-Nov-2026 21:16:59] NOTICE: [www]\n[30-Nov-2026 21:16:59] NOTICE: \tprefix = undefined\n[30-Nov-2026 21:16:59] NOTICE: \tlisten.backlog = -1\n[30-Nov-2026 21:16:59] NOTICE: \tpm.max_children = 5\n[30-Nov-2026 21:16:59] NOTICE: configuration file /etc/php/8.2/fpm/php-fpm.conf test is successful\n";
        let (path, conf) = fpm_conf(dump).expect("settings");
        assert_eq!(path.as_deref(), Some("/etc/php/8.2/fpm/php-fpm.conf"));
        assert_eq!(
            String::from_utf8(conf).unwrap(),
            "[www]\n;\n;\npm.max_children = \"5\"\n;\n"
        );
    }
}
