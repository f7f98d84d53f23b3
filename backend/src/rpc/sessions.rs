//! Processing sessions for browsers, which cannot stream a request: the ids
//! arrive by unary calls and the events leave by a server stream.
//!
//! A session is the same [`processing::run`] loop as `processOrders`, fed by
//! a bounded queue instead of a request stream. Its token is 256 random bits,
//! known only to the client of its stream, and dies with that stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::domain::error::{OrderError, SessionError};
use crate::domain::processing::{self, Event, Session};

/// Most ids a session queues before its stream's client reads what they
/// produced, unless set otherwise (`--max-pending-ids`).
pub(crate) const MAX_QUEUED_IDS: usize = 256;
/// Most sessions open at once, unless set otherwise (`--max-sessions`).
pub(crate) const MAX_SESSIONS: usize = 1_024;

type Queues = HashMap<String, mpsc::Sender<String>>;

/// The open sessions of a server, by token.
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    queues: Arc<Mutex<Queues>>,
    max_queued: usize,
    max_sessions: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::with_limits(MAX_QUEUED_IDS, MAX_SESSIONS)
    }
}

/// What a session's stream carries: its token first, then its events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SessionEvent {
    Opened { token: String },
    Event(Event),
}

impl Sessions {
    /// At most `max_sessions` sessions, each queueing at most `max_queued` ids (both at least 1).
    pub(crate) fn with_limits(max_queued: usize, max_sessions: usize) -> Self {
        Self { queues: Arc::default(), max_queued: max_queued.max(1), max_sessions: max_sessions.max(1) }
    }

    /// Opens a session: a stream that yields its token, then the events of
    /// the ids submitted to it, and ends after [`Sessions::finish`] or once
    /// shutdown begins, shipping the partial batch either way. Dropping the
    /// stream closes the session. Refused when `max_sessions` are open.
    pub(crate) fn open(
        &self,
        session: Session,
    ) -> Result<impl Stream<Item = Result<SessionEvent, OrderError>> + Send + 'static, SessionError> {
        let token = new_token();
        let (queue, ids) = mpsc::channel(self.max_queued);
        {
            let mut queues = self.lock();
            if queues.len() >= self.max_sessions {
                return Err(SessionError::TooMany { limit: self.max_sessions });
            }
            queues.insert(token.clone(), queue);
        }
        let closer = Closer { sessions: self.clone(), token: token.clone() };
        let events = processing::run(session, ReceiverStream::new(ids).map(Ok)).map(move |event| {
            let _closer = &closer;
            event.map(SessionEvent::Event)
        });
        Ok(futures::stream::once(async move { Ok(SessionEvent::Opened { token }) }).chain(events))
    }

    /// Queues an id for the session, as a `processOrders` client would send it.
    pub(crate) fn submit(&self, token: &str, id: String) -> Result<(), SessionError> {
        // Queued ids are held until processed: a long one is refused now, not stored.
        crate::domain::order::check_id(&id).map_err(SessionError::Invalid)?;
        let queues = self.lock();
        let queue = queues.get(token).ok_or(SessionError::Unknown)?;
        queue.try_send(id).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => SessionError::Backlog { limit: self.max_queued },
            mpsc::error::TrySendError::Closed(_) => SessionError::Unknown,
        })
    }

    /// Half-closes the session: ids already queued are processed, the partial
    /// batch ships, and its stream ends. The token stops working at once.
    pub(crate) fn finish(&self, token: &str) -> Result<(), SessionError> {
        // Dropping the only sender ends the queue once it is drained.
        self.lock().remove(token).map(drop).ok_or(SessionError::Unknown)
    }

    /// How many sessions are open.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Queues> {
        // Every critical section is a single map operation: a panic cannot leave it half-done.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Forgets a session's token when its stream goes away, finished or cancelled.
#[derive(Debug)]
struct Closer {
    sessions: Sessions,
    token: String,
}

impl Drop for Closer {
    fn drop(&mut self) {
        self.sessions.lock().remove(&self.token);
    }
}

