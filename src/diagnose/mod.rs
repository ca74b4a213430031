//! `wpstack diagnose`: read the logs of an outage (nginx error logs, php-fpm logs, PHP
//! error logs, WordPress's debug.log, kernel OOM lines), recognise every 502/504
//! signature, group them, and name the rule that predicts each group — and, given the
//! configuration, the finding that explains it.

use serde::Serialize;
use std::collections::BTreeMap;

/// A log line pattern that explains a failed request, and the rule that predicts it.
pub struct Signature {
    /// Stable id used in reports.
    pub id: &'static str,
    /// Substrings that must all appear in the line.
    pub needles: &'static [&'static str],
    /// The rule whose finding explains it (`None`: not a configuration problem).
    pub rule: Option<&'static str>,
    pub meaning: &'static str,
}

pub const SIGNATURES: &[Signature] = &[
    Signature {
        id: "socket-missing",
        needles: &["connect() to unix:", "(2: No such file or directory)"],
        rule: Some("U001"),
        meaning: "nginx's fastcgi_pass names a socket no pool listens on",
    },
    Signature {
        id: "socket-denied",
        needles: &["connect() to unix:", "(13: Permission denied)"],
        rule: Some("U002"),
        meaning: "nginx's user may not open the pool's socket",
    },
    Signature {
        id: "backlog-full",
        needles: &["(11: Resource temporarily unavailable)"],
        rule: Some("U004"),
        meaning: "the pool's listen backlog overflowed during a burst",
    },
    Signature {
        id: "connection-refused",
        needles: &["(111: Connection refused)"],
        rule: Some("U001"),
        meaning: "nothing listens on the TCP address nginx connects to",
    },
    Signature {
        id: "no-live-upstreams",
        needles: &["no live upstreams"],
        rule: Some("U001"),
        meaning: "every server of the upstream failed and is marked down",
    },
    Signature {
        id: "no-resolver",
        needles: &["no resolver defined"],
        rule: Some("U003"),
        meaning: "fastcgi_pass names a host nginx cannot resolve at run time",
    },
    Signature {
        id: "upstream-timeout",
        needles: &["upstream timed out (110"],
        rule: Some("T101"),
        meaning: "nginx stopped waiting before PHP answered",
    },
    Signature {
        id: "worker-killed",
        needles: &["upstream prematurely closed connection"],
        rule: Some("T102"),
        meaning: "the worker died mid-request (killed by request_terminate_timeout, or crashed)",
    },
    Signature {
        id: "worker-reset",
        needles: &["recv() failed (104: Connection reset by peer)", "upstream"],
        rule: Some("T102"),
        meaning: "the worker died mid-request (killed by request_terminate_timeout, or crashed)",
    },
    Signature {
        id: "fpm-execution-timeout",
        needles: &["execution timed out", "terminating"],
        rule: Some("T102"),
        meaning: "php-fpm killed a worker at request_terminate_timeout",
    },
    Signature {
        id: "slow-request",
        needles: &["executing too slow"],
        rule: Some("T103"),
        meaning: "a request ran past request_slowlog_timeout and still holds its worker (only request_terminate_timeout ends a request that waits on I/O)",
    },
    Signature {
        id: "header-too-big",
        needles: &["upstream sent too big header"],
        rule: Some("P402"),
        meaning: "the response headers did not fit fastcgi_buffer_size",
    },
    Signature {
        id: "body-too-large",
        needles: &["client intended to send too large body"],
        rule: Some("P401"),
        meaning: "the request body exceeded client_max_body_size (413)",
    },
    Signature {
        id: "post-too-large",
        needles: &["POST Content-Length of", "exceeds the limit"],
        rule: Some("P401"),
        meaning: "the body exceeded post_max_size: $_POST and $_FILES arrive empty",
    },
    Signature {
        id: "max-children",
        needles: &["reached", "max_children setting"],
        rule: Some("C202"),
        meaning: "every worker of the pool was busy; requests queued",
    },
    Signature {
        id: "pool-busy",
        needles: &["seems busy"],
        rule: Some("C202"),
        meaning: "the pool was close to its worker limit",
    },
    Signature {
        id: "memory-exhausted",
        needles: &["Allowed memory size of", "exhausted"],
        rule: Some("M301"),
        meaning: "a request hit memory_limit",
    },
    Signature {
        id: "oom-killed",
        needles: &["Out of memory: Killed process", "php-fpm"],
        rule: Some("C201"),
        meaning: "the kernel's OOM killer ended a PHP worker: the pools outgrew the RAM",
    },
    // The database behind WordPress: PHP's mysqli warnings (php-fpm's log, nginx's
    // "FastCGI sent in stderr", debug.log), MariaDB's error log, the kernel.
    Signature {
        id: "db-too-many-connections",
        needles: &["Too many connections"],
        rule: Some("B801"),
        meaning: "the database refused a connection at max_connections: the pools using it open more",
    },
    Signature {
        id: "db-gone-away",
        needles: &["MySQL server has gone away"],
        rule: Some("B803"),
        meaning: "the database closed an idle connection (wait_timeout) while the request still needed it",
    },
    Signature {
        id: "db-idle-aborted",
        needles: &["Aborted connection", "Got timeout reading communication packets"],
        rule: Some("B803"),
        meaning: "the database dropped a connection idle past wait_timeout",
    },
    Signature {
        id: "db-socket-missing",
        needles: &["(HY000/2002)", "No such file or directory"],
        rule: Some("B802"),
        meaning: "DB_HOST names a socket the database does not listen on",
    },
    Signature {
        id: "db-connection-refused",
        needles: &["(HY000/2002)", "Connection refused"],
        rule: Some("B802"),
        meaning: "nothing listens on the database address DB_HOST names",
    },
    Signature {
        id: "db-connection-error",
        needles: &["Error establishing a database connection"],
        rule: Some("B802"),
        meaning: "WordPress could not connect to its database",
    },
    Signature {
        id: "db-oom-killed",
        needles: &["Out of memory: Killed process", "(mariadbd)"],
        rule: Some("C201"),
        meaning: "the kernel's OOM killer ended the database: it and the pools outgrew the RAM",
    },
    Signature {
        id: "db-oom-killed",
        needles: &["Out of memory: Killed process", "(mysqld)"],
        rule: Some("C201"),
        meaning: "the kernel's OOM killer ended the database: it and the pools outgrew the RAM",
    },
    Signature {
        id: "db-out-of-memory",
        needles: &["Out of memory (Needed"],
        rule: Some("C201"),
        meaning: "the database could not allocate memory and aborted the statement or itself",
    },
    Signature {
        id: "db-buffer-pool-alloc",
        needles: &["Cannot allocate memory for the buffer pool"],
        rule: Some("C201"),
        meaning: "InnoDB could not allocate innodb_buffer_pool_size: the database does not start",
    },
    Signature {
        id: "max-execution-time",
        needles: &["Maximum execution time of", "exceeded"],
        rule: None,
        meaning:
            "PHP's own time limit ended a request (the timeout chain did its job; the code is slow)",
    },
    Signature {
        id: "primary-script-unknown",
        needles: &["Primary script unknown"],
        rule: None,
        meaning:
            "SCRIPT_FILENAME points at no file (root or fastcgi_param wrong, or a scanner probing)",
    },
    Signature {
        id: "php-fatal",
        needles: &["PHP Fatal error"],
        rule: None,
        meaning: "a PHP fatal error (a plugin or theme bug)",
    },
];

