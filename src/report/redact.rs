//! Secrets are never printed: database password, keys and salts are masked in every
//! snippet and message, in every format.

fn secret_names() -> impl Iterator<Item = &'static str> {
    std::iter::once("DB_PASSWORD").chain(crate::stack::wp_model::AUTH_KEYS.iter().copied())
}

/// The public placeholder from wp-config-sample.php stays visible: S603 is about it.
const PLACEHOLDER: &str = "put your unique phrase here";

/// Mask the string literals after a secret's name on one line of text.
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
                    out.push_str(if lit == PLACEHOLDER { lit } else { "********" });
                    out.push(c);
                    for _ in 0..lit.chars().count() + 1 {
                        chars.next();
                    }
                }
                None => {
                    out.push(c);
                    out.push_str("********");
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Belt and braces for free text (messages): mask anything that looks like a secret
/// assignment.
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
}
