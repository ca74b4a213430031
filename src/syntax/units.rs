//! Quantities as each program reads them: nginx times and sizes, php.ini sizes,
//! php-fpm times and numbers. Parsed once into typed values; callers keep the raw
//! text for messages.
//!
//! Each function follows the program's own parser (read, not copied):
//! nginx `src/core/ngx_parse.c` (`ngx_parse_time`, `ngx_parse_size`,
//! `ngx_parse_offset`), PHP 8.2 `Zend/zend_ini.c` (`zend_ini_parse_quantity`,
//! `zend_ini_parse_bool`) and `sapi/fpm/fpm/fpm_conf.c` (`fpm_conf_set_time`,
//! `fpm_conf_set_integer`, `fpm_conf_set_boolean`). Where a program accepts
//! something odd (`1ms500`, `-1` as an fpm time, `256MB` as 256 bytes) we accept it
//! the same way, so that a value is flagged exactly when the program refuses it.

use std::fmt;
use std::time::Duration;

/// A value the program refuses, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    /// The text as written.
    pub input: String,
    /// Why the program refuses it.
    pub reason: String,
}

impl UnitError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        UnitError {
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.input, self.reason)
    }
}

impl std::error::Error for UnitError {}

// ---------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------

const NGX_MAX: i64 = i64::MAX;

/// A time for an nginx directive that counts milliseconds (`fastcgi_read_timeout`,
/// `proxy_read_timeout`, `keepalive_timeout`, `send_timeout`, ...): `ngx_parse_time`
/// with `is_sec = 0`. A bare number is seconds (`30` = 30s); units `ms s m h d w`,
/// largest first, each at most once (`1m30s`); months and years are refused.
pub fn nginx_time(s: &str) -> Result<Duration, UnitError> {
    ngx_parse_time(s, false).map(|ms| Duration::from_millis(ms.unsigned_abs()))
}

/// A time for an nginx directive that counts seconds (`expires`, `ssl_session_timeout`,
/// `fastcgi_cache_valid`...): `ngx_parse_time` with `is_sec = 1`. Adds `M` (30 days)
/// and `y` (365 days); refuses `ms`.
pub fn nginx_time_sec(s: &str) -> Result<Duration, UnitError> {
    ngx_parse_time(s, true).map(|sec| Duration::from_secs(sec.unsigned_abs()))
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Start,
    Year,
    Month,
    Week,
    Day,
    Hour,
    Min,
    Sec,
    Msec,
    Last,
}

