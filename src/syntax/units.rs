//! Quantities as each program reads them: nginx times and sizes, php.ini sizes,
//! php-fpm times. Parsed once into typed values; the raw text stays for messages.
//! Filled in by the units work.

/// TEMPORARY stub until the units work lands.
pub fn ini_bool(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "1" | "on" | "yes" | "true"
    )
}

/// TEMPORARY stub until the units work lands.
pub struct IniQuantity {
    pub value: i64,
    pub warning: Option<String>,
}
/// TEMPORARY stub until the units work lands.
pub fn ini_quantity(s: &str) -> IniQuantity {
    IniQuantity {
        value: s.parse().unwrap_or(0),
        warning: None,
    }
}

/// TEMPORARY stub until the units work lands.
#[derive(Debug)]
pub struct UnitError(pub String);
/// TEMPORARY stub until the units work lands.
pub fn nginx_time(s: &str) -> Result<std::time::Duration, UnitError> {
    s.trim_end_matches('s')
        .parse()
        .map(std::time::Duration::from_secs)
        .map_err(|_| UnitError(s.into()))
}
/// TEMPORARY stub until the units work lands.
pub fn nginx_size(s: &str) -> Result<u64, UnitError> {
    s.parse().map_err(|_| UnitError(s.into()))
}
/// TEMPORARY stub until the units work lands.
pub fn fpm_time(s: &str) -> Result<u64, UnitError> {
    s.trim_end_matches('s')
        .parse()
        .map_err(|_| UnitError(s.into()))
}
