//! The order list, filled by the current search as rows stream in, and the order shown in detail.

use ordermgt_proto::Order;

use super::Status;

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct OrdersState {
    /// The current search; rows of older ones are dropped.
    pub(crate) ticket: u64,
    pub(crate) query: String,
    pub(crate) rows: Vec<Order>,
    /// Loaded with the number of rows once the stream is complete.
    pub(crate) status: Status<usize>,
}

#[derive(Debug)]
pub(crate) enum OrdersAction {
    Started { ticket: u64, query: String },
    Row { ticket: u64, order: Order },
    Ended { ticket: u64, result: Result<(), String> },
}

impl OrdersState {
    pub(crate) fn reduce(&mut self, action: OrdersAction) {
        match action {
            OrdersAction::Started { ticket, query } => {
                *self = OrdersState { ticket, query, rows: Vec::new(), status: Status::Loading };
            }
            OrdersAction::Row { ticket, order } if ticket == self.ticket => self.rows.push(order),
            OrdersAction::Ended { ticket, result } if ticket == self.ticket => {
                self.status = match result {
                    Ok(()) => Status::Loaded(self.rows.len()),
                    Err(message) => Status::Failed(message),
                };
            }
            OrdersAction::Row { .. } | OrdersAction::Ended { .. } => {}
        }
    }
}

/// The detail panel.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Detail {
    #[default]
    Closed,
    Loading(String),
    Loaded(Order),
    Failed {
        id: String,
        message: String,
    },
}

impl Detail {
    /// The id of the order shown (or on its way).
    pub(crate) fn id(&self) -> Option<&str> {
        match self {
            Detail::Closed => None,
            Detail::Loading(id) | Detail::Failed { id, .. } => Some(id),
            Detail::Loaded(order) => Some(&order.id),
        }
    }
}

#[derive(Debug)]
pub(crate) enum DetailAction {
    Requested(String),
    Loaded(Order),
    Failed { id: String, message: String },
    Closed,
}

impl Detail {
    pub(crate) fn reduce(&mut self, action: DetailAction) {
        match action {
            // Refreshing the order shown keeps it on screen until the new copy arrives.
            DetailAction::Requested(id) if matches!(self, Detail::Loaded(order) if order.id == id) => {}
            DetailAction::Requested(id) => *self = Detail::Loading(id),
            // Answers for an order no longer asked for are dropped.
            DetailAction::Loaded(order) if self.id() == Some(order.id.as_str()) => *self = Detail::Loaded(order),
            DetailAction::Failed { id, message } if self.id() == Some(id.as_str()) => {
                *self = Detail::Failed { id, message }
            }
            DetailAction::Loaded(_) | DetailAction::Failed { .. } => {}
            DetailAction::Closed => *self = Detail::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str) -> Order {
        Order { id: id.into(), ..Order::default() }
    }

    #[test]
    fn rows_stream_into_the_current_search_only() {
        let mut state = OrdersState::default();
        state.reduce(OrdersAction::Started { ticket: 1, query: String::new() });
        state.reduce(OrdersAction::Row { ticket: 1, order: order("102") });
        assert_eq!(state.rows.len(), 1);
        assert!(state.status.is_loading());
        state.reduce(OrdersAction::Started { ticket: 2, query: "google".into() });
        state.reduce(OrdersAction::Row { ticket: 1, order: order("103") });
        state.reduce(OrdersAction::Ended { ticket: 1, result: Ok(()) });
        assert!(state.rows.is_empty());
        assert!(state.status.is_loading());
        state.reduce(OrdersAction::Row { ticket: 2, order: order("102") });
        state.reduce(OrdersAction::Row { ticket: 2, order: order("104") });
        state.reduce(OrdersAction::Ended { ticket: 2, result: Ok(()) });
        assert_eq!(state.status, Status::Loaded(2));
        assert_eq!(state.query, "google");
    }

    #[test]
    fn a_failed_search_keeps_the_rows_it_got_and_says_why() {
        let mut state = OrdersState::default();
        state.reduce(OrdersAction::Started { ticket: 1, query: String::new() });
        state.reduce(OrdersAction::Row { ticket: 1, order: order("102") });
        state.reduce(OrdersAction::Ended { ticket: 1, result: Err("Cannot reach the server".into()) });
        assert_eq!(state.rows.len(), 1);
        assert_eq!(state.status, Status::Failed("Cannot reach the server".into()));
    }

    #[test]
    fn the_detail_shows_the_last_order_asked_for() {
        let mut detail = Detail::default();
        detail.reduce(DetailAction::Requested("102".into()));
        detail.reduce(DetailAction::Requested("103".into()));
        detail.reduce(DetailAction::Loaded(order("102")));
        assert_eq!(detail, Detail::Loading("103".into()));
        detail.reduce(DetailAction::Loaded(order("103")));
        assert_eq!(detail, Detail::Loaded(order("103")));
        detail.reduce(DetailAction::Requested("103".into()));
        assert_eq!(detail, Detail::Loaded(order("103")), "a refresh keeps the order on screen");
        detail.reduce(DetailAction::Closed);
        assert_eq!(detail.id(), None);
    }

    #[test]
    fn a_failed_lookup_names_the_id() {
        let mut detail = Detail::default();
        detail.reduce(DetailAction::Requested("999".into()));
        detail.reduce(DetailAction::Failed { id: "999".into(), message: "order 999 not found".into() });
        assert_eq!(detail.id(), Some("999"));
    }
}