fn ngx_parse_time(s: &str, is_sec: bool) -> Result<i64, UnitError> {
    let b = s.as_bytes();
    // A unit out of order; after a space it is the "number, space, unit" mistake.
    let order_at = |unit_at: usize| {
        if unit_at > 0 && b.get(unit_at - 1) == Some(&b' ') {
            let number = s.get(..unit_at).unwrap_or("").trim_end();
            let unit = s.get(unit_at..).unwrap_or("");
            UnitError::new(
                s,
                format!(
                    "nginx allows no space between a number and its unit: it reads `{number}` as a plain number and then refuses `{unit}` (write `{number}{unit}`)"
                ),
            )
        } else {
            UnitError::new(
                s,
                "units must go from the largest to the smallest, each at most once (`1h30m`, not `30m1h`)",
            )
        }
    };
    let mut valid = false;
    let mut value: i64 = 0;
    let mut total: i64 = 0;
    let mut step = if is_sec { Step::Start } else { Step::Month };
    let too_large = || UnitError::new(s, "too large for nginx");
    let mut p = 0;
    while let Some(&c) = b.get(p) {
        if c.is_ascii_digit() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(c - b'0')))
                .ok_or_else(too_large)?;
            p += 1;
            valid = true;
            continue;
        }
        p += 1;
        let (new_step, mut scale): (Step, i64) = match c {
            b'y' => {
                if !is_sec {
                    return Err(UnitError::new(
                        s,
                        "years (`y`) are not allowed here: this directive counts milliseconds (use `d` or `w`)",
                    ));
                }
                if step > Step::Start {
                    return Err(order_at(p - 1));
                }
                (Step::Year, 60 * 60 * 24 * 365)
            }
            b'M' => {
                if !is_sec {
                    return Err(UnitError::new(
                        s,
                        "months (`M`) are not allowed here: this directive counts milliseconds (`m` is minutes)",
                    ));
                }
                if step >= Step::Month {
                    return Err(order_at(p - 1));
                }
                (Step::Month, 60 * 60 * 24 * 30)
            }
            b'w' => {
                if step >= Step::Week {
                    return Err(order_at(p - 1));
                }
                (Step::Week, 60 * 60 * 24 * 7)
            }
            b'd' => {
                if step >= Step::Day {
                    return Err(order_at(p - 1));
                }
                (Step::Day, 60 * 60 * 24)
            }
            b'h' => {
                if step >= Step::Hour {
                    return Err(order_at(p - 1));
                }
                (Step::Hour, 60 * 60)
            }
            b'm' if b.get(p) == Some(&b's') => {
                if is_sec {
                    return Err(UnitError::new(
                        s,
                        "milliseconds (`ms`) are not allowed here: this directive counts seconds",
                    ));
                }
                if step >= Step::Msec {
                    return Err(order_at(p - 1));
                }
                p += 1;
                (Step::Msec, 1)
            }
            b'm' => {
                if step >= Step::Min {
                    return Err(order_at(p - 1));
                }
                (Step::Min, 60)
            }
            b's' => {
                if step >= Step::Sec {
                    return Err(order_at(p - 1));
                }
                (Step::Sec, 1)
            }
            b' ' => {
                if step >= Step::Sec {
                    return Err(UnitError::new(s, "nginx takes a space as the end of a number in seconds, and nothing may follow a plain number or seconds"));
                }
                (Step::Last, 1)
            }
            _ => {
                let what = s.get(p - 1..).and_then(|r| r.chars().next()).unwrap_or('?');
                let before = s.get(..p - 1).unwrap_or("");
                let mut reason = if before.is_empty() {
                    format!("`{what}` is not a time unit")
                } else {
                    format!(
                        "nginx reads `{before}` and then sees `{what}`, which is not a time unit"
                    )
                };
                reason.push_str(if is_sec {
                    " (units: s m h d w M y, e.g. `30s`, `1h30m`)"
                } else {
                    " (units: ms s m h d w, e.g. `30s`, `1m30s`, `500ms`)"
                });
                return Err(UnitError::new(s, reason));
            }
        };
        step = new_step;
        let mut max = match step {
            Step::Year => NGX_MAX / (60 * 60 * 24 * 365),
            Step::Month => NGX_MAX / (60 * 60 * 24 * 30),
            Step::Week => NGX_MAX / (60 * 60 * 24 * 7),
            Step::Day => NGX_MAX / (60 * 60 * 24),
            Step::Hour => NGX_MAX / (60 * 60),
            Step::Min => NGX_MAX / 60,
            _ => NGX_MAX,
        };
        if step != Step::Msec && !is_sec {
            scale *= 1000;
            max /= 1000;
        }
        if value > max {
            return Err(too_large());
        }
        value *= scale;
        if total > NGX_MAX - value {
            return Err(too_large());
        }
        total += value;
        value = 0;
        while b.get(p) == Some(&b' ') {
            p += 1;
        }
    }
    if !valid {
        return Err(UnitError::new(
            s,
            if s.is_empty() {
                "empty time"
            } else {
                "no number in this time"
            },
        ));
    }
    if !is_sec {
        if value > NGX_MAX / 1000 {
            return Err(too_large());
        }
        value *= 1000;
    }
    if total > NGX_MAX - value {
        return Err(too_large());
    }
    Ok(total + value)
}

