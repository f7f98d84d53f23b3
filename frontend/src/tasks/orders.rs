//! Searching, showing, adding and updating orders.

use futures::future::Either;
use gloo_timers::future::TimeoutFuture;
use ordermgt_proto::Order;
use wasm_bindgen_futures::spawn_local;

use super::Tasks;
use crate::draft::Draft;
use crate::parse::{self, OrderText};
use crate::services::processing::Transport;
use crate::services::{CallError, Reach};
use crate::state::{AddAction, DetailAction, OrdersAction, UpdateAction, Write};

/// How long typing must pause before the search runs.
const SEARCH_DEBOUNCE_MS: u32 = 250;
/// How long streamed rows gather before the table shows them: a frame.
const FRAME_MS: f64 = 16.0;

/// Milliseconds on the page's clock.
fn now_ms() -> f64 {
    web_sys::window().and_then(|window| window.performance()).map_or(0.0, |clock| clock.now())
}

impl Tasks {
    /// Searches now (Enter, or the first load), ahead of any search still waiting for typing to pause.
    pub(crate) fn search(&self, query: String) {
        self.typing_ticket.set(self.typing_ticket.get() + 1);
        self.start_search(query);
    }

    /// Runs `searchOrders(query)`, putting each order in the table as it arrives.
    fn start_search(&self, query: String) {
        let ticket = self.search_ticket.get() + 1;
        self.search_ticket.set(ticket);
        self.last_query.replace(query.clone());
        self.dispatch(OrdersAction::Started { ticket, query: query.clone() });
        let this = self.clone();
        spawn_local(async move {
            let result = this.stream_orders(ticket, query).await;
            if this.search_ticket.get() != ticket {
                return;
            }
            this.reached(result.as_ref().map_or_else(|error| error.reach, |()| Reach::Server));
            this.dispatch(OrdersAction::Ended { ticket, result: result.map_err(|error| error.message) });
        });
    }

    /// Streams the search's orders into the table a batch at a time: the first row at once, then
    /// what arrives within a frame (16 ms) together, and a batch that waits is shown as soon as
    /// the stream pauses. After each batch the browser gets a turn to paint, so that a search of
    /// 100,000 orders neither holds the page nor re-renders the table for every row.
    async fn stream_orders(&self, ticket: u64, query: String) -> Result<(), CallError> {
        let mut orders = self.api.search(query).await?;
        let mut batch: Vec<Order> = Vec::new();
        let mut shown_any = false;
        let mut flushed_at = now_ms();
        loop {
            let next = if batch.is_empty() {
                orders.next().await?
            } else {
                let due = (FRAME_MS - (now_ms() - flushed_at)).max(0.0) as u32;
                let next = std::pin::pin!(orders.next());
                match futures::future::select(next, TimeoutFuture::new(due)).await {
                    Either::Left((next, _)) => next?,
                    Either::Right(((), next)) => {
                        // The stream paused with rows waiting: show them, then wait on.
                        if !self.flush_rows(ticket, &mut batch).await {
                            return Ok(());
                        }
                        flushed_at = now_ms();
                        next.await?
                    }
                }
            };
            let Some(order) = next else { break };
            batch.push(order);
            if !shown_any || now_ms() - flushed_at >= FRAME_MS {
                shown_any = true;
                if !self.flush_rows(ticket, &mut batch).await {
                    // A newer search took over; dropping the stream cancels this one.
                    return Ok(());
                }
                flushed_at = now_ms();
            }
        }
        self.flush_rows(ticket, &mut batch).await;
        Ok(())
    }

    /// Puts `batch` in the table, then yields to the browser (a task, not a microtask, so that it
    /// can paint). False when a newer search has taken over.
    async fn flush_rows(&self, ticket: u64, batch: &mut Vec<Order>) -> bool {
        if self.search_ticket.get() != ticket {
            return false;
        }
        if !batch.is_empty() {
            self.dispatch(OrdersAction::Rows { ticket, orders: std::mem::take(batch) });
            TimeoutFuture::new(0).await;
        }
        self.search_ticket.get() == ticket
    }

    /// Runs the search once typing pauses, unless the query is back to the one shown.
    pub(crate) fn search_soon(&self, query: String) {
        let ticket = self.typing_ticket.get() + 1;
        self.typing_ticket.set(ticket);
        if *self.last_query.borrow() == query {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            TimeoutFuture::new(SEARCH_DEBOUNCE_MS).await;
            if this.typing_ticket.get() == ticket {
                this.start_search(query);
            }
        });
    }

    /// Runs the last search again.
    pub(crate) fn refresh(&self) {
        let query = self.last_query.borrow().clone();
        self.start_search(query);
    }

    /// Shows an order in the detail panel (`getOrder`).
    pub(crate) fn show(&self, id: String) {
        self.dispatch(DetailAction::Requested(id.clone()));
        let this = self.clone();
        spawn_local(async move {
            match this.api.get(id.clone()).await {
                Ok(order) => {
                    this.reached(Reach::Server);
                    this.dispatch(DetailAction::Loaded(order));
                }
                Err(error) => {
                    this.reached(error.reach);
                    this.dispatch(DetailAction::Failed { id, message: error.message });
                }
            }
        });
    }

    /// Adds the order typed into the form (`addOrder`), then refreshes the list.
    pub(crate) fn add(&self, form: OrderText) {
        match parse::order(&form) {
            Ok(order) => self.write(Write::Add(order)),
            Err(message) => self.dispatch(AddAction::Done(Err(message))),
        }
    }

    /// Sends every draft as one all-or-nothing update over `transport`; on success refreshes the
    /// list and the detail.
    pub(crate) fn update(&self, drafts: Vec<Draft>, shown: Option<String>, transport: Transport) {
        let orders: Result<Vec<Order>, String> = drafts
            .iter()
            .map(|draft| draft.order().map_err(|message| format!("order {}: {message}", draft.id())))
            .collect();
        match orders {
            Ok(orders) => self.write(Write::Update { orders, shown, transport }),
            Err(message) => self.dispatch(UpdateAction::Done(Err(message))),
        }
    }
}