/// One recognised line.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub signature: &'static str,
    pub rule: Option<&'static str>,
    pub time: String,
    pub upstream: Option<String>,
    pub server: Option<String>,
    pub line: String,
}

/// Recognise one log line (the first signature that matches).
pub fn recognise(line: &str) -> Option<Hit> {
    let sig = SIGNATURES
        .iter()
        .find(|s| s.needles.iter().all(|n| line.contains(n)))?;
    // nginx writes `upstream: "…"` quoted and `server: name,` bare.
    let field = |name: &str| -> Option<String> {
        let start = line.find(&format!(", {name}: "))? + name.len() + 4;
        let rest = &line[start..];
        let value = match rest.strip_prefix('"') {
            Some(q) => &q[..q.find('"')?],
            None => &rest[..rest.find(',').unwrap_or(rest.len())],
        };
        Some(value.to_string())
    };
    Some(Hit {
        signature: sig.id,
        rule: sig.rule,
        time: timestamp(line),
        upstream: field("upstream").map(|u| {
            u.trim_start_matches("fastcgi://")
                .trim_end_matches(':')
                .to_string()
        }),
        server: field("server").or_else(|| {
            // php-fpm names the pool: "[pool www]"
            let s = line.find("[pool ")? + 6;
            let e = line[s..].find(']')? + s;
            Some(format!("pool {}", &line[s..e]))
        }),
        line: line.trim_end().to_string(),
    })
}

