//! The bytes of client data the server holds at once, bounded as a whole
//! and per connection.
//!
//! Each call has byte limits of its own (an update's 64 MiB, a WebSocket
//! call's read-ahead), but a client may open many calls on many connections.
//! The budget bounds their sum: the orders an update gathers, the orders
//! looked up for processing and not yet shipped, the search pages not yet
//! sent, the WebSocket messages not yet read. Each connection draws on a
//! [`Budget::share`] of it, so that one connection cannot spend it all and
//! leave other clients none. A call that would take its connection or the
//! server past a limit fails with RESOURCE_EXHAUSTED naming the flag; the
//! calls already holding bytes go on, and each gives its bytes back when its
//! [`Held`] is dropped, however the call ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::metrics::Metrics;

/// What one call may hold of client data, each way, outside the budget: an
/// ordinary call (a request or a response of a few KiB) never waits on the
/// budget, so a client that has spent it cannot refuse others theirs. What
/// all calls hold this way is bounded by the cap on calls (`--max-calls`).
pub const CALL_ALLOWANCE: usize = 4 * 1024;

/// The bytes of `held`, for one call, that the budget must cover.
pub fn beyond_allowance(held: usize) -> usize {
    held.saturating_sub(CALL_ALLOWANCE)
}

/// The server-wide budget, or one connection's share of it; clones share it.
#[derive(Debug, Clone)]
pub struct Budget(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    limit: usize,
    held: AtomicUsize,
    metrics: Metrics,
    /// The budget a share draws on as well; `None` for the server's own.
    whole: Option<Budget>,
}

/// A limit would be passed: the call asking for more must give up.
#[expect(missing_docs, reason = "each variant's #[error] message says what it is")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Spent {
    #[error(
        "the server already holds {limit_mib} MiB of client data, as much as it may (--max-held-bytes): try again later"
    )]
    Server { limit_mib: usize },
    #[error(
        "this connection already holds {limit_mib} MiB of client data, as much as one connection may \
         (--max-held-bytes-per-connection): end or read its other calls, or try again later"
    )]
    Connection { limit_mib: usize },
}

impl Budget {
    /// A budget of `limit` bytes, reported in `metrics`.
    pub fn new(limit: usize, metrics: Metrics) -> Self {
        Self(Arc::new(Inner { limit, held: AtomicUsize::new(0), metrics, whole: None }))
    }

    /// One connection's share: at most `limit` bytes, and those only while
    /// this budget has them too.
    pub fn share(&self, limit: usize) -> Self {
        let metrics = self.0.metrics.clone();
        Self(Arc::new(Inner { limit, held: AtomicUsize::new(0), metrics, whole: Some(self.clone()) }))
    }

    /// What a call draws on: the share of the connection it came on (the
    /// server puts it in each request's extensions), else this budget.
    pub fn for_call(&self, extensions: &http::Extensions) -> Budget {
        extensions.get::<Budget>().cloned().unwrap_or_else(|| self.clone())
    }

    /// A budget that is never spent (for tests and library users who bound memory otherwise).
    pub fn unlimited() -> Self {
        Self::new(usize::MAX, Metrics::default())
    }

    /// Holds nothing yet; grows with [`Held::grow`].
    pub fn none(&self) -> Held {
        Held { budget: self.clone(), bytes: 0 }
    }

    /// Takes `bytes`, or refuses if they would take the server past its limit.
    pub fn take(&self, bytes: usize) -> Result<Held, Spent> {
        let mut held = self.none();
        held.grow(bytes)?;
        Ok(held)
    }

    /// The bytes held now, by every call together.
    pub fn held(&self) -> usize {
        self.0.held.load(Ordering::Acquire)
    }

    fn reserve(&self, bytes: usize) -> Result<(), Spent> {
        let Inner { limit, held, metrics, whole } = &*self.0;
        let within = |now: usize| now.checked_add(bytes).filter(|after| after <= limit);
        if held.fetch_update(Ordering::AcqRel, Ordering::Acquire, within).is_err() {
            metrics.held_bytes_refused();
            let limit_mib = limit >> 20;
            return Err(if whole.is_some() { Spent::Connection { limit_mib } } else { Spent::Server { limit_mib } });
        }
        match whole {
            // The server's gauge counts each byte once, where it is held in the whole.
            None => metrics.held_bytes_changed(bytes, 0),
            Some(whole) => {
                if let Err(spent) = whole.reserve(bytes) {
                    held.fetch_sub(bytes, Ordering::AcqRel);
                    return Err(spent);
                }
            }
        }
        Ok(())
    }

    fn release(&self, bytes: usize) {
        self.0.held.fetch_sub(bytes, Ordering::AcqRel);
        match &self.0.whole {
            None => self.0.metrics.held_bytes_changed(0, bytes),
            Some(whole) => whole.release(bytes),
        }
    }
}

/// Bytes taken from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Held {
    budget: Budget,
    bytes: usize,
}