/// A size for an nginx directive read by `ngx_parse_size` (buffers:
/// `fastcgi_buffer_size`, `client_body_buffer_size`, ...): digits with an optional
/// `k`/`K` or `m`/`M`. `g` is refused here (it is accepted only by offsets).
pub fn nginx_size(s: &str) -> Result<u64, UnitError> {
    ngx_parse_quantity(s, false)
}

/// A size for an nginx directive read by `ngx_parse_offset` (`client_max_body_size`,
/// `fastcgi_max_temp_file_size`, ...): like [`nginx_size`] plus `g`/`G`.
pub fn nginx_offset(s: &str) -> Result<u64, UnitError> {
    ngx_parse_quantity(s, true)
}

fn ngx_parse_quantity(s: &str, offset: bool) -> Result<u64, UnitError> {
    let b = s.as_bytes();
    let Some(&unit) = b.last() else {
        return Err(UnitError::new(s, "empty size"));
    };
    let (digits, scale): (&[u8], u64) = match unit {
        b'k' | b'K' => (&b[..b.len() - 1], 1024),
        b'm' | b'M' => (&b[..b.len() - 1], 1024 * 1024),
        b'g' | b'G' if offset => (&b[..b.len() - 1], 1024 * 1024 * 1024),
        b'g' | b'G' => {
            return Err(UnitError::new(
                s,
                "this directive takes sizes in bytes, `k` or `m` only (no `g`: write `1024m`)",
            ))
        }
        _ => (b, 1),
    };
    if digits.is_empty() {
        return Err(UnitError::new(s, "no number before the unit"));
    }
    if let Some(pos) = digits.iter().position(|c| !c.is_ascii_digit()) {
        let what = s.get(pos..).and_then(|r| r.chars().next()).unwrap_or('?');
        let reason = if what == ' ' {
            "nginx allows no space inside a size (write `16k`, not `16 k`)".to_string()
        } else if what == '.' {
            "nginx sizes are whole numbers (write `1536k`, not `1.5m`)".to_string()
        } else if what == '-' {
            "a size cannot be negative".to_string()
        } else {
            format!(
                "`{what}` is not a size unit (units: k, m{})",
                if offset { ", g" } else { "" }
            )
        };
        return Err(UnitError::new(s, reason));
    }
    let mut n: u64 = 0;
    for &c in digits {
        n = n
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .filter(|&v| v <= NGX_MAX as u64)
            .ok_or_else(|| UnitError::new(s, "too large for nginx"))?;
    }
    let max = NGX_MAX as u64 / scale;
    if n > max {
        return Err(UnitError::new(s, "too large for nginx"));
    }
    Ok(n * scale)
}

// ---------------------------------------------------------------------------
// PHP
// ---------------------------------------------------------------------------

/// A php.ini size or count as PHP 8.2 reads it (`zend_ini_parse_quantity`, used by
/// `memory_limit`, `post_max_size`, `upload_max_filesize`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniQuantity {
    /// What PHP uses (in bytes for sizes). `-1` is "no limit" where PHP allows it.
    pub value: i64,
    /// PHP's own warning when the text is not a clean quantity (PHP still uses
    /// `value`): `Invalid quantity "256MB": unknown multiplier "B", interpreting as
    /// "256" for backwards compatibility`.
    pub warning: Option<String>,
}

fn zend_is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// smart_str_append_escaped: make control bytes visible.
fn escaped(b: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c < 32 || c == b'\\' || c > 126 {
            match c {
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x0c => out.push_str("\\f"),
                0x0b => out.push_str("\\v"),
                b'\\' => out.push_str("\\\\"),
                0x1b => out.push_str("\\e"),
                _ => out.push_str(&format!("\\x{c:02X}")),
            }
        } else {
            out.push(c as char);
        }
        i += 1;
    }
    out
}

