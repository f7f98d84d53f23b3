//! The processing session as shown: its phase, the pending batch, shipments and rejections.

use crate::batch::PendingBatch;
use crate::services::processing::{SessionEvent, Shipment};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Phase {
    #[default]
    Idle,
    Opening,
    Open,
    Finishing,
    Finished,
    Failed(String),
}

impl Phase {
    /// `data-state` of `#process-state`.
    pub(crate) fn data_state(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Opening => "opening",
            Phase::Open => "open",
            Phase::Finishing => "finishing",
            Phase::Finished => "finished",
            Phase::Failed(_) => "failed",
        }
    }

    pub(crate) fn label(&self) -> String {
        match self {
            Phase::Idle => "No session yet: the first id you send opens one.".to_string(),
            Phase::Opening => "Opening a session…".to_string(),
            Phase::Open => "Session open: each id is sent as you enter it.".to_string(),
            Phase::Finishing => "Finishing: the last batch ships once every id is sent.".to_string(),
            Phase::Finished => "Finished: everything has shipped. A new id starts a new session.".to_string(),
            Phase::Failed(message) => format!("Session failed: {message}. A new id starts a new session."),
        }
    }

    /// Whether a session is running (ids may still be on their way).
    pub(crate) fn is_active(&self) -> bool {
        matches!(self, Phase::Opening | Phase::Open | Phase::Finishing)
    }

    /// Whether the session takes more ids.
    pub(crate) fn accepts_ids(&self) -> bool {
        matches!(self, Phase::Opening | Phase::Open)
    }
}

/// What became of the ids sent, in the order the server said so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Shipment(Shipment),
    Rejection { id: String, reason: String },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProcessState {
    /// The current session's number; events of older ones are dropped.
    pub(crate) session: u64,
    pub(crate) phase: Phase,
    pub(crate) pending: PendingBatch,
    pub(crate) outcomes: Vec<Outcome>,
    /// A word about the last thing the user did (stopped, refused).
    pub(crate) notice: Option<String>,
}

#[derive(Debug)]
pub(crate) enum ProcessAction {
    /// A new session opens; the last one's results make way.
    Started {
        session: u64,
    },
    Submitted {
        session: u64,
        id: String,
    },
    Finishing {
        session: u64,
    },
    Stopped {
        session: u64,
    },
    /// An id could not be sent now, and why.
    Refused(String),
    Event {
        session: u64,
        event: SessionEvent,
    },
}

impl ProcessState {
    pub(crate) fn reduce(&mut self, action: ProcessAction) {
        match action {
            ProcessAction::Started { session } => {
                *self = ProcessState { session, phase: Phase::Opening, ..ProcessState::default() };
            }
            ProcessAction::Submitted { session, id } if self.is_current(session) => {
                self.pending.submitted(&id);
                self.notice = None;
            }
            ProcessAction::Finishing { session } if self.is_current(session) => self.phase = Phase::Finishing,
            ProcessAction::Stopped { session } if self.is_current(session) => {
                let unsent = self.pending.ids().len();
                self.pending.clear();
                self.phase = Phase::Idle;
                self.notice = Some(match unsent {
                    0 => "Stopped: the session was cancelled.".to_string(),
                    n => format!("Stopped: the session was cancelled; {n} pending id(s) will not ship."),
                });
            }
            ProcessAction::Refused(reason) => self.notice = Some(reason),
            ProcessAction::Event { session, event } if self.is_current(session) => self.apply(event),
            ProcessAction::Submitted { .. }
            | ProcessAction::Finishing { .. }
            | ProcessAction::Stopped { .. }
            | ProcessAction::Event { .. } => {}
        }
    }

    /// Whether `session` is the one shown and still running.
    fn is_current(&self, session: u64) -> bool {
        session == self.session && self.phase.is_active()
    }

