//! How values are written for people: sizes as php.ini and php-fpm write them, durations
//! as an admin reads them. Below the rules, the tuner and the reports, which all word
//! messages with them.

/// Human size: 128M, 1.5G, 512K.
pub fn human_bytes(b: u64) -> String {
    const K: u64 = 1024;
    if b >= K * K * K && b % (K * K * K / 10) == 0 {
        let g = b as f64 / (K * K * K) as f64;
        return if g.fract() == 0.0 {
            format!("{g:.0}G")
        } else {
            format!("{g:.1}G")
        };
    }
    if b >= K * K {
        return format!("{}M", b.div_ceil(K * K));
    }
    if b >= K {
        return format!("{}K", b.div_ceil(K));
    }
    b.to_string()
}

/// Seconds for people: `42s`, `3m 5s`, `2h 10m`, `3d 4h`.
pub fn human_secs(s: u64) -> String {
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}
