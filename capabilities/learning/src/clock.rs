//! The time learning runs on: the system's, or a manual one that tests move, so that
//! "overdue at the right instant" and "a heartbeat ten seconds later" need no sleeps.
//! Every decision that depends on the time (due dates, overdue, reminders, the
//! seconds a heartbeat may credit) reads it here, and SQL gets it as a parameter.

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Mutex<OffsetDateTime>>>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands at `start` until it is moved.
    pub fn manual(start: OffsetDateTime) -> Self {
        Self(Some(Arc::new(Mutex::new(start))))
    }

    pub fn now(&self) -> OffsetDateTime {
        match &self.0 {
            None => OffsetDateTime::now_utc(),
            Some(at) => at.lock().map_or_else(|poisoned| *poisoned.into_inner(), |at| *at),
        }
    }

    /// Moves a manual clock forward (a system clock moves by itself).
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.0
            && let Ok(mut at) = at.lock()
        {
            *at += by;
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(_) => write!(f, "Clock::manual({})", self.now()),
        }
    }
}
