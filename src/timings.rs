//! `WPSTACK_TIMINGS=1`: the wall time of each step of a run on stderr (development aid
//! for issue 18's profile; no output and no cost otherwise).

use std::time::Instant;

/// Laps of one run: each `lap` prints the time since the previous one.
pub struct Laps {
    on: bool,
    last: Instant,
}

impl Laps {
    pub fn start() -> Self {
        Laps {
            on: std::env::var_os("WPSTACK_TIMINGS").is_some(),
            last: Instant::now(),
        }
    }

    pub fn lap(&mut self, what: &str) {
        if self.on {
            eprintln!(
                "wpstack: {what}: {:.3} s",
                self.last.elapsed().as_secs_f64()
            );
            self.last = Instant::now();
        }
    }
}
