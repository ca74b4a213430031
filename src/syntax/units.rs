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
