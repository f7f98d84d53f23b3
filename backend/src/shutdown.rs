//! The moment the server starts to shut down, for the calls that must end
//! cleanly before it can: open processing streams flush their partial batch.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// Tells every open call that shutdown has begun.
#[derive(Debug, Clone)]
pub struct Shutdown {
    begun: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self { begun: Arc::new(watch::Sender::new(false)) }
    }
}

impl Shutdown {
    /// Starts the shutdown: every [`Shutdown::begun`] future resolves.
    pub fn begin(&self) {
        self.begun.send_replace(true);
    }

    /// Resolves once shutdown has begun (at once if it already has).
    pub fn begun(&self) -> impl Future<Output = ()> + Send + use<> {
        let mut begun = self.begun.subscribe();
        async move {
            // An error means the sender is gone, which only happens once nothing can begin it.
            let _ = begun.wait_for(|begun| *begun).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[tokio::test]
    async fn begun_resolves_only_after_begin_even_for_late_listeners() {
        let shutdown = Shutdown::default();
        let early = shutdown.begun();
        assert!(shutdown.begun().now_or_never().is_none());
        shutdown.begin();
        early.await;
        assert!(shutdown.begun().now_or_never().is_some());
    }
}
