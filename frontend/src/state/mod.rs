//! The page's state: one reducer with one `Action` enum (yew's function_todomvc), one module per panel.

mod connection;
mod forms;
mod orders;
mod process;
mod rows;
mod transport;
mod write_token;

use std::rc::Rc;

use yew::Reducible;

pub(crate) use connection::{Connection, ConnectionAction, ConnectionState};
pub(crate) use forms::{AddAction, AddState, DraftEdit, UpdateAction, UpdateState};
pub(crate) use orders::{Detail, DetailAction, OrdersAction, OrdersState, PAGE_ROWS};
pub(crate) use process::{Phase, ProcessAction, ProcessState, Verdict};
pub(crate) use rows::Rows;
pub(crate) use transport::TransportChoice;
pub(crate) use write_token::{TokenAction, TokenState, Write};

/// Where a call the page waits on stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Status<T> {
    #[default]
    Idle,
    Loading,
    Loaded(T),
    Failed(String),
}

impl<T> Status<T> {
    pub(crate) fn is_loading(&self) -> bool {
        matches!(self, Status::Loading)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct State {
    pub(crate) connection: ConnectionState,
    pub(crate) orders: OrdersState,
    pub(crate) detail: Detail,
    pub(crate) add: AddState,
    pub(crate) update: UpdateState,
    pub(crate) process: ProcessState,
    pub(crate) token: TokenState,
}

#[derive(Debug)]
pub(crate) enum Action {
    Connection(ConnectionAction),
    Orders(OrdersAction),
    Detail(DetailAction),
    Add(AddAction),
    Update(UpdateAction),
    Process(ProcessAction),
    Token(TokenAction),
}

impl State {
    /// The page's first state: the transport as its address asks (`?transport=grpc-web`).
    pub(crate) fn for_page(query: &str) -> Self {
        let mut state = State::default();
        state.process.choice = TransportChoice::from_query(query);
        state
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Connection(action) => next.connection.reduce(action),
            Action::Orders(action) => next.orders.reduce(action),
            Action::Detail(action) => next.detail.reduce(action),
            Action::Add(action) => next.add.reduce(action),
            Action::Update(action) => next.update.reduce(action),
            Action::Process(action) => next.process.reduce(action),
            // Giving up on the token fails the writes that waited for it, each with its refusal.
            Action::Token(TokenAction::Cancelled) => {
                for refused in next.token.cancel() {
                    match refused.write {
                        Write::Add(_) => next.add.reduce(AddAction::Done(Err(refused.message))),
                        Write::Update { .. } => next.update.reduce(UpdateAction::Done(Err(refused.message))),
                    }
                }
            }
            Action::Token(action) => next.token.reduce(action),
        }
        // The same `Rc` back tells yew that nothing changed: no re-render.
        if next == *self { self } else { Rc::new(next) }
    }
}

macro_rules! into_action {
    ($($variant:ident($action:ty)),* $(,)?) => {
        $(impl From<$action> for Action {
            fn from(action: $action) -> Self {
                Action::$variant(action)
            }
        })*
    };
}

into_action!(
    Connection(ConnectionAction),
    Orders(OrdersAction),
    Detail(DetailAction),
    Add(AddAction),
    Update(UpdateAction),
    Process(ProcessAction),
    Token(TokenAction),
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::Reach;

    #[test]
    fn an_action_that_changes_nothing_keeps_the_same_state() {
        let state = Rc::new(State::default());
        let next = state.clone().reduce(OrdersAction::Rows { ticket: 7, orders: vec![Default::default()] }.into());
        assert!(Rc::ptr_eq(&state, &next), "a row of a search that is not current is dropped");
    }

    #[test]
    fn cancelling_the_token_form_fails_the_waiting_writes_as_before() {
        let message = "addOrder changes orders and needs the write token: send `authorization: Bearer <token>`";
        let mut state = Rc::new(State::default());
        for action in [
            Action::from(AddAction::Started),
            UpdateAction::Started.into(),
            TokenAction::Refused { write: Write::Add(Default::default()), message: message.into(), held: false }.into(),
            TokenAction::Refused {
                write: Write::Update { orders: Vec::new(), shown: None, transport: Default::default() },
                message: "updateOrdersUnary changes orders …".into(),
                held: false,
            }
            .into(),
        ] {
            state = state.reduce(action);
        }
        assert!(state.add.status.is_loading(), "the add waits for the token");
        assert!(state.token.prompt.is_some());
        let state = state.reduce(TokenAction::Cancelled.into());
        assert_eq!(state.token.prompt, None);
        assert_eq!(state.add.status, Status::Failed(message.into()));
        assert_eq!(state.update.status, Status::Failed("updateOrdersUnary changes orders …".into()));
    }

    #[test]
    fn an_action_that_changes_something_makes_a_new_state() {
        let state = Rc::new(State::default());
        let next = state.clone().reduce(ConnectionAction::Reached(Reach::Server).into());
        assert_eq!(next.connection.connection, Connection::Connected);
    }
}
