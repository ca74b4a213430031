//! The database layer: a MySQL/MariaDB server configured by option files (my.cnf and
//! what it includes), its effective `mysqld` options with the line that set each, and
//! the WordPress sites (through `DB_HOST`) and php-fpm pools that use it.
//!
//! Read order is MariaDB's (`mysys/my_default.c`): lines in file order, an
//! `!include FILE` read where it stands, an `!includedir DIR` reads the `*.cnf` files
//! of DIR sorted bytewise (`*.ini` only on Windows), at most 10 levels deep. A later
//! option wins. The server reads the groups `[mysqld]`, `[server]`, `[mysqld-VER]`,
//! `[mariadb]`, `[mariadb-VER]`, `[mariadbd]`, `[mariadbd-VER]`, `[client-server]` and
//! `[galera]` (group names compare case-insensitively); VER is the server's
//! major.minor, [`SERVER_VERSION`] (Debian 12's MariaDB) unless the file names only
//! another version.

use super::{Origin, Sourced};
use crate::finding::Place;
use crate::source::FileId;
use crate::syntax::mycnf;

/// The server version whose versioned groups count (`[mariadb-10.11]`).
pub const SERVER_VERSION: &str = "10.11";

/// MariaDB's `max_recursion_level` for `!include`.
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// Whether mysqld reads options of group `name`.
pub fn server_group(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if matches!(
        n.as_str(),
        "mysqld" | "server" | "mariadb" | "mariadbd" | "client-server" | "galera"
    ) {
        return true;
    }
    ["mysqld-", "mariadb-", "mariadbd-"]
        .iter()
        .any(|p| n.strip_prefix(p) == Some(SERVER_VERSION))
}

/// One option as mysqld reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DbOption {
    /// The name as written (`innodb_buffer_pool_size`, `loose-…`).
    pub written: String,
    /// `None` for a bare option (`skip-networking`).
    pub value: Option<String>,
    /// The whole option line.
    pub place: Place,
    /// The value's text (or the name when bare), for edits and messages.
    pub value_place: Place,
    pub group: String,
}

/// A mysqld configured in the tree.
#[derive(Debug, Clone, Default)]
pub struct Database {
    /// The main option file (my.cnf).
    pub main: FileId,
    /// Every file read, in read order.
    pub files: Vec<FileId>,
    /// Every server option, in read order (as `my_print_defaults --mysqld` prints them).
    pub options: Vec<DbOption>,
    /// The socket the client library uses when this layout does not say
    /// (`/run/mysqld/mysqld.sock` on Debian, `/var/lib/mysql/mysql.sock` on RHEL).
    pub default_socket: &'static str,
    /// Indexes into `Stack::wp` of the WordPress configs whose DB_HOST reaches it.
    pub wp: Vec<usize>,
    /// Pools serving those sites.
    pub pools: Vec<super::PoolId>,
}

/// The range MariaDB 10.11 clamps a variable to (`max_connections = 5` runs as 10).
pub fn range_of(name: &str) -> Option<(u64, u64)> {
    Some(match name {
        "max-connections" => (10, 100_000),
        "wait-timeout" | "interactive-timeout" => (1, 31_536_000),
        _ => return None,
    })
}

/// Built-in defaults of MariaDB 10.11 for the options the rules read.
pub fn default_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "max-connections" => "151",
        "wait-timeout" => "28800",
        "interactive-timeout" => "28800",
        "port" => "3306",
        "bind-address" => "*",
        "innodb-buffer-pool-size" => "128M",
        "key-buffer-size" => "128M",
        "innodb-log-buffer-size" => "16M",
        "sort-buffer-size" => "2M",
        "read-buffer-size" => "128K",
        "read-rnd-buffer-size" => "256K",
        "join-buffer-size" => "256K",
        "thread-stack" => "292K",
        "binlog-cache-size" => "32K",
        "max-allowed-packet" => "16M",
        _ => return None,
    })
}

