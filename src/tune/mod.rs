//! The tuner: sampling, the proposal (`run`), drop-ins and reloads. The machine's facts
//! (`crate::machine`) and the capacity plan (`crate::capacity`) live below it, shared
//! with the rules.

pub mod dropin;
pub mod fpm_status;
pub mod reload;
pub mod run;
pub mod sample;