impl Held {
    /// Takes `more` bytes, or refuses (holding what it held) past the limit.
    pub fn grow(&mut self, more: usize) -> Result<(), Spent> {
        if more > 0 {
            self.budget.reserve(more)?;
            self.bytes += more;
        }
        Ok(())
    }

    /// Gives back up to `fewer` bytes: what it holds no longer needs them.
    pub fn shrink(&mut self, fewer: usize) {
        let fewer = fewer.min(self.bytes);
        if fewer > 0 {
            self.budget.release(fewer);
            self.bytes -= fewer;
        }
    }

    /// Hands up to `bytes` of what this holds to a new holder, which gives
    /// them back when it is dropped: what they stand for has moved on.
    pub fn split(&mut self, bytes: usize) -> Held {
        let bytes = bytes.min(self.bytes);
        self.bytes -= bytes;
        Held { budget: self.budget.clone(), bytes }
    }

    /// The bytes this holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.shrink(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_refused_past_the_limit_and_come_back_when_dropped() {
        let budget = Budget::new(3 << 20, Metrics::default());
        let first = budget.take(2 << 20).expect("within the limit");
        assert_eq!(budget.take((1 << 20) + 1).map(|_| ()), Err(Spent::Server { limit_mib: 3 }));
        let second = budget.take(1 << 20).expect("exactly the limit");
        assert_eq!(budget.held(), 3 << 20);
        drop(first);
        drop(second);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_refused_growth_keeps_what_was_held_and_shrinking_gives_back_part() {
        let budget = Budget::new(10, Metrics::default());
        let mut held = budget.take(4).expect("within");
        assert!(held.grow(7).is_err());
        assert_eq!((held.bytes(), budget.held()), (4, 4));
        held.grow(6).expect("exactly the limit");
        held.shrink(7);
        assert_eq!((held.bytes(), budget.held()), (3, 3));
        let moved = held.split(2);
        assert_eq!((held.bytes(), moved.bytes(), budget.held()), (1, 2, 3));
        drop(moved);
        held.shrink(100);
        assert_eq!((held.bytes(), budget.held()), (0, 0));
    }

    #[test]
    fn the_message_names_the_flag_and_the_limit() {
        let spent = Budget::new(256 << 20, Metrics::default()).take(257 << 20).map(|_| ()).unwrap_err();
        assert!(spent.to_string().contains("256 MiB"), "{spent}");
        assert!(spent.to_string().contains("--max-held-bytes"), "{spent}");
    }

    #[test]
    fn a_connection_spends_only_its_share_and_leaves_the_rest_to_others() {
        let server = Budget::new(8 << 20, Metrics::default());
        let (greedy, other) = (server.share(4 << 20), server.share(4 << 20));
        let mut held = greedy.take(3 << 20).expect("within the share");
        assert_eq!(held.grow(2 << 20), Err(Spent::Connection { limit_mib: 4 }), "past its share");
        assert_eq!(
            (held.bytes(), greedy.held(), server.held()),
            (3 << 20, 3 << 20, 3 << 20),
            "a refusal takes nothing"
        );
        let theirs = other.take(4 << 20).expect("another connection's share is whole");
        assert_eq!(server.held(), 7 << 20);
        drop((held, theirs));
        assert_eq!((greedy.held(), other.held(), server.held()), (0, 0, 0));
    }

    #[test]
    fn shares_that_add_up_past_the_whole_are_refused_by_the_server_and_keep_nothing() {
        let server = Budget::new(5 << 20, Metrics::default());
        let (first, second) = (server.share(4 << 20), server.share(4 << 20));
        let _held = first.take(3 << 20).expect("within both");
        assert_eq!(second.take(3 << 20).map(|_| ()), Err(Spent::Server { limit_mib: 5 }));
        assert_eq!((second.held(), server.held()), (0, 3 << 20), "the share gave back what the whole refused");
    }

    #[test]
    fn a_connections_refusal_names_its_own_flag() {
        let spent = Budget::unlimited().share(16 << 20).take(17 << 20).map(|_| ()).unwrap_err();
        assert!(spent.to_string().contains("16 MiB"), "{spent}");
        assert!(spent.to_string().contains("--max-held-bytes-per-connection"), "{spent}");
    }

    #[test]
    fn the_metrics_show_what_is_held_and_how_often_it_was_refused() {
        let metrics = Metrics::default();
        let budget = Budget::new(100, metrics.clone());
        let _held = budget.take(60).expect("within");
        assert!(budget.take(50).is_err());
        let share = budget.share(30);
        let _shared = share.take(20).expect("within the share");
        assert!(share.take(20).is_err());
        let text = metrics.encode();
        assert!(text.contains("ordermgt_held_bytes 80"), "a share's bytes count once: {text}");
        assert!(text.contains("ordermgt_held_bytes_refused_total 2"), "{text}");
    }
}