impl Database {
    /// The effective value of an option (`-`/`_` and `loose-` alike): the last one
    /// read wins; else the server's default.
    pub fn get(&self, name: &str) -> Option<Sourced<String>> {
        let (want, _) = mycnf::normalize_name(name);
        for o in self.options.iter().rev() {
            if mycnf::normalize_name(&o.written).0 == want {
                return Some(Sourced::at(
                    o.value.clone().unwrap_or_default(),
                    o.value_place,
                ));
            }
        }
        if want == "socket" {
            return Some(Sourced::default(
                self.default_socket.to_string(),
                "the server's compiled-in default socket",
            ));
        }
        default_of(&want).map(|v| Sourced::default(v.to_string(), "MariaDB's default"))
    }
    /// The option line that set `name`, if any.
    pub fn option(&self, name: &str) -> Option<&DbOption> {
        let (want, _) = mycnf::normalize_name(name);
        self.options
            .iter()
            .rev()
            .find(|o| mycnf::normalize_name(&o.written).0 == want)
    }
    /// Whether a bare or boolean option is on (`skip-networking`, `skip_networking=1`).
    pub fn flag(&self, name: &str) -> bool {
        self.option(name).is_some_and(|o| {
            o.value.as_deref().is_none_or(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "on" | "true" | ""
                )
            })
        })
    }
    /// An option's value as a number of bytes or a count (MariaDB's suffixes K M G T P E,
    /// either case).
    pub fn number(&self, name: &str) -> Option<Sourced<u64>> {
        let s = self.get(name)?;
        let mut n = parse_size(&s.value)?;
        // The server clamps a value to its variable's range (with a warning at start).
        if let Some((lo, hi)) = range_of(&mycnf::normalize_name(name).0) {
            n = n.clamp(lo, hi);
        }
        Some(Sourced {
            value: n,
            origin: s.origin,
        })
    }
    /// The unix socket mysqld listens on (normalized).
    pub fn socket(&self) -> Sourced<String> {
        let s = self.get("socket").unwrap_or_else(|| {
            Sourced::default(self.default_socket.to_string(), "the compiled-in default")
        });
        Sourced {
            value: super::link::normalize_path(s.value.trim()),
            origin: s.origin,
        }
    }
    /// The TCP port, unless networking is off.
    pub fn port(&self) -> Option<u16> {
        if self.flag("skip-networking") {
            return None;
        }
        self.get("port")?.value.trim().parse().ok()
    }
    /// Whether a TCP client at `host` on this machine reaches it (bind-address).
    pub fn accepts_from(&self, host: &str) -> bool {
        let bind = self
            .get("bind-address")
            .map(|b| b.value.trim().to_string())
            .unwrap_or_else(|| "*".into());
        let loopback = |h: &str| matches!(h, "localhost" | "::1") || h.starts_with("127.");
        bind.split(',').map(str::trim).any(|b| {
            matches!(b, "*" | "0.0.0.0" | "::" | "") || b == host || (loopback(b) && loopback(host))
        })
    }
    /// Per-connection buffers (sort, read, read_rnd, join, thread stack, binlog cache)
    /// and the global ones (InnoDB buffer pool and log buffer, MyISAM key buffer).
    pub fn memory(&self) -> DbMemory {
        let n = |k: &str| self.number(k).map_or(0, |s| s.value);
        let per_connection = [
            "sort-buffer-size",
            "read-buffer-size",
            "read-rnd-buffer-size",
            "join-buffer-size",
            "thread-stack",
            "binlog-cache-size",
        ]
        .iter()
        .map(|k| n(k))
        .sum();
        let global =
            n("innodb-buffer-pool-size") + n("key-buffer-size") + n("innodb-log-buffer-size");
        let max_connections = n("max-connections");
        DbMemory {
            global,
            per_connection,
            max_connections,
        }
    }
}

/// What the server's configuration lets it take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbMemory {
    pub global: u64,
    pub per_connection: u64,
    pub max_connections: u64,
}

