//! The processing session as shown: its phase and transport, the pending batch, shipments and
//! rejections, and the ids a broken session left unconfirmed.

use super::TransportChoice;
use crate::batch::PendingBatch;
use crate::services::processing::{ProcessEvent, ShippedIds, Transport};

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
pub(crate) enum Verdict {
    ShippedIds(ShippedIds),
    Rejection { id: String, reason: String },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProcessState {
    /// The current session's number; events of older ones are dropped.
    pub(crate) session: u64,
    pub(crate) phase: Phase,
    pub(crate) pending: PendingBatch,
    pub(crate) outcomes: Vec<Verdict>,
    /// A word about the last thing the user did (stopped, refused).
    pub(crate) notice: Option<String>,
    /// What carries the current session.
    pub(crate) transport: Transport,
    /// Why the current session left the WebSocket for gRPC-Web, if it did.
    pub(crate) fallback: Option<String>,
    /// Ids a broken session had sent without word of their fate. Nothing is sent again by itself
    /// (the server may have batched them); each leaves the list when the user sends it again.
    pub(crate) unconfirmed: Vec<String>,
    /// What the next session takes; kept from session to session.
    pub(crate) choice: TransportChoice,
}

#[derive(Debug)]
pub(crate) enum ProcessAction {
    /// A new session opens; the last one's results make way.
    Started {
        session: u64,
        transport: Transport,
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
        event: ProcessEvent,
    },
    /// The switch: gRPC-Web (true) or the WebSocket for the next session and update.
    UseGrpcWeb(bool),
    /// A call got no answer over the WebSocket and then one over gRPC-Web: skip the WebSocket.
    WebSocketFailed(String),
}

impl ProcessState {
    pub(crate) fn reduce(&mut self, action: ProcessAction) {
        match action {
            ProcessAction::Started { session, transport } => {
                *self = ProcessState {
                    session,
                    phase: Phase::Opening,
                    transport,
                    unconfirmed: std::mem::take(&mut self.unconfirmed),
                    choice: std::mem::take(&mut self.choice),
                    ..ProcessState::default()
                };
            }
            ProcessAction::Submitted { session, id } if self.is_current(session) => {
                self.pending.submitted(&id);
                if let Some(at) = self.unconfirmed.iter().position(|unconfirmed| *unconfirmed == id) {
                    self.unconfirmed.remove(at);
                }
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
            ProcessAction::UseGrpcWeb(on) => self.choice.use_grpc_web(on),
            ProcessAction::WebSocketFailed(reason) => self.choice.websocket_failed = Some(reason),
            ProcessAction::Submitted { .. }
            | ProcessAction::Finishing { .. }
            | ProcessAction::Stopped { .. }
            | ProcessAction::Event { .. } => {}
        }
    }

    /// The transport shown: the running session's, else the next one's.
    pub(crate) fn shown_transport(&self) -> Transport {
        if self.phase.is_active() { self.transport } else { self.choice.next() }
    }

    /// Why the WebSocket is not in use although the user did not ask for gRPC-Web, if so.
    pub(crate) fn websocket_trouble(&self) -> Option<&str> {
        match self.phase.is_active() {
            true => self.fallback.as_deref(),
            false if self.choice.forced => None,
            false => self.choice.websocket_failed.as_deref(),
        }
    }

    /// Whether `session` is the one shown and still running.
    fn is_current(&self, session: u64) -> bool {
        session == self.session && self.phase.is_active()
    }

    fn apply(&mut self, event: ProcessEvent) {
        match event {
            ProcessEvent::Opened => {
                if self.phase == Phase::Opening {
                    self.phase = Phase::Open;
                }
                // gRPC-Web works where the WebSocket did not: the next sessions go straight to it.
                if let Some(reason) = &self.fallback {
                    self.choice.websocket_failed = Some(reason.clone());
                }
            }
            ProcessEvent::FellBack { reason } => {
                self.transport = Transport::GrpcWeb;
                self.fallback = Some(reason);
            }
            ProcessEvent::Shipped(shipment) => {
                self.pending.shipped(&shipment.order_ids);
                self.outcomes.push(Verdict::ShippedIds(shipment));
            }
            ProcessEvent::Rejected { id, reason } => {
                self.pending.rejected(&id);
                self.outcomes.push(Verdict::Rejection { id, reason });
            }
            ProcessEvent::NotSent { id, error } => {
                self.pending.rejected(&id);
                self.outcomes.push(Verdict::Rejection { id, reason: format!("not sent: {}", error.message) });
            }
            ProcessEvent::Ended(result) => {
                if result.is_err() {
                    for id in self.pending.ids() {
                        if !self.unconfirmed.contains(id) {
                            self.unconfirmed.push(id.clone());
                        }
                    }
                }
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

    fn shipped(id: &str, destination: &str, orders: &[&str]) -> ProcessEvent {
        ProcessEvent::Shipped(ShippedIds {
            id: id.into(),
            destination: destination.into(),
            order_ids: orders.iter().map(|o| o.to_string()).collect(),
        })
    }

    fn session_with(ids: &[&str]) -> ProcessState {
        let mut state = ProcessState::default();
        state.reduce(ProcessAction::Started { session: 1, transport: Transport::WebSocket });
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
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Opened });
        assert_eq!(state.phase.data_state(), "open");
        state
            .reduce(ProcessAction::Event { session: 1, event: shipped("cmb-1", "Mountain View, CA", &["102", "104"]) });
        assert_eq!(pending(&state), ["103"]);
        state.reduce(ProcessAction::Event { session: 1, event: shipped("cmb-2", "San Jose, CA", &["103"]) });
        state.reduce(ProcessAction::Submitted { session: 1, id: "999".into() });
        let rejected = ProcessEvent::Rejected { id: "999".into(), reason: "order 999 not found".into() };
        state.reduce(ProcessAction::Event { session: 1, event: rejected });
        state.reduce(ProcessAction::Submitted { session: 1, id: "101".into() });
        assert_eq!(pending(&state), ["101"]);
        state.reduce(ProcessAction::Finishing { session: 1 });
        assert!(!state.phase.accepts_ids());
        state.reduce(ProcessAction::Event { session: 1, event: shipped("cmb-3", "San Jose, CA", &["101"]) });
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Ended(Ok(())) });
        assert_eq!(state.phase, Phase::Finished);
        assert!(state.pending.ids().is_empty());
        assert_eq!(state.outcomes.len(), 4);
    }

