//! The order list, filled by the current search as rows stream in, and the order shown in detail.

use ordermgt_proto::Order;

use super::Status;
use super::rows::Rows;

/// Rows the table shows at once: a page of them, so that the page holds a
/// hundred rows in its DOM however many the search found.
pub(crate) const PAGE_ROWS: usize = 100;

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct OrdersState {
    /// The current search; rows of older ones are dropped.
    pub(crate) ticket: u64,
    pub(crate) query: String,
    pub(crate) rows: Rows,
    /// The page of rows shown, from 0.
    pub(crate) page: usize,
    /// Loaded with the number of rows once the stream is complete.
    pub(crate) status: Status<usize>,
}

#[derive(Debug)]
pub(crate) enum OrdersAction {
    Started {
        ticket: u64,
        query: String,
    },
    /// The rows that arrived together (in one read, or one frame).
    Rows {
        ticket: u64,
        orders: Vec<Order>,
    },
    Ended {
        ticket: u64,
        result: Result<(), String>,
    },
    /// Show page `n` (from 0; past the last, the last).
    Page(usize),
}

impl OrdersState {
    pub(crate) fn reduce(&mut self, action: OrdersAction) {
        match action {
            OrdersAction::Started { ticket, query } => {
                *self = OrdersState { ticket, query, rows: Rows::default(), page: 0, status: Status::Loading };
            }
            OrdersAction::Rows { ticket, orders } if ticket == self.ticket => self.rows.append(orders),
            OrdersAction::Ended { ticket, result } if ticket == self.ticket => {
                self.status = match result {
                    Ok(()) => Status::Loaded(self.rows.len()),
                    Err(message) => Status::Failed(message),
                };
            }
            OrdersAction::Rows { .. } | OrdersAction::Ended { .. } => {}
            OrdersAction::Page(page) => self.page = page.min(self.pages().saturating_sub(1)),
        }
    }

    /// How many pages the rows fill (at least one).
    pub(crate) fn pages(&self) -> usize {
        self.rows.len().div_ceil(PAGE_ROWS).max(1)
    }

    /// The rows of the page shown.
    pub(crate) fn shown(&self) -> impl Iterator<Item = &Order> {
        self.rows.range(self.page * PAGE_ROWS, PAGE_ROWS)
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
        state.reduce(OrdersAction::Rows { ticket: 1, orders: vec![order("102")] });
        assert_eq!(state.rows.len(), 1);
        assert!(state.status.is_loading());
        state.reduce(OrdersAction::Started { ticket: 2, query: "google".into() });
        state.reduce(OrdersAction::Rows { ticket: 1, orders: vec![order("103")] });
        state.reduce(OrdersAction::Ended { ticket: 1, result: Ok(()) });
        assert!(state.rows.is_empty());
        assert!(state.status.is_loading());
        state.reduce(OrdersAction::Rows { ticket: 2, orders: vec![order("102")] });
        state.reduce(OrdersAction::Rows { ticket: 2, orders: vec![order("104")] });
        state.reduce(OrdersAction::Ended { ticket: 2, result: Ok(()) });
        assert_eq!(state.status, Status::Loaded(2));
        assert_eq!(state.query, "google");
    }

    #[test]
    fn a_failed_search_keeps_the_rows_it_got_and_says_why() {
        let mut state = OrdersState::default();
        state.reduce(OrdersAction::Started { ticket: 1, query: String::new() });
        state.reduce(OrdersAction::Rows { ticket: 1, orders: vec![order("102")] });
        state.reduce(OrdersAction::Ended { ticket: 1, result: Err("Cannot reach the server".into()) });
        assert_eq!(state.rows.len(), 1);
        assert_eq!(state.status, Status::Failed("Cannot reach the server".into()));
    }

    #[test]
    fn the_table_shows_a_page_of_rows_and_a_new_search_starts_at_the_first() {
        let mut state = OrdersState::default();
        state.reduce(OrdersAction::Started { ticket: 1, query: String::new() });
        assert_eq!(state.pages(), 1, "an empty list is one empty page");
        let many: Vec<Order> = (0..250).map(|n| order(&n.to_string())).collect();
        state.reduce(OrdersAction::Rows { ticket: 1, orders: many });
        assert_eq!(state.pages(), 3);
        assert_eq!(state.shown().count(), PAGE_ROWS);
        state.reduce(OrdersAction::Page(2));
        let last: Vec<&str> = state.shown().map(|order| order.id.as_str()).collect();
        assert_eq!((last.len(), last[0]), (50, "200"));
        state.reduce(OrdersAction::Page(99));
        assert_eq!(state.page, 2, "past the last page is the last");
        state.reduce(OrdersAction::Started { ticket: 2, query: "google".into() });
        assert_eq!(state.page, 0);
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