/// C `strtoull(s, &end, base)`: leading blanks, an optional sign (a minus negates
/// modulo 2^64), `0x` for base 16 (and base 0), a leading `0` for octal in base 0.
/// Returns (value, bytes used — 0 when there are no digits, overflowed).
fn strtoull(s: &[u8], base: u32) -> (u64, usize, bool) {
    let mut i = 0;
    while s.get(i).is_some_and(|&c| zend_is_whitespace(c)) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            negative = c == b'-';
            i += 1;
        }
    }
    let hex_prefix = |i: usize| {
        s.get(i) == Some(&b'0')
            && matches!(s.get(i + 1), Some(b'x') | Some(b'X'))
            && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    };
    let base = match base {
        0 if hex_prefix(i) => {
            i += 2;
            16
        }
        0 if s.get(i) == Some(&b'0') => 8,
        0 => 10,
        16 if hex_prefix(i) => {
            i += 2;
            16
        }
        b => b,
    };
    let start = i;
    let mut v: u64 = 0;
    let mut over = false;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        match v
            .checked_mul(u64::from(base))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            None => over = true,
        }
        i += 1;
    }
    if i == start {
        return (0, 0, false);
    }
    if over {
        return (u64::MAX, i, true);
    }
    (if negative { v.wrapping_neg() } else { v }, i, false)
}

/// PHP 8.2's `zend_ini_parse_quantity` (signed): leading/trailing whitespace is
/// ignored, `+`/`-` sign, `0x`/`0o`/`0b` prefixes (and a leading `0` means octal),
/// whitespace allowed before the one-letter multiplier `k`, `m` or `g` (any case,
/// powers of 1024). Anything else gives PHP's warning and PHP's fallback value.
pub fn ini_quantity(s: &str) -> IniQuantity {
    let (value, warning) = parse_quantity(s.as_bytes());
    IniQuantity {
        value: value as i64,
        warning,
    }
}

