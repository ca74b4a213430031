//! The one effective model of the stack: nginx → pool → php.ini → WordPress, linked
//! the way the running programs link them. Every effective value remembers the
//! file:line that set it, or says it is a default.
//!
//! Rules read this model; they never read raw text and never re-implement
//! inheritance or include order.

pub mod db_load;
pub mod db_model;
pub mod discover;
pub mod dump;
pub mod fpm_keys;
pub mod fpm_validate;
pub mod link;
pub mod load;
pub mod nginx_commands;
pub mod nginx_load;
pub mod nginx_match;
pub mod nginx_model;
pub mod php_ini_keys;
pub mod php_model;
pub mod php_value;
pub mod typed;
pub mod wp_model;

use crate::finding::Place;
use crate::source::{FileId, SourceMap};
use crate::syntax::{ini, mycnf, nginx, php, SyntaxError};
use load::LoadProblem;

pub use db_model::Database;
pub use nginx_model::{
    Dir, Location, Nginx, Proxy, Role, ScopeId, ScopeKind, Site, SiteRef, Target,
};
pub use php_model::{Fpm, PhpSetting, Pool, PoolId, Via};
pub use wp_model::{WpConfig, WpConst};

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Set by this directive / key / define.
    At(Place),
    /// Not set anywhere: the program's built-in default (the text says whose).
    Default(&'static str),
}

/// A value together with the place that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Sourced<T> {
    pub fn at(value: T, place: Place) -> Self {
        Sourced {
            value,
            origin: Origin::At(place),
        }
    }
    pub fn default(value: T, whose: &'static str) -> Self {
        Sourced {
            value,
            origin: Origin::Default(whose),
        }
    }
    pub fn place(&self) -> Option<Place> {
        match self.origin {
            Origin::At(p) => Some(p),
            Origin::Default(_) => None,
        }
    }
    pub fn is_default(&self) -> bool {
        matches!(self.origin, Origin::Default(_))
    }
}

/// What kind of file a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Nginx,
    /// php-fpm.conf or a pool file.
    Fpm,
    /// php.ini or a scan-dir .ini.
    PhpIni,
    WpConfig,
    /// A MySQL/MariaDB option file (my.cnf, conf.d/*.cnf).
    MyCnf,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Nginx => "nginx",
            FileKind::Fpm => "fpm",
            FileKind::PhpIni => "php-ini",
            FileKind::WpConfig => "wp-config",
            FileKind::MyCnf => "my-cnf",
        }
    }
}

/// A file's syntax tree.
#[derive(Debug, Clone)]
pub enum Syntax {
    Nginx(nginx::File),
    Ini(ini::File),
    Php(php::File),
    MyCnf(mycnf::File),
}

impl Syntax {
    pub fn errors(&self) -> &[SyntaxError] {
        match self {
            Syntax::Nginx(f) => &f.errors,
            Syntax::Ini(f) => &f.errors,
            Syntax::Php(f) => &f.errors,
            Syntax::MyCnf(f) => &f.errors,
        }
    }
    pub fn parse(kind: FileKind, bytes: &[u8]) -> Syntax {
        match kind {
            FileKind::Nginx => Syntax::Nginx(nginx::parse(bytes)),
            FileKind::Fpm => Syntax::Ini(ini::parse_fpm(bytes)),
            FileKind::PhpIni => Syntax::Ini(ini::parse(bytes)),
            FileKind::WpConfig => Syntax::Php(php::parse(bytes)),
            FileKind::MyCnf => Syntax::MyCnf(mycnf::parse(bytes)),
        }
    }
}

/// One parsed file of the stack.
#[derive(Debug, Clone)]
pub struct StackFile {
    pub id: FileId,
    pub kind: FileKind,
    pub syntax: Syntax,
}

