//! The tuner: host facts and the numbers they lead to.

pub mod capacity;
pub mod dropin;
pub mod fpm_status;
pub mod host;
pub mod reload;
pub mod run;
pub mod sample;
pub mod workers;