fn parse_quantity(value: &[u8]) -> (u64, Option<String>) {
    let quoted = || escaped(value);
    let no_digits = || {
        Some(format!(
            "Invalid quantity \"{}\": no valid leading digits, interpreting as \"0\" for backwards compatibility",
            quoted()
        ))
    };
    let mut start = 0;
    let mut end = value.len();
    while start < end && value.get(start).is_some_and(|&c| zend_is_whitespace(c)) {
        start += 1;
    }
    while start < end && value.get(end - 1).is_some_and(|&c| zend_is_whitespace(c)) {
        end -= 1;
    }
    if start == end {
        return (0, None);
    }
    let mut d = start;
    let mut negative = false;
    match value.get(d) {
        Some(b'+') => d += 1,
        Some(b'-') => {
            negative = true;
            d += 1;
        }
        _ => {}
    }
    let at = |i: usize| if i < end { value.get(i).copied() } else { None };
    if !at(d).is_some_and(|c| c.is_ascii_digit()) {
        return (0, no_digits());
    }
    let mut base = 0;
    let mut skip_prefix = false;
    if at(d) == Some(b'0') && !at(d + 1).is_some_and(|c| c.is_ascii_digit()) {
        if d + 1 == end {
            return (0, None);
        }
        match at(d + 1) {
            Some(b'g' | b'G' | b'm' | b'M' | b'k' | b'K') => {}
            Some(b'x' | b'X') => base = 16,
            Some(b'o' | b'O') => base = 8,
            Some(b'b' | b'B') => base = 2,
            other => {
                let c = other.unwrap_or(0);
                return (
                    0,
                    Some(format!(
                        "Invalid prefix \"0{}\", interpreting as \"0\" for backwards compatibility",
                        String::from_utf8_lossy(&[c])
                    )),
                );
            }
        }
        if base != 0 {
            d += 2;
            skip_prefix = true;
        }
    }
    if skip_prefix {
        let no_digits_after = || {
            Some(format!(
                "Invalid quantity \"{}\": no digits after base prefix, interpreting as \"0\" for backwards compatibility",
                quoted()
            ))
        };
        if d == end {
            return (0, no_digits_after());
        }
        // zend_ini_consume_quantity_prefix: a second sign or prefix is refused.
        let mut q = d;
        while q < end && value.get(q).is_some_and(|&c| zend_is_whitespace(c)) {
            q += 1;
        }
        if matches!(at(q), Some(b'+' | b'-')) {
            q += 1;
        }
        if at(q) == Some(b'0') && !at(q + 1).is_some_and(|c| c.is_ascii_digit()) {
            if q + 1 == end {
                // "Value is just 0": PHP lets it through (strtoull skips the blanks).
                q = d;
            } else if matches!(at(q + 1), Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B')) {
                q += 2;
            }
        }
        if q != d {
            return (0, no_digits_after());
        }
    }
    let digits = value.get(d..end).unwrap_or_default();
    let (mut retval, used, erange) = strtoull(digits, base);
    let mut overflow = erange;
    let mut digits_end = d + used;
    if !overflow {
        if negative && retval == (i64::MAX as u64) + 1 {
            retval = 0u64.wrapping_sub(retval);
        } else if (retval as i64) < 0 {
            overflow = true;
        } else if negative {
            retval = 0u64.wrapping_sub(retval);
        }
    }
    if used == 0 {
        return (0, no_digits());
    }
    while digits_end < end
        && value
            .get(digits_end)
            .is_some_and(|&c| zend_is_whitespace(c))
    {
        digits_end += 1;
    }
    if digits_end == end {
        return if overflow {
            (retval, Some(out_of_range(&quoted())))
        } else {
            (retval, None)
        };
    }
    let last = value.get(end - 1).copied().unwrap_or(0);
    let factor: u64 = match last {
        b'g' | b'G' => 1 << 30,
        b'm' | b'M' => 1 << 20,
        b'k' | b'K' => 1 << 10,
        _ => {
            return (
                retval,
                Some(format!(
                    "Invalid quantity \"{}\": unknown multiplier \"{}\", interpreting as \"{}\" for backwards compatibility",
                    quoted(),
                    escaped_char(last),
                    escaped(value.get(..digits_end).unwrap_or_default())
                )),
            );
        }
    };
    if !overflow {
        let s = retval as i64;
        let f = factor as i64;
        overflow = if s > 0 {
            s > i64::MAX / f
        } else {
            s < i64::MIN / f
        };
    }
    retval = retval.wrapping_mul(factor);
    if digits_end != end - 1 {
        return (
            retval,
            Some(format!(
                "Invalid quantity \"{}\", interpreting as \"{}{}\" for backwards compatibility",
                quoted(),
                escaped(value.get(..digits_end).unwrap_or_default()),
                escaped_char(last)
            )),
        );
    }
    if overflow {
        return (retval, Some(out_of_range(&quoted())));
    }
    (retval, None)
}

fn escaped_char(c: u8) -> String {
    escaped(&[c])
}

fn out_of_range(quoted: &str) -> String {
    format!(
        "Invalid quantity \"{quoted}\": value is out of range, using overflow result for backwards compatibility"
    )
}

/// A php.ini boolean as PHP reads it at run time (`zend_ini_parse_bool`): `true`,
/// `yes`, `on` (any case, nothing around them) are true; anything else is true when
/// it starts with a non-zero number (`atoi`). The INI parser has already turned
/// unquoted `On`/`Off`/... into `"1"`/`""`.
pub fn ini_bool(s: &str) -> bool {
    let t = s.as_bytes();
    if t.eq_ignore_ascii_case(b"true")
        || t.eq_ignore_ascii_case(b"yes")
        || t.eq_ignore_ascii_case(b"on")
    {
        return true;
    }
    c_atoi(t) != 0
}

