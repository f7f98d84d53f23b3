//! Where orders live: the interface the RPC code talks to, and its implementations.

mod cached;
pub mod database;
mod memory;
mod seed;
mod sql;
mod sql_search;
mod sql_writer;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};

use crate::budget::Budget;
use crate::domain::error::OrderError;
use crate::domain::order::Order;

pub use cached::CachedStore;
pub use memory::MemoryStore;
pub use seed::sample_orders;
pub use sql::{Dialect, SqlStore};

/// A place to keep orders, safe to share between concurrent calls.
///
/// The RPC code only ever sees this trait, so a persistent store can take the
/// in-memory one's place without touching it.
#[async_trait]
pub trait OrderStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new order under its (non-empty) id; `AlreadyExists` if the id is taken.
    async fn insert(&self, order: Order) -> Result<(), OrderError>;

    /// The order with this id, if there is one.
    async fn get(&self, id: &str) -> Result<Option<Order>, OrderError>;

    /// The orders with these ids, in the same order (`None` for an unknown
    /// one), read at once: one query however many ids are asked for. Shared,
    /// not copied: an id asked twice, or an order the store already holds in
    /// memory, costs no copy until the caller makes one (after it has counted
    /// what it will hold against the server's budget).
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Option<Arc<Order>>>, OrderError>;

    /// Every order with an item containing `query` (ignoring case), in id
    /// order, found a page at a time as the stream is read rather than
    /// collected up front. A page holds about a megabyte at most (or one
    /// order, if that is heavier), and may be empty.
    fn search_pages(&self, query: &str) -> BoxStream<'static, Result<Vec<Order>, OrderError>>;

    /// [`OrderStore::search_pages`], one order at a time.
    fn search(&self, query: &str) -> BoxStream<'static, Result<Order, OrderError>> {
        self.search_pages(query)
            .flat_map(|page| {
                futures::stream::iter(match page {
                    Ok(orders) => orders.into_iter().map(Ok).collect(),
                    Err(error) => vec![Err(error)],
                })
            })
            .boxed()
    }

    /// Replaces every given order, or none: `NotFound` naming the first
    /// unknown id leaves the store as it was.
    async fn replace_all(&self, orders: Vec<Order>) -> Result<(), OrderError>;
}

/// [`OrderStore::search`], each page held in `budget` until its last order
/// has been taken: a client that reads a search slowly, or never, keeps at
/// most a page of it in the server, and every such page counts against the
/// server's budget. Past the budget the search ends with `ServerFull`.
pub fn search_within(
    store: &dyn OrderStore,
    query: &str,
    budget: &Budget,
) -> BoxStream<'static, Result<Order, OrderError>> {
    let (mut pages, budget) = (store.search_pages(query), budget.clone());
    async_stream::try_stream! {
        while let Some(page) = pages.next().await {
            let page = page?;
            let _held = budget.take(page.iter().map(Order::weight).sum())?;
            for order in page {
                yield order;
            }
        }
    }
    .boxed()
}