/// The whole linked stack.
#[derive(Debug, Default)]
pub struct Stack {
    pub sources: SourceMap,
    /// Parsed files, by kind; `files[i].id` indexes `sources`.
    pub files: Vec<StackFile>,
    /// Include problems, unreadable files (E005 and friends).
    pub problems: Vec<LoadProblem>,
    /// nginx instances (normally one; a corpus or repo may hold several main files).
    pub nginx: Vec<Nginx>,
    /// php-fpm instances (one per PHP version's php-fpm.conf, or one for loose pools).
    pub fpm: Vec<Fpm>,
    /// All pools of all instances; `PoolId` indexes this.
    pub pools: Vec<Pool>,
    pub wp: Vec<WpConfig>,
    /// MySQL/MariaDB servers configured in the tree (one per main my.cnf).
    pub databases: Vec<db_model::Database>,
    /// Position in `files` of each file id.
    pub file_pos: foldhash::HashMap<FileId, usize>,
    /// Things the model could not know, said once (e.g. "no php-fpm configuration found:
    /// pool-dependent rules were skipped").
    pub notes: Vec<String>,
    /// The copied filesystem root absolute paths inside configs were resolved against
    /// (`--root`, or a PATH holding `etc/`), so the fixer's validation maps them the same way.
    pub root: Option<std::path::PathBuf>,
    /// `${NAME}` values given for php-fpm and php.ini files (`--env`, `--env-file`, `[env]`).
    pub env: std::collections::BTreeMap<String, String>,
    /// What nginx sends in PHP_VALUE/PHP_ADMIN_VALUE to each pool (by `PoolId`), built
    /// on first use after linking (`php_value::Stack::php_variants`).
    pub php_values_by_pool: std::sync::OnceLock<Vec<Vec<php_value::NginxPhpValue>>>,
}

impl Stack {
    pub fn file(&self, id: FileId) -> Option<&StackFile> {
        self.file_pos.get(&id).and_then(|i| self.files.get(*i))
    }
    /// Add a parsed file (once per id).
    pub fn add_file(&mut self, file: StackFile) {
        if !self.file_pos.contains_key(&file.id) {
            let spans = crate::report::redact::syntax_secret_spans(
                &file.syntax,
                &self.sources.get(file.id).bytes,
            );
            self.add_file_with_secrets(file, spans);
        }
    }
    /// Add a parsed file whose secret values' spans were found already (once per id).
    pub fn add_file_with_secrets(&mut self, file: StackFile, secrets: Vec<crate::source::Span>) {
        if !self.file_pos.contains_key(&file.id) {
            self.sources.set_secrets(file.id, secrets);
            self.file_pos.insert(file.id, self.files.len());
            self.files.push(file);
        }
    }
    pub fn syntax_nginx(&self, id: FileId) -> Option<&nginx::File> {
        match self.file(id).map(|f| &f.syntax) {
            Some(Syntax::Nginx(f)) => Some(f),
            _ => None,
        }
    }
    pub fn syntax_ini(&self, id: FileId) -> Option<&ini::File> {
        match self.file(id).map(|f| &f.syntax) {
            Some(Syntax::Ini(f)) => Some(f),
            _ => None,
        }
    }
    pub fn syntax_mycnf(&self, id: FileId) -> Option<&mycnf::File> {
        match self.file(id).map(|f| &f.syntax) {
            Some(Syntax::MyCnf(f)) => Some(f),
            _ => None,
        }
    }
    pub fn syntax_php(&self, id: FileId) -> Option<&php::File> {
        match self.file(id).map(|f| &f.syntax) {
            Some(Syntax::Php(f)) => Some(f),
            _ => None,
        }
    }
    /// Every PHP location of every site, with its site.
    pub fn php_locations(&self) -> impl Iterator<Item = (&Nginx, &Site, &Location)> {
        self.nginx.iter().flat_map(|n| {
            n.sites.iter().flat_map(move |s| {
                s.locations
                    .iter()
                    .filter(|l| l.fastcgi_pass.is_some())
                    .map(move |l| (n, s, l))
            })
        })
    }
    /// The PHP locations that run WordPress requests: not php-fpm's status/ping pages,
    /// health checks or another application (phpMyAdmin, xhprof…). Timeout, buffer
    /// and body-size rules and the tuner read these only.
    pub fn wp_php_locations(&self) -> impl Iterator<Item = (&Nginx, &Site, &Location)> {
        self.php_locations().filter(|(_, _, l)| l.runs_wordpress())
    }
    /// Whether any php-fpm configuration was found (pool rules are skipped otherwise).
    pub fn has_fpm(&self) -> bool {
        !self.pools.is_empty()
    }
    pub fn display(&self, place: Place) -> String {
        let f = self.sources.get(place.file);
        let (line, _) = f.line_col(place.span.start);
        format!("{}:{}", f.display, line)
    }
    pub fn origin_text(&self, origin: &Origin) -> String {
        match origin {
            Origin::At(p) => self.display(*p),
            Origin::Default(w) => (*w).to_string(),
        }
    }
}
