//! The command line (clap derive). Parses arguments into plain option structs and
//! calls the library; `main.rs` only forwards the exit code.

use crate::engine;
use crate::finding::Severity;
use crate::machine::host;
use crate::report::{self, Format, RenderOptions, Summary};
use crate::rules;
use crate::settings::{self, Cdn, HostFacts, Profile, Settings, Thresholds};
use crate::stack::discover::{self, Inputs};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

pub mod dump;
pub mod progress;

/// The global `--no-color`, for every subcommand's output (set once in [`run`]).
static NO_COLOR_FLAG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `wpstack --version`: the version and the commit it was built from (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WPSTACK_COMMIT"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "wpstack",
    version = VERSION,
    about = "Lint and tune nginx + PHP-FPM + php.ini + wp-config.php as one stack, so WordPress sites stop dying with 502"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No colours (also when NO_COLOR is set or output is not a terminal). Accepted by
    /// every subcommand, before or after its name.
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
    /// Read and parse files on N threads (default: RAYON_NUM_THREADS, else every core).
    /// The output is the same for any N.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find the stack's files under each PATH, link them, run the rules, report.
    Check(Box<CheckArgs>),
    /// Print the linked, effective model as JSON.
    Dump(DumpArgs),
    /// List every rule as a table: code, name, severity, fix, summary.
    Rules(RulesArgs),
    /// Size the pools for this host (or one given with --ram/--cpus): a table and a diff.
    Tune(Box<TuneArgs>),
    /// Read the logs of an outage, group its 502/504 lines and name the cause of each.
    Diagnose(DiagnoseArgs),
    /// Print a rule's documentation.
    Explain {
        /// A rule code (T101) or name (timeout-chain-inverted).
        rule: String,
    },
    /// Print a shell completion script (bash: `source <(wpstack completions bash)`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `wpstack man > wpstack.1; man -l wpstack.1`;
    /// `wpstack man check` prints wpstack-check(1) with every option of `check`.
    Man {
        /// A subcommand (check, tune, dump, ...) [default: the main page]
        command: Option<String>,
    },
}

/// Where the stack's files are.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Files or directories: a copied server tree, a config repo, or / on a live host;
    /// `-` reads standard input [default: .]
    ///
    /// Run as root from / or from root's home, the default is / (the live host).
    pub paths: Vec<PathBuf>,
    /// Resolve absolute paths inside configs against DIR (lint a copy of a server's /).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// nginx main config (overrides discovery).
    #[arg(long, value_name = "FILE")]
    pub nginx: Vec<PathBuf>,
    /// php-fpm main config or pool file (overrides discovery).
    #[arg(long, value_name = "FILE")]
    pub fpm: Vec<PathBuf>,
    /// php.ini the FPM SAPI reads (overrides discovery).
    #[arg(long = "php-ini", value_name = "FILE")]
    pub php_ini: Vec<PathBuf>,
    /// wp-config.php (overrides discovery).
    #[arg(long = "wp-config", value_name = "FILE")]
    pub wp_config: Vec<PathBuf>,
    /// A value for `${NAME}` in php-fpm and php.ini files (repeatable); unknown ones
    /// are assumptions, never errors.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Values for `${NAME}` from a Docker `.env` file (NAME=VALUE lines).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
}

fn parse_env_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v))
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Ok((k.to_string(), v.to_string()))
        }
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

impl InputArgs {
    fn inputs(&self) -> Inputs {
        Inputs {
            paths: self.paths.clone(),
            root: self.root.clone(),
            nginx: self.nginx.clone(),
            fpm: self.fpm.clone(),
            php_ini: self.php_ini.clone(),
            wp_config: self.wp_config.clone(),
            env: self.env.iter().cloned().collect(),
            env_files: self.env_file.clone(),
        }
    }

    /// The inputs with wpstack.toml's `[env]` under the command line's `--env`.
    fn inputs_with(&self, settings: &Settings) -> Inputs {
        let mut i = self.inputs();
        let mut env = settings.env.clone();
        env.extend(std::mem::take(&mut i.env));
        i.env = env;
        i
    }
}

/// Validation of written changes by the real programs (`check --fix`, `tune --apply`).
#[derive(Args, Debug, Clone, Default)]
pub struct ValidateArgs {
    /// nginx to run `-t` with (default: nginx on PATH, /usr/sbin, /sbin).
    #[arg(long = "nginx-bin", value_name = "FILE")]
    pub nginx_bin: Option<PathBuf>,
    /// php-fpm to run `-t` with (default: php-fpmX.Y for the stack's PHP, php-fpm, php-fpm*).
    #[arg(long = "fpm-bin", value_name = "FILE")]
    pub fpm_bin: Option<PathBuf>,
    /// PHP CLI to run `-l` with on edited wp-config.php files (default: php on PATH).
    #[arg(long = "php-bin", value_name = "FILE")]
    pub php_bin: Option<PathBuf>,
    /// Write without running nginx -t / php-fpm -t / php -l on a sandboxed copy first.
    #[arg(long = "no-validate")]
    pub no_validate: bool,
    /// Keep every backup under DIR (by the file's path) instead of the default places:
    /// `.FILE.wpstack.bak` next to the file, or — for a file under a site's web root
    /// (wp-config.php) — /var/backups/wpstack/PATH (inside the copy with --root; a
    /// private .wpstack-backups/ under PATH when that cannot be made). Also
    /// `backup-dir` in wpstack.toml.
    #[arg(long = "backup-dir", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
}

impl ValidateArgs {
    fn commit_options(
        &self,
        backup: bool,
        configured_backup_dir: Option<PathBuf>,
        scope: crate::files::write::Scope,
    ) -> Result<crate::fix::run::CommitOptions, String> {
        for (flag, bin) in [
            ("--nginx-bin", &self.nginx_bin),
            ("--fpm-bin", &self.fpm_bin),
            ("--php-bin", &self.php_bin),
        ] {
            if let Some(b) = bin.as_ref().filter(|b| !b.is_file()) {
                return Err(format!("{flag} {}: no such file", b.display()));
            }
        }
        Ok(crate::fix::run::CommitOptions {
            backup,
            backup_dir: self.backup_dir.clone().or(configured_backup_dir),
            scope: Some(scope),
            validate: (!self.no_validate).then(|| crate::fix::validate::Options {
                nginx_bin: self.nginx_bin.clone(),
                fpm_bin: self.fpm_bin.clone(),
                php_bin: self.php_bin.clone(),
                timeout: None,
            }),
        })
    }
}

/// Host facts that replace measured ones (pre-deploy checks).
#[derive(Args, Debug, Clone, Default)]
pub struct HostArgs {
    /// RAM of the target host (4G, 16384M) [default: measured here, or [host] ram in
    /// wpstack.toml]
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub ram: Option<u64>,
    /// CPUs of the target host [default: measured here, or [host] cpus in wpstack.toml]
    #[arg(long, value_name = "N")]
    pub cpus: Option<usize>,
    /// Memory one PHP worker uses (measured elsewhere, e.g. 96M) [default: measured
    /// from running workers, else the profile's estimate]
    #[arg(long = "worker-mem", value_parser = parse_size, value_name = "SIZE")]
    pub worker_mem: Option<u64>,
    /// Memory kept for the OS [default: max(512M, 10 % of RAM)]
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub reserve: Option<u64>,
    /// Memory of the database and caches on the same host [default: measured from their
    /// processes on this host, else 0]
    #[arg(long = "db-mem", value_parser = parse_size, value_name = "SIZE")]
    pub db_mem: Option<u64>,
}

