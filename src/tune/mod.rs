//! The tuner: host facts and the numbers they lead to.

pub mod capacity;
pub mod host;
pub mod reload;
pub mod run;
pub mod workers;