    fn apply(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Opened => {
                if self.phase == Phase::Opening {
                    self.phase = Phase::Open;
                }
            }
            SessionEvent::Shipped(shipment) => {
                self.pending.shipped(&shipment.order_ids);
                self.outcomes.push(Outcome::Shipment(shipment));
            }
            SessionEvent::Rejected { id, reason } => {
                self.pending.rejected(&id);
                self.outcomes.push(Outcome::Rejection { id, reason });
            }
            SessionEvent::NotSent { id, error } => {
                self.pending.rejected(&id);
                self.outcomes.push(Outcome::Rejection { id, reason: format!("not sent: {}", error.message) });
            }
            SessionEvent::Ended(result) => {
                self.pending.clear();
                self.phase = match result {
                    Ok(()) => Phase::Finished,
                    Err(error) => Phase::Failed(error.message),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{CallError, Reach};

    fn shipped(id: &str, destination: &str, orders: &[&str]) -> SessionEvent {
        SessionEvent::Shipped(Shipment {
            id: id.into(),
            destination: destination.into(),
            order_ids: orders.iter().map(|o| o.to_string()).collect(),
        })
    }

    fn session_with(ids: &[&str]) -> ProcessState {
        let mut state = ProcessState::default();
        state.reduce(ProcessAction::Started { session: 1 });
        for id in ids {
            state.reduce(ProcessAction::Submitted { session: 1, id: id.to_string() });
        }
        state
    }

    fn pending(state: &ProcessState) -> Vec<&str> {
        state.pending.ids().iter().map(String::as_str).collect()
    }

    #[test]
    fn the_books_flow() {
        let mut state = session_with(&["102", "103", "104"]);
        assert_eq!(state.phase, Phase::Opening);
        state.reduce(ProcessAction::Event { session: 1, event: SessionEvent::Opened });
        assert_eq!(state.phase.data_state(), "open");
        state
            .reduce(ProcessAction::Event { session: 1, event: shipped("cmb-1", "Mountain View, CA", &["102", "104"]) });
        assert_eq!(pending(&state), ["103"]);
        state.reduce(ProcessAction::Event { session: 1, event: shipped("cmb-2", "San Jose, CA", &["103"]) });
        state.reduce(ProcessAction::Submitted { session: 1, id: "999".into() });
        let rejected = SessionEvent::Rejected { id: "999".into(), reason: "order 999 not found".into() };
        state.reduce(ProcessAction::Event { session: 1, event: rejected });
        state.reduce(ProcessAction::Submitted { session: 1, id: "101".into() });
        assert_eq!(pending(&state), ["101"]);
        state.reduce(ProcessAction::Finishing { session: 1 });
        assert!(!state.phase.accepts_ids());
        state.reduce(ProcessAction::Event { session: 1, event: shipped("cmb-3", "San Jose, CA", &["101"]) });
        state.reduce(ProcessAction::Event { session: 1, event: SessionEvent::Ended(Ok(())) });
        assert_eq!(state.phase, Phase::Finished);
        assert!(state.pending.ids().is_empty());
        assert_eq!(state.outcomes.len(), 4);
    }

    #[test]
    fn an_id_that_is_not_sent_leaves_the_batch_as_a_rejection() {
        let mut state = session_with(&["102"]);
        let error =
            CallError { message: "session abc not found".into(), reach: Reach::Server, code: tonic::Code::NotFound };
        state.reduce(ProcessAction::Event { session: 1, event: SessionEvent::NotSent { id: "102".into(), error } });
        assert!(state.pending.ids().is_empty());
        assert_eq!(
            state.outcomes,
            [Outcome::Rejection { id: "102".into(), reason: "not sent: session abc not found".into() }]
        );
    }

    #[test]
    fn a_broken_session_fails_in_words() {
        let mut state = session_with(&["102"]);
        let error = CallError {
            message: "Cannot reach the server (TypeError: Failed to fetch)".into(),
            reach: Reach::Unreachable,
            code: tonic::Code::Unknown,
        };
        state.reduce(ProcessAction::Event { session: 1, event: SessionEvent::Ended(Err(error)) });
        assert_eq!(state.phase.data_state(), "failed");
        assert!(state.phase.label().contains("Cannot reach the server"));
    }

    #[test]
    fn a_stopped_session_is_deaf_to_its_last_events() {
        let mut state = session_with(&["102", "103"]);
        state.reduce(ProcessAction::Stopped { session: 1 });
        assert_eq!(state.phase, Phase::Idle);
        assert!(state.notice.as_deref().is_some_and(|n| n.contains("2 pending")));
        state.reduce(ProcessAction::Event { session: 1, event: SessionEvent::Ended(Ok(())) });
        assert_eq!(state.phase, Phase::Idle);
    }

    #[test]
    fn a_new_session_replaces_the_last_ones_results() {
        let mut state = session_with(&["102"]);
        state.reduce(ProcessAction::Event { session: 1, event: SessionEvent::Ended(Ok(())) });
        state.reduce(ProcessAction::Started { session: 2 });
        state.reduce(ProcessAction::Event { session: 1, event: shipped("cmb-9", "Nowhere", &["102"]) });
        assert!(state.outcomes.is_empty());
        assert_eq!(state.phase, Phase::Opening);
    }
}
