//! The rule catalog: one file per rule, one registry (this file), one context type.
//!
//! A rule file reads top to bottom: doc → `pub static RULE: Rule` (code, name,
//! severity, fix availability, doc) → `fn check` → its fix. Its long doc lives in
//! `rules/CODE-name.md`, which `wpstack explain` prints and the test suite runs.

use crate::finding::{Finding, Severity};
use crate::settings::Settings;
use crate::stack::Stack;

/// Whether the fixer can write a diff for this rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fixable {
    No,
    Safe,
    /// Fix rests on an estimate or guess; only with `--unsafe-fixes` (always in `--diff`).
    Sometimes,
}

pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub fixable: Fixable,
    /// One line for `wpstack rules`.
    pub summary: &'static str,
    /// The whole doc (`rules/CODE-name.md`), for `explain` and SARIF.
    pub doc: &'static str,
    pub check: fn(&Context, &mut Vec<Finding>),
}

impl crate::finding::RuleId for Rule {
    fn code(&self) -> &'static str {
        self.code
    }
    fn name(&self) -> &'static str {
        self.name
    }
    fn severity(&self) -> Severity {
        self.severity
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.name)
    }
}

/// Everything a rule may read. Rules never read files themselves.
pub struct Context<'a> {
    pub stack: &'a Stack,
    pub settings: &'a Settings,
    pub host: &'a crate::machine::host::Host,
}

/// Declare a rule file's `RULE`, its doc taken from `rules/CODE-name.md`.
#[macro_export]
macro_rules! declare_rule {
    ($code:literal, $name:literal, $sev:ident, $fix:ident, $summary:literal, $check:path) => {
        pub static RULE: $crate::rules::Rule = $crate::rules::Rule {
            code: $code,
            name: $name,
            severity: $crate::finding::Severity::$sev,
            fixable: $crate::rules::Fixable::$fix,
            summary: $summary,
            doc: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/rules/",
                $code,
                "-",
                $name,
                ".md"
            )),
            check: $check,
        };
    };
}

pub mod b801_db_connections_exhausted;
pub mod b802_db_socket_missing;
pub mod b803_db_wait_timeout_short;
pub mod b804_db_memory_exceeds_ram;
pub mod c201_max_children_exceed_ram;
pub mod c202_max_children_starved;
pub mod c203_worst_case_exceeds_ram;
pub mod c204_max_requests_unset;
pub mod c205_memory_unlimited;
pub mod d501_wp_debug_on;
pub mod d502_errors_displayed;
pub mod d503_debug_log_public;
pub mod d504_php_errors_unlogged;
pub mod d505_nginx_error_log_off;
pub mod d506_savequeries_on;
pub mod doc;
pub mod e001_syntax_error;
pub mod e002_unknown_fpm_directive;
pub mod e003_duplicate_directive;
pub mod e004_invalid_value;
pub mod e005_include_not_found;
pub mod e006_fpm_will_not_start;
pub mod e007_nginx_will_not_start;
pub mod e008_unknown_ini_directive;
pub mod k701_fastcgi_cache_serves_private;
pub mod k702_fastcgi_cache_key_incomplete;
pub mod m301_memory_limit_low;
pub mod m302_wp_memory_limit_ignored;
pub mod m303_opcache_off_or_small;
pub mod m304_xdebug_in_production;
pub mod p401_upload_limits_inconsistent;
pub mod p402_fastcgi_buffer_small;
pub mod p403_max_input_vars_low;
pub mod p404_proxy_buffer_small;
pub mod p405_post_retried_across_backends;
pub mod s601_php_executes_uploads;
pub mod s602_php_path_unchecked;
pub mod s603_wp_keys_placeholder;
pub mod s604_expose_php;
pub mod s605_file_edit_allowed;
pub mod s606_url_include;
pub mod s607_sensitive_files_exposed;
pub mod s608_fpm_status_public;
pub mod s609_pool_shared_by_sites;
pub mod s610_php_value_leaks_between_sites;
pub mod s611_nginx_version_exposed;
pub mod t101_timeout_chain_inverted;
pub mod t102_terminate_before_execution;
pub mod t103_terminate_unbounded;
pub mod t104_execution_unbounded;
pub mod t105_cdn_timeout_exceeded;
pub mod t106_socket_timeout_outlives_nginx;
pub mod t107_slowlog_off;
pub mod t108_proxy_timeout_shorter;
pub mod u001_fastcgi_target_missing;
pub mod u002_socket_permission_denied;
pub mod u003_upstream_undefined;
pub mod u004_listen_backlog_too_small;
pub mod u005_fpm_pool_unused;
pub mod u006_fastcgi_host_resolved_once;
pub mod u007_upstream_server_missing;
pub mod unused_suppression;
pub mod util;