impl HostArgs {
    /// The facts given on the command line.
    pub fn facts(&self) -> HostFacts {
        HostFacts {
            ram: self.ram,
            cpus: self.cpus,
            worker_mem: self.worker_mem,
            reserve: self.reserve,
            db_mem: self.db_mem,
        }
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    settings::parse_bytes(s).ok_or_else(|| format!("`{s}` is not a size (like 512M, 4G)"))
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Lint the output of `nginx -T` (FILE, or - for stdin) as the nginx tree: each
    /// `# configuration file PATH:` part is the file at PATH; findings name PATH.
    #[arg(long = "nginx-dump", value_name = "FILE|-")]
    pub nginx_dump: Option<PathBuf>,
    /// Read the pool settings from the output of `php-fpm -tt` (FILE, or - for stdin;
    /// php-fpm prints it on stderr: `php-fpm -tt 2>&1`).
    #[arg(long = "fpm-dump", value_name = "FILE|-")]
    pub fpm_dump: Option<PathBuf>,
    #[command(flatten)]
    pub host: HostArgs,
    /// Output format: text for people; json (stable, versioned), sarif (code scanning),
    /// github (workflow annotations), checkstyle (Jenkins, reviewdog), junit (test
    /// reports), gitlab (Code Quality) for machines.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// How text lists findings: full (the line, a caret, notes) or concise (one
    /// `file:line:col: CODE message` line each).
    #[arg(long = "output-format", value_enum, default_value = "full")]
    pub output_format: OutputFormat,
    /// Print how many findings of each code instead of the findings (text or json).
    #[arg(long)]
    pub statistics: bool,
    /// Report only findings that are not in this baseline (written by
    /// --write-baseline): adopt wpstack on an existing fleet and fail only on new ones.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write every current finding's fingerprint to FILE (stable when lines move) and
    /// exit 0.
    #[arg(long = "write-baseline", value_name = "FILE", conflicts_with_all = ["fix", "diff"])]
    pub write_baseline: Option<PathBuf>,
    /// What a file linted alone (or `-`, standard input) is [default: from its name, else
    /// its content]
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Only these rules (codes, names or prefixes; comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules (codes, names or prefixes).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Exit 1 when a finding is at or above this severity [default: warning, or
    /// fail-on in wpstack.toml]
    #[arg(long = "fail-on", value_parser = ["error", "warning", "info"])]
    pub fail_on: Option<String>,
    /// Exit 0 even when findings are reported.
    #[arg(long = "exit-zero")]
    pub exit_zero: bool,
    /// Thresholds for this kind of site [default: wordpress, or profile in wpstack.toml]
    #[arg(long, value_parser = ["wordpress", "woocommerce"])]
    pub profile: Option<String>,
    /// What sits in front of nginx: none, cloudflare, alb, gcp, azure-frontdoor, fastly or
    /// SECONDS [default: none, or cdn in wpstack.toml]
    #[arg(long)]
    pub cdn: Option<String>,
    /// Settings file [default: wpstack.toml found upward from PATH]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Set from the global `--no-color`.
    #[arg(skip)]
    pub no_color: bool,
    /// Print only the findings: no summary line, no notes about discovery.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print every available fix (safe and unsafe) as one unified diff; change nothing.
    #[arg(long, conflicts_with = "fix")]
    pub diff: bool,
    /// Apply the safe fixes (checked by nginx -t / php-fpm -t on a sandboxed copy, atomic
    /// writes that follow no link, owner and mode kept, private numbered backups: see
    /// --backup-dir), then report what remains. Only files under the PATHs given (under
    /// --root) are written; any other is left alone and named.
    #[arg(long)]
    pub fix: bool,
    /// With --fix: apply unsafe fixes too (those resting on estimates).
    #[arg(long = "unsafe-fixes")]
    pub unsafe_fixes: bool,
    /// With --fix: keep no backups.
    #[arg(long = "no-backup")]
    pub no_backup: bool,
    #[command(flatten)]
    pub validate: ValidateArgs,
    /// List at most N findings of one code in one file; the rest are counted in the
    /// summary (0: list all).
    #[arg(long = "max-per-code", value_name = "N", default_value_t = report::MAX_PER_FILE_CODE)]
    pub max_per_code: usize,
    /// Also read each running pool's php-fpm status page (pm.status_path, over the
    /// pool's socket) once and say whether it ran out of workers (text: after the
    /// findings; other formats: on stderr).
    #[arg(long)]
    pub live: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TuneArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub host: HostArgs,
    /// text (table + diff) or json.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
    /// Write the changes as `check --fix` does (atomic, no link followed, only under
    /// the PATHs given, private numbered backups: see --backup-dir).
    #[arg(long)]
    pub apply: bool,
    /// With --apply: no backups.
    #[arg(long = "no-backup")]
    pub no_backup: bool,
    #[command(flatten)]
    pub validate: ValidateArgs,
    /// With --apply: reload php-fpm (SIGUSR2 to the master in php-fpm.conf's pid file,
    /// only when that master's command line names this php-fpm.conf, or on /) and nginx
    /// when its files changed (`nginx -s reload -c MAIN`, the --nginx-bin above; only
    /// when the master in its pid file runs -c MAIN, or on /), check
    /// the master and every pool's socket are back, and restore the old files (and
    /// reload again) if not. Refused before anything is written on a copy (--root, a
    /// PATH holding etc/): the programs running here do not read it.
    #[arg(long, requires = "apply")]
    pub reload: bool,
    /// Thresholds and estimates for this kind of site.
    #[arg(long, value_parser = ["wordpress", "woocommerce"])]
    pub profile: Option<String>,
    /// Settings file (default: wpstack.toml found upward from PATH).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What sits in front of nginx (the timeout chain stays below its origin timeout).
    #[arg(long)]
    pub cdn: Option<String>,
    /// Watch the running pools for DURATION (30s, 10m, 1h) before deciding: every
    /// worker's peak memory and, where pm.status_path is set, php-fpm's status page
    /// (busy workers, listen queue, max children reached). Ctrl-C ends it early.
    #[arg(long, value_name = "DURATION", value_parser = crate::tune::sample::parse_duration)]
    pub sample: Option<std::time::Duration>,
    /// With --sample: time between two readings.
    #[arg(long, value_name = "DURATION", requires = "sample", default_value = "2s", value_parser = crate::tune::sample::parse_duration)]
    pub interval: std::time::Duration,
    /// Write the tuned pool keys into one zz-wpstack.conf per php-fpm (in its include
    /// glob's directory, loaded last) instead of editing the pool files.
    #[arg(long = "drop-in", conflicts_with = "remove_drop_in")]
    pub drop_in: bool,
    /// Remove the zz-wpstack.conf drop-ins (with --apply: validated, backed up).
    #[arg(long = "remove-drop-in")]
    pub remove_drop_in: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DiagnoseArgs {
    /// Log files: nginx error logs, php-fpm logs, PHP error logs, debug.log, dmesg text.
    /// None: the logs the configuration under --config-dir (default /) names.
    pub logs: Vec<PathBuf>,
    /// The stack's configuration (a copied /etc or /): name the finding behind each group.
    #[arg(long = "config-dir", value_name = "PATH")]
    pub config_dir: Option<PathBuf>,
    /// text or json.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
}

#[derive(Args, Debug, Clone)]
pub struct DumpArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Show where each value was set (file:line), like `git config --show-origin`.
    #[arg(long = "show-origin")]
    pub show_origin: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RulesArgs {
    /// text or json.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
}

/// `--kind`: what a file linted alone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Nginx,
    Fpm,
    PhpIni,
    WpConfig,
}

/// Standard input, held in a private scratch file while it is linted (the loader reads
/// files, with every check it owes a file); removed when dropped.
struct StdinFile {
    dir: PathBuf,
    file: PathBuf,
}

impl StdinFile {
    fn read() -> Result<StdinFile, String> {
        use std::io::Read;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let max = crate::source::MAX_FILE_BYTES;
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("standard input: {e}"))?;
        if bytes.len() as u64 > max {
            return Err(format!("standard input: more than {max} bytes"));
        }
        let base = std::env::temp_dir();
        for n in 0..100u32 {
            let dir = base.join(format!("wpstack-stdin-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("no scratch directory for standard input: {e}")),
            }
            let file = dir.join("stdin");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&file)
                .map_err(|e| format!("standard input: {e}"))?;
            f.write_all(&bytes)
                .map_err(|e| format!("standard input: {e}"))?;
            return Ok(StdinFile { dir, file });
        }
        Err("no scratch directory for standard input".into())
    }
}

impl Drop for StdinFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `--output-format`: how the text report lists findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Full,
    Concise,
}

/// Exit codes (cli.md): 0 clean, 1 findings at/above --fail-on, 2 usage/input error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("wpstack: error: {}", report::escape_controls(&msg));
            EXIT_ERROR
        }
    }
}

