//! php-fpm's own status page (`pm.status_path`), asked over the pool's own socket with
//! a minimal FastCGI client: the record format is eight header bytes and a body
//! (FastCGI 1.0 §3.3), and a status request is one BEGIN_REQUEST, the CGI variables,
//! an empty STDIN. No crate on crates.io that fits is small and kept (the async ones
//! pull a runtime), and this client does less: one request per connection, bounded
//! in time and bytes, nothing kept of the answer but the counters.
//!
//! Only numbers are read from the page: `full` also lists each process's last request
//! URI and script, which can hold tokens; they are never stored or printed.

use std::io::{Read, Write};
use std::time::Duration;

/// How long one status request may take (connect, write, each read).
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// The most bytes read of one answer (`full` lists every process: ~300 bytes each).
pub const MAX_ANSWER: u64 = 4 << 20;

/// Where a pool listens, as its `listen` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix(std::path::PathBuf),
    Tcp(String),
}

impl Listen {
    /// From a pool's `listen` value: a path, `PORT` (all addresses: asked on
    /// 127.0.0.1), `ADDR:PORT`, `[::1]:PORT`.
    pub fn parse(value: &str) -> Option<Listen> {
        let v = value.trim();
        if v.is_empty() {
            return None;
        }
        if v.starts_with('/') {
            return Some(Listen::Unix(v.into()));
        }
        if v.chars().all(|c| c.is_ascii_digit()) {
            return Some(Listen::Tcp(format!("127.0.0.1:{v}")));
        }
        let (host, port) = v.rsplit_once(':')?;
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let host = match host {
            "" | "*" | "0.0.0.0" => "127.0.0.1",
            "[::]" => "[::1]",
            h => h,
        };
        Some(Listen::Tcp(format!("{host}:{port}")))
    }
}

/// The counters of one status answer (`?json&full`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub pool: String,
    pub process_manager: String,
    /// Seconds since the pool started (or was reloaded): the counters below that say
    /// "max" count since then.
    pub start_since: u64,
    pub accepted_conn: u64,
    pub listen_queue: u64,
    pub max_listen_queue: u64,
    pub listen_queue_len: u64,
    pub idle_processes: u64,
    pub active_processes: u64,
    pub total_processes: u64,
    pub max_active_processes: u64,
    pub max_children_reached: u64,
    pub slow_requests: u64,
    /// Per process (from `full`): pid and whether it is running a request.
    #[serde(skip)]
    pub processes: Vec<(u32, bool)>,
}

/// Parse php-fpm's JSON status (`?json`, with or without `full`).
pub fn parse_json(body: &str) -> Result<Status, String> {
    let v: serde_json::Value =
        serde_json::from_str(body.trim()).map_err(|e| format!("not php-fpm's JSON status: {e}"))?;
    let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    if v.get("accepted conn").is_none() || v.get("active processes").is_none() {
        return Err("the answer is JSON but not php-fpm's status page".into());
    }
    let processes = v
        .get("processes")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let pid = p.get("pid")?.as_u64()? as u32;
                    let state = p.get("state")?.as_str()?;
                    Some((pid, state != "Idle"))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Status {
        pool: s("pool"),
        process_manager: s("process manager"),
        start_since: n("start since"),
        accepted_conn: n("accepted conn"),
        listen_queue: n("listen queue"),
        max_listen_queue: n("max listen queue"),
        listen_queue_len: n("listen queue len"),
        idle_processes: n("idle processes"),
        active_processes: n("active processes"),
        total_processes: n("total processes"),
        max_active_processes: n("max active processes"),
        max_children_reached: n("max children reached"),
        slow_requests: n("slow requests"),
        processes,
    })
}

fn record(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    // version 1, type, request id 1, content length, no padding, reserved.
    out.extend_from_slice(&[1, kind, 0, 1]);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(body);
}

fn pair(out: &mut Vec<u8>, k: &str, v: &str) {
    for len in [k.len(), v.len()] {
        if len < 128 {
            out.push(len as u8);
        } else {
            out.extend_from_slice(&((len as u32) | 0x8000_0000).to_be_bytes());
        }
    }
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(v.as_bytes());
}

