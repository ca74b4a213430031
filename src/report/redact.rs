//! Secrets are never printed. One mechanism serves every path to the screen or to disk
//! (each report format, `--diff`, `tune`'s diff, `dump`, validation messages, notes):
//!
//! 1. **One list of secret-bearing names** ([`is_secret_name`]): `DB_PASSWORD`, the
//!    keys and salts, and any name holding `PASS`, `SECRET`, `TOKEN`, `KEY`, `SALT`,
//!    `PRIVATE`, `CREDENTIAL` or ending in `_PW` — applied to wp-config constants and
//!    secret-named variables/array keys, pool `env[…]`, `php_value[…]`/`php_admin_value[…]`
//!    and php.ini keys (`mysqli.default_pw`), nginx `fastcgi_param`/`uwsgi_param`/
//!    `scgi_param`/`set` of those names, `proxy_set_header Authorization`, `env NAME=…`.
//! 2. **Secret spans**: when a file is loaded, [`secret_spans`] marks the bytes of every
//!    such value (from the file's own tokens, so a multi-line `define()` or one with a
//!    syntax error is covered too) and stores them in the [`SourceMap`].
//! 3. **Masking**: a snippet line, a diff line or a dump value overlapping a secret span
//!    shows `********` there; free text (messages, program output) has every secret
//!    value found in step 2 replaced ([`Redactor::text`]).
//!
//! The public placeholder of wp-config-sample.php stays visible: S603 is about it.

use crate::finding::Place;
use crate::source::{FileId, SecretValues, SourceMap, Span};
use crate::stack::{FileKind, Syntax};
use crate::syntax::php::TokenKind;

pub const MASK: &str = "********";

/// The public placeholder from wp-config-sample.php stays visible: S603 is about it.
const PLACEHOLDER: &str = "put your unique phrase here";

/// Values shorter than this are masked in free text only next to their own place
/// (a one-letter password would otherwise mask every "a" in every message).
const SHORT: usize = SecretValues::HEAD;

/// The one list: does a constant, variable, environment variable, ini key or header
/// of this name carry a secret?
pub fn is_secret_name(name: &str) -> bool {
    // Called for every name of every file at load (hundreds of thousands on a big
    // host): compared in place, case-insensitively, with no uppercased copy.
    let u = name.trim().trim_start_matches('$').as_bytes();
    if u.is_empty() {
        return false;
    }
    // One pass: only the parts (PASS, SECRET, TOKEN, KEY, SALT, PRIVATE, CREDENTIAL,
    // AUTHORIZATION) that begin with the letter at `i` are compared there.
    let at =
        |i: usize, p: &[u8]| u.len() - i >= p.len() && u[i..i + p.len()].eq_ignore_ascii_case(p);
    let has = (0..u.len()).any(|i| match u[i].to_ascii_uppercase() {
        b'P' => at(i, b"PASS") || at(i, b"PRIVATE"),
        b'S' => at(i, b"SECRET") || at(i, b"SALT"),
        b'T' => at(i, b"TOKEN"),
        b'K' => at(i, b"KEY"),
        b'C' => at(i, b"CREDENTIAL"),
        b'A' => at(i, b"AUTHORIZATION"),
        _ => false,
    });
    let ends = |p: &[u8]| u.len() >= p.len() && u[u.len() - p.len()..].eq_ignore_ascii_case(p);
    has || ends(b"_PW") || u.eq_ignore_ascii_case(b"PW") || ends(b".PW")
}

/// A my.cnf option whose value is a secret, in any group: `password` (`[client]`,
/// `[mysqldump]`…), `master-password`, `wsrep_sst_auth` (user:password), `ssl-passphrase`
/// and friends. Not `key_buffer_size` or `ssl-key` (a path): option names here are
/// MySQL's own, so the generic name test would hide harmless sizes.
pub fn is_secret_mycnf_key(name: &str) -> bool {
    let (n, _) = crate::syntax::mycnf::normalize_name(&name.to_ascii_lowercase());
    n == "pass"
        || [
            "password",
            "passwd",
            "passphrase",
            "secret",
            "token",
            "-auth",
        ]
        .iter()
        .any(|p| n.contains(p))
}

/// An ini or pool entry's key (`env[DB_PASSWORD]`, `php_admin_value[mysqli.default_pw]`,
/// `mysqli.default_pw`): is its value secret?
pub fn is_secret_ini_key(name: &str, index: Option<&str>) -> bool {
    match index {
        Some(i) if !i.is_empty() => is_secret_name(i),
        _ => is_secret_name(name),
    }
}

