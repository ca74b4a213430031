//! Fuzz target `mycnf_parse`: the invariants are in tests/support/fuzz_invariants.rs, shared
//! with tests/fuzz_regressions.rs (where every crash input becomes a regression test).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/fuzz_invariants.rs"]
mod inv;

fuzz_target!(|data: &[u8]| inv::mycnf_parse(data));
