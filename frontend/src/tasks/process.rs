//! Feeding the processing session: ids in the order entered, finish, stop.

use yew::Callback;

use super::Tasks;
use crate::services::Reach;
use crate::services::processing::{ProcessEvent, ProcessSession, Transport};
use crate::state::ProcessAction;

impl Tasks {
    /// Sends an id into the running session, or opens a new session over `transport` with it.
    pub(crate) fn process(&self, id: String, transport: Transport) {
        let id = id.trim().to_string();
        if id.is_empty() {
            return;
        }
        let mut slot = self.process.borrow_mut();
        let number = slot.number;
        match slot.session.as_ref().filter(|session| !session.is_over()) {
            Some(session) if session.accepts_ids() => {
                session.submit(id.clone());
                drop(slot);
                self.dispatch(ProcessAction::Submitted { session: number, id });
            }
            Some(_) => {
                drop(slot);
                self.dispatch(ProcessAction::Refused(format!(
                    "Not sent: the session is finishing. Send {id} again once it has ended to start a new one."
                )));
            }
            None => {
                let number = number + 1;
                let this = self.clone();
                let on_event = Callback::from(move |event| this.session_event(number, event));
                let session = ProcessSession::open(transport, &self.api, on_event);
                session.submit(id.clone());
                *slot = super::ProcessSlot { number, session: Some(session) };
                drop(slot);
                self.dispatch(ProcessAction::Started { session: number, transport });
                self.dispatch(ProcessAction::Submitted { session: number, id });
            }
        }
    }

    fn session_event(&self, session: u64, event: ProcessEvent) {
        match &event {
            ProcessEvent::NotSent { error, .. } | ProcessEvent::Ended(Err(error)) => self.reached(error.reach),
            // Only the WebSocket failed: whether the server is there, gRPC-Web tells next.
            ProcessEvent::FellBack { .. } => {}
            _ => self.reached(Reach::Server),
        }
        self.dispatch(ProcessAction::Event { session, event });
    }

    /// Half-closes the session once the ids already entered are sent.
    pub(crate) fn finish(&self) {
        let mut slot = self.process.borrow_mut();
        let number = slot.number;
        if let Some(session) = slot.session.as_mut().filter(|session| session.accepts_ids()) {
            session.finish();
            drop(slot);
            self.dispatch(ProcessAction::Finishing { session: number });
        }
    }

    /// Cancels the session: its call (or stream) is dropped and the server forgets it.
    pub(crate) fn stop(&self) {
        let mut slot = self.process.borrow_mut();
        let number = slot.number;
        let session = slot.session.take();
        drop(slot);
        if let Some(session) = session {
            drop(session);
            self.dispatch(ProcessAction::Stopped { session: number });
        }
    }
}
