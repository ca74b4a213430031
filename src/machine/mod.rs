//! Facts about the machine wpstack runs on or is told about: RAM, CPUs, cgroup limits,
//! the php-fpm masters and their workers' memory. Below the rules (C201–C203, B804
//! read them through the capacity plan) and the tuner alike; it reads /proc and /sys
//! and never the configuration files.

pub mod host;
pub mod workers;
