//! [`Coalescer`]: point lookups that arrive together go to the database together, one
//! statement for the lot.
//!
//! Why: under load a point read's own work in PostgreSQL (an index probe or three) is
//! small beside what every statement costs whatever it does (a round trip, the
//! protocol's messages, starting and ending the executor and its transaction), so a
//! replica spends its connections and the database's cores on overhead. Here requests
//! queue for a few *lanes*; a lane takes the first request in line and every one
//! already waiting behind it (up to a batch's size), asks for them in one statement and
//! hands each request its own answer. When the server is quiet a request goes alone and
//! at once (nothing waits for a batch to fill); under load the batches grow by
//! themselves. It is the "DataLoader" pattern without its tick: the `dataloader` crate
//! collects a batch by yielding to the scheduler a number of times (or awaiting a future
//! of one's choosing), which delays the lone request, runs one batch at a time, and
//! lets a request wait for its batch without bound, where a read here is shed with 503
//! like one that finds no pool connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::ApiError;

/// What a lane runs for a batch: one answer per key, in the keys' order.
pub type BatchLookup<K, V> =
    Arc<dyn Fn(Vec<K>) -> Pin<Box<dyn Future<Output = Result<Vec<V>, ApiError>> + Send>> + Send + Sync>;

struct Waiting<K, V> {
    key: K,
    /// Told when a lane takes the request (dropped unsent if it gave up before).
    taken: oneshot::Sender<()>,
    answer: oneshot::Sender<Result<V, ApiError>>,
}

/// Batches lookups of `K` into `V` over a few lanes. Cheap to share (`Arc` it).
pub struct Coalescer<K, V> {
    name: &'static str,
    line: mpsc::UnboundedSender<Waiting<K, V>>,
    /// How long a request waits for a lane to take it, and then for its answer.
    waits: (Duration, Duration),
    /// Keys per batch, for `/metrics`.
    batch_sizes: Histogram,
}

impl<K, V> std::fmt::Debug for Coalescer<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<K: Send + 'static, V: Send + 'static> Coalescer<K, V> {
    /// `lanes` batches in flight at once (at least one), each of at most `batch` keys.
    /// A request waits at most `queue_wait` for a lane to take it (as it would for a
    /// pool connection), then at most `work_wait` for its batch's answer. The lanes
    /// are tasks on the current Tokio runtime, and end when the coalescer is dropped.
    pub fn new(
        name: &'static str,
        lanes: usize,
        batch: usize,
        (queue_wait, work_wait): (Duration, Duration),
        lookup: BatchLookup<K, V>,
    ) -> Self {
        let (line, queue) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(queue));
        let batch_sizes = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        for _ in 0..lanes.max(1) {
            tokio::spawn(run_lane(
                queue.clone(),
                batch.max(1),
                lookup.clone(),
                batch_sizes.clone(),
            ));
        }
        Self {
            name,
            line,
            waits: (queue_wait, work_wait),
            batch_sizes,
        }
    }

    /// The keys each batch carried (buckets 1, 2, 4 … 64), to register in `/metrics`.
    pub fn batch_sizes(&self) -> Histogram {
        self.batch_sizes.clone()
    }

    /// The answer for `key`, looked up with whatever else is asked meanwhile; 503
    /// `overloaded`, with `Retry-After`, when no lane takes it or its answer does not
    /// come within the waits.
    pub async fn get(&self, key: K) -> Result<V, ApiError> {
        let (taken, was_taken) = oneshot::channel();
        let (answer, answered) = oneshot::channel();
        self.line
            .send(Waiting { key, taken, answer })
            .map_err(|_| ApiError::unavailable(format!("{} lookups have stopped", self.name)))?;
        let (queue_wait, work_wait) = self.waits;
        match tokio::time::timeout(queue_wait, was_taken).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(self.dropped()),
            Err(_) => return Err(self.overloaded("no lane took it", queue_wait)),
        }
        match tokio::time::timeout(work_wait, answered).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(self.dropped()),
            Err(_) => Err(self.overloaded("no answer came", work_wait)),
        }
    }

    fn overloaded(&self, what: &str, wait: Duration) -> ApiError {
        ApiError::overloaded(format!("{} lookup: {what} within {} ms", self.name, wait.as_millis()))
    }

    fn dropped(&self) -> ApiError {
        ApiError::internal(format!("a {} lookup was dropped unanswered", self.name))
    }
}

/// One lane: take the first in line and whoever waits behind it, look them up
/// together, answer each. The queue's lock is held only while taking, so the other
/// lanes take the next batch while this one is at the database.
async fn run_lane<K, V>(
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Waiting<K, V>>>>,
    batch: usize,
    lookup: BatchLookup<K, V>,
    sizes: Histogram,
) {
    loop {
        let taken = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            let mut taken = vec![first];
            while taken.len() < batch {
                match queue.try_recv() {
                    Ok(next) => taken.push(next),
                    Err(_) => break,
                }
            }
            taken
        };
        // A request that gave up waiting is not looked up.
        let (keys, answers): (Vec<K>, Vec<_>) = taken
            .into_iter()
            .filter_map(|w| w.taken.send(()).is_ok().then_some((w.key, w.answer)))
            .unzip();
        if keys.is_empty() {
            continue;
        }
        let asked = keys.len();
        sizes.observe(asked as f64);
        match lookup(keys).await {
            Ok(found) if found.len() == asked => {
                for (answer, value) in answers.into_iter().zip(found) {
                    let _ = answer.send(Ok(value));
                }
            }
            Ok(found) => {
                let e = ApiError::internal(format!("a batch of {asked} lookups gave {} answers", found.len()));
                answer_all(answers, e);
            }
            Err(e) => answer_all(answers, e),
        }
    }
}