/// C `atoi` (glibc: `(int) strtol(s, NULL, 10)`).
pub(crate) fn c_atoi(s: &[u8]) -> i32 {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            i += 1;
        }
    }
    let mut v: i64 = 0;
    let mut saturated = false;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_add(i64::from(c - b'0')))
        {
            Some(x) => v = x,
            None => {
                saturated = true;
                break;
            }
        }
        i += 1;
    }
    let l = match (saturated, neg) {
        (true, false) => i64::MAX,
        (true, true) => i64::MIN,
        (false, true) => -v,
        (false, false) => v,
    };
    l as i32
}

// ---------------------------------------------------------------------------
// php-fpm
// ---------------------------------------------------------------------------

/// A php-fpm time (`request_terminate_timeout`, `pm.process_idle_timeout`,
/// `emergency_restart_interval`, ...) in seconds, as `fpm_conf_set_time` reads it:
/// a number with an optional last letter `s`, `m`, `h` or `d`. php-fpm also
/// accepts negative numbers and junk before the suffix (it uses `atoi`); those
/// are errors here — see [`fpm_time_raw`] for exactly what php-fpm does.
pub fn fpm_time(s: &str) -> Result<u64, UnitError> {
    let secs = fpm_time_raw(s)?;
    let body = s.strip_suffix(['s', 'm', 'h', 'd']).unwrap_or(s);
    if !body.is_empty() && !body.bytes().all(|c| c.is_ascii_digit()) {
        return Err(UnitError::new(
            s,
            format!(
                "php-fpm reads this as {secs} seconds (it stops reading the number at the first non-digit); write a whole number with one unit, e.g. `30s`, `5m`"
            ),
        ));
    }
    u64::try_from(secs).map_err(|_| UnitError::new(s, "a time cannot be negative"))
}

/// Exactly what `fpm_conf_set_time` stores (seconds, C `int`), or php-fpm's error.
pub fn fpm_time_raw(s: &str) -> Result<i64, UnitError> {
    let b = s.as_bytes();
    let Some(&suffix) = b.last() else {
        return Err(UnitError::new(
            s,
            "php-fpm: invalid time value (empty; write e.g. `30s`)",
        ));
    };
    let body = &b[..b.len() - 1];
    let secs: i32 = match suffix {
        b'm' => c_atoi(body).wrapping_mul(60),
        b'h' => c_atoi(body).wrapping_mul(60 * 60),
        b'd' => c_atoi(body).wrapping_mul(24 * 60 * 60),
        b's' => c_atoi(body),
        b'0'..=b'9' => c_atoi(b),
        _ => {
            let what = s.chars().last().unwrap_or('?');
            return Err(UnitError::new(
                s,
                format!(
                    "php-fpm: unknown suffix used in time value (`{what}`; php-fpm knows s, m, h and d)"
                ),
            ));
        }
    };
    Ok(i64::from(secs))
}

/// A php-fpm integer (`pm.max_children`, `listen.backlog`, ...) as
/// `fpm_conf_set_integer` reads it: an optional leading `-` and digits only (the
/// empty string is 0). Returns the C `int` php-fpm stores.
pub fn fpm_int(s: &str) -> Result<i64, UnitError> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if i == 0 && c == b'-' {
            continue;
        }
        if !c.is_ascii_digit() {
            return Err(UnitError::new(
                s,
                "php-fpm: is not a valid number (greater or equal than zero)",
            ));
        }
    }
    Ok(i64::from(c_atoi(b)))
}

