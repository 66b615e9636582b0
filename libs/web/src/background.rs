//! The background tasks of a server (webhook deliverer, read-cache listener, upload
//! sweeper): started with one stop token, and on shutdown cancelled and awaited, so a
//! process that stops leaves no task holding a connection or half-done work.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Runs `pass` now and again after the wait each pass returns, until `stop`: the shape of
/// every periodic job (score folding, reminders, the recommender's build). A pass logs
/// its own failures; the loop only keeps time.
pub fn repeat<F, Fut>(stop: CancellationToken, mut pass: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Duration> + Send,
{
    tokio::spawn(async move {
        loop {
            let wait = pass().await;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    })
}

#[derive(Debug, Default)]
pub struct BackgroundTasks {
    stop: CancellationToken,
    running: Vec<JoinHandle<()>>,
}

impl BackgroundTasks {
    /// The token a task watches: cancelled by [`BackgroundTasks::shutdown`].
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.child_token()
    }

    /// Keeps a started task, to be awaited at shutdown.
    pub fn add(&mut self, task: JoinHandle<()>) {
        self.running.push(task);
    }

    /// Tells every task to stop and waits until each has.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.running {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a background task ended abnormally");
            }
        }
    }
}