/// The time stamp a line starts with, in whichever format its program writes.
fn timestamp(line: &str) -> String {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        // php-fpm / PHP: [26-Nov-2026 21:17:19] or [26-Nov-2026 21:18:05 UTC]; dmesg: [12345.6]
        return rest.split(']').next().unwrap_or("").to_string();
    }
    // nginx: 2026/11/26 21:17:19 [error] …
    t.split(" [")
        .next()
        .unwrap_or("")
        .chars()
        .take(19)
        .collect()
}

/// Hits that share a signature, upstream and server.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub signature: &'static str,
    pub rule: Option<&'static str>,
    pub meaning: &'static str,
    pub count: usize,
    pub first: String,
    pub last: String,
    pub upstream: Option<String>,
    pub server: Option<String>,
    pub example: String,
    /// The configuration finding that explains it: "CODE at file:line: message".
    pub explained_by: Option<String>,
}

pub fn group(hits: &[Hit]) -> Vec<Group> {
    let mut g = Grouper::default();
    for h in hits {
        g.add(h);
    }
    g.finish()
}

/// Groups built one hit at a time, so a log is never held whole: memory grows with
/// the number of distinct (signature, upstream, server) groups, not with the log.
#[derive(Default)]
pub struct Grouper {
    map: BTreeMap<(&'static str, Option<String>, Option<String>), Group>,
}

impl Grouper {
    pub fn add(&mut self, h: &Hit) {
        let key = (h.signature, h.upstream.clone(), h.server.clone());
        let g = self.map.entry(key).or_insert_with(|| Group {
            signature: h.signature,
            rule: h.rule,
            meaning: SIGNATURES
                .iter()
                .find(|s| s.id == h.signature)
                .map(|s| s.meaning)
                .unwrap_or(""),
            count: 0,
            first: h.time.clone(),
            last: h.time.clone(),
            upstream: h.upstream.clone(),
            server: h.server.clone(),
            example: h.line.clone(),
            explained_by: None,
        });
        g.count += 1;
        g.last.clone_from(&h.time);
    }

    pub fn finish(self) -> Vec<Group> {
        let mut v: Vec<Group> = self.map.into_values().collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(b.signature)));
        v
    }
}

/// Longest log line looked at; the rest of a longer line is skipped (a 502 line is a
/// few hundred bytes; a "line" of megabytes is a binary or a dump).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Open a log: a regular file, or a pipe (`journalctl -u nginx | wpstack diagnose
/// /dev/stdin`). Opened non-blocking, so a FIFO without a writer never hangs the
/// open; devices (`/dev/zero`, a terminal), sockets and directories are refused.
fn open_log(p: &std::path::Path) -> Result<std::fs::File, String> {
    use rustix::fs::{FileType, OFlags};
    let err = |why: String| format!("{}: {why}", p.display());
    let (file, st) =
        crate::source::open_nonblocking(p).map_err(|e| err(crate::source::io_reason(&e)))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(file),
        FileType::Fifo => {
            // Read the pipe as `cat` would: block for data, stop at end of input.
            let flags = rustix::fs::fcntl_getfl(&file).map_err(|e| err(e.to_string()))?;
            rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)
                .map_err(|e| err(e.to_string()))?;
            Ok(file)
        }
        FileType::Directory => Err(err("is a directory, expected a log file".into())),
        FileType::CharacterDevice | FileType::BlockDevice => Err(err(
            "is a device, not a log file: not read (it may never end)".into(),
        )),
        _ => Err(err("is not a regular file or a pipe: not read".into())),
    }
}

/// Call `each` with every line of `r` (without its `\n`), at most [`MAX_LINE_BYTES`]
/// of each; memory stays bounded whatever the input.
pub fn for_each_line(r: impl std::io::Read, mut each: impl FnMut(&[u8])) -> std::io::Result<()> {
    use std::io::BufRead;
    let mut r = std::io::BufReader::with_capacity(64 * 1024, r);
    let mut line: Vec<u8> = Vec::new();
    let mut skipping = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            if !line.is_empty() {
                each(&line);
            }
            return Ok(());
        }
        let (chunk, newline) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        if !skipping {
            let room = MAX_LINE_BYTES - line.len();
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            skipping = chunk.len() > room;
        }
        let used = chunk.len() + usize::from(newline);
        r.consume(used);
        if newline {
            each(&line);
            line.clear();
            skipping = false;
        }
    }
}