/// The bytes of a GET request for `path?query` (status pages need no SCRIPT_FILENAME
/// on disk: php-fpm answers them before looking for a script).
pub fn request(path: &str, query: &str) -> Vec<u8> {
    let mut params = Vec::new();
    let uri = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    for (k, v) in [
        ("SCRIPT_NAME", path),
        ("SCRIPT_FILENAME", path),
        ("REQUEST_URI", uri.as_str()),
        ("QUERY_STRING", query),
        ("REQUEST_METHOD", "GET"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
    ] {
        pair(&mut params, k, v);
    }
    let mut req = Vec::new();
    // BEGIN_REQUEST: role 1 (responder), flags 0 (close after the answer).
    record(&mut req, 1, &[0, 1, 0, 0, 0, 0, 0, 0]);
    record(&mut req, 4, &params);
    record(&mut req, 4, &[]);
    record(&mut req, 5, &[]);
    req
}

/// The STDOUT of a FastCGI answer split into (status code, body): records are
/// walked by their lengths; a truncated record ends the walk.
pub fn parse_answer(resp: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut at = 0;
    let mut ended = false;
    while at + 8 <= resp.len() {
        let kind = resp[at + 1];
        let len = u16::from_be_bytes([resp[at + 4], resp[at + 5]]) as usize;
        let pad = resp[at + 6] as usize;
        let Some(body) = resp.get(at + 8..at + 8 + len) else {
            break;
        };
        match kind {
            6 => out.extend_from_slice(body),
            7 => err.extend_from_slice(body),
            3 => ended = true,
            _ => {}
        }
        at += 8 + len + pad;
    }
    if !ended && out.is_empty() {
        return Err("no FastCGI answer".into());
    }
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, p + 4))
        .or_else(|| {
            out.windows(2)
                .position(|w| w == b"\n\n")
                .map(|p| (p, p + 2))
        });
    let Some((head_end, body_start)) = split else {
        return Err("the FastCGI answer has no headers".into());
    };
    let head = String::from_utf8_lossy(&out[..head_end]);
    let code = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("status")
                .then(|| v.split_whitespace().next()?.parse::<u16>().ok())?
        })
        .unwrap_or(200);
    Ok((code, out[body_start..].to_vec()))
}

fn exchange<S: Read + Write>(mut s: S, req: &[u8]) -> Result<Vec<u8>, String> {
    s.write_all(req).map_err(|e| format!("cannot send: {e}"))?;
    let mut resp = Vec::new();
    s.take(MAX_ANSWER)
        .read_to_end(&mut resp)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(resp)
}

/// GET `path?query` from the pool listening at `listen`: (status code, body).
pub fn get(listen: &Listen, path: &str, query: &str) -> Result<(u16, Vec<u8>), String> {
    let req = request(path, query);
    let resp = match listen {
        Listen::Unix(p) => {
            let s = std::os::unix::net::UnixStream::connect(p)
                .map_err(|e| format!("cannot connect to {}: {e}", p.display()))?;
            s.set_read_timeout(Some(TIMEOUT)).ok();
            s.set_write_timeout(Some(TIMEOUT)).ok();
            exchange(s, &req)?
        }
        Listen::Tcp(a) => {
            use std::net::ToSocketAddrs;
            let addr = a
                .to_socket_addrs()
                .ok()
                .and_then(|mut i| i.next())
                .ok_or_else(|| format!("cannot resolve {a}"))?;
            let s = std::net::TcpStream::connect_timeout(&addr, TIMEOUT)
                .map_err(|e| format!("cannot connect to {a}: {e}"))?;
            s.set_read_timeout(Some(TIMEOUT)).ok();
            s.set_write_timeout(Some(TIMEOUT)).ok();
            exchange(s, &req)?
        }
    };
    parse_answer(&resp)
}

/// The status of the pool at `listen` whose `pm.status_path` is `path`.
pub fn fetch(listen: &Listen, path: &str) -> Result<Status, String> {
    let (code, body) = get(listen, path, "json&full")?;
    if code != 200 {
        return Err(format!("php-fpm answered {code} for {path}"));
    }
    parse_json(&String::from_utf8_lossy(&body))
}

/// Where to ask a pool for its status: (socket, status path), when `pm.status_path`
/// is set. `pm.status_listen` (a socket for the status page alone) is preferred: the
/// request then does not queue behind the pool's own traffic.
pub fn endpoint(pool: &crate::stack::Pool) -> Option<(Listen, String)> {
    let path = pool
        .settings
        .get("pm.status_path")?
        .value
        .trim()
        .to_string();
    if !path.starts_with('/') {
        return None;
    }
    let listen = pool
        .settings
        .get("pm.status_listen")
        .or_else(|| pool.settings.get("listen"))?;
    Some((Listen::parse(&listen.value)?, path))
}