/// An nginx directive with these arguments: which arguments (by index) are secret?
fn nginx_secret_args(name: &str, args: &[String]) -> std::ops::Range<usize> {
    let first = args.first().map(String::as_str).unwrap_or("");
    match name {
        "fastcgi_param" | "uwsgi_param" | "scgi_param" | "set" => {
            let php_value = matches!(first, "PHP_VALUE" | "PHP_ADMIN_VALUE")
                && args.get(1).is_some_and(|v| {
                    v.split(['\n', ';'])
                        .filter_map(|kv| kv.split_once('='))
                        .any(|(k, _)| is_secret_name(k.trim()))
                });
            if is_secret_name(first) || php_value {
                1..args.len()
            } else {
                0..0
            }
        }
        "proxy_set_header" | "grpc_set_header" | "add_header" | "more_set_headers"
            if is_secret_name(first) || first.eq_ignore_ascii_case("Proxy-Authorization") =>
        {
            1..args.len()
        }
        "secure_link_secret" => 0..args.len(),
        _ => 0..0,
    }
}

/// The bytes of every secret value in a file of this kind.
pub fn secret_spans(kind: FileKind, bytes: &[u8]) -> Vec<Span> {
    syntax_secret_spans(&Syntax::parse(kind, bytes), bytes)
}

