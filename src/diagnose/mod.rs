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
    let mut map: BTreeMap<(&str, Option<String>, Option<String>), Group> = BTreeMap::new();
    for h in hits {
        let key = (h.signature, h.upstream.clone(), h.server.clone());
        let g = map.entry(key).or_insert_with(|| Group {
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
        g.last = h.time.clone();
    }
    let mut v: Vec<Group> = map.into_values().collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(b.signature)));
    v
}

/// Read and recognise every line of the given logs.
pub fn read_logs(paths: &[std::path::PathBuf]) -> Result<Vec<Hit>, String> {
    let mut hits = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p)
            .map_err(|e| format!("{}: {}", p.display(), crate::source::io_reason(&e)))?;
        let text = String::from_utf8_lossy(&bytes);
        hits.extend(text.lines().filter_map(recognise));
    }
    Ok(hits)
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
            out.push_str(&format!("   where: {s}"));
            if let Some(u) = &g.upstream {
                out.push_str(&format!(" → {u}"));
            }
            out.push('\n');
        }
        out.push_str(&format!("   when:  {} … {}\n", g.first, g.last));
        out.push_str(&format!(
            "   e.g.:  {}\n",
            crate::report::redact::redact_text(&g.example)
        ));
        match (&g.explained_by, g.rule) {
            (Some(e), _) => out.push_str(&format!("   cause: {e}\n")),
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
