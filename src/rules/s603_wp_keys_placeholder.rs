//! S603 wp-keys-placeholder: authentication keys and salts that are missing, empty,
//! duplicated or still the sample's placeholder.

use crate::finding::{Finding, Place};
use crate::rules::Context;
use crate::syntax::php::PhpValue;

crate::declare_rule!(
    "S603",
    "wp-keys-placeholder",
    Error,
    No,
    "an auth key/salt is missing, empty, duplicated or still `put your unique phrase here`",
    check
);

use crate::stack::wp_model::AUTH_KEYS as KEYS;

const PLACEHOLDER: &str = "put your unique phrase here";

fn check(cx: &Context, out: &mut Vec<Finding>) {
    let stack = cx.stack;
    for wp in &stack.wp {
        // None defined at all: WordPress generates random keys and keeps them in the
        // database (wp_salt()), which is safe; a partial set is a mistake.
        if !KEYS.iter().any(|k| wp.constants.contains_key(*k)) {
            continue;
        }
        let mut problems: Vec<(Option<Place>, String, &str)> = Vec::new();
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for key in KEYS {
            match wp
                .constants
                .get(*key)
                .map(|c| (&c.value.value, c.value.place()))
            {
                None => problems.push((None, "not defined".into(), key)),
                Some((PhpValue::Str(s), place)) => {
                    if s.trim().is_empty() {
                        problems.push((place, "empty".into(), key));
                    } else if s == PLACEHOLDER {
                        problems.push((place, format!("still '{PLACEHOLDER}'"), key));
                    } else if let Some((other, _)) = seen.iter().find(|(_, v)| *v == s.as_str()) {
                        problems.push((place, format!("the same value as {other}"), key));
                    } else {
                        seen.push((key, s.as_str()));
                    }
                }
                Some(_) => {} // computed (getenv, constants): fine
            }
        }
        if problems.is_empty() {
            continue;
        }
        let primary = problems
            .iter()
            .find_map(|(p, _, _)| *p)
            .unwrap_or(Place::new(wp.file, Default::default()));
        // One finding listing the keys, grouped by what is wrong with them; each key's
        // place is a related note named by the key alone.
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for (_, why, key) in &problems {
            match groups.iter_mut().find(|(w, _)| w == why) {
                Some((_, keys)) => keys.push(key),
                None => groups.push((why.clone(), vec![key])),
            }
        }
        let listed = groups
            .iter()
            .map(|(why, keys)| format!("{why}: {}", keys.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        let mut f = Finding::at(
            &RULE,
            primary,
            format!(
                "{} of the 8 authentication keys and salts are unusable ({listed}): WordPress signs login cookies and nonces with them, so with public or shared values anyone can forge a logged-in cookie; generate new ones (https://api.wordpress.org/secret-key/1.1/salt/) — wpstack never writes secrets",
                problems.len(),
            ),
        );
        for (p, _, key) in problems.iter().skip(1) {
            f = f.related_opt(*p, key.to_string());
        }
        out.push(f);
    }
}
