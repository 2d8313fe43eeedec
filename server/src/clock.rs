//! The simulated clock: real time × a speed factor, continuing from the fleet's last event.

use std::time::Instant;

use cluster::Timestamp;

#[derive(Debug, Clone)]
pub struct SimClock {
    started: Instant,
    base: Timestamp,
    speed: f64,
}

impl SimClock {
    /// A clock at `base` running `speed` times real time.
    pub fn new(base: Timestamp, speed: f64) -> Self {
        Self {
            started: Instant::now(),
            base,
            speed,
        }
    }

    pub fn now(&self) -> Timestamp {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0 * self.speed;
        Timestamp(self.base.0.saturating_add(ms as i64))
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }
}