/// [`secret_spans`] from a parsed file.
pub fn syntax_secret_spans(syntax: &Syntax, bytes: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    match syntax {
        Syntax::Nginx(f) => {
            for d in f.all_directives() {
                // Only these directives can carry a secret: the others cost no copy.
                if !matches!(
                    d.name.value.as_slice(),
                    b"env"
                        | b"fastcgi_param"
                        | b"uwsgi_param"
                        | b"scgi_param"
                        | b"set"
                        | b"proxy_set_header"
                        | b"grpc_set_header"
                        | b"add_header"
                        | b"more_set_headers"
                        | b"secure_link_secret"
                ) {
                    continue;
                }
                let name = d.name.text();
                let args: Vec<String> = d.args.iter().map(|a| a.text()).collect();
                if name == "env" {
                    if let Some(a) = d.args.first() {
                        let t = a.text();
                        if let Some((k, _)) = t.split_once('=') {
                            if is_secret_name(k) {
                                out.push(interior(bytes, a.span));
                            }
                        }
                    }
                    continue;
                }
                for i in nginx_secret_args(&name, &args) {
                    let a = &d.args[i];
                    if a.value.starts_with(b"$") && !a.value.contains(&b' ') {
                        continue; // a variable names no secret itself
                    }
                    out.push(interior(bytes, a.span));
                }
            }
        }
        Syntax::Ini(f) => {
            for (_, e) in f.entries() {
                if is_secret_ini_key(&e.key.name, e.key.index.as_deref())
                    && !e.value.span.is_empty()
                {
                    out.push(e.value.span);
                }
            }
        }
        Syntax::Php(f) => php_spans(&f.tokens, bytes, &mut out),
        Syntax::MyCnf(f) => {
            for l in &f.lines {
                if let crate::syntax::mycnf::LineKind::Option(o) = &l.kind {
                    if let Some(v) = o.value_span {
                        if is_secret_mycnf_key(&o.name) {
                            out.push(interior(bytes, v));
                        }
                    }
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// A quoted word's inside (the quotes stay visible), else the word.
fn interior(bytes: &[u8], span: Span) -> Span {
    let s = &bytes[span.start.min(bytes.len())..span.end.min(bytes.len())];
    match (s.first(), s.last()) {
        (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\'')) if s.len() >= 2 => {
            Span::new(span.start + 1, span.end - 1)
        }
        _ => span,
    }
}

/// The text of a PHP string token without quotes, when it is a plain literal.
fn php_literal(text: &[u8]) -> Option<&[u8]> {
    let t = match text {
        [b'b' | b'B', rest @ ..] => rest,
        _ => text,
    };
    match (t.first(), t.last()) {
        (Some(b'\''), Some(b'\'')) | (Some(b'"'), Some(b'"')) if t.len() >= 2 => {
            Some(&t[1..t.len() - 1])
        }
        _ => None,
    }
}

/// PHP: after a secret name — `define('DB_PASSWORD', …)`, `const AUTH_KEY = …`,
/// `$db_password = …`, `'password' => …` — every token up to the end of that value
/// (`)` or `,` closing it, `;`, or 200 tokens on broken input). String literals keep
/// their quotes.
fn php_spans(tokens: &[crate::syntax::php::Token], bytes: &[u8], out: &mut Vec<Span>) {
    let text = |i: usize| {
        let s = tokens[i].span;
        &bytes[s.start.min(bytes.len())..s.end.min(bytes.len())]
    };
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].kind, TokenKind::Whitespace | TokenKind::Comment))
        .collect();
    let mut k = 0;
    while k < sig.len() {
        let i = sig[k];
        let name: Option<std::borrow::Cow<str>> = match tokens[i].kind {
            TokenKind::String => php_literal(text(i)).map(String::from_utf8_lossy),
            TokenKind::Ident | TokenKind::Variable => Some(String::from_utf8_lossy(text(i))),
            _ => None,
        };
        if !name.is_some_and(|n| is_secret_name(&n)) {
            k += 1;
            continue;
        };
        let Some(&op) = sig.get(k + 1) else { break };
        let op_text = text(op);
        let closers: &[&[u8]] = match (tokens[i].kind, op_text) {
            // define('NAME', value) — the name is the call's first argument
            (TokenKind::String, b",") if k > 0 && text(sig[k - 1]) == b"(" => &[b")", b","],
            (TokenKind::String, b"=>") => &[b",", b"]", b")"],
            (TokenKind::Ident | TokenKind::Variable, b"=") => &[b";", b","],
            _ => {
                k += 1;
                continue;
            }
        };
        // The value: from the token after `op` to the closer at depth 0.
        let mut depth = 0usize;
        let mut j = k + 2;
        let mut steps = 0;
        while j < sig.len() && steps < 200 {
            let t = sig[j];
            let tt = text(t);
            if tokens[t].kind == TokenKind::Punct {
                match tt {
                    b"(" | b"[" | b"{" => depth += 1,
                    b")" | b"]" | b"}" if depth > 0 => depth -= 1,
                    _ if depth == 0 && (closers.contains(&tt) || tt == b";") => break,
                    _ => {}
                }
            }
            if tokens[t].kind == TokenKind::CloseTag {
                break;
            }
            let s = tokens[t].span;
            match tokens[t].kind {
                TokenKind::String => {
                    let inner = interior(bytes, s);
                    if &bytes[inner.start..inner.end] != PLACEHOLDER.as_bytes() {
                        out.push(inner);
                    }
                }
                TokenKind::Heredoc | TokenKind::Number | TokenKind::Error => out.push(s),
                _ => {}
            }
            j += 1;
            steps += 1;
        }
        k = j.max(k + 1);
    }
}

/// Replace the parts of `line` (which starts at byte `base` of its file) that fall in
/// one of `spans` with [`MASK`].
pub fn mask_bytes(line: &[u8], base: usize, spans: &[Span]) -> Vec<u8> {
    let end = base + line.len();
    let mut cuts: Vec<(usize, usize)> = spans
        .iter()
        .filter(|s| s.start < end && s.end > base)
        .map(|s| (s.start.max(base) - base, s.end.min(end) - base))
        .collect();
    if cuts.is_empty() {
        return line.to_vec();
    }
    cuts.sort_unstable();
    let mut out = Vec::with_capacity(line.len());
    let mut at = 0;
    for (s, e) in cuts {
        if e <= at {
            continue;
        }
        let s = s.max(at);
        out.extend_from_slice(&line[at..s]);
        // Keep a line ending the span swallowed (a multi-line value).
        out.extend_from_slice(MASK.as_bytes());
        let tail = &line[s..e];
        if tail.ends_with(b"\n") {
            if tail.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            } else {
                out.push(b'\n');
            }
        }
        at = e;
    }
    out.extend_from_slice(&line[at..]);
    out
}

/// Every secret value of [`SHORT`] bytes or more in `sources`, as written and unquoted.
fn secret_matcher(sources: &SourceMap) -> Option<SecretValues> {
    let mut values: Vec<String> = Vec::new();
    for (id, f) in sources.iter() {
        for s in sources.secrets(id) {
            let raw = String::from_utf8_lossy(f.slice(*s));
            let t = raw.trim();
            let bare = t.trim_start_matches(['\'', '"']);
            let unq = unquote(t);
            for v in [t, unq.as_str(), bare] {
                if v.len() >= SHORT && v != PLACEHOLDER {
                    values.push(v.to_string());
                }
            }
        }
    }
    let set = SecretValues::new(values);
    (!set.is_empty()).then_some(set)
}