/// The same problem for everyone in a failed batch; the first gets the original, so
/// its cause is logged once.
fn answer_all<V>(answers: Vec<oneshot::Sender<Result<V, ApiError>>>, e: ApiError) {
    let copy = e.same_problem();
    let mut original = Some(e);
    for answer in answers {
        let _ = answer.send(Err(original.take().unwrap_or_else(|| copy.same_problem())));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ErrorCode;

    /// Doubles each key after a short pause (a batch at the database), counting batches
    /// and the largest one.
    fn doubling(batches: Arc<AtomicUsize>, largest: Arc<AtomicUsize>) -> BatchLookup<u32, u32> {
        Arc::new(move |keys: Vec<u32>| {
            let (batches, largest) = (batches.clone(), largest.clone());
            Box::pin(async move {
                batches.fetch_add(1, Ordering::SeqCst);
                largest.fetch_max(keys.len(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(keys.into_iter().map(|k| k * 2).collect())
            })
        })
    }

    #[tokio::test]
    async fn requests_that_arrive_together_share_a_batch_and_each_gets_its_own_answer() {
        let (batches, largest) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let coalescer = Arc::new(Coalescer::new(
            "test",
            2,
            16,
            (Duration::from_secs(5), Duration::from_secs(5)),
            doubling(batches.clone(), largest.clone()),
        ));
        let mut asking = Vec::new();
        for key in 0..40u32 {
            let coalescer = coalescer.clone();
            asking.push(tokio::spawn(async move { (key, coalescer.get(key).await) }));
        }
        for asked in asking {
            let (key, answer) = asked.await.map_err(|e| e.to_string()).unwrap_or((u32::MAX, Ok(0)));
            assert_eq!(answer.ok(), Some(key * 2), "key {key}");
        }
        let batches = batches.load(Ordering::SeqCst);
        assert!(batches < 40, "40 requests took {batches} batches");
        assert!(largest.load(Ordering::SeqCst) <= 16, "a batch was larger than its size");
    }

    #[tokio::test]
    async fn a_lone_request_is_answered_without_waiting_for_company() {
        let (batches, largest) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let coalescer = Coalescer::new(
            "test",
            1,
            16,
            (Duration::from_secs(5), Duration::from_secs(5)),
            doubling(batches.clone(), largest.clone()),
        );
        assert_eq!(coalescer.get(21).await.ok(), Some(42));
        assert_eq!(coalescer.get(5).await.ok(), Some(10));
        assert_eq!(batches.load(Ordering::SeqCst), 2);
        assert_eq!(largest.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_request_in_it_with_the_same_problem() {
        let lookup: BatchLookup<u32, u32> = Arc::new(|_keys: Vec<u32>| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(ApiError::overloaded("the database is busy"))
            })
        });
        let coalescer = Arc::new(Coalescer::new(
            "test",
            1,
            16,
            (Duration::from_secs(5), Duration::from_secs(5)),
            lookup,
        ));
        let mut asking = Vec::new();
        for key in 0..5u32 {
            let coalescer = coalescer.clone();
            asking.push(tokio::spawn(async move { coalescer.get(key).await }));
        }
        for asked in asking {
            let code = asked.await.ok().and_then(|answer| answer.err()).map(|e| e.code());
            assert_eq!(code, Some(ErrorCode::Overloaded));
        }
    }

    #[tokio::test]
    async fn a_batch_with_the_wrong_number_of_answers_is_an_error_not_a_mix_up() {
        let lookup: BatchLookup<u32, u32> = Arc::new(|_keys: Vec<u32>| Box::pin(async { Ok(vec![]) }));
        let coalescer = Coalescer::new("test", 1, 16, (Duration::from_secs(5), Duration::from_secs(5)), lookup);
        assert_eq!(
            coalescer.get(1).await.err().map(|e| e.code()),
            Some(ErrorCode::Internal)
        );
    }

    #[tokio::test]
    async fn a_request_no_lane_takes_in_time_is_shed_and_never_looked_up() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let lookup: BatchLookup<u32, u32> = Arc::new(move |keys: Vec<u32>| {
            let recorded = recorded.clone();
            Box::pin(async move {
                recorded.lock().map(|mut seen| seen.extend(keys.iter().copied())).ok();
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(keys)
            })
        });
        let coalescer = Arc::new(Coalescer::new(
            "test",
            1,
            16,
            (Duration::from_millis(50), Duration::from_secs(5)),
            lookup,
        ));
        let busy = coalescer.clone();
        let first = tokio::spawn(async move { busy.get(1).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The only lane is at the database with the first: the second is not taken.
        assert_eq!(
            coalescer.get(2).await.err().map(|e| e.code()),
            Some(ErrorCode::Overloaded)
        );
        assert_eq!(first.await.ok().and_then(|answer| answer.ok()), Some(1));
        // The lane, free again, skips the request that gave up.
        assert_eq!(coalescer.get(3).await.ok(), Some(3));
        assert_eq!(seen.lock().map(|seen| seen.clone()).ok(), Some(vec![1, 3]));
    }

    #[tokio::test]
    async fn an_answer_that_does_not_come_in_time_is_shed_as_overloaded() {
        let lookup: BatchLookup<u32, u32> = Arc::new(|keys: Vec<u32>| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(keys)
            })
        });
        let coalescer = Coalescer::new(
            "test",
            1,
            16,
            (Duration::from_secs(5), Duration::from_millis(50)),
            lookup,
        );
        assert_eq!(
            coalescer.get(1).await.err().map(|e| e.code()),
            Some(ErrorCode::Overloaded)
        );
    }
}
