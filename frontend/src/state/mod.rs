//! The page's state: one reducer with one `Action` enum (yew's function_todomvc), one module per panel.

mod connection;
mod forms;
mod orders;
mod process;

use std::rc::Rc;

use yew::Reducible;

pub(crate) use connection::{Connection, ConnectionAction, ConnectionState};
pub(crate) use forms::{AddAction, AddState, DraftEdit, UpdateAction, UpdateState};
pub(crate) use orders::{Detail, DetailAction, OrdersAction, OrdersState};
pub(crate) use process::{Outcome, Phase, ProcessAction, ProcessState};

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
}

#[derive(Debug)]
pub(crate) enum Action {
    Connection(ConnectionAction),
    Orders(OrdersAction),
    Detail(DetailAction),
    Add(AddAction),
    Update(UpdateAction),
    Process(ProcessAction),
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
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::Reach;

    #[test]
    fn an_action_that_changes_nothing_keeps_the_same_state() {
        let state = Rc::new(State::default());
        let next = state.clone().reduce(OrdersAction::Row { ticket: 7, order: Default::default() }.into());
        assert!(Rc::ptr_eq(&state, &next), "a row of a search that is not current is dropped");
    }

    #[test]
    fn an_action_that_changes_something_makes_a_new_state() {
        let state = Rc::new(State::default());
        let next = state.clone().reduce(ConnectionAction::Reached(Reach::Server).into());
        assert_eq!(next.connection.connection, Connection::Connected);
    }
}