/// Masks what a [`SourceMap`]'s files hold as secrets, in any text about them.
pub struct Redactor<'a> {
    sources: &'a SourceMap,
    /// All secret values of [`SHORT`] bytes or more, found in one pass over a text (a host with
    /// thousands of sites has tens of thousands of them).
    matcher: Option<std::sync::Arc<SecretValues>>,
}

impl<'a> Redactor<'a> {
    pub fn new(sources: &'a SourceMap) -> Self {
        // Built once per run: every report, diff, note and message shares it.
        let matcher = sources.redaction_matcher(|| secret_matcher(sources));
        Redactor { sources, matcher }
    }

    /// Free text (a message, a note, a program's output): every secret value of
    /// [`SHORT`] bytes or more masked, and any `define('DB_PASSWORD', '…')`-like text.
    pub fn text(&self, s: &str) -> String {
        let out = match &self.matcher {
            Some(m) => m.replace_all(s, MASK),
            None => s.to_string(),
        };
        redact_text(&out)
    }

    /// A message about `places`: [`Self::text`], and also the short secret values of
    /// those places' lines, where they stand as whole words.
    pub fn message(&self, s: &str, places: &[Place]) -> String {
        let mut out = self.text(s);
        for p in places {
            let f = self.sources.get(p.file);
            let (first, last) = (f.line_of(p.span.start), f.line_of(p.span.end));
            let lo = f.line_start(first);
            let hi = f.line_start(last + 1).max(p.span.end);
            for span in self.sources.secrets(p.file) {
                if span.start >= hi || span.end <= lo {
                    continue;
                }
                let v = String::from_utf8_lossy(f.slice(*span)).trim().to_string();
                let v = unquote(&v);
                let v = v.trim_start_matches(['\'', '"']);
                if v.is_empty() || v == PLACEHOLDER {
                    continue;
                }
                if v.len() < SHORT {
                    out = replace_word(&out, v);
                    continue;
                }
                // A program or parser may quote the value cut short ("…" after 30
                // bytes) or with what follows it: mask its longest prefix found.
                let mut n = v.len();
                while n >= SHORT.min(v.len()) {
                    if v.is_char_boundary(n) && out.contains(&v[..n]) {
                        out = out.replace(&v[..n], MASK);
                        break;
                    }
                    n -= 1;
                }
            }
        }
        out
    }

    /// Line `line` (1-based) of `file`, secrets masked, without its line ending.
    pub fn line(&self, file: FileId, line: usize) -> String {
        let f = self.sources.get(file);
        let bytes = f.line_bytes(line);
        let masked = mask_bytes(bytes, f.line_start(line), self.sources.secrets(file));
        self.text(&String::from_utf8_lossy(&masked))
    }

    /// Every string in a JSON value through [`Self::text`].
    pub fn json(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                let r = self.text(s);
                if r != *s {
                    *s = r;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.json(x)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| self.json(x)),
            _ => {}
        }
    }
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// Replace `word` where it is not part of a longer word.
fn replace_word(s: &str, word: &str) -> String {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, _) in s.match_indices(word) {
        let before = s[..i].chars().last();
        let after = s[i + word.len()..].chars().next();
        if !is_word(before) && !is_word(after) {
            out.push_str(&s[last..i]);
            out.push_str(MASK);
            last = i + word.len();
        }
    }
    out.push_str(&s[last..]);
    out
}

fn secret_names() -> impl Iterator<Item = &'static str> {
    std::iter::once("DB_PASSWORD").chain(crate::stack::wp_model::AUTH_KEYS.iter().copied())
}