impl DbMemory {
    /// Global buffers + per-connection buffers × max_connections.
    pub fn total(&self) -> u64 {
        self.global
            .saturating_add(self.per_connection.saturating_mul(self.max_connections))
    }
}

/// `128M`, `1G`, `16k`, `151` → bytes / count (MariaDB's getopt suffixes).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        c @ ('k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T' | 'p' | 'P' | 'e' | 'E') => {
            let shift = match c.to_ascii_lowercase() {
                'k' => 10,
                'm' => 20,
                'g' => 30,
                't' => 40,
                'p' => 50,
                _ => 60,
            };
            (&s[..s.len() - 1], 1u64 << shift)
        }
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// How WordPress reaches its database, from `DB_HOST` (`wp-includes/class-wpdb.php`
/// `parse_db_host` and mysqli's rules: the host `localhost` means the unix socket —
/// the one named after `:`, else PHP's `mysqli.default_socket`, else the client
/// library's default — and a port after `localhost` is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// `None`: mysqli's default socket.
    Socket(Option<String>),
    Tcp {
        host: String,
        port: u16,
    },
    /// Built at run time (getenv, a variable): unknown.
    Unknown,
}

pub fn parse_db_host(value: &str) -> DbTarget {
    let v = value.trim();
    let v = v.strip_prefix("p:").unwrap_or(v);
    let (host, rest) = if let Some(r) = v.strip_prefix('[') {
        match r.split_once(']') {
            Some((h, rest)) => (h.to_string(), rest.strip_prefix(':').map(str::to_string)),
            None => return DbTarget::Unknown,
        }
    } else {
        match v.split_once(':') {
            Some((h, r)) => (h.to_string(), Some(r.to_string())),
            None => (v.to_string(), None),
        }
    };
    let host = if host.is_empty() {
        "localhost".to_string()
    } else {
        host
    };
    let socket = rest.as_deref().filter(|r| r.starts_with('/'));
    let port = rest
        .as_deref()
        .filter(|r| !r.starts_with('/'))
        .and_then(|r| r.parse::<u16>().ok());
    if rest.as_deref().is_some_and(|r| !r.is_empty()) && socket.is_none() && port.is_none() {
        return DbTarget::Unknown;
    }
    if host.eq_ignore_ascii_case("localhost") {
        return DbTarget::Socket(socket.map(super::link::normalize_path));
    }
    DbTarget::Tcp {
        host,
        port: port.unwrap_or(3306),
    }
}

/// The origin text for `dump`.
pub fn origin_of(o: &Origin) -> Option<Place> {
    match o {
        Origin::At(p) => Some(*p),
        Origin::Default(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_mysqld_reads() {
        for g in [
            "mysqld",
            "Server",
            "MariaDB",
            "mariadbd",
            "client-server",
            "mariadb-10.11",
            "galera",
        ] {
            assert!(server_group(g), "{g}");
        }
        for g in [
            "client",
            "mysql",
            "mariadb-10.6",
            "mysqld_safe",
            "mysqldump",
        ] {
            assert!(!server_group(g), "{g}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128M"), Some(128 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("151"), Some(151));
        assert_eq!(parse_size("12MB"), None);
    }

    #[test]
    fn db_host_forms() {
        assert_eq!(parse_db_host("localhost"), DbTarget::Socket(None));
        assert_eq!(parse_db_host("localhost:3307"), DbTarget::Socket(None));
        assert_eq!(
            parse_db_host("localhost:/run/mysqld//mysqld.sock"),
            DbTarget::Socket(Some("/run/mysqld/mysqld.sock".into()))
        );
        assert_eq!(
            parse_db_host("127.0.0.1:3307"),
            DbTarget::Tcp {
                host: "127.0.0.1".into(),
                port: 3307
            }
        );
        assert_eq!(
            parse_db_host("db"),
            DbTarget::Tcp {
                host: "db".into(),
                port: 3306
            }
        );
        assert_eq!(
            parse_db_host("[::1]:3306"),
            DbTarget::Tcp {
                host: "::1".into(),
                port: 3306
            }
        );
    }
}
