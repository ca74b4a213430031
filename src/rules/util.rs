//! Small helpers rules share for reading typed values and wording messages.
//! (Effective values themselves come from `src/stack/`.)

use crate::finding::Place;
use crate::stack::{Origin, PhpSetting, Pool, Sourced, Stack};

pub use crate::format::human_bytes;
pub use crate::stack::typed::{fpm_seconds, ini_bytes, nginx_seconds, php_seconds};

/// "pool.d/www.conf:31" or "PHP default".
pub fn origin(stack: &Stack, o: &Origin) -> String {
    stack.origin_text(o)
}

/// How a PHP setting of a pool came to be, for messages:
/// "pool www, php_admin_value at pool.d/www.conf:31" / "php.ini:409" / "PHP default".
pub fn php_origin(stack: &Stack, pool: &Pool, s: &PhpSetting) -> String {
    match &s.value.origin {
        Origin::At(p) => match s.via {
            crate::stack::Via::PhpIni | crate::stack::Via::ScanDir => {
                format!("{} at {}", s.via.as_str(), stack.display(*p))
            }
            via if via.from_nginx() => format!("nginx {} at {}", via.as_str(), stack.display(*p)),
            via => format!(
                "pool {}, {} at {}",
                pool.name,
                via.as_str(),
                stack.display(*p)
            ),
        },
        Origin::Default(w) => (*w).to_string(),
    }
}

/// "pool.d/www.conf:31" or "php-fpm default".
pub fn pool_origin(stack: &Stack, s: &Sourced<String>) -> String {
    stack.origin_text(&s.origin)
}

/// The pools a stack's PHP locations reach, each once, with the first location.
pub fn reached_pools(stack: &Stack) -> Vec<usize> {
    let mut v: Vec<usize> = stack
        .php_locations()
        .flat_map(|(_, _, l)| l.pools.iter().copied())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The (nginx, site) pairs a wp-config.php belongs to: WordPress for certain.
pub fn wp_linked_sites(stack: &Stack) -> foldhash::HashSet<(usize, usize)> {
    stack
        .wp
        .iter()
        .flat_map(|w| w.sites.iter().copied())
        .collect()
}

/// The pools serving the sites a wp-config.php belongs to.
pub fn wp_pools(stack: &Stack, wp: &crate::stack::WpConfig) -> Vec<usize> {
    let mut v: Vec<usize> = wp
        .sites
        .iter()
        .filter_map(|(ni, si)| stack.nginx.get(*ni)?.sites.get(*si))
        .flat_map(|s| s.locations.iter().flat_map(|l| l.pools.iter().copied()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Set a PHP setting for a pool where it comes from: replace the value on the line that
/// sets it, or add `php_admin_value[key]` to the pool when it is PHP's default.
pub fn set_php(
    stack: &Stack,
    pool: &Pool,
    s: &PhpSetting,
    key: &str,
    value: &str,
) -> Option<crate::fix::Edit> {
    if s.via.from_nginx() {
        return None; // a key inside nginx's PHP_VALUE string: not an ini line
    }
    match s.value.place() {
        Some(p) => crate::fix::edit::ini_replace_value(stack, p, value),
        None => {
            crate::fix::edit::pool_insert(stack, pool, &format!("php_admin_value[{key}]"), value)
        }
    }
}

/// Pools whose effective `key` satisfies `bad`, grouped by the line that sets it: a
/// php.ini line shared by many pools is one finding, not one per pool. Pools on PHP's
/// default each form their own group.
pub struct PhpGroup<'a> {
    pub pools: Vec<&'a Pool>,
    pub setting: PhpSetting,
}

impl PhpGroup<'_> {
    /// "www" or "www, shop".
    pub fn names(&self) -> String {
        self.pools
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
    /// Where to point: the setting, else the first pool's header.
    pub fn place(&self) -> Place {
        self.setting.value.place().unwrap_or(self.pools[0].place)
    }
    /// "pool www, shop (php.ini at etc/php/8.2/fpm/php.ini:12)": who has the value and
    /// where it was set, for messages.
    pub fn whose(&self, stack: &Stack) -> String {
        format!(
            "pool {} ({})",
            self.names(),
            php_origin(stack, self.pools[0], &self.setting)
        )
    }
    /// The finding at this group's place, with the safe fix that sets `key = value`
    /// where the value was set (or as `php_admin_value` in the pool when it is PHP's
    /// default).
    pub fn finding(
        &self,
        stack: &Stack,
        rule: &crate::rules::Rule,
        key: &str,
        value: &str,
        message: String,
    ) -> crate::finding::Finding {
        let fix = set_php(stack, self.pools[0], &self.setting, key, value)
            .map(|e| crate::fix::Fix::safe(format!("set {key} = {value}"), vec![e]));
        crate::finding::Finding::at(rule, self.place(), message).with_fix(fix)
    }
}

pub fn php_groups<'a>(
    stack: &'a Stack,
    key: &str,
    bad: impl Fn(&PhpSetting) -> bool,
) -> Vec<PhpGroup<'a>> {
    let mut groups: Vec<PhpGroup<'a>> = Vec::new();
    // A value nginx sends (PHP_VALUE) counts for the pools it reaches: it stays in
    // their workers.
    for (pid, pool) in stack.pools.iter().enumerate() {
        for s in stack.php_variants(pid, key) {
            if !bad(&s) {
                continue;
            }
            let place = s.value.place();
            match groups
                .iter_mut()
                .find(|g| place.is_some() && g.setting.value.place() == place)
            {
                Some(g) => {
                    if !g.pools.iter().any(|p| std::ptr::eq(*p, pool)) {
                        g.pools.push(pool)
                    }
                }
                None => groups.push(PhpGroup {
                    pools: vec![pool],
                    setting: s,
                }),
            }
        }
    }
    groups
}