/// Mask the string literals after a secret's name on one line of text (for text that
/// comes from no file: belt and braces behind [`Redactor`]).
pub fn redact_line(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line).into_owned();
    let Some(name_end) = secret_names()
        .filter_map(|n| {
            let i = text.find(n)?;
            // whole word: not part of a longer name
            let before = text[..i].chars().last();
            let after = text[i + n.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            (!word(before) && !word(after)).then_some(i + n.len())
        })
        .min()
    else {
        return text;
    };
    let (head, tail) = text.split_at(name_end);
    // Skip the name's own closing quote, then mask every later quoted literal.
    let mut out = String::from(head);
    let mut chars = tail.char_indices().peekable();
    let mut skipped_name_quote = !matches!(tail.chars().next(), Some('\'') | Some('"'));
    while let Some((i, c)) = chars.next() {
        if (c == '\'' || c == '"') && !skipped_name_quote {
            skipped_name_quote = true;
            out.push(c);
            continue;
        }
        if c == '\'' || c == '"' {
            let rest = &tail[i + 1..];
            match rest.find(c) {
                Some(end) => {
                    let lit = &rest[..end];
                    out.push(c);
                    out.push_str(if lit == PLACEHOLDER { lit } else { MASK });
                    out.push(c);
                    for _ in 0..lit.chars().count() + 1 {
                        chars.next();
                    }
                }
                None => {
                    out.push(c);
                    out.push_str(MASK);
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Belt and braces for free text with no file behind it: mask anything that looks
/// like a secret assignment.
pub fn redact_text(s: &str) -> String {
    if secret_names().any(|n| s.contains(n)) {
        s.lines()
            .map(|l| redact_line(l.as_bytes()))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_not_names() {
        assert_eq!(
            redact_line(b"define( 'DB_PASSWORD', 'hunter2' );"),
            "define( 'DB_PASSWORD', '********' );"
        );
        assert_eq!(
            redact_line(b"define('AUTH_KEY', 'put your unique phrase here');"),
            "define('AUTH_KEY', 'put your unique phrase here');"
        );
        assert_eq!(
            redact_line(b"define('DB_USER', 'bob');"),
            "define('DB_USER', 'bob');"
        );
        assert_eq!(
            redact_line(b"const NONCE_SALT = \"x'y\";"),
            "const NONCE_SALT = \"********\";"
        );
    }

    fn masked(kind: FileKind, src: &str) -> String {
        let spans = secret_spans(kind, src.as_bytes());
        String::from_utf8(mask_bytes(src.as_bytes(), 0, &spans)).expect("utf8")
    }

    #[test]
    fn the_one_list_of_names() {
        for n in [
            "DB_PASSWORD",
            "AUTH_KEY",
            "NONCE_SALT",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "mysqli.default_pw",
            "mysql.default_password",
            "$db_pass",
            "Authorization",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "DB_USER",
            "DB_HOST",
            "WP_DEBUG",
            "memory_limit",
            "SCRIPT_FILENAME",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn spans_in_each_language() {
        assert_eq!(
            masked(
                FileKind::Fpm,
                "[www]\nenv[DB_PASSWORD] = s3cr3t\nenv[HOME] = /home/x\nphp_admin_value[mysqli.default_pw] = pw\n"
            ),
            "[www]\nenv[DB_PASSWORD] = ********\nenv[HOME] = /home/x\nphp_admin_value[mysqli.default_pw] = ********\n"
        );
        assert_eq!(
            masked(
                FileKind::PhpIni,
                "mysqli.default_pw = \"pw\"\nmemory_limit = 1G\n"
            ),
            "mysqli.default_pw = ********\nmemory_limit = 1G\n"
        );
        assert_eq!(
            masked(
                FileKind::Nginx,
                "location / { fastcgi_param DB_PASSWORD \"s e\"; fastcgi_param HTTP_AUTHORIZATION $http_authorization; fastcgi_param X 1; }\nenv AWS_SECRET_ACCESS_KEY=abc;\n"
            ),
            "location / { fastcgi_param DB_PASSWORD \"********\"; fastcgi_param HTTP_AUTHORIZATION $http_authorization; fastcgi_param X 1; }\nenv ********;\n"
        );
        assert_eq!(
            masked(
                FileKind::WpConfig,
                "<?php\ndefine( 'DB_PASSWORD',\n    'multi'\n);\ndefine('AUTH_KEY', 'put your unique phrase here');\n$db_pass = \"x\" . 'y';\n$c = ['password' => 'p', 'host' => 'h'];\ndefine('DB_USER', 'u');\n"
            ),
            "<?php\ndefine( 'DB_PASSWORD',\n    '********'\n);\ndefine('AUTH_KEY', 'put your unique phrase here');\n$db_pass = \"********\" . '********';\n$c = ['password' => '********', 'host' => 'h'];\ndefine('DB_USER', 'u');\n"
        );
        // A syntax error inside the define: still masked, to the end of the statement.
        assert_eq!(
            masked(
                FileKind::WpConfig,
                "<?php\ndefine('DB_PASSWORD',\n  'abc' 'def'\n;\n"
            ),
            "<?php\ndefine('DB_PASSWORD',\n  '********' '********'\n;\n"
        );
    }

    #[test]
    fn short_values_are_masked_only_as_words_near_their_place() {
        assert_eq!(
            replace_word("value (v) and very", "v"),
            "value (********) and very"
        );
    }
}