pub fn run(cli: Cli) -> Result<i32, String> {
    if let Some(n) = cli.threads {
        // 0: rayon's default (RAYON_NUM_THREADS, else every core). Only the first
        // call in a process sets the pool (tests may run several commands).
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    NO_COLOR_FLAG.store(cli.no_color, std::sync::atomic::Ordering::Relaxed);
    match cli.command {
        Command::Check(mut a) => {
            a.no_color |= cli.no_color;
            check(&a)
        }
        Command::Dump(a) => {
            let stack = discover::load(&a.input.inputs()).map_err(|e| e.to_string())?;
            let json = dump::dump(&stack, a.show_origin);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
            Ok(EXIT_OK)
        }
        Command::Tune(a) => tune(&a),
        Command::Diagnose(a) => diagnose(&a),
        Command::Rules(a) => {
            print_rules(&a.format);
            Ok(EXIT_OK)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "wpstack", &mut out);
            let _ = std::io::stdout().lock().write_all(&out);
            Ok(EXIT_OK)
        }
        Command::Man { command } => {
            let mut out = Vec::new();
            let mut top = <Cli as clap::CommandFactory>::command();
            top.build();
            let page = match &command {
                None => top,
                Some(name) => {
                    let sub = top
                        .find_subcommand(name)
                        .ok_or_else(|| format!("no command `{name}` (see `wpstack --help`)"))?;
                    let full = format!("wpstack-{}", sub.get_name());
                    // The page outlives nothing: the process prints it and ends.
                    sub.clone().name(&*Box::leak(full.into_boxed_str()))
                }
            };
            clap_mangen::Man::new(page)
                .render(&mut out)
                .map_err(|e| e.to_string())?;
            let _ = std::io::stdout().lock().write_all(&out);
            Ok(EXIT_OK)
        }
        Command::Explain { rule } => match rules::by_code_or_name(&rule) {
            Some(r) => {
                print!("{}", r.doc);
                Ok(EXIT_OK)
            }
            None => Err(format!(
                "unknown rule `{rule}` (see `wpstack rules` for codes and names)"
            )),
        },
    }
}

