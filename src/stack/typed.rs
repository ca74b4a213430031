//! Typed readings of model values: seconds and bytes as each program reads its own
//! syntax. Rules, the capacity plan and the tuner all read values through these.

use crate::stack::{PhpSetting, Sourced};
use crate::syntax::units;

/// PHP seconds (max_execution_time and friends): an integer, 0/negative = unlimited.
pub fn php_seconds(s: &PhpSetting) -> Option<i64> {
    s.text().trim().parse::<i64>().ok()
}

/// A php-fpm time value in seconds.
pub fn fpm_seconds(s: &Sourced<String>) -> Option<u64> {
    units::fpm_time(s.value.trim()).ok()
}

/// An nginx time in whole seconds (rounded up).
pub fn nginx_seconds(s: &Sourced<String>) -> Option<u64> {
    units::nginx_time(s.value.trim())
        .ok()
        .map(|d| d.as_millis().div_ceil(1000) as u64)
}

/// A php.ini quantity in bytes (`128M`, `-1`).
pub fn ini_bytes(s: &PhpSetting) -> i64 {
    units::ini_quantity(s.text()).value
}