/// Read the given logs line by line (streamed, never whole) and group every
/// recognised line.
pub fn read_groups(paths: &[std::path::PathBuf]) -> Result<Vec<Group>, String> {
    let mut g = Grouper::default();
    for p in paths {
        let file = open_log(p)?;
        for_each_line(file, |line| {
            if let Some(h) = recognise(&String::from_utf8_lossy(line)) {
                g.add(&h);
            }
        })
        .map_err(|e| format!("{}: {}", p.display(), crate::source::io_reason(&e)))?;
    }
    Ok(g.finish())
}

/// The logs a stack's configuration names: nginx `error_log`s, php-fpm's `error_log`,
/// and each pool's PHP `error_log` and slowlog — the ones that exist on this machine.
pub fn configured_logs(stack: &crate::stack::Stack) -> Vec<std::path::PathBuf> {
    let mut out: Vec<std::path::PathBuf> = Vec::new();
    let mut add = |p: &str, base: &std::path::Path| {
        if p.is_empty()
            || p == "off"
            || p == "stderr"
            || p.starts_with("syslog:")
            || p.starts_with("/proc/")
            || p.starts_with("/dev/")
        {
            return;
        }
        let path = base.join(p);
        if path.is_file() && !out.contains(&path) {
            out.push(path);
        }
    };
    for n in &stack.nginx {
        let base = stack
            .sources
            .get(n.main)
            .path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        for scope in &n.scopes {
            for d in scope.directives.iter().filter(|d| d.name == "error_log") {
                if let Some(a) = d.arg(0) {
                    add(a, &base);
                }
            }
        }
    }
    // php-fpm's paths are absolute in practice; a relative one is taken from the
    // directory of php-fpm.conf.
    for f in &stack.fpm {
        let base = f
            .main
            .and_then(|m| {
                stack
                    .sources
                    .get(m)
                    .path
                    .parent()
                    .map(std::path::Path::to_path_buf)
            })
            .unwrap_or_default();
        if let Some(e) = f.global.get("error_log") {
            add(&e.value, &base);
        }
        for p in f.pools.iter().filter_map(|id| stack.pools.get(*id)) {
            if let Some(s) = p.php("error_log") {
                add(s.text(), &base);
            }
            if let Some(s) = p.settings.get("slowlog") {
                add(&s.value, &base);
            }
        }
    }
    out
}

/// Attach the finding that explains each group: the same rule, preferring the one
/// whose message names the group's site or socket.
pub fn explain(
    groups: &mut [Group],
    findings: &[crate::finding::Finding],
    stack: &crate::stack::Stack,
) {
    for g in groups.iter_mut() {
        let Some(code) = g.rule else { continue };
        let candidates: Vec<&crate::finding::Finding> =
            findings.iter().filter(|f| f.code == code).collect();
        let named = |f: &&crate::finding::Finding| {
            g.server
                .as_deref()
                .is_some_and(|s| f.message.contains(s.trim_start_matches("pool ")))
                || g.upstream
                    .as_deref()
                    .is_some_and(|u| f.message.contains(u.trim_start_matches("unix:")))
        };
        let best = candidates.iter().find(|f| named(f)).or(candidates.first());
        if let Some(f) = best {
            let at = f
                .primary
                .map(|p| stack.display(p))
                .unwrap_or_else(|| "-".into());
            g.explained_by = Some(format!(
                "{} at {at}: {}",
                f.code,
                crate::report::redact::redact_text(&f.message)
            ));
        }
    }
}

/// Log lines carry what clients sent (URIs, user agents): never print their control
/// characters raw to a terminal.
fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    crate::report::escape_controls(s)
}