    #[test]
    fn an_id_that_is_not_sent_leaves_the_batch_as_a_rejection() {
        let mut state = session_with(&["102"]);
        let error =
            CallError { message: "session abc not found".into(), reach: Reach::Server, code: tonic::Code::NotFound };
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::NotSent { id: "102".into(), error } });
        assert!(state.pending.ids().is_empty());
        assert_eq!(
            state.outcomes,
            [Verdict::Rejection { id: "102".into(), reason: "not sent: session abc not found".into() }]
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
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Ended(Err(error)) });
        assert_eq!(state.phase.data_state(), "failed");
        assert!(state.phase.label().contains("Cannot reach the server"));
    }

    fn lost() -> CallError {
        CallError {
            message: "Cannot reach the server (the connection to the server was lost)".into(),
            reach: Reach::Unreachable,
            code: tonic::Code::Unavailable,
        }
    }

    #[test]
    fn a_broken_session_leaves_its_pending_ids_unconfirmed_and_sends_nothing_again() {
        let mut state = session_with(&["102", "103", "104", "101"]);
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Opened });
        state
            .reduce(ProcessAction::Event { session: 1, event: shipped("cmb-1", "Mountain View, CA", &["102", "104"]) });
        state.reduce(ProcessAction::Event { session: 1, event: shipped("cmb-2", "San Jose, CA", &["103"]) });
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Ended(Err(lost())) });
        assert_eq!(state.unconfirmed, ["101"]);
        assert!(state.pending.ids().is_empty());
        // The user starts a new session: the list stays until each id is sent again.
        state.reduce(ProcessAction::Started { session: 2, transport: Transport::WebSocket });
        assert_eq!(state.unconfirmed, ["101"]);
        state.reduce(ProcessAction::Submitted { session: 2, id: "101".into() });
        assert!(state.unconfirmed.is_empty());
        assert_eq!(pending(&state), ["101"]);
    }

    #[test]
    fn a_session_that_falls_back_shows_grpc_web_and_later_sessions_skip_the_websocket() {
        let mut state = session_with(&["102"]);
        assert_eq!(state.shown_transport(), Transport::WebSocket);
        let reason = "the WebSocket closed before the server answered (code 1006)".to_string();
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::FellBack { reason: reason.clone() } });
        assert_eq!(state.shown_transport(), Transport::GrpcWeb);
        assert_eq!(state.websocket_trouble(), Some(reason.as_str()));
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Opened });
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Ended(Ok(())) });
        assert_eq!(state.choice.next(), Transport::GrpcWeb, "gRPC-Web worked where the WebSocket did not");
        assert_eq!(state.shown_transport(), Transport::GrpcWeb);
        state.reduce(ProcessAction::UseGrpcWeb(false));
        assert_eq!(state.shown_transport(), Transport::WebSocket, "the switch gives the WebSocket another chance");
    }

    #[test]
    fn a_fallback_that_fails_too_blames_the_server_not_the_websocket() {
        let mut state = session_with(&["102"]);
        let reason = "the WebSocket closed before the server answered (code 1006)".to_string();
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::FellBack { reason } });
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Ended(Err(lost())) });
        assert_eq!(state.choice.next(), Transport::WebSocket);
        assert_eq!(state.unconfirmed, ["102"]);
    }

    #[test]
    fn a_stopped_session_is_deaf_to_its_last_events() {
        let mut state = session_with(&["102", "103"]);
        state.reduce(ProcessAction::Stopped { session: 1 });
        assert_eq!(state.phase, Phase::Idle);
        assert!(state.notice.as_deref().is_some_and(|n| n.contains("2 pending")));
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Ended(Ok(())) });
        assert_eq!(state.phase, Phase::Idle);
    }

    #[test]
    fn a_new_session_replaces_the_last_ones_results() {
        let mut state = session_with(&["102"]);
        state.reduce(ProcessAction::Event { session: 1, event: ProcessEvent::Ended(Ok(())) });
        state.reduce(ProcessAction::Started { session: 2, transport: Transport::WebSocket });
        state.reduce(ProcessAction::Event { session: 1, event: shipped("cmb-9", "Nowhere", &["102"]) });
        assert!(state.outcomes.is_empty());
        assert_eq!(state.phase, Phase::Opening);
    }
}