/// A php-fpm boolean (`catch_workers_output`, `clear_env`, `php_flag[...]`...) as
/// php-fpm 8.2 reads the text PHP's INI parser gives it: `1`, `yes`, `on`, `true`
/// are true; the empty string, `0`, `no`, `off`, `false`, `none` are false —
/// exactly these (unquoted `Yes`/`OFF` are fine because the INI parser already made
/// them `"1"`/`""`, but a quoted `"Yes"`, `"2"` or `" 1"` is refused).
pub fn fpm_bool(s: &str) -> Result<bool, UnitError> {
    match s {
        "1" | "yes" | "on" | "true" => Ok(true),
        "" | "0" | "no" | "off" | "false" | "none" => Ok(false),
        _ => Err(UnitError::new(
            s,
            "php-fpm: invalid boolean value (use yes/no, on/off, true/false, 1/0)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u128 {
        nginx_time(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .as_millis()
    }

    #[test]
    fn nginx_times() {
        assert_eq!(ms("30"), 30_000);
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("1m30s"), 90_000);
        assert_eq!(ms("1m 30s"), 90_000);
        assert_eq!(ms("1h"), 3_600_000);
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("1w"), 604_800_000);
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("30 "), 30_000);
        assert_eq!(ms("1ms500"), 500_001); // nginx: a bare number after ms is seconds
        for bad in [
            "30 s",
            "30x",
            "",
            "1h1h",
            "1s1m",
            "1k",
            "1M",
            "1y",
            "9223372036854775807",
        ] {
            assert!(nginx_time(bad).is_err(), "{bad}");
        }
        let e = nginx_time("30x").expect_err("30x");
        assert_eq!(
            e.to_string(),
            "`30x`: nginx reads `30` and then sees `x`, which is not a time unit (units: ms s m h d w, e.g. `30s`, `1m30s`, `500ms`)"
        );
        assert!(nginx_time("30 s")
            .expect_err("30 s")
            .to_string()
            .contains("space"));
        assert!(nginx_time("1M")
            .expect_err("1M")
            .to_string()
            .contains("months"));
    }

    #[test]
    fn nginx_times_in_seconds() {
        let s = |x: &str| nginx_time_sec(x).map(|d| d.as_secs());
        assert_eq!(s("1M"), Ok(30 * 86_400));
        assert_eq!(s("1y"), Ok(365 * 86_400));
        assert_eq!(s("1y1M"), Ok(395 * 86_400));
        assert_eq!(s("10m"), Ok(600));
        assert!(s("500ms").is_err());
        assert!(s("1M1y").is_err());
    }

    #[test]
    fn nginx_sizes() {
        assert_eq!(nginx_size("16k"), Ok(16 * 1024));
        assert_eq!(nginx_size("16K"), Ok(16 * 1024));
        assert_eq!(nginx_size("1m"), Ok(1 << 20));
        assert_eq!(nginx_size("100"), Ok(100));
        assert!(nginx_size("1g").is_err());
        assert_eq!(nginx_offset("1g"), Ok(1 << 30));
        assert_eq!(nginx_offset("1G"), Ok(1 << 30));
        for bad in ["", "-1", "1.5k", "16 k", "1t", "k", "9007199254740992k"] {
            assert!(nginx_size(bad).is_err(), "{bad}");
            assert!(nginx_offset(bad).is_err(), "{bad}");
        }
        assert_eq!(nginx_size("8796093022208k"), Ok(8_796_093_022_208 * 1024));
        assert!(nginx_size("16 k")
            .expect_err("space")
            .to_string()
            .contains("space"));
    }

    fn q(s: &str) -> (i64, Option<String>) {
        let r = ini_quantity(s);
        (r.value, r.warning)
    }

    #[test]
    fn ini_quantities_like_php_82() {
        assert_eq!(q("128M"), (128 << 20, None));
        assert_eq!(q("-1"), (-1, None));
        assert_eq!(q("1G"), (1 << 30, None));
        assert_eq!(q(" 12 k "), (12 << 10, None));
        assert_eq!(q(""), (0, None));
        assert_eq!(q("0x10"), (16, None));
        assert_eq!(q("0o17"), (15, None));
        assert_eq!(q("0b101"), (5, None));
        assert_eq!(q("010"), (8, None));
        assert_eq!(q("-2M"), (-2 << 20, None));
        assert_eq!(
            q("256MB"),
            (
                256,
                Some("Invalid quantity \"256MB\": unknown multiplier \"B\", interpreting as \"256\" for backwards compatibility".into())
            )
        );
        assert_eq!(
            q("1.5M"),
            (
                1 << 20,
                Some(
                    "Invalid quantity \"1.5M\", interpreting as \"1M\" for backwards compatibility"
                        .into()
                )
            )
        );
        assert_eq!(q("08").0, 0);
        assert!(q("08").1.is_some());
        assert_eq!(q("0x").1.as_deref(), Some("Invalid quantity \"0x\": no digits after base prefix, interpreting as \"0\" for backwards compatibility"));
        assert_eq!(
            q("0z").1.as_deref(),
            Some("Invalid prefix \"0z\", interpreting as \"0\" for backwards compatibility")
        );
        assert_eq!(q("k").1.as_deref(), Some("Invalid quantity \"k\": no valid leading digits, interpreting as \"0\" for backwards compatibility"));
        assert_eq!(q("9223372036854775808").0, i64::MIN);
        assert_eq!(q("99999999999999999999").0, -1);
        assert!(q("9999999999G").1.is_some());
        assert_eq!(q("-9223372036854775808"), (i64::MIN, None));
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(c_atoi(b" 12abc"), 12);
        assert_eq!(c_atoi(b"-3"), -3);
        assert_eq!(c_atoi(b"x"), 0);
        assert_eq!(c_atoi(b"99999999999999999999"), -1);
    }

    #[test]
    fn ini_bools() {
        for t in ["1", "On", "yes", "TRUE", "2", "12abc", " 1"] {
            assert!(ini_bool(t), "{t}");
        }
        for f in ["", "0", "off", "no", "false", " on", "abc", "none"] {
            assert!(!ini_bool(f), "{f}");
        }
    }

    #[test]
    fn fpm_times() {
        assert_eq!(fpm_time("30"), Ok(30));
        assert_eq!(fpm_time("30s"), Ok(30));
        assert_eq!(fpm_time("5m"), Ok(300));
        assert_eq!(fpm_time("1h"), Ok(3600));
        assert_eq!(fpm_time("1d"), Ok(86_400));
        assert_eq!(fpm_time("0"), Ok(0));
        let e = fpm_time("30x").expect_err("30x");
        assert!(
            e.to_string().contains("unknown suffix used in time value"),
            "{e}"
        );
        assert!(fpm_time("")
            .expect_err("empty")
            .to_string()
            .contains("invalid time value"));
        // php-fpm accepts these (atoi); the typed reader does not.
        assert_eq!(fpm_time_raw("-1"), Ok(-1));
        assert_eq!(fpm_time_raw("1.5"), Ok(1));
        assert_eq!(fpm_time_raw("5 s"), Ok(5));
        assert_eq!(fpm_time_raw("s"), Ok(0));
        assert!(fpm_time("-1").is_err());
        assert!(fpm_time("1.5").is_err());
        assert!(fpm_time("30ms").is_err()); // php-fpm: 30m... of `30m`? No: `30m` + `s` → atoi("30m") = 30
        assert_eq!(fpm_time_raw("30ms"), Ok(30));
    }

    #[test]
    fn fpm_ints_and_bools() {
        assert_eq!(fpm_int("5"), Ok(5));
        assert_eq!(fpm_int("-5"), Ok(-5));
        assert_eq!(fpm_int(""), Ok(0));
        assert!(fpm_int("5x").is_err());
        assert!(fpm_int("+5").is_err());
        assert!(fpm_int(" 5").is_err());
        assert_eq!(fpm_bool("1"), Ok(true));
        assert_eq!(fpm_bool("yes"), Ok(true));
        assert_eq!(fpm_bool(""), Ok(false));
        assert_eq!(fpm_bool("0"), Ok(false));
        assert_eq!(fpm_bool("none"), Ok(false));
        for bad in ["2", "00", "YES", " 1", "On", "null", "y"] {
            assert!(fpm_bool(bad).is_err(), "{bad}");
        }
    }
}