fn print_rules(format: &str) {
    if format == "json" {
        let list: Vec<serde_json::Value> = rules::ALL
            .iter()
            .map(|r| {
                serde_json::json!({
                    "code": r.code, "name": r.name, "severity": r.severity,
                    "fixable": r.fixable, "summary": r.summary,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return;
    }
    let fix_of = |r: &rules::Rule| match r.fixable {
        rules::Fixable::No => "-",
        rules::Fixable::Safe => "safe",
        rules::Fixable::Sometimes => "unsafe",
    };
    let name_w = rules::ALL.iter().map(|r| r.name.len()).max().unwrap_or(4);
    let width = text_width();
    let lead = 4 + 2 + name_w + 2 + 8 + 2 + 6 + 2;
    let hang = " ".repeat(lead);
    // One write at the end: `wpstack rules | head` must not die of a broken pipe.
    let mut out = format!(
        "{:<4}  {:<name_w$}  {:<8}  {:<6}  SUMMARY\n",
        "CODE", "NAME", "SEVERITY", "FIX"
    );
    for r in rules::ALL {
        let head = format!(
            "{:<4}  {:<name_w$}  {:<8}  {:<6}  ",
            r.code,
            r.name,
            r.severity.as_str(),
            fix_of(r)
        );
        // The summary wraps under its column when the terminal is narrow.
        let opts = textwrap::Options::new(width.max(lead + 30))
            .initial_indent(&head)
            .subsequent_indent(&hang)
            .word_separator(textwrap::WordSeparator::AsciiSpace)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for l in textwrap::wrap(r.summary, opts) {
            out.push_str(l.trim_end());
            out.push('\n');
        }
    }
    out.push_str(
        "\nSEVERITY: what the rule's findings are (check --fail-on, default warning, says which\n\
         fail a run). FIX: safe = --fix applies it; unsafe = the fix rests on an estimate:\n\
         --diff shows it, --fix --unsafe-fixes applies it; - = reported only.\n\
         `wpstack explain CODE` prints a rule's documentation; --format json lists the rules.\n",
    );
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}

/// Whether stdout gets colours: a terminal, no `--no-color`, and no non-empty
/// `NO_COLOR` (no-color.org).
pub fn color_on(no_color: bool) -> bool {
    !no_color
        && !NO_COLOR_FLAG.load(std::sync::atomic::Ordering::Relaxed)
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}

/// Columns to wrap text to: the terminal's width on a terminal, else `COLUMNS`, else
/// [`report::DEFAULT_WIDTH`].
fn text_width() -> usize {
    if std::io::stdout().is_terminal() {
        return textwrap::termwidth();
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c >= 40)
        .unwrap_or(report::DEFAULT_WIDTH)
}

impl CheckArgs {
    /// The report of `findings` in the format and style the options ask for.
    fn render(
        &self,
        sources: &crate::source::SourceMap,
        findings: &[crate::finding::Finding],
        summary: &Summary,
    ) -> Result<String, String> {
        if self.statistics {
            match self.format {
                Format::Text => {}
                Format::Json => {
                    let v = serde_json::json!({
                        "version": 1,
                        "statistics": report::statistics_rows(findings),
                        "summary": summary,
                    });
                    return Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n");
                }
                _ => return Err("--statistics works with --format text or json".into()),
            }
        }
        let opts = RenderOptions {
            color: self.format == Format::Text && color_on(self.no_color),
            show_fixes: true,
            width: text_width(),
            concise: self.output_format == OutputFormat::Concise,
            statistics: self.statistics,
            quiet: self.quiet,
        };
        Ok(report::render(
            self.format,
            sources,
            findings,
            rules::ALL,
            summary,
            &opts,
        ))
    }

    /// `check PATH` with every option at its default.
    fn parse_from_path(path: &std::path::Path) -> CheckArgs {
        CheckArgs {
            input: InputArgs {
                paths: vec![path.to_path_buf()],
                ..Default::default()
            },
            host: HostArgs::default(),
            format: Format::Text,
            output_format: OutputFormat::Full,
            statistics: false,
            kind: None,
            baseline: None,
            write_baseline: None,
            select: Vec::new(),
            ignore: Vec::new(),
            fail_on: None,
            exit_zero: false,
            profile: None,
            cdn: None,
            config: None,
            no_color: true,
            quiet: false,
            diff: false,
            fix: false,
            unsafe_fixes: false,
            no_backup: false,
            validate: ValidateArgs::default(),
            max_per_code: report::MAX_PER_FILE_CODE,
            nginx_dump: None,
            fpm_dump: None,
            live: false,
        }
    }
}

/// Build the run's settings: defaults ← wpstack.toml ← command line.
pub fn settings_for(a: &CheckArgs) -> Result<(Settings, HostFacts), String> {
    let cfg_path = a.config.clone().or_else(|| {
        let start = a
            .input
            .paths
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        settings::find_config(&start)
    });
    let file = match &cfg_path {
        Some(p) => settings::read_config(p)?,
        None => settings::FileSettings::default(),
    };
    let profile = match &a.profile {
        Some(p) => Profile::parse(p).ok_or_else(|| format!("unknown profile `{p}`"))?,
        None => file.profile.unwrap_or_default(),
    };
    let cdn = match &a.cdn {
        Some(c) => Cdn::parse(c).ok_or_else(|| {
            format!("unknown --cdn `{c}` (none, cloudflare, alb, gcp, azure-frontdoor, fastly or SECONDS)")
        })?,
        None => file.cdn.unwrap_or_default(),
    };
    let mut thresholds = Thresholds::for_profile(profile);
    for (k, v) in &file.thresholds {
        thresholds.set(k, *v);
    }
    let fail_on = match &a.fail_on {
        Some(s) => Severity::parse(s).unwrap_or(Severity::Warning),
        None => file.fail_on.unwrap_or(Severity::Warning),
    };
    let mut select = file.select.clone();
    select.extend(a.select.iter().cloned());
    if !a.select.is_empty() {
        select = a.select.clone();
    }
    let mut ignore = file.ignore.clone();
    ignore.extend(a.ignore.iter().cloned());
    engine::check_selectors(&select)?;
    engine::check_selectors(&ignore)?;
    let s = Settings {
        profile,
        cdn,
        host: HostFacts::default(),
        thresholds,
        select,
        ignore,
        per_path_ignores: file.per_path_ignores.clone(),
        env: file.env.iter().cloned().collect(),
        fail_on,
        measure_host: true,
    };
    Ok((s, file.host))
}

/// `backup-dir` of the wpstack.toml `check`/`tune` use (the one given with --config,
/// else found upward from the first PATH).
fn configured_backup_dir(
    config: Option<&PathBuf>,
    paths: &[PathBuf],
) -> Result<Option<PathBuf>, String> {
    let cfg = config.cloned().or_else(|| {
        settings::find_config(
            paths
                .first()
                .map(PathBuf::as_path)
                .unwrap_or(std::path::Path::new(".")),
        )
    });
    match cfg {
        Some(p) => Ok(settings::read_config(&p)?.backup_dir),
        None => Ok(None),
    }
}

fn check(a: &CheckArgs) -> Result<i32, String> {
    let mut laps = crate::timings::Laps::start();
    let (mut settings, configured_host) = settings_for(a)?;
    let given = a.host.facts();
    settings.host = given.clone();
    let host = host::resolve(&given, &configured_host, settings.measure_host);
    laps.lap("settings and host");
    let dumps = dump_inputs(a)?;
    let stdin = if a.input.paths.iter().any(|p| p.as_os_str() == "-") {
        if a.input.paths.len() > 1 || a.diff || a.fix {
            return Err("`-` (standard input) is linted alone, without --diff or --fix".into());
        }
        Some(StdinFile::read()?)
    } else {
        None
    };
    if a.diff || a.fix {
        return fix(a, &settings, &host);
    }
    let mut inputs = a.input.inputs_with(&settings);
    if let Some(m) = &dumps {
        inputs.paths.clear();
        inputs.root = Some(m.dir.path().to_path_buf());
        inputs.nginx = m.nginx_main.iter().cloned().collect();
        inputs.fpm = m.fpm_main.iter().map(|(p, _)| p.clone()).collect();
    }
    if let Some(s) = &stdin {
        inputs.paths = vec![s.file.clone()];
    }
    // A file linted alone: --kind says what it is; else its name, else its content
    // (and the report says which was assumed).
    let mut assumed = None;
    if inputs.paths.len() == 1 && (stdin.is_some() || inputs.paths[0].is_file()) {
        let path = inputs.paths[0].clone();
        match a.kind {
            Some(k) => {
                inputs.paths.clear();
                match k {
                    Kind::Nginx => inputs.nginx.push(path),
                    Kind::Fpm => inputs.fpm.push(path),
                    Kind::PhpIni => inputs.php_ini.push(path),
                    Kind::WpConfig => inputs.wp_config.push(path),
                }
            }
            None => {
                // The name decides when two opposite contents give one kind.
                let by_name = discover::detect_kind(&path, b"")
                    == discover::detect_kind(&path, b"[x]\npm = static\n");
                if !by_name {
                    assumed = Some(path);
                }
            }
        }
    } else if a.kind.is_some() {
        return Err("--kind applies to one file linted alone (or `-`)".into());
    }
    let progress = progress::Progress::start("reading the stack's files");
    let mut stack = discover::load(&inputs).map_err(|e| e.to_string())?;
    if let Some(m) = &dumps {
        show_dump_paths(m, &mut stack);
    }
    if let Some(s) = &stdin {
        if let Some(id) = stack.sources.find(&s.file).or_else(|| {
            stack
                .sources
                .iter()
                .find(|(_, f)| f.path.ends_with("stdin"))
                .map(|(id, _)| id)
        }) {
            stack.sources.set_display(id, "-".to_string());
        }
    }
    if let Some(path) = &assumed {
        if let Some(f) = stack.files.first() {
            let name = if stdin.is_some() {
                "-".to_string()
            } else {
                report::escape_controls(&path.display().to_string()).into_owned()
            };
            stack.notes.push(format!(
                "{name} was read as {} config by its content (its name does not say): give --kind nginx|fpm|php-ini|wp-config if it is another",
                match f.kind {
                    crate::stack::FileKind::Nginx => "an nginx",
                    crate::stack::FileKind::Fpm => "a php-fpm",
                    crate::stack::FileKind::PhpIni => "a php.ini",
                    crate::stack::FileKind::WpConfig => "a wp-config.php",
                    crate::stack::FileKind::MyCnf => "a my.cnf",
                }
            ));
        }
    }
    progress.step(&format!("running the rules on {} files", stack.files.len()));
    if stack.files.is_empty() {
        // "No problems found in 0 files" would pass CI on a tree nobody could read.
        for p in &stack.problems {
            eprintln!("wpstack: error: {}", report::escape_controls(&p.message));
        }
        return Err(nothing_read(&a.input));
    }
    laps.lap("load");
    // The report's redaction matcher (every secret value the files hold) needs only the
    // files: it is built on the run's threads while the rules run.
    let (mut findings, _) = rayon::join(
        || engine::run(&stack, &settings, &host),
        || report::redact::Redactor::new(&stack.sources),
    );
    laps.lap("rules");
    if let Some(m) = &dumps {
        // No message names the private directory.
        let d = m.dir.path().display().to_string();
        for f in findings.iter_mut() {
            f.message = f.message.replace(&d, "");
            for r in f.related.iter_mut() {
                r.message = r.message.replace(&d, "");
            }
        }
    }
    if let Some(path) = &a.write_baseline {
        progress.finish();
        let n = write_baseline(path, &stack.sources, &findings)?;
        eprintln!(
            "wpstack: wrote {n} finding(s) to the baseline {}",
            report::escape_controls(&path.display().to_string())
        );
        return Ok(EXIT_OK);
    }
    if let Some(path) = &a.baseline {
        let known = read_baseline(path)?;
        let prints = report::ci::fingerprints(&stack.sources, &findings);
        let before = findings.len();
        let mut keep = prints.iter().map(|p| !known.contains(p));
        findings.retain(|_| keep.next().unwrap_or(true));
        let hidden = before - findings.len();
        if hidden > 0 {
            stack.notes.push(format!(
                "{hidden} finding(s) in the baseline {} are not shown",
                path.display()
            ));
        }
    }
    let mut summary = Summary::from_findings(&findings, stack.files.len());
    let failing = findings.iter().any(|f| f.severity >= settings.fail_on);
    let findings = report::cap_repeats(findings, &stack.sources, a.max_per_code, &mut summary);
    let out = a.render(&stack.sources, &findings, &summary)?;
    laps.lap("report");
    progress.finish();
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    laps.lap("write");
    let red = report::redact::Redactor::new(&stack.sources);
    if a.format == Format::Text && !a.quiet {
        for n in &stack.notes {
            let _ = writeln!(stdout, "note: {}", report::escape_controls(&red.text(n)));
        }
    }
    if a.live {
        for l in crate::tune::fpm_status::live_lines(&stack) {
            let l = report::escape_controls(&red.text(&l)).into_owned();
            if a.format == Format::Text {
                let _ = writeln!(stdout, "{l}");
            } else {
                eprintln!("wpstack: {l}");
            }
        }
    }
    drop(stdout);

    // A file linted alone that does not parse (or cannot be read) is exit 2.
    let single_file =
        a.input.paths.len() == 1 && a.input.paths[0].is_file() && stack.files.len() <= 1;
    let explicit_single = a.input.paths.is_empty()
        && (a.input.nginx.len()
            + a.input.fpm.len()
            + a.input.php_ini.len()
            + a.input.wp_config.len())
            == 1
        && stack.files.len() <= 1;
    if (single_file || explicit_single)
        && (stack.files.iter().any(|f| !f.syntax.errors().is_empty()) || stack.files.is_empty())
    {
        for p in &stack.problems {
            eprintln!(
                "wpstack: error: {}",
                report::escape_controls(&red.text(&p.message))
            );
        }
        return Ok(EXIT_ERROR);
    }
    laps.lap("notes");
    // The process ends here: freeing thousands of syntax trees one by one only costs time.
    std::mem::forget(stack);
    if a.exit_zero {
        return Ok(EXIT_OK);
    }
    Ok(if failing { EXIT_FINDINGS } else { EXIT_OK })
}

/// `--nginx-dump`/`--fpm-dump`: read (bounded) and placed in a private directory laid
/// out as the host, which is then linted as a copied tree. A dump stands for the host's
/// files, so it is not combined with PATHs or file options, and it is not fixed.
fn dump_inputs(a: &CheckArgs) -> Result<Option<crate::files::dumps::Materialized>, String> {
    use crate::files::dumps;
    if a.nginx_dump.is_none() && a.fpm_dump.is_none() {
        return Ok(None);
    }
    let i = &a.input;
    if !i.paths.is_empty()
        || i.root.is_some()
        || !i.nginx.is_empty()
        || !i.fpm.is_empty()
        || !i.php_ini.is_empty()
        || !i.wp_config.is_empty()
    {
        return Err("--nginx-dump/--fpm-dump stand for the host's files: give them without PATH, --root, --nginx, --fpm, --php-ini or --wp-config".into());
    }
    if a.diff || a.fix {
        return Err("--nginx-dump/--fpm-dump are linted, not fixed (--diff/--fix): the dump is not the host's files; fix them on the host".into());
    }
    let stdin = std::path::Path::new("-");
    if a.nginx_dump.as_deref() == Some(stdin) && a.fpm_dump.as_deref() == Some(stdin) {
        return Err("only one of --nginx-dump and --fpm-dump can read stdin (-)".into());
    }
    let read = |p: &Option<PathBuf>| -> Result<Option<(String, Vec<u8>)>, String> {
        p.as_deref()
            .map(dumps::read_dump)
            .transpose()
            .map_err(|e| report::escape_controls(&e.to_string()).into_owned())
    };
    let nginx = read(&a.nginx_dump)?;
    let fpm = read(&a.fpm_dump)?;
    let m = dumps::materialize(
        nginx.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
        fpm.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
    )?;
    Ok(Some(m))
}

/// Name the dump's files by their original paths (the `-tt` pool file by the dump's
/// name) and keep the private directory out of every message.
fn show_dump_paths(m: &crate::files::dumps::Materialized, stack: &mut crate::stack::Stack) {
    let dir = m.dir.path();
    let ids: Vec<_> = stack.sources.iter().map(|(i, _)| i).collect();
    for id in ids {
        let p = stack.sources.get(id).path.clone();
        let shown = match &m.fpm_main {
            Some((f, name)) if *f == p => name.clone(),
            _ => match m.shown.iter().find(|(at, _)| *at == p) {
                Some((_, orig)) => orig.clone(),
                None => match p.strip_prefix(dir) {
                    Ok(rel) => format!("/{}", rel.display()),
                    Err(_) => continue,
                },
            },
        };
        stack.sources.set_display(id, shown);
    }
    let d = dir.display().to_string();
    for n in stack.notes.iter_mut() {
        *n = n.replace(&d, "");
    }
    stack.notes.extend(m.notes.iter().cloned());
    if let Some((_, name)) = &m.fpm_main {
        stack.notes.push(format!(
            "{name}: php-fpm -tt prints the pool settings, not php.ini: PHP settings not set in a pool (php_value/php_admin_value) are PHP's defaults here"
        ));
    }
}

/// Write a baseline: `{"version":1,"findings":[{"fingerprint","code","file"}]}`.
/// The fingerprints ([`report::ci::fingerprints`]) hold no line numbers, so findings
/// stay known when lines above them move.
fn write_baseline(
    path: &std::path::Path,
    sources: &crate::source::SourceMap,
    findings: &[crate::finding::Finding],
) -> Result<usize, String> {
    let prints = report::ci::fingerprints(sources, findings);
    let list: Vec<serde_json::Value> = findings
        .iter()
        .zip(&prints)
        .map(|(f, p)| {
            serde_json::json!({
                "fingerprint": p,
                "code": f.code,
                "file": f.primary.map(|x| sources.get(x.file).display.replace('\\', "/")),
            })
        })
        .collect();
    let v = serde_json::json!({"version": 1, "tool": "wpstack", "findings": list});
    std::fs::write(
        path,
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n",
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(findings.len())
}

/// The fingerprints of a baseline file (read with the loader's bounds).
fn read_baseline(path: &std::path::Path) -> Result<foldhash::HashSet<String>, String> {
    let bytes = crate::source::read_config(path).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a wpstack baseline: {e}", path.display()))?;
    let list = v["findings"]
        .as_array()
        .filter(|_| v["version"] == 1)
        .ok_or_else(|| format!("{}: not a wpstack baseline (version 1)", path.display()))?;
    Ok(list
        .iter()
        .filter_map(|f| f["fingerprint"].as_str().map(str::to_string))
        .collect())
}

/// The files a tune changes, as `--reload` needs them: each file's old and new text at
/// the path it has (`written`: the (read, written) paths of a commit; empty before
/// anything is written, when every changed file is at the path it was read from).
fn reload_changes(
    stack: &crate::stack::Stack,
    files: &std::collections::BTreeMap<crate::source::FileId, Vec<u8>>,
    written: &[(PathBuf, PathBuf)],
) -> Vec<crate::tune::reload::Changed> {
    files
        .iter()
        .filter_map(|(id, new)| {
            let src = stack.sources.get(*id);
            let real = if written.is_empty() {
                src.path.clone()
            } else {
                written
                    .iter()
                    .find(|(from, _)| *from == src.path)?
                    .1
                    .clone()
            };
            Some(crate::tune::reload::Changed {
                id: *id,
                path: real,
                display: src.display.clone(),
                old: src.bytes.clone(),
                new: new.clone(),
            })
        })
        .filter(|c| c.old != c.new)
        .collect()
}

/// The error for a run that found no file to read.
fn nothing_read(input: &InputArgs) -> String {
    let paths: Vec<String> = if input.paths.is_empty() {
        vec![".".into()]
    } else {
        input
            .paths
            .iter()
            .map(|p| report::escape_controls(&p.display().to_string()).into_owned())
            .collect()
    };
    format!(
        "nothing was read under {}: no readable nginx.conf, php-fpm.conf, pool file, php.ini or wp-config.php was found (pass the config directories, or --nginx/--fpm/--php-ini/--wp-config)",
        paths.join(", ")
    )
}

fn fix(a: &CheckArgs, settings: &Settings, host: &host::Host) -> Result<i32, String> {
    use crate::fix::{run as fixrun, Applicability};
    let min = if a.diff || a.unsafe_fixes {
        Applicability::Unsafe
    } else {
        Applicability::Safe
    };
    let progress = progress::Progress::start("computing the fixes");
    let outcome = fixrun::fixpoint(&a.input.inputs_with(settings), settings, host, min)
        .map_err(|e| e.to_string())?;
    progress.finish();
    if outcome.stack.files.is_empty() {
        return Err(nothing_read(&a.input));
    }
    for r in &outcome.refused {
        eprintln!("wpstack: {r} does not parse: its fixes were not applied");
    }
    for l in &outcome.left_alone {
        eprintln!("wpstack: left alone: {l}");
    }
    if !outcome.converged {
        eprintln!(
            "wpstack: fixes did not converge after {} passes; the diff shows the last state",
            fixrun::MAX_PASSES
        );
    }
    if a.diff {
        let d = fixrun::diff(&outcome);
        let mut out = std::io::stdout().lock();
        if color_on(a.no_color) {
            let _ = out.write_all(&report::paint_diff(&d));
        } else {
            let _ = out.write_all(&d);
        }
        return Ok(if d.is_empty() { EXIT_OK } else { EXIT_FINDINGS });
    }
    if !outcome.changes.is_empty() {
        let red = report::redact::Redactor::new(&outcome.stack.sources);
        let inputs = a.input.inputs();
        let scope = fixrun::scope_of(&inputs, outcome.stack.root.as_deref());
        let configured = configured_backup_dir(a.config.as_ref(), &a.input.paths)?;
        let opts = a.validate.commit_options(!a.no_backup, configured, scope)?;
        let report = fixrun::commit(&outcome.stack, &outcome.changes, &opts, &fixrun::RealIo)
            .map_err(|e| red.text(&e))?;
        for line in fixrun::describe(&report, "fixed", opts.validate.is_some()) {
            eprintln!("wpstack: {}", red.text(&line));
        }
    }
    let findings = outcome.remaining;
    let mut summary = Summary::from_findings(&findings, outcome.stack.files.len());
    let failing = findings.iter().any(|f| f.severity >= settings.fail_on);
    let findings = report::cap_repeats(
        findings,
        &outcome.stack.sources,
        a.max_per_code,
        &mut summary,
    );
    let out = a.render(&outcome.stack.sources, &findings, &summary)?;
    print!("{out}");
    if a.exit_zero {
        return Ok(EXIT_OK);
    }
    Ok(if failing { EXIT_FINDINGS } else { EXIT_OK })
}

fn tune(a: &TuneArgs) -> Result<i32, String> {
    use crate::fix::{apply, run as fixrun, Fix};
    let mut check_like = CheckArgs::parse_from_path(std::path::Path::new("."));
    check_like.input = a.input.clone();
    check_like.host = a.host.clone();
    check_like.profile = a.profile.clone();
    check_like.config = a.config.clone();
    check_like.cdn = a.cdn.clone();
    let (settings, configured) = settings_for(&check_like)?;
    let given = a.host.facts();
    let progress = progress::Progress::start("reading the stack's files");
    let stack = discover::load(&a.input.inputs_with(&settings)).map_err(|e| e.to_string())?;
    progress.finish();
    if stack.pools.is_empty() {
        return Err(
            "no php-fpm pools found: nothing to tune (pass the php-fpm directory or --fpm)".into(),
        );
    }
    let fpm_conf = stack
        .fpm
        .iter()
        .find_map(|f| f.main)
        .map(|id| stack.sources.get(id).path.clone());
    let host = host::resolve_probe(
        &given,
        &configured,
        Some(host::Probe::live(fpm_conf.clone())),
    );
    // Workers are measured when this host is the one tuned (no facts given), or when
    // the stack's own php-fpm master runs here: its workers are this stack's, also
    // with --ram given. Only that master's workers count when it is found.
    let proc_root = std::path::Path::new("/proc");
    let master = fpm_conf
        .as_deref()
        .and_then(|c| host::stack_master(proc_root, c));
    if host
        .ram
        .is_some_and(|r| r.source == host::FactSource::Measured)
        && !host.cgroup_unreadable.is_empty()
    {
        return Err(format!(
            "cannot read a memory limit on the cgroup path ({}): the RAM this host gives php-fpm is unknown, and sizing above a limit is what gets workers killed; give --ram",
            host.cgroup_unreadable.join("; ")
        ));
    }
    if a.remove_drop_in {
        return remove_drop_ins(a, &stack);
    }
    let measured = if let Some(window) = a.sample {
        if master.is_none() && (given.ram.is_some() || configured.ram.is_some()) {
            return Err(format!(
                "--sample watches the stack's php-fpm running here, and no master runs {}",
                fpm_conf
                    .as_deref()
                    .map(|c| c.display().to_string())
                    .unwrap_or_else(|| "its php-fpm.conf".into())
            ));
        }
        let opts = crate::tune::sample::Options {
            proc_root: proc_root.to_path_buf(),
            master: master.as_ref().map(|m| m.pid),
            duration: window,
            interval: a.interval,
            status: crate::tune::sample::endpoints(&stack),
            progress: std::io::stderr().is_terminal(),
        };
        let w = crate::tune::sample::run(&opts);
        eprintln!(
            "wpstack: sampled {} times over {:.0?}{}",
            w.ticks,
            w.elapsed,
            if w.interrupted {
                " (ended early by Ctrl-C: deciding from what was seen)"
            } else {
                ""
            }
        );
        if master.is_none() {
            eprintln!(
                "wpstack: no php-fpm master runs this stack's php-fpm.conf here: the window watched every php-fpm worker on this host, matched to pools by name"
            );
        }
        let seen: Vec<&str> = stack
            .pools
            .iter()
            .filter(|p| w.pools.get(&p.name).is_some_and(|x| x.readings > 0))
            .map(|p| p.name.as_str())
            .collect();
        if seen.is_empty() {
            eprintln!(
                "wpstack: no worker of this stack's pools was seen running during the window"
            );
        }
        let mut m = w.workers();
        if given.worker_mem.is_some() {
            for v in m.values_mut() {
                v.count = v.count.max(1);
            }
        }
        m
    } else if given.worker_mem.is_some() {
        Default::default()
    } else if let Some(m) = &master {
        crate::machine::workers::measure_of(proc_root, Some(m.pid))
    } else if given.ram.is_none() && configured.ram.is_none() {
        crate::machine::workers::measure(proc_root)
    } else {
        Default::default()
    };
    let Some(t) = crate::tune::run::tune(&stack, &host, &settings, &measured) else {
        return Err("the host's RAM is unknown: give --ram".into());
    };
    // With --drop-in the pool keys go into zz-wpstack.conf: only nginx edits stay edits.
    let drop_ins = if a.drop_in {
        drop_in_plan(&stack, &t)?
    } else {
        Vec::new()
    };
    let edits: Vec<crate::fix::Edit> = t
        .edits
        .iter()
        .filter(|e| {
            !a.drop_in || stack.file(e.file).map(|f| f.kind) != Some(crate::stack::FileKind::Fpm)
        })
        .cloned()
        .collect();
    let fix = Fix::safe("tune", edits);
    let mut pass = apply::apply(&stack.sources, [&fix], crate::fix::Applicability::Safe);
    // Only files under the PATHs given are changed (and shown), by their real names.
    let scope = fixrun::scope_of(&a.input.inputs(), stack.root.as_deref());
    let mut shown: std::collections::BTreeMap<crate::source::FileId, String> = Default::default();
    pass.files.retain(|id, _| {
        let src = stack.sources.get(*id);
        match fixrun::shown_if_writable(&scope, &src.path, &src.display) {
            Ok(s) => {
                shown.insert(*id, s);
                true
            }
            Err(why) => {
                eprintln!("wpstack: left alone: {}: {why}", src.display);
                false
            }
        }
    });
    let mut diff = Vec::new();
    for (id, new) in &pass.files {
        let src = stack.sources.get(*id);
        let name = shown.get(id).unwrap_or(&src.display);
        let kind = stack.file(*id).map(|f| f.kind);
        diff.extend(apply::unified_diff(name, kind, &src.bytes, new));
    }
    for d in &drop_ins {
        diff.extend(apply::unified_diff(
            &d.shown,
            Some(crate::stack::FileKind::Fpm),
            &d.old,
            &d.new,
        ));
    }
    let red = report::redact::Redactor::new(&stack.sources);
    if a.format == "json" {
        let mut v = serde_json::json!({
            "version": 1,
            "tuning": t,
            "measured": host.measured_notes(),
            "diff": String::from_utf8_lossy(&diff),
            "drop_ins": drop_ins.iter().map(|d| serde_json::json!({
                "path": d.target.path, "exists": d.target.existing.is_some(),
                "content": String::from_utf8_lossy(&d.new),
            })).collect::<Vec<_>>(),
        });
        red.json(&mut v);
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", crate::tune::run::table(&t));
        for note in host.measured_notes() {
            println!("{note}");
        }
        println!();
        let mut out = std::io::stdout().lock();
        if color_on(false) {
            let _ = out.write_all(&report::paint_diff(&diff));
        } else {
            let _ = out.write_all(&diff);
        }
        if diff.is_empty() {
            let _ = writeln!(out, "No changes: the pools already fit this host.");
        }
    }
    if a.apply && !drop_ins.is_empty() {
        // An existing drop-in is rewritten like any file (below); a new one is
        // validated as appended to the file php-fpm loads last, then created.
        for d in drop_ins.iter().filter(|d| d.target.existing.is_some()) {
            pass.files
                .insert(d.target.existing.expect("filtered"), d.new.clone());
        }
        let new_ones: Vec<&DropInChange> = drop_ins
            .iter()
            .filter(|d| d.target.existing.is_none() && !d.new.is_empty())
            .collect();
        if !new_ones.is_empty() {
            let configured = configured_backup_dir(a.config.as_ref(), &a.input.paths)?;
            let opts = a
                .validate
                .commit_options(!a.no_backup, configured, scope.clone())?;
            let mut changes = fixrun::changes_of(&stack.sources, &pass.files);
            for d in &new_ones {
                let (k, (shown, old, new)) =
                    crate::tune::dropin::as_appended(&stack, &d.target, &d.new);
                let entry = changes.entry(k).or_insert((shown, old.clone(), old));
                entry
                    .2
                    .extend_from_slice(&new[entry.1.len().min(new.len())..]);
            }
            if let Some(v) = &opts.validate {
                let val = crate::fix::validate::validate(&stack, &changes, v);
                for line in val.lines() {
                    eprintln!("wpstack: {}", red.text(&line));
                }
                if let Some(msg) = val.rejection() {
                    return Err(format!("{msg}\nnothing was written"));
                }
            }
            let reload_opts = reload_options(a);
            // The files of each change for --reload: a new drop-in is a file of its
            // instance (the one loaded last) going from nothing to its text; rolled
            // back, it is emptied (php-fpm then reads what it read before) and removed.
            let created = |path: &std::path::Path, d: &DropInChange| crate::tune::reload::Changed {
                id: d.target.last,
                path: path.to_path_buf(),
                display: d.shown.clone(),
                old: Vec::new(),
                new: d.new.clone(),
            };
            let plan = if a.reload {
                let mut pre = reload_changes(&stack, &pass.files, &[]);
                pre.extend(new_ones.iter().map(|d| created(&d.target.path, d)));
                Some(
                    crate::tune::reload::prepare(&stack, &pre, &reload_opts)
                        .map_err(|e| format!("{e}; nothing was written"))?,
                )
            } else {
                None
            };
            let rest = fixrun::changes_of(&stack.sources, &pass.files);
            let mut written: Vec<(PathBuf, PathBuf)> = Vec::new();
            if !rest.is_empty() {
                let opts = crate::fix::run::CommitOptions {
                    validate: None,
                    ..opts.clone()
                };
                let report = fixrun::commit(&stack, &rest, &opts, &fixrun::RealIo)
                    .map_err(|e| red.text(&e))?;
                for line in fixrun::describe(&report, "tuned", true) {
                    eprintln!("wpstack: {}", red.text(&line));
                }
                written = report
                    .written
                    .iter()
                    .map(|w| (w.from.clone(), w.path.clone()))
                    .collect();
            }
            let mut changed = if written.is_empty() {
                Vec::new()
            } else {
                reload_changes(&stack, &pass.files, &written)
            };
            let mut made = Vec::new();
            for d in &new_ones {
                let t = crate::files::write::create(&scope, &d.target.path, &d.new, &d.target.like)
                    .map_err(|e| red.text(&format!("{}: {e}", d.shown)))?;
                eprintln!("wpstack: tuned {} (new drop-in)", t.display);
                changed.push(created(&t.real, d));
                made.push(t);
            }
            if let Some(plan) = plan {
                match crate::tune::reload::run(&plan, &changed, &reload_opts) {
                    Ok(lines) => {
                        for line in lines {
                            eprintln!("wpstack: {}", red.text(&line));
                        }
                    }
                    Err(e) => {
                        // Rolled back: the new drop-ins are empty now; remove them.
                        for t in &made {
                            let _ = crate::files::write::remove(
                                &scope,
                                t,
                                b"",
                                &crate::files::write::BackupPlan::none(),
                            );
                        }
                        return Err(red.text(&e));
                    }
                }
            }
            return Ok(EXIT_OK);
        }
    }
    if a.apply {
        let changes = fixrun::changes_of(&stack.sources, &pass.files);
        let reload_opts = reload_options(a);
        // What --reload will signal is settled before anything is written: on a copy,
        // or with no master of this config running, nothing is written.
        let plan = if a.reload {
            Some(
                crate::tune::reload::prepare(
                    &stack,
                    &reload_changes(&stack, &pass.files, &[]),
                    &reload_opts,
                )
                .map_err(|e| format!("{e}; nothing was written"))?,
            )
        } else {
            None
        };
        let mut written: Vec<(PathBuf, PathBuf)> = Vec::new();
        if !changes.is_empty() {
            let configured = configured_backup_dir(a.config.as_ref(), &a.input.paths)?;
            let opts = a
                .validate
                .commit_options(!a.no_backup, configured, scope.clone())?;
            let report = fixrun::commit(&stack, &changes, &opts, &fixrun::RealIo)
                .map_err(|e| red.text(&e))?;
            for line in fixrun::describe(&report, "tuned", opts.validate.is_some()) {
                eprintln!("wpstack: {}", red.text(&line));
            }
            written = report
                .written
                .iter()
                .map(|w| (w.from.clone(), w.path.clone()))
                .collect();
        }
        if let Some(plan) = plan {
            let changed = if written.is_empty() {
                Vec::new()
            } else {
                reload_changes(&stack, &pass.files, &written)
            };
            for line in
                crate::tune::reload::run(&plan, &changed, &reload_opts).map_err(|e| red.text(&e))?
            {
                eprintln!("wpstack: {}", red.text(&line));
            }
        }
    }
    Ok(EXIT_OK)
}

fn reload_options(a: &TuneArgs) -> crate::tune::reload::Options {
    crate::tune::reload::Options {
        nginx_bin: a
            .validate
            .nginx_bin
            .clone()
            .or_else(crate::fix::validate::find_nginx)
            .unwrap_or_else(|| PathBuf::from("nginx")),
        ..Default::default()
    }
}

/// One instance's drop-in: where, what it holds, what it will hold.
struct DropInChange {
    target: crate::tune::dropin::Target,
    shown: String,
    old: Vec<u8>,
    new: Vec<u8>,
}

/// The drop-ins `tune --drop-in` writes: one per php-fpm instance whose pools changed
/// (or whose drop-in exists: it is rewritten whole).
fn drop_in_plan(
    stack: &crate::stack::Stack,
    t: &crate::tune::run::Tuning,
) -> Result<Vec<DropInChange>, String> {
    let mut out = Vec::new();
    for fpm in 0..stack.fpm.len() {
        let names: Vec<&str> = stack
            .pools
            .iter()
            .filter(|p| p.fpm == fpm)
            .map(|p| p.name.as_str())
            .collect();
        let any = t.pool_sets.iter().any(|s| names.contains(&s.pool.as_str()));
        let target = match crate::tune::dropin::locate(stack, fpm) {
            Ok(t) => t,
            Err(e) if any => {
                return Err(format!(
                "--drop-in: {e}; nothing was written (without --drop-in the pool files are edited)"
            ))
            }
            Err(_) => continue,
        };
        if !any && target.existing.is_none() {
            continue;
        }
        let new = crate::tune::dropin::render(stack, &target, &t.pool_sets);
        let old = target
            .existing
            .map(|id| stack.sources.get(id).bytes.clone())
            .unwrap_or_default();
        if new == old {
            continue;
        }
        let shown = match target.existing {
            Some(id) => stack.sources.get(id).display.clone(),
            None => {
                let last = stack.sources.get(target.last);
                let dir = std::path::Path::new(&last.display)
                    .parent()
                    .unwrap_or(std::path::Path::new(""));
                if last.path.parent() == target.path.parent() {
                    dir.join(crate::tune::dropin::NAME).display().to_string()
                } else {
                    target.path.display().to_string()
                }
            }
        };
        out.push(DropInChange {
            target,
            shown,
            old,
            new,
        });
    }
    Ok(out)
}

/// `tune --remove-drop-in`: each instance's zz-wpstack.conf, shown as a diff to
/// nothing; with --apply validated (php-fpm -t with it emptied), backed up, removed.
fn remove_drop_ins(a: &TuneArgs, stack: &crate::stack::Stack) -> Result<i32, String> {
    use crate::fix::{apply, run as fixrun};
    let red = report::redact::Redactor::new(&stack.sources);
    let found: Vec<crate::tune::dropin::Target> = (0..stack.fpm.len())
        .filter_map(|f| crate::tune::dropin::locate(stack, f).ok())
        .filter(|t| t.existing.is_some())
        .collect();
    if found.is_empty() {
        println!("No {} drop-in to remove.", crate::tune::dropin::NAME);
        return Ok(EXIT_OK);
    }
    let mut changes = std::collections::BTreeMap::new();
    for t in &found {
        let src = stack.sources.get(t.existing.expect("filtered"));
        let d = apply::unified_diff(
            &src.display,
            Some(crate::stack::FileKind::Fpm),
            &src.bytes,
            b"",
        );
        let _ = std::io::stdout().lock().write_all(&d);
        changes.insert(
            src.path.clone(),
            (src.display.clone(), src.bytes.clone(), Vec::new()),
        );
    }
    if !a.apply {
        return Ok(EXIT_OK);
    }
    // Emptied first like any change (validated, backed up, written safely), reloaded
    // with --reload (rolled back on failure: the old text is written back), then the
    // empty file is removed.
    let scope = fixrun::scope_of(&a.input.inputs(), stack.root.as_deref());
    let configured = configured_backup_dir(a.config.as_ref(), &a.input.paths)?;
    let opts = a
        .validate
        .commit_options(!a.no_backup, configured, scope.clone())?;
    let reload_opts = reload_options(a);
    let pre: Vec<crate::tune::reload::Changed> = found
        .iter()
        .map(|t| {
            let id = t.existing.expect("filtered");
            let src = stack.sources.get(id);
            crate::tune::reload::Changed {
                id,
                path: src.path.clone(),
                display: src.display.clone(),
                old: src.bytes.clone(),
                new: Vec::new(),
            }
        })
        .collect();
    let plan = if a.reload {
        Some(
            crate::tune::reload::prepare(stack, &pre, &reload_opts)
                .map_err(|e| format!("{e}; nothing was removed"))?,
        )
    } else {
        None
    };
    let report =
        fixrun::commit(stack, &changes, &opts, &fixrun::RealIo).map_err(|e| red.text(&e))?;
    for line in fixrun::describe(&report, "emptied", opts.validate.is_some()) {
        eprintln!("wpstack: {}", red.text(&line));
    }
    if let Some(plan) = plan {
        let changed: Vec<crate::tune::reload::Changed> = pre
            .into_iter()
            .filter_map(|mut c| {
                c.path = report
                    .written
                    .iter()
                    .find(|w| w.from == c.path)?
                    .path
                    .clone();
                Some(c)
            })
            .collect();
        for line in
            crate::tune::reload::run(&plan, &changed, &reload_opts).map_err(|e| red.text(&e))?
        {
            eprintln!("wpstack: {}", red.text(&line));
        }
    }
    for w in &report.written {
        let target = crate::files::write::Target {
            real: w.path.clone(),
            display: w.display.clone(),
        };
        crate::files::write::remove(
            &scope,
            &target,
            b"",
            &crate::files::write::BackupPlan::none(),
        )
        .map_err(|e| red.text(&format!("{}: {e}", w.display)))?;
        eprintln!(
            "wpstack: removed {}{}",
            w.display,
            w.backup
                .as_ref()
                .map(|b| format!(" (backup: {})", b.display()))
                .unwrap_or_default()
        );
    }
    Ok(EXIT_OK)
}

fn diagnose(a: &DiagnoseArgs) -> Result<i32, String> {
    let config_dir = a
        .config_dir
        .clone()
        .or_else(|| a.logs.is_empty().then(|| PathBuf::from("/")));
    let stack = match &config_dir {
        Some(dir) => Some(
            discover::load(&Inputs {
                paths: vec![dir.clone()],
                ..Default::default()
            })
            .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let logs = if a.logs.is_empty() {
        let found = stack
            .as_ref()
            .map(crate::diagnose::configured_logs)
            .unwrap_or_default();
        if found.is_empty() {
            return Err("no log given, and the configuration names none that exists here".into());
        }
        for l in &found {
            eprintln!("wpstack: reading {}", l.display());
        }
        found
    } else {
        a.logs.clone()
    };
    let mut groups = crate::diagnose::read_groups(&logs)?;
    if let (Some(dir), Some(stack)) = (&config_dir, &stack) {
        // The same settings `check` would use for this PATH (its wpstack.toml).
        let check_like = CheckArgs::parse_from_path(dir);
        let (settings, configured) = settings_for(&check_like)?;
        let host = host::resolve(&HostFacts::default(), &configured, true);
        let findings = engine::run(stack, &settings, &host);
        crate::diagnose::explain(&mut groups, &findings, stack);
    }
    if a.format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"version": 1, "groups": groups}))
                .unwrap_or_default()
        );
    } else {
        print!("{}", crate::diagnose::render_text(&groups));
    }
    Ok(if groups.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}
