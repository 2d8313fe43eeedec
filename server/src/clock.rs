//! The simulated clock: real time × a speed factor, continuing from the fleet's last event. A test API
//! (issue 15) may freeze it, change its speed or move it forward; every holder of a clone sees the
//! change.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use cluster::Timestamp;

#[derive(Debug, Clone, Copy)]
struct Reading {
    started: Instant,
    base: Timestamp,
    speed: f64,
}

impl Reading {
    fn now(&self) -> Timestamp {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0 * self.speed;
        Timestamp(self.base.0.saturating_add(ms as i64))
    }
}

#[derive(Debug, Clone)]
pub struct SimClock {
    inner: Arc<Mutex<Reading>>,
}

impl SimClock {
    /// A clock at `base` running `speed` times real time.
    pub fn new(base: Timestamp, speed: f64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Reading {
                started: Instant::now(),
                base,
                speed,
            })),
        }
    }

    fn read(&self) -> Reading {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> Timestamp {
        self.read().now()
    }

    pub fn speed(&self) -> f64 {
        self.read().speed
    }

    /// From now on the clock runs `speed` times real time (0: it stands still), from where it is.
    pub fn set_speed(&self, speed: f64) {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *r = Reading {
            started: Instant::now(),
            base: r.now(),
            speed,
        };
    }

    /// Moves the clock `secs` simulated seconds forward at once.
    pub fn advance(&self, secs: i64) {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *r = Reading {
            started: Instant::now(),
            base: r.now().plus_secs(secs),
            speed: r.speed,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_stands_still_and_moves_only_when_advanced() {
        let c = SimClock::new(Timestamp(1_000), 1000.0);
        c.set_speed(0.0);
        let at = c.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(c.now(), at, "frozen");
        let other = c.clone();
        other.advance(600);
        assert_eq!(c.now(), at.plus_secs(600), "every clone sees the move");
        c.set_speed(2.0);
        assert!(c.speed() == 2.0);
    }
}
