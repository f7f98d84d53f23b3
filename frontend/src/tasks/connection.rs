//! Getting the server back: while it is unreachable, a cheap call every few seconds.

use std::cell::Cell;
use std::rc::Rc;

use futures::future::join;
use gloo_timers::future::TimeoutFuture;
use wasm_bindgen_futures::spawn_local;

use super::Tasks;
use crate::services::Reach;
use crate::state::ConnectionAction;

/// How long the page waits between retries.
const RETRY_EVERY_MS: u32 = 3_000;
/// How long a retry shows as "reconnecting" at least, so that it can be seen at all.
const RETRY_SHOWN_MS: u32 = 800;

/// Retries the server until it answers; dropping it stops the retries.
#[derive(Debug)]
pub(crate) struct Watch {
    stopped: Rc<Cell<bool>>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stopped.set(true);
    }
}

impl Tasks {
    /// Starts retrying: `getOrder("")` answers NOT_FOUND whenever the server is up.
    pub(crate) fn watch_connection(&self) -> Watch {
        let stopped = Rc::new(Cell::new(false));
        let this = self.clone();
        let stop = stopped.clone();
        spawn_local(async move {
            loop {
                TimeoutFuture::new(RETRY_EVERY_MS).await;
                if stop.get() {
                    return;
                }
                this.dispatch(ConnectionAction::Probing);
                let (reach, ()) = join(this.api.probe(), TimeoutFuture::new(RETRY_SHOWN_MS)).await;
                if stop.get() {
                    return;
                }
                this.reached(reach);
                if reach == Reach::Server {
                    return;
                }
            }
        });
        Watch { stopped }
    }
}
