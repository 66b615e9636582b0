//! [`Bulkhead`]: at most so many requests of one kind do their database work at once;
//! the others wait in line, first come first served, and are shed with 503
//! `overloaded` if their turn does not come in time.
//!
//! Why a line instead of letting every request in: a heavy read (a "for you" page is
//! about 1.5 ms of database CPU) that runs beside fifteen others shares the cores with
//! all of them, so each takes as long as the whole burst, and the slowest take several
//! times that. Run a few at a time, each finishes at full speed and the rest wait their
//! turn: the same throughput, with the same average wait, but a short tail, and the
//! other endpoints keep their share of the connection pool.

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::ApiError;

/// A line of requests of one kind, `permits` of which run at once.
#[derive(Debug)]
pub struct Bulkhead {
    name: &'static str,
    permits: Semaphore,
    wait: Duration,
}

/// A place in the bulkhead; the next in line goes in when it is dropped.
#[derive(Debug)]
pub struct Turn<'a>(#[allow(dead_code)] SemaphorePermit<'a>);

impl Bulkhead {
    /// `permits` at once (at least one); a request waits at most `wait` for its turn.
    pub fn new(name: &'static str, permits: usize, wait: Duration) -> Self {
        Self {
            name,
            permits: Semaphore::new(permits.clamp(1, Semaphore::MAX_PERMITS)),
            wait,
        }
    }

    /// Waits for a turn (tokio's semaphore is fair: in the order asked); 503
    /// `overloaded`, with `Retry-After`, when none comes within the wait.
    pub async fn enter(&self) -> Result<Turn<'_>, ApiError> {
        match tokio::time::timeout(self.wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(Turn(permit)),
            Ok(Err(closed)) => Err(ApiError::overloaded(closed)),
            Err(_) => Err(ApiError::overloaded(format!(
                "no turn for {} within {} ms",
                self.name,
                self.wait.as_millis()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[tokio::test]
    async fn a_request_beyond_the_permits_waits_its_turn_and_is_shed_if_it_does_not_come() {
        let bulkhead = Bulkhead::new("test", 1, Duration::from_millis(50));
        let first = bulkhead.enter().await;
        assert!(first.is_ok());
        let second = bulkhead.enter().await;
        assert_eq!(second.err().map(|e| e.code()), Some(ErrorCode::Overloaded));
        drop(first);
        assert!(bulkhead.enter().await.is_ok());
    }

    #[tokio::test]
    async fn turns_come_in_the_order_asked() {
        let bulkhead = std::sync::Arc::new(Bulkhead::new("test", 1, Duration::from_secs(5)));
        let held = bulkhead.enter().await;
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for n in 0..5 {
            let (bulkhead, order) = (bulkhead.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let turn = bulkhead.enter().await;
                if let Ok(mut order) = order.lock() {
                    order.push(n);
                }
                drop(turn);
            }));
            // each in line before the next asks
            tokio::task::yield_now().await;
        }
        drop(held);
        for w in waiting {
            assert!(w.await.is_ok());
        }
        assert_eq!(order.lock().map(|o| o.clone()).ok(), Some(vec![0, 1, 2, 3, 4]));
    }

    #[test]
    fn zero_permits_still_lets_one_in() {
        let bulkhead = Bulkhead::new("test", 0, Duration::from_millis(1));
        assert_eq!(bulkhead.permits.available_permits(), 1);
    }
}