/// Every rule, in code order. Codes are a contract: never renumber.
pub static ALL: &[&Rule] = &[
    &e001_syntax_error::RULE,
    &e002_unknown_fpm_directive::RULE,
    &e003_duplicate_directive::RULE,
    &e004_invalid_value::RULE,
    &e005_include_not_found::RULE,
    &e006_fpm_will_not_start::RULE,
    &e007_nginx_will_not_start::RULE,
    &e008_unknown_ini_directive::RULE,
    &u001_fastcgi_target_missing::RULE,
    &u002_socket_permission_denied::RULE,
    &u003_upstream_undefined::RULE,
    &u004_listen_backlog_too_small::RULE,
    &u005_fpm_pool_unused::RULE,
    &u006_fastcgi_host_resolved_once::RULE,
    &u007_upstream_server_missing::RULE,
    &t101_timeout_chain_inverted::RULE,
    &t102_terminate_before_execution::RULE,
    &t103_terminate_unbounded::RULE,
    &t104_execution_unbounded::RULE,
    &t105_cdn_timeout_exceeded::RULE,
    &t106_socket_timeout_outlives_nginx::RULE,
    &t107_slowlog_off::RULE,
    &t108_proxy_timeout_shorter::RULE,
    &c201_max_children_exceed_ram::RULE,
    &c202_max_children_starved::RULE,
    &c203_worst_case_exceeds_ram::RULE,
    &c204_max_requests_unset::RULE,
    &c205_memory_unlimited::RULE,
    &m301_memory_limit_low::RULE,
    &m302_wp_memory_limit_ignored::RULE,
    &m303_opcache_off_or_small::RULE,
    &m304_xdebug_in_production::RULE,
    &p401_upload_limits_inconsistent::RULE,
    &p402_fastcgi_buffer_small::RULE,
    &p403_max_input_vars_low::RULE,
    &p404_proxy_buffer_small::RULE,
    &p405_post_retried_across_backends::RULE,
    &d501_wp_debug_on::RULE,
    &d502_errors_displayed::RULE,
    &d503_debug_log_public::RULE,
    &d504_php_errors_unlogged::RULE,
    &d505_nginx_error_log_off::RULE,
    &d506_savequeries_on::RULE,
    &s601_php_executes_uploads::RULE,
    &s602_php_path_unchecked::RULE,
    &s603_wp_keys_placeholder::RULE,
    &s604_expose_php::RULE,
    &s605_file_edit_allowed::RULE,
    &s606_url_include::RULE,
    &s607_sensitive_files_exposed::RULE,
    &s608_fpm_status_public::RULE,
    &s609_pool_shared_by_sites::RULE,
    &s610_php_value_leaks_between_sites::RULE,
    &s611_nginx_version_exposed::RULE,
    &k701_fastcgi_cache_serves_private::RULE,
    &k702_fastcgi_cache_key_incomplete::RULE,
    &b801_db_connections_exhausted::RULE,
    &b802_db_socket_missing::RULE,
    &b803_db_wait_timeout_short::RULE,
    &b804_db_memory_exceeds_ram::RULE,
    &unused_suppression::RULE,
];

pub fn by_code(code: &str) -> Option<&'static Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code))
}

pub fn by_code_or_name(s: &str) -> Option<&'static Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(s) || r.name == s)
}
