//! What the page's intents set off: each task spawns its calls (`spawn_local`) on the services and
//! dispatches what comes back as `Action`s, so components only emit and the reducer only records.

mod connection;
mod orders;
mod process;
mod writes;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use yew::UseReducerDispatcher;

use crate::services::processing::ProcessSession;
use crate::services::{Api, Credentials, Reach};
use crate::state::{Action, ConnectionAction, State};

/// The page's tasks, shared by every callback of `App`; cloning shares them.
#[derive(Clone, Debug)]
pub(crate) struct Tasks {
    api: Api,
    /// The tab's write token, sent with every write.
    credentials: Credentials,
    dispatcher: UseReducerDispatcher<State>,
    /// Bumped by every search, so that stale ones stop reading.
    search_ticket: Rc<Cell<u64>>,
    /// Bumped by every keystroke and every search, so that only the last pause searches.
    typing_ticket: Rc<Cell<u64>>,
    /// The query of the last search started: what a refresh runs again.
    last_query: Rc<RefCell<String>>,
    process: Rc<RefCell<ProcessSlot>>,
}

/// The processing session, if one was opened, and how many were.
#[derive(Debug, Default)]
struct ProcessSlot {
    number: u64,
    session: Option<ProcessSession>,
}

impl Tasks {
    pub(crate) fn new(api: Api, credentials: Credentials, dispatcher: UseReducerDispatcher<State>) -> Self {
        Tasks {
            api,
            credentials,
            dispatcher,
            search_ticket: Rc::default(),
            typing_ticket: Rc::default(),
            last_query: Rc::default(),
            process: Rc::default(),
        }
    }

    fn dispatch(&self, action: impl Into<Action>) {
        self.dispatcher.dispatch(action.into());
    }

    /// Every call's outcome says something about the connection.
    fn reached(&self, reach: Reach) {
        self.dispatch(ConnectionAction::Reached(reach));
    }
}