pub fn render_text(groups: &[Group]) -> String {
    if groups.is_empty() {
        return "No 502/504 signatures found in these logs.\n".into();
    }
    let mut out = String::new();
    for g in groups {
        let rule = g.rule.map(|r| format!(" [{r}]")).unwrap_or_default();
        out.push_str(&format!(
            "{}× {}{rule}: {}\n",
            g.count, g.signature, g.meaning
        ));
        if let Some(s) = &g.server {
            out.push_str(&format!("   where: {}", esc(s)));
            if let Some(u) = &g.upstream {
                out.push_str(&format!(" → {}", esc(u)));
            }
            out.push('\n');
        }
        out.push_str(&format!("   when:  {} … {}\n", esc(&g.first), esc(&g.last)));
        out.push_str(&format!(
            "   e.g.:  {}\n",
            esc(&crate::report::redact::redact_text(&g.example))
        ));
        match (&g.explained_by, g.rule) {
            (Some(e), _) => out.push_str(&format!("   cause: {}\n", esc(e))),
            (None, Some(r)) => out.push_str(&format!("   cause: rule {r} predicts this (run with --config-dir to find where; `wpstack explain {r}`)\n")),
            (None, None) => {}
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_lab_lines() {
        let cases = [
            ("2026/11/26 21:17:19 [crit] 1#1: *2 connect() to unix:/tmp/x/php81.sock failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: lab.test, request: \"GET /index.php HTTP/1.1\", upstream: \"fastcgi://unix:/tmp/x/php81.sock:\", host: \"127.0.0.1\"", "socket-missing", Some("U001")),
            ("2026/11/26 21:17:19 [error] 1#1: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: lab.test", "upstream-timeout", Some("T101")),
            ("[26-Nov-2026 21:21:17] WARNING: [pool lab] server reached max_children setting (1), consider raising it", "max-children", Some("C202")),
            ("[26-Nov-2026 21:18:05 UTC] PHP Fatal error:  Allowed memory size of 16777216 bytes exhausted (tried to allocate 33558528 bytes)", "memory-exhausted", Some("M301")),
            ("[ 1234.5] Out of memory: Killed process 23817 (php-fpm8.2) total-vm:612340kB", "oom-killed", Some("C201")),
            ("[26-Nov-2026 21:18:05 UTC] PHP Fatal error:  Uncaught Error: Call to undefined function foo()", "php-fatal", None),
        ];
        for (line, id, rule) in cases {
            let h = recognise(line).unwrap_or_else(|| panic!("not recognised: {line}"));
            assert_eq!((h.signature, h.rule), (id, rule), "{line}");
        }
        let h = recognise(cases[0].0).unwrap();
        assert_eq!(h.server.as_deref(), Some("lab.test"));
        assert_eq!(h.upstream.as_deref(), Some("unix:/tmp/x/php81.sock"));
        assert_eq!(h.time, "2026/11/26 21:17:19");
        assert!(recognise("2026/11/26 21:17:19 [notice] 1#1: signal process started").is_none());
    }

    #[test]
    fn lines_are_streamed_with_a_bounded_length() {
        let mut long = vec![b'x'; MAX_LINE_BYTES * 3];
        long.extend_from_slice(b"\nshort\nlast");
        let mut seen = Vec::new();
        for_each_line(&long[..], |l| seen.push(l.len())).unwrap();
        assert_eq!(seen, [MAX_LINE_BYTES, 5, 4]);
        // A tiny reader buffer boundary inside a line changes nothing.
        let r = std::io::Read::chain(&b"ab"[..], &b"c\nd\n"[..]);
        let mut lines = Vec::new();
        for_each_line(r, |l| lines.push(l.to_vec())).unwrap();
        assert_eq!(lines, [b"abc".to_vec(), b"d".to_vec()]);
    }

    #[test]
    fn devices_and_directories_are_refused_as_logs() {
        let e = read_groups(&["/dev/zero".into()]).unwrap_err();
        assert!(e.contains("device"), "{e}");
        let e = read_groups(&[std::env::temp_dir()]).unwrap_err();
        assert!(e.contains("directory"), "{e}");
    }

    #[test]
    fn groups_count_and_order() {
        let line = "2026/11/26 21:17:19 [error] 1#1: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: a.test, upstream: \"fastcgi://unix:/run/a.sock:\"";
        let later = line.replace("21:17:19", "21:30:00");
        let other = "2026/11/26 21:17:19 [error] 1#1: upstream sent too big header while reading response header from upstream, server: a.test";
        let hits: Vec<Hit> = [line, &later, other]
            .iter()
            .filter_map(|l| recognise(l))
            .collect();
        let g = group(&hits);
        assert_eq!(g[0].count, 2);
        assert_eq!(g[0].last, "2026/11/26 21:30:00");
        assert_eq!(g[1].signature, "header-too-big");
    }
}