/// `check --live`: each pool's status page read once, one line per pool — the same
/// facts `tune --sample` decides from, without tuning. A pool is saturated when
/// `max children reached` or `max listen queue` is above 0 since php-fpm started it.
pub fn live_lines(stack: &crate::stack::Stack) -> Vec<String> {
    use crate::format::human_secs;
    let mut out = Vec::new();
    for p in &stack.pools {
        let Some((listen, path)) = endpoint(p) else {
            out.push(format!(
                "live: pool {}: no pm.status_path, php-fpm's counters cannot be read (set one, and keep nginx from serving it: S608)",
                p.name
            ));
            continue;
        };
        let own = !p.settings.contains_key("pm.status_listen");
        match fetch(&listen, &path) {
            Err(e) => out.push(format!("live: pool {}: status page not read: {e}", p.name)),
            Ok(s) => {
                let active = if own {
                    s.active_processes.saturating_sub(1)
                } else {
                    s.active_processes
                };
                let sat = crate::machine::workers::Saturation {
                    max_children_reached: s.max_children_reached,
                    reached_in_window: 0,
                    max_listen_queue: s.max_listen_queue,
                    listen_queue_seen: s.listen_queue,
                    since_secs: s.start_since,
                    slow_requests: s.slow_requests,
                };
                let verdict = if sat.is_saturated() {
                    "SATURATED: requests waited for a worker (`wpstack tune --sample` grows its share first)"
                } else {
                    "never ran out of workers"
                };
                out.push(format!(
                    "live: pool {}: {active} of {} processes busy now, at most {} at once; max children reached {}, listen queue {} (max {}), slow requests {}, since php-fpm started it {} ago: {verdict}",
                    p.name,
                    s.total_processes,
                    s.max_active_processes,
                    s.max_children_reached,
                    s.listen_queue,
                    s.max_listen_queue,
                    s.slow_requests,
                    human_secs(s.start_since),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"pool":"www","process manager":"static","start time":1700000000,"start since":42,"accepted conn":17,"listen queue":3,"max listen queue":5,"listen queue len":511,"idle processes":0,"active processes":2,"total processes":2,"max active processes":2,"max children reached":4,"slow requests":0,"processes":[{"pid":10,"state":"Running","start time":1,"start since":2,"requests":3,"request duration":4,"request method":"GET","request uri":"/x?token=SECRET","content length":0,"user":"-","script":"/w/x.php","last request cpu":0.00,"last request memory":0},{"pid":11,"state":"Idle","start time":1,"start since":2,"requests":3,"request duration":4,"request method":"GET","request uri":"/","content length":0,"user":"-","script":"-","last request cpu":0.00,"last request memory":2097152}]}"#;

    #[test]
    fn parses_the_counters_and_keeps_no_strings_of_requests() {
        let s = parse_json(SAMPLE).unwrap();
        assert_eq!(s.pool, "www");
        assert_eq!((s.listen_queue, s.max_listen_queue), (3, 5));
        assert_eq!((s.active_processes, s.max_children_reached), (2, 4));
        assert_eq!(s.processes, vec![(10, true), (11, false)]);
        assert!(!format!("{s:?}").contains("SECRET"));
        assert!(parse_json("{\"a\":1}").is_err());
        assert!(parse_json("pool: www").is_err());
    }

    #[test]
    fn answer_records_and_headers() {
        let mut resp = Vec::new();
        let body = format!("Content-type: application/json\r\nStatus: 200 OK\r\n\r\n{SAMPLE}");
        // Split over two STDOUT records, one padded, then END_REQUEST.
        let (a, b) = body.as_bytes().split_at(40);
        record(&mut resp, 6, a);
        resp.extend_from_slice(&[1, 6, 0, 1]);
        resp.extend_from_slice(&(b.len() as u16).to_be_bytes());
        resp.extend_from_slice(&[3, 0]);
        resp.extend_from_slice(b);
        resp.extend_from_slice(&[0, 0, 0]);
        record(&mut resp, 3, &[0; 8]);
        let (code, got) = parse_answer(&resp).unwrap();
        assert_eq!(code, 200);
        assert_eq!(
            parse_json(&String::from_utf8_lossy(&got)).unwrap().pool,
            "www"
        );
        let mut r404 = Vec::new();
        record(
            &mut r404,
            6,
            b"Status: 404 Not Found\r\n\r\nFile not found.",
        );
        assert_eq!(parse_answer(&r404).unwrap().0, 404);
        assert!(parse_answer(&[1, 6, 0]).is_err());
        // A record claiming more bytes than there are ends the walk.
        assert!(parse_answer(&[1, 6, 0, 1, 0xff, 0xff, 0, 0, b'x']).is_err());
    }

    /// A socket that answers garbage, or nothing at all: an error, in bounded time.
    #[test]
    fn a_bad_or_silent_peer_is_an_error_not_a_hang() {
        let d = tempfile::tempdir().unwrap();
        let garbage = d.path().join("g.sock");
        let l = std::os::unix::net::UnixListener::bind(&garbage).unwrap();
        let t = std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nhello");
            }
        });
        let e = fetch(&Listen::Unix(garbage), "/status").unwrap_err();
        assert!(e.contains("FastCGI"), "{e}");
        t.join().unwrap();
        let silent = d.path().join("s.sock");
        let l = std::os::unix::net::UnixListener::bind(&silent).unwrap();
        let start = std::time::Instant::now();
        let e = fetch(&Listen::Unix(silent), "/status").unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
        assert!(start.elapsed() < TIMEOUT * 3);
        drop(l);
        let e = fetch(&Listen::Unix(d.path().join("none.sock")), "/status").unwrap_err();
        assert!(e.contains("cannot connect"), "{e}");
    }

    #[test]
    fn listen_values() {
        assert_eq!(
            Listen::parse("/run/php/a.sock"),
            Some(Listen::Unix("/run/php/a.sock".into()))
        );
        assert_eq!(
            Listen::parse("9000"),
            Some(Listen::Tcp("127.0.0.1:9000".into()))
        );
        assert_eq!(
            Listen::parse("0.0.0.0:9001"),
            Some(Listen::Tcp("127.0.0.1:9001".into()))
        );
        assert_eq!(
            Listen::parse("[::1]:9002"),
            Some(Listen::Tcp("[::1]:9002".into()))
        );
        assert_eq!(Listen::parse("nonsense"), None);
    }
}