/// 256 bits from the operating system's generator, in hex.
#[expect(clippy::expect_used, reason = "without an OS random source no session token could be safe")]
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // Without an OS random source no session could be safe; failing loudly beats a guessable token.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;
    use crate::domain::processing::{BatchSize, Processor};
    use crate::domain::store::{MemoryStore, sample_orders};

    fn processor() -> Processor {
        Processor::new(Arc::new(MemoryStore::with_orders(sample_orders())), BatchSize::default())
    }

    async fn opened(stream: &mut (impl Stream<Item = Result<SessionEvent, OrderError>> + Unpin)) -> String {
        match stream.try_next().await {
            Ok(Some(SessionEvent::Opened { token })) => token,
            other => panic!("expected the token first, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_session_streams_its_token_then_the_events_of_what_is_submitted() {
        let sessions = Sessions::default();
        let mut stream = Box::pin(sessions.open(processor().session()).expect("open"));
        let token = opened(&mut stream).await;
        assert_eq!(token.len(), 64);
        for id in ["102", "999", "103", "104", "105"] {
            sessions.submit(&token, id.into()).expect("submit");
        }
        sessions.finish(&token).expect("finish");
        let events: Vec<SessionEvent> = stream.try_collect().await.expect("events");
        let kinds: Vec<&str> = events
            .iter()
            .map(|event| match event {
                SessionEvent::Event(Event::Rejected(_)) => "rejected",
                SessionEvent::Event(Event::Shipment(_)) => "shipment",
                SessionEvent::Opened { .. } => "opened",
            })
            .collect();
        assert_eq!(kinds, ["rejected", "shipment", "shipment", "shipment"]);
        assert!(sessions.is_empty());
    }

    #[tokio::test]
    async fn a_finished_or_unknown_token_is_refused() {
        let sessions = Sessions::default();
        let mut stream = Box::pin(sessions.open(processor().session()).expect("open"));
        let token = opened(&mut stream).await;
        sessions.finish(&token).expect("finish");
        assert_eq!(sessions.submit(&token, "102".into()), Err(SessionError::Unknown));
        assert_eq!(sessions.finish(&token), Err(SessionError::Unknown));
        assert_eq!(sessions.submit("made-up", "102".into()), Err(SessionError::Unknown));
    }

    #[tokio::test]
    async fn dropping_the_stream_closes_the_session() {
        let sessions = Sessions::default();
        let mut stream = Box::pin(sessions.open(processor().session()).expect("open"));
        let token = opened(&mut stream).await;
        assert_eq!(sessions.len(), 1);
        drop(stream);
        assert!(sessions.is_empty());
        assert_eq!(sessions.submit(&token, "102".into()), Err(SessionError::Unknown));
    }

    #[tokio::test]
    async fn a_session_whose_stream_is_not_read_refuses_more_than_its_queue() {
        let sessions = Sessions::default();
        let mut stream = Box::pin(sessions.open(processor().session()).expect("open"));
        let token = opened(&mut stream).await;
        for _ in 0..MAX_QUEUED_IDS {
            sessions.submit(&token, "102".into()).expect("within the queue");
        }
        assert_eq!(sessions.submit(&token, "102".into()), Err(SessionError::Backlog { limit: MAX_QUEUED_IDS }));
    }

    #[tokio::test]
    async fn sessions_past_the_cap_are_refused_until_one_closes() {
        let sessions = Sessions::with_limits(MAX_QUEUED_IDS, 2);
        let first = sessions.open(processor().session()).expect("first");
        let _second = sessions.open(processor().session()).expect("second");
        let refused = sessions.open(processor().session()).err();
        assert_eq!(refused, Some(SessionError::TooMany { limit: 2 }));
        drop(first);
        assert!(sessions.open(processor().session()).is_ok(), "room again once one closed");
    }

    #[tokio::test]
    async fn an_id_too_long_to_be_an_order_is_refused_before_it_is_queued() {
        let sessions = Sessions::default();
        let mut stream = Box::pin(sessions.open(processor().session()).expect("open"));
        let token = opened(&mut stream).await;
        let refused = sessions.submit(&token, "9".repeat(1_000_000)).expect_err("refused");
        assert!(matches!(refused, SessionError::Invalid(_)), "{refused:?}");
        assert!(refused.to_string().len() < 512, "{refused}");
    }

    #[test]
    fn tokens_do_not_repeat() {
        let tokens: std::collections::HashSet<String> = (0..1_000).map(|_| new_token()).collect();
        assert_eq!(tokens.len(), 1_000);
    }
}
