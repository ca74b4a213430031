//! Run settings: profile, CDN, host facts and thresholds, from the command line and
//! `wpstack.toml`.

#[derive(Debug, Clone, Default)]
pub struct Settings {}
