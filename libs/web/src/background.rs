//! The background tasks of a server (webhook deliverer, read-cache listener, upload
//! sweeper): started with one stop token, and on shutdown cancelled and awaited, so a
//! process that stops leaves no task holding a connection or half-done work.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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
