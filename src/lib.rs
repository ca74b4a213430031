//! wpstack: lint and tune the WordPress hosting stack (nginx, PHP-FPM, php.ini,
//! wp-config.php) as one linked model, so sites stop dying with 502 Bad Gateway.
//!
//! Data flows one way: `syntax` (lossless trees) → `stack` (effective model) →
//! `rules` (findings) → `fix` (edits) → `report`.

pub mod capacity;
pub mod cli;
pub mod diagnose;
pub mod engine;
pub mod files;
pub mod finding;
pub mod fix;
pub mod format;
pub mod machine;
pub mod report;
pub mod rules;
pub mod settings;
pub mod source;
pub mod stack;
pub mod syntax;
pub mod timings;
pub mod tune;
