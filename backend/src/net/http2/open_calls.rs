//! How many calls the server's HTTP/2 connections serve at once, together.
//!
//! Each open call costs memory the budget cannot see: its task, tonic's
//! buffers, h2's stream state (7 KiB idle, about 50 KiB when its client has
//! stopped reading). `--max-concurrent-streams` bounds it per connection and
//! `--max-connections` the connections, but their product is millions; this
//! cap bounds the sum. A call past it is answered at once, RESOURCE_EXHAUSTED
//! naming `--max-calls`, and the connection's other calls go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server-wide count of open HTTP/2 calls; clones share it.
#[derive(Debug, Clone)]
pub(crate) struct OpenCalls(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    limit: usize,
    open: AtomicUsize,
}

/// One open call, counted until it is dropped.
#[derive(Debug)]
pub(crate) struct Open(Arc<Inner>);

impl OpenCalls {
    pub(crate) fn new(limit: usize) -> Self {
        Self(Arc::new(Inner { limit, open: AtomicUsize::new(0) }))
    }

    /// Counts one more call, unless the server serves as many as it may.
    pub(crate) fn open(&self) -> Option<Open> {
        let Inner { limit, open } = &*self.0;
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| (now < *limit).then_some(now + 1)).ok()?;
        Some(Open(Arc::clone(&self.0)))
    }

    pub(crate) fn limit(&self) -> usize {
        self.0.limit
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_past_the_limit_are_refused_until_one_ends() {
        let calls = OpenCalls::new(2);
        let first = calls.open().expect("first");
        let _second = calls.open().expect("second");
        assert!(calls.open().is_none(), "a third is past the limit");
        drop(first);
        assert!(calls.open().is_some(), "room again once one ended");
    }
}
